//! Reading the live inventory: every page, concurrently after the first, checked for
//! completeness. A plan is never made from an inventory known to be incomplete.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};

use futures_util::{StreamExt, TryStreamExt, stream};
use tokio::task::JoinHandle;

use super::Desktop;
use crate::workspace::wire::{
    DETAIL_PAGE_LIMIT, LIST_PAGE_LIMIT, ListDesktopsResponse, ListedDesktop, MAX_IDS_PER_CALL,
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

/// Every desktop that `filter` selects, read page by page (`limit` 1000) and handed to a sink
/// made by `fresh` as each page arrives (the planner takes them one by one, so the whole
/// inventory is never held). `concurrency` calls are in flight at once after the first, which
/// gives `total_count`, and up to twice as many pages are held at once. `on_page` hears the
/// number of desktops read so far and the total.
///
/// The sink is returned only when the read was complete and consistent; when the list changed
/// under us it is dropped and a fresh one fills again from a new read. `first`, when given, is
/// the first page already asked for ([`FirstPage::ask`]) with the same filter.
pub async fn read_all<S: Extend<Desktop>>(
    client: &Client,
    filter: &ListFilter,
    concurrency: usize,
    on_page: &(dyn Fn(usize, usize) + Sync),
    mut first: Option<FirstPage>,
    fresh: impl Fn() -> S,
) -> Result<S, ReadError> {
    let mut last = String::new();
    for attempt in 1..=READ_ATTEMPTS {
        let first = first.take();
        match read_once(client, filter, concurrency, on_page, first, fresh()).await? {
            Ok(sink) => return Ok(sink),
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

/// The first page of a read, asked for ahead of the read: it may leave before the planner is
/// ready (while the config's declarations are still being parsed).
pub struct FirstPage(JoinHandle<Result<Page, ApiError>>);

impl FirstPage {
    pub fn ask(client: &Client, filter: &ListFilter) -> FirstPage {
        FirstPage(spawn_page(client, filter, 0))
    }
}

/// Dropped unread (the whole config disagreed with its head, or it failed): the call is
/// abandoned.
impl Drop for FirstPage {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Fetches, decodes and converts the page at `offset` in a task of its own, so the JSON work
/// of the pages spreads over the runtime's threads.
fn spawn_page(
    client: &Client,
    filter: &ListFilter,
    offset: usize,
) -> JoinHandle<Result<Page, ApiError>> {
    let (client, filter) = (client.clone(), filter.clone());
    tokio::spawn(async move {
        client
            .list_desktops(offset, LIST_PAGE_LIMIT, &filter)
            .await
            .map(|page| convert(offset, page))
    })
}

/// A page, converted as soon as it arrives: only the wire structs of the pages in flight are
/// alive at once.
struct Page {
    offset: usize,
    total_count: u64,
    desktops: Vec<Desktop>,
}

fn convert(offset: usize, page: ListDesktopsResponse<ListedDesktop>) -> Page {
    Page {
        offset,
        total_count: page.total_count,
        desktops: page.desktops.into_iter().map(Desktop::from).collect(),
    }
}

/// Calls started at once for `concurrency` in flight: twice as many. The client lets
/// `concurrency` of them out at a time, and an answer being unpacked and decoded no longer
/// holds one of those places, so the next call leaves while the last answer is still read.
fn window(concurrency: usize) -> usize {
    2 * concurrency.max(1)
}

/// What one read has seen so far, to tell whether its pages make a consistent whole.
struct Consistency {
    total: usize,
    /// Hashes of the IDs seen (keyed at random per read): 8 bytes a desktop instead of the ID.
    /// A collision could only call a read inconsistent (and read again), never hide a desktop.
    seen: HashSet<u64>,
    hasher: RandomState,
}

impl Consistency {
    fn check(&mut self, page: &Page) -> Result<(), String> {
        let (offset, total) = (page.offset, self.total);
        if page.total_count != total as u64 {
            return Err(format!(
                "`total_count` moved from {total} to {} at offset {offset}",
                page.total_count
            ));
        }
        let expected = LIST_PAGE_LIMIT.min(total.saturating_sub(offset));
        if page.desktops.len() != expected {
            return Err(format!(
                "the page at offset {offset} held {} desktops, expected {expected}",
                page.desktops.len()
            ));
        }
        for desktop in &page.desktops {
            if !self.seen.insert(self.hasher.hash_one(&desktop.id)) {
                return Err(format!("desktop `{}` was listed twice", desktop.id));
            }
        }
        Ok(())
    }
}

/// One complete read into `sink`, or why its pages are not a consistent whole.
async fn read_once<S: Extend<Desktop>>(
    client: &Client,
    filter: &ListFilter,
    concurrency: usize,
    on_page: &(dyn Fn(usize, usize) + Sync),
    asked: Option<FirstPage>,
    mut sink: S,
) -> Result<Result<S, String>, ApiError> {
    let mut first = asked.unwrap_or_else(|| FirstPage::ask(client, filter));
    let first = (&mut first.0).await.expect("a page task never panics")?;
    let total = usize::try_from(first.total_count).unwrap_or(usize::MAX);
    let mut consistency = Consistency {
        total,
        seen: HashSet::with_capacity(total.min(1 << 20)),
        hasher: RandomState::new(),
    };
    let mut read = first.desktops.len();
    on_page(read, total);
    if let Err(detail) = consistency.check(&first) {
        return Ok(Err(detail));
    }
    sink.extend(first.desktops);
    let mut rest = stream::iter((LIST_PAGE_LIMIT..total).step_by(LIST_PAGE_LIMIT))
        .map(|offset| spawn_page(client, filter, offset))
        .buffer_unordered(window(concurrency));
    while let Some(page) = rest.next().await {
        let page = page.expect("a page task never panics")?;
        read += page.desktops.len();
        on_page(read, total);
        if let Err(detail) = consistency.check(&page) {
            return Ok(Err(detail));
        }
        sink.extend(page.desktops);
    }
    Ok(Ok(sink))
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
        .buffer_unordered(window(concurrency))
        .try_fold(Vec::new(), |mut desktops, page| async move {
            desktops.extend(page.desktops.into_iter().map(Desktop::from));
            Ok(desktops)
        })
        .await
}

/// `login_status` of each of `ids` (at most 100, one call) that still exists, from the
/// detail list.
pub async fn read_login_status(
    client: &Client,
    ids: Vec<String>,
) -> Result<HashMap<String, String>, ApiError> {
    assert!(
        ids.len() <= MAX_IDS_PER_CALL,
        "one call takes at most 100 IDs"
    );
    let filter = ListFilter {
        desktop_ids: ids,
        ..ListFilter::default()
    };
    let page = client
        .list_desktops_detail(0, MAX_IDS_PER_CALL.min(DETAIL_PAGE_LIMIT), &filter)
        .await?;
    Ok(page
        .desktops
        .into_iter()
        .map(|desktop| (desktop.desktop_id, desktop.login_status.unwrap_or_default()))
        .collect())
}
