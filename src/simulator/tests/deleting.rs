//! Batch-delete validation: sizes, unknown IDs, conflicts, and that a refused request changes
//! nothing.

use serde_json::{Value, json};

use super::harness::{Call, desktop, numbered, options, seed, start};

fn delete(ids: &[&str]) -> Call {
    Call::post("desktops/batch-delete", &json!({ "desktop_ids": ids }))
}

fn task_status_of(page: &Value, id: &str) -> String {
    page["desktops"]
        .as_array()
        .expect("desktops")
        .iter()
        .find(|desktop| desktop["desktop_id"] == id)
        .map(|desktop| {
            desktop["task_status"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .expect("the desktop is listed")
}

#[tokio::test]
async fn the_id_count_must_be_1_to_100() {
    let server = start(options(), numbered(1)).await;
    let many: Vec<String> = (0..101).map(|n| format!("id-{n}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    for call in [delete(&many), delete(&[])] {
        let answer = server.send(call).await;
        assert_eq!((answer.status, answer.error_code()), (400, "WKS.0001"));
        assert_eq!(
            answer.error_msg(),
            "desktop_ids size must be between 1 and 100"
        );
    }
}

#[tokio::test]
async fn a_body_that_is_not_a_delete_request_is_refused() {
    let server = start(options(), numbered(1)).await;
    for body in [json!({}), json!({"desktop_ids": "id-00000"}), json!([1])] {
        let answer = server
            .send(Call::post("desktops/batch-delete", &body))
            .await;
        assert_eq!((answer.status, answer.error_code()), (400, "WKS.0001"));
        assert_eq!(
            answer.error_msg(),
            "The request message input by the interface is empty."
        );
    }
    let twice = server.send(delete(&["id-00000", "id-00000"])).await;
    assert_eq!((twice.status, twice.error_code()), (400, "WKS.0001"));
}

#[tokio::test]
async fn an_unknown_id_refuses_the_whole_batch() {
    let server = start(options(), numbered(2)).await;
    let answer = server.send(delete(&["id-00000", "ghost"])).await;
    assert_eq!((answer.status, answer.error_code()), (404, "WKS.0202"));
    assert_eq!(answer.error_msg(), "The desktop [ghost] does not exist.");
    let page = server.expect(Call::get("desktops"), 200).await;
    assert_eq!(task_status_of(&page, "id-00000"), "");
}

#[tokio::test]
async fn deleting_or_conflicting_desktops_answer_409() {
    let inventory = vec![
        desktop("free", "FREE", "u"),
        seed(json!({"desktop_id": "busy", "status": "ACTIVE", "task_status": "deleting"})),
        seed(json!({
            "desktop_id": "stuck",
            "status": "ACTIVE",
            "task_status": "rebooting",
            "simulate": {"delete": "conflict"},
        })),
    ];
    let server = start(options(), inventory).await;
    let cases = [("busy", "deleting"), ("stuck", "rebooting")];
    for (id, word) in cases {
        let answer = server.send(delete(&["free", id])).await;
        assert_eq!((answer.status, answer.error_code()), (409, "WKS.00010032"));
        assert_eq!(
            answer.error_msg(),
            format!(
                "Operation conflict. The desktop current instance status is [{word}] and deny \
                 operation [delete], resource id [{id}]."
            )
        );
    }
    let page = server.expect(Call::get("desktops"), 200).await;
    assert_eq!(task_status_of(&page, "free"), "");
    let stats = server.simulator.stats();
    assert_eq!(stats.batch_delete, 2);
    assert_eq!(stats.rejected, 2);
    assert!(stats.batch_delete_ids.is_empty());
}

#[tokio::test]
async fn an_accepted_delete_marks_the_desktops_deleting_at_once() {
    let slow = crate::simulator::SimulatorOptions {
        job_duration: std::time::Duration::from_secs(60),
        ..options()
    };
    let server = start(slow, numbered(3)).await;
    let accepted = server.expect(delete(&["id-00002", "id-00000"]), 202).await;
    let job_id = accepted["job_id"].as_str().expect("a job id");
    assert!(uuid::Uuid::parse_str(job_id).is_ok(), "{job_id}");
    let page = server.expect(Call::get("desktops"), 200).await;
    assert_eq!(task_status_of(&page, "id-00000"), "deleting");
    assert_eq!(task_status_of(&page, "id-00001"), "");
    assert_eq!(task_status_of(&page, "id-00002"), "deleting");
    let again = server.send(delete(&["id-00000"])).await;
    assert_eq!(again.status, 409);
    assert_eq!(
        server.simulator.stats().batch_delete_ids,
        vec![vec!["id-00002".to_string(), "id-00000".to_string()]]
    );
}
