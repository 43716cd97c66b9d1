//! Declared IDs that match no desktop but are a slip of the keyboard (or of the eye) away from
//! a desktop the plan would delete. Such a declaration almost surely meant that desktop, and
//! the plan would delete exactly what it was written to keep: the plan fails instead.
//!
//! "A slip away" is: at most two single-char edits apart once both IDs are case-folded and the
//! characters that look alike are made one (`o` is `0`; `l` and `i` are `1`). Desktop IDs are
//! hex with dashes, which has none of `o`, `l`, `i`, so the look-alikes only ever bring a
//! mistyped declaration nearer to a real ID, never two real IDs nearer to each other: a plan is
//! refused only for a declaration that matches nothing.
//!
//! A config may declare tens of thousands of IDs and a plan delete as many desktops, so the
//! pairs are not all compared: an ID within two edits of another keeps one of its three
//! pieces unedited, shifted by at most two places (three pieces, two edits), and the pieces
//! of the unmatched declarations are looked up in a hash table at each place a desktop's ID
//! could hold them. Only the pairs found that way are measured.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};

use super::Entry;
use crate::config::{Declaration, Selector};
use crate::text::edit_distance;

/// The largest distance that counts as a typo.
const MAX_EDITS: usize = 2;
/// Pieces an ID is cut in: one more than the edits, so one piece is always left whole.
const PIECES: usize = MAX_EDITS + 1;

/// A declared ID that matches no desktop, and the desktop to be deleted that it is a typo of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NearMiss {
    pub declaration: Declaration,
    pub desktop: Entry,
}

/// Every pair of a declaration among `missing` that gives an ID and one of `deletions` a typo
/// apart, by declaration (in the order given), then deletion.
pub fn near_misses(missing: &[Declaration], deletions: &[Entry]) -> Vec<NearMiss> {
    let declared: Vec<(usize, Vec<char>)> = missing
        .iter()
        .enumerate()
        .filter_map(|(index, declaration)| match &declaration.selector {
            Selector::Id(id) => Some((index, skeleton(id))),
            Selector::Name(_) => None,
        })
        .collect();
    if declared.is_empty() || deletions.is_empty() {
        return Vec::new();
    }
    let index = PieceIndex::new(&declared);
    let mut pairs = HashSet::new();
    for (at, deletion) in deletions.iter().enumerate() {
        let id = skeleton(&deletion.desktop_id);
        for candidate in index.candidates(&id) {
            let (missing_at, declared_id) = &declared[candidate];
            if within_reach(declared_id, &id) {
                pairs.insert((*missing_at, at));
            }
        }
    }
    let mut pairs: Vec<(usize, usize)> = pairs.into_iter().collect();
    pairs.sort_unstable();
    pairs
        .into_iter()
        .map(|(missing_at, at)| NearMiss {
            declaration: missing[missing_at].clone(),
            desktop: deletions[at].clone(),
        })
        .collect()
}

/// `id` case-folded, with the look-alikes made one.
fn skeleton(id: &str) -> Vec<char> {
    id.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'o' => '0',
            'l' | 'i' => '1',
            c => c,
        })
        .collect()
}

fn within_reach(a: &[char], b: &[char]) -> bool {
    if a.len().abs_diff(b.len()) > MAX_EDITS {
        return false;
    }
    let text = |chars: &[char]| chars.iter().collect::<String>();
    edit_distance(&text(a), &text(b)) <= MAX_EDITS
}

/// Where the three pieces of an ID of `len` chars start and end.
fn pieces(len: usize) -> [(usize, usize); PIECES] {
    let cut = |n: usize| len * n / PIECES;
    std::array::from_fn(|n| (cut(n), cut(n + 1)))
}

/// The pieces of the declared IDs, by the hash of (ID length, piece number, piece).
struct PieceIndex {
    hasher: RandomState,
    pieces: HashMap<u64, Vec<usize>>,
    /// The lengths of the declared IDs cut in pieces.
    lengths: HashSet<usize>,
    /// Declared IDs too short to cut in three pieces of at least one char: measured against
    /// every desktop ID short enough.
    short: Vec<(usize, usize)>,
}

impl PieceIndex {
    fn new(declared: &[(usize, Vec<char>)]) -> PieceIndex {
        let mut index = PieceIndex {
            hasher: RandomState::new(),
            pieces: HashMap::new(),
            lengths: HashSet::new(),
            short: Vec::new(),
        };
        for (at, (_, id)) in declared.iter().enumerate() {
            if id.len() < PIECES {
                index.short.push((at, id.len()));
                continue;
            }
            index.lengths.insert(id.len());
            for (number, (start, end)) in pieces(id.len()).into_iter().enumerate() {
                let key = index.key(id.len(), number, &id[start..end]);
                index.pieces.entry(key).or_default().push(at);
            }
        }
        index
    }

    fn key(&self, len: usize, number: usize, piece: &[char]) -> u64 {
        self.hasher.hash_one((len, number, piece))
    }

    /// The declared IDs that may be within reach of `id`: a superset, by hash.
    fn candidates<'a>(&'a self, id: &'a [char]) -> impl Iterator<Item = usize> + 'a {
        let short = self
            .short
            .iter()
            .filter(move |(_, len)| id.len() <= len + MAX_EDITS)
            .map(|(at, _)| *at);
        let lengths = id.len().saturating_sub(MAX_EDITS)..=id.len() + MAX_EDITS;
        let pieced = lengths
            .filter(|len| self.lengths.contains(len))
            .flat_map(move |len| {
                pieces(len)
                    .into_iter()
                    .enumerate()
                    .flat_map(move |(number, (start, end))| {
                        // The piece may sit up to MAX_EDITS places either side of its place in
                        // the declared ID.
                        (start.saturating_sub(MAX_EDITS)..=start + MAX_EDITS).filter_map(
                            move |from| {
                                let piece = id.get(from..from + (end - start))?;
                                self.pieces.get(&self.key(len, number, piece))
                            },
                        )
                    })
            })
            .flatten()
            .copied();
        short.chain(pieced)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn entry(id: &str) -> Entry {
        Entry {
            desktop_id: id.into(),
            computer_name: format!("pc-{id}"),
            user_name: String::new(),
            status: String::new(),
            created: String::new(),
        }
    }

    fn declared(id: &str, line: usize) -> Declaration {
        Declaration {
            selector: Selector::Id(id.into()),
            line,
        }
    }

    /// Every pair, measured one by one: what the index must find.
    fn every_pair(missing: &[Declaration], deletions: &[Entry]) -> Vec<NearMiss> {
        let mut found = Vec::new();
        for declaration in missing {
            let Selector::Id(id) = &declaration.selector else {
                continue;
            };
            for deletion in deletions {
                if within_reach(&skeleton(id), &skeleton(&deletion.desktop_id)) {
                    found.push(NearMiss {
                        declaration: declaration.clone(),
                        desktop: deletion.clone(),
                    });
                }
            }
        }
        found
    }

    #[test]
    fn pieces_cover_the_id() {
        assert_eq!(pieces(36), [(0, 12), (12, 24), (24, 36)]);
        assert_eq!(pieces(4), [(0, 1), (1, 2), (2, 4)]);
        assert_eq!(
            skeleton("O6B9-lI1o"),
            "06b9-1110".chars().collect::<Vec<_>>()
        );
    }

    #[test]
    fn short_ids_are_measured_too() {
        let deletions = [entry("ab"), entry("abcdef")];
        let missing = [declared("a", 1), declared("x", 2), declared("", 3)];
        let found = near_misses(&missing, &deletions);
        assert_eq!(found, every_pair(&missing, &deletions));
        assert_eq!(found.len(), 3, "{found:?}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// The index finds exactly the pairs that measuring every pair finds.
        #[test]
        fn the_index_finds_every_pair_within_reach(
            ids in prop::collection::vec("[0-9a-fA-FoOlI-]{0,10}", 1..12),
            edits in prop::collection::vec(
                (0usize..12, prop::collection::vec((0u8..3, 0usize..12, "[0-9a-fxoOlI]"), 0..4)),
                0..12,
            ),
        ) {
            let deletions: Vec<Entry> = ids.iter().map(|id| entry(id)).collect();
            // Declarations made by editing the listed IDs a few times.
            let missing: Vec<Declaration> = edits
                .iter()
                .enumerate()
                .map(|(line, (of, changes))| {
                    let mut id: Vec<char> = ids[of % ids.len()].chars().collect();
                    for (kind, at, c) in changes {
                        let c = c.chars().next().unwrap();
                        let at = at % (id.len() + 1);
                        match kind {
                            0 => id.insert(at, c),
                            1 if at < id.len() => { id.remove(at); }
                            _ if at < id.len() => id[at] = c,
                            _ => id.push(c),
                        }
                    }
                    declared(&id.into_iter().collect::<String>(), line)
                })
                .collect();
            prop_assert_eq!(near_misses(&missing, &deletions), every_pair(&missing, &deletions));
        }
    }
}
