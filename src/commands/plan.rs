//! `deskprune plan`: read the inventory, decide, show the plan. Also the shared steps that
//! `apply` runs before it sends anything.

use std::collections::HashSet;
use std::io::Write;

use super::session::Session;
use crate::cli::{Global, PlanArgs};
use crate::config::Config;
use crate::document::PlanDocument;
use crate::error::{Error, exit};
use crate::inventory::{read_all, read_login_status};
use crate::output::Output;
use crate::plan::{Budget, BudgetCheck, Desired, Facts, Plan, plan};
use crate::state::{self, State};
use crate::workspace::ListFilter;

pub async fn run(global: &Global, args: &PlanArgs, output: &Output) -> Result<u8, Error> {
    let config = crate::config::load(&global.config)?;
    let state_path = state::state_path_for(&config.path, global.state.as_deref());
    let state = state::load(&state_path, &config.cloud.project_id)?;
    let session = Session::open(config, &state_path).await?;
    let planned = compute(&session, &state, output).await;
    let config = session.close()?;
    show(&config, &planned?, args, output)
}

/// The plan and when its facts were read.
pub struct Planned {
    pub plan: Plan,
    pub read_at: jiff::Timestamp,
}

/// Reads the inventory (and, for the candidates, who is logged in) and plans.
pub async fn compute(session: &Session, state: &State, output: &Output) -> Result<Planned, Error> {
    let config = &session.config;
    let client = &session.client;
    let concurrency = config.client.max_concurrency;
    let read_at = jiff::Timestamp::now();
    let desktops = read_all(client, &list_filter(config), concurrency, &|_, _| {}).await?;
    let pending = state.pending_desktops(read_at);
    let desired = Desired {
        scope: &config.scope,
        declarations: &config.desktops,
        protect_tag: &config.guard.protect_tag,
    };
    let no_one = HashSet::new();
    let first = plan(
        &desired,
        &Facts {
            inventory: &desktops,
            in_use: &no_one,
            pending: &pending,
        },
    );
    if !first.has_deletions() || config.guard.in_use_login_statuses.is_empty() {
        return Ok(Planned {
            plan: first,
            read_at,
        });
    }
    let statuses = read_login_status(client, &first.deletion_ids(), concurrency).await?;
    let in_use: HashSet<String> = statuses
        .into_iter()
        .filter(|(_, status)| {
            config
                .guard
                .in_use_login_statuses
                .iter()
                .any(|busy| busy.eq_ignore_ascii_case(status))
        })
        .map(|(id, _)| id)
        .collect();
    if !output.quiet && !in_use.is_empty() {
        tracing::info!(count = in_use.len(), "desktops in use are held back");
    }
    let plan = plan(
        &desired,
        &Facts {
            inventory: &desktops,
            in_use: &in_use,
            pending: &pending,
        },
    );
    Ok(Planned { plan, read_at })
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
        desktop_ids: Vec::new(),
    }
}

/// The empty-declaration rail: a file that declares nothing would delete its whole scope.
pub fn check_empty(config: &Config, plan: &Plan) -> Result<(), Error> {
    if config.desktops.is_empty() && plan.in_scope() > 0 && !config.guard.allow_empty {
        return Err(Error::refused(
            format!(
                "`{}` declares no desktop, so all {} in-scope desktops would be deleted",
                config.path.display(),
                plan.in_scope()
            ),
            "declare the desktops to keep with `[[desktop]]`, or set `[guard] allow_empty = true` if emptying the scope is intended",
        ));
    }
    Ok(())
}

pub fn budget(config: &Config) -> Budget {
    Budget {
        max_deletions: config.guard.max_deletions,
        max_percent: config.guard.max_delete_percent,
    }
}

fn show(config: &Config, planned: &Planned, args: &PlanArgs, output: &Output) -> Result<u8, Error> {
    let plan = &planned.plan;
    let document = PlanDocument::new(plan, config, planned.read_at);
    let mut stdout = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut stdout, &document).map_err(anyhow::Error::from)?;
        writeln!(stdout).map_err(anyhow::Error::from)?;
    } else {
        let kept = crate::document::docs(&plan.kept);
        crate::render::render_plan(&document, &kept, &output.stdout, &mut stdout)
            .map_err(anyhow::Error::from)?;
    }
    drop(stdout);
    check_empty(config, plan)?;
    if let BudgetCheck::Exceeded {
        deletions, reasons, ..
    } = budget(config).check(plan)
    {
        output.warning(&format!(
            "this plan exceeds the deletion budget: {}; `apply` will refuse it unless given `--allow-deletions {deletions}`",
            reasons.join("; ")
        ));
    }
    Ok(if args.detailed_exitcode && plan.has_deletions() {
        exit::CHANGES
    } else {
        exit::OK
    })
}
