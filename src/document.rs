//! The plan as one versioned JSON document: what `plan --json` prints and what `plan --out`
//! saves. Its JSON Schema is `schema/plan.schema.json`.

use std::collections::BTreeMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::{Config, Scope, Selector};
use crate::model::{Entry, EntryRef, Kept};
use crate::plan::{Budget, BudgetCheck, Plan, Warning};

pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanDocument {
    /// Version of this format: 1. Within a version fields are only added, each optional (a
    /// reader takes its absence as its default); a reader refuses any other version.
    #[schemars(range(min = 1, max = 1))]
    pub format_version: u32,
    /// The deskprune that made the plan.
    pub deskprune_version: String,
    /// When the inventory was read (RFC 3339).
    pub created_at: String,
    pub region: String,
    pub project_id: String,
    pub config: ConfigRef,
    pub scope: ScopeDoc,
    /// Desktops apply will delete, sorted by name then ID.
    pub deletions: Vec<DesktopDoc>,
    /// Declarations that match no desktop (never created).
    pub missing: Vec<MissingDoc>,
    /// In scope, undeclared, carrying the protection tag.
    pub protected: Vec<DesktopDoc>,
    /// In scope, undeclared, someone logged in.
    pub in_use: Vec<DesktopDoc>,
    /// In scope, already being deleted.
    pub in_progress: Vec<DesktopDoc>,
    /// In scope, undeclared, held back: no answer said for certain that nobody is logged in.
    #[serde(default)]
    pub login_unknown: Vec<DesktopDoc>,
    pub warnings: Vec<String>,
    pub summary: Summary,
}

/// The config a plan was made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigRef {
    pub path: String,
    /// Hex SHA-256 of the config file.
    pub digest: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeDoc {
    pub all: bool,
    pub enterprise_project_id: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub name_prefix: Option<String>,
}

/// A desktop in a plan: also its fingerprint, compared again before a saved plan is applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DesktopDoc {
    pub desktop_id: String,
    pub computer_name: String,
    pub user_name: String,
    pub status: String,
    pub created: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MissingDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Line of the declaration in the config file.
    pub line: usize,
    /// The declared desktop exists, outside the scope (which the list's filter kept out of
    /// the inventory): it is never touched, but the declaration probably means another one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub outside_scope: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub to_delete: usize,
    pub missing: usize,
    pub protected: usize,
    pub in_use: usize,
    pub in_progress: usize,
    /// Held back: login state unknown.
    #[serde(default)]
    pub login_unknown: usize,
    pub kept: usize,
    pub in_scope: usize,
    /// Desktops read, in scope or not.
    pub total: usize,
    /// The deletion budget and this plan's verdict, as `apply` checks it. Absent in plans
    /// saved by deskprune versions before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<BudgetDoc>,
}

/// The deletion budget (`[guard]`) and whether this plan is within it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetDoc {
    pub max_deletions: usize,
    pub max_delete_percent: f64,
    /// Whether `apply` refuses this plan unless given `--allow-deletions` with its exact
    /// number of deletions (`allow_deletions`).
    pub exceeded: bool,
    /// Each limit the plan passes, in words; empty when within the budget.
    pub reasons: Vec<String>,
    /// The `--allow-deletions N` that `apply` needs; present only when `exceeded`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_deletions: Option<usize>,
}

impl BudgetDoc {
    /// `budget`'s verdict on `deletions` out of `in_scope` desktops.
    pub fn new(budget: Budget, deletions: usize, in_scope: usize) -> BudgetDoc {
        let (exceeded, reasons) = match budget.check(deletions, in_scope) {
            BudgetCheck::Within => (false, Vec::new()),
            BudgetCheck::Exceeded { reasons, .. } => (true, reasons),
        };
        BudgetDoc {
            max_deletions: budget.max_deletions,
            max_delete_percent: budget.max_percent,
            exceeded,
            reasons,
            allow_deletions: exceeded.then_some(deletions),
        }
    }
}

/// The document's shape of `entry`, which it takes apart (nothing is copied).
impl From<Entry> for DesktopDoc {
    fn from(entry: Entry) -> Self {
        let Entry {
            desktop_id,
            computer_name,
            user_name,
            status,
            created,
        } = entry;
        DesktopDoc {
            desktop_id,
            computer_name,
            user_name,
            status,
            created,
        }
    }
}

impl DesktopDoc {
    pub fn as_ref(&self) -> EntryRef<'_> {
        EntryRef {
            desktop_id: &self.desktop_id,
            computer_name: &self.computer_name,
            user_name: &self.user_name,
            status: &self.status,
            created: &self.created,
        }
    }

    /// The entry a plan would list (for rechecking a saved plan).
    pub fn to_entry(&self) -> Entry {
        self.as_ref().to_entry()
    }
}

impl From<&Scope> for ScopeDoc {
    fn from(scope: &Scope) -> Self {
        ScopeDoc {
            all: scope.all,
            enterprise_project_id: scope.enterprise_project_id.clone(),
            tags: scope.tags.clone(),
            name_prefix: scope.name_prefix.clone(),
        }
    }
}

impl PlanDocument {
    /// The document of `plan`, which it takes apart (nothing is copied). The kept desktops are
    /// not part of the document (only their number is); they come back beside it, in plan
    /// order, for the context lines of the human view.
    pub fn new(
        plan: Plan,
        config: &Config,
        created_at: jiff::Timestamp,
    ) -> (PlanDocument, Vec<Kept>) {
        let summary = Summary {
            to_delete: plan.deletions.len(),
            missing: plan.missing.len(),
            protected: plan.protected.len(),
            in_use: plan.in_use.len(),
            in_progress: plan.in_progress.len(),
            login_unknown: plan.login_unknown.len(),
            kept: plan.kept.len(),
            in_scope: plan.in_scope(),
            total: plan.total,
            budget: Some(BudgetDoc::new(
                Budget {
                    max_deletions: config.guard.max_deletions,
                    max_percent: config.guard.max_delete_percent,
                },
                plan.deletions.len(),
                plan.in_scope(),
            )),
        };
        let document = PlanDocument {
            format_version: FORMAT_VERSION,
            deskprune_version: env!("CARGO_PKG_VERSION").to_string(),
            created_at: created_at.to_string(),
            region: config.cloud.region.clone(),
            project_id: config.cloud.project_id.clone(),
            config: ConfigRef {
                path: config.path.display().to_string(),
                digest: config.digest.clone(),
            },
            scope: ScopeDoc::from(&config.scope),
            deletions: docs(plan.deletions),
            missing: plan
                .missing
                .iter()
                .map(|declaration| {
                    let (name, id) = match &declaration.selector {
                        Selector::Name(name) => (Some(name.clone()), None),
                        Selector::Id(id) => (None, Some(id.clone())),
                    };
                    MissingDoc {
                        name,
                        id,
                        line: declaration.line,
                        outside_scope: false,
                    }
                })
                .collect(),
            protected: docs(plan.protected),
            in_use: docs(plan.in_use),
            in_progress: docs(plan.in_progress),
            login_unknown: docs(plan.login_unknown),
            // The config's warnings too: a review of the plan alone must see every one.
            warnings: config
                .warnings()
                .into_iter()
                .chain(
                    plan.warnings
                        .iter()
                        .map(|warning| warning_text(warning, config)),
                )
                .collect(),
            summary,
        };
        (document, plan.kept)
    }
}

fn docs(entries: Vec<Entry>) -> Vec<DesktopDoc> {
    entries.into_iter().map(DesktopDoc::from).collect()
}

/// The most a saved plan may hold: one of 100,000 desktops, every one deleted, with long names
/// and as many declarations missing, is some 42 MiB of JSON (with short names, 20 MiB). Three
/// times that leaves room, and keeps `apply /dev/zero` from filling memory.
pub const MAX_SAVED_PLAN_BYTES: u64 = 128 << 20;

/// A saved plan that cannot be read, with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    #[error(transparent)]
    Unreadable(#[from] crate::input_file::InputFileError),
    #[error("`{path}` is not a saved plan: it is not JSON")]
    NotJson { path: String },
    #[error(transparent)]
    Version(#[from] crate::format_version::VersionError),
    #[error("the saved plan `{path}` is malformed: {error}")]
    Malformed {
        path: String,
        error: serde_json::Error,
    },
}

impl SavedPlanError {
    pub fn hint(&self) -> Option<String> {
        match self {
            SavedPlanError::Version(err) => err.hint(),
            _ => Some("save a plan with `deskprune plan --out FILE`".to_string()),
        }
    }
}

/// Reads a plan saved with `plan --out`.
pub fn read(path: &Path) -> Result<PlanDocument, SavedPlanError> {
    use crate::format_version::{Versioned, check};
    let bytes = crate::input_file::read(path, "saved plan", MAX_SAVED_PLAN_BYTES)?;
    let shown = || path.display().to_string();
    serde_json::from_slice::<serde::de::IgnoredAny>(&bytes)
        .map_err(|_| SavedPlanError::NotJson { path: shown() })?;
    check(Versioned::SavedPlan, path, &bytes, FORMAT_VERSION)?;
    serde_json::from_slice(&bytes).map_err(|error| SavedPlanError::Malformed {
        path: shown(),
        error,
    })
}

/// Saves `document` to `path` atomically. A failure names `path` as the user gave it, never
/// the temporary file beside it.
pub fn write(path: &Path, document: &PlanDocument) -> anyhow::Result<()> {
    let shown = path.display();
    let folder = path
        .parent()
        .filter(|folder| !folder.as_os_str().is_empty());
    if let Some(folder) = folder
        && !folder.is_dir()
    {
        anyhow::bail!(
            "cannot write the plan to `{shown}`: the folder `{}` does not exist; create it first, or choose another path",
            folder.display()
        );
    }
    let mut json = serde_json::to_vec_pretty(document).expect("a plan document serialises");
    json.push(b'\n');
    crate::atomic_file::write(path, &json).map_err(|err| {
        // The error of the temporary file names its path; its kind is what the user needs.
        anyhow::anyhow!("cannot write the plan to `{shown}`: {}", err.kind())
    })
}

/// A warning in words, naming the config line it is about.
pub fn warning_text(warning: &Warning, config: &Config) -> String {
    let at = |line: &usize| format!("{}:{line}", config.path.display());
    match warning {
        Warning::AmbiguousName { name, line, count } => format!(
            "name `{name}` ({}) matches {count} desktops; all of them are kept",
            at(line)
        ),
        Warning::DeclaredOutOfScope { selector, line } => format!(
            "{selector} ({}) matches a desktop outside the scope; it is never touched, but check the declaration",
            at(line)
        ),
        Warning::DeclaredButDeleting { selector, line } => format!(
            "{selector} ({}) is declared but already being deleted by someone else",
            at(line)
        ),
    }
}

/// The JSON Schema of the plan document (draft-07).
pub fn schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    serde_json::to_value(generator.into_root_schema_for::<PlanDocument>())
        .expect("a schema always serialises")
}
