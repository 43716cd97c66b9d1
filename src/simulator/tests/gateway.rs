//! The gateway's rate limits over real HTTP: the `429` answer as the reference gives it, the
//! call not carried out, the counters, and limits changed while serving.

use serde_json::json;

use super::harness::{Call, numbered, options, start};
use crate::simulator::{RateLimit, Second, SimulatorOptions};

fn limited(limits: &[&str], retry_after: Option<u64>) -> SimulatorOptions {
    SimulatorOptions {
        rate_limits: limits.iter().map(|limit| limit.parse().unwrap()).collect(),
        throttle_retry_after: retry_after,
        ..options()
    }
}

#[tokio::test]
async fn over_the_limit_the_gateway_answers_429_apigw_0308_and_carries_nothing_out() {
    let server = start(
        limited(&["batch_delete=1/min", "100/s"], Some(3)),
        numbered(2),
    )
    .await;
    let delete = |id: &str| Call::post("desktops/batch-delete", &json!({"desktop_ids": [id]}));
    server.expect(delete("id-00000"), 202).await;
    let throttled = server.send(delete("id-00001")).await;
    assert_eq!(throttled.status, 429);
    assert_eq!(
        throttled.body,
        json!({
            "error_msg": "The throttling threshold has been reached: policy user over ratelimit,limit:1,time:1 minute",
            "error_code": "APIGW.0308",
            "request_id": throttled.request_id,
        })
    );
    assert_eq!(throttled.headers["retry-after"], "3");
    // Reads have their own room.
    server.expect(Call::get("desktops"), 200).await;
    let stats = server.simulator.stats();
    assert_eq!(stats.batch_delete_ids, [vec!["id-00000".to_string()]]);
    assert_eq!(
        (stats.batch_delete, stats.throttled, stats.rejected),
        (2, 1, 1)
    );
    let seconds: Second = stats
        .timeline
        .iter()
        .fold(Second::default(), |sum, s| Second {
            calls: sum.calls + s.calls,
            throttled: sum.throttled + s.throttled,
        });
    assert_eq!((seconds.calls, seconds.throttled), (3, 1));

    // Lifted while serving.
    server.simulator.set_rate_limits(&[]);
    server.expect(delete("id-00001"), 202).await;
    let tighter: RateLimit = "1/min".parse().unwrap();
    server.simulator.set_rate_limits(&[tighter]);
    server.expect(Call::get("desktops"), 200).await;
    assert_eq!(server.send(Call::get("desktops")).await.status, 429);
}
