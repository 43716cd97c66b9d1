//! Reading the live inventory: every page, concurrently after the first, checked for
//! completeness. A plan is never made from an inventory known to be incomplete.

use std::collections::{HashMap, HashSet};

use futures_util::{StreamExt, TryStreamExt, stream};

use super::Desktop;
use crate::workspace::wire::{DETAIL_PAGE_LIMIT, LIST_PAGE_LIMIT, MAX_IDS_PER_CALL};
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

/// One complete read: the desktops, or why they are not a consistent whole.
async fn read_once(
    client: &Client,
    filter: &ListFilter,
    concurrency: usize,
    on_page: &(dyn Fn(usize, usize) + Sync),
) -> Result<Result<Vec<Desktop>, String>, ApiError> {
    let first = client.list_desktops(0, LIST_PAGE_LIMIT, filter).await?;
    let total = usize::try_from(first.total_count).unwrap_or(usize::MAX);
    let mut read = first.desktops.len();
    on_page(read, total);
    let mut pages = vec![(0, first)];
    let mut rest = stream::iter((LIST_PAGE_LIMIT..total).step_by(LIST_PAGE_LIMIT))
        .map(|offset| async move {
            client
                .list_desktops(offset, LIST_PAGE_LIMIT, filter)
                .await
                .map(|page| (offset, page))
        })
        .buffer_unordered(concurrency.max(1));
    while let Some((offset, page)) = rest.try_next().await? {
        read += page.desktops.len();
        on_page(read, total);
        pages.push((offset, page));
    }
    pages.sort_by_key(|(offset, _)| *offset);

    let mut desktops = Vec::with_capacity(total.min(1 << 20));
    let mut seen = HashSet::with_capacity(total.min(1 << 20));
    for (offset, page) in pages {
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
        for wire in page.desktops {
            if !seen.insert(wire.desktop_id.clone()) {
                return Ok(Err(format!(
                    "desktop `{}` was listed twice",
                    wire.desktop_id
                )));
            }
            desktops.push(Desktop::from(wire));
        }
    }
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
