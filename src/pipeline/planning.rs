//! The plan of a session's inventory: read page by page into the planner, who is logged in
//! to its deletions asked while the rest is still read, and the desktops in use, or of unknown
//! login state, held back.

use std::collections::{HashMap, HashSet};

use tokio::task::JoinSet;

use super::Session;
use crate::config::{Config, Selector};
use crate::error::Error;
use crate::inventory::{read_all, read_login_status};
use crate::model::{Desktop, Login};
use crate::plan::{Adopted, Adoption, Desired, NearMiss, Plan, Planner};
use crate::progress::Progress;
use crate::state::State;
use crate::text::printable;
use crate::workspace::wire::MAX_IDS_PER_CALL;
use crate::workspace::{ApiError, ListFilter};

/// The plan and when its facts were read.
pub struct Planned {
    pub plan: Plan,
    pub read_at: jiff::Timestamp,
}

/// Reads the inventory into the planner page by page, asking who is logged in to the desktops
/// it would delete while the rest is still being read.
pub async fn plan_inventory(
    session: &Session,
    state: &State,
    progress: &Progress,
) -> Result<Planned, Error> {
    let config = &session.config;
    let read_at = jiff::Timestamp::now();
    let pending = state.pending_desktops(read_at);
    let planning = read_all(
        &session.client,
        &list_filter(config),
        config.client.max_concurrency,
        &|read, total| progress.reading(read, total),
        || Planning::new(session, &pending),
    )
    .await;
    progress.clear();
    // Who is logged in to the last deletions is still being asked: a count, not a blank screen.
    let plan = planning?
        .finish(&|checked, total| progress.checking(checked, total))
        .await;
    progress.clear();
    Ok(Planned {
        plan: plan?,
        read_at,
    })
}

/// Reads the inventory into an [`Adoption`]: the in-scope desktops `deskprune import` would
/// declare. No login state is asked: every desktop that exists is declared, in use or not;
/// those of `state`'s unfinished jobs are going away and are not.
pub async fn adopt_inventory(
    session: &Session,
    state: &State,
    progress: &Progress,
) -> Result<Adopted, Error> {
    let config = &session.config;
    let pending = state.pending_desktops(jiff::Timestamp::now());
    let adoption = read_all(
        &session.client,
        &list_filter(config),
        config.client.max_concurrency,
        &|read, total| progress.reading(read, total),
        || {
            Adoption::new(
                Desired {
                    scope: &config.scope,
                    declarations: &config.desktops,
                    protect_tag: &config.guard.protect_tag,
                },
                &pending,
            )
        },
    )
    .await;
    progress.clear();
    Ok(adoption?.finish())
}

/// Plans over `desktops` (a saved plan's, read again), holding back those in use.
pub async fn plan_desktops(
    session: &Session,
    desktops: Vec<Desktop>,
    state: &State,
    read_at: jiff::Timestamp,
) -> Result<Planned, Error> {
    let pending = state.pending_desktops(read_at);
    let mut planning = Planning::new(session, &pending);
    planning.whole = false;
    planning.extend(desktops);
    let plan = planning.finish(&|_, _| {}).await?;
    Ok(Planned { plan, read_at })
}

/// The planner, fed desktop by desktop, and the in-use guard's reads: as soon as 100 desktops
/// to delete are known, who is logged in to them is asked in a call of its own, in flight
/// while the rest of the inventory is read. Dropped, it stops the reads it started.
struct Planning<'a> {
    planner: Planner<'a>,
    session: &'a Session,
    /// Whether the planner is fed the whole inventory in scope, or some desktops only (a
    /// saved plan's): only a whole one tells a declared ID that matches nothing.
    whole: bool,
    /// How many of the planner's deletions have been asked about.
    asked: usize,
    reads: JoinSet<Result<Vec<(String, Login)>, ApiError>>,
}

impl<'a> Planning<'a> {
    fn new(session: &'a Session, pending: &'a HashSet<String>) -> Planning<'a> {
        let config = &session.config;
        Planning {
            planner: Planner::new(
                Desired {
                    scope: &config.scope,
                    declarations: &config.desktops,
                    protect_tag: &config.guard.protect_tag,
                },
                pending,
            ),
            session,
            whole: true,
            asked: 0,
            reads: JoinSet::new(),
        }
    }

    /// Asks about each full 100 deletions not asked about yet; with `rest`, also the last few.
    fn ask(&mut self, rest: bool) {
        if self.session.config.guard.in_use_login_statuses.is_empty() {
            return;
        }
        let unasked = &self.planner.deletions()[self.asked..];
        for chunk in unasked.chunks(MAX_IDS_PER_CALL) {
            if chunk.len() < MAX_IDS_PER_CALL && !rest {
                break;
            }
            let ids = chunk.iter().map(|entry| entry.desktop_id.clone()).collect();
            let client = self.session.client.clone();
            let busy = self.session.config.guard.in_use_login_statuses.clone();
            self.reads
                .spawn(async move { read_login_status(&client, ids, &busy).await });
            self.asked += chunk.len();
        }
    }

    /// The plan, once every answer about who is logged in is in, with the desktops someone is
    /// logged in to, and those whose login state is not known for certain, held back.
    /// `on_checked(answered, asked)` follows the answers still awaited.
    async fn finish(mut self, on_checked: &(dyn Fn(usize, usize) + Sync)) -> Result<Plan, Error> {
        self.ask(true);
        // Sorted while the last answers travel.
        let config = &self.session.config;
        let mut plan = match self.whole {
            true => self
                .planner
                .finish()
                .map_err(|near_misses| typo_error(config, &near_misses))?,
            false => self.planner.finish_some(),
        };
        if config.guard.in_use_login_statuses.is_empty() {
            // The guard is switched off: nothing was asked.
            return Ok(plan);
        }
        let mut login = HashMap::with_capacity(plan.deletions.len());
        // Every read is joined here, so all the desktops asked about are still to count; a
        // read answers for every ID it asked about.
        let mut checked = 0;
        on_checked(checked, self.asked);
        while let Some(states) = self.reads.join_next().await {
            let states = states.expect("a login-status read never panics")?;
            checked += states.len();
            login.extend(states);
            on_checked(checked, self.asked);
        }
        plan.hold_by_login(&login);
        if !plan.in_use.is_empty() {
            tracing::info!(count = plan.in_use.len(), "desktops in use are held back");
        }
        if !plan.login_unknown.is_empty() {
            tracing::info!(
                count = plan.login_unknown.len(),
                "desktops whose login state is unknown are held back"
            );
        }
        Ok(plan)
    }
}

/// The refusal of a plan in which a declared ID that matches nothing is a typo of a desktop
/// the plan would delete.
fn typo_error(config: &Config, near_misses: &[NearMiss]) -> Error {
    /// Pairs named at most; the rest are counted.
    const SHOWN: usize = 10;
    let pair = |miss: &NearMiss, link: &str| {
        let (Selector::Id(declared) | Selector::Name(declared)) = &miss.declaration.selector;
        format!(
            "`{}` ({}:{}) {link} `{}` (`{}`)",
            printable(declared),
            config.path.display(),
            miss.declaration.line,
            printable(&miss.desktop.desktop_id),
            printable(&miss.desktop.computer_name),
        )
    };
    let message = match near_misses {
        [miss] => format!(
            "declared `id` {}, which this plan would delete; nothing was planned or sent",
            pair(miss, "matches no desktop but is a typo away from")
        ),
        _ => {
            let mut pairs: Vec<String> = near_misses
                .iter()
                .take(SHOWN)
                .map(|miss| pair(miss, "looks like"))
                .collect();
            if near_misses.len() > SHOWN {
                pairs.push(format!("and {} more", near_misses.len() - SHOWN));
            }
            format!(
                "declared IDs match no desktop but are a typo away from desktops this plan would delete: {}; nothing was planned or sent",
                pairs.join("; ")
            )
        }
    };
    Error::refused(
        message,
        "correct the `id` in the config (copy it from `deskprune plan --json`), or remove the declaration if that desktop is meant to be deleted",
    )
}

impl Extend<Desktop> for Planning<'_> {
    fn extend<I: IntoIterator<Item = Desktop>>(&mut self, desktops: I) {
        self.planner.extend(desktops);
        self.ask(false);
    }
}

/// The list filters that keep out-of-scope desktops off the wire. The planner still checks
/// every desktop against the whole scope: the service's filter semantics are not confirmed.
fn list_filter(config: &Config) -> ListFilter {
    if config.scope.all {
        return ListFilter::default();
    }
    ListFilter {
        enterprise_project_id: config.scope.enterprise_project_id.clone(),
        tags: config
            .scope
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        ..ListFilter::default()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// 250 desktops to delete: who is logged in is asked in three reads (100, 100, 50), each
    /// counted when it answers, so the progress line moves instead of a blank screen.
    #[tokio::test]
    async fn the_in_use_reads_are_counted_as_they_answer() {
        let dir = tempfile::tempdir().unwrap();
        let desktops: Vec<serde_json::Value> = (0..250)
            .map(|i| {
                serde_json::json!({
                    "desktop_id": format!("00000000-0000-4000-8000-{i:012}"),
                    "computer_name": format!("eng-{i:04}"),
                    "created": "2025-01-01 00:00:00",
                    "user_name": format!("user{i}"),
                    "enterprise_project_id": "0",
                    "tags": [],
                    "status": "ACTIVE",
                    "task_status": "",
                })
            })
            .collect();
        std::fs::write(
            dir.path().join("inventory.json"),
            serde_json::to_vec(&desktops).unwrap(),
        )
        .unwrap();
        let text = "[cloud]\nregion = \"cn-north-4\"\nproject_id = \"0b6a4c2d9e8f41a7b3c5d6e7f8091a2b\"\nsimulator = \"inventory.json\"\n\n[scope]\nall = true\n";
        let config = crate::config::parse(&dir.path().join("deskprune.toml"), text).unwrap();
        let session = Session::open(config, &dir.path().join("state.json"))
            .await
            .unwrap();
        let pending = HashSet::new();
        let mut planning = Planning::new(&session, &pending);
        planning.extend(desktops.iter().map(|d| Desktop {
            id: d["desktop_id"].as_str().unwrap().into(),
            name: d["computer_name"].as_str().unwrap().into(),
            user: String::new(),
            status: "ACTIVE".into(),
            task_status: String::new(),
            created: String::new(),
            enterprise_project_id: "0".into(),
            tags: Vec::new(),
        }));
        let seen = Mutex::new(Vec::new());
        let plan = planning
            .finish(&|checked, total| seen.lock().unwrap().push((checked, total)))
            .await
            .unwrap();
        assert_eq!(plan.deletions.len(), 250);
        let mut seen = seen.into_inner().unwrap();
        seen.sort_unstable();
        let counts: Vec<usize> = seen.iter().map(|(checked, _)| *checked).collect();
        assert_eq!(seen.len(), 4, "{seen:?}");
        assert!(seen.iter().all(|(_, total)| *total == 250), "{seen:?}");
        assert_eq!((counts[0], counts[3]), (0, 250), "{seen:?}");
    }
}
