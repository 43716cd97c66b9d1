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
fn a_cut_or_endless_list_answer_is_refused_in_bounded_time() {
    let page = r#"{"total_count": 1, "desktops": [{"desktop_id": "00000000-0000-4000-8000-000000000009"}]}"#;
    type Case = (&'static str, fn(&str) -> Response, &'static str);
    let cases: [Case; 2] = [
        ("cut", cut, "list desktops (offset 0) failed"),
        ("endless", |_| endless(), "the answer is larger than 64 MiB"),
    ];
    for (case, answer, what) in cases {
        let world = world();
        let proxy = Hostile::in_front_of(&world)
            .on(LIST, move |_, _| Reply::Own(answer(page)))
            .start();
        config(&world, &proxy, "");
        let started = std::time::Instant::now();
        let run = run(&world, &["plan"]);
        let took = started.elapsed();
        assert_eq!(run.code(), 1, "{case}:\n{}", run.stderr());
        assert!(run.stderr().contains(what), "{case}:\n{}", run.stderr());
        assert!(took < Duration::from_secs(30), "{case}: took {took:?}");
        fails_closed(&world, what);
    }
}
