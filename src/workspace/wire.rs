//! The Workspace API's JSON bodies, exactly as they travel: shared by the client and the
//! simulator so the two cannot drift apart.
//!
//! Field names, order and optionality follow the official SDK models (see
//! `../shared/workspace-api/README.md`). Every optional field is skipped when absent, so a body
//! the simulator serialises has the same keys, in the same order, as the service's. Readers
//! ignore fields they do not know: the real service adds fields over time.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Largest `limit` of `GET /v2/{project_id}/desktops`.
pub const LIST_PAGE_LIMIT: usize = 1000;
/// Largest `limit` of `GET /v2/{project_id}/desktops/detail` (the doc says 500, the spec 1000:
/// the smaller one is the one that works everywhere).
pub const DETAIL_PAGE_LIMIT: usize = 500;
/// Most IDs in one `batch-delete` body and in one `desktop_id` list filter.
pub const MAX_IDS_PER_CALL: usize = 100;

/// Longest identifier (desktop ID, job ID) deskprune takes from an answer.
pub const MAX_ID_LEN: usize = 128;

/// What [`is_usable_id`] accepts, for messages.
pub const USABLE_ID_RULE: &str =
    "1 to 128 ASCII letters, digits, `-`, `_` or `.`, and not `.` or `..`";

/// Whether an identifier from an answer can be acted on: recorded, sent back, put in a path.
/// It must be one safe path segment that shows as itself: 1 to [`MAX_ID_LEN`] ASCII letters,
/// digits, `-`, `_` or `.`, and not `.` or `..`. Real IDs are UUIDs; anything else is a
/// malformed answer, never something to act on.
pub fn is_usable_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// `{key, value}` as carried by both list calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// An entry of `attach_user_infos`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttachUserInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_group: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// `SimpleDesktopInfo`: one desktop of `GET /desktops`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimpleDesktopInfo {
    pub desktop_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub computer_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_host_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_user_infos: Option<Vec<AttachUserInfo>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ou_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enterprise_project_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_maintenance_mode: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_resource_sku: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desktop_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desktop_detail_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bill_resource_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_status: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
}

/// `ListDesktopsResponse`: a page of `GET /desktops`. The simulator serialises it with
/// borrowed [`SimpleDesktopInfo`]s; the client reads it with [`ListedDesktop`]s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListDesktopsResponse<D = SimpleDesktopInfo> {
    pub total_count: u64,
    #[serde(default = "Vec::new")]
    pub desktops: Vec<D>,
}

/// The fields of a [`SimpleDesktopInfo`] that deskprune reads. The others are skipped while
/// parsing, never allocated: at 100,000 desktops a page is 1 MB, and most of it is fields a
/// plan never looks at.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ListedDesktop {
    pub desktop_id: String,
    #[serde(default)]
    pub computer_name: Option<String>,
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub user_name: Option<String>,
    #[serde(default)]
    pub enterprise_project_id: Option<String>,
    #[serde(default)]
    pub tags: Option<Vec<Tag>>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub task_status: Option<String>,
}

/// `DesktopDetailInfo`: one desktop of `GET /desktops/detail`. Nested objects that deskprune
/// never reads are kept as opaque JSON so the simulator can still serve them unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesktopDetailInfo {
    pub desktop_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub computer_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_host_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addresses: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_addresses: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_list: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_group_list: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desktop_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flavor: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_status: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_maintenance_mode: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_groups: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_user_infos: Option<Vec<AttachUserInfo>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_resource_sku: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_volume: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_volumes: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ou_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_support_internet: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internet_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internet_mode_list: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_attaching_eip: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enterprise_project_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bill_resource_id: Option<String>,
    /// 0–100 while a task runs, `null` otherwise: kept as JSON so `null` survives a round trip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_resource_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_freeze: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolated: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_version: Option<String>,
}

/// `ListDesktopsDetailResponse`: a page of `GET /desktops/detail`. The client reads it with
/// [`LoginState`]s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListDesktopsDetailResponse<D = DesktopDetailInfo> {
    #[serde(default = "Vec::new")]
    pub desktops: Vec<D>,
    pub total_count: u64,
}

/// The fields of a [`DesktopDetailInfo`] that deskprune reads: who is logged in.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LoginState {
    pub desktop_id: String,
    #[serde(default)]
    pub login_status: Option<String>,
}

/// `DeleteDesktopsReq`: the body of `POST /desktops/batch-delete`. deskprune always sends the
/// three flags explicitly; the simulator accepts them absent, as the service does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteDesktopsReq {
    pub desktop_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_users: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_notification: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_force_delete: Option<bool>,
}

/// The 202 answer of `batch-delete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchDeleteResponse {
    pub job_id: String,
}

/// `entities` of a sub-job: which desktop it is about.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct JobEntities {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desktop_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desktop_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
}

/// `JobDetailInfo`: a sub-job, in ShowJob's `sub_jobs` and in the sub-job list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobDetailInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entities: Option<JobEntities>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub begin_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
}

/// `ShowJobResponse`: `GET /workspace-jobs/{job_id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShowJobResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub begin_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_jobs_total: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_jobs: Option<Vec<JobDetailInfo>>,
}

/// `ListItaSubJobsResponse`: `GET /workspace-sub-jobs?job_id=…`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListSubJobsResponse {
    pub total_count: u64,
    #[serde(default)]
    pub jobs: Vec<JobDetailInfo>,
}

/// An error body from the Workspace service itself (`WKS.*`), in the service's key order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceError {
    pub error_code: String,
    pub error_msg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoded_authorization_message: Option<String>,
}

/// An error body from the API gateway (`APIGW.*`: authentication, throttling, routing), in the
/// gateway's key order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayError {
    pub error_msg: String,
    pub error_code: String,
    pub request_id: String,
}

/// The limit a throttled answer (`APIGW.0308`) states at the end of its message:
/// `The throttling threshold has been reached: policy user over ratelimit,limit:20,time:1 second`
/// (or `time:1 minute`). The simulator writes it, the client's rate reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatedLimit {
    pub calls: u32,
    pub per: std::time::Duration,
}

impl StatedLimit {
    /// The gateway's whole message for it.
    pub fn message(&self) -> String {
        let seconds = self.per.as_secs();
        let time = match seconds {
            86_400 => "1 day".to_string(),
            3600 => "1 hour".to_string(),
            60 => "1 minute".to_string(),
            1 => "1 second".to_string(),
            n => format!("{n} seconds"),
        };
        format!(
            "The throttling threshold has been reached: policy user over ratelimit,limit:{},time:{time}",
            self.calls
        )
    }

    /// The limit stated in `message`, if it states one: the last `limit:N,time:M UNIT`, with N
    /// and M from 1 and UNIT second, minute, hour or day (singular or plural).
    pub fn parse(message: &str) -> Option<StatedLimit> {
        let (_, rest) = message.rsplit_once("limit:")?;
        let (calls, rest) = rest.split_once(",time:")?;
        let calls: u32 = calls.trim().parse().ok().filter(|&n| n > 0)?;
        let mut words = rest.split_whitespace();
        let count: u64 = words.next()?.parse().ok().filter(|&n| n > 0)?;
        let unit = match words
            .next()?
            .trim_end_matches(|c: char| !c.is_ascii_alphabetic())
        {
            "second" | "seconds" => 1,
            "minute" | "minutes" => 60,
            "hour" | "hours" => 3600,
            "day" | "days" => 86_400,
            _ => return None,
        };
        Some(StatedLimit {
            calls,
            per: std::time::Duration::from_secs(count.checked_mul(unit)?),
        })
    }

    /// The limit in calls a second.
    pub fn per_second(&self) -> f64 {
        f64::from(self.calls) / self.per.as_secs_f64()
    }
}

/// As the gateway put it: `20 calls a second`, `1 call a day`, `5 calls per 7 seconds`.
impl std::fmt::Display for StatedLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let calls = match self.calls {
            1 => "1 call".to_string(),
            n => format!("{n} calls"),
        };
        match self.per.as_secs() {
            1 => write!(f, "{calls} a second"),
            60 => write!(f, "{calls} a minute"),
            3600 => write!(f, "{calls} an hour"),
            86_400 => write!(f, "{calls} a day"),
            n => write!(f, "{calls} per {n} seconds"),
        }
    }
}

/// Either error shape as a reader sees it. Like the SDK's exception handler it accepts the
/// `error_code`/`error_msg` spelling and the `errorCode`/`errorMsg` and `code`/`message` ones.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ErrorBody {
    #[serde(default, alias = "errorCode", alias = "code")]
    pub error_code: Option<String>,
    #[serde(default, alias = "errorMsg", alias = "message")]
    pub error_msg: Option<String>,
    #[serde(default)]
    pub request_id: Option<String>,
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
