//! The config file as serde reads it, and the JSON Schema editors see. Every table denies unknown
//! keys and every value a later check may reject keeps its span, so `load` can point at it. The
//! doc comments here are the schema's descriptions: write them for the person editing the file.

use std::collections::BTreeMap;

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema};
use serde::Deserialize;
use toml::Spanned;

/// Defaults live here, beside the types, because the schema shows them to editors and `load`
/// applies them: one constant each keeps the two from drifting.
pub(super) mod defaults {
    pub const DELETE_USERS: bool = false;
    /// The Workspace API's own default for `email_notification`.
    pub const EMAIL_NOTIFICATION: bool = true;
    pub const FORCE: bool = false;
    pub const BATCH_SIZE: i64 = 100;
    pub const PROTECT_TAG: &str = "deskprune:protect";
    pub const MAX_DELETIONS: i64 = 10;
    pub const MAX_DELETE_PERCENT: f64 = 25.0;
    pub const ALLOW_EMPTY: bool = false;
    pub const IN_USE_LOGIN_STATUSES: &[&str] = &["CONNECTED"];
    pub const MAX_RETRIES: i64 = 5;
    pub const TIMEOUT_SECONDS: f64 = 30.0;
    pub const MAX_CONCURRENCY: i64 = 8;
    pub const LEASE_SECONDS: i64 = 60;
}

/// A deskprune config: the Workspace desktops one project should have. `deskprune apply` deletes
/// every desktop in `[scope]` that no `[[desktop]]` entry declares.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "deskprune config")]
pub struct RawConfig {
    #[schemars(with = "RawCloud")]
    pub cloud: Option<Spanned<RawCloud>>,
    #[schemars(with = "RawScope")]
    pub scope: Option<Spanned<RawScope>>,
    pub delete: Option<RawDelete>,
    pub guard: Option<RawGuard>,
    pub client: Option<RawClient>,
    #[schemars(with = "Option<RawState>")]
    pub state: Option<Spanned<RawState>>,
    /// The desktops that should exist, one `[[desktop]]` entry each.
    #[serde(default)]
    #[schemars(with = "Vec<RawDesktop>")]
    pub desktop: Vec<Spanned<RawDesktop>>,
    /// More desktops that should exist, as plain lists: the compact form for long, generated
    /// lists (the same as one `[[desktop]]` entry per item).
    pub desktops: Option<RawDesktops>,
}

/// Which project, in which region, and where the API calls go.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Cloud")]
pub struct RawCloud {
    /// Region id, like `cn-north-4`, `ap-southeast-3` or `eu-west-101`.
    #[schemars(with = "String", regex(pattern = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"))]
    pub region: Option<Spanned<String>>,
    /// Project id in that region: 32 lower-case hex digits.
    #[schemars(with = "String", regex(pattern = r"^[0-9a-f]{32}$"))]
    pub project_id: Option<Spanned<String>>,
    /// Send API calls here instead of `https://workspace.{region}.myhuaweicloud.com`: `https` to
    /// any host, plain `http` only to a loopback host (`127.0.0.1`, `[::1]`, `localhost`). No
    /// path, query or fragment.
    #[schemars(with = "Option<String>", extend("format" = "uri"))]
    pub endpoint: Option<Spanned<String>>,
    /// Run against the built-in simulator seeded from this inventory file (relative to this
    /// config file's folder) instead of the cloud. Not together with `endpoint`.
    #[schemars(with = "Option<String>", length(min = 1))]
    pub simulator: Option<Spanned<String>>,
}

/// Which desktops this file manages; every criterion given must match. Desktops outside the
/// scope are never touched. Give at least one criterion, or `all = true`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Scope")]
pub struct RawScope {
    /// Manage every desktop of the project. Only on its own: not with any other criterion.
    #[schemars(with = "Option<bool>")]
    pub all: Option<Spanned<bool>>,
    /// Only desktops in this enterprise project: 1 to 36 letters, digits, `-` or `_`.
    #[schemars(with = "Option<String>", regex(pattern = r"^[A-Za-z0-9_-]{1,36}$"))]
    pub enterprise_project_id: Option<Spanned<String>>,
    /// Only desktops carrying every one of these tags (key and value compared exactly).
    #[schemars(
        with = "Option<BTreeMap<String, String>>",
        extend("propertyNames" = { "minLength": 1 })
    )]
    pub tags: Option<Spanned<BTreeMap<Spanned<String>, Spanned<String>>>>,
    /// Only desktops whose computer name starts with this (compared case-insensitively).
    #[schemars(with = "Option<String>", length(min = 1))]
    pub name_prefix: Option<Spanned<String>>,
}

/// How desktops are deleted.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Delete")]
pub struct RawDelete {
    /// Also delete the users left without a desktop.
    #[schemars(extend("default" = defaults::DELETE_USERS))]
    pub delete_users: Option<bool>,
    /// Email the users that their desktop was deleted.
    #[schemars(extend("default" = defaults::EMAIL_NOTIFICATION))]
    pub email_notification: Option<bool>,
    /// Force the deletion (sent as `is_force_delete`).
    #[schemars(extend("default" = defaults::FORCE))]
    pub force: Option<bool>,
    /// Desktops per delete request; the API takes at most 100.
    #[schemars(
        with = "Option<i64>",
        range(min = 1, max = 100),
        extend("default" = defaults::BATCH_SIZE)
    )]
    pub batch_size: Option<Spanned<i64>>,
}

/// Limits that stop an apply before it deletes too much.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Guard")]
pub struct RawGuard {
    /// A desktop carrying this tag (with any value but `false`) is never deleted.
    #[schemars(
        with = "Option<String>",
        length(min = 1),
        extend("default" = defaults::PROTECT_TAG)
    )]
    pub protect_tag: Option<Spanned<String>>,
    /// Above this many deletions, apply needs `--allow-deletions N`.
    #[schemars(
        with = "Option<i64>",
        range(min = 0),
        extend("default" = defaults::MAX_DELETIONS)
    )]
    pub max_deletions: Option<Spanned<i64>>,
    /// Above this percent of the desktops in scope, apply needs `--allow-deletions N`.
    #[schemars(
        with = "Option<f64>",
        range(min = 0, max = 100),
        extend("default" = defaults::MAX_DELETE_PERCENT)
    )]
    pub max_delete_percent: Option<Spanned<f64>>,
    /// Accept a file that declares no desktop, which deletes every desktop in scope.
    #[schemars(extend("default" = defaults::ALLOW_EMPTY))]
    pub allow_empty: Option<bool>,
    /// Desktops whose login status is one of these are in use and skipped.
    #[schemars(
        with = "Option<Vec<LoginStatus>>",
        extend("default" = defaults::IN_USE_LOGIN_STATUSES)
    )]
    pub in_use_login_statuses: Option<Vec<Spanned<String>>>,
}

/// A desktop's login status, as the Workspace API reports it.
#[derive(JsonSchema)]
#[schemars(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(
    dead_code,
    reason = "only describes the accepted strings to the schema"
)]
enum LoginStatus {
    Unregister,
    Registered,
    Connected,
    Disconnected,
}

/// The strings `LoginStatus` describes; `load` checks against these.
pub(super) const LOGIN_STATUSES: &[&str] =
    &["UNREGISTER", "REGISTERED", "CONNECTED", "DISCONNECTED"];

/// How the API client behaves.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Client")]
pub struct RawClient {
    /// Retries per read call (throttled, server error, timeout); writes are retried only when
    /// provably not received.
    #[schemars(
        with = "Option<i64>",
        range(min = 0, max = 20),
        extend("default" = defaults::MAX_RETRIES)
    )]
    pub max_retries: Option<Spanned<i64>>,
    /// Seconds one request may take, more than 0 and at most 600.
    #[schemars(
        with = "Option<f64>",
        range(max = 600),
        extend("exclusiveMinimum" = 0, "default" = defaults::TIMEOUT_SECONDS)
    )]
    pub timeout: Option<Spanned<f64>>,
    /// Requests in flight at once.
    #[schemars(
        with = "Option<i64>",
        range(min = 1, max = 64),
        extend("default" = defaults::MAX_CONCURRENCY)
    )]
    pub max_concurrency: Option<Spanned<i64>>,
    /// A ceiling on requests started per second, from 0.01 to 1000. deskprune finds the
    /// API's rate by itself (it starts modest, speeds up while calls are not throttled and
    /// slows down when they are); this only caps it. Absent: no ceiling.
    #[schemars(with = "Option<f64>", range(min = 0.01, max = 1000))]
    pub requests_per_second: Option<Spanned<f64>>,
}

/// Where the state (the journal of every job sent, and the lock) lives: beside this file by
/// default, or in an S3-compatible bucket (OBS, MinIO, S3) shared by every machine that applies.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "State")]
pub struct RawState {
    /// `local` (the default: `deskprune.state.json` beside this file) or `s3`.
    #[schemars(with = "Option<StateBackend>", extend("default" = "local"))]
    pub backend: Option<Spanned<String>>,
    /// The bucket (`s3` only), which must exist.
    #[schemars(with = "Option<String>", length(min = 3, max = 63))]
    pub bucket: Option<Spanned<String>>,
    /// The state object's key in the bucket (`s3` only); the lock, probe and run records are
    /// stored beside it (`<key>.lock`, `<key>.probe`, `<key>.runs/`).
    #[schemars(with = "Option<String>", length(min = 1))]
    pub key: Option<Spanned<String>>,
    /// The store's address (`s3` only), like `https://obs.cn-north-4.myhuaweicloud.com`: `https`
    /// to any host, plain `http` only to a loopback host.
    #[schemars(with = "Option<String>", extend("format" = "uri"))]
    pub endpoint: Option<Spanned<String>>,
    /// The store's region (`s3` only), like `cn-north-4`.
    #[schemars(with = "Option<String>", length(min = 1))]
    pub region: Option<Spanned<String>>,
    /// Seconds a lock lasts unless renewed (`s3` only); a run that dies leaves it for this long.
    #[schemars(
        with = "Option<i64>",
        range(min = 5, max = 3600),
        extend("default" = defaults::LEASE_SECONDS)
    )]
    pub lease_seconds: Option<Spanned<i64>>,
}

/// Where the state lives.
#[derive(JsonSchema)]
#[schemars(rename_all = "lowercase")]
#[allow(
    dead_code,
    reason = "only describes the accepted strings to the schema"
)]
enum StateBackend {
    Local,
    S3,
}

/// A desktop that should exist, named by exactly one of `name` or `id`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    rename = "Desktop",
    extend("oneOf" = [{ "required": ["name"] }, { "required": ["id"] }])
)]
pub struct RawDesktop {
    /// The desktop's computer name (compared case-insensitively).
    #[schemars(with = "Option<String>", length(min = 1))]
    pub name: Option<Spanned<String>>,
    /// The desktop's id.
    #[schemars(with = "Option<String>", length(min = 1))]
    pub id: Option<Spanned<String>>,
}

/// `[desktops]`: declarations as lists, one string per desktop.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Desktops")]
pub struct RawDesktops {
    /// Computer names of desktops that should exist (compared case-insensitively).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub names: Vec<Spanned<String>>,
    /// Ids of desktops that should exist.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub ids: Vec<Spanned<String>>,
    /// A text file of more computer names, one per line (relative to this config file's
    /// folder): blank lines and lines starting with `#` are skipped, each line is trimmed.
    #[schemars(with = "Option<String>", length(min = 1))]
    pub names_file: Option<Spanned<String>>,
    /// A text file of more desktop ids, one per line, read as `names_file` is.
    #[schemars(with = "Option<String>", length(min = 1))]
    pub ids_file: Option<Spanned<String>>,
}

/// The JSON Schema (draft-07, which taplo / Even Better TOML understand) of the config file.
pub fn schema() -> serde_json::Value {
    let generator = SchemaSettings::draft07()
        .with_transform(tidy)
        .into_generator();
    generator.into_root_schema_for::<RawConfig>().to_value()
}

/// Fits the generated schema to TOML and to editors' hover text. TOML has no null, so an optional
/// key is simply absent: drop the `null` schemars adds to every `Option`, or editors would offer
/// to write `null`. Doc comments are hard-wrapped at 100 columns: rejoin their lines.
fn tidy(schema: &mut Schema) {
    if let Some(object) = schema.as_object_mut() {
        if let Some(serde_json::Value::String(description)) = object.get_mut("description") {
            *description = description
                .split("\n\n")
                .map(|paragraph| paragraph.split('\n').collect::<Vec<_>>().join(" "))
                .collect::<Vec<_>>()
                .join("\n\n");
        }
        if object
            .get("default")
            .is_some_and(serde_json::Value::is_null)
        {
            object.remove("default");
        }
        if let Some(serde_json::Value::Array(types)) = object.get_mut("type") {
            types.retain(|t| t != "null");
            if let [only] = types.as_slice() {
                let only = only.clone();
                object.insert("type".into(), only);
            }
        }
        if let Some(serde_json::Value::Array(variants)) = object.get_mut("anyOf") {
            variants.retain(|v| v.get("type").is_none_or(|t| t != "null"));
            if let [only] = variants.as_slice() {
                let only = only.clone();
                object.remove("anyOf");
                if object.is_empty() {
                    *schema = Schema::try_from(only).unwrap_or_default();
                } else {
                    // Draft-07 ignores keys beside a `$ref`, so it goes into `allOf` instead.
                    object.insert("allOf".into(), serde_json::Value::Array(vec![only]));
                }
            }
        }
    }
    schemars::transform::transform_subschemas(&mut tidy, schema);
}
