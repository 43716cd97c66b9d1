//! Reads a config file and turns its raw serde shape into a validated `Config`. A TOML error stops
//! parsing (serde cannot go on past it), but the checks after that collect every problem in the
//! file, so one run shows everything there is to fix. Since apply deletes what the file does not
//! declare, nothing doubtful is let through: defaults apply only to keys that are absent.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};
use toml::Spanned;

use super::diagnostic::{ConfigError, Diagnostic, LineIndex};
use super::raw::{
    LOGIN_STATUSES, RawClient, RawCloud, RawConfig, RawDelete, RawDesktop, RawDesktops, RawGuard,
    RawScope, defaults,
};
use super::values::{self, Rejection};
use super::{
    ClientSettings, Cloud, Config, Declaration, Declarations, DeleteOptions, Guard, Scope,
    Selector, Target,
};
use crate::input_file::InputFileError;

/// Reads and validates the config file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    parse(path, &read(path)?)
}

/// The most a config file may hold. 100,000 desktops declared in `[[desktop]]` tables with
/// long names take some 10 MiB (in the `[desktops]` lists, less than half that), so a file
/// larger than this is not a config: `-c /dev/zero`, a log, a disk image. It is refused before
/// it fills memory.
pub const MAX_CONFIG_BYTES: u64 = 32 << 20;

/// The text of the config file at `path`, which must be a regular file of UTF-8.
pub fn read(path: &Path) -> Result<String, ConfigError> {
    let bytes = crate::input_file::read(path, "config file", MAX_CONFIG_BYTES)
        .map_err(|error| unreadable(path, &error))?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(error) => {
            let valid = error.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(error.as_bytes());
            let diagnostic = Diagnostic::at(
                path,
                &text,
                &LineIndex::new(&text),
                valid..valid + 1,
                "config file is not UTF-8 text",
            )
            .label("not UTF-8")
            .help("save the file as UTF-8");
            Err(ConfigError::new(&text, vec![diagnostic]))
        }
    }
}

/// Validates config `text`. `path` only names the file in messages and is the folder a relative
/// `simulator` path is resolved against.
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let raw: RawConfig = toml::from_str(text)
        .map_err(|error| ConfigError::new(text, vec![toml_error(path, text, &error)]))?;
    let mut check = Check {
        path,
        text,
        lines: LineIndex::new(text),
        diagnostics: Vec::new(),
    };
    let config = Config {
        path: path.to_path_buf(),
        digest: hex::encode(Sha256::digest(text.as_bytes())),
        cloud: check.cloud(raw.cloud),
        scope: check.scope(raw.scope),
        delete: check.delete(raw.delete.unwrap_or_default()),
        guard: check.guard(raw.guard.unwrap_or_default()),
        client: check.client(raw.client.unwrap_or_default()),
        desktop_tables: raw.desktop.len(),
        desktops: check.desktops(raw.desktop, raw.desktops.unwrap_or_default()),
    };
    if check.diagnostics.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError::new(text, check.diagnostics))
    }
}

fn unreadable(path: &Path, error: &InputFileError) -> ConfigError {
    let other_file = "pass `--config PATH` to use another file";
    let diagnostic = match error {
        _ if error.is_not_found() => Diagnostic::whole_file(
            path,
            format!("config file `{}` not found", path.display()),
        )
        .help(format!("create it, or {other_file}")),
        InputFileError::NotAFile { .. } => Diagnostic::whole_file(path, error.to_string())
            .help(format!("a config is a TOML file: {other_file}")),
        InputFileError::TooLarge { .. } => Diagnostic::whole_file(path, error.to_string()).help(
            format!(
                "a config declaring 100,000 desktops is some 10 MiB: check that this is the config, or {other_file}"
            ),
        ),
        InputFileError::Io { .. } => Diagnostic::whole_file(path, error.to_string())
            .help(format!("check that it is a readable file, or {other_file}")),
    };
    ConfigError::whole_file(diagnostic)
}

/// Turns toml's error into ours: same place, wording that names the key and what was expected.
fn toml_error(path: &Path, text: &str, error: &toml::de::Error) -> Diagnostic {
    let message = error.message().trim_end();
    let span = error.span().unwrap_or(0..0);
    let lines = LineIndex::new(text);
    let at = |message: String| Diagnostic::at(path, text, &lines, span.clone(), message);
    if message.starts_with("unknown field `") {
        // "unknown field `x`, expected one of `a`, `b`": the first quoted word is the stranger.
        let mut quoted = message.split('`').skip(1).step_by(2);
        let unknown = quoted.next().unwrap_or_default();
        let expected: Vec<&str> = quoted.collect();
        let help = match values::did_you_mean(unknown, &expected) {
            Some(close) => format!("did you mean `{close}`? otherwise remove it"),
            None => "remove it, or check its spelling against the config reference".to_owned(),
        };
        return at(message.to_owned()).label("unknown field").help(help);
    }
    if let Some(rest) = message.strip_prefix("invalid type: ")
        && let Some((found, expected)) = rest.rsplit_once(", expected ")
    {
        let expected = plain_expected(expected);
        let found = plain_found(found);
        let key = key_of_value(text, span.clone());
        let message = match key {
            Some((key, true)) => {
                format!("wrong type for `{key}`: expected {expected}, found {found}")
            }
            Some((key, false)) => {
                format!("wrong type in `{key}`: expected {expected}, found {found}")
            }
            None => format!("wrong type: expected {expected}, found {found}"),
        };
        let diagnostic = at(message).label(format!("expected {expected}"));
        return match key {
            Some(("desktop", _)) => diagnostic
                .help("declare each desktop in its own `[[desktop]]` table (double brackets)"),
            _ => diagnostic,
        };
    }
    if message == "duplicate key" {
        let key = text.get(span.clone()).unwrap_or_default();
        return at(format!("duplicate key `{key}`"))
            .label("already set above")
            .help("a key may appear only once in a table");
    }
    at(format!("invalid TOML: {message}"))
}

/// The key a value is written under, if it sits on the same line: `(key, true)` when the span is
/// the whole value, `(key, false)` when it is inside one (an array item). For a table header,
/// the table's name. toml's errors carry only a span, and naming the key reads better.
fn key_of_value(text: &str, span: Range<usize>) -> Option<(&str, bool)> {
    let before_span = text.get(..span.start)?;
    let line = &before_span[before_span.rfind('\n').map_or(0, |i| i + 1)..];
    if line.trim().is_empty() {
        let header = text.get(span)?.strip_prefix('[')?;
        let name = header.trim_start_matches('[').trim_end_matches(']').trim();
        return (!name.is_empty()).then_some((name, true));
    }
    let (before, after) = line.rsplit_once('=')?;
    let before = before.trim_end();
    let key_start = before
        .char_indices()
        .rfind(|(_, c)| !(c.is_ascii_alphanumeric() || "_-.\"'".contains(*c)))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let key = before[key_start..].trim_matches(['"', '\'']);
    (!key.is_empty()).then_some((key, after.trim().is_empty()))
}

fn plain_expected(expected: &str) -> &str {
    match expected {
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "usize" => "an integer",
        "f32" | "f64" => "a number",
        "a sequence" => "an array",
        "a map" => "a table",
        other if other.starts_with("struct ") => "a table",
        other => other,
    }
}

fn plain_found(found: &str) -> &str {
    match found {
        "map" => "a table",
        "sequence" => "an array",
        other => other,
    }
}

/// The checks, collecting a diagnostic per problem. Each returns a value even for a bad input
/// (the default, or empty) so checking goes on; the result is dropped if anything was reported.
struct Check<'a> {
    path: &'a Path,
    text: &'a str,
    lines: LineIndex,
    diagnostics: Vec<Diagnostic>,
}

impl Check<'_> {
    fn error(&self, span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        Diagnostic::at(self.path, self.text, &self.lines, span, message)
    }

    fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn reject(&mut self, span: Range<usize>, rejection: Rejection) {
        let mut diagnostic = self.error(span, rejection.message).label(rejection.label);
        if let Some(help) = rejection.help {
            diagnostic = diagnostic.help(help);
        }
        self.push(diagnostic);
    }

    /// Applies `rule` to a spanned string, reporting a rejection at the value.
    fn string<T>(
        &mut self,
        value: &Spanned<String>,
        rule: impl FnOnce(&str) -> Result<T, Rejection>,
    ) -> Option<T> {
        match rule(value.get_ref()) {
            Ok(accepted) => Some(accepted),
            Err(rejection) => {
                self.reject(value.span(), rejection);
                None
            }
        }
    }

    fn cloud(&mut self, raw: Option<Spanned<RawCloud>>) -> Cloud {
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

    fn missing_key(&mut self, header: Range<usize>, key: &str, table: &str, example: &str) {
        let missing = self
            .error(header, format!("missing `{key}` in `[{table}]`"))
            .label(format!("`{key}` expected in this table"))
            .help(format!("add e.g. `{example}`"));
        self.push(missing);
    }

    fn scope(&mut self, raw: Option<Spanned<RawScope>>) -> Scope {
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

    fn delete(&mut self, raw: RawDelete) -> DeleteOptions {
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

    fn guard(&mut self, raw: RawGuard) -> Guard {
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

    fn client(&mut self, raw: RawClient) -> ClientSettings {
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
            // One call every 100 seconds at the slowest: the rate limiter's window is
            // 1 / rate, and slower is no use to anyone (1e-20 overflowed it).
            requests_per_second: self.number(
                raw.requests_per_second,
                "requests_per_second",
                Lower::Inclusive(0.01),
                1000.0,
                defaults::REQUESTS_PER_SECOND,
            ),
        }
    }

    /// An integer in `range`, converted to the type the config stores it as.
    fn integer<T: TryFrom<i64> + Default>(
        &mut self,
        value: Option<Spanned<i64>>,
        key: &str,
        range: std::ops::RangeInclusive<i64>,
        default: i64,
        why: Option<&str>,
    ) -> T {
        let Some(value) = value else {
            return T::try_from(default).unwrap_or_default();
        };
        if !range.contains(value.get_ref()) {
            let expected = if *range.end() == i64::MAX {
                format!("at least {}", range.start())
            } else {
                format!("between {} and {}", range.start(), range.end())
            };
            let found = self.source(value.span());
            let mut diagnostic = self
                .error(
                    value.span(),
                    format!("`{key}` must be {expected}, found `{found}`"),
                )
                .label("out of range");
            if let Some(why) = why {
                diagnostic = diagnostic.help(why);
            }
            self.push(diagnostic);
            return T::try_from(default).unwrap_or_default();
        }
        T::try_from(*value.get_ref()).unwrap_or_default()
    }

    /// A number above `lower` and at most `max`; NaN and infinities fail the comparisons.
    fn number(
        &mut self,
        value: Option<Spanned<f64>>,
        key: &str,
        lower: Lower,
        max: f64,
        default: f64,
    ) -> f64 {
        let Some(value) = value else {
            return default;
        };
        let number = *value.get_ref();
        let (above, expected) = match lower {
            Lower::Inclusive(min) => (number >= min, format!("between {min} and {max}")),
            Lower::Exclusive(min) => (number > min, format!("more than {min} and at most {max}")),
        };
        if above && number <= max {
            return number;
        }
        let found = self.source(value.span());
        let diagnostic = self
            .error(
                value.span(),
                format!("`{key}` must be {expected}, found `{found}`"),
            )
            .label("out of range");
        self.push(diagnostic);
        default
    }

    fn source(&self, span: Range<usize>) -> &str {
        self.text.get(span).unwrap_or_default()
    }

    fn desktops(&mut self, entries: Vec<Spanned<RawDesktop>>, lists: RawDesktops) -> Declarations {
        let mut declarations = Declarations::with_capacity(
            entries.len() + lists.names.len(),
            entries.len() + lists.ids.len(),
        );
        // Where each declaration was written, and in which form, for a duplicate's message.
        let mut written: Vec<(Range<usize>, &'static str)> =
            Vec::with_capacity(entries.len() + lists.names.len() + lists.ids.len());
        for entry in entries {
            let entry_span = entry.span();
            let (key, value) = match entry.into_inner() {
                RawDesktop {
                    name: Some(name),
                    id: Some(id),
                } => {
                    let (first, second) = if name.span().start < id.span().start {
                        ((name.span(), "name"), (id.span(), "id"))
                    } else {
                        ((id.span(), "id"), (name.span(), "name"))
                    };
                    let both = self
                        .error(second.0, "`[[desktop]]` entry has both `name` and `id`: expected exactly one")
                        .label(format!("`{}` given here", second.1))
                        .note(self.text, first.0, format!("and `{}` here", first.1))
                        .help("keep one of them, or split them into two `[[desktop]]` entries if you meant two desktops");
                    self.push(both);
                    continue;
                }
                RawDesktop {
                    name: None,
                    id: None,
                } => {
                    let neither = self
                        .error(entry_span, "`[[desktop]]` entry has neither `name` nor `id`: expected exactly one")
                        .label("empty entry")
                        .help("add `name = \"...\"` (the computer name) or `id = \"...\"` (the desktop id)");
                    self.push(neither);
                    continue;
                }
                RawDesktop {
                    name: Some(name),
                    id: None,
                } => ("name", name),
                RawDesktop {
                    name: None,
                    id: Some(id),
                } => ("id", id),
            };
            let line = self.lines.line(entry_span.start);
            self.declare(
                "`[[desktop]]`",
                key,
                value,
                line,
                &mut declarations,
                &mut written,
            );
        }
        for (key, values) in [("name", lists.names), ("id", lists.ids)] {
            for value in values {
                let line = self.lines.line(value.span().start);
                self.declare(
                    "`[desktops]`",
                    key,
                    value,
                    line,
                    &mut declarations,
                    &mut written,
                );
            }
        }
        declarations
    }

    /// Checks one declared `name` or `id` (in `form`) and adds it, unless a declaration in
    /// either form named the same desktop before.
    fn declare(
        &mut self,
        form: &'static str,
        key: &str,
        value: Spanned<String>,
        line: usize,
        declarations: &mut Declarations,
        written: &mut Vec<(Range<usize>, &'static str)>,
    ) {
        if self
            .string(&value, |v| {
                values::exact_name(if key == "name" { "`name`" } else { "`id`" }, v)
            })
            .is_none()
        {
            return;
        }
        let span = value.span();
        let selector = match key {
            "name" => Selector::Name(value.into_inner()),
            _ => Selector::Id(value.into_inner()),
        };
        let (earlier, again) = match declarations.push(Declaration { selector, line }) {
            Ok(_) => {
                written.push((span, form));
                return;
            }
            Err(refused) => refused,
        };
        let (first, first_form) = written[earlier].clone();
        let (Selector::Name(spelling) | Selector::Id(spelling)) = &declarations[earlier].selector;
        let (Selector::Name(value) | Selector::Id(value)) = &again.selector;
        let help = if spelling != value && key == "id" {
            "desktop IDs are compared case-insensitively, so these are the same desktop; remove one entry"
        } else if spelling != value {
            "computer names are compared case-insensitively, so these are the same desktop; remove one entry"
        } else {
            "remove one of the two entries"
        };
        let duplicate = self
            .error(span, format!("duplicate {form} {key} `{value}`"))
            .label("declared again here")
            .note(
                self.text,
                first,
                if first_form == form {
                    "first declared here".to_string()
                } else {
                    format!("also declared here, in {first_form}")
                },
            )
            .help(help);
        self.push(duplicate);
    }
}

/// The lower bound of a number range.
#[derive(Clone, Copy)]
enum Lower {
    Inclusive(f64),
    Exclusive(f64),
}

/// `file` relative to the config file's folder (absolute paths stay as they are).
fn relative_to_config(config: &Path, file: &str) -> PathBuf {
    match config.parent() {
        Some(folder) => folder.join(file),
        None => PathBuf::from(file),
    }
}
