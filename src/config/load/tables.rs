//! The checks of the `[cloud]`, `[scope]`, `[delete]`, `[guard]` and `[client]` tables.

use std::ops::Range;
use std::time::Duration;

use toml::Spanned;

use super::check::{Check, Lower, relative_to_config};
use crate::config::raw::{
    LOGIN_STATUSES, RawClient, RawCloud, RawDelete, RawGuard, RawScope, defaults,
};
use crate::config::values;
use crate::config::{ClientSettings, Cloud, DeleteOptions, Guard, Scope, Target};

impl Check<'_> {
    pub(super) fn cloud(&mut self, raw: Option<Spanned<RawCloud>>) -> Cloud {
        let mut cloud = Cloud {
            region: String::new(),
            project_id: String::new(),
            target: Target::Cloud,
        };
        let Some(raw) = raw else {
            let missing = self
                .error(0..0, "missing `[cloud]` table")
                .label("expected a `[cloud]` table in this file")
                .help("add `[cloud]` with the `region` and `project_id` whose desktops this file manages");
            self.push(missing);
            return cloud;
        };
        let header = raw.span();
        let RawCloud {
            region,
            project_id,
            endpoint,
            simulator,
        } = raw.into_inner();
        match region {
            Some(region) => {
                if self.string(&region, values::region).is_some() {
                    cloud.region = region.into_inner();
                }
            }
            None => self.missing_key(header.clone(), "region", "cloud", "region = \"cn-north-4\""),
        }
        match project_id {
            Some(project_id) => {
                if self.string(&project_id, values::project_id).is_some() {
                    cloud.project_id = project_id.into_inner();
                }
            }
            None => self.missing_key(
                header,
                "project_id",
                "cloud",
                "project_id = \"<32 hex digits>\"",
            ),
        }
        if let (Some(endpoint), Some(simulator)) = (&endpoint, &simulator) {
            let (first, second, first_key, second_key) =
                if endpoint.span().start < simulator.span().start {
                    (endpoint.span(), simulator.span(), "endpoint", "simulator")
                } else {
                    (simulator.span(), endpoint.span(), "simulator", "endpoint")
                };
            let conflict = self
                .error(second, format!("`{second_key}` cannot be combined with `{first_key}`"))
                .label(format!("`{second_key}` set here"))
                .note(self.text, first, format!("`{first_key}` set here"))
                .help("keep one: `endpoint` sends requests to an API, `simulator` runs the built-in simulator");
            self.push(conflict);
        }
        if let Some(endpoint) = endpoint
            && let Some(url) = self.string(&endpoint, values::endpoint)
        {
            cloud.target = Target::Endpoint(url);
        }
        if let Some(simulator) = simulator
            && self
                .string(&simulator, |s| values::exact_name("`simulator`", s))
                .is_some()
        {
            cloud.target = Target::Simulator(relative_to_config(self.path, simulator.get_ref()));
        }
        cloud
    }

    pub(super) fn scope(&mut self, raw: Option<Spanned<RawScope>>) -> Scope {
        let mut scope = Scope::default();
        let Some(raw) = raw else {
            let missing = self
                .error(
                    0..0,
                    "missing `[scope]` table: this file must say which desktops it manages",
                )
                .label("expected a `[scope]` table in this file")
                .help(
                    "add `[scope]` with `name_prefix`, `tags` or `enterprise_project_id`, \
                     or `all = true` to manage every desktop of the project",
                );
            self.push(missing);
            return scope;
        };
        let header = raw.span();
        let RawScope {
            all,
            enterprise_project_id,
            tags,
            name_prefix,
        } = raw.into_inner();
        // The criteria in file order, to point at one when `all = true` conflicts with them.
        let mut criteria: Vec<(Range<usize>, &str)> = Vec::new();
        if let Some(id) = enterprise_project_id {
            criteria.push((id.span(), "enterprise_project_id"));
            if self.string(&id, values::enterprise_project_id).is_some() {
                scope.enterprise_project_id = Some(id.into_inner());
            }
        }
        if let Some(tags) = tags
            && !tags.get_ref().is_empty()
        {
            criteria.push((tags.span(), "tags"));
            for (key, value) in tags.into_inner() {
                if self
                    .string(&key, |k| values::exact_name("tag key", k))
                    .is_some()
                {
                    scope.tags.insert(key.into_inner(), value.into_inner());
                }
            }
        }
        if let Some(prefix) = name_prefix {
            criteria.push((prefix.span(), "name_prefix"));
            if self
                .string(&prefix, |p| values::exact_name("`name_prefix`", p))
                .is_some()
            {
                scope.name_prefix = Some(prefix.into_inner());
            }
        }
        criteria.sort_by_key(|(span, _)| span.start);
        match (all, criteria.first()) {
            (Some(all), Some((other, key))) if *all.get_ref() => {
                let conflict = self
                    .error(
                        all.span(),
                        "`all = true` cannot be combined with other `[scope]` criteria",
                    )
                    .label("manages every desktop of the project")
                    .note(
                        self.text,
                        other.clone(),
                        format!("but `{key}` narrows the scope"),
                    )
                    .help(
                        "remove `all = true` to manage only the desktops matching the criteria, \
                         or remove the criteria to manage the whole project",
                    );
                self.push(conflict);
            }
            (Some(all), None) if *all.get_ref() => scope.all = true,
            (all, None) => {
                let mut empty = self
                    .error(
                        header,
                        "empty `[scope]`: no criteria say which desktops this file manages",
                    )
                    .label("no criteria in this table")
                    .help(
                        "set `name_prefix`, `tags` or `enterprise_project_id`, \
                         or `all = true` to manage every desktop of the project",
                    );
                if let Some(all) = all {
                    empty = empty.note(
                        self.text,
                        all.span(),
                        "`all = false` selects nothing by itself",
                    );
                }
                self.push(empty);
            }
            (_, Some(_)) => {}
        }
        scope
    }

    pub(super) fn delete(&mut self, raw: RawDelete) -> DeleteOptions {
        DeleteOptions {
            delete_users: raw.delete_users.unwrap_or(defaults::DELETE_USERS),
            email_notification: raw
                .email_notification
                .unwrap_or(defaults::EMAIL_NOTIFICATION),
            force: raw.force.unwrap_or(defaults::FORCE),
            batch_size: self.integer(
                raw.batch_size,
                "batch_size",
                1..=100,
                defaults::BATCH_SIZE,
                Some("the Workspace API deletes at most 100 desktops per request"),
            ),
        }
    }

    pub(super) fn guard(&mut self, raw: RawGuard) -> Guard {
        let protect_tag = match raw.protect_tag {
            Some(tag) => match self.string(&tag, |t| values::exact_name("`protect_tag`", t)) {
                Some(()) => tag.into_inner(),
                None => String::new(),
            },
            None => defaults::PROTECT_TAG.to_owned(),
        };
        let in_use_login_statuses = match raw.in_use_login_statuses {
            Some(statuses) => {
                let mut accepted: Vec<String> = Vec::new();
                for status in statuses {
                    if let Some(upper) =
                        self.string(&status, |s| values::login_status(s, LOGIN_STATUSES))
                        && !accepted.contains(&upper)
                    {
                        accepted.push(upper);
                    }
                }
                accepted
            }
            None => defaults::IN_USE_LOGIN_STATUSES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        };
        Guard {
            protect_tag,
            max_deletions: self.integer(
                raw.max_deletions,
                "max_deletions",
                0..=i64::MAX,
                defaults::MAX_DELETIONS,
                None,
            ),
            max_delete_percent: self.number(
                raw.max_delete_percent,
                "max_delete_percent",
                Lower::Inclusive(0.0),
                100.0,
                defaults::MAX_DELETE_PERCENT,
            ),
            allow_empty: raw.allow_empty.unwrap_or(defaults::ALLOW_EMPTY),
            in_use_login_statuses,
        }
    }

    pub(super) fn client(&mut self, raw: RawClient) -> ClientSettings {
        let timeout = self.number(
            raw.timeout,
            "timeout",
            Lower::Exclusive(0.0),
            600.0,
            defaults::TIMEOUT_SECONDS,
        );
        ClientSettings {
            max_retries: self.integer(
                raw.max_retries,
                "max_retries",
                0..=20,
                defaults::MAX_RETRIES,
                None,
            ),
            timeout: Duration::try_from_secs_f64(timeout).unwrap_or(Duration::from_secs(30)),
            max_concurrency: self.integer(
                raw.max_concurrency,
                "max_concurrency",
                1..=64,
                defaults::MAX_CONCURRENCY,
                None,
            ),
            // A ceiling on the adaptive rate; absent, none. One call every 100 seconds at
            // the slowest: slower is no use to anyone.
            requests_per_second: raw.requests_per_second.map(|value| {
                let before = self.diagnostics.len();
                let ceiling = self.number(
                    Some(value),
                    "requests_per_second",
                    Lower::Inclusive(0.01),
                    1000.0,
                    1000.0,
                );
                if self.diagnostics.len() > before
                    && let Some(diagnostic) = self.diagnostics.pop()
                {
                    self.push(diagnostic.help(
                        "it is only a ceiling on the rate deskprune finds by itself: leave it out for none",
                    ));
                }
                ceiling
            }),
        }
    }
}
