//! The store's secret key (AWS or, in its place, the Huawei pair) and session token never
//! appear in output, in the bucket or in files, on success, on failure and with `-vv`; a store
//! that answers with a redirect gets no request sent where it points.

use crate::hostile::{ANY, Hostile, Reply, redirect};
use crate::support::s3::*;
use crate::support::*;

use super::*;

const SESSION_TOKEN: &str = "store-session-token-never-printed-FwoGZXIvYXdzE";

/// Fails when any object in the bucket or any file in the world's folder shows a secret.
fn assert_nothing_stored_shows_a_secret(moto: &Moto, world: &World) {
    for key in moto.keys() {
        let body = String::from_utf8_lossy(&moto.get(&key).unwrap_or_default()).into_owned();
        assert_no_secret(&format!("object `{key}`"), &body);
        assert!(
            !body.contains(SESSION_TOKEN),
            "object `{key}` shows the session token"
        );
    }
    for path in files_under(world.dir.path()) {
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        assert_no_secret(&path.display().to_string(), &text);
    }
}

#[track_caller]
fn assert_no_token(run: &Run) {
    for text in [run.stdout(), run.stderr()] {
        assert!(
            !text.contains(SESSION_TOKEN),
            "the session token is shown:\n{text}"
        );
    }
}

#[test]
fn no_secret_key_or_token_appears_in_output_objects_or_files() {
    let Some(moto) = Moto::start() else { return };
    let proxy = StoreProxy::in_front_of(&moto.endpoint);
    let world = World::new(team(12));

    // AWS variables, with a session token, logging everything.
    config(&world, &proxy.endpoint, 10, 2, 60);
    let apply = command(&world, &["-vv", "apply", "--auto-approve"])
        .env("AWS_SESSION_TOKEN", SESSION_TOKEN)
        .run();
    apply.success();
    assert_no_secret("stderr of apply -vv", &apply.stderr());
    assert_no_secret("stdout of apply -vv", &apply.stdout());
    assert_no_token(&apply);
    assert_eq!(recorded_jobs(&moto, KEY).len(), 1);

    // Without AWS variables the Huawei pair signs for the store.
    config(&world, &proxy.endpoint, 8, 2, 60);
    let fallback = world.command(&["-vv", "apply", "--auto-approve"]).run();
    fallback.success();
    assert_no_secret("stderr of apply -vv", &fallback.stderr());
    assert_no_secret("stdout of apply -vv", &fallback.stdout());
    assert_eq!(recorded_jobs(&moto, KEY), accepted_jobs(&world));
    assert!(
        proxy
            .requests()
            .iter()
            .any(|request| request.method == "PUT"),
        "the store was used"
    );

    // A store that refuses everything: the error is just as clean.
    proxy.add(Rule::any().fault(Fault::Status(403)));
    config(&world, &proxy.endpoint, 6, 2, 60);
    let refused = command(&world, &["-vv", "apply", "--auto-approve"])
        .env("AWS_SESSION_TOKEN", SESSION_TOKEN)
        .run();
    assert_eq!(refused.code(), 1, "{}", refused.stderr());
    assert_no_secret("stderr of a refused apply", &refused.stderr());
    assert_no_token(&refused);
    for args in [&["jobs"][..], &["state", "pull"], &["plan"]] {
        let run = command(&world, args)
            .env("AWS_SESSION_TOKEN", SESSION_TOKEN)
            .run();
        assert_no_secret(
            &format!("{args:?}"),
            &format!("{}{}", run.stdout(), run.stderr()),
        );
        assert_no_token(&run);
    }
    proxy.clear();
    assert_nothing_stored_shows_a_secret(&moto, &world);
}

/// Every request is redirected to a server that records what reaches it: a client following
/// the redirect would sign for, and send its write to, that other host.
#[test]
fn a_store_that_redirects_sends_nothing_where_it_points() {
    for status in [301, 302, 307, 308] {
        let elsewhere = Hostile::alone().start();
        let location = format!("{}/bucket/{KEY}", elsewhere.endpoint);
        let store = Hostile::alone()
            .on(ANY, move |_, _| Reply::Own(redirect(status, &location)))
            .start();
        let world = World::new(team(12));
        config(&world, &store.endpoint, 6, 2, 60);
        let apply = run(&world, &["apply", "--auto-approve"]);
        assert_ne!(apply.code(), 0, "{status}: {}", apply.stderr());
        assert!(
            !store.received().is_empty(),
            "{status}: the store was asked"
        );
        assert_eq!(
            elsewhere.received().len(),
            0,
            "{status}: a request (with the store's credentials) followed the redirect"
        );
        assert_eq!(
            world.stats().batch_delete,
            0,
            "{status}: nothing is deleted"
        );
    }
}
