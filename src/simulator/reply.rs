//! What the simulator answers: a JSON body with a status, or one of the two error shapes the
//! real service produces (gateway `APIGW.*` and service `WKS.*`), each rendered with the
//! `X-Request-Id` every answer carries.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Serialize;

use crate::workspace::wire::{GatewayError, ServiceError};

/// Generic invalid request (`WKS.0001`).
pub(super) const INVALID: &str = "WKS.0001";
/// The desktop's state forbids the operation (`WKS.00010032`).
pub(super) const CONFLICT: &str = "WKS.00010032";
/// Resource not found. UNCONFIRMED: the service's code for an unknown desktop or job is not
/// documented; `WKS.0202` is the code Terraform treats as "gone" elsewhere in Workspace.
pub(super) const NOT_FOUND: &str = "WKS.0202";

/// A successful answer, already serialised.
pub(super) struct Reply {
    status: StatusCode,
    body: Vec<u8>,
}

impl Reply {
    pub(super) fn json(status: StatusCode, body: &impl Serialize) -> Reply {
        Reply {
            status,
            body: serde_json::to_vec(body).expect("wire types always serialise"),
        }
    }
}

/// A refused request, in the shape of whoever refuses it on the real cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Failure {
    /// The API gateway: routing and authentication.
    Gateway {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
    /// The Workspace service behind it.
    Service {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
}

impl Failure {
    pub(super) fn no_such_api() -> Failure {
        Failure::Gateway {
            status: StatusCode::NOT_FOUND,
            code: "APIGW.0101",
            message: "The API does not exist or has not been published in the environment"
                .to_string(),
        }
    }

    pub(super) fn unauthorized(reason: &str) -> Failure {
        Failure::Gateway {
            status: StatusCode::UNAUTHORIZED,
            code: "APIGW.0301",
            message: format!("Incorrect IAM authentication information: {reason}"),
        }
    }

    pub(super) fn invalid(message: impl Into<String>) -> Failure {
        Failure::service(StatusCode::BAD_REQUEST, INVALID, message)
    }

    pub(super) fn service(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
    ) -> Failure {
        Failure::Service {
            status,
            code,
            message: message.into(),
        }
    }
}

/// An answer ready to send: status, body and its media type, before any compression.
pub(super) struct Rendered {
    pub(super) status: StatusCode,
    pub(super) body: Vec<u8>,
    pub(super) content_type: &'static str,
}

pub(super) fn render(outcome: Result<Reply, Failure>, request_id: &str) -> Rendered {
    let (status, body) = match outcome {
        Ok(reply) => (reply.status, reply.body),
        Err(Failure::Gateway {
            status,
            code,
            message,
        }) => {
            let body = GatewayError {
                error_msg: message,
                error_code: code.to_string(),
                request_id: request_id.to_string(),
            };
            (status, Reply::json(status, &body).body)
        }
        Err(Failure::Service {
            status,
            code,
            message,
        }) => {
            let body = ServiceError {
                error_code: code.to_string(),
                error_msg: message,
                error_detail: None,
                encoded_authorization_message: None,
            };
            (status, Reply::json(status, &body).body)
        }
    };
    Rendered {
        status,
        body,
        content_type: "application/json",
    }
}

/// The HTTP answer: `body` with the status, media type and the `X-Request-Id` every answer
/// carries.
pub(super) fn response(
    status: StatusCode,
    content_type: &'static str,
    body: Body,
    request_id: &str,
) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        "x-request-id",
        HeaderValue::from_str(request_id).expect("a simple uuid is a valid header value"),
    );
    response
}
