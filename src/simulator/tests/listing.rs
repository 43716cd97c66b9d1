//! Both list calls: the sample page served back as it is, paging, limits and filters.

use serde_json::{Value, json};

use super::harness::{Call, desktop, ids, numbered, options, seed, start};
use crate::simulator::SeedDesktop;

/// A copy of `shared/workspace-api/sample_responses/list_desktops_200.json`, a page the
/// official SDK deserialises and re-serialises unchanged; kept here so the crate tests alone.
const SAMPLE_PAGE: &str = include_str!("list_desktops_200.json");

#[tokio::test]
async fn serves_the_sample_page_unchanged() {
    let page: Value = serde_json::from_str(SAMPLE_PAGE).expect("the sample is JSON");
    let inventory: Vec<SeedDesktop> =
        serde_json::from_value(page["desktops"].clone()).expect("sample desktops seed");
    let server = start(options(), inventory).await;
    let answer = server.send(Call::get("desktops")).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.content_type, "application/json");
    assert_eq!(answer.body, page);
}

#[tokio::test]
async fn pages_follow_the_inventory_order_with_the_total_count() {
    let server = start(options(), numbered(2345)).await;
    let mut seen = Vec::new();
    for offset in [0, 1000, 2000] {
        let page = server
            .expect(
                Call::get("desktops")
                    .query("offset", &offset.to_string())
                    .query("limit", "1000"),
                200,
            )
            .await;
        assert_eq!(page["total_count"], 2345);
        seen.extend(ids(&page));
    }
    let expected: Vec<String> = (0..2345).map(|n| format!("id-{n:05}")).collect();
    assert_eq!(seen, expected);

    let default_limit = server.expect(Call::get("desktops"), 200).await;
    assert_eq!(ids(&default_limit).len(), 1000);
    let past_the_end = server
        .expect(Call::get("desktops").query("offset", "5000"), 200)
        .await;
    assert_eq!(past_the_end, json!({"total_count": 2345, "desktops": []}));
}

#[tokio::test]
async fn out_of_range_limits_are_refused() {
    let server = start(options(), numbered(3)).await;
    let refused = [
        ("desktops", "limit", "1001"),
        ("desktops", "limit", "-1"),
        ("desktops", "limit", "ten"),
        ("desktops", "offset", "-5"),
        ("desktops/detail", "limit", "501"),
        ("workspace-sub-jobs", "limit", "1001"),
        ("workspace-sub-jobs", "offset", "10001"),
    ];
    for (path, key, value) in refused {
        let answer = server.send(Call::get(path).query(key, value)).await;
        assert_eq!(
            (answer.status, answer.error_code()),
            (400, "WKS.0001"),
            "{path}?{key}={value}"
        );
    }
}

#[tokio::test]
async fn detail_pages_by_500_and_always_has_a_login_status() {
    let mut inventory = numbered(600);
    inventory[1].login_status = Some("CONNECTED".to_string());
    let server = start(options(), inventory).await;
    let first = server.expect(Call::get("desktops/detail"), 200).await;
    assert_eq!(first["total_count"], 600);
    let desktops = first["desktops"].as_array().expect("desktops");
    assert_eq!(desktops.len(), 500);
    assert_eq!(desktops[0]["login_status"], "REGISTERED");
    assert_eq!(desktops[1]["login_status"], "CONNECTED");
    assert_eq!(desktops[0]["computer_name"], "PC-00000");
    assert_eq!(
        desktops[0]["tags"],
        json!([{"key": "team", "value": "finance"}])
    );
    let rest = server
        .expect(Call::get("desktops/detail").query("offset", "500"), 200)
        .await;
    assert_eq!(ids(&rest).len(), 100);
}

#[tokio::test]
async fn filters_narrow_the_page_and_the_total_count() {
    let inventory = vec![
        desktop("a", "FIN-PC-001", "alice"),
        desktop("b", "FIN-PC-002", "bob"),
        desktop("c", "OPS-PC-001", "carol"),
        seed(json!({
            "desktop_id": "d",
            "computer_name": "ops-pc-002",
            "user_name": "alice",
            "enterprise_project_id": "ep-1",
            "tags": [{"key": "team", "value": "ops"}, {"key": "env", "value": "prod"}],
            "status": "SHUTOFF",
        })),
    ];
    let server = start(options(), inventory).await;
    // (request, IDs of the page, total_count)
    let cases: Vec<(Call, Vec<&str>, u64)> = vec![
        (
            Call::get("desktops")
                .query("desktop_id", "c")
                .query("desktop_id", "a")
                .query("desktop_id", "nope"),
            vec!["a", "c"],
            2,
        ),
        (
            Call::get("desktops").query("computer_name", "ops-pc"),
            vec!["c", "d"],
            2,
        ),
        (
            Call::get("desktops")
                .query("user_name", "alice")
                .query("user_name", "bob"),
            vec!["a", "b", "d"],
            3,
        ),
        (
            Call::get("desktops").query("enterprise_project_id", "ep-1"),
            vec!["d"],
            1,
        ),
        (
            Call::get("desktops").query("tag", "team=finance"),
            vec!["a", "b", "c"],
            3,
        ),
        (
            Call::get("desktops").query("tag", "team=ops,env=prod"),
            vec!["d"],
            1,
        ),
        (
            Call::get("desktops").query("tag", "team=ops,env=dev"),
            vec![],
            0,
        ),
        (
            Call::get("desktops").query("status", "SHUTOFF"),
            vec!["d"],
            1,
        ),
        (
            Call::get("desktops/detail")
                .query("user_names", "carol")
                .query("user_name", "alice"),
            vec!["c"],
            1,
        ),
        (
            Call::get("desktops")
                .query("computer_name", "PC-00")
                .query("user_name", "alice")
                .query("limit", "1")
                .query("offset", "1"),
            vec!["d"],
            2,
        ),
    ];
    for (call, expected, total) in cases {
        let page = server.expect(call, 200).await;
        assert_eq!(ids(&page), expected, "page {page}");
        assert_eq!(page["total_count"], total, "page {page}");
    }
}

#[tokio::test]
async fn more_than_100_desktop_ids_in_a_filter_are_refused() {
    let server = start(options(), numbered(1)).await;
    let mut call = Call::get("desktops");
    for n in 0..101 {
        call = call.query("desktop_id", &format!("id-{n}"));
    }
    let answer = server.send(call).await;
    assert_eq!((answer.status, answer.error_code()), (400, "WKS.0001"));
}
