//! The one reader of `format_version`, the field by which the versioned files deskprune writes
//! (the state file, a saved plan) say what shape they have: a file of another version is
//! refused by name before the rest of it is read, in the same words for both.

use std::fmt;
use std::path::Path;

/// Which versioned file, for messages and hints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Versioned {
    StateFile,
    SavedPlan,
}

impl fmt::Display for Versioned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Versioned::StateFile => "state file",
            Versioned::SavedPlan => "saved plan",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VersionError {
    #[error("`{path}` is not a {kind}: it has no `format_version`")]
    Missing { kind: Versioned, path: String },
    #[error(
        "the {kind} `{path}` has format_version {found}, but this deskprune reads version {reads}"
    )]
    Other {
        kind: Versioned,
        path: String,
        found: u64,
        reads: u32,
    },
}

impl VersionError {
    pub fn hint(&self) -> Option<String> {
        let kind = match self {
            VersionError::Other { found, reads, .. } if *found > u64::from(*reads) => {
                return Some(format!(
                    "a newer deskprune wrote it: use a deskprune that reads version {found}"
                ));
            }
            VersionError::Other { kind, .. } | VersionError::Missing { kind, .. } => kind,
        };
        Some(
            match kind {
                Versioned::StateFile => {
                    "pass `--state PATH` to name deskprune's state file, or move this file away"
                }
                Versioned::SavedPlan => "save a plan with `deskprune plan --out FILE`",
            }
            .to_string(),
        )
    }
}

/// Checks that the JSON document `bytes`, read from `path`, is of version `reads`. Only this
/// one field is read (the document may be large); whether the rest is valid is the caller's
/// to find out.
pub fn check(kind: Versioned, path: &Path, bytes: &[u8], reads: u32) -> Result<(), VersionError> {
    #[derive(serde::Deserialize)]
    struct Version {
        #[serde(default)]
        format_version: Option<serde_json::Value>,
    }
    let found = serde_json::from_slice::<Version>(bytes)
        .ok()
        .and_then(|version| version.format_version)
        .and_then(|version| version.as_u64());
    let path = path.display().to_string();
    match found {
        Some(found) if found == u64::from(reads) => Ok(()),
        Some(found) => Err(VersionError::Other {
            kind,
            path,
            found,
            reads,
        }),
        None => Err(VersionError::Missing { kind, path }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(bytes: &str) -> Result<(), VersionError> {
        check(
            Versioned::SavedPlan,
            Path::new("p.json"),
            bytes.as_bytes(),
            1,
        )
    }

    #[test]
    fn reads_only_the_version_and_names_what_it_found() {
        assert!(checked(r#"{"format_version": 1, "rest": [1, 2]}"#).is_ok());
        let newer = checked(r#"{"format_version": 9}"#).unwrap_err();
        assert_eq!(
            newer.to_string(),
            "the saved plan `p.json` has format_version 9, but this deskprune reads version 1"
        );
        assert!(newer.hint().unwrap().contains("reads version 9"));
        for missing in [r#"{"format_version": "1"}"#, "{}", "[]", "3"] {
            let err = checked(missing).unwrap_err();
            assert_eq!(
                err.to_string(),
                "`p.json` is not a saved plan: it has no `format_version`"
            );
            assert!(err.hint().unwrap().contains("deskprune plan --out FILE"));
        }
    }
}
