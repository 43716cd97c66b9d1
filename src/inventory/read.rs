//! Reading the live inventory: every page, concurrently after the first, checked for
//! completeness. A plan is never made from an inventory known to be incomplete.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};

use futures_util::{StreamExt, TryStreamExt, stream};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

use super::classify;
use crate::model::{Desktop, Login};
use crate::text::printable;
use crate::workspace::wire::is_usable_id;
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
    /// The answer itself cannot be acted on, and reading it again would give the same.
    #[error(
        "the desktop list cannot be trusted: {0}; nothing was planned or sent: if it happens again, report the answer to the service's support"
    )]
    Doubtful(String),
}

/// Every desktop that `filter` selects, read page by page (`limit` 1000) and handed to a sink
/// made by `fresh` as each page arrives (the planner takes them one by one, so the whole
/// inventory is never held). `concurrency` calls are in flight at once after the first, which
/// gives `total_count`. `on_page` hears the number of desktops read so far and the total.
///
/// The sink is returned only when the read was complete and consistent; when the list changed
/// under us it is dropped and a fresh one fills again from a new read.
pub async fn read_all<S: Extend<Desktop>>(
    client: &Client,
    filter: &ListFilter,
    concurrency: usize,
    on_page: &(dyn Fn(usize, usize) + Sync),
    fresh: impl Fn() -> S,
) -> Result<S, ReadError> {
    let mut last = String::new();
    for attempt in 1..=READ_ATTEMPTS {
        let pages = Pages::start(client, filter, concurrency);
        match read_once(pages, on_page, fresh()).await? {
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

/// The pages of one read, fetched by a task of their own as fast as the client's limits let
/// them go, and handed over in the order they arrive: up to twice `concurrency` pages wait,
/// and no more are asked for until they are taken.
struct Pages {
    arrived: mpsc::Receiver<Result<Page, ApiError>>,
    /// Dropped unread (a page failed, or the read turned out inconsistent): the task stops,
    /// and its calls with it.
    _fetching: AbortOnDrop,
}

impl Pages {
    fn start(client: &Client, filter: &ListFilter, concurrency: usize) -> Pages {
        let window = window(concurrency);
        let (send, arrived) = mpsc::channel(window);
        let (client, filter) = (client.clone(), filter.clone());
        let fetching = tokio::spawn(async move {
            let first = fetch(client.clone(), filter.clone(), 0).await;
            let total = match &first {
                Ok(page) => usize::try_from(page.total_count).unwrap_or(usize::MAX),
                Err(_) => 0,
            };
            if send.send(first).await.is_err() {
                return;
            }
            // Each page in a task of its own, so their calls run at once and each is converted
            // on whichever runtime thread is free; a JoinSet, so dropping it stops them all.
            let mut offsets = (LIST_PAGE_LIMIT..total).step_by(LIST_PAGE_LIMIT);
            let mut fetching = JoinSet::new();
            for offset in offsets.by_ref().take(window) {
                fetching.spawn(fetch(client.clone(), filter.clone(), offset));
            }
            while let Some(page) = fetching.join_next().await {
                let page = page.expect("a page task never panics");
                let failed = page.is_err();
                if send.send(page).await.is_err() || failed {
                    return;
                }
                if let Some(offset) = offsets.next() {
                    fetching.spawn(fetch(client.clone(), filter.clone(), offset));
                }
            }
        });
        Pages {
            arrived,
            _fetching: AbortOnDrop(fetching),
        }
    }

    /// The next page to arrive; `None` once every page has.
    async fn next(&mut self) -> Option<Result<Page, ApiError>> {
        self.arrived.recv().await
    }
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Fetches the page at `offset`, decoded and converted.
async fn fetch(client: Client, filter: ListFilter, offset: usize) -> Result<Page, ApiError> {
    client
        .list_desktops(offset, LIST_PAGE_LIMIT, &filter)
        .await
        .map(|page| convert(offset, page))
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

/// Why the pages of one read are not a whole to plan from.
#[derive(Debug)]
enum Inconsistent {
    /// The list changed under the read: a new read may be whole.
    Changed(String),
    /// An answer that cannot be acted on: a new read would say the same.
    Doubtful(String),
}

/// What one read has seen so far, to tell whether its pages make a consistent whole.
struct Consistency {
    total: usize,
    /// For each ID seen, the hash of it lower-cased and the hash of it as listed (keyed at
    /// random per read): 16 bytes a desktop instead of the ID. A collision could only call a
    /// read inconsistent or doubtful (and plan nothing), never hide a desktop.
    seen: HashMap<u64, u64>,
    hasher: RandomState,
}

impl Consistency {
    fn check(&mut self, page: &Page) -> Result<(), Inconsistent> {
        let (offset, total) = (page.offset, self.total);
        if page.total_count != total as u64 {
            return Err(Inconsistent::Changed(format!(
                "`total_count` moved from {total} to {} at offset {offset}",
                page.total_count
            )));
        }
        let expected = LIST_PAGE_LIMIT.min(total.saturating_sub(offset));
        if page.desktops.len() != expected {
            return Err(Inconsistent::Changed(format!(
                "the page at offset {offset} held {} desktops, expected {expected}",
                page.desktops.len()
            )));
        }
        for desktop in &page.desktops {
            let id = &desktop.id;
            let which = || {
                format!(
                    "desktop `{}` (on the page at offset {offset})",
                    printable(&desktop.name)
                )
            };
            if !is_usable_id(id) {
                let id = match id.is_empty() {
                    true => "it is empty".to_string(),
                    false => format!("`{}`", shown(id)),
                };
                return Err(Inconsistent::Doubtful(format!(
                    "{} has no usable ID: {id} (expected 1 to 128 ASCII letters, digits, `-`, `_` or `.`)",
                    which(),
                )));
            }
            match self.seen.entry(lower_hash(&self.hasher, id)) {
                Entry::Vacant(vacant) => {
                    vacant.insert(self.hasher.hash_one(id));
                }
                Entry::Occupied(seen) if *seen.get() == self.hasher.hash_one(id) => {
                    return Err(Inconsistent::Changed(format!(
                        "desktop `{}` was listed twice",
                        shown(id)
                    )));
                }
                Entry::Occupied(_) => {
                    return Err(Inconsistent::Doubtful(format!(
                        "{} has ID `{}`, which another listed desktop has in another letter case",
                        which(),
                        shown(id)
                    )));
                }
            }
        }
        Ok(())
    }
}

/// The hash of a usable ID (ASCII, at most 128 bytes) lower-cased, without a copy on the heap.
fn lower_hash(hasher: &RandomState, id: &str) -> u64 {
    let mut lower = [0u8; 128];
    let lower = &mut lower[..id.len()];
    lower.copy_from_slice(id.as_bytes());
    lower.make_ascii_lowercase();
    hasher.hash_one(&*lower)
}

/// An ID from an answer, for a message: escaped, and cut when long.
fn shown(id: &str) -> String {
    const MAX: usize = 140;
    match id.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", printable(&id[..cut])),
        None => printable(id).into_owned(),
    }
}

/// One complete read into `sink`, or why its pages are not a consistent whole.
async fn read_once<S: Extend<Desktop>>(
    mut pages: Pages,
    on_page: &(dyn Fn(usize, usize) + Sync),
    mut sink: S,
) -> Result<Result<S, String>, ReadError> {
    let mut page = pages.next().await.expect("a read yields its first page")?;
    let total = usize::try_from(page.total_count).unwrap_or(usize::MAX);
    let mut consistency = Consistency {
        total,
        seen: HashMap::with_capacity(total.min(1 << 20)),
        hasher: RandomState::new(),
    };
    let mut read = 0;
    loop {
        read += page.desktops.len();
        on_page(read, total);
        match consistency.check(&page) {
            Ok(()) => {}
            Err(Inconsistent::Changed(detail)) => return Ok(Err(detail)),
            Err(Inconsistent::Doubtful(detail)) => return Err(ReadError::Doubtful(detail)),
        }
        sink.extend(page.desktops);
        match pages.next().await {
            Some(next) => page = next?,
            // Every page is checked to hold what it should, so all are in when the count is.
            None if read == total => return Ok(Ok(sink)),
            None => {
                return Ok(Err(format!(
                    "the read ended after {read} of {total} desktops"
                )));
            }
        }
    }
}

/// The desktops among `ids` that still exist, read by ID in calls of 100. An answer that
/// holds a desktop that was not asked for, one without a usable ID, or one twice, is doubtful.
pub async fn read_by_ids(
    client: &Client,
    ids: &[String],
    concurrency: usize,
) -> Result<Vec<Desktop>, ReadError> {
    let desktops = stream::iter(ids.chunks(MAX_IDS_PER_CALL))
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
        .await?;
    check_by_ids(ids, &desktops).map_err(ReadError::Doubtful)?;
    Ok(desktops)
}

/// Whether `desktops`, read by `ids`, are each one of those asked for, once, with a usable ID.
fn check_by_ids(ids: &[String], desktops: &[Desktop]) -> Result<(), String> {
    let asked: HashSet<&str> = ids.iter().map(String::as_str).collect();
    let mut seen = HashSet::with_capacity(desktops.len());
    for desktop in desktops {
        let id = desktop.id.as_str();
        let which = format!("desktop `{}` (`{}`)", printable(&desktop.name), shown(id));
        if !is_usable_id(id) {
            return Err(format!("{which} has no usable ID"));
        }
        if !asked.contains(id) {
            return Err(format!("{which} was returned but not asked for"));
        }
        if !seen.insert(id) {
            return Err(format!("{which} was returned twice"));
        }
    }
    Ok(())
}

/// The login state of each of `ids` (at most 100, one call), from the detail list: in use
/// (its `login_status` is one of `busy`), not in use, or unknown ([`classify`]).
pub async fn read_login_status(
    client: &Client,
    ids: Vec<String>,
    busy: &[String],
) -> Result<Vec<(String, Login)>, ApiError> {
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
    let (states, doubt) = classify(&filter.desktop_ids, page, busy);
    if let Some(doubt) = doubt {
        tracing::warn!(
            desktops = states.len(),
            "the detail list's answer is doubtful ({doubt}); these desktops are held back"
        );
    }
    Ok(states)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desktops(from: usize, count: usize) -> Vec<Desktop> {
        (from..from + count)
            .map(|index| Desktop {
                id: format!("id-{index}"),
                name: format!("eng-{index}"),
                user: String::new(),
                status: "ACTIVE".into(),
                task_status: String::new(),
                created: String::new(),
                enterprise_project_id: String::new(),
                tags: Vec::new(),
            })
            .collect()
    }

    /// Pages handed over by hand, as the fetching task would.
    fn pages(given: Vec<Page>) -> Pages {
        let (send, arrived) = mpsc::channel(given.len().max(1));
        for page in given {
            send.try_send(Ok(page)).expect("room for every page");
        }
        Pages {
            arrived,
            _fetching: AbortOnDrop(tokio::spawn(async {})),
        }
    }

    /// Issue 12: a listed desktop with `desktop_id` `""` was planned and sent. A desktop
    /// without a usable ID, or two IDs that differ only in letter case, make the read doubtful:
    /// refused at once (reading again would not help), nothing handed to the planner.
    #[tokio::test]
    async fn a_desktop_without_a_usable_id_makes_the_read_doubtful() {
        for (bad, twin) in [
            ("", None),
            ("..", None),
            ("a/b", None),
            ("ID-1", Some("id-1")),
        ] {
            let mut page = desktops(0, 3);
            page[1].id = bad.to_string();
            if let Some(twin) = twin {
                page[2].id = twin.to_string();
            }
            let given = pages(vec![Page {
                offset: 0,
                total_count: 3,
                desktops: page,
            }]);
            let read = read_once(given, &|_, _| {}, Vec::new()).await;
            let Err(ReadError::Doubtful(detail)) = read else {
                panic!("{bad:?}: expected a doubtful read, got {read:?}");
            };
            let name = if twin.is_some() { "eng-2" } else { "eng-1" };
            assert!(
                detail.contains(&format!("`{name}`")) && detail.contains("offset 0"),
                "{bad:?}: {detail}"
            );
        }
    }

    /// A saved plan's desktops read again: only those asked for, once each, with usable IDs.
    #[test]
    fn a_read_by_ids_holds_only_what_was_asked() {
        let asked: Vec<String> = desktops(0, 3).into_iter().map(|d| d.id).collect();
        assert_eq!(check_by_ids(&asked, &desktops(0, 2)), Ok(()));
        let twice = [desktops(0, 2), desktops(1, 1)].concat();
        assert!(
            check_by_ids(&asked, &twice)
                .unwrap_err()
                .contains("returned twice")
        );
        let other = desktops(2, 2);
        assert!(
            check_by_ids(&asked, &other)
                .unwrap_err()
                .contains("not asked for")
        );
        let mut empty = desktops(0, 1);
        empty[0].id = String::new();
        let asked_empty = [String::new()];
        assert!(
            check_by_ids(&asked_empty, &empty)
                .unwrap_err()
                .contains("no usable ID")
        );
    }

    #[tokio::test]
    async fn a_read_is_complete_only_when_every_desktop_arrived() {
        let page = |offset: usize, count: usize| Page {
            offset,
            total_count: 2500,
            desktops: desktops(offset, count),
        };
        let whole = pages(vec![page(0, 1000), page(2000, 500), page(1000, 1000)]);
        let read = read_once(whole, &|_, _| {}, Vec::new()).await.unwrap();
        assert_eq!(read.unwrap().len(), 2500);

        // The fetching task ended (or died) before the last page: never a plan from that.
        let short = pages(vec![page(0, 1000), page(2000, 500)]);
        let read = read_once(short, &|_, _| {}, Vec::new()).await.unwrap();
        assert_eq!(
            read.unwrap_err(),
            "the read ended after 1500 of 2500 desktops"
        );
    }
}
