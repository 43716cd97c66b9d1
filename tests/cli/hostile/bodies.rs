//! Odd answers to reads: renamed, omitted or duplicated fields, a lying `total_count`, bodies
//! cut short or never ending, and error bodies with control characters or the caller's own
//! token in them. Each fails closed (exit 1, no plan, nothing sent), bounded in time and size,
//! and its error shows only printable text and no secret.

use std::time::Duration;

use serde_json::json;

use super::*;

/// `plan` and `apply` fail with `what` in the error, show no plan and send nothing.
#[track_caller]
fn fails_closed(world: &World, what: &str) {
    for args in [
        &["plan"][..],
        &["apply", "--auto-approve", "--allow-deletions", "3"],
    ] {
        let run = run(world, args);
        assert_eq!(run.code(), 1, "{args:?}:\n{}", run.stderr());
        assert!(
            run.stderr().contains(what),
            "{args:?}: expected `{what}`:\n{}",
            run.stderr()
        );
        assert!(run.stdout().is_empty(), "{args:?}: {}", run.stdout());
    }
    assert_eq!(world.stats().batch_delete, 0, "something was sent");
}

/// The list answers, each desktop changed by `edit`.
fn each_desktop(world: &World, edit: fn(&mut Value)) -> Hostile {
    Hostile::in_front_of(world)
        .rewrite(LIST, move |_, answer| {
            answer.edit_json(|page| {
                page["desktops"]
                    .as_array_mut()
                    .unwrap()
                    .iter_mut()
                    .for_each(edit)
            })
        })
        .start()
}

#[test]
fn a_desktop_without_its_id_fails_closed() {
    let edits: [fn(&mut Value); 3] = [
        |desktop| {
            let id = desktop
                .as_object_mut()
                .unwrap()
                .remove("desktop_id")
                .unwrap();
            desktop["desktopId"] = id;
        },
        |desktop| {
            desktop.as_object_mut().unwrap().remove("desktop_id");
        },
        |desktop| desktop["desktop_id"] = Value::Null,
    ];
    for edit in edits {
        let world = world();
        let proxy = each_desktop(&world, edit);
        config(&world, &proxy, "");
        fails_closed(
            &world,
            "list desktops (offset 0) returned a malformed answer (HTTP 200)",
        );
    }
}

#[test]
fn a_field_given_twice_fails_closed() {
    let world = world();
    let proxy = Hostile::in_front_of(&world)
        .rewrite(LIST, |_, answer| {
            let text = String::from_utf8(answer.body.clone()).unwrap();
            answer.body = text
                .replacen("\"desktop_id\":", "\"desktop_id\":\"x\",\"desktop_id\":", 1)
                .into_bytes();
        })
        .start();
    config(&world, &proxy, "");
    fails_closed(&world, "duplicate field `desktop_id`");
}

#[test]
fn a_lying_total_count_never_makes_a_plan() {
    for lie in [5u64, 7, 1_000_000] {
        let world = world();
        let proxy = Hostile::in_front_of(&world)
            .rewrite(LIST, move |_, answer| {
                answer.edit_json(|page| page["total_count"] = json!(lie))
            })
            .start();
        config(&world, &proxy, "");
        fails_closed(&world, "desktop list");
    }
}

#[test]
fn a_cut_stalled_or_endless_list_answer_is_refused_in_bounded_time() {
    let page = r#"{"total_count": 1, "desktops": [{"desktop_id": "00000000-0000-4000-8000-000000000009"}]}"#;
    type Case = (&'static str, fn(&str) -> Response, &'static str);
    let cases: [Case; 3] = [
        ("cut", cut, "list desktops (offset 0) failed"),
        ("endless", |_| endless(), "the answer is larger than 64 MiB"),
        // Two retries of 2 s each: the client's time-out covers the body too.
        ("stalled", stalled, "list desktops (offset 0) failed"),
    ];
    side_by_side(cases, |(case, answer, what)| {
        let world = world();
        let proxy = Hostile::in_front_of(&world)
            .on(LIST, move |_, _| Reply::Own(answer(page)))
            .start();
        config(&world, &proxy, "");
        // A plan, then an apply: each fails naming `what`, in bounded time.
        let started = std::time::Instant::now();
        fails_closed(&world, what);
        let took = started.elapsed();
        assert!(took < Duration::from_secs(60), "{case}: took {took:?}");
    });
}

/// Control characters in an error body (code, message, request ID, or the raw text of a body
/// that is not JSON) reach the terminal only escaped; so do those of a malformed answer's
/// detail.
#[test]
fn control_characters_in_answers_are_escaped_in_errors() {
    let nasty = "bad\u{1b}[2K\r- eng-0005 \u{202e}kept";
    let escaped = "bad\\u{1b}[2K\\u{d}- eng-0005 \\u{202e}kept";
    let refusal = json!({"error_code": "WKS.\u{1b}]0;t\u{7}", "error_msg": nasty, "request_id": "r\u{1b}[1m"});
    let answers: [(u16, &str, Vec<u8>); 3] = [
        (
            400,
            "application/json",
            serde_json::to_vec(&refusal).unwrap(),
        ),
        (400, "text/plain", nasty.as_bytes().to_vec()),
        (
            200,
            "application/json",
            serde_json::to_vec(&json!({"total_count": nasty})).unwrap(),
        ),
    ];
    for (status, content_type, body) in answers {
        let world = world();
        let proxy = Hostile::in_front_of(&world)
            .on(LIST, move |_, _| {
                Reply::Own(raw(status, content_type, body.clone()))
            })
            .start();
        config(&world, &proxy, "");
        let run = run(&world, &["plan"]);
        assert_eq!(run.code(), 1);
        let stderr = run.stderr();
        for raw in ['\u{1b}', '\r', '\u{202e}', '\u{7}'] {
            assert!(!stderr.contains(raw), "{status}: raw {raw:?} in {stderr:?}");
        }
        if status == 400 {
            assert!(stderr.contains(escaped), "{stderr}");
        }
    }
}

/// An error body that echoes the token it was sent (as some proxies' error pages do) does not
/// carry it into the error: `run` fails on any piece of it.
#[test]
fn an_error_that_echoes_the_token_does_not_show_it() {
    let world = world();
    let proxy = Hostile::in_front_of(&world)
        .on(LIST, |_, request| {
            let token = request
                .headers
                .iter()
                .find(|(name, _)| name == "x-auth-token")
                .map(|(_, value)| value.clone())
                .unwrap_or_default();
            Reply::Own(json(401, &json!({"error_code": "APIGW.0301", "error_msg": format!("token {token} expired"), "request_id": token})))
        })
        .start();
    config(&world, &proxy, "");
    let run = run(&world, &["plan"]);
    assert_eq!(run.code(), 1);
    assert!(
        run.stderr().contains("token [redacted] expired"),
        "{}",
        run.stderr()
    );
}
