//! `deskprune simulator`: the Workspace API on loopback, until interrupted.

use std::time::Duration;

use anyhow::Context;

use crate::cli::SimulatorArgs;
use crate::error::{Error, exit};
use crate::output::Output;
use crate::simulator::{FaultRule, Simulator, SimulatorOptions, read_inventory};

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
    if !(args.job_seconds.is_finite() && args.job_seconds >= 0.0) {
        return Err(Error::refused(
            format!("`--job-seconds {}` is not a duration", args.job_seconds),
            "give a number of seconds, e.g. `--job-seconds 1`",
        ));
    }
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
    let options = SimulatorOptions {
        project_id: args.project_id.clone(),
        access_key: args.ak.clone(),
        secret_key: args.sk.clone(),
        security_token: args.security_token.clone(),
        token: args.token.clone(),
        job_duration: Duration::from_secs_f64(args.job_seconds),
        clock_offset: jiff::SignedDuration::from_secs(args.clock_skew),
        latency: Duration::from_millis(args.latency_ms),
        faults,
        gzip: !args.no_gzip,
    };
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
