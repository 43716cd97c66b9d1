//! Redirects are refused, never followed: a 3xx to any call sends nothing to where it points
//! (no token, no body), and the error names the call, the status and the host. A redirected
//! batch-delete is a call refused whole: sending stops, its desktops are reported not sent and
//! nothing is recorded as a job.

use serde_json::json;

use super::*;

const STATUSES: [u16; 5] = [301, 302, 303, 307, 308];

/// A server that records whatever reaches it and answers as the service would: an empty list,
/// or an accepted batch-delete.
fn trap() -> Hostile {
    Hostile::alone()
        .on(ANY, |_, request| {
            Reply::Own(if request.method == "POST" {
                json(202, &json!({"job_id": "trapped-job"}))
            } else {
                json(200, &json!({"total_count": 0, "desktops": []}))
            })
        })
        .start()
}

fn host(server: &Hostile) -> &str {
    server.endpoint.trim_start_matches("http://")
}

#[test]
fn a_redirected_read_is_refused_and_nothing_reaches_its_target() {
    let reads = [
        (LIST, "list desktops (offset 0)"),
        (DETAIL, "list desktop details (offset 0)"),
    ];
    for (read, call) in reads {
        for status in STATUSES {
            let world = world();
            let trap = trap();
            let target = format!("{}/v2/{PROJECT}{read}?offset=0", trap.endpoint);
            let proxy = Hostile::in_front_of(&world)
                .on(read, move |_, _| Reply::Own(redirect(status, &target)))
                .start();
            config(&world, &proxy, "");
            for args in [&["plan"][..], &["apply", "--auto-approve"][..]] {
                let run = run(&world, args);
                assert_eq!(run.code(), 1, "{status} {args:?}:\n{}", run.stderr());
                let stderr = run.stderr();
                let expected = format!(
                    "{call} was redirected (HTTP {status}) to `{}`; deskprune never follows redirects",
                    host(&trap)
                );
                assert!(stderr.contains(&expected), "{status}:\n{stderr}");
                assert!(stderr.contains("`[cloud] endpoint`"), "the hint: {stderr}");
                assert!(run.stdout().is_empty(), "nothing planned: {}", run.stdout());
            }
            let leaked = trap.received();
            assert!(
                leaked.is_empty(),
                "{status}: the target received {leaked:#?}"
            );
            assert_eq!(world.stats().batch_delete, 0);
        }
    }
}

#[test]
fn a_redirected_batch_delete_is_refused_whole_and_nothing_is_recorded() {
    for status in STATUSES {
        let world = world();
        let trap = trap();
        let target = format!("{}/v2/{PROJECT}/desktops/batch-delete", trap.endpoint);
        let proxy = Hostile::in_front_of(&world)
            .on(BATCH_DELETE, move |_, _| {
                Reply::Own(redirect(status, &target))
            })
            .start();
        config(&world, &proxy, "");
        let run = apply(&world);
        let stderr = run.stderr();
        assert_eq!(run.code(), 3, "{status}: not all were deleted:\n{stderr}");
        let expected = format!(
            "batch-delete of 3 desktops was redirected (HTTP {status}) to `{}`",
            host(&trap)
        );
        assert!(stderr.contains(&expected), "{status}:\n{stderr}");
        assert!(stderr.contains("3 desktops were not sent"), "{stderr}");
        let leaked = trap.received();
        assert!(
            leaked.is_empty(),
            "{status}: the target received {leaked:#?}"
        );
        assert_eq!(world.stats().batch_delete, 0, "the proxy answered");
        if world.path("deskprune.state.json").exists() {
            let state = world.state();
            assert_eq!(state["jobs"], json!([]), "{status}: {state:#}");
            assert_eq!(state["unconfirmed"], json!([]), "{status}: {state:#}");
        }
        assert_eq!(world.remaining().len(), 6);
    }
}

/// A `Location` with a bidi override, or none at all, still makes a clear error, escaped.
#[test]
fn an_odd_location_is_shown_escaped() {
    let odd: [&[u8]; 3] = [b"http://e\xe2\x80\xaeliv.example/", b"/v2/elsewhere", b""];
    for location in odd {
        let world = world();
        let proxy = Hostile::in_front_of(&world)
            .on(LIST, move |_, _| {
                let mut answer = raw(307, "text/plain", "moved");
                if !location.is_empty() {
                    answer.headers_mut().insert(
                        axum::http::header::LOCATION,
                        axum::http::HeaderValue::from_bytes(location).unwrap(),
                    );
                }
                Reply::Own(answer)
            })
            .start();
        config(&world, &proxy, "");
        let run = run(&world, &["plan"]);
        assert_eq!(run.code(), 1);
        let stderr = run.stderr();
        assert!(stderr.contains("was redirected (HTTP 307)"), "{stderr}");
        assert!(stderr.contains("never follows redirects"), "{stderr}");
        assert!(!stderr.contains('\u{202e}'), "{stderr:?}");
    }
}
