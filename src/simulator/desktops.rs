//! The simulated inventory: desktops in a stable order (the inventory file's), with an index by
//! ID so that lookups, batch-delete validation and removals cost O(IDs), not O(inventory).
//! A paged read asks for the same filter page after page, so the positions a filter matches
//! are kept until the inventory changes: reading N desktops costs O(N), not O(N²/page).
//! Faults may add or remove desktops while a client reads. Each desktop's list JSON is
//! rendered when it is loaded or changed, so serving a page costs copying its bytes.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use serde_json::value::RawValue;

use super::filter::DesktopFilter;
use super::seed::SeedDesktop;

#[derive(Debug, Default)]
pub(super) struct Desktops {
    /// Keyed by arrival number: iteration order is the inventory's, and removal is cheap.
    ordered: BTreeMap<u64, Stored>,
    position: HashMap<String, u64>,
    next: u64,
    /// Bumped by every change, so a cached match list is never stale.
    version: u64,
    matched: Mutex<Option<Matched>>,
}

/// A desktop, and its `SimpleDesktopInfo` as the list call serves it.
#[derive(Debug)]
pub(super) struct Stored {
    pub(super) seed: SeedDesktop,
    listed: OnceLock<Box<RawValue>>,
}

impl Stored {
    fn new(seed: SeedDesktop) -> Stored {
        let stored = Stored {
            seed,
            listed: OnceLock::new(),
        };
        stored.listed();
        stored
    }

    /// The desktop's JSON in a list answer, rendered again after a change.
    pub(super) fn listed(&self) -> &RawValue {
        self.listed.get_or_init(|| {
            serde_json::value::to_raw_value(&self.seed.desktop)
                .expect("wire types always serialise")
        })
    }
}

/// The positions of the desktops `filter` matched at `version`, in inventory order.
#[derive(Debug)]
struct Matched {
    filter: DesktopFilter,
    version: u64,
    positions: Arc<Vec<u64>>,
}

impl Desktops {
    /// A later desktop with an ID already seen replaces the earlier one in its place
    /// (`read_inventory` refuses such files; this only keeps the index consistent).
    pub(super) fn new(seeds: Vec<SeedDesktop>) -> Desktops {
        let mut desktops = Desktops::default();
        for seed in seeds {
            match desktops.position.get(&seed.desktop.desktop_id) {
                Some(position) => {
                    desktops.ordered.insert(*position, Stored::new(seed));
                }
                None => {
                    let position = desktops.next;
                    desktops.next += 1;
                    desktops
                        .position
                        .insert(seed.desktop.desktop_id.clone(), position);
                    desktops.ordered.insert(position, Stored::new(seed));
                }
            }
        }
        desktops
    }

    pub(super) fn get(&self, id: &str) -> Option<&SeedDesktop> {
        Some(&self.ordered.get(self.position.get(id)?)?.seed)
    }

    /// The desktop, to change: its list JSON is rendered again when next served.
    pub(super) fn get_mut(&mut self, id: &str) -> Option<&mut SeedDesktop> {
        self.version += 1;
        let stored = self.ordered.get_mut(self.position.get(id)?)?;
        stored.listed.take();
        Some(&mut stored.seed)
    }

    pub(super) fn remove(&mut self, id: &str) {
        self.version += 1;
        if let Some(position) = self.position.remove(id) {
            self.ordered.remove(&position);
        }
    }

    /// Appends `count` copies of the first desktop (or of a bare one, when there is none),
    /// each with a new ID and its own name: desktops created while a client reads.
    pub(super) fn insert_copies(&mut self, count: usize) {
        self.version += 1;
        let template = self
            .ordered
            .values()
            .next()
            .map(|stored| stored.seed.clone());
        for _ in 0..count {
            let id = uuid::Uuid::new_v4().to_string();
            let seed = match &template {
                Some(template) => {
                    let mut seed = template.clone();
                    let name = seed.desktop.computer_name.as_deref().unwrap_or("desktop");
                    seed.desktop.computer_name = Some(format!("{name}-added-{}", self.next));
                    seed.desktop.desktop_id = id.clone();
                    seed
                }
                None => serde_json::from_value(serde_json::json!({ "desktop_id": id }))
                    .expect("a desktop needs only its ID"),
            };
            let position = self.next;
            self.next += 1;
            self.position.insert(id, position);
            self.ordered.insert(position, Stored::new(seed));
        }
    }

    /// Removes the first `count` desktops: desktops deleted while a client reads.
    pub(super) fn remove_first(&mut self, count: usize) {
        self.version += 1;
        for _ in 0..count {
            let Some((_, stored)) = self.ordered.pop_first() else {
                return;
            };
            self.position.remove(&stored.seed.desktop.desktop_id);
        }
    }

    pub(super) fn to_vec(&self) -> Vec<SeedDesktop> {
        self.ordered
            .values()
            .map(|stored| stored.seed.clone())
            .collect()
    }

    /// The number of desktops matching `filter`, and the `limit` of them starting at `offset`,
    /// borrowed: only the page gets copied into an answer.
    pub(super) fn page(
        &self,
        filter: &DesktopFilter,
        offset: usize,
        limit: usize,
    ) -> (u64, Vec<&Stored>) {
        if !filter.desktop_ids.is_empty() {
            return self.page_of_ids(filter, offset, limit);
        }
        let positions = self.matching(filter);
        let page = positions
            .iter()
            .skip(offset)
            .take(limit)
            .map(|position| &self.ordered[position])
            .collect();
        (positions.len() as u64, page)
    }

    /// The positions `filter` matches now: the cached list when nothing changed since.
    fn matching(&self, filter: &DesktopFilter) -> Arc<Vec<u64>> {
        let mut cache = self.matched.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(matched) = cache.as_ref()
            && matched.version == self.version
            && matched.filter == *filter
        {
            return matched.positions.clone();
        }
        let positions: Arc<Vec<u64>> = Arc::new(
            self.ordered
                .iter()
                .filter(|(_, stored)| filter.is_empty() || filter.matches(&stored.seed.desktop))
                .map(|(position, _)| *position)
                .collect(),
        );
        *cache = Some(Matched {
            filter: filter.clone(),
            version: self.version,
            positions: positions.clone(),
        });
        positions
    }

    /// Reads by ID (at most 100 of them) cost O(IDs), so they are not cached.
    fn page_of_ids(
        &self,
        filter: &DesktopFilter,
        offset: usize,
        limit: usize,
    ) -> (u64, Vec<&Stored>) {
        let mut positions: Vec<u64> = filter
            .desktop_ids
            .iter()
            .filter_map(|id| self.position.get(id).copied())
            .collect();
        positions.sort_unstable();
        positions.dedup();
        let mut total = 0;
        let mut page = Vec::new();
        let matching = positions
            .into_iter()
            .map(|position| &self.ordered[&position])
            .filter(|stored| filter.matches(&stored.seed.desktop));
        for stored in matching {
            if total >= offset && page.len() < limit {
                page.push(stored);
            }
            total += 1;
        }
        (total as u64, page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::filter::ListKind;
    use crate::simulator::query::Query;

    fn seeds(count: usize) -> Vec<SeedDesktop> {
        (0..count)
            .map(|n| {
                let team = if n % 2 == 0 { "even" } else { "odd" };
                serde_json::from_value(serde_json::json!({
                    "desktop_id": format!("id-{n}"),
                    "tags": [{"key": "team", "value": team}],
                }))
                .unwrap()
            })
            .collect()
    }

    fn filter(query: &str) -> DesktopFilter {
        DesktopFilter::parse(&Query::parse(query), ListKind::Simple).unwrap()
    }

    fn ids(page: &[&Stored]) -> Vec<String> {
        page.iter()
            .map(|stored| stored.seed.desktop.desktop_id.clone())
            .collect()
    }

    #[test]
    fn cached_matches_follow_every_change() {
        let mut desktops = Desktops::new(seeds(6));
        let odd = filter("tag=team%3Dodd");
        let (total, page) = desktops.page(&odd, 1, 10);
        assert_eq!((total, ids(&page)), (3, vec!["id-3".into(), "id-5".into()]));
        // Another filter in between does not serve the first one's list.
        assert_eq!(desktops.page(&filter(""), 0, 10).0, 6);
        desktops.remove("id-3");
        let (total, page) = desktops.page(&odd, 0, 10);
        assert_eq!((total, ids(&page)), (2, vec!["id-1".into(), "id-5".into()]));
        desktops.insert_copies(1);
        assert_eq!(desktops.page(&filter(""), 0, 10).0, 6);
        assert_eq!(desktops.page(&filter("tag=team%3Deven"), 0, 10).0, 4);
        // A desktop changed in place (marked deleting) is seen by a status filter at once.
        let active = filter("status=ACTIVE");
        assert_eq!(desktops.page(&active, 0, 10).0, 0);
        desktops.get_mut("id-1").unwrap().desktop.status = Some("ACTIVE".into());
        let (total, page) = desktops.page(&active, 0, 10);
        assert_eq!(total, 1);
        // And served as it is now.
        let listed: serde_json::Value = serde_json::from_str(page[0].listed().get()).unwrap();
        assert_eq!(listed["status"], "ACTIVE");
    }

    #[test]
    fn reads_by_id_keep_inventory_order() {
        let desktops = Desktops::new(seeds(6));
        let (total, page) = desktops.page(
            &filter("desktop_id=id-4&desktop_id=id-1&desktop_id=nope"),
            0,
            10,
        );
        assert_eq!((total, ids(&page)), (2, vec!["id-1".into(), "id-4".into()]));
    }
}
