//! The answers a fault puts in place of the real one: an error status in the shape whoever
//! would send it uses, a body cut in the middle, a body that is not JSON, a body too large.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use futures_util::stream;

use super::gateway::THROTTLED;
use super::jobs::Job;
use super::reply::{CONFLICT, Failure, INVALID, NOT_FOUND, Rendered, render, response};
use crate::workspace::wire::BatchDeleteResponse;

/// The service's internal error (`failed to read database information` in the error table).
const INTERNAL: &str = "WKS.00000003";
/// How long a cut answer waits after its first half, so that half is on the wire first.
const CUT_PAUSE: Duration = Duration::from_millis(30);
const MIB: usize = 1 << 20;

/// A refusal with `status`: 429 as the gateway throttles, 401 as it refuses credentials, any
/// other code as the service's error body (or a proxy's plain text with `plain_text`).
pub(super) fn refusal(
    status: u16,
    retry_after: Option<u64>,
    plain_text: bool,
    request_id: &str,
) -> (Response, usize) {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let (body, content_type) = if plain_text {
        let reason = status.canonical_reason().unwrap_or("Error");
        let text = format!("{} {reason}\n", status.as_u16()).into_bytes();
        (text, "text/plain; charset=utf-8")
    } else {
        let rendered = render(Err(failure(status)), request_id);
        (rendered.body, rendered.content_type)
    };
    let length = body.len();
    let mut answer = response(status, content_type, Body::from(body), request_id);
    if let Some(seconds) = retry_after {
        answer
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    (answer, length)
}

fn failure(status: StatusCode) -> Failure {
    let message = "Injected by the simulator.";
    match status.as_u16() {
        429 => Failure::Gateway {
            status,
            code: THROTTLED,
            message: "The throttling threshold has been reached: policy user over ratelimit,limit:200,time:1 minute".to_string(),
        },
        401 => Failure::unauthorized(message),
        404 => Failure::service(status, NOT_FOUND, message),
        409 => Failure::service(status, CONFLICT, message),
        500..=599 => Failure::service(status, INTERNAL, message),
        _ => Failure::service(status, INVALID, message),
    }
}

/// The answer's status and headers with its full `Content-Length`, then the first half of its
/// body, then the connection closes.
pub(super) fn truncated(rendered: Rendered, request_id: &str) -> (Response, usize) {
    let full = rendered.body.len();
    let half = Bytes::from(rendered.body).slice(..full / 2);
    let sent = half.len();
    let parts = stream::unfold(0, move |step| {
        let half = half.clone();
        async move {
            match step {
                0 => Some((Ok(half), 1)),
                1 => {
                    tokio::time::sleep(CUT_PAUSE).await;
                    Some((
                        Err(std::io::Error::other("answer cut by a simulated fault")),
                        2,
                    ))
                }
                _ => None,
            }
        }
    });
    let mut answer = response(
        rendered.status,
        rendered.content_type,
        Body::from_stream(parts),
        request_id,
    );
    answer
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(full));
    (answer, sent)
}

/// 200 with an HTML error page where JSON belongs, as a misbehaving proxy sends.
pub(super) fn malformed(request_id: &str) -> (Response, usize) {
    let body = "<html><head><title>Error</title></head><body><h1>An error occurred.</h1>\
                <p>Sorry, the page you are looking for is currently unavailable.</p></body></html>\n";
    let answer = response(
        StatusCode::OK,
        "application/json",
        Body::from(body),
        request_id,
    );
    (answer, body.len())
}

/// The real answer followed by `mib` MiB of spaces: still JSON, but far too large.
pub(super) fn oversized(rendered: Rendered, mib: u64, request_id: &str) -> (Response, usize) {
    let padding = Bytes::from(vec![b' '; MIB]);
    let chunks = usize::try_from(mib).unwrap_or(usize::MAX);
    let length = rendered
        .body
        .len()
        .saturating_add(chunks.saturating_mul(MIB));
    let body = stream::iter(
        std::iter::once(Bytes::from(rendered.body))
            .chain(std::iter::repeat_n(padding, chunks))
            .map(Ok::<Bytes, std::io::Error>),
    );
    let mut answer = response(
        rendered.status,
        rendered.content_type,
        Body::from_stream(body),
        request_id,
    );
    answer
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    (answer, length)
}

/// A batch-delete's answer naming the job carried out before its own (its own when it is the
/// first); any other answer as it was.
pub(super) fn repeated_job_id(mut rendered: Rendered, jobs: &[Job]) -> Rendered {
    let Ok(own) = serde_json::from_slice::<BatchDeleteResponse>(&rendered.body) else {
        return rendered;
    };
    let previous = jobs
        .iter()
        .position(|job| job.id == own.job_id)
        .and_then(|position| position.checked_sub(1))
        .map_or(own.job_id.clone(), |position| jobs[position].id.clone());
    rendered.body = serde_json::to_vec(&BatchDeleteResponse { job_id: previous })
        .expect("an answer always serialises");
    rendered
}
