//! The harness itself, before any deskprune run: moto honours the conditions deskprune relies
//! on, the proxy can make it a store that ignores them, and its faults do what they say.

use std::time::Duration;

use crate::support::s3::*;

#[test]
fn moto_refuses_a_second_create_and_a_stale_replace() {
    let Some(moto) = Moto::start() else { return };
    assert_eq!(moto.put_if("k", &[("if-none-match", "*")], "one"), 200);
    assert_eq!(
        moto.put_if("k", &[("if-none-match", "*")], "two"),
        412,
        "a create over an existing object is refused"
    );
    assert_eq!(
        moto.put_if("k", &[("if-match", "\"0123456789abcdef\"")], "three"),
        412,
        "a replace with a stale ETag is refused"
    );
    assert_eq!(moto.get("k").unwrap(), b"one");
    assert_eq!(moto.list(""), [("k".to_string(), 3)]);
    moto.delete("k");
    assert_eq!(moto.get("k"), None);
}

#[test]
fn the_proxy_counts_strips_conditions_and_injects_faults() {
    let Some(moto) = Moto::start() else { return };
    let proxy = StoreProxy::in_front_of(&moto.endpoint);
    let through = Bucket::at(&proxy.endpoint);

    through.put("a/state.json", "{}");
    assert_eq!(
        through.put_if("a/state.json", &[("if-none-match", "*")], "x"),
        412
    );
    proxy.strip_conditions(true);
    assert_eq!(
        through.put_if("a/state.json", &[("if-none-match", "*")], "clobbered"),
        200,
        "stripped, the condition is not seen"
    );
    assert_eq!(moto.get("a/state.json").unwrap(), b"clobbered");
    proxy.strip_conditions(false);
    let requests = proxy.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[1].if_none_match.as_deref(), Some("*"));
    assert_eq!((requests[1].status, requests[1].body_len), (412, 1));
    assert_eq!(proxy.count("PUT", "state.json"), 3);

    proxy.add(
        Rule::on("PUT", ".lock")
            .when(When::Nth(2))
            .fault(Fault::Status(503)),
    );
    proxy.add(Rule::on("GET", "").fault(Fault::Status(403)));
    through.put("a/state.json.lock", "1");
    assert_eq!(through.put_if("a/state.json.lock", &[], "2"), 503);
    through.put("a/state.json.lock", "3");
    assert_eq!(moto.get("a/state.json.lock").unwrap(), b"3");
    assert_eq!(
        through.status_of_get("a/state.json"),
        403,
        "a 403 on every GET"
    );
    proxy.clear();

    proxy.reset_counts();
    proxy.add(Rule::any().when(When::From(2)).fault(Fault::Drop));
    through.put("b", "1");
    assert_eq!(
        through.put_if("b", &[], "2"),
        0,
        "dropped: no answer at all"
    );
    assert_eq!(
        moto.get("b").unwrap(),
        b"1",
        "a dropped request is not passed on"
    );
    proxy.clear();
    proxy.add(Rule::on("PUT", "/b").fault(Fault::DropAfter));
    assert_eq!(through.put_if("b", &[], "3"), 0, "its answer dropped");
    assert_eq!(moto.get("b").unwrap(), b"3", "but the store carried it out");
    let dropped: Vec<bool> = proxy.requests().iter().map(|r| r.dropped).collect();
    assert_eq!(dropped, [false, true, true]);
    proxy.clear();
    proxy.add(Rule::on("PUT", "/b").fault(Fault::Delay(Duration::from_millis(50))));
    assert_eq!(through.put_if("b", &[], "4"), 200);
    assert_eq!(
        through.put_if("b", &[("if-match", "\"0123\"")], "5"),
        412,
        "conditions pass through when not stripped"
    );
    assert_eq!(through.list("").len(), 3);
    let requests = proxy.requests();
    assert_eq!(
        requests.iter().map(|r| r.status).collect::<Vec<_>>(),
        [200, 0, 200, 200, 412, 200]
    );
    assert_eq!(requests[4].if_match.as_deref(), Some("\"0123\""));
    assert!(
        requests[5].query.contains("list-type=2"),
        "{:?}",
        requests[5]
    );
}
