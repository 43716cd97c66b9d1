//! Fault injection over real HTTP: each action as a client meets it, whether the call was
//! carried out, and the counters; gzip as clients negotiate it.

use std::io::Read;
use std::time::{Duration, Instant};

use serde_json::json;

use super::harness::{Call, ids, numbered, options, start};
use crate::simulator::{FaultRule, SimulatorOptions, Stats};

fn with_faults(rules: &[&str]) -> SimulatorOptions {
    SimulatorOptions {
        faults: rules
            .iter()
            .map(|rule| rule.parse::<FaultRule>().expect("a valid rule"))
            .collect(),
        ..options()
    }
}

fn delete(id: &str) -> Call {
    Call::post("desktops/batch-delete", &json!({"desktop_ids": [id]}))
}

/// `task_status` of one desktop as the list serves it now.
async fn task_status(server: &super::harness::Server, id: &str) -> String {
    let page = server
        .expect(Call::get("desktops").query("desktop_id", id), 200)
        .await;
    page["desktops"][0]["task_status"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn status_faults_answer_in_the_shape_of_who_would_refuse() {
    let rules = [
        "list:nth=1:status=429:retry_after=2",
        "list:nth=2:status=503",
        "list:nth=3:status=502:body=text",
    ];
    let server = start(with_faults(&rules), numbered(3)).await;
    let throttled = server.send(Call::get("desktops")).await;
    assert_eq!(
        (throttled.status, throttled.error_code()),
        (429, "APIGW.0308")
    );
    assert_eq!(throttled.body["request_id"], throttled.request_id.as_str());
    assert_eq!(throttled.headers["retry-after"], "2");

    let unavailable = server.send(Call::get("desktops")).await;
    assert_eq!(
        (unavailable.status, unavailable.error_code()),
        (503, "WKS.00000003")
    );
    assert!(!unavailable.headers.contains_key("retry-after"));

    let proxy = server.send(Call::get("desktops")).await;
    assert_eq!(proxy.status, 502);
    assert_eq!(proxy.content_type, "text/plain; charset=utf-8");
    assert_eq!(proxy.raw, b"502 Bad Gateway\n");

    let fine = server.expect(Call::get("desktops"), 200).await;
    assert_eq!(fine["total_count"], 3);
    let stats = server.simulator.stats();
    assert_eq!(
        (stats.list_desktops, stats.rejected, stats.faults_injected),
        (4, 3, 3)
    );
}

#[tokio::test]
async fn a_refused_batch_delete_is_not_carried_out() {
    let server = start(with_faults(&["batch_delete:nth=1:status=429"]), numbered(2)).await;
    assert_eq!(server.send(delete("id-00000")).await.status, 429);
    assert_eq!(task_status(&server, "id-00000").await, "");
    assert!(server.simulator.stats().batch_delete_ids.is_empty());
    server.expect(delete("id-00000"), 202).await;
    assert_eq!(server.simulator.stats().batch_delete_ids, [["id-00000"]]);
}

#[tokio::test]
async fn drop_before_loses_the_call_and_drop_after_only_its_answer() {
    let rules = [
        "batch_delete:nth=1:drop=before",
        "batch_delete:nth=2:drop=after",
    ];
    let slow_jobs = SimulatorOptions {
        job_duration: Duration::from_secs(60),
        ..with_faults(&rules)
    };
    let server = start(slow_jobs, numbered(2)).await;
    let lost = server.attempt(delete("id-00000")).await;
    assert!(lost.is_err(), "no answer: {lost:?}");
    assert_eq!(
        task_status(&server, "id-00000").await,
        "",
        "not carried out"
    );
    assert!(server.simulator.stats().batch_delete_ids.is_empty());

    let lost = server.attempt(delete("id-00001")).await;
    assert!(lost.is_err(), "no answer: {lost:?}");
    assert_eq!(
        task_status(&server, "id-00001").await,
        "deleting",
        "carried out"
    );
    let stats = server.simulator.stats();
    assert_eq!(stats.batch_delete_ids, [["id-00001"]]);
    assert_eq!((stats.batch_delete, stats.faults_injected), (2, 2));
}

#[tokio::test]
async fn bodies_come_cut_malformed_or_oversized() {
    let rules = [
        "list:nth=1:truncate",
        "list:nth=2:malformed",
        "list:nth=3:oversize=2",
    ];
    let server = start(with_faults(&rules), numbered(50)).await;
    let cut = server.attempt(Call::get("desktops")).await;
    assert!(cut.is_err(), "half a body is an error: {cut:?}");

    let html = server.send(Call::get("desktops")).await;
    assert_eq!(html.status, 200);
    assert!(html.raw.starts_with(b"<html>"));
    assert!(html.body.is_null(), "not JSON");

    let huge = server.send(Call::get("desktops")).await;
    assert_eq!(huge.status, 200);
    assert!(huge.raw.len() > 2 << 20, "{} bytes", huge.raw.len());
    assert_eq!(
        huge.body["total_count"], 50,
        "still JSON, padded with spaces"
    );

    let stats = server.simulator.stats();
    assert_eq!(stats.gzip_answers, 0, "faulted answers go out as they are");
    assert!(stats.sent_bytes > 2 << 20);
}

#[tokio::test]
async fn latency_slows_only_the_calls_it_hits() {
    let server = start(with_faults(&["list:nth=1:latency=200"]), numbered(1)).await;
    let started = Instant::now();
    server.expect(Call::get("desktops"), 200).await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    let started = Instant::now();
    server.expect(Call::get("desktops"), 200).await;
    assert!(started.elapsed() < Duration::from_millis(200));
}

#[tokio::test]
async fn refuse_closes_the_port_for_a_while_after_answering() {
    let server = start(with_faults(&["detail:nth=1:refuse=400"]), numbered(1)).await;
    // A kept-alive connection: the outage cuts it too.
    server.expect(Call::get("desktops"), 200).await;
    let answered = server.send(Call::get("desktops/detail")).await;
    assert_eq!(answered.status, 200, "the call that starts it is answered");
    assert_eq!(answered.headers["connection"], "close");
    // Long enough for the client to see its idle connection closed.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let refused = server
        .attempt(Call::get("desktops"))
        .await
        .expect_err("the port is closed");
    assert!(refused.is_connect(), "{refused:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.expect(Call::get("desktops"), 200).await;
    assert_eq!(
        server.simulator.stats().list_desktops,
        2,
        "the refused one never arrived"
    );
}

#[tokio::test]
async fn the_inventory_changes_after_the_calls_a_rule_hits() {
    let rules = ["list:nth=1:insert=2", "list:nth=3:remove=1"];
    let server = start(with_faults(&rules), numbered(3)).await;
    let first = server.expect(Call::get("desktops"), 200).await;
    assert_eq!(first["total_count"], 3, "the change comes after the answer");
    let second = server.expect(Call::get("desktops"), 200).await;
    assert_eq!(second["total_count"], 5);
    let added = &second["desktops"][3];
    assert_eq!(added["computer_name"], "PC-00000-added-3");
    assert_ne!(added["desktop_id"], "id-00000");
    server.expect(Call::get("desktops"), 200).await;
    let fourth = server.expect(Call::get("desktops"), 200).await;
    assert_eq!(fourth["total_count"], 4);
    assert_eq!(ids(&fourth)[0], "id-00001", "the first desktop is gone");
}

/// A client that leaves gzip alone, to see what is on the wire.
fn raw_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("an http client")
}

async fn raw_get(base: &str, path: &str, accept: Option<&str>) -> (Option<String>, Vec<u8>) {
    let mut request = raw_client()
        .get(format!("{base}/v2/{}/{path}", super::harness::PROJECT))
        .header("Content-Type", "application/json")
        .header("X-Auth-Token", "token");
    if let Some(accept) = accept {
        request = request.header("Accept-Encoding", accept);
    }
    let response = request.send().await.expect("an answer");
    assert!(response.status().is_success(), "{}", response.status());
    let encoding = response
        .headers()
        .get("content-encoding")
        .map(|value| value.to_str().unwrap().to_string());
    (encoding, response.bytes().await.expect("a body").to_vec())
}

fn gunzip(bytes: &[u8]) -> serde_json::Value {
    let mut text = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut text)
        .expect("gzip");
    serde_json::from_slice(&text).expect("JSON inside")
}

#[tokio::test]
async fn list_answers_are_gzipped_for_clients_that_accept_it() {
    let token = SimulatorOptions {
        token: Some("token".to_string()),
        ..options()
    };
    let server = start(token, numbered(200)).await;
    let (encoding, packed) = raw_get(server.base(), "desktops", Some("gzip, deflate")).await;
    assert_eq!(
        encoding.as_deref(),
        Some("gzip"),
        "as the official SDK asks"
    );
    let page = gunzip(&packed);
    assert_eq!(page["total_count"], 200);
    let json_length = serde_json::to_vec(&page).unwrap().len();
    assert!(
        packed.len() * 4 < json_length,
        "{} of {json_length}",
        packed.len()
    );
    let (encoding, detail) = raw_get(server.base(), "desktops/detail", Some("gzip")).await;
    assert_eq!(encoding.as_deref(), Some("gzip"));
    assert_eq!(gunzip(&detail)["desktops"][0]["login_status"], "REGISTERED");

    let (encoding, plain) = raw_get(server.base(), "desktops", None).await;
    assert_eq!(encoding, None);
    let plain: serde_json::Value = serde_json::from_slice(&plain).expect("JSON");
    assert_eq!(plain["total_count"], 200);
    let (encoding, _) = raw_get(server.base(), "desktops", Some("gzip;q=0, identity")).await;
    assert_eq!(encoding, None);
    let (encoding, _) = raw_get(server.base(), "workspace-sub-jobs", Some("gzip, deflate")).await;
    assert_eq!(encoding, None, "only the list answers");

    let stats: Stats = server.simulator.stats();
    assert_eq!(stats.gzip_answers, 2);
    assert!(stats.sent_bytes < stats.body_bytes);
}

#[tokio::test]
async fn gzip_can_be_switched_off() {
    let plain = SimulatorOptions {
        token: Some("token".to_string()),
        gzip: false,
        ..options()
    };
    let server = start(plain, numbered(5)).await;
    let (encoding, _) = raw_get(server.base(), "desktops", Some("gzip")).await;
    assert_eq!(encoding, None);
    let stats = server.simulator.stats();
    assert_eq!(
        (stats.gzip_answers, stats.sent_bytes),
        (0, stats.body_bytes)
    );
}
