//! The checks of the `[state]` table: which backend, and for `s3` where its objects are.

use std::ops::Range;
use std::time::Duration;

use toml::Spanned;

use super::check::Check;
use crate::config::raw::{RawState, defaults};
use crate::config::values;
use crate::config::{S3State, StateSettings};

impl Check<'_> {
    pub(super) fn state(&mut self, raw: Option<Spanned<RawState>>) -> StateSettings {
        let Some(raw) = raw else {
            return StateSettings::Local;
        };
        let header = raw.span();
        let RawState {
            backend,
            bucket,
            key,
            endpoint,
            region,
            lease_seconds,
        } = raw.into_inner();
        let s3 = match &backend {
            None => false,
            Some(backend) => match backend.get_ref().as_str() {
                "local" => false,
                "s3" => true,
                other => {
                    let diagnostic = self
                        .error(
                            backend.span(),
                            format!(
                                "invalid `backend` `{}`: expected `local` or `s3`",
                                crate::text::printable(other)
                            ),
                        )
                        .label("unknown backend")
                        .help("write `backend = \"s3\"` for an S3-compatible bucket (OBS), or leave it out for the local file");
                    self.push(diagnostic);
                    return StateSettings::Local;
                }
            },
        };
        if !s3 {
            // The store's keys mean nothing to the local file: refused, not ignored, since
            // someone who wrote them expects a shared state.
            let given = [
                ("bucket", bucket.as_ref().map(Spanned::span)),
                ("key", key.as_ref().map(Spanned::span)),
                ("endpoint", endpoint.as_ref().map(Spanned::span)),
                ("region", region.as_ref().map(Spanned::span)),
                ("lease_seconds", lease_seconds.as_ref().map(Spanned::span)),
            ];
            for (name, span) in given {
                if let Some(span) = span {
                    let diagnostic = self
                        .error(span, format!("`{name}` is only for `backend = \"s3\"`"))
                        .label("the local state file has no such setting")
                        .help("add `backend = \"s3\"` to keep the state in a bucket, or remove this key");
                    self.push(diagnostic);
                }
            }
            return StateSettings::Local;
        }
        let mut required = |value: Option<Spanned<String>>, name: &str, example: &str| {
            if value.is_none() {
                self.missing_key(header.clone(), name, "state", example);
            }
            value
        };
        let bucket = required(bucket, "bucket", "bucket = \"deskprune-state\"");
        let key = required(key, "key", "key = \"prod/deskprune.state.json\"");
        let endpoint = required(
            endpoint,
            "endpoint",
            "endpoint = \"https://obs.cn-north-4.myhuaweicloud.com\"",
        );
        let region = required(region, "region", "region = \"cn-north-4\"");
        let lease: u64 = self.integer(
            lease_seconds,
            "lease_seconds",
            5..=3600,
            defaults::LEASE_SECONDS,
            Some("a lock not renewed for this long may be taken over by another run"),
        );
        let bucket = bucket.and_then(|bucket| self.rule(&bucket, bucket_rule));
        let key = key.and_then(|key| self.rule(&key, key_rule));
        let endpoint = endpoint.and_then(|endpoint| self.string(&endpoint, values::endpoint));
        let region = region.and_then(|region| {
            self.string(&region, |r| values::exact_name("`region`", r))
                .map(|()| region.into_inner())
        });
        match (bucket, key, endpoint, region) {
            (Some(bucket), Some(key), Some(endpoint), Some(region)) => StateSettings::S3(S3State {
                bucket,
                key,
                endpoint,
                region,
                lease: Duration::from_secs(lease),
            }),
            _ => StateSettings::Local,
        }
    }

    /// Applies a rule that returns `(message, help)` on refusal, reporting at the value.
    fn rule(
        &mut self,
        value: &Spanned<String>,
        rule: fn(&str) -> Result<(), (String, &'static str)>,
    ) -> Option<String> {
        match rule(value.get_ref()) {
            Ok(()) => Some(value.get_ref().clone()),
            Err((message, help)) => {
                let span: Range<usize> = value.span();
                let diagnostic = self.error(span, message).label("invalid").help(help);
                self.push(diagnostic);
                None
            }
        }
    }
}

/// An S3 bucket name: 3 to 63 lower-case letters, digits, `-` and `.`, starting and ending
/// with a letter or digit.
fn bucket_rule(bucket: &str) -> Result<(), (String, &'static str)> {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let valid = (3..=63).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && edge(bucket.chars().next())
        && edge(bucket.chars().last());
    if valid {
        return Ok(());
    }
    Err((
        format!(
            "invalid `bucket` `{}`: expected a bucket name",
            crate::text::printable(bucket)
        ),
        "3 to 63 lower-case letters, digits, `-` and `.`, starting and ending with a letter or digit",
    ))
}

/// An object key deskprune can put `.lock`, `.probe` and `.runs/` beside: `/`-separated
/// segments, none empty, `.` or `..`, no control characters, at most 900 bytes.
fn key_rule(key: &str) -> Result<(), (String, &'static str)> {
    let valid = !key.is_empty()
        && key.len() <= 900
        && !key.chars().any(char::is_control)
        && key
            .split('/')
            .all(|segment| !segment.is_empty() && segment != "." && segment != "..");
    if valid {
        return Ok(());
    }
    Err((
        format!(
            "invalid `key` `{}`: expected an object key like `prod/deskprune.state.json`",
            crate::text::printable(key)
        ),
        "segments separated by single `/`, none empty, `.` or `..`, no leading or trailing `/`",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_and_key_rules() {
        assert!(bucket_rule("deskprune-state").is_ok());
        for bad in ["b1", "Upper", "-x-y", "a_b_c", ""] {
            assert!(bucket_rule(bad).is_err(), "{bad}");
        }
        assert!(key_rule("prod/cn-north-4/deskprune.state.json").is_ok());
        for bad in ["", "/a", "a/", "a//b", "a/../b", "a\nb"] {
            assert!(key_rule(bad).is_err(), "{bad:?}");
        }
    }
}
