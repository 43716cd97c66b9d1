//! Which operation a request names, from its method and raw path; `None` is what the gateway
//! answers with `APIGW.0101`. The simulator's own stats endpoint is told apart first.

use axum::http::Method;
use percent_encoding::percent_decode_str;

/// The simulator's own endpoint (no auth): call counters for tests driving a separate process.
const STATS_PATH: &str = "/__simulator/stats";

pub(super) fn is_stats(method: &Method, path: &str) -> bool {
    method == Method::GET && path == STATS_PATH
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Route {
    ListDesktops,
    ListDesktopsDetail,
    BatchDelete,
    ShowJob(String),
    ListSubJobs,
}

impl Route {
    pub(super) fn resolve(method: &Method, path: &str, project_id: &str) -> Option<Route> {
        let decoded: Vec<String> = path
            .strip_prefix('/')?
            .split('/')
            .map(|segment| percent_decode_str(segment).decode_utf8_lossy().into_owned())
            .collect();
        let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
        let ["v2", project, rest @ ..] = segments.as_slice() else {
            return None;
        };
        if *project != project_id {
            return None;
        }
        let route = match (method, rest) {
            (&Method::GET, ["desktops"]) => Route::ListDesktops,
            (&Method::GET, ["desktops", "detail"]) => Route::ListDesktopsDetail,
            (&Method::POST, ["desktops", "batch-delete"]) => Route::BatchDelete,
            (&Method::GET, ["workspace-jobs", job_id]) if !job_id.is_empty() => {
                Route::ShowJob(job_id.to_string())
            }
            (&Method::GET, ["workspace-sub-jobs"]) => Route::ListSubJobs,
            _ => return None,
        };
        Some(route)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_the_five_operations_of_the_project_only() {
        let project = "p1";
        let cases = [
            (Method::GET, "/v2/p1/desktops", Some(Route::ListDesktops)),
            (
                Method::GET,
                "/v2/p1/desktops/detail",
                Some(Route::ListDesktopsDetail),
            ),
            (
                Method::POST,
                "/v2/p1/desktops/batch-delete",
                Some(Route::BatchDelete),
            ),
            (
                Method::GET,
                "/v2/p1/workspace-jobs/j%2D1",
                Some(Route::ShowJob("j-1".to_string())),
            ),
            (
                Method::GET,
                "/v2/p1/workspace-sub-jobs",
                Some(Route::ListSubJobs),
            ),
            (Method::GET, "/__simulator/stats", None),
            (Method::GET, "/v2/p2/desktops", None),
            (Method::DELETE, "/v2/p1/desktops", None),
            (Method::GET, "/v2/p1/desktops/", None),
            (Method::GET, "/v2/p1/workspace-jobs/", None),
            (Method::GET, "/v3/p1/desktops", None),
            (Method::GET, "/", None),
        ];
        for (method, path, expected) in cases {
            assert_eq!(
                Route::resolve(&method, path, project),
                expected,
                "{method} {path}"
            );
        }
        assert!(is_stats(&Method::GET, "/__simulator/stats"));
        assert!(!is_stats(&Method::POST, "/__simulator/stats"));
    }
}
