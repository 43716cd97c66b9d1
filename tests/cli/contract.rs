//! The files and formats others depend on: signing vectors from the official SDK, the JSON
//! Schemas in `schema/`, the examples, and the `simulator` subcommand's first line.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use deskprune::sign::{self, Signable};
use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn signs_every_official_sdk_vector() {
    let data: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{ROOT}/tests/data/signing_vectors.json")).unwrap(),
    )
    .unwrap();
    let ak = data["inputs"]["ak"].as_str().unwrap();
    let sk = data["inputs"]["sk"].as_str().unwrap();
    let vectors = data["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 9);
    for vector in vectors {
        let name = vector["name"].as_str().unwrap();
        let url = reqwest::Url::parse(vector["url"].as_str().unwrap()).unwrap();
        let query: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        // The headers the signer saw: those after signing, less what signing added.
        let headers: Vec<(String, String)> = vector["headers_after_signing"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(name, _)| name.as_str() != "Authorization")
            .map(|(name, value)| (name.clone(), value.as_str().unwrap().to_string()))
            .collect();
        let body = vector["body_utf8"].as_str().unwrap_or_default();
        let request = Signable {
            method: vector["method"].as_str().unwrap(),
            path: url.path(),
            query: &query,
            headers: &headers,
            body: body.as_bytes(),
        };
        let signed = sign::signed_header_names(&headers);
        assert_eq!(
            sign::canonical_request(&request, &signed),
            vector["canonical_request"].as_str().unwrap(),
            "{name}: canonical request"
        );
        assert_eq!(
            sign::authorization(ak, sk, &request),
            vector["authorization"].as_str().unwrap(),
            "{name}: authorization"
        );
        assert_eq!(
            format!("{}?{}", url.path(), sign::canonical_query(&query)).trim_end_matches('?'),
            format!(
                "{}{}",
                url.path(),
                url.query().map(|q| format!("?{q}")).unwrap_or_default()
            ),
            "{name}: the query goes on the wire as signed"
        );
    }
}

fn committed(name: &str) -> Value {
    let path = format!("{ROOT}/schema/{name}.schema.json");
    serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}")),
    )
    .unwrap()
}

#[test]
fn committed_schemas_match_the_code() {
    for (name, generated) in [
        ("config", deskprune::schema::config()),
        ("plan", deskprune::schema::plan()),
        ("state", deskprune::schema::state()),
        ("apply-events", deskprune::schema::apply_events()),
    ] {
        assert_eq!(
            committed(name),
            generated,
            "schema/{name}.schema.json is stale: run `cargo run -- schema {name} > schema/{name}.schema.json`"
        );
    }
}

fn validate(schema: &Value, instance: &Value, what: &str) {
    let validator = jsonschema::validator_for(schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:#?}");
}

#[test]
fn every_example_config_loads_and_matches_the_schema() {
    let schema = committed("config");
    let mut seen = 0;
    for entry in crate::support::files_under(std::path::Path::new(&format!("{ROOT}/examples"))) {
        if entry.extension().is_some_and(|ext| ext == "toml") {
            deskprune::load_config(&entry)
                .unwrap_or_else(|err| panic!("{}:\n{err}", entry.display()));
            let value: toml::Value =
                toml::from_str(&std::fs::read_to_string(&entry).unwrap()).unwrap();
            validate(
                &schema,
                &serde_json::to_value(value).unwrap(),
                &entry.display().to_string(),
            );
            seen += 1;
        }
    }
    assert!(seen > 0, "no example config found");
}

#[test]
fn plans_and_states_written_by_the_binary_match_their_schemas() {
    let world = crate::support::World::new(crate::support::team(3));
    world.config("[scope]\nall = true\n\n[[desktop]]\nname = \"eng-0000\"\n");
    let plan = world.run(&["plan", "--json"]);
    plan.success();
    validate(
        &committed("plan"),
        &serde_json::from_str(&plan.stdout()).unwrap(),
        "plan",
    );
    world
        .run(&["apply", "--auto-approve", "--allow-deletions", "2"])
        .success();
    validate(&committed("state"), &world.state(), "state");
}

#[test]
fn simulator_command_announces_its_address_first() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_deskprune"))
        .args([
            "simulator",
            "--inventory",
            &format!("{ROOT}/examples/quickstart/inventory.json"),
            "--listen",
            "127.0.0.1:0",
            "--ak",
            "AK",
            "--sk",
            "SK",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let address = line
        .trim()
        .strip_prefix("listening http://127.0.0.1:")
        .unwrap_or_else(|| panic!("first line: {line:?}"));
    assert!(address.parse::<u16>().unwrap() > 0);
}

#[test]
fn completions_and_man_page_come_from_the_cli_definition() {
    let run = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_deskprune"))
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = run(&["completions", shell]);
        assert!(
            script.contains("force-unlock"),
            "{shell}: subcommands are completed"
        );
        assert!(
            script.contains("allow-deletions"),
            "{shell}: flags are completed"
        );
    }
    let man = run(&["man"]);
    assert!(
        man.starts_with(".ie") || man.contains(".TH deskprune"),
        "{}",
        &man[..200.min(man.len())]
    );
    assert!(man.contains("apply"));
}
