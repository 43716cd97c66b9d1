//! The Workspace API's calls deskprune makes, each built as a [`Call`] (method, path, query,
//! body, and a name for messages) and handed to the client, which signs, paces, retries and
//! decodes it; what may be retried is decided here, per call.

use reqwest::{Method, StatusCode};

use super::answer::{decode, usable_job_id};
use super::client::{Call, Client};
use super::error::ApiError;
use super::sign;
use super::wire::{
    BatchDeleteResponse, DeleteDesktopsReq, ListDesktopsDetailResponse, ListDesktopsResponse,
    ListSubJobsResponse, ListedDesktop, LoginState, ShowJobResponse,
};
use crate::text::printable;

/// Filters of the desktop lists that deskprune uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    pub enterprise_project_id: Option<String>,
    /// `key=value` pairs, sent as one `tag` parameter joined by `,`.
    pub tags: Vec<(String, String)>,
    /// At most 100.
    pub desktop_ids: Vec<String>,
    /// A computer name; the service may match more than it (a part of a name, in any case).
    pub computer_name: Option<String>,
}

impl ListFilter {
    fn push_into(&self, query: &mut Vec<(String, String)>) {
        if let Some(eps) = &self.enterprise_project_id {
            query.push(("enterprise_project_id".into(), eps.clone()));
        }
        if !self.tags.is_empty() {
            let tags: Vec<String> = self.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
            query.push(("tag".into(), tags.join(",")));
        }
        for id in &self.desktop_ids {
            query.push(("desktop_id".into(), id.clone()));
        }
        if let Some(name) = &self.computer_name {
            query.push(("computer_name".into(), name.clone()));
        }
    }
}

impl Client {
    /// `GET /desktops`, one page.
    pub async fn list_desktops(
        &self,
        offset: usize,
        limit: usize,
        filter: &ListFilter,
    ) -> Result<ListDesktopsResponse<ListedDesktop>, ApiError> {
        let mut query = vec![
            ("offset".to_string(), offset.to_string()),
            ("limit".to_string(), limit.to_string()),
        ];
        filter.push_into(&mut query);
        self.read(Call {
            name: format!("list desktops (offset {offset})"),
            method: Method::GET,
            path: "desktops".into(),
            query,
            body: Vec::new(),
        })
        .await
    }

    /// `GET /desktops/detail`, one page.
    pub async fn list_desktops_detail(
        &self,
        offset: usize,
        limit: usize,
        filter: &ListFilter,
    ) -> Result<ListDesktopsDetailResponse<LoginState>, ApiError> {
        let mut query = vec![
            ("offset".to_string(), offset.to_string()),
            ("limit".to_string(), limit.to_string()),
        ];
        filter.push_into(&mut query);
        self.read(Call {
            name: format!("list desktop details (offset {offset})"),
            method: Method::GET,
            path: "desktops/detail".into(),
            query,
            body: Vec::new(),
        })
        .await
    }

    /// `POST /desktops/batch-delete`. Sent again only when the first attempt provably did not
    /// reach the service (no connection, or a 429/503 the gateway explained: see
    /// [`ApiError::provably_not_carried_out`]): deleting is not idempotent.
    pub async fn batch_delete(
        &self,
        request: &DeleteDesktopsReq,
    ) -> Result<BatchDeleteResponse, ApiError> {
        let body = serde_json::to_vec(request).expect("a DeleteDesktopsReq always serialises");
        let call = Call {
            name: format!(
                "batch-delete of {} desktop{}",
                request.desktop_ids.len(),
                if request.desktop_ids.len() == 1 {
                    ""
                } else {
                    "s"
                }
            ),
            method: Method::POST,
            path: "desktops/batch-delete".into(),
            query: Vec::new(),
            body,
        };
        let (status, answer) = self
            .send_with_retries(&call, ApiError::provably_not_carried_out)
            .await?;
        let accepted: BatchDeleteResponse = decode(&call.name, status, answer)
            .and_then(|accepted| usable_job_id(&call.name, status, accepted))
            .map_err(|err| self.clean(err))?;
        Ok(accepted)
    }

    /// `GET /workspace-jobs/{job_id}`. An answer about another job (its `id` is not
    /// `job_id`) is malformed: it says nothing about this one.
    pub async fn show_job(&self, job_id: &str) -> Result<ShowJobResponse, ApiError> {
        let name = format!("show job {}", printable(job_id));
        let job: ShowJobResponse = self
            .read(Call {
                name: name.clone(),
                method: Method::GET,
                path: format!("workspace-jobs/{}", sign::encode(job_id)),
                query: Vec::new(),
                body: Vec::new(),
            })
            .await?;
        match &job.id {
            Some(id) if !id.eq_ignore_ascii_case(job_id) => Err(self.clean(ApiError::Malformed {
                call: name,
                status: StatusCode::OK.as_u16(),
                detail: format!("it is about job `{id}`"),
            })),
            _ => Ok(job),
        }
    }

    /// `GET /workspace-sub-jobs?job_id=…`, one page.
    pub async fn list_sub_jobs(
        &self,
        job_id: &str,
        offset: usize,
    ) -> Result<ListSubJobsResponse, ApiError> {
        self.read(Call {
            name: format!(
                "list sub-jobs of job {} (offset {offset})",
                printable(job_id)
            ),
            method: Method::GET,
            path: "workspace-sub-jobs".into(),
            query: vec![
                ("job_id".into(), job_id.into()),
                ("limit".into(), "1000".into()),
                ("offset".into(), offset.to_string()),
            ],
            body: Vec::new(),
        })
        .await
    }

    /// `GET /workspace-sub-jobs?job_type=…`, one page: the sub-jobs of every job of that type,
    /// to find a job whose ID was never heard by the desktops its sub-jobs name.
    pub async fn list_sub_jobs_of_type(
        &self,
        job_type: &str,
        offset: usize,
    ) -> Result<ListSubJobsResponse, ApiError> {
        self.read(Call {
            name: format!("list {job_type} sub-jobs (offset {offset})"),
            method: Method::GET,
            path: "workspace-sub-jobs".into(),
            query: vec![
                ("job_type".into(), job_type.into()),
                ("limit".into(), "1000".into()),
                ("offset".into(), offset.to_string()),
            ],
            body: Vec::new(),
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_declared_name_goes_out_as_one_parameter_whatever_it_holds() {
        for name in ["a&limit=1", "pc=01&desktop_id=x", "Zoë 01/ü+%", "&", "="] {
            let mut query = vec![("limit".to_string(), "100".to_string())];
            ListFilter {
                computer_name: Some(name.to_string()),
                ..ListFilter::default()
            }
            .push_into(&mut query);
            // What the client sends, as the gateway (and the simulator) reads it back.
            let mut received = sign::parse_query(&sign::canonical_query(&query));
            received.sort();
            assert_eq!(
                received,
                [
                    ("computer_name".to_string(), name.to_string()),
                    ("limit".to_string(), "100".to_string()),
                ],
                "{name:?}"
            );
        }
    }
}
