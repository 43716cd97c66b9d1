//! A batch-delete is sent again only when it provably never reached the service: no
//! connection, or a 429/503 that the API gateway explained (an `APIGW.*` body). Any other
//! failure, a bare 503 included, may come after the call was carried out: its desktops are
//! recorded as unconfirmed and read again, never blindly re-sent.

use deskprune::simulator::FaultRule;
use serde_json::json;

use super::*;

/// The answers a balancer or a backend may give after carrying the call out:
/// (case, status, content type, body).
fn ambiguous() -> Vec<(&'static str, u16, &'static str, String)> {
    let service =
        r#"{"error_code": "WKS.00000003", "error_msg": "failed to read database information"}"#;
    let json = "application/json";
    vec![
        (
            "bare 503",
            503,
            "text/plain",
            "503 Service Unavailable\n".into(),
        ),
        ("503 from the service", 503, json, service.into()),
        (
            "503 with a gateway code in plain text",
            503,
            "text/plain",
            "APIGW.0308".into(),
        ),
        (
            "bare 429",
            429,
            "text/html",
            "<html>Too Many Requests</html>".into(),
        ),
        ("429 from the service", 429, json, service.into()),
        ("500", 500, json, service.into()),
        ("502", 502, "text/plain", "bad gateway".into()),
        ("504", 504, "text/plain", "gateway timeout".into()),
    ]
}

#[test]
fn a_write_carried_out_then_answered_ambiguously_is_never_sent_again() {
    side_by_side(ambiguous(), |(case, status, content_type, body)| {
        let world = world();
        let proxy = Hostile::in_front_of(&world)
            // The service carries the call out; the answer is replaced on the way back.
            .rewrite(BATCH_DELETE, move |_, answer| {
                answer.status = status;
                answer.headers.clear();
                answer.headers.insert(
                    axum::http::header::CONTENT_TYPE,
                    content_type.parse().unwrap(),
                );
                answer.body = body.clone().into_bytes();
            })
            .start();
        config(&world, &proxy, "");
        let applied = apply(&world);
        assert_eq!(applied.code(), 3, "{case}:\n{}", applied.stderr());
        assert_eq!(world.stats().batch_delete, 1, "{case}: sent twice");
        let state = world.state();
        assert_eq!(state["jobs"], json!([]), "{case}: {state:#}");
        let unconfirmed = &state["unconfirmed"];
        assert_eq!(
            unconfirmed.as_array().unwrap().len(),
            1,
            "{case}: {state:#}"
        );
        assert_eq!(unconfirmed[0]["desktop_ids"], json!(doomed()), "{case}");
        // The desktops are being deleted: nothing is planned or sent again.
        run(&world, &["apply", "--auto-approve"]).success();
        assert_eq!(world.stats().batch_delete, 1, "{case}: sent again later");
    });
}

#[test]
fn a_429_or_503_the_gateway_explained_is_sent_again() {
    for (status, code) in [(429, "APIGW.0308"), (503, "APIGW.0201")] {
        let world = world();
        let proxy = Hostile::in_front_of(&world)
            .on(BATCH_DELETE, move |n, _| match n {
                1 => Reply::Own(json(
                    status,
                    &json!({"error_msg": "refused at the gateway", "error_code": code, "request_id": "r1"}),
                )),
                _ => Reply::Forward,
            })
            .start();
        config(&world, &proxy, "");
        let run = run(
            &world,
            &["-vv", "apply", "--auto-approve", "--allow-deletions", "3"],
        );
        run.success();
        let sent = proxy.calls(BATCH_DELETE);
        assert_eq!((sent, world.stats().batch_delete), (2, 1), "{status}");
        assert!(
            run.stderr()
                .lines()
                .any(|line| line.contains("retrying") && line.contains(code)),
            "{status}: sent again at once:\n{}",
            run.stderr()
        );
        assert_eq!(world.state()["jobs"].as_array().unwrap().len(), 1);
        assert_eq!(world.remaining().len(), 3);
    }
}

/// The simulator's own fault: a plain-text 503 that did not carry the call out. The client
/// cannot know that: it records the desktops, reads them again, and only then sends them again.
#[test]
fn a_plain_503_is_read_again_before_anything_is_resent() {
    let world = World::with_options(
        team(6),
        SimulatorOptions {
            token: Some(TOKEN.into()),
            faults: vec![
                "batch_delete:nth=1:status=503:body=text"
                    .parse::<FaultRule>()
                    .unwrap(),
            ],
            ..SimulatorOptions::default()
        },
    );
    let proxy = Hostile::in_front_of(&world).start();
    config(&world, &proxy, "");
    let run = run(
        &world,
        &["-vv", "apply", "--auto-approve", "--allow-deletions", "3"],
    );
    run.success();
    let stderr = run.stderr();
    assert!(
        !stderr
            .lines()
            .any(|line| line.contains("retrying") && line.contains("batch-delete")),
        "re-sent blindly:\n{stderr}"
    );
    assert!(stderr.contains("sending them again"), "{stderr}");
    let stats = world.stats();
    assert_eq!(stats.batch_delete, 2);
    assert_eq!(stats.batch_delete_ids.len(), 1, "accepted once");
    assert_eq!(stats.list_desktops, 2, "the plan's read, and the re-read");
    assert!(world.state()["unconfirmed"].as_array().unwrap().is_empty());
}
