//! The gateway's authentication, checked before anything else: an `X-Auth-Token`, or an
//! SDK-HMAC-SHA256 signature recomputed over the request exactly as received. No answer ever
//! repeats a secret.

use axum::http::header;
use axum::http::request::Parts;
use jiff::civil::DateTime;
use jiff::tz::Offset;
use jiff::{SignedDuration, Timestamp};

use crate::workspace::sign::{DATE_FORMAT, Signable, parse_authorization, parse_query, verify};

use super::options::SimulatorOptions;
use super::reply::Failure;

const NO_CREDENTIALS: &str = "x-auth-token not found";
const BAD_TOKEN: &str = "decrypt token fail";
const BAD_SIGNATURE: &str = "verify aksk signature fail";
/// UNCONFIRMED: the gateway's wording for a stale `X-Sdk-Date` is not documented.
const EXPIRED: &str = "the request has expired, check the system clock";
/// How far `X-Sdk-Date` may be from the server's clock, either way.
const MAX_SKEW: SignedDuration = SignedDuration::from_mins(15);

pub(super) fn authenticate(
    options: &SimulatorOptions,
    parts: &Parts,
    body: &[u8],
    now: Timestamp,
) -> Result<(), Failure> {
    if let Some(token) = parts.headers.get("x-auth-token") {
        return match &options.token {
            Some(expected) if token.as_bytes() == expected.as_bytes() => Ok(()),
            _ => Err(Failure::unauthorized(BAD_TOKEN)),
        };
    }
    if !parts.headers.contains_key(header::AUTHORIZATION) {
        return Err(Failure::unauthorized(NO_CREDENTIALS));
    }
    verify_signature(options, parts, body, now)
}

fn verify_signature(
    options: &SimulatorOptions,
    parts: &Parts,
    body: &[u8],
    now: Timestamp,
) -> Result<(), Failure> {
    let refused = || Failure::unauthorized(BAD_SIGNATURE);
    let (Some(access_key), Some(secret_key)) = (&options.access_key, &options.secret_key) else {
        return Err(refused());
    };
    let auth = header_text(parts, header::AUTHORIZATION.as_str())
        .as_deref()
        .and_then(parse_authorization)
        .filter(|auth| auth.access_key == *access_key)
        .ok_or_else(refused)?;
    let sdk_date = header_text(parts, "x-sdk-date").ok_or_else(refused)?;
    let sdk_date = sdk_date.trim();
    let signed_at = DateTime::strptime(DATE_FORMAT, sdk_date)
        .ok()
        .and_then(|date| Offset::UTC.to_timestamp(date).ok())
        .ok_or_else(refused)?;
    if now.duration_since(signed_at).abs() > MAX_SKEW {
        return Err(Failure::unauthorized(EXPIRED));
    }
    if let Some(expected) = &options.security_token {
        // UNCONFIRMED: the gateway's wording for a missing or wrong security token.
        let signed = auth
            .signed_headers
            .iter()
            .any(|name| name == "x-security-token");
        let carried = header_text(parts, "x-security-token");
        if !signed || carried.as_deref().map(str::trim) != Some(expected.as_str()) {
            return Err(refused());
        }
    }
    let headers: Vec<(String, String)> = auth
        .signed_headers
        .iter()
        .filter_map(|name| Some((name.clone(), header_text(parts, name)?)))
        .collect();
    let query = parse_query(parts.uri.query().unwrap_or_default());
    let request = Signable {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: &query,
        headers: &headers,
        body,
    };
    if verify(secret_key, &auth, &request, sdk_date) {
        Ok(())
    } else {
        Err(refused())
    }
}

/// A header's value as text; the SDK sends UTF-8 bytes, which `HeaderValue::to_str` refuses.
fn header_text(parts: &Parts, name: &str) -> Option<String> {
    let value = parts.headers.get(name)?;
    Some(String::from_utf8_lossy(value.as_bytes()).into_owned())
}
