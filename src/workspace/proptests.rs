//! Bad answers never panic the reader: arbitrary bytes, and the recorded sample answers in
//! `tests/data/sample_responses/` cut short, with bytes flipped or with any value swapped for
//! one of another type, decode into every wire type or fail with an error.

use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::wire::*;

const SAMPLES: &[(&str, &str)] = &[
    (
        "batch_delete_desktops_202",
        include_str!("../../tests/data/sample_responses/batch_delete_desktops_202.json"),
    ),
    (
        "error_400_invalid_param",
        include_str!("../../tests/data/sample_responses/error_400_invalid_param.json"),
    ),
    (
        "error_400_too_many_ids",
        include_str!("../../tests/data/sample_responses/error_400_too_many_ids.json"),
    ),
    (
        "error_401_apigw_aksk",
        include_str!("../../tests/data/sample_responses/error_401_apigw_aksk.json"),
    ),
    (
        "error_401_apigw_token",
        include_str!("../../tests/data/sample_responses/error_401_apigw_token.json"),
    ),
    (
        "error_403_forbidden",
        include_str!("../../tests/data/sample_responses/error_403_forbidden.json"),
    ),
    (
        "error_404_not_found",
        include_str!("../../tests/data/sample_responses/error_404_not_found.json"),
    ),
    (
        "error_409_conflict",
        include_str!("../../tests/data/sample_responses/error_409_conflict.json"),
    ),
    (
        "error_429_throttled",
        include_str!("../../tests/data/sample_responses/error_429_throttled.json"),
    ),
    (
        "list_desktops_200",
        include_str!("../../tests/data/sample_responses/list_desktops_200.json"),
    ),
    (
        "list_desktops_detail_200",
        include_str!("../../tests/data/sample_responses/list_desktops_detail_200.json"),
    ),
    (
        "list_sub_jobs_200",
        include_str!("../../tests/data/sample_responses/list_sub_jobs_200.json"),
    ),
    (
        "show_job_FAILED",
        include_str!("../../tests/data/sample_responses/show_job_FAILED.json"),
    ),
    (
        "show_job_RUNNING",
        include_str!("../../tests/data/sample_responses/show_job_RUNNING.json"),
    ),
    (
        "show_job_SUCCESS",
        include_str!("../../tests/data/sample_responses/show_job_SUCCESS.json"),
    ),
    (
        "show_job_WAITING",
        include_str!("../../tests/data/sample_responses/show_job_WAITING.json"),
    ),
];

/// Decodes `bytes` as `T`; what decodes must also encode again. A panic fails the property.
fn one<T: DeserializeOwned + Serialize>(bytes: &[u8]) -> bool {
    match serde_json::from_slice::<T>(bytes) {
        Ok(value) => {
            serde_json::to_vec(&value).expect("a decoded wire value encodes again");
            true
        }
        Err(_) => false,
    }
}

/// Feeds `bytes` to every wire type; returns how many accepted it.
fn every_type(bytes: &[u8]) -> usize {
    listed_like_simple(bytes);
    login_like_detail(bytes);
    [
        one::<Tag>(bytes),
        one::<AttachUserInfo>(bytes),
        one::<SimpleDesktopInfo>(bytes),
        one::<ListDesktopsResponse>(bytes),
        serde_json::from_slice::<ListDesktopsResponse<ListedDesktop>>(bytes).is_ok(),
        one::<DesktopDetailInfo>(bytes),
        one::<ListDesktopsDetailResponse>(bytes),
        serde_json::from_slice::<ListDesktopsDetailResponse<LoginState>>(bytes).is_ok(),
        one::<DeleteDesktopsReq>(bytes),
        one::<BatchDeleteResponse>(bytes),
        one::<JobEntities>(bytes),
        one::<JobDetailInfo>(bytes),
        one::<ShowJobResponse>(bytes),
        one::<ListSubJobsResponse>(bytes),
        one::<ServiceError>(bytes),
        one::<GatewayError>(bytes),
        serde_json::from_slice::<ErrorBody>(bytes).is_ok(),
    ]
    .into_iter()
    .filter(|ok| *ok)
    .count()
}

/// JSON of any type, with the numbers and strings that trip decoders.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        Just(serde_json::json!(-1)),
        Just(serde_json::json!(1e300)),
        ".{0,24}".prop_map(Value::from),
        Just(Value::from("\u{0}\u{feff}\u{10ffff}")),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Every node of `value`, depth first; `replace` swaps the `n`th (wrapped) for `with`.
fn count(value: &Value) -> usize {
    1 + match value {
        Value::Array(items) => items.iter().map(count).sum(),
        Value::Object(map) => map.values().map(count).sum(),
        _ => 0,
    }
}

fn replace(value: &mut Value, n: &mut usize, with: &Value) -> bool {
    if *n == 0 {
        *value = with.clone();
        return true;
    }
    *n -= 1;
    match value {
        Value::Array(items) => items.iter_mut().any(|item| replace(item, n, with)),
        Value::Object(map) => map.values_mut().any(|item| replace(item, n, with)),
        _ => false,
    }
}

#[test]
fn every_sample_decodes_into_its_own_type() {
    for (name, text) in SAMPLES {
        assert!(
            every_type(text.as_bytes()) >= 1,
            "{name} decodes as nothing"
        );
    }
}

/// The client reads pages with `ListedDesktop`: it must read the same values the full
/// `SimpleDesktopInfo` does, from the reference's sample and from every mutation of it that the
/// full type accepts.
fn listed_like_simple(bytes: &[u8]) {
    let Ok(full) = serde_json::from_slice::<ListDesktopsResponse>(bytes) else {
        return;
    };
    let listed: ListDesktopsResponse<ListedDesktop> =
        serde_json::from_slice(bytes).expect("what the full type reads, the client reads");
    assert_eq!(listed.total_count, full.total_count);
    let expected: Vec<ListedDesktop> = full
        .desktops
        .into_iter()
        .map(|desktop| ListedDesktop {
            desktop_id: desktop.desktop_id,
            computer_name: desktop.computer_name,
            created: desktop.created,
            user_name: desktop.user_name,
            enterprise_project_id: desktop.enterprise_project_id,
            tags: desktop.tags,
            status: desktop.status,
            task_status: desktop.task_status,
        })
        .collect();
    assert_eq!(listed.desktops, expected);
}

/// The same for `LoginState` and the detail list.
fn login_like_detail(bytes: &[u8]) {
    let Ok(full) = serde_json::from_slice::<ListDesktopsDetailResponse>(bytes) else {
        return;
    };
    let read: ListDesktopsDetailResponse<LoginState> =
        serde_json::from_slice(bytes).expect("what the full type reads, the client reads");
    assert_eq!(read.total_count, full.total_count);
    let expected: Vec<LoginState> = full
        .desktops
        .into_iter()
        .map(|desktop| LoginState {
            desktop_id: desktop.desktop_id,
            login_status: desktop.login_status,
        })
        .collect();
    assert_eq!(read.desktops, expected);
}

#[test]
fn the_client_reads_the_sample_detail_page_as_the_full_type_does() {
    let page = include_str!("../../tests/data/sample_responses/list_desktops_detail_200.json");
    let full: ListDesktopsDetailResponse = serde_json::from_str(page).unwrap();
    assert!(full.desktops.iter().any(|d| d.login_status.is_some()));
    login_like_detail(page.as_bytes());
}

#[test]
fn the_client_reads_the_sample_page_as_the_full_type_does() {
    let page = include_str!("../../tests/data/sample_responses/list_desktops_200.json");
    let full: ListDesktopsResponse = serde_json::from_str(page).unwrap();
    assert!(!full.desktops.is_empty());
    listed_like_simple(page.as_bytes());
}

/// Types that ignore the key skip the value without recursing; the one that keeps it as JSON
/// hits serde_json's depth limit. Neither overflows the stack.
#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    for depth in [200, 10_000, 100_000] {
        let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let body = format!(r#"{{"desktop_id": "d", "metadata": {nested}}}"#);
        every_type(body.as_bytes());
        assert!(
            serde_json::from_str::<DesktopDetailInfo>(&body).is_err(),
            "depth {depth}"
        );
        let body = format!(
            r#"{{"total_count": 1, "desktops": [{{"desktop_id": "d", "process": {nested}}}]}}"#
        );
        every_type(body.as_bytes());
        assert!(
            serde_json::from_str::<ListDesktopsDetailResponse>(&body).is_err(),
            "depth {depth}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        every_type(&bytes);
    }

    #[test]
    fn arbitrary_json_never_panics(value in json_value()) {
        every_type(&serde_json::to_vec(&value).unwrap());
    }

    #[test]
    fn truncated_samples_never_panic(sample in 0..SAMPLES.len(), cut in any::<usize>()) {
        let bytes = SAMPLES[sample].1.as_bytes();
        every_type(&bytes[..cut % (bytes.len() + 1)]);
    }

    #[test]
    fn flipped_samples_never_panic(
        sample in 0..SAMPLES.len(),
        flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..6),
    ) {
        let mut bytes = SAMPLES[sample].1.as_bytes().to_vec();
        for (at, byte) in flips {
            let at = at % bytes.len();
            bytes[at] = byte;
        }
        every_type(&bytes);
    }

    #[test]
    fn samples_with_a_value_of_another_type_never_panic(
        sample in 0..SAMPLES.len(),
        swaps in prop::collection::vec((any::<usize>(), json_value()), 1..4),
    ) {
        let mut value: Value = serde_json::from_str(SAMPLES[sample].1).unwrap();
        for (n, with) in swaps {
            let mut n = n % count(&value);
            replace(&mut value, &mut n, &with);
        }
        every_type(&serde_json::to_vec(&value).unwrap());
    }
}
