//! The simulated inventory: desktops in a stable order (the inventory file's), with an index by
//! ID so that lookups, batch-delete validation and removals cost O(IDs), not O(inventory).

use std::collections::{BTreeMap, HashMap};

use super::filter::DesktopFilter;
use super::seed::SeedDesktop;

#[derive(Debug, Default)]
pub(super) struct Desktops {
    /// Keyed by arrival number: iteration order is the inventory's, and removal is cheap.
    ordered: BTreeMap<u64, SeedDesktop>,
    position: HashMap<String, u64>,
    next: u64,
}

impl Desktops {
    /// A later desktop with an ID already seen replaces the earlier one in its place
    /// (`read_inventory` refuses such files; this only keeps the index consistent).
    pub(super) fn new(seeds: Vec<SeedDesktop>) -> Desktops {
        let mut desktops = Desktops::default();
        for seed in seeds {
            match desktops.position.get(&seed.desktop.desktop_id) {
                Some(position) => {
                    desktops.ordered.insert(*position, seed);
                }
                None => {
                    let position = desktops.next;
                    desktops.next += 1;
                    desktops
                        .position
                        .insert(seed.desktop.desktop_id.clone(), position);
                    desktops.ordered.insert(position, seed);
                }
            }
        }
        desktops
    }

    pub(super) fn get(&self, id: &str) -> Option<&SeedDesktop> {
        self.ordered.get(self.position.get(id)?)
    }

    pub(super) fn get_mut(&mut self, id: &str) -> Option<&mut SeedDesktop> {
        self.ordered.get_mut(self.position.get(id)?)
    }

    pub(super) fn remove(&mut self, id: &str) {
        if let Some(position) = self.position.remove(id) {
            self.ordered.remove(&position);
        }
    }

    pub(super) fn to_vec(&self) -> Vec<SeedDesktop> {
        self.ordered.values().cloned().collect()
    }

    /// The number of desktops matching `filter`, and the `limit` of them starting at `offset`,
    /// borrowed: only the page gets copied into an answer.
    pub(super) fn page(
        &self,
        filter: &DesktopFilter,
        offset: usize,
        limit: usize,
    ) -> (u64, Vec<&SeedDesktop>) {
        if filter.is_empty() {
            let page = self.ordered.values().skip(offset).take(limit).collect();
            return (self.ordered.len() as u64, page);
        }
        let matching: Box<dyn Iterator<Item = &SeedDesktop>> = if filter.desktop_ids.is_empty() {
            Box::new(self.ordered.values())
        } else {
            let mut positions: Vec<u64> = filter
                .desktop_ids
                .iter()
                .filter_map(|id| self.position.get(id).copied())
                .collect();
            positions.sort_unstable();
            positions.dedup();
            Box::new(
                positions
                    .into_iter()
                    .map(|position| &self.ordered[&position]),
            )
        };
        let mut total = 0;
        let mut page = Vec::new();
        for seed in matching.filter(|seed| filter.matches(&seed.desktop)) {
            if total >= offset && page.len() < limit {
                page.push(seed);
            }
            total += 1;
        }
        (total as u64, page)
    }
}
