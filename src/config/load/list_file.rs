//! `[desktops] names_file` and `ids_file`: declarations kept in a plain text file (a list
//! exported from an HR or asset system), one per line. Blank lines and lines starting with `#`
//! are skipped, each line is trimmed; a `#` anywhere else is refused, since a comment after a
//! name would silently become part of it and the desktop meant would be deleted.

use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::config::diagnostic::LineIndex;

/// A list file as read, kept for its diagnostics and for the config's digest.
#[derive(Debug, Clone)]
pub struct ListFile {
    /// `names_file` or `ids_file`.
    pub key: &'static str,
    /// As the config wrote it, resolved against the config file's folder.
    pub path: PathBuf,
    pub text: String,
    pub lines: LineIndex,
}

/// One line of a list file.
pub(super) enum Item {
    /// The byte range of a declared value, trimmed.
    Value(Range<usize>),
    /// A `#` after a value, at this byte offset.
    Comment(usize),
}

/// The most a list file may hold, as a config: 100,000 long names are some 5 MiB.
pub(super) const MAX_LIST_BYTES: u64 = super::MAX_CONFIG_BYTES;

/// Where `value` (a path in the config at `config`) points: relative to the config's folder.
pub(super) fn resolve(config: &Path, value: &str) -> PathBuf {
    match config.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(value),
        _ => PathBuf::from(value),
    }
}

impl ListFile {
    pub(super) fn new(key: &'static str, path: PathBuf, mut text: String) -> ListFile {
        // Tools on Windows often export UTF-8 with a byte-order mark: kept, it would become
        // part of the first name, which would then match nothing (and its desktop be deleted).
        if text.starts_with('\u{feff}') {
            text.drain(..'\u{feff}'.len_utf8());
        }
        ListFile {
            key,
            lines: LineIndex::new(&text),
            path,
            text,
        }
    }

    /// Every line that is not blank or a comment, in order.
    pub(super) fn items(&self) -> impl Iterator<Item = Item> + '_ {
        let mut start = 0;
        self.text.split_inclusive('\n').filter_map(move |line| {
            let at = start;
            start += line.len();
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                return None;
            }
            let from = at + (line.len() - line.trim_start().len());
            if let Some(hash) = trimmed.find('#') {
                return Some(Item::Comment(from + hash));
            }
            Some(Item::Value(from..from + trimmed.len()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The values, and `# at N` for a refused comment.
    fn items(text: &str) -> Vec<String> {
        let file = ListFile::new("names_file", "keep.txt".into(), text.to_owned());
        file.items()
            .map(|item| match item {
                Item::Value(span) => file.text[span].to_owned(),
                Item::Comment(at) => format!("# at {at}"),
            })
            .collect()
    }

    #[test]
    fn lines_are_trimmed_and_comments_and_blanks_skipped() {
        assert_eq!(
            items("# exported 2026-12-01\neng-a\n\n  eng b \t\r\n   # indented\r\nlast"),
            ["eng-a", "eng b", "last"]
        );
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_first_name() {
        assert_eq!(items("\u{feff}eng-a\r\neng-b\r\n"), ["eng-a", "eng-b"]);
    }

    #[test]
    fn a_comment_after_a_value_is_refused_where_it_starts() {
        assert_eq!(items("eng-a\neng-b # boss\n"), ["eng-a", "# at 12"]);
    }

    #[test]
    fn paths_are_relative_to_the_config_folder() {
        assert_eq!(
            resolve(Path::new("conf/deskprune.toml"), "keep.txt"),
            Path::new("conf/keep.txt")
        );
        assert_eq!(
            resolve(Path::new("deskprune.toml"), "keep.txt"),
            Path::new("keep.txt")
        );
        assert_eq!(
            resolve(Path::new("conf/deskprune.toml"), "/srv/keep.txt"),
            Path::new("/srv/keep.txt")
        );
    }
}

#[cfg(test)]
mod digest_tests {
    const CONFIG: &str = "[cloud]\nregion = \"cn-north-4\"\nproject_id = \"0b6a4c2d9e8f41a7b3c5d6e7f8091a2b\"\n\n[scope]\nall = true\n\n[desktops]\nnames_file = \"keep.txt\"\n";

    #[test]
    fn the_digest_covers_the_list_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deskprune.toml");
        let keep = dir.path().join("keep.txt");
        std::fs::write(&keep, "eng-a\n").unwrap();
        let first = crate::config::parse(&path, CONFIG).unwrap();
        assert_eq!(first.list_files, std::slice::from_ref(&keep));
        std::fs::write(&keep, "eng-a\neng-b\n").unwrap();
        let second = crate::config::parse(&path, CONFIG).unwrap();
        assert_ne!(first.digest, second.digest);
        assert_eq!(second.desktops.len(), 2);
    }
}
