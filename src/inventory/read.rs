//! Reading the live inventory: every page, concurrently after the first, checked for
//! completeness. A plan is never made from an inventory known to be incomplete.

use std::collections::HashMap;

use futures_util::{StreamExt, TryStreamExt, stream};

use super::Desktop;
use crate::workspace::wire::{
    DETAIL_PAGE_LIMIT, LIST_PAGE_LIMIT, ListDesktopsResponse, MAX_IDS_PER_CALL,
};
use crate::workspace::{ApiError, Client, ListFilter};

/// Whole re-reads tried when the inventory changes under us, before giving up.
const READ_ATTEMPTS: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(
        "the desktop list changed while it was being read ({attempts} attempts; last: {detail}); nothing was planned: run again when no other change is under way"
    )]
    Unstable { attempts: usize, detail: String },
}

/// Every desktop that `filter` selects, read page by page (`limit` 1000). `concurrency` pages
/// are in flight at once after the first, which gives `total_count`. `on_page` hears the
/// number of desktops read so far and the total.
pub async fn read_all(
    client: &Client,
    filter: &ListFilter,
    concurrency: usize,
    on_page: &(dyn Fn(usize, usize) + Sync),
) -> Result<Vec<Desktop>, ReadError> {
    let mut last = String::new();
    for attempt in 1..=READ_ATTEMPTS {
        match read_once(client, filter, concurrency, on_page).await? {
            Ok(desktops) => return Ok(desktops),
            Err(detail) => {
                tracing::warn!(attempt, %detail, "the desktop list changed while reading it; reading again");
                last = detail;
            }
        }
    }
    Err(ReadError::Unstable {
        attempts: READ_ATTEMPTS,
        detail: last,
    })
}

/// A page as kept while the others arrive: already converted, so the wire structs of only the
/// pages in flight are alive at once.
struct Page {
    offset: usize,
    total_count: u64,
    desktops: Vec<Desktop>,
}

fn convert(offset: usize, page: ListDesktopsResponse) -> Page {
    // A fresh vector: `collect` would reuse the wire page's allocation in place, three times
    // the size these desktops need, and keep it for as long as the desktop is kept.
    let mut desktops = Vec::with_capacity(page.desktops.len());
    desktops.extend(page.desktops.into_iter().map(Desktop::from));
    Page {
        offset,
        total_count: page.total_count,
        desktops,
    }
}

/// One complete read: the desktops, or why they are not a consistent whole.
async fn read_once(
    client: &Client,
    filter: &ListFilter,
    concurrency: usize,
    on_page: &(dyn Fn(usize, usize) + Sync),
) -> Result<Result<Vec<Desktop>, String>, ApiError> {
    let first = convert(0, client.list_desktops(0, LIST_PAGE_LIMIT, filter).await?);
    let total = usize::try_from(first.total_count).unwrap_or(usize::MAX);
    let mut read = first.desktops.len();
    on_page(read, total);
    let mut pages = vec![first];
    // Each page is fetched, decoded and converted in a task of its own, so the JSON work of
    // the pages in flight spreads over the runtime's threads.
    let mut rest = stream::iter((LIST_PAGE_LIMIT..total).step_by(LIST_PAGE_LIMIT))
        .map(|offset| {
            let (client, filter) = (client.clone(), filter.clone());
            tokio::spawn(async move {
                client
                    .list_desktops(offset, LIST_PAGE_LIMIT, &filter)
                    .await
                    .map(|page| convert(offset, page))
            })
        })
        .buffer_unordered(concurrency.max(1));
    while let Some(page) = rest.next().await {
        let page = page.expect("a page task never panics")?;
        read += page.desktops.len();
        on_page(read, total);
        pages.push(page);
    }
    pages.sort_by_key(|page| page.offset);

    let mut desktops = Vec::with_capacity(total.min(1 << 20));
    for page in pages {
        let offset = page.offset;
        if page.total_count != total as u64 {
            return Ok(Err(format!(
                "`total_count` moved from {total} to {} at offset {offset}",
                page.total_count
            )));
        }
        let expected = LIST_PAGE_LIMIT.min(total - offset);
        if page.desktops.len() != expected {
            return Ok(Err(format!(
                "the page at offset {offset} held {} desktops, expected {expected}",
                page.desktops.len()
            )));
        }
        desktops.extend(page.desktops);
    }
    let mut ids: Vec<&str> = desktops.iter().map(|desktop| desktop.id.as_str()).collect();
    ids.sort_unstable();
    if let Some(twice) = ids.windows(2).find(|pair| pair[0] == pair[1]) {
        return Ok(Err(format!("desktop `{}` was listed twice", twice[0])));
    }
    drop(ids);
    Ok(Ok(desktops))
}

/// The desktops among `ids` that still exist, read by ID in calls of 100.
pub async fn read_by_ids(
    client: &Client,
    ids: &[String],
    concurrency: usize,
) -> Result<Vec<Desktop>, ApiError> {
    stream::iter(ids.chunks(MAX_IDS_PER_CALL))
        .map(|chunk| async move {
            let filter = ListFilter {
                desktop_ids: chunk.to_vec(),
                ..ListFilter::default()
            };
            client.list_desktops(0, MAX_IDS_PER_CALL, &filter).await
        })
        .buffer_unordered(concurrency.max(1))
        .try_fold(Vec::new(), |mut desktops, page| async move {
            desktops.extend(page.desktops.into_iter().map(Desktop::from));
            Ok(desktops)
        })
        .await
}

/// `login_status` of each of `ids` that still exists, read from the detail list in calls of
/// 100 IDs.
pub async fn read_login_status(
    client: &Client,
    ids: &[String],
    concurrency: usize,
) -> Result<HashMap<String, String>, ApiError> {
    let limit = MAX_IDS_PER_CALL.min(DETAIL_PAGE_LIMIT);
    stream::iter(ids.chunks(MAX_IDS_PER_CALL))
        .map(|chunk| async move {
            let filter = ListFilter {
                desktop_ids: chunk.to_vec(),
                ..ListFilter::default()
            };
            client.list_desktops_detail(0, limit, &filter).await
        })
        .buffer_unordered(concurrency.max(1))
        .try_fold(HashMap::new(), |mut statuses, page| async move {
            for desktop in page.desktops {
                statuses.insert(desktop.desktop_id, desktop.login_status.unwrap_or_default());
            }
            Ok(statuses)
        })
        .await
}
