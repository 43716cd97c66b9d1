//! Bad input never panics the config reader: arbitrary text, and a valid file mangled every way
//! a person or a tool might (bytes flipped, cut short, keys added, values of the wrong type),
//! either parses or fails with diagnostics that each point at a real `line:col` of the file.

use std::path::Path;

use proptest::prelude::*;

use super::parse;

/// A valid file using every key, so mutations hit every part of the reader.
const VALID: &str = r#"#:schema ./schema/config.schema.json
[cloud]
region = "cn-north-4"
project_id = "0b6a4c2d9e8f41a7b3c5d6e7f8091a2b"
endpoint = "http://127.0.0.1:8080"

[scope]
enterprise_project_id = "3c6a1d2e-5f4b-4a3c-9d8e-7f6a5b4c3d2e"
tags = { team = "eng", env = "prod" }
name_prefix = "eng-"

[delete]
delete_users = false
email_notification = true
force = false
batch_size = 100

[guard]
protect_tag = "deskprune:protect"
max_deletions = 10
max_delete_percent = 25
allow_empty = false
in_use_login_statuses = ["CONNECTED"]

[client]
max_retries = 5
timeout = 30
max_concurrency = 8
requests_per_second = 10

[[desktop]]
name = "eng-alice-01"
[[desktop]]
id = "1d81c1dc-312b-4621-b778-bac3a1336442"
[[desktop]]
name = "Ünïcødé-😀"
"#;

/// Every key the reader knows, and a few it does not.
const KEYS: &[&str] = &[
    "region",
    "project_id",
    "endpoint",
    "simulator",
    "enterprise_project_id",
    "tags",
    "name_prefix",
    "all",
    "delete_users",
    "email_notification",
    "force",
    "batch_size",
    "protect_tag",
    "max_deletions",
    "max_delete_percent",
    "allow_empty",
    "in_use_login_statuses",
    "max_retries",
    "timeout",
    "max_concurrency",
    "requests_per_second",
    "name",
    "id",
    "desktop",
    "cloud",
    "scope",
    "\"quoted key\"",
    "a.b.c",
    "é",
];

const TABLES: &[&str] = &[
    "[cloud]",
    "[scope]",
    "[delete]",
    "[guard]",
    "[client]",
    "[[desktop]]",
    "[desktop]",
    "[[cloud]]",
    "[scope.tags]",
    "[unknown]",
    "[",
    "[[",
];

/// TOML text of a value of any type, valid or nearly so.
fn toml_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| format!("{n:?}")),
        Just("nan".to_string()),
        Just("-inf".to_string()),
        Just("1e400".to_string()),
        Just("99999999999999999999999".to_string()),
        Just("0x7f".to_string()),
        Just("1_000".to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        ".{0,20}".prop_map(|s| format!("{s:?}")),
        "[^'\n]{0,20}".prop_map(|s| format!("'{s}'")),
        ".{0,20}".prop_map(|s| format!("\"\"\"\n{s}\n\"\"\"")),
        Just("1979-05-27T07:32:00Z".to_string()),
        Just("07:32:00".to_string()),
        Just("1979-05-27".to_string()),
        Just(String::new()),
        Just("\"unterminated".to_string()),
        Just("\"\\u{D800}\"".to_string()),
        Just("\"\\uD800\"".to_string()),
        "[a-z=\\[\\]{}\",. ]{0,12}",
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::vec(("[a-z_]{1,8}", inner), 0..4).prop_map(|v| {
                let pairs: Vec<String> = v.into_iter().map(|(k, v)| format!("{k} = {v}")).collect();
                format!("{{ {} }}", pairs.join(", "))
            }),
        ]
    })
}

/// One way to mangle a file.
#[derive(Debug, Clone)]
enum Mutation {
    /// Set the byte at this (wrapped) position.
    Flip(usize, u8),
    /// Keep only this (wrapped) many bytes.
    Truncate(usize),
    /// Insert a line before this (wrapped) line.
    InsertLine(usize, String),
    /// Replace the value of the nth (wrapped) `key = value` line.
    ReplaceValue(usize, String),
    /// Delete this (wrapped) line.
    DeleteLine(usize),
    /// Duplicate this (wrapped) line.
    DuplicateLine(usize),
    /// Windows line endings.
    Crlf,
    /// A byte-order mark in front.
    Bom,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let line = prop_oneof![
        (prop::sample::select(KEYS), toml_value())
            .prop_map(|(key, value)| format!("{key} = {value}")),
        prop::sample::select(TABLES).prop_map(str::to_string),
        ".{0,30}",
        // Comments, with any char (control chars are errors in TOML).
        "# [\\x00-\\x1f\\x7f a-z]{0,5}",
    ];
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Flip(at, byte)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), line).prop_map(|(at, line)| Mutation::InsertLine(at, line)),
        (any::<usize>(), toml_value()).prop_map(|(at, value)| Mutation::ReplaceValue(at, value)),
        any::<usize>().prop_map(Mutation::DeleteLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        Just(Mutation::Crlf),
        Just(Mutation::Bom),
    ]
}

fn apply(text: &str, mutation: &Mutation) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    match mutation {
        Mutation::Flip(at, byte) => {
            let mut bytes = text.as_bytes().to_vec();
            if !bytes.is_empty() {
                let at = at % bytes.len();
                bytes[at] = *byte;
            }
            return String::from_utf8_lossy(&bytes).into_owned();
        }
        Mutation::Truncate(at) => {
            let bytes = text.as_bytes();
            let at = at % (bytes.len() + 1);
            return String::from_utf8_lossy(&bytes[..at]).into_owned();
        }
        Mutation::Crlf => return text.replace('\n', "\r\n"),
        Mutation::Bom => return format!("\u{feff}{text}"),
        Mutation::InsertLine(at, line) => {
            let at = at % (lines.len() + 1);
            lines.insert(at, line.clone());
        }
        Mutation::ReplaceValue(nth, value) => {
            let assignments: Vec<usize> = (0..lines.len())
                .filter(|&i| lines[i].contains(" = "))
                .collect();
            if !assignments.is_empty() {
                let i = assignments[nth % assignments.len()];
                let key = lines[i].split(" = ").next().unwrap_or_default().to_string();
                lines[i] = format!("{key} = {value}");
            }
        }
        Mutation::DeleteLine(at) => {
            if !lines.is_empty() {
                let at = at % lines.len();
                lines.remove(at);
            }
        }
        Mutation::DuplicateLine(at) => {
            if !lines.is_empty() {
                let at = at % lines.len();
                lines.insert(at, lines[at].clone());
            }
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// Parses `text` (a panic fails the property); an error must point into the file.
fn check(text: &str) -> Result<(), TestCaseError> {
    let Err(error) = parse(Path::new("deskprune.toml"), text) else {
        return Ok(());
    };
    let lines = text.split('\n').count();
    prop_assert!(!error.diagnostics().is_empty());
    for diagnostic in error.diagnostics() {
        prop_assert!(
            diagnostic.line >= 1 && diagnostic.column >= 1,
            "diagnostic without a place: {diagnostic:?}\nfor:\n{text}"
        );
        prop_assert!(
            diagnostic.line <= lines,
            "line {} of a {lines}-line file: {diagnostic:?}",
            diagnostic.line
        );
    }
    let rendered = error.render(false);
    prop_assert!(!rendered.trim().is_empty(), "empty rendering for:\n{text}");
    prop_assert!(
        rendered.contains("deskprune.toml:"),
        "rendering without `file:line:col`:\n{rendered}\nfor:\n{text}"
    );
    // Colour changes the escapes only, and must not panic either.
    prop_assert!(!error.render(true).is_empty());
    Ok(())
}

#[test]
fn the_valid_file_is_valid() {
    parse(Path::new("deskprune.toml"), VALID).expect("VALID parses");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,400}") {
        check(&text)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        check(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn lines_of_toml_never_panic(
        lines in prop::collection::vec(
            prop_oneof![
                (prop::sample::select(KEYS), toml_value()).prop_map(|(k, v)| format!("{k} = {v}")),
                prop::sample::select(TABLES).prop_map(str::to_string),
            ],
            0..12,
        )
    ) {
        check(&lines.join("\n"))?;
    }

    #[test]
    fn a_mangled_valid_file_never_panics(mutations in prop::collection::vec(mutation(), 1..5)) {
        let text = mutations.iter().fold(VALID.to_string(), |text, m| apply(&text, m));
        check(&text)?;
    }
}

/// Every numeric key, with its table.
const NUMERIC_KEYS: &[(&str, &str)] = &[
    ("delete", "batch_size"),
    ("guard", "max_deletions"),
    ("guard", "max_delete_percent"),
    ("client", "max_retries"),
    ("client", "timeout"),
    ("client", "max_concurrency"),
    ("client", "requests_per_second"),
];

/// TOML text of a number of any size and sign: any `f64` (NaN and the infinities in TOML's
/// words), any `i64`, and the edges where conversions break.
fn number() -> impl Strategy<Value = String> {
    let float = |x: f64| match x {
        x if x.is_nan() => "nan".to_string(),
        x if x == f64::INFINITY => "inf".to_string(),
        x if x == f64::NEG_INFINITY => "-inf".to_string(),
        x => format!("{x:?}"),
    };
    prop_oneof![
        any::<f64>().prop_map(float),
        (-1e4f64..1e4).prop_map(float),
        (-1e-3f64..1e-3).prop_map(float),
        any::<i64>().prop_map(|n| n.to_string()),
        (-200i64..200).prop_map(|n| n.to_string()),
        prop::sample::select(vec![
            "nan",
            "+nan",
            "-nan",
            "inf",
            "+inf",
            "-inf",
            "0",
            "-0",
            "0.0",
            "-0.0",
            "1e-20",
            "1e-300",
            "5e-324",
            "1e20",
            "1.7976931348623157e308",
            "0.001",
            "0.01",
            "0.0099",
            "18446744073709551615",
            "9223372036854775807",
            "-9223372036854775808",
        ])
        .prop_map(str::to_string),
    ]
}

/// Loads a config whose numeric keys are `values`, and uses what it accepted as deskprune
/// does (the client with its rate limiter and timeouts, the deletion budget): a value is
/// refused with a diagnostic or works, never panics.
fn load_and_use(values: &[(usize, String)]) -> Result<(), TestCaseError> {
    let mut text = String::from(
        "[cloud]\nregion = \"cn-north-4\"\nproject_id = \"0b6a4c2d9e8f41a7b3c5d6e7f8091a2b\"\n\
         [scope]\nall = true\n",
    );
    for table in ["delete", "guard", "client"] {
        text.push_str(&format!("[{table}]\n"));
        for (key, value) in values {
            let (key_table, key) = NUMERIC_KEYS[*key];
            if key_table == table {
                text.push_str(&format!("{key} = {value}\n"));
            }
        }
    }
    check(&text)?;
    let Ok(config) = parse(Path::new("deskprune.toml"), &text) else {
        return Ok(());
    };
    let auth = crate::workspace::Auth::Token(crate::workspace::Secret::new("t".to_string()));
    crate::workspace::Client::new(
        "http://127.0.0.1:9",
        &config.cloud.project_id,
        auth,
        &(&config.client).into(),
    )
    .map_err(|err| TestCaseError::fail(format!("{err:#}\nfor:\n{text}")))?;
    let budget = crate::plan::Budget {
        max_deletions: config.guard.max_deletions,
        max_percent: config.guard.max_delete_percent,
    };
    for (deletions, in_scope) in [(0, 0), (1, 1), (7, 100_000), (usize::MAX, 1)] {
        budget.check(deletions, in_scope);
    }
    Ok(())
}

#[test]
fn tiny_request_rates_and_timeouts_are_refused_or_work() {
    for (key, value) in [(6, "1e-20"), (6, "5e-324"), (4, "1e-300"), (4, "5e-324")] {
        load_and_use(&[(key, value.to_string())]).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn no_numeric_value_panics(
        values in prop::collection::vec((0..NUMERIC_KEYS.len(), number()), 1..8)
    ) {
        load_and_use(&values)?;
    }
}
