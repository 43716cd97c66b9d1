//! Reading a file deskprune was pointed at (config, state, saved plan) without trusting it to
//! be small or even a file: `-c /dev/zero` would grow without end, and a FIFO would block
//! forever. Only regular files are read, and only up to a limit that says what a file of
//! that kind can reasonably hold.

use std::io::Read;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum InputFileError {
    #[error("{what} `{path}` is not a regular file")]
    NotAFile { what: &'static str, path: PathBuf },
    #[error("{what} `{path}` is larger than {limit_mib} MiB")]
    TooLarge {
        what: &'static str,
        path: PathBuf,
        limit_mib: u64,
    },
    #[error("cannot read {what} `{path}`: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl InputFileError {
    /// Whether the file does not exist (a state file not written yet, say).
    pub fn is_not_found(&self) -> bool {
        matches!(self, InputFileError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

/// The bytes of the regular file at `path` (a link is followed to one), refusing anything else
/// and any file of more than `limit` bytes. `what` names the file in errors: `config file`.
pub fn read(path: &Path, what: &'static str, limit: u64) -> Result<Vec<u8>, InputFileError> {
    let io = |source| InputFileError::Io {
        what,
        path: path.to_path_buf(),
        source,
    };
    let not_a_file = || InputFileError::NotAFile {
        what,
        path: path.to_path_buf(),
    };
    // Checked before opening: opening a FIFO for reading blocks until someone writes to it.
    if !std::fs::metadata(path).map_err(io)?.is_file() {
        return Err(not_a_file());
    }
    let file = std::fs::File::open(path).map_err(io)?;
    // And again on what was opened, should the path have been swapped in between.
    if !file.metadata().map_err(io)?.is_file() {
        return Err(not_a_file());
    }
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(InputFileError::TooLarge {
            what,
            path: path.to_path_buf(),
            limit_mib: limit >> 20,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_regular_files_within_the_limit_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![b'x'; 3 << 20]).unwrap();
        assert_eq!(read(&path, "config file", 4 << 20).unwrap().len(), 3 << 20);
        let err = read(&path, "config file", 2 << 20).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("config file `{}` is larger than 2 MiB", path.display())
        );
        let err = read(dir.path(), "config file", 1 << 20).unwrap_err();
        assert!(matches!(err, InputFileError::NotAFile { .. }), "{err}");
        let missing = read(&dir.path().join("nope"), "state file", 1 << 20).unwrap_err();
        assert!(missing.is_not_found(), "{missing}");
    }

    #[cfg(unix)]
    #[test]
    fn refuses_devices_without_reading_them() {
        let err = read(Path::new("/dev/zero"), "config file", 1 << 20).unwrap_err();
        assert!(matches!(err, InputFileError::NotAFile { .. }), "{err}");
    }
}
