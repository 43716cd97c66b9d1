//! What comes back from a call, turned into a wire type or an [`ApiError`] naming the call:
//! the body as it came (unpacked on demand, capped), refusals in either error shape, malformed
//! answers, where a redirect pointed, and job IDs that could not be acted on.

use std::io::Read;

use reqwest::{StatusCode, Url};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::wire::{BatchDeleteResponse, ErrorBody, USABLE_ID_RULE, is_usable_id};

/// Answers larger than this are refused rather than buffered: a page of 1000 desktops is about
/// 1 MB.
pub(super) const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// An answer's body as it came over the wire.
pub(super) struct Answer {
    pub(super) body: Vec<u8>,
    pub(super) gzipped: bool,
}

impl Answer {
    /// The body, unpacked when it came gzipped.
    pub(super) fn unpack(self) -> Result<Vec<u8>, String> {
        if self.gzipped {
            gunzip(&self.body, MAX_BODY_BYTES)
        } else {
            Ok(self.body)
        }
    }
}

/// Answers at least this big on the wire are unpacked and decoded on a blocking thread.
pub(super) const OFF_RUNTIME_BYTES: usize = 32 << 10;

/// A gzipped body unpacked, refusing one that unpacks to more than `limit` bytes.
fn gunzip(packed: &[u8], limit: usize) -> Result<Vec<u8>, String> {
    let mut body = Vec::with_capacity(packed.len().saturating_mul(8).min(limit));
    flate2::read::GzDecoder::new(packed)
        .take(limit as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|err| format!("its gzip encoding is broken: {err}"))?;
    if body.len() > limit {
        return Err(format!(
            "the answer unpacks to more than {} MiB",
            limit >> 20
        ));
    }
    Ok(body)
}

pub(super) fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string)
}

/// Where a `Location` points, for the error: its host (and port) once resolved against the
/// request's URL, or the header itself, cut short, when it is not an address (escaped with
/// the rest of the error's answer text).
pub(super) fn redirect_target(url: &Url, location: &[u8]) -> String {
    let text = String::from_utf8_lossy(location);
    let to = url.join(&text).ok();
    match to.as_ref().and_then(|to| Some((to.host_str()?, to.port()))) {
        Some((host, Some(port))) => format!("{host}:{port}"),
        Some((host, None)) => host.to_string(),
        None => text.chars().take(200).collect(),
    }
}

pub(super) fn refusal(
    call: &str,
    status: StatusCode,
    body: &[u8],
    request_id: Option<String>,
) -> ApiError {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let text = String::from_utf8_lossy(body);
    let message = parsed.error_msg.unwrap_or_else(|| {
        text.chars()
            .take(300)
            .collect::<String>()
            .trim()
            .to_string()
    });
    ApiError::Refused {
        call: call.to_string(),
        status: status.as_u16(),
        code: parsed
            .error_code
            .unwrap_or_else(|| status.as_u16().to_string()),
        message: if message.is_empty() {
            status
                .canonical_reason()
                .unwrap_or("no message")
                .to_string()
        } else {
            message
        },
        request_id: request_id.or(parsed.request_id),
    }
}

/// A batch-delete's answer, if its job ID can be recorded and polled; else the answer is
/// malformed (the call is unconfirmed: the job may exist, its ID is unknown).
pub(super) fn usable_job_id(
    call: &str,
    status: StatusCode,
    accepted: BatchDeleteResponse,
) -> Result<BatchDeleteResponse, ApiError> {
    if is_usable_id(&accepted.job_id) {
        return Ok(accepted);
    }
    let mut shown: String = accepted.job_id.chars().take(40).collect();
    if shown.len() < accepted.job_id.len() {
        shown.push('…');
    }
    Err(malformed(
        call,
        status,
        format!("its `job_id` `{shown}` is not a usable job ID ({USABLE_ID_RULE})"),
    ))
}

/// A successful answer unpacked and decoded.
pub(super) fn decode<T: DeserializeOwned>(
    call: &str,
    status: StatusCode,
    answer: Answer,
) -> Result<T, ApiError> {
    let body = answer
        .unpack()
        .map_err(|detail| malformed(call, status, detail))?;
    serde_json::from_slice(&body).map_err(|err| malformed(call, status, err.to_string()))
}

pub(super) fn malformed(call: &str, status: StatusCode, detail: String) -> ApiError {
    ApiError::Malformed {
        call: call.to_string(),
        status: status.as_u16(),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gunzip_unpacks_and_refuses_broken_or_oversized_bodies() {
        use std::io::Write;
        let body = br#"{"total_count":0,"desktops":[]}"#.repeat(1000);
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(&body).unwrap();
        let packed = encoder.finish().unwrap();
        assert_eq!(gunzip(&packed, 1 << 20).unwrap(), body);
        assert_eq!(
            gunzip(&packed, (1 << 20) / 64).unwrap_err(),
            "the answer unpacks to more than 0 MiB"
        );
        let cut = gunzip(&packed[..packed.len() / 2], 1 << 20).unwrap_err();
        assert!(cut.starts_with("its gzip encoding is broken"), "{cut}");
        let garbage = gunzip(b"not gzip at all", 1 << 20).unwrap_err();
        assert!(
            garbage.starts_with("its gzip encoding is broken"),
            "{garbage}"
        );
    }

    #[test]
    fn a_redirect_is_named_by_the_host_it_points_at() {
        let url =
            Url::parse("https://workspace.cn-north-4.myhuaweicloud.com/v2/p/desktops").unwrap();
        let target = |location: &[u8]| redirect_target(&url, location);
        assert_eq!(
            target(b"https://evil.example/v2/p/desktops"),
            "evil.example"
        );
        assert_eq!(target(b"http://127.0.0.1:8080/x"), "127.0.0.1:8080");
        assert_eq!(
            target(b"/elsewhere"),
            "workspace.cn-north-4.myhuaweicloud.com"
        );
        assert_eq!(target(b"http://[\xe2\x80\xae"), "http://[\u{202e}");
    }

    #[test]
    fn refusal_reads_both_error_shapes() {
        let call = "c";
        let gateway = br#"{"error_msg":"throttled","error_code":"APIGW.0308","request_id":"r1"}"#;
        let err = refusal(call, StatusCode::TOO_MANY_REQUESTS, gateway, None);
        assert_eq!(err.code(), Some("APIGW.0308"));
        assert!(err.to_string().contains("request id r1"), "{err}");
        let plain = refusal(call, StatusCode::BAD_GATEWAY, b"upstream down", None);
        assert_eq!(plain.code(), Some("502"));
        assert!(plain.to_string().contains("upstream down"), "{plain}");
    }
}
