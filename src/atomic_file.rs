//! Writing a file so that readers (and a crash) see either the old or the new content, never a
//! mix: a temporary file in the same folder, flushed to disk, renamed over the old one, then
//! the folder flushed so the rename itself survives a power cut. A writer killed half-way
//! leaves a `.<name>.*.tmp` file, which [`remove_leftovers`] clears.

use std::ffi::OsString;
use std::io::Write;
use std::path::Path;

fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// `.<name>.`: the prefix of `path`'s temporary files.
fn temp_prefix(path: &Path) -> OsString {
    let mut prefix = OsString::from(".");
    prefix.push(path.file_name().unwrap_or_default());
    prefix.push(".");
    prefix
}

pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = dir_of(path);
    let mut temp = tempfile::Builder::new()
        .prefix(&temp_prefix(path))
        .suffix(".tmp")
        .tempfile_in(dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|err| err.error)?;
    std::fs::File::open(dir)?.sync_all()
}

/// Removes the temporary files that writers of `path` killed half-way left behind. Only call it
/// while no other process can be writing `path` (under the state lock).
pub fn remove_leftovers(path: &Path) -> std::io::Result<usize> {
    let prefix = temp_prefix(path);
    let prefix = prefix.to_string_lossy();
    let mut removed = 0;
    for entry in std::fs::read_dir(dir_of(path))? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(prefix.as_ref()) && name.ends_with(".tmp") {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.json");
        super::write(&path, b"first, longer content").unwrap();
        super::write(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file is left"
        );
    }

    #[test]
    fn leftovers_of_this_file_only_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        for name in [".s.json.abc123.tmp", ".other.json.abc.tmp", "s.json.backup"] {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        assert_eq!(super::remove_leftovers(&path).unwrap(), 1);
        assert!(!dir.path().join(".s.json.abc123.tmp").exists());
        assert!(dir.path().join(".other.json.abc.tmp").exists());
    }
}
