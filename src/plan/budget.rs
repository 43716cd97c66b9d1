//! The deletion budget: how much one apply may delete before a human must name the number.

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    pub max_deletions: usize,
    /// Percent of the in-scope desktops.
    pub max_percent: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum BudgetCheck {
    Within,
    Exceeded {
        deletions: usize,
        in_scope: usize,
        /// Each limit that was passed, in words.
        reasons: Vec<String>,
    },
}

impl Budget {
    /// Checks `deletions` out of `in_scope` desktops.
    pub fn check(&self, deletions: usize, in_scope: usize) -> BudgetCheck {
        let mut reasons = Vec::new();
        if deletions > self.max_deletions {
            reasons.push(format!(
                "{deletions} deletions is more than `max_deletions` ({})",
                self.max_deletions
            ));
        }
        if in_scope > 0 {
            let percent = deletions as f64 * 100.0 / in_scope as f64;
            if percent > self.max_percent {
                reasons.push(format!(
                    "{percent:.1} % of the {in_scope} in-scope desktops is more than `max_delete_percent` ({} %)",
                    self.max_percent
                ));
            }
        }
        if reasons.is_empty() {
            BudgetCheck::Within
        } else {
            BudgetCheck::Exceeded {
                deletions,
                in_scope,
                reasons,
            }
        }
    }
}
