//! The inventory file: the desktops a simulator starts with, each shaped like the list call's
//! `SimpleDesktopInfo` plus the few things only the detail list or the simulator itself needs.

use std::collections::HashSet;
use std::path::Path;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::workspace::wire::SimpleDesktopInfo;

/// `login_status` served by the detail list when the inventory gives none.
pub(super) const DEFAULT_LOGIN_STATUS: &str = "REGISTERED";

/// One desktop of the inventory file: a JSON object shaped like `SimpleDesktopInfo` (served as
/// is by the list call), plus optionally `login_status` and a simulator-only `simulate` object:
/// `{"delete": "fail"}` makes its sub-job end FAILED (the desktop stays), `{"delete":
/// "conflict"}` makes every batch-delete naming it answer 409.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedDesktop {
    #[serde(flatten)]
    pub desktop: SimpleDesktopInfo,
    /// Served by the detail list only; `REGISTERED` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_status: Option<String>,
    /// Faults to inject; never served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simulate: Option<Simulate>,
}

/// Simulator-only behaviour of one desktop. Unknown keys are refused so a typo cannot silently
/// turn a fault test into a happy-path one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Simulate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete: Option<DeleteFault>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeleteFault {
    /// The batch-delete is accepted but this desktop's sub-job ends FAILED.
    Fail,
    /// Any batch-delete naming this desktop is refused with 409.
    Conflict,
}

impl SeedDesktop {
    pub(super) fn delete_fault(&self) -> Option<DeleteFault> {
        self.simulate.and_then(|simulate| simulate.delete)
    }
}

/// Reads an inventory file: a JSON array of desktops with distinct `desktop_id`s.
pub fn read_inventory(path: &Path) -> anyhow::Result<Vec<SeedDesktop>> {
    let text = std::fs::read(path)
        .with_context(|| format!("cannot read inventory `{}`", path.display()))?;
    let desktops: Vec<SeedDesktop> = serde_json::from_slice(&text).with_context(|| {
        format!(
            "inventory `{}` is not a JSON array of desktops",
            path.display()
        )
    })?;
    let mut seen = HashSet::with_capacity(desktops.len());
    for desktop in &desktops {
        if !seen.insert(desktop.desktop.desktop_id.as_str()) {
            bail!(
                "inventory `{}` lists desktop_id `{}` more than once",
                path.display(),
                desktop.desktop.desktop_id
            );
        }
    }
    Ok(desktops)
}
