//! `deskprune simulator`: the Workspace API on loopback, until interrupted.

use std::time::Duration;

use anyhow::Context;

use crate::cli::SimulatorArgs;
use crate::error::{Error, exit};
use crate::output::Output;
use crate::simulator::{FaultRule, RateLimit, Simulator, SimulatorOptions, read_inventory};

pub async fn run(args: &SimulatorArgs, output: &Output) -> Result<u8, Error> {
    if !args.listen.ip().is_loopback() {
        return Err(Error::refused(
            format!("`--listen {}` is not a loopback address", args.listen),
            "the simulator only listens on loopback, e.g. `--listen 127.0.0.1:8080`",
        ));
    }
    if args.ak.is_none() && args.token.is_none() {
        return Err(Error::refused(
            "the simulator needs credentials to accept",
            "pass `--ak AK --sk SK` (requests signed like the official SDK's), `--token TOKEN`, or both",
        ));
    }
    let options = options(args)?;
    let simulator = Simulator::new(options, read_inventory(&args.inventory)?);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr().context("no local address")?;
    println!("listening http://{address}");
    output.note("Press Ctrl-C to stop.");
    simulator
        .serve(listener, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("the simulator stopped")?;
    Ok(exit::OK)
}

/// The simulator's options from its flags.
fn options(args: &SimulatorArgs) -> Result<SimulatorOptions, Error> {
    // The flag's parser holds it to 0..=a year; checked again, as a conversion that panics
    // on what it cannot hold must never see an unchecked value.
    let job_duration = Duration::try_from_secs_f64(args.job_seconds)
        .ok()
        .filter(|length| length.as_secs() <= 365 * 24 * 3600)
        .ok_or_else(|| {
            Error::refused(
                format!("`--job-seconds {}` is not a duration", args.job_seconds),
                "give a number of seconds from 0 to a year, e.g. `--job-seconds 1`",
            )
        })?;
    let faults = args
        .faults
        .iter()
        .map(|text| {
            text.parse::<FaultRule>().map_err(|err| {
                Error::refused(
                    format!("`--fault {text}`: {}", err.problem),
                    "a fault is ENDPOINT:TRIGGER:ACTION, e.g. `list:nth=2:status=503`; see `deskprune simulator --help`",
                )
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let rate_limits = args
        .rate_limits
        .iter()
        .map(|text| {
            text.parse::<RateLimit>().map_err(|err| {
                Error::refused(
                    format!("`--rate-limit {text}`: {}", err.problem),
                    "a rate limit is [ENDPOINT=]N/s or [ENDPOINT=]N/min, e.g. `20/s` or `list=600/min`",
                )
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(SimulatorOptions {
        project_id: args.project_id.clone(),
        access_key: args.ak.clone(),
        secret_key: args.sk.clone(),
        security_token: args.security_token.clone(),
        token: args.token.clone(),
        job_duration,
        clock_offset: jiff::SignedDuration::from_secs(args.clock_skew),
        latency: Duration::from_millis(args.latency_ms),
        faults,
        gzip: !args.no_gzip,
        rate_limits,
        rate_limit_for: args.rate_limit_for.map(Duration::from_secs),
        throttle_retry_after: args.throttle_retry_after,
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use proptest::prelude::*;

    use super::*;
    use crate::cli::{Cli, Command};

    const PROJECT: &str = "0b6a4c2d9e8f41a7b3c5d6e7f8091a2b";

    /// Any number a flag could be given, as text: any `f64`, `i64` or `u64`, the edges where
    /// conversions break, and some that are no number.
    fn number() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => prop::sample::select(vec![
                "NaN", "inf", "-inf", "1e20", "1e19", "1e-20", "-1", "-0", "0", "1.5",
                "31536000", "31536001", "3600000", "3600001", "18446744073709551615",
                "9223372036854775807", "-9223372036854775808", "", "x",
            ])
            .prop_map(str::to_string),
            1 => any::<f64>().prop_map(|x| x.to_string()),
            1 => any::<f64>().prop_map(|x| format!("{x:e}")),
            1 => any::<i64>().prop_map(|n| n.to_string()),
            1 => any::<u64>().prop_map(|n| n.to_string()),
            1 => (0u64..5000).prop_map(|n| n.to_string()),
            1 => (0f64..1e8).prop_map(|x| x.to_string()),
        ]
    }

    /// Parses `flags` as `deskprune simulator` does and, when they are accepted, serves a
    /// delete, its job and the list with them (on a paused clock, so that any latency passes
    /// at once): a value is refused or works, never panics.
    fn parse_and_serve(flags: &[String]) -> Result<(), TestCaseError> {
        let mut argv = vec![
            "deskprune",
            "simulator",
            "--inventory",
            "i.json",
            "--token",
            "t",
        ];
        argv.extend(flags.iter().map(String::as_str));
        let Ok(cli) = Cli::try_parse_from(&argv) else {
            return Ok(());
        };
        let Command::Simulator(args) = cli.command else {
            return Err(TestCaseError::fail("not the simulator command"));
        };
        let Ok(options) = options(&args) else {
            return Ok(());
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        runtime.block_on(serve_once(options));
        Ok(())
    }

    async fn serve_once(options: SimulatorOptions) {
        let seed = serde_json::from_value(serde_json::json!([
            {"desktop_id": "d-1", "computer_name": "pc-1", "status": "ACTIVE"}
        ]))
        .unwrap();
        let simulator = Simulator::new(options, seed);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/v2/{PROJECT}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(simulator.serve(listener, async {
            let _ = stopped.await;
        }));
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let call = |request: reqwest::RequestBuilder| async move {
            let answer = request
                .header("Content-Type", "application/json")
                .header("X-Auth-Token", "t")
                .send()
                .await
                .expect("the simulator answers");
            answer.json::<serde_json::Value>().await.unwrap_or_default()
        };
        let deleted = call(
            client
                .post(format!("{base}/desktops/batch-delete"))
                .body(r#"{"desktop_ids":["d-1"]}"#),
        )
        .await;
        if let Some(job) = deleted["job_id"].as_str() {
            call(client.get(format!("{base}/workspace-jobs/{job}"))).await;
        }
        call(client.get(format!("{base}/desktops"))).await;
        let _ = stop.send(());
        server
            .await
            .expect("the server does not panic")
            .expect("the server stops");
    }

    #[test]
    fn huge_job_lengths_and_latencies_are_refused_or_work() {
        for flags in [
            ["--job-seconds", "1e20"],
            ["--job-seconds", "1e19"],
            ["--latency-ms", "18446744073709551615"],
            ["--fault", "any:nth=1:latency=18446744073709551615"],
            ["--clock-skew=9223372036854775807", "--job-seconds=1"],
            [
                "--clock-skew=-9223372036854775808",
                "--job-seconds=31536000",
            ],
            ["--latency-ms=3600000", "--fault=any:nth=1:latency=3600000"],
        ] {
            let flags: Vec<String> = flags.iter().map(|flag| flag.to_string()).collect();
            parse_and_serve(&flags).unwrap();
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn no_numeric_flag_panics(
            job_seconds in prop::option::of(number()),
            latency_ms in prop::option::of(number()),
            clock_skew in prop::option::of(number()),
            fault_latency in prop::option::of(number()),
        ) {
            let flags: Vec<String> = [
                job_seconds.map(|n| format!("--job-seconds={n}")),
                latency_ms.map(|n| format!("--latency-ms={n}")),
                clock_skew.map(|n| format!("--clock-skew={n}")),
                fault_latency.map(|n| format!("--fault=any:nth=1:latency={n}")),
            ]
            .into_iter()
            .flatten()
            .collect();
            parse_and_serve(&flags)?;
        }
    }
}
