//! The bench's tables: each phase's figures beside its floor and the SDK's, and the default
//! and tuned configs side by side (against a gateway limit's ideal when there is one).

use std::fmt::Write as _;
use std::time::Duration;

use deskprune::simulator::{RateLimit, Stats};

use super::{Args, Child, Client, Phase, Sdk, Switch};

/// Each run's wall time against its floor, and, under a gateway limit, against the ideal
/// (the calls the gateway accepted ÷ its limit) with the share of throttled answers.
pub(super) fn side_by_side(args: &Args, runs: &[(Client, &str, &Phase)]) -> String {
    let (c, l) = (args.concurrency, args.latency_ms);
    let mut out = String::new();
    let limit = args.rate_limit.map_or_else(
        || "no gateway limit".to_string(),
        |limit| format!("gateway limit {}", limit_text(&limit)),
    );
    let _ = writeln!(
        out,
        "\n### Default and tuned config side by side ({limit})\n"
    );
    let _ = writeln!(
        out,
        "| config | command | wall | calls (accepted + throttled) | throttled share | wall / floor | ideal (calls ÷ limit) | wall / ideal |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
    for (client, command, phase) in runs {
        let total = phase.calls();
        let throttled = phase.stats.throttled;
        let accepted = total - throttled;
        let (ideal, versus) = match args.rate_limit {
            Some(limit) => {
                let per_second = f64::from(limit.calls) / limit.per.as_secs_f64();
                let ideal = Duration::from_secs_f64(accepted as f64 / per_second);
                (
                    ms(ideal),
                    format!(
                        "{:.2}×",
                        phase.child.wall.as_secs_f64() / ideal.as_secs_f64()
                    ),
                )
            }
            None => ("—".to_string(), "—".to_string()),
        };
        let _ = writeln!(
            out,
            "| {} | `{command}` | {} | {accepted} + {throttled} | {:.1} % | {} | {ideal} | {versus} |",
            match client {
                Client::Default => "default (no `[client]`)",
                Client::Tuned => "tuned",
            },
            ms(phase.child.wall),
            100.0 * throttled as f64 / total.max(1) as f64,
            ratio(phase.child.wall, floor_ms(total, c, l)),
        );
    }
    out
}

fn limit_text(limit: &RateLimit) -> String {
    let per = if limit.per.as_secs() == 60 {
        "min"
    } else {
        "s"
    };
    format!("{}/{per}", limit.calls)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn bytes(count: u64) -> String {
    if count >= 1_000_000 {
        format!("{:.1} MB", count as f64 / 1e6)
    } else {
        format!("{:.0} kB", count as f64 / 1e3)
    }
}

pub(super) fn ms(time: Duration) -> String {
    format!("{:.0} ms", time.as_secs_f64() * 1000.0)
}

fn floor_ms(calls: u64, concurrency: usize, latency_ms: u64) -> u64 {
    calls.div_ceil(concurrency.max(1) as u64) * latency_ms
}

fn ratio(time: Duration, floor_ms: u64) -> String {
    format!(
        "{:.2}×",
        time.as_secs_f64() * 1000.0 / floor_ms.max(1) as f64
    )
}

fn calls(s: &Stats) -> String {
    format!(
        "{} list + {} detail + {} batch-delete",
        s.list_desktops, s.list_desktops_detail, s.batch_delete
    )
}

/// Before the first call arrives / from the first arrival to the last / after the last arrival.
fn breakdown(child: &Child) -> String {
    match (child.first_call, child.last_call) {
        (Some(first), Some(last)) => format!(
            "{} / {} / {}",
            ms(first),
            ms(last - first),
            ms(child.wall.saturating_sub(last))
        ),
        _ => "—".to_string(),
    }
}

pub(super) fn report(
    args: &Args,
    deletions: usize,
    plan: &Phase,
    apply: &Phase,
    sdk: Option<&Sdk>,
    help_ms: f64,
    validate_ms: f64,
) -> String {
    let (c, l) = (args.concurrency, args.latency_ms);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n## {} desktops, {} deleted, {l} ms latency, gzip {}, concurrency {c}\n",
        args.desktops,
        deletions,
        if args.gzip == Switch::On { "on" } else { "off" }
    );
    let _ = writeln!(
        out,
        "| | deskprune `plan` | deskprune `apply --no-wait` | SDK baseline (whole run) |"
    );
    let _ = writeln!(out, "|---|---|---|---|");
    let mut row = |name: &str, plan: String, apply: String, sdk_cell: Option<String>| {
        let sdk_cell = sdk_cell.unwrap_or_else(|| "—".to_string());
        let _ = writeln!(out, "| {name} | {plan} | {apply} | {sdk_cell} |");
    };
    row(
        "wall time",
        ms(plan.child.wall),
        ms(apply.child.wall),
        sdk.map(|s| {
            format!(
                "{} (list {:.0} ms, delete {:.0} ms)",
                ms(s.child.wall),
                s.list_seconds * 1000.0,
                s.delete_seconds * 1000.0
            )
        }),
    );
    row(
        "before first call / first→last call / after last call (arrivals)",
        breakdown(&plan.child),
        breakdown(&apply.child),
        sdk.map(|s| breakdown(&s.child)),
    );
    row(
        "throttled answers (429 APIGW.0308)",
        plan.stats.throttled.to_string(),
        apply.stats.throttled.to_string(),
        sdk.map(|s| s.stats.throttled.to_string()),
    );
    row(
        "calls",
        calls(&plan.stats),
        calls(&apply.stats),
        sdk.map(|s| calls(&s.stats)),
    );
    let sdk_floor = |s: &Sdk| s.stats.calls() * l;
    row(
        "floor ⌈calls/concurrency⌉×latency",
        format!("{} ms", floor_ms(plan.calls(), c, l)),
        format!("{} ms", floor_ms(apply.calls(), c, l)),
        sdk.map(|s| format!("{} ms (one call at a time)", sdk_floor(s))),
    );
    row(
        "floor in dependency order (first page; other reads; deletes)",
        format!("{} ms", plan.dependency_floor_ms(c, l)),
        format!("{} ms", apply.dependency_floor_ms(c, l)),
        None,
    );
    row(
        "wall / floor (/ dependency floor)",
        format!(
            "{} ({})",
            ratio(plan.child.wall, floor_ms(plan.calls(), c, l)),
            ratio(plan.child.wall, plan.dependency_floor_ms(c, l))
        ),
        format!(
            "{} ({})",
            ratio(apply.child.wall, floor_ms(apply.calls(), c, l)),
            ratio(apply.child.wall, apply.dependency_floor_ms(c, l))
        ),
        sdk.map(|s| ratio(s.child.wall, sdk_floor(s))),
    );
    row(
        "first→last call / floor",
        plan.api_time()
            .map(|t| ratio(t, floor_ms(plan.calls(), c, l)))
            .unwrap_or_default(),
        apply
            .api_time()
            .map(|t| ratio(t, floor_ms(apply.calls(), c, l)))
            .unwrap_or_default(),
        None,
    );
    let sent = |s: &Stats| format!("{} ({})", bytes(s.sent_bytes), bytes(s.body_bytes));
    row(
        "answer bytes on the wire (uncompressed)",
        sent(&plan.stats),
        sent(&apply.stats),
        sdk.map(|s| sent(&s.stats)),
    );
    row(
        "peak memory (VmHWM)",
        mib(plan.child.peak_kib),
        mib(apply.child.peak_kib),
        sdk.map(|s| mib(s.child.peak_kib)),
    );
    row(
        "client CPU (user+sys)",
        format!("{:.2} s", plan.child.cpu),
        format!("{:.2} s", apply.child.cpu),
        sdk.map(|s| format!("{:.2} s", s.child.cpu)),
    );
    row(
        "simulator CPU (its tokio threads)",
        format!("{:.2} s", plan.simulator_cpu),
        format!("{:.2} s", apply.simulator_cpu),
        sdk.map(|s| format!("{:.2} s", s.simulator_cpu)),
    );
    if let Some(sdk) = sdk {
        let _ = writeln!(
            out,
            "\nSDK list / deskprune plan: {:.1}× (the SDK's own list timer); SDK process / deskprune plan process: {:.1}×",
            sdk.list_seconds / plan.child.wall.as_secs_f64(),
            sdk.child.wall.as_secs_f64() / plan.child.wall.as_secs_f64(),
        );
    }
    let _ = writeln!(
        out,
        "\n`deskprune --help`: {help_ms:.1} ms; `deskprune validate` of {} declared desktops: {validate_ms:.1} ms (medians of {} runs)",
        args.validate_desktops, args.runs
    );
    out
}
