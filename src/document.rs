//! The plan as one versioned JSON document: what `plan --json` prints and what `plan --out`
//! saves. Its JSON Schema is `schema/plan.schema.json`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::{Config, Scope, Selector};
use crate::inventory::Desktop;
use crate::plan::{Plan, Warning};

pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanDocument {
    /// Version of this format.
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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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
}

impl From<Desktop> for DesktopDoc {
    fn from(desktop: Desktop) -> Self {
        DesktopDoc {
            desktop_id: desktop.id,
            computer_name: desktop.name,
            user_name: desktop.user,
            status: desktop.status,
            created: desktop.created,
        }
    }
}

impl DesktopDoc {
    pub fn as_ref(&self) -> DocRef<'_> {
        DocRef {
            desktop_id: &self.desktop_id,
            computer_name: &self.computer_name,
            user_name: &self.user_name,
            status: &self.status,
            created: &self.created,
        }
    }
}

/// A [`DesktopDoc`] borrowed, from one of its own or from [`PackedDocs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocRef<'a> {
    pub desktop_id: &'a str,
    pub computer_name: &'a str,
    pub user_name: &'a str,
    pub status: &'a str,
    pub created: &'a str,
}

impl DocRef<'_> {
    pub fn to_doc(self) -> DesktopDoc {
        DesktopDoc {
            desktop_id: self.desktop_id.to_string(),
            computer_name: self.computer_name.to_string(),
            user_name: self.user_name.to_string(),
            status: self.status.to_string(),
            created: self.created.to_string(),
        }
    }
}

/// Desktops with their text in one buffer: the kept desktops of a large plan (nine in ten of
/// the inventory) cost two allocations between them, not five each, and leave no holes.
///
/// They are sorted as they come ([`PackedDocs::sort_pushed`] after each page read), so that
/// sorting them all at the end ([`PackedDocs::sort_by`]) is little more than one merge.
#[derive(Debug, Clone, Default)]
pub struct PackedDocs {
    text: String,
    /// Each desktop's start in `text` and the ends of its five fields.
    bounds: Vec<[u32; 6]>,
    /// The lengths of the sorted runs `bounds` starts with, in order; each is longer than the
    /// next.
    runs: Vec<usize>,
}

impl PackedDocs {
    pub fn len(&self) -> usize {
        self.bounds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bounds.is_empty()
    }

    pub fn push(&mut self, desktop: &Desktop) {
        let fields = [
            &desktop.id,
            &desktop.name,
            &desktop.user,
            &desktop.status,
            &desktop.created,
        ];
        let mut bounds = [0; 6];
        bounds[0] = offset(self.text.len());
        for (field, end) in fields.into_iter().zip(&mut bounds[1..]) {
            self.text.push_str(field);
            *end = offset(self.text.len());
        }
        self.bounds.push(bounds);
    }

    /// The desktop at `index`, in the current order.
    pub fn get(&self, index: usize) -> DocRef<'_> {
        self.at(&self.bounds[index])
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = DocRef<'_>> + Clone {
        self.bounds.iter().map(|bounds| self.at(bounds))
    }

    /// Sorts by `order` the desktops pushed since the last call, and merges them into those
    /// sorted before the way a binary counter carries: a run merges into the one before it
    /// once it is as long. Each desktop so takes part in about log2(n / batch) merges, done a
    /// few at a time as batches come, while the pages of a read are on the wire. Every call
    /// must give the same total `order`.
    pub fn sort_pushed(&mut self, order: impl Fn(DocRef, DocRef) -> std::cmp::Ordering) {
        let PackedDocs { text, bounds, runs } = self;
        let sorted: usize = runs.iter().sum();
        if sorted == bounds.len() {
            return;
        }
        let order = |a: &[u32; 6], b: &[u32; 6]| order(at(text, a), at(text, b));
        bounds[sorted..].sort_unstable_by(order);
        runs.push(bounds.len() - sorted);
        while let [.., before, last] = runs[..]
            && before <= last
        {
            // Two sorted runs side by side: the stable sort finds them and merges them in one
            // pass.
            let start = bounds.len() - before - last;
            bounds[start..].sort_by(order);
            runs.pop();
            *runs.last_mut().expect("two runs were merged") += last;
        }
    }

    /// Sorts them all by `order` (the one given to [`PackedDocs::sort_pushed`], if it was
    /// called): what is left is merging the few runs already sorted.
    pub fn sort_by(&mut self, order: impl Fn(DocRef, DocRef) -> std::cmp::Ordering) {
        self.sort_pushed(&order);
        if self.runs.len() > 1 {
            let PackedDocs { text, bounds, runs } = self;
            bounds.sort_by(|a, b| order(at(text, a), at(text, b)));
            *runs = vec![bounds.len()];
        }
    }

    fn at(&self, bounds: &[u32; 6]) -> DocRef<'_> {
        at(&self.text, bounds)
    }
}

fn at<'a>(text: &'a str, bounds: &[u32; 6]) -> DocRef<'a> {
    let field = |n: usize| &text[bounds[n] as usize..bounds[n + 1] as usize];
    DocRef {
        desktop_id: field(0),
        computer_name: field(1),
        user_name: field(2),
        status: field(3),
        created: field(4),
    }
}

/// The same desktops in the same order, wherever their text sits in the buffer.
impl PartialEq for PackedDocs {
    fn eq(&self, other: &PackedDocs) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for PackedDocs {}

fn offset(len: usize) -> u32 {
    u32::try_from(len).expect("less than 4 GiB of desktop text")
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
    /// not part of the document (only their number is); they come back beside it, for the
    /// context lines of the human view.
    pub fn new(
        plan: Plan,
        config: &Config,
        created_at: jiff::Timestamp,
    ) -> (PlanDocument, PackedDocs) {
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
            deletions: plan.deletions,
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
                    }
                })
                .collect(),
            protected: plan.protected,
            in_use: plan.in_use,
            in_progress: plan.in_progress,
            login_unknown: plan.login_unknown,
            warnings: plan
                .warnings
                .iter()
                .map(|warning| warning_text(warning, config))
                .collect(),
            summary,
        };
        (document, plan.kept)
    }
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

/// Saves `document` to `path` atomically.
pub fn write(path: &Path, document: &PlanDocument) -> anyhow::Result<()> {
    let mut json = serde_json::to_vec_pretty(document).expect("a plan document serialises");
    json.push(b'\n');
    crate::atomic_file::write(path, &json)
        .with_context(|| format!("cannot write the plan to `{}`", path.display()))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn desktop(id: &str, name: &str, user: &str) -> Desktop {
        Desktop {
            id: id.into(),
            name: name.into(),
            user: user.into(),
            status: "ACTIVE".into(),
            task_status: String::new(),
            created: format!("created-{id}"),
            enterprise_project_id: String::new(),
            tags: Vec::new(),
        }
    }

    #[test]
    fn packed_docs_read_back_what_was_pushed_in_any_order() {
        let mut packed = PackedDocs::default();
        let desktops = [
            desktop("b", "Zoë", ""),
            desktop("a", "", "alice"),
            desktop("c", "eng-1", "bob"),
        ];
        for desktop in &desktops {
            packed.push(desktop);
        }
        let docs: Vec<DesktopDoc> = packed.iter().map(DocRef::to_doc).collect();
        let expected: Vec<DesktopDoc> = desktops.iter().cloned().map(DesktopDoc::from).collect();
        assert_eq!(docs, expected);
        packed.sort_by(|a, b| a.desktop_id.cmp(b.desktop_id));
        let ids: Vec<&str> = packed.iter().map(|doc| doc.desktop_id).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert_eq!(packed.iter().nth(1).unwrap().computer_name, "Zoë");

        let mut other = PackedDocs::default();
        for desktop in [&desktops[1], &desktops[0], &desktops[2]] {
            other.push(desktop);
        }
        assert_eq!(packed, other, "equal by content and order, not by buffer");
        assert_eq!(packed.len(), 3);
    }

    #[test]
    fn packed_docs_sorted_batch_by_batch_end_sorted_whole() {
        let by_id = |a: DocRef, b: DocRef| a.desktop_id.cmp(b.desktop_id);
        // 1,000 IDs in a scrambled order, pushed in batches of 1 to 40.
        let ids: Vec<String> = (0..1000u32)
            .map(|i| format!("{:04}", (i * 7919) % 1000))
            .collect();
        let mut packed = PackedDocs::default();
        let mut pushed = 0;
        for batch in (1..).map(|n| n % 40 + 1) {
            if pushed == ids.len() {
                break;
            }
            let end = (pushed + batch).min(ids.len());
            for id in &ids[pushed..end] {
                packed.push(&desktop(id, "", ""));
            }
            pushed = end;
            packed.sort_pushed(by_id);
            assert_eq!(packed.runs.iter().sum::<usize>(), pushed);
            assert!(
                packed.runs.windows(2).all(|pair| pair[0] > pair[1]),
                "each run is longer than the next: {:?}",
                packed.runs
            );
            let mut start = 0;
            for &run in &packed.runs {
                let sorted: Vec<&str> = (start..start + run)
                    .map(|index| packed.get(index).desktop_id)
                    .collect();
                assert!(sorted.is_sorted(), "run at {start} is sorted");
                start += run;
            }
        }
        assert!(
            packed.runs.len() > 1,
            "the test ends with runs left to merge"
        );
        packed.sort_by(by_id);
        let sorted: Vec<&str> = packed.iter().map(|doc| doc.desktop_id).collect();
        let mut expected: Vec<&str> = ids.iter().map(String::as_str).collect();
        expected.sort_unstable();
        assert_eq!(sorted, expected);
        assert_eq!(packed.runs, [1000]);
    }
}
