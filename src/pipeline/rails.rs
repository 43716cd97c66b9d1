//! The rails between a plan and the first request: a config that declares nothing would
//! delete its whole scope, and a plan over the deletion budget needs a human to name the
//! number.

use crate::config::Config;
use crate::error::Error;
use crate::plan::{Budget, BudgetCheck};

/// The empty-declaration rail: a file that declares nothing would delete its whole scope.
pub fn check_empty(config: &Config, in_scope: usize) -> Result<(), Error> {
    if config.desktops.is_empty() && in_scope > 0 && !config.guard.allow_empty {
        return Err(Error::refused(
            format!(
                "`{}` declares no desktop, so all {} in-scope desktops would be deleted",
                config.path.display(),
                in_scope
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

/// The budget rail: a plan of `to_delete` deletions out of `in_scope` desktops that exceeds
/// the budget is refused, unless `allowed` names its exact number of deletions. An `allowed`
/// that is not that number is refused whatever the budget says: it was given for another plan.
pub fn check_budget(
    config: &Config,
    to_delete: usize,
    in_scope: usize,
    allowed: Option<usize>,
) -> Result<(), Error> {
    if let Some(allowed) = allowed
        && allowed != to_delete
    {
        return Err(Error::refused(
            format!(
                "`--allow-deletions {allowed}` does not match this plan, which has {to_delete} deletion{}; nothing was sent",
                if to_delete == 1 { "" } else { "s" }
            ),
            format!(
                "review the plan, then pass `--allow-deletions {to_delete}` (the exact number), or leave the flag out for a plan within the budget"
            ),
        ));
    }
    match budget(config).check(to_delete, in_scope) {
        BudgetCheck::Exceeded {
            deletions, reasons, ..
        } if allowed != Some(deletions) => Err(Error::refused(
            format!(
                "this plan exceeds the deletion budget: {}",
                reasons.join("; ")
            ),
            format!(
                "review the plan, then pass `--allow-deletions {deletions}` (the exact number), or raise `[guard] max_deletions` / `max_delete_percent`"
            ),
        )),
        _ => Ok(()),
    }
}
