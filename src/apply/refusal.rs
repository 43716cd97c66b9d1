//! Refusals about one desktop: a `WKS.*` 404 (no such desktop) or 409 (its state forbids
//! deleting it now) to a batch-delete, which names the desktop it is about or, in a batch of
//! one, can only be about that one.

use jiff::Timestamp;

use crate::state::Refusal;
use crate::workspace::ApiError;

/// Whether a refusal is the Workspace service's answer about a desktop (404: it does not exist;
/// 409: its state forbids deleting it now). A gateway's (`APIGW.*`: no such API, for one) or a
/// proxy's bare 404 says nothing about any desktop: it stops sending instead of being taken
/// apart desktop by desktop and reported as "already gone".
pub(super) fn is_about_one_desktop(err: &ApiError) -> bool {
    matches!(err.status(), Some(404 | 409))
        && err.code().is_some_and(|code| code.starts_with("WKS."))
}

/// The desktop a per-desktop refusal is about: the one ID of `batch` its message names, or the
/// only ID when the batch has one. Returns it and the rest of the batch.
pub(super) fn single_out(err: &ApiError, batch: Vec<String>) -> (Option<String>, Vec<String>) {
    let message = match err {
        ApiError::Refused { message, .. } => message.as_str(),
        _ => "",
    };
    let named: Vec<usize> = batch
        .iter()
        .enumerate()
        .filter(|(_, id)| !id.is_empty() && message.contains(id.as_str()))
        .map(|(index, _)| index)
        .collect();
    match (named.as_slice(), batch.len()) {
        ([index], _) => {
            let mut rest = batch;
            let id = rest.remove(*index);
            (Some(id), rest)
        }
        (_, 1) => (batch.into_iter().next(), Vec::new()),
        _ => (None, batch),
    }
}

pub(super) fn refusal(id: &str, err: &ApiError) -> Refusal {
    let (status, code, message) = match err {
        ApiError::Refused {
            status,
            code,
            message,
            ..
        } => (*status, code.clone(), message.clone()),
        other => (
            other.status().unwrap_or(0),
            String::new(),
            other.to_string(),
        ),
    };
    Refusal {
        desktop_id: id.to_string(),
        at: Timestamp::now(),
        http_status: status,
        error_code: code,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conflict(message: &str) -> ApiError {
        ApiError::Refused {
            call: "batch-delete".into(),
            status: 409,
            code: "WKS.00010032".into(),
            message: message.into(),
            request_id: None,
        }
    }

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|id| id.to_string()).collect()
    }

    #[test]
    fn singles_out_the_named_desktop() {
        let err = conflict("Operation conflict ... resource id [id-0002].");
        assert_eq!(
            single_out(&err, ids(&["id-0001", "id-0002", "id-0003"])),
            (Some("id-0002".into()), ids(&["id-0001", "id-0003"]))
        );
    }

    #[test]
    fn a_gateway_404_is_not_about_a_desktop() {
        let gateway = ApiError::Refused {
            call: "batch-delete".into(),
            status: 404,
            code: "APIGW.0101".into(),
            message: "The API does not exist".into(),
            request_id: None,
        };
        assert!(!is_about_one_desktop(&gateway));
        assert!(
            gateway.is_client_refusal(),
            "so sending stops, nothing recorded as gone"
        );
        assert!(is_about_one_desktop(&conflict("busy")));
    }

    #[test]
    fn an_unnamed_refusal_of_one_is_that_one() {
        let err = conflict("The resource not found.");
        assert_eq!(single_out(&err, ids(&["a"])), (Some("a".into()), vec![]));
        assert_eq!(single_out(&err, ids(&["a", "b"])), (None, ids(&["a", "b"])));
    }
}
