//! What can go wrong on a call to the Workspace API, classified for retries and for the user.

use std::fmt;

/// One failed call. `call` names it in the user's terms, e.g. `list desktops (offset 2000)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The service (or its gateway) answered with an error status.
    #[error(
        "{call} was refused: HTTP {status} {code}: {message}{}",
        request_suffix(request_id)
    )]
    Refused {
        call: String,
        status: u16,
        /// `WKS.*`, `APIGW.*`, or the HTTP status when the body carried no code.
        code: String,
        message: String,
        request_id: Option<String>,
    },
    /// No usable answer arrived.
    #[error("{call} failed: {detail}")]
    Transport {
        call: String,
        kind: TransportKind,
        detail: String,
    },
    /// The answer pointed elsewhere (3xx). deskprune never follows a redirect: the request
    /// would carry the credentials, and a write its body, to wherever it points. A redirected
    /// write is a call refused whole.
    #[error(
        "{call} was redirected (HTTP {status}) {}; deskprune never follows redirects",
        location.as_ref().map_or_else(|| "without a `Location`".to_string(), |to| format!("to `{to}`"))
    )]
    Redirected {
        call: String,
        status: u16,
        /// Where it pointed: the host (and port), or the header as given (escaped) when it is
        /// not an address.
        location: Option<String>,
    },
    /// An answer arrived but is not what the API documents.
    #[error("{call} returned a malformed answer (HTTP {status}): {detail}")]
    Malformed {
        call: String,
        status: u16,
        detail: String,
    },
}

/// The API gateway's error codes (`APIGW.0308`: throttled); the service's are `WKS.*`.
const GATEWAY_CODE_PREFIX: &str = "APIGW.";

fn request_suffix(request_id: &Option<String>) -> String {
    request_id
        .as_ref()
        .map(|id| format!(" (request id {id})"))
        .unwrap_or_default()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// The connection was never made: the request provably did not reach the service.
    Connect,
    /// No answer in time: the request may have been carried out.
    Timeout,
    /// Anything else after the connection was made (reset, truncated body, ...).
    Other,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Connect => "connection failed",
            TransportKind::Timeout => "timed out",
            TransportKind::Other => "transport error",
        })
    }
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Refused { status, .. }
            | ApiError::Redirected { status, .. }
            | ApiError::Malformed { status, .. } => Some(*status),
            ApiError::Transport { .. } => None,
        }
    }

    pub fn code(&self) -> Option<&str> {
        match self {
            ApiError::Refused { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The error with every text that came from the answer (code, message, request ID,
    /// detail, location) passed through `clean`: the client escapes what a terminal would obey
    /// and removes its own secrets, should an answer echo them.
    pub(crate) fn clean_answer_text(mut self, clean: impl Fn(&str) -> String) -> ApiError {
        let clean = |text: &mut String| *text = clean(text);
        match &mut self {
            ApiError::Refused {
                code,
                message,
                request_id,
                ..
            } => {
                clean(code);
                clean(message);
                request_id.iter_mut().for_each(clean);
            }
            ApiError::Transport { detail, .. } | ApiError::Malformed { detail, .. } => {
                clean(detail);
            }
            ApiError::Redirected { location, .. } => location.iter_mut().for_each(clean),
        }
        self
    }

    /// The final error of a call sent `attempts` times, saying so when it was sent more than
    /// once: "failed" after retries reads differently from "failed" at once.
    pub(crate) fn after_attempts(mut self, attempts: u32) -> ApiError {
        if attempts > 1 {
            match &mut self {
                ApiError::Refused { message: text, .. }
                | ApiError::Transport { detail: text, .. }
                | ApiError::Malformed { detail: text, .. } => {
                    text.push_str(&format!(" (after {attempts} attempts)"));
                }
                ApiError::Redirected { .. } => {}
            }
        }
        self
    }

    /// Whether a read (which changes nothing) is worth sending again.
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Refused { status, .. } => *status == 429 || *status >= 500,
            ApiError::Transport { .. } => true,
            ApiError::Redirected { .. } => false,
            ApiError::Malformed { status, .. } => *status >= 500,
        }
    }

    /// Whether a write provably never reached the service, so sending it again cannot submit
    /// anything twice: the connection was never made, or the API gateway refused it and said
    /// so (a 429 or 503 whose body carries an `APIGW.*` code, the gateway's error shape: it
    /// answers before the service sees the call). Any other answer, a bare 503 or a service's,
    /// balancer's or proxy's 5xx included, may come after the call was carried out.
    pub fn provably_not_carried_out(&self) -> bool {
        match self {
            ApiError::Refused { status, code, .. } => {
                matches!(status, 429 | 503) && code.starts_with(GATEWAY_CODE_PREFIX)
            }
            ApiError::Transport { kind, .. } => *kind == TransportKind::Connect,
            ApiError::Redirected { .. } | ApiError::Malformed { .. } => false,
        }
    }

    /// Whether a refused write was refused whole (a 4xx other than throttling, or a redirect):
    /// nothing of it was carried out, whatever its body says, and nothing more is sent.
    pub fn is_client_refusal(&self) -> bool {
        match self {
            ApiError::Refused { status, .. } => (400..500).contains(status) && *status != 429,
            ApiError::Redirected { .. } => true,
            ApiError::Transport { .. } | ApiError::Malformed { .. } => false,
        }
    }

    /// One line telling the user what to do about it, where we know.
    pub fn hint(&self) -> Option<&'static str> {
        let ApiError::Refused {
            status, code, call, ..
        } = self
        else {
            return match self {
                ApiError::Transport {
                    kind: TransportKind::Connect,
                    ..
                } => Some(
                    "check the network, `[cloud] region` (the endpoint is https://workspace.{region}.myhuaweicloud.com) and `[cloud] endpoint`",
                ),
                ApiError::Transport { .. } => Some(
                    "the service did not answer in time; run again, or raise `[client] timeout`",
                ),
                ApiError::Redirected { .. } => Some(
                    "the API answers where it is called, never elsewhere: check `[cloud] endpoint` and `[cloud] region` (the endpoint is https://workspace.{region}.myhuaweicloud.com); a proxy or gateway that redirects is not the API",
                ),
                _ => None,
            };
        };
        Some(match (*status, code.as_str()) {
            (401, _) => {
                "the credentials were rejected: check the access key and secret key (or the token), and that this machine's clock is right (the gateway allows 15 minutes of skew)"
            }
            (403, "WKS.00010099") => {
                "the Workspace service is not enabled for this project: enable it in the console first"
            }
            // Only a permission fixes a 403: the hint names the one this call needs.
            (403, _) if call.starts_with("batch-delete") => {
                "missing permission: deleting desktops needs the IAM action `workspace:desktops:batchDelete` (with `vpc:ports:get` and `vpc:ports:delete`) on this project; grant it to the IAM user or its group"
            }
            (403, _) if call.contains("sub-jobs") => {
                "missing permission: following a deletion needs the IAM action `workspace:jobs:listSubJobs` on this project; grant it to the IAM user or its group"
            }
            (403, _) if call.contains("job") => {
                "missing permission: following a deletion needs the IAM action `workspace:jobs:get` on this project; grant it to the IAM user or its group"
            }
            (403, _) => {
                "missing permission: listing desktops needs the IAM action `workspace:desktops:list` on this project; grant it to the IAM user or its group"
            }
            (409, _) | (_, "WKS.00010032") => {
                "the desktop's current state forbids deleting it now (it may be busy or already being deleted); run again later"
            }
            (429, _) => {
                "the API kept throttling the calls through every retry: set `[client] requests_per_second` below the limit its message names, or lower `[client] max_concurrency`, and run again"
            }
            (404, "APIGW.0101") => {
                "the API does not exist at this address: check `[cloud] region`, `[cloud] endpoint` and `[cloud] project_id`"
            }
            (status, _) if status >= 500 => "the service failed; run again later",
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(status: u16, code: &str) -> ApiError {
        ApiError::Refused {
            call: "batch-delete".into(),
            status,
            code: code.into(),
            message: "m".into(),
            request_id: None,
        }
    }

    #[test]
    fn only_provable_non_delivery_allows_resending_a_write() {
        assert!(refused(429, "APIGW.0308").provably_not_carried_out());
        assert!(refused(503, "APIGW.0201").provably_not_carried_out());
        // A bare status, or the service's own code: it may have been carried out first.
        for (status, code) in [
            (503, "503"),
            (429, "429"),
            (503, "WKS.00000003"),
            (429, "WKS.0001"),
            (500, "WKS.00000003"),
            (502, "APIGW.0201"),
            (504, "APIGW.0202"),
            (503, "apigw.0201x"),
        ] {
            assert!(
                !refused(status, code).provably_not_carried_out(),
                "{status} {code}"
            );
        }
        let timeout = ApiError::Transport {
            call: "c".into(),
            kind: TransportKind::Timeout,
            detail: "d".into(),
        };
        assert!(!timeout.provably_not_carried_out());
        assert!(timeout.is_transient());
    }

    #[test]
    fn a_redirect_is_a_refusal_never_retried() {
        let redirected = ApiError::Redirected {
            call: "list desktops (offset 0)".into(),
            status: 307,
            location: Some("evil.example".into()),
        };
        assert_eq!(
            redirected.to_string(),
            "list desktops (offset 0) was redirected (HTTP 307) to `evil.example`; deskprune never follows redirects"
        );
        assert!(!redirected.is_transient());
        assert!(!redirected.provably_not_carried_out());
        assert!(redirected.is_client_refusal());
        assert!(redirected.hint().unwrap().contains("`[cloud] endpoint`"));
        let nowhere = ApiError::Redirected {
            call: "c".into(),
            status: 307,
            location: None,
        };
        assert!(
            nowhere
                .to_string()
                .contains("(HTTP 307) without a `Location`")
        );
    }

    #[test]
    fn hints_name_the_likely_cause() {
        assert!(refused(401, "APIGW.0301").hint().unwrap().contains("clock"));
        assert!(
            refused(403, "WKS.00010099")
                .hint()
                .unwrap()
                .contains("enable")
        );
        assert!(
            refused(429, "APIGW.0308")
                .hint()
                .unwrap()
                .contains("requests_per_second")
        );
        assert_eq!(refused(400, "WKS.0001").hint(), None);
    }
}
