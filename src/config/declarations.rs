//! The declared desktops in file order, indexed by computer name (case-insensitively, as Windows
//! compares them) and by ID (case-insensitively too: a declared `06B99DA4-…` is the listed
//! `06b99da4-…`, and must keep it). The config check fills the index as it reads the declarations, so
//! a second declaration of the same desktop is caught there; the planner looks every listed
//! desktop up in the same index. The index holds positions, not copies of the names: a config
//! may declare a hundred thousand desktops.

use std::hash::BuildHasher;

use hashbrown::hash_table::Entry;
use hashbrown::{DefaultHashBuilder, HashTable};

use super::{Declaration, Selector};
use crate::text::{fold, same_word};

#[derive(Debug, Clone, Default)]
pub struct Declarations {
    list: Vec<Declaration>,
    by_name: HashTable<u32>,
    by_id: HashTable<u32>,
    hasher: DefaultHashBuilder,
}

impl Declarations {
    /// Room for `names` and `ids` declarations without growing the index.
    pub fn with_capacity(names: usize, ids: usize) -> Declarations {
        Declarations {
            list: Vec::with_capacity(names + ids),
            by_name: HashTable::with_capacity(names),
            by_id: HashTable::with_capacity(ids),
            hasher: DefaultHashBuilder::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Declaration> {
        self.list.iter()
    }

    /// The declaration of the desktop called `name`, compared case-insensitively.
    pub fn by_name(&self, name: &str) -> Option<usize> {
        let hash = name_hash(&self.hasher, name);
        self.by_name
            .find(hash, |&at| same_name(name_of(&self.list, at), name))
            .map(|&at| at as usize)
    }

    /// The declaration of the desktop with this ID, compared case-insensitively.
    pub fn by_id(&self, id: &str) -> Option<usize> {
        let hash = name_hash(&self.hasher, id);
        self.by_id
            .find(hash, |&at| same_name(id_of(&self.list, at), id))
            .map(|&at| at as usize)
    }

    /// Adds `declaration` and returns its position, unless an earlier one names the same
    /// desktop: then the error holds the earlier one's position, and `declaration` back.
    pub fn push(&mut self, declaration: Declaration) -> Result<usize, (usize, Declaration)> {
        let at = self.list.len();
        let position = u32::try_from(at).expect("fewer than 2^32 declarations");
        let Declarations {
            list,
            by_name,
            by_id,
            hasher,
        } = self;
        let entry = match &declaration.selector {
            Selector::Name(name) => by_name.entry(
                name_hash(hasher, name),
                |&earlier| same_name(name_of(list, earlier), name),
                |&earlier| name_hash(hasher, name_of(list, earlier)),
            ),
            Selector::Id(id) => by_id.entry(
                name_hash(hasher, id),
                |&earlier| same_name(id_of(list, earlier), id),
                |&earlier| name_hash(hasher, id_of(list, earlier)),
            ),
        };
        match entry {
            Entry::Occupied(earlier) => Err((*earlier.get() as usize, declaration)),
            Entry::Vacant(vacant) => {
                vacant.insert(position);
                list.push(declaration);
                Ok(at)
            }
        }
    }
}

impl std::ops::Index<usize> for Declarations {
    type Output = Declaration;

    fn index(&self, index: usize) -> &Declaration {
        &self.list[index]
    }
}

/// For tests, which write their declarations out: each must name another desktop.
#[cfg(test)]
impl FromIterator<Declaration> for Declarations {
    fn from_iter<I: IntoIterator<Item = Declaration>>(iter: I) -> Declarations {
        let mut declarations = Declarations::default();
        for declaration in iter {
            declarations
                .push(declaration)
                .expect("each declaration names another desktop");
        }
        declarations
    }
}

impl PartialEq for Declarations {
    fn eq(&self, other: &Declarations) -> bool {
        self.list == other.list
    }
}

impl<'a> IntoIterator for &'a Declarations {
    type Item = &'a Declaration;
    type IntoIter = std::slice::Iter<'a, Declaration>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

fn name_of(list: &[Declaration], at: u32) -> &str {
    match &list[at as usize].selector {
        Selector::Name(name) => name,
        Selector::Id(_) => unreachable!("the name index holds names only"),
    }
}

fn id_of(list: &[Declaration], at: u32) -> &str {
    match &list[at as usize].selector {
        Selector::Id(id) => id,
        Selector::Name(_) => unreachable!("the ID index holds IDs only"),
    }
}

/// The hash of `name` (or ID) case-folded ([`fold`]), without making a folded copy in the
/// common cases: a name already in lower case, and an ASCII name short enough for a buffer on
/// the stack.
fn name_hash(hasher: &DefaultHashBuilder, name: &str) -> u64 {
    // Trimmed as `same_name` compares: names equal by it must hash alike.
    let name = name.trim();
    if !name.is_ascii() {
        return hasher.hash_one(fold(name));
    }
    if !name.bytes().any(|byte| byte.is_ascii_uppercase()) {
        return hasher.hash_one(name);
    }
    let mut buffer = [0u8; 64];
    match buffer.get_mut(..name.len()) {
        Some(lower) => {
            lower.copy_from_slice(name.as_bytes());
            lower.make_ascii_lowercase();
            hasher.hash_one(std::str::from_utf8(lower).expect("ASCII stays UTF-8"))
        }
        None => hasher.hash_one(name.to_ascii_lowercase()),
    }
}

/// Whether two names are the same computer name (or two IDs the same ID): the same word by
/// the one rule ([`same_word`]), so that a desktop spelled in any case is the declared one,
/// and kept.
fn same_name(a: &str, b: &str) -> bool {
    same_word(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(name: &str, line: usize) -> Declaration {
        Declaration {
            selector: Selector::Name(name.to_string()),
            line,
        }
    }

    fn id(id: &str, line: usize) -> Declaration {
        Declaration {
            selector: Selector::Id(id.to_string()),
            line,
        }
    }

    #[test]
    fn a_name_spelled_with_another_case_folding_is_still_declared() {
        // The rule tags and statuses are compared by (`text::fold`): a desktop named
        // `STRASSE-1` is the declared `straße-1`, and is kept.
        let mut declarations = Declarations::default();
        assert_eq!(declarations.push(name("straße-1", 1)), Ok(0));
        assert_eq!(declarations.push(name("\u{212a}iosk", 2)), Ok(1));
        assert_eq!(declarations.by_name("STRASSE-1"), Some(0));
        assert_eq!(declarations.by_name("strasse-1"), Some(0));
        assert_eq!(declarations.by_name("kiosk"), Some(1));
        assert!(matches!(
            declarations.push(name("Strasse-1", 3)),
            Err((0, _))
        ));
    }

    #[test]
    fn finds_names_and_ids_case_insensitively() {
        let mut declarations = Declarations::default();
        assert_eq!(declarations.push(name("eng-001", 1)), Ok(0));
        assert_eq!(declarations.push(name("ENG-Ärger", 2)), Ok(1));
        assert_eq!(declarations.push(id("ID-1", 3)), Ok(2));
        let long = "X".repeat(100);
        assert_eq!(declarations.push(name(&long, 4)), Ok(3));

        assert_eq!(declarations.by_name("ENG-001"), Some(0));
        assert_eq!(declarations.by_name("eng-ärger"), Some(1));
        assert_eq!(declarations.by_name(&long.to_lowercase()), Some(3));
        assert_eq!(declarations.by_name("eng-002"), None);
        assert_eq!(declarations.by_name("id-1"), None, "an ID is not a name");
        assert_eq!(declarations.by_id("ID-1"), Some(2));
        assert_eq!(
            declarations.by_id("id-1"),
            Some(2),
            "issue 12: IDs ignore case"
        );
        assert_eq!(declarations.by_id("eng-001"), None, "a name is not an ID");
        assert_eq!(declarations.len(), 4);
    }

    #[test]
    fn a_second_declaration_of_the_same_desktop_is_refused() {
        let mut declarations = Declarations::default();
        declarations.push(name("Eng-001", 1)).unwrap();
        declarations.push(id("d-1", 2)).unwrap();
        assert_eq!(
            declarations.push(name("ENG-001", 3)),
            Err((0, name("ENG-001", 3)))
        );
        assert_eq!(declarations.push(id("d-1", 4)), Err((1, id("d-1", 4))));
        assert_eq!(declarations.push(id("D-1", 5)), Err((1, id("D-1", 5))));
        assert_eq!(declarations.len(), 2);
    }

    #[test]
    fn stays_correct_as_it_grows() {
        let mut declarations = Declarations::default();
        for n in 0..5000 {
            declarations.push(name(&format!("Desk-{n}"), n)).unwrap();
            declarations.push(id(&format!("id-{n}"), n)).unwrap();
        }
        for n in (0..5000).step_by(7) {
            assert_eq!(declarations.by_name(&format!("DESK-{n}")), Some(2 * n));
            assert_eq!(declarations.by_id(&format!("id-{n}")), Some(2 * n + 1));
        }
        assert_eq!(declarations.by_name("desk-5000"), None);
    }
}
