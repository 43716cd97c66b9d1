//! SDK-HMAC-SHA256, the request signature of Huawei Cloud's API gateway, exactly as the official
//! SDK's `signer.py` computes it. The client signs with it and the simulator verifies with it,
//! so the two share every byte of the canonical form.

use hmac::{KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::{Digest, Sha256};

pub const ALGORITHM: &str = "SDK-HMAC-SHA256";
/// `X-Sdk-Date` format: basic ISO 8601 in UTC.
pub const DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// RFC 3986: everything but the unreserved characters is escaped (upper-case hex).
const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

type HmacSha256 = hmac::Hmac<Sha256>;

pub fn encode(text: &str) -> String {
    utf8_percent_encode(text, ESCAPED).to_string()
}

fn decode(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

/// The path, each segment decoded then re-encoded, always ending in `/`.
pub fn canonical_uri(path: &str) -> String {
    let mut uri = decode(path)
        .split('/')
        .map(encode)
        .collect::<Vec<_>>()
        .join("/");
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// The query as signed, and as the SDK puts it on the wire: pairs sorted on the raw key, then
/// the raw value, each side encoded.
pub fn canonical_query(pairs: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
    sorted.sort();
    sorted
        .iter()
        .map(|(key, value)| format!("{}={}", encode(key), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Parses a received query string into decoded pairs (`+` is a literal plus, as the SDK never
/// sends a space as `+`).
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (key, value) = part.split_once('=').unwrap_or((part, ""));
            (decode(key), decode(value))
        })
        .collect()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A request reduced to what the signature covers.
#[derive(Debug, Clone, Copy)]
pub struct Signable<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a [(String, String)],
    /// Every header that is to be signed, as (name, value); names in any case.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// Lower-cased, sorted header names, without those containing `_` (the SDK never signs them).
pub fn signed_header_names(headers: &[(String, String)]) -> Vec<String> {
    let mut names: Vec<String> = headers
        .iter()
        .map(|(name, _)| name.to_ascii_lowercase())
        .filter(|name| !name.contains('_'))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The canonical request over the headers named in `signed`.
pub fn canonical_request(request: &Signable<'_>, signed: &[String]) -> String {
    let mut canonical_headers = String::new();
    for name in signed {
        let value = request
            .headers
            .iter()
            .find(|(candidate, _)| candidate.eq_ignore_ascii_case(name))
            .map_or("", |(_, value)| value.trim());
        canonical_headers.push_str(name);
        canonical_headers.push(':');
        canonical_headers.push_str(value);
        canonical_headers.push('\n');
    }
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        request.method.to_ascii_uppercase(),
        canonical_uri(request.path),
        canonical_query(request.query),
        canonical_headers,
        signed.join(";"),
        sha256_hex(request.body),
    )
}

pub fn string_to_sign(sdk_date: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{sdk_date}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

fn mac(secret_key: &str, string_to_sign: &str) -> HmacSha256 {
    let mut mac =
        HmacSha256::new_from_slice(secret_key.as_bytes()).expect("HMAC takes a key of any size");
    mac.update(string_to_sign.as_bytes());
    mac
}

/// The `Authorization` header value for a request whose headers already include `Host` and
/// `X-Sdk-Date` (and `X-Security-Token` with temporary credentials).
pub fn authorization(access_key: &str, secret_key: &str, request: &Signable<'_>) -> String {
    let signed = signed_header_names(request.headers);
    let sdk_date = request
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("x-sdk-date"))
        .map_or("", |(_, value)| value.trim());
    let sts = string_to_sign(sdk_date, &canonical_request(request, &signed));
    let signature = hex::encode(mac(secret_key, &sts).finalize().into_bytes());
    format!(
        "{ALGORITHM} Access={access_key}, SignedHeaders={}, Signature={signature}",
        signed.join(";")
    )
}

/// The three parts of a received `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAuthorization {
    pub access_key: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

pub fn parse_authorization(header: &str) -> Option<ParsedAuthorization> {
    let rest = header.strip_prefix(ALGORITHM)?.strip_prefix(' ')?;
    let (mut access_key, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(", ") {
        let (key, value) = part.split_once('=')?;
        match key.trim() {
            "Access" => access_key = Some(value.to_string()),
            "SignedHeaders" => {
                signed_headers = Some(value.split(';').map(str::to_string).collect())
            }
            "Signature" => signature = Some(value.to_string()),
            _ => return None,
        }
    }
    Some(ParsedAuthorization {
        access_key: access_key?,
        signed_headers: signed_headers?,
        signature: signature?,
    })
}

/// Checks a received signature in constant time, recomputing it over the headers that the
/// request says it signed. `x-sdk-date` and `host` must be among them, as the gateway requires.
pub fn verify(
    secret_key: &str,
    auth: &ParsedAuthorization,
    request: &Signable<'_>,
    sdk_date: &str,
) -> bool {
    let signs = |name: &str| auth.signed_headers.iter().any(|signed| signed == name);
    if !signs("x-sdk-date") || !signs("host") {
        return false;
    }
    let Ok(expected) = hex::decode(&auth.signature) else {
        return false;
    };
    let sts = string_to_sign(sdk_date, &canonical_request(request, &auth.signed_headers));
    mac(secret_key, &sts).verify_slice(&expected).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_the_sdk() {
        let cases = [
            ("a b", "a%20b"),
            ("k=v,w", "k%3Dv%2Cw"),
            ("a/b+c", "a%2Fb%2Bc"),
            ("zoë", "zo%C3%AB"),
            ("A-z_0.9~", "A-z_0.9~"),
        ];
        for (raw, encoded) in cases {
            assert_eq!(encode(raw), encoded, "encoding {raw:?}");
        }
    }

    #[test]
    fn canonical_uri_always_ends_with_a_slash() {
        assert_eq!(canonical_uri("/v2/p/desktops"), "/v2/p/desktops/");
        assert_eq!(canonical_uri("/v2/p/desktops/"), "/v2/p/desktops/");
        assert_eq!(canonical_uri("/a%20b/c d"), "/a%20b/c%20d/");
    }

    #[test]
    fn query_sorts_on_raw_key_then_value() {
        let pairs = [("b", "1"), ("a", "FIN-PC-001"), ("a", "FIN PC/002")]
            .map(|(k, v)| (k.to_string(), v.to_string()));
        assert_eq!(canonical_query(&pairs), "a=FIN%20PC%2F002&a=FIN-PC-001&b=1");
        assert_eq!(
            parse_query("a=FIN%20PC%2F002&b=1+2"),
            vec![
                ("a".to_string(), "FIN PC/002".to_string()),
                ("b".to_string(), "1+2".to_string()),
            ]
        );
    }

    #[test]
    fn parses_what_it_writes() {
        let parsed = parse_authorization(
            "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature=00ff",
        )
        .expect("valid header");
        assert_eq!(parsed.access_key, "AK");
        assert_eq!(parsed.signed_headers, ["host", "x-sdk-date"]);
        assert_eq!(parsed.signature, "00ff");
        assert_eq!(parse_authorization("Bearer x"), None);
    }
}
