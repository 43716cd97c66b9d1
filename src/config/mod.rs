//! The config file: TOML in, validated desired state out. Every rejection points at
//! `file:line:col`. `raw` holds the serde shapes (and the JSON Schema), `load` turns them into
//! the types below.

mod declarations;
mod diagnostic;
mod edit;
mod load;
mod raw;
mod regions;
#[cfg(test)]
mod tests;
mod values;

pub use declarations::Declarations;
pub use diagnostic::ConfigError;
pub use edit::{IdLine, add_declarations};
pub use load::{load, parse, read};
pub use raw::schema;
pub use regions::unknown_region_warning;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// A validated config: everything here has been checked, nothing needs checking again.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file it came from, as the user named it.
    pub path: PathBuf,
    /// Hex SHA-256 of the file's bytes, and of the list files it names: a saved plan names
    /// the config it was made from.
    pub digest: String,
    /// The list files (`[desktops] names_file`, `ids_file`) read, resolved against the
    /// config's folder.
    pub list_files: Vec<PathBuf>,
    pub cloud: Cloud,
    pub scope: Scope,
    pub delete: DeleteOptions,
    pub guard: Guard,
    pub client: ClientSettings,
    /// Where the state lives (`[state]`).
    pub state: StateSettings,
    pub desktops: Declarations,
    /// How many desktops were declared as `[[desktop]]` tables (rather than in the
    /// `[desktops]` lists), for [`Config::warnings`].
    pub desktop_tables: usize,
}

/// From this many `[[desktop]]` tables on, the `[desktops]` lists are suggested instead.
const MANY_DESKTOP_TABLES: usize = 1000;

impl Config {
    /// What is allowed but probably wrong, in words.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings: Vec<String> = match self.cloud.target {
            Target::Cloud => unknown_region_warning(&self.cloud.region)
                .into_iter()
                .collect(),
            // The region does not pick the address: only the confirmation prompt uses it.
            Target::Endpoint(_) | Target::Simulator(_) => Vec::new(),
        };
        if self.desktop_tables > MANY_DESKTOP_TABLES {
            warnings.push(format!(
                "`{}` declares {} `[[desktop]]` tables: for this many, the `[desktops] names = [...]` and `ids = [...]` lists are smaller and faster to read",
                self.path.display(),
                self.desktop_tables
            ));
        }
        warnings
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cloud {
    pub region: String,
    /// 32 lower-case hex digits.
    pub project_id: String,
    pub target: Target,
}

/// Where the API calls go.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// `https://workspace.{region}.myhuaweicloud.com`.
    Cloud,
    /// `[cloud] endpoint`: https anywhere, plain http only to a loopback address.
    Endpoint(String),
    /// `[cloud] simulator`: the built-in simulator seeded from this inventory file (resolved
    /// against the config file's folder).
    Simulator(PathBuf),
}

/// Which desktops the file manages. Every criterion given must match; `all` is only ever true
/// on its own.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scope {
    pub all: bool,
    pub enterprise_project_id: Option<String>,
    /// Every pair must be on the desktop (key and value compared exactly).
    pub tags: BTreeMap<String, String>,
    /// On `computer_name`, compared case-insensitively (Windows names are).
    pub name_prefix: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeleteOptions {
    pub delete_users: bool,
    pub email_notification: bool,
    pub force: bool,
    /// 1..=100.
    pub batch_size: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Guard {
    /// A desktop carrying this tag (any value but `false`) is never deleted.
    pub protect_tag: String,
    pub max_deletions: usize,
    /// Percent of the in-scope desktops, 0..=100.
    pub max_delete_percent: f64,
    pub allow_empty: bool,
    /// Desktops whose `login_status` is one of these (upper-case) are skipped as in use.
    pub in_use_login_statuses: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClientSettings {
    pub max_retries: u32,
    /// Per request.
    pub timeout: Duration,
    pub max_concurrency: usize,
    /// A ceiling on the adaptive rate, in calls a second; `None`: no ceiling.
    pub requests_per_second: Option<f64>,
}

/// Where the state lives.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StateSettings {
    /// The state file beside the config (or `--state`).
    #[default]
    Local,
    /// An object in an S3-compatible bucket.
    S3(S3State),
}

/// `[state] backend = "s3"`: where the state object is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3State {
    pub bucket: String,
    pub key: String,
    /// `scheme://host[:port]`; plain `http` only to loopback.
    pub endpoint: String,
    pub region: String,
    pub lease: Duration,
}

/// A `[[desktop]]` entry: a desktop that should exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declaration {
    pub selector: Selector,
    /// 1-based line of the entry in the config file, for messages.
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Selector {
    /// `computer_name`, matched case-insensitively.
    Name(String),
    Id(String),
}

impl std::fmt::Display for Selector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Selector::Name(name) => write!(f, "name `{name}`"),
            Selector::Id(id) => write!(f, "id `{id}`"),
        }
    }
}

#[cfg(test)]
mod proptests;
