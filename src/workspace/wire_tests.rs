//! The wire types against the reference's samples and rules.

use super::*;

#[test]
fn a_throttled_answer_states_its_limit() {
    // `shared/workspace-api/sample_responses/error_429_throttled.json`, as it is.
    let sample = r#"{
  "error_msg": "The throttling threshold has been reached: policy user over ratelimit,limit:200,time:1 minute",
  "error_code": "APIGW.0308",
  "request_id": "7e6c1a2b3c4d5e6f708192a3b4c5d6e7"
}"#;
    let body: ErrorBody = serde_json::from_str(sample).unwrap();
    let stated = StatedLimit::parse(&body.error_msg.unwrap()).unwrap();
    assert_eq!(stated.calls, 200);
    assert_eq!(stated.per, std::time::Duration::from_secs(60));
    assert!((stated.per_second() - 200.0 / 60.0).abs() < 1e-9);
    assert_eq!(stated.to_string(), "200 calls a minute");
    for per in [1, 60, 3600, 86_400, 7] {
        let limit = StatedLimit {
            calls: 20,
            per: std::time::Duration::from_secs(per),
        };
        assert_eq!(StatedLimit::parse(&limit.message()), Some(limit));
    }
    assert_eq!(
        StatedLimit::parse("limit:5, time:2 minutes."),
        None,
        "the gateway's spelling has no space after the comma"
    );
    assert_eq!(
        StatedLimit::parse("ratelimit,limit:5,time:2 minutes."),
        Some(StatedLimit {
            calls: 5,
            per: std::time::Duration::from_secs(120)
        })
    );
}

#[test]
fn a_limit_that_does_not_parse_is_no_limit() {
    for message in [
        "",
        "The throttling threshold has been reached",
        "limit:0,time:1 second",
        "limit:-5,time:1 second",
        "limit:99999999999,time:1 second",
        "limit:20,time:0 second",
        "limit:20,time:1 fortnight",
        "limit:20,time:1",
        "limit:20",
        "limit:2e3,time:1 second",
        "limit:20,time:18446744073709551615 days",
    ] {
        assert_eq!(StatedLimit::parse(message), None, "{message:?}");
    }
}

#[test]
fn usable_ids_are_one_safe_path_segment() {
    for id in [
        "4d5e6f70-8192-4a3b-bc4d-5e6f708192a3",
        "ff8080828b9f5b6e018c0a1b2c3d4e5f",
        "job_1.2",
        "...",
        "a",
        &"a".repeat(MAX_ID_LEN),
    ] {
        assert!(is_usable_id(id), "{id:?}");
    }
    for id in [
        "",
        ".",
        "..",
        "a/b",
        "../x",
        "a b",
        "a%2Fb",
        "a?b",
        "a#b",
        "a\\b",
        "a\u{1b}",
        "\u{202e}a",
        "é",
        " a",
        &"a".repeat(MAX_ID_LEN + 1),
    ] {
        assert!(!is_usable_id(id), "{id:?}");
    }
}
