//! Writing a file so that readers (and a crash) see either the old or the new content, never a
//! mix: a temporary file in the same folder, flushed to disk, renamed over the old one, then
//! the folder flushed so the rename itself survives a power cut. A writer killed half-way
//! leaves a `.<name>.*.tmp` file, which [`remove_leftovers`] clears.
//!
//! [`write`] replaces the entry at its path: a symbolic link there is replaced, never followed
//! (a planted link would otherwise have any file its target names overwritten). A caller that
//! means to write through a link (the state file kept on persistent storage) passes
//! [`resolve`]'s answer: the temporary file then goes beside the target (a rename cannot cross
//! file systems), and [`remove_leftovers`] must be given the same path.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

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

/// The file `path` names: the target of a symbolic link, through any chain of links (a
/// relative one read from the link's folder), or `path` itself; a link to nothing names the
/// file it would create. Only the last component is resolved: a folder on the way is the same
/// folder however it is reached.
pub fn resolve(path: &Path) -> std::io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    // As many links as the kernel follows before it gives up (ELOOP).
    for _ in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = std::fs::read_link(&current)?;
                current = dir_of(&current).join(target);
            }
            Ok(_) => return Ok(current),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(current),
            Err(err) => return Err(err),
        }
    }
    Err(std::io::Error::other(format!(
        "`{}`: too many levels of symbolic links",
        path.display()
    )))
}

/// Replaces the entry at `path` with a file holding `bytes`.
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

    #[cfg(unix)]
    #[test]
    fn a_link_is_replaced_unless_resolved_first() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let storage = dir.path().join("storage");
        std::fs::create_dir(&storage).unwrap();
        let link = dir.path().join("s.json");
        let hop = dir.path().join("hop.json");
        // A chain of two links, relative and absolute, to a file not written yet.
        symlink("hop.json", &link).unwrap();
        symlink(storage.join("s.json"), &hop).unwrap();
        let target = super::resolve(&link).unwrap();
        assert_eq!(target, storage.join("s.json"));
        super::write(&target, b"first").unwrap();
        super::write(&target, b"second").unwrap();
        assert!(link.is_symlink() && hop.is_symlink());
        assert_eq!(std::fs::read(&link).unwrap(), b"second");
        assert_eq!(std::fs::read_dir(&storage).unwrap().count(), 1);

        std::fs::write(storage.join(".s.json.abc.tmp"), "x").unwrap();
        assert_eq!(super::remove_leftovers(&target).unwrap(), 1);

        // Unresolved, the link itself is replaced and its target left alone.
        super::write(&hop, b"third").unwrap();
        assert!(!hop.is_symlink());
        assert_eq!(std::fs::read(&target).unwrap(), b"second");
    }

    #[cfg(unix)]
    #[test]
    fn a_loop_of_links_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        std::os::unix::fs::symlink("b", &a).unwrap();
        std::os::unix::fs::symlink("a", dir.path().join("b")).unwrap();
        let err = super::resolve(&a).unwrap_err();
        assert!(err.to_string().contains("too many levels"), "{err}");
    }
}
