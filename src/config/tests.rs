//! Tests of the config file: what a person sees for each kind of bad one (insta snapshots, named
//! after the scenario, rendered without colour), and the schema; `accepted` has the good files.

use std::path::Path;

use super::*;

mod accepted;

const PROJECT: &str = "0b6a4c2d9e8f41a7b3c5d6e7f8091a2b";

/// The smallest valid file; bad cases below change one thing in it.
const MINIMAL: &str = r#"[cloud]
region = "cn-north-4"
project_id = "0b6a4c2d9e8f41a7b3c5d6e7f8091a2b"

[scope]
name_prefix = "eng-"
"#;

fn parse_ok(text: &str) -> Config {
    match parse(Path::new("deskprune.toml"), text) {
        Ok(config) => config,
        Err(error) => panic!("expected a valid config, got:\n{error}"),
    }
}

/// The error a user sees for `text`, as if it were `deskprune.toml`.
fn rendered(text: &str) -> String {
    match parse(Path::new("deskprune.toml"), text) {
        Ok(config) => panic!("expected an error, got {config:#?}"),
        Err(error) => error.render(false),
    }
}

#[test]
fn diagnostics_carry_file_line_and_column() {
    let error = parse(
        Path::new("deskprune.toml"),
        &format!("{MINIMAL}\n[delete]\nbatch_size = 0\n"),
    )
    .unwrap_err();
    let [diagnostic] = error.diagnostics() else {
        panic!("expected one diagnostic, got {:#?}", error.diagnostics());
    };
    assert_eq!(
        (
            diagnostic.path.as_path(),
            diagnostic.line,
            diagnostic.column
        ),
        (Path::new("deskprune.toml"), 9, 14)
    );
    assert_eq!(
        diagnostic.message,
        "`batch_size` must be between 1 and 100, found `0`"
    );
}

#[test]
fn windows_line_ends_and_byte_order_mark() {
    let text = format!("\u{feff}{}", MINIMAL.replace('\n', "\r\n"));
    assert_eq!(parse_ok(&text).scope.name_prefix.as_deref(), Some("eng-"));
    let bad = text.replace("cn-north-4", "north");
    let error = parse(Path::new("deskprune.toml"), &bad).unwrap_err();
    let diagnostic = &error.diagnostics()[0];
    assert_eq!((diagnostic.line, diagnostic.column), (2, 10));
    assert!(!error.render(false).contains('\r'));
}

#[test]
fn wrong_types_name_the_key() {
    let message = |text: &str| {
        let error = parse(Path::new("deskprune.toml"), text).unwrap_err();
        error.diagnostics()[0].message.clone()
    };
    let cases = [
        (
            "[delete]\nbatch_size = [1]\n",
            "wrong type for `batch_size`: expected an integer, found an array",
        ),
        (
            "[delete]\nforce = \"yes\"\n",
            "wrong type for `force`: expected a boolean, found string \"yes\"",
        ),
        (
            "[client]\ntimeout = \"30s\"\n",
            "wrong type for `timeout`: expected a number, found string \"30s\"",
        ),
        (
            "[scope]\ntags = { team = 1 }\n",
            "wrong type for `team`: expected a string, found integer `1`",
        ),
        (
            "scope = 1\n",
            "wrong type for `scope`: expected a table, found integer `1`",
        ),
        (
            "[scope]\ntags = { \"é\" = 1 }\n",
            "wrong type: expected a string, found integer `1`",
        ),
        (
            "[guard]\nin_use_login_statuses = [\n  1,\n]\n",
            "wrong type: expected a string, found integer `1`",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(message(text), expected, "{text}");
    }
}

#[test]
fn colour_only_when_asked() {
    let error = parse(Path::new("deskprune.toml"), "flavour = 1").unwrap_err();
    assert!(!error.render(false).contains('\u{1b}'));
    assert!(!error.to_string().contains('\u{1b}'));
    assert!(error.render(true).contains("\u{1b}["));
}

/// A bad-config scenario: the name of its snapshot and the file text.
macro_rules! bad_config {
    ($($name:ident: $text:expr;)*) => {$(
        #[test]
        fn $name() {
            let text: String = $text.into();
            // The file goes in the snapshot's header, so a reviewer sees what was rendered.
            insta::with_settings!({ description => text.as_str(), omit_expression => true }, {
                insta::assert_snapshot!(stringify!($name), rendered(&text));
            });
        }
    )*};
}

bad_config! {
    unknown_key_top_level: format!("{MINIMAL}\n[desktp]\nname = \"eng-alice-01\"\n");
    unknown_key_in_desktop_lists: format!("{MINIMAL}\n[desktops]\nname = \"eng-alice-01\"\n");
    duplicate_across_both_forms: format!("{MINIMAL}\n[desktops]\nnames = [\"eng-bob-02\", \"ENG-alice-01\"]\n\n[[desktop]]\nname = \"eng-alice-01\"\n");
    unknown_key_in_cloud: MINIMAL.replace("[scope]", "flavour = \"x\"\n\n[scope]");
    unknown_key_in_scope: MINIMAL.replace("name_prefix", "name_prefx");
    unknown_key_in_desktop: format!("{MINIMAL}\n[[desktop]]\ncomputer_name = \"eng-alice-01\"\n");
    wrong_type: format!("{MINIMAL}\n[delete]\nbatch_size = \"100\"\n");
    wrong_type_in_array: format!("{MINIMAL}\n[guard]\nin_use_login_statuses = [\"CONNECTED\", 2]\n");
    desktop_as_single_table: format!("{MINIMAL}\n[desktop]\nname = \"eng-alice-01\"\n");
    invalid_toml_syntax: MINIMAL.replace("[scope]", "[scope");
    duplicate_key: MINIMAL.replace("[scope]", "region = \"cn-north-1\"\n\n[scope]");
    empty_file: "";
    missing_cloud: "[scope]\nall = true\n";
    missing_region: MINIMAL.replace("region = \"cn-north-4\"\n", "");
    missing_scope: "[cloud]\nregion = \"cn-north-4\"\nproject_id = \"0b6a4c2d9e8f41a7b3c5d6e7f8091a2b\"\n";
    empty_scope: MINIMAL.replace("name_prefix = \"eng-\"\n", "");
    empty_scope_with_empty_tags: MINIMAL.replace("name_prefix = \"eng-\"", "tags = {}");
    empty_scope_with_all_false: MINIMAL.replace("name_prefix = \"eng-\"", "all = false");
    all_true_with_tags: MINIMAL.replace("name_prefix = \"eng-\"", "all = true\ntags = { team = \"eng\" }");
    empty_tag_key: MINIMAL.replace("name_prefix = \"eng-\"", "tags = { \"\" = \"eng\" }");
    bad_enterprise_project_id: MINIMAL.replace("name_prefix = \"eng-\"", "enterprise_project_id = \"eng project\"");
    desktop_with_name_and_id: format!("{MINIMAL}\n[[desktop]]\nname = \"eng-alice-01\"\nid = \"1d81c1dc-312b-4621-b778-bac3a1336442\"\n");
    desktop_with_neither: format!("{MINIMAL}\n[[desktop]]\n\n[[desktop]]\nname = \"eng-bob-01\"\n");
    desktop_with_empty_name: format!("{MINIMAL}\n[[desktop]]\nname = \"\"\n");
    desktop_name_with_trailing_space: format!("{MINIMAL}\n[[desktop]]\nname = \"eng-alice-01 \"\n");
    duplicate_name_differing_in_case: format!("{MINIMAL}\n[[desktop]]\nname = \"eng-alice-01\"\n\n[[desktop]]\nname = \"ENG-Alice-01\"\n");
    duplicate_id: format!("{MINIMAL}\n[[desktop]]\nid = \"1d81c1dc-312b-4621-b778-bac3a1336442\"\n\n[[desktop]]\nname = \"eng-bob-01\"\n\n[[desktop]]\nid = \"1d81c1dc-312b-4621-b778-bac3a1336442\"\n");
    batch_size_0: format!("{MINIMAL}\n[delete]\nbatch_size = 0\n");
    batch_size_101: format!("{MINIMAL}\n[delete]\nbatch_size = 101\n");
    numbers_out_of_range: format!("{MINIMAL}\n[guard]\nmax_deletions = -1\nmax_delete_percent = 100.5\n\n[client]\nmax_retries = 21\ntimeout = 0\nmax_concurrency = 0\nrequests_per_second = nan\n");
    project_id_too_short: MINIMAL.replace(PROJECT, &PROJECT[..31]);
    project_id_upper_case: MINIMAL.replace(PROJECT, &PROJECT.to_uppercase());
    bad_region: MINIMAL.replace("cn-north-4", "CN-North-4");
    http_endpoint_to_non_loopback_host: MINIMAL.replace("[scope]", "endpoint = \"http://workspace.example.com\"\n\n[scope]");
    endpoint_with_path: MINIMAL.replace("[scope]", "endpoint = \"https://workspace.example.com/v2\"\n\n[scope]");
    endpoint_and_simulator: MINIMAL.replace("[scope]", "endpoint = \"https://workspace.example.com\"\nsimulator = \"inventory.json\"\n\n[scope]");
    bad_login_status: format!("{MINIMAL}\n[guard]\nin_use_login_statuses = [\"CONNECTED\", \"CONECTED\", \"IDLE\"]\n");
    state_s3_missing_keys: format!("{MINIMAL}\n[state]\nbackend = \"s3\"\nbucket = \"deskprune-state\"\n");
    state_s3_unknown_key: format!("{MINIMAL}\n[state]\nbackend = \"s3\"\nacl = \"private\"\n");
    state_s3_http_endpoint: format!("{MINIMAL}\n[state]\nbackend = \"s3\"\nbucket = \"deskprune-state\"\nkey = \"prod/s.json\"\nendpoint = \"http://obs.example.com\"\nregion = \"cn-north-4\"\n");
    state_local_with_store_keys: format!("{MINIMAL}\n[state]\nbucket = \"deskprune-state\"\nlease_seconds = 2\n");
    state_bad_backend: format!("{MINIMAL}\n[state]\nbackend = \"obs\"\n");
    state_bad_bucket_and_key: format!("{MINIMAL}\n[state]\nbackend = \"s3\"\nbucket = \"B1\"\nkey = \"/a//b\"\nendpoint = \"https://obs.example.com\"\nregion = \"cn-north-4\"\nlease_seconds = 4\n");
    several_errors_in_file_order: format!("[cloud]\nregion = \"cn-north-4\"\nproject_id = \"0B6A\"\n\n[scope]\nall = true\nname_prefix = \"eng-\"\n\n[delete]\nbatch_size = 500\n\n[[desktop]]\nname = \"a\"\n[[desktop]]\nname = \"A\"\n");
}

#[test]
fn missing_file() {
    let error = load(Path::new("no-such-folder/deskprune.toml")).unwrap_err();
    insta::assert_snapshot!("missing_file", error.render(false));
    assert_eq!(error.diagnostics()[0].line, 0);
}

#[test]
fn file_not_utf8() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("deskprune.toml");
    std::fs::write(&path, b"[cloud]\nregion = \"cn-\xff\"\n").unwrap();
    let error = load(&path).unwrap_err();
    let diagnostic = &error.diagnostics()[0];
    assert_eq!((diagnostic.line, diagnostic.column), (2, 14));
    assert!(
        error
            .render(false)
            .contains("config file is not UTF-8 text")
    );
}

/// The committed schema is what editors use; it must be what the code accepts.
#[test]
fn schema_file_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/config.schema.json");
    let generated = format!("{}\n", serde_json::to_string_pretty(&schema()).unwrap());
    if std::env::var_os("DESKPRUNE_WRITE_SCHEMA").is_some_and(|v| v == "1") {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is out of date with the config types; regenerate it with\n  \
         DESKPRUNE_WRITE_SCHEMA=1 cargo test --lib config::tests::schema_file_is_up_to_date",
        path.display()
    );
}

#[test]
fn schema_agrees_with_the_loader() {
    let validator = jsonschema::validator_for(&schema()).unwrap();
    let as_json =
        |text: &str| serde_json::to_value(toml::from_str::<toml::Table>(text).unwrap()).unwrap();
    let full = format!(
        "{MINIMAL}\n[delete]\nbatch_size = 100\n[guard]\nin_use_login_statuses = [\"CONNECTED\"]\n\
         [client]\ntimeout = 1.5\n[[desktop]]\nname = \"a\"\n[[desktop]]\nid = \"b\"\n"
    );
    parse_ok(&full);
    assert!(validator.is_valid(&as_json(&full)));
    for bad in [
        format!("{MINIMAL}\n[delete]\nbatch_size = 0\n"),
        format!("{MINIMAL}\n[client]\ntimeout = 0\n"),
        format!("{MINIMAL}\n[[desktop]]\nname = \"a\"\nid = \"b\"\n"),
        format!("{MINIMAL}\n[[desktop]]\n"),
        format!("{MINIMAL}\nflavour = 1\n"),
        MINIMAL.replace(PROJECT, &PROJECT.to_uppercase()),
        MINIMAL.replace("[scope]\nname_prefix = \"eng-\"\n", ""),
    ] {
        assert!(
            parse(Path::new("deskprune.toml"), &bad).is_err(),
            "loader accepted:\n{bad}"
        );
        assert!(
            !validator.is_valid(&as_json(&bad)),
            "schema accepted:\n{bad}"
        );
    }
}

/// Every diagnostic finds its line through one index of line starts and is rendered from its
/// own lines only, so a large file full of mistakes is reported in time proportional to its
/// size (before, this file took minutes); what is checked here is that each of them is right.
#[test]
fn a_large_file_full_of_mistakes_is_reported_line_by_line() {
    let count = 20_000;
    let mut text = format!("{MINIMAL}\n[desktops]\nnames = [\n");
    for i in 0..count {
        text.push_str(&format!("  \" eng-{i:05}\",\n"));
    }
    text.push_str("]\n");
    let error = parse(Path::new("deskprune.toml"), &text).unwrap_err();
    let rendered = error.render(false);
    assert_eq!(error.diagnostics().len(), count);
    let last = &error.diagnostics()[count - 1];
    assert_eq!((last.line, last.column), (count + 9, 3));
    assert!(rendered.contains(&format!("deskprune.toml:{}:3", count + 9)));
}
