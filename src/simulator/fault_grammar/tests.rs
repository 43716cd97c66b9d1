//! Tests of the fault rule text form: what parses into which rule, what is refused and why,
//! and that a rule prints back as it was written.

use super::*;

fn parsed(text: &str) -> FaultRule {
    text.parse()
        .unwrap_or_else(|err| panic!("`{text}` should parse: {err}"))
}

fn problem(text: &str) -> String {
    match text.parse::<FaultRule>() {
        Ok(rule) => panic!("`{text}` should not parse, got {rule:?}"),
        Err(err) => {
            assert_eq!(err.rule, text);
            err.problem
        }
    }
}

#[test]
fn reads_the_examples_of_the_docs() {
    assert_eq!(
        parsed("batch_delete:nth=2:status=429:retry_after=1"),
        FaultRule {
            endpoint: Endpoint::BatchDelete,
            trigger: Trigger::Nth(2),
            times: None,
            action: FaultAction::Status {
                status: 429,
                retry_after: Some(1),
                plain_text: false,
            },
        }
    );
    assert_eq!(
        parsed("list:share=0.1:status=503"),
        FaultRule {
            endpoint: Endpoint::List,
            trigger: Trigger::Share {
                share: 0.1,
                seed: 1
            },
            times: None,
            action: FaultAction::Status {
                status: 503,
                retry_after: None,
                plain_text: false,
            },
        }
    );
    assert_eq!(
        parsed("batch_delete:nth=1:drop=after").action,
        FaultAction::Drop(DropPoint::After)
    );
    assert_eq!(parsed("list:nth=1:insert=1").action, FaultAction::Insert(1));
}

#[test]
fn parts_come_in_any_order_with_their_modifiers() {
    let rule = parsed("detail:body=text:status=502:times=3:from=2");
    assert_eq!(rule.trigger, Trigger::From(2));
    assert_eq!(rule.times, Some(3));
    assert_eq!(
        rule.action,
        FaultAction::Status {
            status: 502,
            retry_after: None,
            plain_text: true
        }
    );
    assert_eq!(
        parsed("any:seed=42:share=0.5:latency=20").trigger,
        Trigger::Share {
            share: 0.5,
            seed: 42
        }
    );
    assert_eq!(
        parsed("list:nth=1:oversize").action,
        FaultAction::Oversize {
            mib: DEFAULT_OVERSIZE_MIB
        }
    );
    assert_eq!(
        parsed("list:nth=1:oversize=70").action,
        FaultAction::Oversize { mib: 70 }
    );
}

#[test]
fn every_rule_prints_as_text_that_parses_back() {
    let texts = [
        "list:nth=1:status=503",
        "detail:from=2:times=3:status=502:body=text",
        "batch_delete:nth=2:status=429:retry_after=1",
        "any:share=0.25:seed=9:latency=40",
        "batch_delete:nth=1:drop=before",
        "batch_delete:nth=1:drop=after",
        "show_job:nth=1:truncate",
        "sub_jobs:nth=1:malformed",
        "list:nth=1:oversize=80",
        "detail:nth=1:refuse=300",
        "list:from=1:insert=2",
        "list:nth=1:remove=1",
        "batch_delete:nth=2:repeat_job_id",
    ];
    for text in texts {
        let rule = parsed(text);
        assert_eq!(rule.to_string(), text);
        assert_eq!(parsed(&rule.to_string()), rule);
    }
}

#[test]
fn errors_name_the_bad_part() {
    let cases = [
        ("lst:nth=1:status=503", "`lst` is not an endpoint"),
        (
            "list:nth=0:status=503",
            "`nth=0`: calls are numbered from 1",
        ),
        (
            "list:nth=x:status=503",
            "`nth=x`: calls are numbered from 1",
        ),
        ("list:nth:status=503", "`nth`: needs a value"),
        (
            "list:share=1.5:status=503",
            "`share=1.5`: a share is a number from 0 to 1",
        ),
        ("list:status=503", "no trigger"),
        ("list:nth=1", "no action"),
        (
            "list:nth=1:from=2:status=503",
            "`from=2`: a rule has one trigger",
        ),
        (
            "list:nth=1:status=503:drop=after",
            "`drop=after`: a rule has one action",
        ),
        (
            "list:nth=1:status=200",
            "`status=200`: an error status from 400 to 599",
        ),
        (
            "list:nth=1:status=600",
            "`status=600`: an error status from 400 to 599",
        ),
        (
            "list:nth=1:drop=later",
            "`drop=later`: drop `before` or `after`",
        ),
        (
            "list:nth=1:truncate=2",
            "`truncate=2`: `truncate` takes no value",
        ),
        (
            "list:nth=1:latency=20:retry_after=1",
            "`retry_after=1`: goes only with `status=CODE`",
        ),
        (
            "list:nth=1:latency=20:body=text",
            "`body=text`: goes only with `status=CODE`",
        ),
        (
            "list:nth=1:status=503:body=xml",
            "`body=xml`: the body is `json` or `text`",
        ),
        (
            "list:nth=1:seed=3:status=503",
            "`seed=3`: a seed goes only with `share=P`",
        ),
        (
            "list:nth=1:nth=2:status=503",
            "`nth=2`: `nth` is given twice",
        ),
        ("list:nth=1:explode", "`explode`: unknown part `explode`"),
        ("list:nth=1:insert=0", "`insert=0`: a count of at least 1"),
        ("list:nth=1:refuse=0", "`refuse=0`: milliseconds"),
        (
            "list:nth=1:times=0:status=503",
            "`times=0`: a count of at least 1",
        ),
    ];
    for (text, expected) in cases {
        let problem = problem(text);
        assert!(
            problem.contains(expected),
            "`{text}`: got `{problem}`, expected it to contain `{expected}`"
        );
    }
    let err = "list:nth=0:status=503".parse::<FaultRule>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "fault `list:nth=0:status=503`: `nth=0`: calls are numbered from 1"
    );
}
