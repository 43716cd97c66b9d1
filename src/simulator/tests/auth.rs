//! The gateway in front: signatures, tokens, clock skew, routing and the JSON content type.

use jiff::{SignedDuration, Timestamp};
use reqwest::Method;

use super::harness::{Auth, Call, SK, numbered, options, start};
use crate::simulator::SimulatorOptions;

const TOKEN: &str = "MIIsecret-token-value";
const SECURITY_TOKEN: &str = "temporary-security-token";

fn is_request_id(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|byte| byte.is_ascii_hexdigit())
}

#[tokio::test]
async fn a_valid_signature_is_accepted_and_answers_carry_a_request_id() {
    let server = start(options(), numbered(2)).await;
    let answer = server
        .send(
            Call::get("desktops")
                .query("limit", "1")
                .query("computer_name", "PC 00/0ü"),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(is_request_id(&answer.request_id), "{}", answer.request_id);
}

#[tokio::test]
async fn bad_signatures_are_refused_with_apigw_0301() {
    let server = start(options(), numbered(2)).await;
    let refused = [
        Call::get("desktops").secret_key("not-the-secret"),
        Call::get("desktops").auth(Auth::Token(TOKEN.to_string())),
    ];
    let messages = [
        "Incorrect IAM authentication information: verify aksk signature fail",
        "Incorrect IAM authentication information: decrypt token fail",
    ];
    for (call, message) in refused.into_iter().zip(messages) {
        let answer = server.send(call).await;
        assert_eq!((answer.status, answer.error_code()), (401, "APIGW.0301"));
        assert_eq!(answer.error_msg(), message);
        assert_eq!(answer.body["request_id"], answer.request_id.as_str());
        assert!(is_request_id(&answer.request_id));
        assert!(!answer.body.to_string().contains(SK));
    }
    let anonymous = server.send(Call::get("desktops").auth(Auth::Nothing)).await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(
        anonymous.error_msg(),
        "Incorrect IAM authentication information: x-auth-token not found"
    );
}

#[tokio::test]
async fn the_signature_covers_the_query_and_the_body() {
    let server = start(options(), numbered(2)).await;
    let extra_pair = Call::get("desktops")
        .query("limit", "1")
        .unsigned_query("offset", "1");
    assert_eq!(server.send(extra_pair).await.status, 401);
    let body = serde_json::json!({"desktop_ids": ["id-00000"]});
    let other_body = Call::post("desktops/batch-delete", &body)
        .sent_body(br#"{"desktop_ids": ["id-00001"]}"#.to_vec());
    assert_eq!(server.send(other_body).await.status, 401);
    assert_eq!(
        server.simulator.stats().batch_delete_ids,
        Vec::<Vec<String>>::new()
    );
}

#[tokio::test]
async fn a_clock_more_than_15_minutes_off_is_refused() {
    for (offset_minutes, status) in [(20, 401), (-20, 401), (10, 200), (-10, 200)] {
        let skewed = SimulatorOptions {
            clock_offset: SignedDuration::from_mins(offset_minutes),
            ..options()
        };
        let server = start(skewed, numbered(1)).await;
        let answer = server.send(Call::get("desktops")).await;
        assert_eq!(answer.status, status, "offset {offset_minutes} min");
        if status == 401 {
            assert_eq!(answer.error_code(), "APIGW.0301");
            assert!(answer.error_msg().contains("expired"), "{}", answer.body);
        }
    }
    let server = start(options(), numbered(1)).await;
    let stale = Timestamp::now() - SignedDuration::from_mins(16);
    let answer = server.send(Call::get("desktops").signed_at(stale)).await;
    assert_eq!(answer.status, 401);
}

#[tokio::test]
async fn a_configured_token_is_accepted() {
    let with_token = SimulatorOptions {
        token: Some(TOKEN.to_string()),
        ..SimulatorOptions::default()
    };
    let server = start(with_token, numbered(1)).await;
    let ok = server
        .send(Call::get("desktops").auth(Auth::Token(TOKEN.to_string())))
        .await;
    assert_eq!(ok.status, 200);
    let wrong = server
        .send(Call::get("desktops").auth(Auth::Token("other".to_string())))
        .await;
    assert_eq!(wrong.status, 401);
    assert!(!wrong.body.to_string().contains(TOKEN));
    // No AK/SK configured: any signature is refused.
    assert_eq!(server.send(Call::get("desktops")).await.status, 401);
}

#[tokio::test]
async fn temporary_credentials_need_the_signed_security_token() {
    let temporary = SimulatorOptions {
        security_token: Some(SECURITY_TOKEN.to_string()),
        ..options()
    };
    let server = start(temporary, numbered(1)).await;
    let with = Call::get("desktops").header("X-Security-Token", SECURITY_TOKEN);
    assert_eq!(server.send(with).await.status, 200);
    let wrong = Call::get("desktops").header("X-Security-Token", "other");
    assert_eq!(server.send(wrong).await.status, 401);
    assert_eq!(server.send(Call::get("desktops")).await.status, 401);
}

#[tokio::test]
async fn unknown_apis_are_apigw_0101() {
    let server = start(options(), numbered(1)).await;
    let calls = [
        Call::get("/v2/ffffffffffffffffffffffffffffffff/desktops"),
        Call::get("desktops/nope"),
        Call::new(Method::DELETE, "desktops", Vec::new()),
        Call::get("/v3/x"),
    ];
    for call in calls {
        let answer = server.send(call).await;
        assert_eq!((answer.status, answer.error_code()), (404, "APIGW.0101"));
        assert_eq!(
            answer.error_msg(),
            "The API does not exist or has not been published in the environment"
        );
        assert_eq!(answer.body["request_id"], answer.request_id.as_str());
    }
}

#[tokio::test]
async fn a_request_without_json_content_type_is_refused() {
    let server = start(options(), numbered(1)).await;
    for content_type in [None, Some("text/plain")] {
        let answer = server
            .send(Call::get("desktops").content_type(content_type))
            .await;
        assert_eq!((answer.status, answer.error_code()), (400, "WKS.0001"));
    }
    let charset = Call::get("desktops").content_type(Some("application/json;charset=UTF-8"));
    assert_eq!(server.send(charset).await.status, 200);
}
