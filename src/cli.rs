//! The command-line surface (clap derive). No logic lives here.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "deskprune",
    version,
    about = "Keep the Huawei Cloud Workspace desktops of a project equal to a reviewed declaration",
    long_about = "Keep the Huawei Cloud Workspace desktops of a project equal to a reviewed declaration.\n\n\
        A TOML file declares which desktops should exist and which desktops it manages (its scope). \
        `plan` shows the in-scope desktops that are not declared, which `apply` deletes.",
    after_help = "Exit codes: 0 success; 1 error; 2 `plan --detailed-exitcode` with deletions pending; \
        3 `apply` finished with some desktops not deleted (or could not write its state after sending); \
        4 `apply` timed out waiting for jobs; 130/143 `apply` stopped by SIGINT/SIGTERM after recording what it sent."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// The config file.
    #[arg(
        short,
        long,
        global = true,
        env = "DESKPRUNE_CONFIG",
        default_value = "deskprune.toml",
        value_name = "PATH"
    )]
    pub config: PathBuf,
    /// The state file [default: deskprune.state.json beside the config].
    #[arg(long, global = true, env = "DESKPRUNE_STATE", value_name = "PATH")]
    pub state: Option<PathBuf>,
    /// When to colour the output.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// Print less: only the plan, errors and the summary.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Log more to stderr (-v: info, -vv: debug). Secrets are never logged.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the config file, offline.
    Validate,
    /// Show what apply would delete.
    Plan(PlanArgs),
    /// Delete the in-scope desktops that are not declared.
    Apply(ApplyArgs),
    /// Declare the in-scope desktops that exist in the config, to adopt a fleet.
    Import(ImportArgs),
    /// List the jobs recorded in the state file.
    Jobs(JobsArgs),
    /// List every recorded deletion: desktop, outcome, job, time and the run that sent it.
    History(HistoryArgs),
    /// Serve a simulated Workspace API on loopback, for trying deskprune and for tests.
    Simulator(Box<SimulatorArgs>),
    /// Print a saved plan.
    Show(ShowArgs),
    /// Release the state lock held by a process that cannot release it itself.
    ForceUnlock(ForceUnlockArgs),
    /// Move the state between the local file and the configured `[state]` store.
    #[command(subcommand)]
    State(StateCommand),
    /// Print the JSON Schema of a file deskprune reads or writes.
    Schema(SchemaArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Print the man page (roff).
    Man,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub view: FormatArgs,
    /// Exit 2 (instead of 0) when deletions are pending.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Also save the plan to FILE, for `apply FILE` (and `show FILE`).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For a terminal: the in-scope desktops as a diff.
    Human,
    /// One versioned JSON document (see `deskprune schema plan`).
    Json,
    /// For a pull-request comment or a CI job summary.
    Markdown,
}

/// `--format FORMAT` and its shorthand `--json`: how `plan` and `show` print a plan.
#[derive(Debug, Args)]
pub struct FormatArgs {
    /// How to print the plan.
    #[arg(long, value_enum, default_value_t = Format::Human, value_name = "FORMAT")]
    format: Format,
    /// Print the plan as one JSON document (same as `--format json`).
    #[arg(long, conflicts_with = "format")]
    json: bool,
}

impl FormatArgs {
    pub fn format(&self) -> Format {
        if self.json { Format::Json } else { self.format }
    }
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A plan saved with `plan --out`.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub view: FormatArgs,
}

#[derive(Debug, Args)]
pub struct ForceUnlockArgs {
    /// The process ID recorded in the lock (local state), or the lock ID (`[state] backend =
    /// "s3"`), as the refused command named it.
    #[arg(value_name = "PID|LOCK_ID")]
    pub lock: String,
    /// Don't ask for input for unlock confirmation.
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Upload the local state file to the configured `[state]` store, which must hold no
    /// records yet.
    Push {
        /// The local state file [default: deskprune.state.json beside the config].
        #[arg(long, value_name = "FILE")]
        from: Option<PathBuf>,
    },
    /// Print the configured store's state as JSON, or save it to a file.
    Pull {
        /// Save it here (atomically) instead of printing it.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved with `plan --out`: apply exactly it, or refuse it if the world changed.
    #[arg(value_name = "PLAN_FILE")]
    pub plan: Option<PathBuf>,
    /// Do not ask for confirmation (for unattended runs).
    #[arg(long)]
    pub auto_approve: bool,
    /// Allow a plan above the deletion budget; N must equal the number of deletions.
    #[arg(long, value_name = "N")]
    pub allow_deletions: Option<usize>,
    /// Return once the deletions are submitted, without waiting for the jobs.
    #[arg(long)]
    pub no_wait: bool,
    /// Longest time to wait for the jobs, in seconds (at most a year).
    #[arg(long, default_value_t = 1800, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(..=A_YEAR))]
    pub timeout: u64,
    /// Longest time to wait for the state lock, in seconds (at most a year).
    #[arg(long, default_value_t = 0, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(..=A_YEAR))]
    pub lock_timeout: u64,
    /// Write the run as JSON lines on stdout, one event per line, as it happens (schema:
    /// `deskprune schema apply-events`); needs `--auto-approve`, as nothing is asked.
    #[arg(long, requires = "auto_approve")]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Add the desktops not declared yet to a config that already declares some (never
    /// removes a declaration).
    #[arg(long)]
    pub merge: bool,
    /// Print the change to the config as a diff instead of writing it.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct JobsArgs {
    /// Ask the API for the current status of unfinished jobs and update the state file.
    #[arg(long)]
    pub refresh: bool,
    /// With `--refresh`: longest time to ask, in seconds (at most a year); jobs not read by
    /// then are shown as last recorded.
    #[arg(long, default_value_t = 30, value_name = "SECONDS", requires = "refresh", value_parser = clap::value_parser!(u64).range(1..=A_YEAR))]
    pub timeout: u64,
    /// Print the state's jobs, refusals and unconfirmed calls as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Only what was sent at or after this UTC date (`2026-12-03`) or time
    /// (`2026-12-03T15:30:00Z`).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Print a JSON array, one object per desktop.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SimulatorArgs {
    /// The inventory: a JSON array of desktops shaped like the list call's `desktops`.
    #[arg(long, value_name = "FILE")]
    pub inventory: PathBuf,
    /// Address to listen on; loopback only.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// The project ID it serves.
    #[arg(
        long,
        default_value = "0b6a4c2d9e8f41a7b3c5d6e7f8091a2b",
        value_name = "ID"
    )]
    pub project_id: String,
    /// Access key of the AK/SK pair it accepts.
    #[arg(long, requires = "sk", value_name = "AK")]
    pub ak: Option<String>,
    /// Secret key of the AK/SK pair it accepts.
    #[arg(
        long,
        requires = "ak",
        env = "DESKPRUNE_SIMULATOR_SK",
        hide_env_values = true,
        value_name = "SK"
    )]
    pub sk: Option<String>,
    /// Security token that AK/SK requests must carry (temporary credentials).
    #[arg(long, requires = "ak", hide_env_values = true, value_name = "TOKEN")]
    pub security_token: Option<String>,
    /// IAM token it accepts in `X-Auth-Token`.
    #[arg(
        long,
        env = "DESKPRUNE_SIMULATOR_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: Option<String>,
    /// How long a deletion job takes, in seconds (at most a year).
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS", value_parser = job_seconds)]
    pub job_seconds: f64,
    /// How long each API answer takes, in milliseconds (at most an hour): it leaves this long
    /// after its call arrived (built within that time).
    #[arg(long, default_value_t = 0, value_name = "MS", value_parser = clap::value_parser!(u64).range(..=AN_HOUR_MS))]
    pub latency_ms: u64,
    /// A fault to inject (repeatable), `ENDPOINT:TRIGGER:ACTION`, e.g.
    /// `batch_delete:nth=2:status=429:retry_after=1`, `list:share=0.1:status=503`,
    /// `batch_delete:nth=1:drop=after`. ENDPOINT: list, detail, batch_delete, show_job,
    /// sub_jobs, any. TRIGGER: nth=N, from=N or share=P [seed=S], optionally times=K. ACTION:
    /// status=CODE [retry_after=SECS] [body=json|text], latency=MS, drop=before|after,
    /// truncate, malformed, oversize[=MIB], refuse=MS, insert=K, remove=K or repeat_job_id.
    #[arg(long = "fault", value_name = "RULE")]
    pub faults: Vec<String>,
    /// The API gateway's throttling (repeatable): `[ENDPOINT=]N/s` or `[ENDPOINT=]N/min`, a
    /// bucket of N calls refilled evenly over the second (minute), over every call or over one
    /// API's (ENDPOINT as for `--fault`), e.g. `20/s`, `list=600/min`; a call over any limit
    /// is answered 429 with the gateway's `APIGW.0308` body.
    #[arg(long = "rate-limit", value_name = "LIMIT")]
    pub rate_limits: Vec<String>,
    /// Lift the rate limits this many seconds after the simulator starts.
    #[arg(long, value_name = "SECONDS", requires = "rate_limits", value_parser = clap::value_parser!(u64).range(..=A_YEAR))]
    pub rate_limit_for: Option<u64>,
    /// Send `Retry-After: SECONDS` with each throttled answer.
    #[arg(long, value_name = "SECONDS", requires = "rate_limits", value_parser = clap::value_parser!(u64).range(..=3600))]
    pub throttle_retry_after: Option<u64>,
    /// Never gzip answers (by default list answers are gzipped when the request accepts it).
    #[arg(long)]
    pub no_gzip: bool,
    /// Offset of the simulator's clock from the real one, in seconds (to test clock skew).
    #[arg(
        long,
        default_value_t = 0,
        allow_negative_numbers = true,
        value_name = "SECONDS"
    )]
    pub clock_skew: i64,
}

/// The longest wait a flag takes, in seconds: any longer is a mistake, and a deadline that
/// far would overflow the clock.
const A_YEAR: u64 = 365 * 24 * 3600;
/// The longest simulated latency, in milliseconds.
const AN_HOUR_MS: u64 = 3600 * 1000;

/// `--job-seconds`: a number of seconds from 0 to a year.
fn job_seconds(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|seconds| (0.0..=A_YEAR as f64).contains(seconds))
        .ok_or_else(|| format!("expected a number of seconds from 0 to {A_YEAR} (a year)"))
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which file.
    #[arg(value_enum)]
    pub file: SchemaFile,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaFile {
    Config,
    Plan,
    State,
    /// One line of `apply --json`.
    ApplyEvents,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The format of `deskprune ARGS…`, or clap's refusal.
    fn format_of(args: &[&str]) -> Result<Format, clap::Error> {
        let cli = Cli::try_parse_from([&["deskprune"], args].concat())?;
        Ok(match cli.command {
            Command::Plan(plan) => plan.view.format(),
            Command::Show(show) => show.view.format(),
            other => panic!("not a command that prints a plan: {other:?}"),
        })
    }

    #[test]
    fn plan_and_show_take_the_same_format_flags() {
        for command in [&["plan"][..], &["show", "plan.json"]] {
            let with = |flags: &[&str]| format_of(&[command, flags].concat());
            assert_eq!(with(&[]).unwrap(), Format::Human);
            assert_eq!(with(&["--json"]).unwrap(), Format::Json);
            assert_eq!(with(&["--format", "markdown"]).unwrap(), Format::Markdown);
            assert_eq!(with(&["--format=json"]).unwrap(), Format::Json);
            assert!(with(&["--json", "--format", "human"]).is_err());
            assert!(with(&["--format", "html"]).is_err());
        }
    }
}
