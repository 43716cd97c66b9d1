//! Rules for single values of the config (region, project id, endpoint URL, names): pure
//! functions from the string to the accepted form, or a `Rejection` saying what was expected.
//! Kept apart from `load`, which only knows where the value sits, so each rule is table-tested.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Why a value was refused; `load` adds where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Rejection {
    pub message: String,
    pub label: String,
    pub help: Option<String>,
}

impl Rejection {
    fn new(message: impl Into<String>, label: impl Into<String>) -> Self {
        Rejection {
            message: message.into(),
            label: label.into(),
            help: None,
        }
    }

    fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// Like `cn-north-4`: two lower-case letters, then lower-case words, then a number, all joined
/// by `-`.
pub(super) fn region(value: &str) -> Result<(), Rejection> {
    if is_region(value) {
        return Ok(());
    }
    let rejection = Rejection::new(
        format!(
            "invalid `region` `{value}`: expected a region id like `cn-north-4` or `ap-southeast-3`"
        ),
        "not a region id",
    );
    let lower = value.trim().to_ascii_lowercase();
    Err(if is_region(&lower) {
        rejection.help(format!("write it in lower case: `{lower}`"))
    } else {
        rejection.help("region ids are two letters, a direction and a number, joined by `-`")
    })
}

fn is_region(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let lower_word = |part: &&str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase());
    match parts.as_slice() {
        [country, words @ .., number] if !words.is_empty() => {
            country.len() == 2
                && lower_word(country)
                && words.iter().all(lower_word)
                && !number.is_empty()
                && number.bytes().all(|b| b.is_ascii_digit())
        }
        _ => false,
    }
}

/// Exactly 32 lower-case hex digits. Upper case and UUID-style dashes get the fixed form as
/// help, since that is the likely copy-paste slip.
pub(super) fn project_id(value: &str) -> Result<(), Rejection> {
    let is_hex = |s: &str| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit());
    if is_hex(value) && !value.bytes().any(|b| b.is_ascii_uppercase()) {
        return Ok(());
    }
    const WHERE: &str = "copy it from the console: My Credentials > API Credentials > Projects";
    let fixed = value.trim().replace('-', "").to_ascii_lowercase();
    if is_hex(value) {
        return Err(Rejection::new(
            "invalid `project_id`: expected lower-case hex digits, found upper-case ones",
            "upper-case hex",
        )
        .help(format!("write it in lower case: `{fixed}`")));
    }
    if is_hex(&fixed) {
        return Err(Rejection::new(
            "invalid `project_id`: expected 32 lower-case hex digits without dashes or spaces",
            "not 32 hex digits",
        )
        .help(format!("write `{fixed}`")));
    }
    let message = match value.chars().find(|c| !c.is_ascii_hexdigit()) {
        Some(c) => format!(
            "invalid `project_id`: expected 32 lower-case hex digits, found {}",
            describe_char(c)
        ),
        None => format!(
            "invalid `project_id`: expected 32 lower-case hex digits, found {} {}",
            value.len(),
            plural(value.len(), "digit", "digits")
        ),
    };
    Err(Rejection::new(message, "not a project id").help(WHERE))
}

/// 1 to 36 characters of `[A-Za-z0-9_-]` (`0` is the default enterprise project).
pub(super) fn enterprise_project_id(value: &str) -> Result<(), Rejection> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let found = if value.is_empty() {
        "found an empty string".to_owned()
    } else if let Some(c) = value.chars().find(|&c| !allowed(c)) {
        format!("found {}", describe_char(c))
    } else if value.len() > 36 {
        format!("found {} characters", value.len())
    } else {
        return Ok(());
    };
    Err(Rejection::new(
        format!(
            "invalid `enterprise_project_id`: expected 1 to 36 letters, digits, `-` or `_`, {found}"
        ),
        "not an enterprise project id",
    ))
}

/// A string that must name something exactly: not empty, and no whitespace at either end, which
/// would make it silently match nothing (and a desktop that matches no declaration is deleted).
///
/// `what` names the value in messages: a key in backticks, or words.
pub(super) fn exact_name(what: &str, value: &str) -> Result<(), Rejection> {
    if value.is_empty() {
        return Err(Rejection::new(
            format!("{what} is empty: expected a non-empty string"),
            "empty string",
        ));
    }
    let trimmed = value.trim();
    if trimmed != value {
        let rejection = Rejection::new(
            format!("{what} has whitespace at its start or end"),
            "leading or trailing whitespace",
        );
        return Err(if trimmed.is_empty() {
            rejection
        } else {
            rejection.help(format!("write `{trimmed}`"))
        });
    }
    Ok(())
}

/// The `[cloud] endpoint` as requests will use it: `scheme://host[:port]` with no trailing
/// slash. Plain `http` is allowed only to loopback, since requests carry signed credentials.
pub(super) fn endpoint(value: &str) -> Result<String, Rejection> {
    const EXAMPLE: &str =
        "write it like `https://workspace.example.com` or `http://127.0.0.1:8080`";
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Rejection::new(
            "invalid `endpoint`: expected a URL without spaces",
            "contains whitespace",
        ));
    }
    let Some((scheme, rest)) = value.split_once("://") else {
        return Err(Rejection::new(
            format!("invalid `endpoint` `{value}`: expected a URL starting with `https://`"),
            "not a URL",
        )
        .help(EXAMPLE));
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return Err(Rejection::new(
            format!("invalid `endpoint`: expected scheme `https`, found `{scheme}`"),
            "unsupported scheme",
        )
        .help(EXAMPLE));
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    if tail.contains(['?', '#']) {
        return Err(Rejection::new(
            "invalid `endpoint`: expected no query or fragment",
            "has a query or fragment",
        )
        .help("give only the scheme, host and port"));
    }
    if !tail.is_empty() && tail != "/" {
        return Err(Rejection::new(
            format!("invalid `endpoint`: expected no path, found `{tail}`"),
            "has a path",
        )
        .help("give only the scheme, host and port; deskprune adds the API paths itself"));
    }
    if authority.contains('@') {
        return Err(Rejection::new(
            "invalid `endpoint`: expected no user name or password in the URL",
            "has credentials",
        )
        .help("remove the `user@` part; requests are signed with your access key"));
    }
    let host = host(authority)?;
    if scheme == "http" && !is_loopback(host) {
        return Err(Rejection::new(
            format!("invalid `endpoint`: plain `http` is only allowed to a loopback host, found `{host}`"),
            "not a loopback host",
        )
        .help("use `https://`; plain `http` is for a local simulator on `127.0.0.1`, `[::1]` or `localhost`"));
    }
    Ok(format!("{scheme}://{authority}"))
}

/// The host part of `host[:port]` or `[v6][:port]`, after checking the port.
fn host(authority: &str) -> Result<&str, Rejection> {
    let (host, port) = if authority.starts_with('[') {
        match authority.find(']') {
            Some(end) => {
                let (host, rest) = authority.split_at(end + 1);
                match rest {
                    "" => (host, None),
                    _ => match rest.strip_prefix(':') {
                        Some(port) => (host, Some(port)),
                        None => (authority, Some(rest)),
                    },
                }
            }
            None => (authority, None),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let bad_host = || {
        Rejection::new(
            format!("invalid `endpoint`: expected a host name or IP address, found `{host}`"),
            "not a host",
        )
    };
    if let Some(v6) = host.strip_prefix('[') {
        let v6 = v6.strip_suffix(']').ok_or_else(bad_host)?;
        v6.parse::<Ipv6Addr>().map_err(|_| bad_host())?;
    } else if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return Err(bad_host());
    }
    if let Some(port) = port {
        let valid = !port.is_empty()
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u16>().is_ok_and(|p| p != 0);
        if !valid {
            return Err(Rejection::new(
                format!("invalid `endpoint`: expected a port from 1 to 65535, found `{port}`"),
                "bad port",
            ));
        }
    }
    Ok(host)
}

fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return v6.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback());
    }
    host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// One of `allowed`, compared case-insensitively; returns the upper-case form.
pub(super) fn login_status(value: &str, allowed: &[&str]) -> Result<String, Rejection> {
    let upper = value.to_ascii_uppercase();
    if allowed.contains(&upper.as_str()) {
        return Ok(upper);
    }
    let rejection = Rejection::new(
        format!(
            "unknown login status `{value}`, expected one of {}",
            backticked(allowed)
        ),
        "unknown login status",
    );
    Err(match did_you_mean(&upper, allowed) {
        Some(close) => rejection.help(format!("did you mean `{close}`?")),
        None => rejection,
    })
}

/// The candidate a typo most likely meant: at most a third of its letters off.
pub(super) fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|candidate| (crate::text::edit_distance(word, candidate), *candidate))
        .filter(|(distance, candidate)| *distance <= (candidate.chars().count() / 3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// `` `a`, `b`, `c` ``
pub(super) fn backticked(items: &[&str]) -> String {
    items
        .iter()
        .map(|item| format!("`{item}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe_char(c: char) -> String {
    match c {
        ' ' => "a space".to_owned(),
        c if c.is_control() || c.is_whitespace() => format!("{:?}", c),
        c => format!("`{c}`"),
    }
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions() {
        for good in [
            "cn-north-4",
            "ap-southeast-3",
            "eu-west-101",
            "cn-north-9",
            "la-north-2",
        ] {
            assert_eq!(region(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "cn",
            "cn-4",
            "cn-north",
            "CN-north-4",
            "c-north-4",
            "cnn-north-4",
            "cn--4",
            "cn-north-4a",
            " cn-north-4",
            "cn_north_4",
        ] {
            assert!(region(bad).is_err(), "{bad}");
        }
        assert_eq!(
            region("CN-North-4").unwrap_err().help.as_deref(),
            Some("write it in lower case: `cn-north-4`")
        );
    }

    #[test]
    fn project_ids() {
        assert_eq!(project_id("0b6a4c2d9e8f41a7b3c5d6e7f8091a2b"), Ok(()));
        let upper = project_id("0B6A4C2D9E8F41A7B3C5D6E7F8091A2B").unwrap_err();
        assert_eq!(
            upper.help.as_deref(),
            Some("write it in lower case: `0b6a4c2d9e8f41a7b3c5d6e7f8091a2b`")
        );
        let dashed = project_id("0b6a4c2d-9e8f-41a7-b3c5-d6e7f8091a2b").unwrap_err();
        assert_eq!(
            dashed.help.as_deref(),
            Some("write `0b6a4c2d9e8f41a7b3c5d6e7f8091a2b`")
        );
        assert!(
            project_id("0b6a4c2d9e8f41a7b3c5d6e7f8091a2")
                .unwrap_err()
                .message
                .contains("found 31 digits")
        );
        assert!(
            project_id("0b6a4c2d9e8f41a7b3c5d6e7f8091a2g")
                .unwrap_err()
                .message
                .contains("found `g`")
        );
        assert!(project_id("").is_err());
    }

    #[test]
    fn enterprise_project_ids() {
        for good in ["0", "3c6a1d2e-aaaa-bbbb-cccc-0123456789ab", "a_b-C"] {
            assert_eq!(enterprise_project_id(good), Ok(()), "{good}");
        }
        for bad in ["", "a b", "x".repeat(37).as_str(), "é"] {
            assert!(enterprise_project_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn exact_names() {
        assert_eq!(exact_name("`name`", "eng-alice-01"), Ok(()));
        assert!(exact_name("`name`", "").is_err());
        assert_eq!(
            exact_name("`name`", "eng-alice-01 ")
                .unwrap_err()
                .help
                .as_deref(),
            Some("write `eng-alice-01`")
        );
        assert_eq!(exact_name("`name`", "  ").unwrap_err().help, None);
    }

    #[test]
    fn endpoints() {
        let accepted = [
            (
                "https://workspace.example.com",
                "https://workspace.example.com",
            ),
            (
                "https://workspace.example.com/",
                "https://workspace.example.com",
            ),
            ("HTTPS://example.com:8443", "https://example.com:8443"),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("http://127.1.2.3", "http://127.1.2.3"),
            ("http://localhost:8080/", "http://localhost:8080"),
            ("http://LOCALHOST", "http://LOCALHOST"),
            ("http://[::1]:8080", "http://[::1]:8080"),
            ("https://[2001:db8::1]", "https://[2001:db8::1]"),
        ];
        for (input, expected) in accepted {
            assert_eq!(endpoint(input).as_deref(), Ok(expected), "{input}");
        }
        let rejected = [
            ("workspace.example.com", "not a URL"),
            ("ftp://example.com", "unsupported scheme"),
            ("https://example.com/v2", "has a path"),
            ("https://example.com?x=1", "has a query or fragment"),
            ("https://example.com/#top", "has a query or fragment"),
            ("https://user:pw@example.com", "has credentials"),
            ("http://example.com", "not a loopback host"),
            ("http://128.0.0.1", "not a loopback host"),
            ("http://[::2]", "not a loopback host"),
            ("http://localhost.example.com", "not a loopback host"),
            ("https://", "not a host"),
            ("https://exa mple.com", "contains whitespace"),
            ("https://[::1", "not a host"),
            ("https://example.com:0", "bad port"),
            ("https://example.com:", "bad port"),
            ("https://example.com:65536", "bad port"),
            ("https://[::1]x", "not a host"),
        ];
        for (input, label) in rejected {
            assert_eq!(
                endpoint(input).map_err(|r| r.label),
                Err(label.to_owned()),
                "{input}"
            );
        }
    }

    #[test]
    fn login_statuses() {
        let allowed = ["UNREGISTER", "REGISTERED", "CONNECTED", "DISCONNECTED"];
        assert_eq!(
            login_status("connected", &allowed).as_deref(),
            Ok("CONNECTED")
        );
        let typo = login_status("CONECTED", &allowed).unwrap_err();
        assert_eq!(typo.help.as_deref(), Some("did you mean `CONNECTED`?"));
        assert_eq!(login_status("IDLE", &allowed).unwrap_err().help, None);
    }

    #[test]
    fn suggestions() {
        let keys = ["region", "project_id", "endpoint", "simulator"];
        assert_eq!(did_you_mean("projectid", &keys), Some("project_id"));
        assert_eq!(did_you_mean("regoin", &keys), Some("region"));
        assert_eq!(did_you_mean("flavour", &keys), None);
    }
}
