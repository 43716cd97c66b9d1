//! Tests of what a good config file turns into: every key, the defaults, the scope forms,
//! the declared desktops in both forms, and the warning that suggests the lists.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;

#[test]
fn every_key() {
    let text = r#"[cloud]
region = "ap-southeast-3"
project_id = "0b6a4c2d9e8f41a7b3c5d6e7f8091a2b"
endpoint = "https://workspace.example.com/"

[scope]
enterprise_project_id = "3c6a1d2e-5f4b-4a3c-9d8e-7f6a5b4c3d2e"
tags = { team = "eng", env = "prod" }
name_prefix = "eng-"

[delete]
delete_users = true
email_notification = false
force = true
batch_size = 50

[guard]
protect_tag = "keep"
max_deletions = 3
max_delete_percent = 12.5
allow_empty = true
in_use_login_statuses = ["connected", "DISCONNECTED", "CONNECTED"]

[client]
max_retries = 0
timeout = 2.5
max_concurrency = 64
requests_per_second = 0.5

[[desktop]]
name = "eng-alice-01"

[[desktop]]
id = "1d81c1dc-312b-4621-b778-bac3a1336442"
"#;
    let config = parse_ok(text);
    let expected = Config {
        path: PathBuf::from("deskprune.toml"),
        digest: config.digest.clone(),
        list_files: Vec::new(),
        cloud: Cloud {
            region: "ap-southeast-3".into(),
            project_id: PROJECT.into(),
            target: Target::Endpoint("https://workspace.example.com".into()),
        },
        scope: Scope {
            all: false,
            enterprise_project_id: Some("3c6a1d2e-5f4b-4a3c-9d8e-7f6a5b4c3d2e".into()),
            tags: BTreeMap::from([("env".into(), "prod".into()), ("team".into(), "eng".into())]),
            name_prefix: Some("eng-".into()),
        },
        delete: DeleteOptions {
            delete_users: true,
            email_notification: false,
            force: true,
            batch_size: 50,
        },
        guard: Guard {
            protect_tag: "keep".into(),
            max_deletions: 3,
            max_delete_percent: 12.5,
            allow_empty: true,
            in_use_login_statuses: vec!["CONNECTED".into(), "DISCONNECTED".into()],
        },
        client: ClientSettings {
            max_retries: 0,
            timeout: Duration::from_millis(2500),
            max_concurrency: 64,
            requests_per_second: Some(0.5),
        },
        state: crate::config::StateSettings::Local,
        desktops: [
            Declaration {
                selector: Selector::Name("eng-alice-01".into()),
                line: 30,
            },
            Declaration {
                selector: Selector::Id("1d81c1dc-312b-4621-b778-bac3a1336442".into()),
                line: 33,
            },
        ]
        .into_iter()
        .collect(),
        desktop_tables: 2,
    };
    assert_eq!(config, expected);
}

#[test]
fn defaults_fill_absent_tables_and_keys() {
    let config = parse_ok(MINIMAL);
    assert_eq!(config.cloud.target, Target::Cloud);
    assert_eq!(
        config.delete,
        DeleteOptions {
            delete_users: false,
            email_notification: true,
            force: false,
            batch_size: 100,
        }
    );
    assert_eq!(
        config.guard,
        Guard {
            protect_tag: "deskprune:protect".into(),
            max_deletions: 10,
            max_delete_percent: 25.0,
            allow_empty: false,
            in_use_login_statuses: vec!["CONNECTED".into()],
        }
    );
    assert_eq!(
        config.client,
        ClientSettings {
            max_retries: 5,
            timeout: Duration::from_secs(30),
            max_concurrency: 8,
            requests_per_second: None,
        }
    );
    assert!(config.desktops.is_empty());

    // Empty tables are the same as absent ones.
    let empty_tables = format!("{MINIMAL}\n[delete]\n[guard]\n[client]\n");
    let with_empty = parse_ok(&empty_tables);
    assert_eq!(
        (with_empty.delete, with_empty.guard, with_empty.client),
        (config.delete, config.guard, config.client)
    );
}

#[test]
fn integers_are_accepted_where_numbers_are() {
    let text = format!(
        "{MINIMAL}\n[guard]\nmax_delete_percent = 100\n[client]\ntimeout = 600\nrequests_per_second = 1000\n"
    );
    let config = parse_ok(&text);
    assert_eq!(config.guard.max_delete_percent, 100.0);
    assert_eq!(config.client.timeout, Duration::from_secs(600));
    assert_eq!(config.client.requests_per_second, Some(1000.0));
}

#[test]
fn scope_forms() {
    let all = parse_ok(&MINIMAL.replace("name_prefix = \"eng-\"", "all = true"));
    assert_eq!(
        all.scope,
        Scope {
            all: true,
            ..Scope::default()
        }
    );
    let sub_table = parse_ok(&MINIMAL.replace(
        "name_prefix = \"eng-\"",
        "all = false\n[scope.tags]\nteam = \"eng\"",
    ));
    assert_eq!(
        sub_table.scope.tags,
        BTreeMap::from([("team".into(), "eng".into())])
    );
    assert!(!sub_table.scope.all);
}

#[test]
fn simulator_is_resolved_against_the_config_folder() {
    let text = MINIMAL.replace("[scope]", "simulator = \"inventory.json\"\n\n[scope]");
    let target = |path: &str| parse(Path::new(path), &text).unwrap().cloud.target;
    assert_eq!(
        target("deskprune.toml"),
        Target::Simulator("inventory.json".into())
    );
    assert_eq!(
        target("configs/deskprune.toml"),
        Target::Simulator("configs/inventory.json".into())
    );
    assert_eq!(
        target("/etc/deskprune/prod.toml"),
        Target::Simulator("/etc/deskprune/inventory.json".into())
    );

    let absolute = MINIMAL.replace("[scope]", "simulator = \"/srv/inventory.json\"\n\n[scope]");
    let config = parse(Path::new("configs/deskprune.toml"), &absolute).unwrap();
    assert_eq!(
        config.cloud.target,
        Target::Simulator("/srv/inventory.json".into())
    );
}

#[test]
fn loopback_http_endpoint_is_accepted() {
    let text = MINIMAL.replace(
        "[scope]",
        "endpoint = \"http://127.0.0.1:8080/\"\n\n[scope]",
    );
    assert_eq!(
        parse_ok(&text).cloud.target,
        Target::Endpoint("http://127.0.0.1:8080".into())
    );
}

#[test]
fn declaration_lines_are_the_entry_headers() {
    let text = format!("{MINIMAL}\n[[desktop]]\nname = \"a\"\n\n[[desktop]]\n\nid = \"b\"\n");
    let lines: Vec<usize> = parse_ok(&text).desktops.iter().map(|d| d.line).collect();
    assert_eq!(lines, [8, 11]);
}

#[test]
fn load_reads_the_file_and_digests_its_bytes() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("deskprune.toml");
    std::fs::write(&path, MINIMAL).unwrap();
    let config = load(&path).unwrap();
    assert_eq!(config.path, path);
    // SHA-256 of MINIMAL, computed independently with `sha256sum`.
    assert_eq!(
        config.digest,
        "f50b269b5d675517f2a94b2dae4a3d82f4a0fb8270fbc19e3515d59871eb93bc"
    );
    assert_eq!(config.digest, parse_ok(MINIMAL).digest);
}

#[test]
fn the_compact_lists_declare_like_entries() {
    let text = format!(
        "{MINIMAL}\n[[desktop]]\nname = \"eng-alice-01\"\n\n[desktops]\nnames = [\n  \"eng-bob-02\",\n  \"eng-carol-03\",\n]\nids = [\"1d81c1dc-312b-4621-b778-bac3a1336442\"]\n"
    );
    let config = parse(Path::new("deskprune.toml"), &text).expect("valid");
    let declared: Vec<(String, usize)> = config
        .desktops
        .iter()
        .map(|d| (d.selector.to_string(), d.line))
        .collect();
    assert_eq!(
        declared,
        [
            ("name `eng-alice-01`".to_string(), 8),
            ("name `eng-bob-02`".to_string(), 13),
            ("name `eng-carol-03`".to_string(), 14),
            ("id `1d81c1dc-312b-4621-b778-bac3a1336442`".to_string(), 16),
        ]
    );
}

#[test]
fn more_than_a_thousand_desktop_tables_suggest_the_lists() {
    let tables = |count: usize| -> String {
        (0..count)
            .map(|index| format!("[[desktop]]\nname = \"eng-{index}\"\n"))
            .collect()
    };
    let config = parse_ok(&format!("{MINIMAL}{}", tables(1000)));
    assert_eq!(config.warnings(), Vec::<String>::new());

    let config = parse_ok(&format!("{MINIMAL}{}", tables(1001)));
    let warnings = config.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("1001 `[[desktop]]` tables")
            && warnings[0].contains("`[desktops] names = [...]`")
            && warnings[0].contains("`ids = [...]`"),
        "{}",
        warnings[0]
    );

    let names: Vec<String> = (0..5000).map(|index| format!("\"eng-{index}\"")).collect();
    let config = parse_ok(&format!(
        "{MINIMAL}[desktops]\nnames = [{}]\n",
        names.join(", ")
    ));
    assert_eq!(config.warnings(), Vec::<String>::new());
}

#[test]
fn a_state_table_for_s3_names_the_store() {
    let config = parse_ok(&format!(
        "{MINIMAL}\n[state]\nbackend = \"s3\"\nbucket = \"deskprune-state\"\nkey = \"prod/deskprune.state.json\"\nendpoint = \"http://127.0.0.1:9000/\"\nregion = \"cn-north-4\"\nlease_seconds = 5\n"
    ));
    assert_eq!(
        config.state,
        crate::config::StateSettings::S3(crate::config::S3State {
            bucket: "deskprune-state".into(),
            key: "prod/deskprune.state.json".into(),
            endpoint: "http://127.0.0.1:9000".into(),
            region: "cn-north-4".into(),
            lease: Duration::from_secs(5),
        })
    );
    let local = parse_ok(&format!("{MINIMAL}\n[state]\nbackend = \"local\"\n"));
    assert_eq!(local.state, crate::config::StateSettings::Local);
    assert_eq!(parse_ok(MINIMAL).state, crate::config::StateSettings::Local);
}
