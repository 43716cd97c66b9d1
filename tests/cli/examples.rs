//! The CI setups in `examples/ci/` are valid YAML, and every `deskprune …` command line in them
//! parses with the real command-line definition (`deskprune::cli::Cli`), so an example cannot
//! name a flag or a subcommand that does not exist, and cannot `apply` without
//! `--auto-approve` (CI has no terminal to confirm on).
//!
//! Commands are looked for in the strings of shell entries (`run`, `script`, `before_script`,
//! `after_script`, `command`, `args`) and in Kubernetes' exec form (`command: [deskprune]` with
//! its `args`). A script is read line by line (`\` continues one), split into words by `shlex`,
//! and cut at the words `;`, `;;`, `&&`, `||`, `|` and at the first redirection: enough for the
//! examples, not a shell (operators must stand apart as words, as they do in the examples). A
//! word that is one variable stands for `1`; any other variable is passed through as its
//! literal text. Each script is also checked with `bash -n`.
//!
//! The recipes' gates are checked too: only the job that applies, behind a person's approval,
//! sees the key pair that can delete, and it applies the saved plan the approver read.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::Parser;
use clap::error::ErrorKind;
use deskprune::cli::{Cli, Command};
use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

/// Keys whose string values (or sequence items) are shell command lines.
const SHELL_KEYS: &[&str] = &[
    "run",
    "script",
    "before_script",
    "after_script",
    "command",
    "args",
];

/// A `deskprune` command line found in a file: its line (1-based) and its arguments, `argv[0]`
/// being the program.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Found {
    line: usize,
    argv: Vec<String>,
}

#[test]
fn every_ci_example_is_yaml_and_its_deskprune_commands_parse() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ci");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("reading {}: {err}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    for expected in ["github-actions.yml", "gitlab-ci.yml", "k8s-cronjob.yml"] {
        assert!(
            files.iter().any(|f| f.ends_with(expected)),
            "examples/ci/{expected} is missing"
        );
    }

    let mut failures = Vec::new();
    for file in &files {
        let name = file
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap_or(file)
            .display();
        let scanned = match scan(&std::fs::read_to_string(file).unwrap()) {
            Ok(scanned) => scanned,
            Err(err) => {
                failures.push(format!("{name}: not valid YAML: {err}"));
                continue;
            }
        };
        for (line, script) in &scanned.scripts {
            if let Err(problem) = bash_syntax(script) {
                failures.push(format!("{name}:{line}: not valid shell: {problem}"));
            }
        }
        failures.extend(scanned.unreadable.iter().map(|line| {
            format!("{name}:{line}: unbalanced quotes: the line cannot be split into words")
        }));
        if scanned.commands.is_empty() {
            failures.push(format!(
                "{name}: no `deskprune` command found in a shell entry"
            ));
        }
        for command in &scanned.commands {
            let argv = command.argv.join(" ");
            eprintln!("{name}:{}: {argv}", command.line);
            if let Err(problem) = check(&command.argv) {
                failures.push(format!("{name}:{}: `{argv}`: {problem}", command.line));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}\n", failures.join("\n"));
}

#[test]
fn a_command_the_cli_does_not_know_fails_the_check() {
    let yaml = r#"
jobs:
  drift:
    steps:
      - run: |
          deskprune plan --detailed-exitcode \
            --no-such-flag >> "$GITHUB_STEP_SUMMARY"
      - run: deskprune apply plan.json
      - run: deskprune aply --auto-approve
      - run: deskprune plan --format html
      - run: echo "unbalanced
"#;
    let scanned = scan(yaml).unwrap();
    let problems: Vec<(usize, String)> = scanned
        .commands
        .iter()
        .filter_map(|f| check(&f.argv).err().map(|p| (f.line, p)))
        .collect();
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert_eq!(problems[0].0, 6, "the line where the command starts");
    assert!(problems[0].1.contains("--no-such-flag"), "{problems:#?}");
    assert!(problems[1].1.contains("--auto-approve"), "{problems:#?}");
    assert!(problems[2].1.contains("aply"), "{problems:#?}");
    assert!(problems[3].1.contains("html"), "{problems:#?}");
    assert_eq!(scanned.unreadable, [11]);
    assert!(scan("jobs: [unclosed").is_err());
    assert!(bash_syntax("case $x in 0) exit ;; esac").is_ok());
    assert!(bash_syntax("if true; then echo").is_err());
}

#[test]
fn kubernetes_exec_form_is_one_command() {
    let yaml = r#"
spec:
  containers:
    - name: deskprune
      command: [deskprune]
      args: ["--state", "/state/s.json", "apply", "--auto-approve"]
    - name: shell
      command: ["/bin/sh", "-c", "deskprune validate && deskprune plan"]
"#;
    let argvs: Vec<String> = scan(yaml)
        .unwrap()
        .commands
        .into_iter()
        .map(|f| f.argv.join(" "))
        .collect();
    assert_eq!(
        argvs,
        [
            "deskprune --state /state/s.json apply --auto-approve",
            "deskprune validate",
            "deskprune plan",
        ]
    );
}

#[test]
fn the_shell_reader_finds_commands_in_ci_scripts() {
    let cases: &[(&str, &[&str])] = &[
        (
            "deskprune plan --format markdown >> \"$GITHUB_STEP_SUMMARY\"",
            &["deskprune plan --format markdown"],
        ),
        (
            "deskprune plan \\\n  --out plan.json \\\n  --detailed-exitcode 2>&1 | tee log",
            &["deskprune plan --out plan.json --detailed-exitcode"],
        ),
        (
            "code=0\ndeskprune plan --detailed-exitcode || code=$?\necho $code",
            &["deskprune plan --detailed-exitcode"],
        ),
        (
            "deskprune validate ; deskprune plan && deskprune apply p.json --auto-approve",
            &[
                "deskprune validate",
                "deskprune plan",
                "deskprune apply p.json --auto-approve",
            ],
        ),
        (
            "if ! deskprune plan --detailed-exitcode; then exit 1; fi",
            &["deskprune plan --detailed-exitcode"],
        ),
        (
            "RUST_LOG=x ./bin/deskprune --state '/a b/s.json' plan # deskprune apply",
            &["./bin/deskprune --state /a b/s.json plan"],
        ),
        ("echo \"deskprune plan\" ; cargo install deskprune", &[]),
        ("test -x bin/deskprune || cargo install deskprune", &[]),
    ];
    for (script, expected) in cases {
        let mut found = Vec::new();
        let unreadable = shell_commands(script, 0, &mut found);
        assert!(unreadable.is_empty(), "in {script:?}");
        let found: Vec<String> = found.into_iter().map(|f| f.argv.join(" ")).collect();
        assert_eq!(&found, expected, "in {script:?}");
    }
}

/// Checks one command line against the CLI definition, and against what CI allows.
fn check(argv: &[String]) -> Result<(), String> {
    // A word that is one shell variable (`$N`, `${N}`) is a value the CI fills in: it stands as
    // `1` here, which every option that takes a value (a count, seconds, a path) accepts.
    let argv = argv.iter().map(|word| {
        let variable = word.strip_prefix('$').is_some_and(|name| {
            let name = name.trim_start_matches('{').trim_end_matches('}');
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        if variable { "1" } else { word.as_str() }
    });
    match Cli::try_parse_from(argv) {
        Ok(cli) => match cli.command {
            Command::Apply(args) if !args.auto_approve => Err(
                "`apply` without `--auto-approve` refuses to run in CI (no terminal to confirm on)"
                    .into(),
            ),
            _ => Ok(()),
        },
        Err(err)
            if matches!(
                err.kind(),
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
            ) =>
        {
            Ok(())
        }
        Err(err) => Err(err
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()),
    }
}

/// What a YAML file holds for this check.
#[derive(Debug, Default)]
struct Scanned {
    /// The `deskprune` command lines, in order.
    commands: Vec<Found>,
    /// The shell scripts (`run`, `script`, …; not Kubernetes' `command`/`args`), with their line.
    scripts: Vec<(usize, String)>,
    /// Lines (1-based) that `shlex` could not split (unbalanced quotes).
    unreadable: Vec<usize>,
}

/// Parses a YAML file (all its documents).
fn scan(text: &str) -> Result<Scanned, String> {
    let docs = MarkedYaml::load_from_str(text).map_err(|err| err.to_string())?;
    let mut found = Vec::new();
    let mut scripts = BTreeSet::new();
    let mut unreadable = BTreeSet::new();
    for doc in &docs {
        walk(doc, None, &mut found, &mut scripts, &mut unreadable);
    }
    // An alias repeats its anchor's nodes, with their spans: count each command once.
    let mut seen = BTreeSet::new();
    found.retain(|f| seen.insert(f.clone()));
    found.sort_by_key(|f| f.line);
    Ok(Scanned {
        commands: found,
        scripts: scripts.into_iter().collect(),
        unreadable: unreadable.into_iter().collect(),
    })
}

/// Checks a script's syntax with `bash -n`, which reads without running anything.
fn bash_syntax(script: &str) -> Result<(), String> {
    let output = std::process::Command::new("bash")
        .args(["-n", "-c", script])
        .output()
        .map_err(|err| format!("running bash: {err}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
    }
}

fn walk(
    node: &MarkedYaml,
    key: Option<&str>,
    found: &mut Vec<Found>,
    scripts: &mut BTreeSet<(usize, String)>,
    unreadable: &mut BTreeSet<usize>,
) {
    match &node.data {
        YamlData::Value(Scalar::String(text)) if key.is_some_and(|k| SHELL_KEYS.contains(&k)) => {
            let line = node.span.start.line();
            if !matches!(key, Some("command" | "args")) {
                scripts.insert((line, text.to_string()));
            }
            unreadable.extend(shell_commands(text, line, found));
        }
        YamlData::Sequence(items) => {
            for item in items {
                walk(item, key, found, scripts, unreadable);
            }
        }
        YamlData::Mapping(mapping) => {
            let get = |name: &str| {
                mapping
                    .iter()
                    .find(|(k, _)| string(k) == Some(name))
                    .map(|(_, v)| v)
            };
            let exec = get("command").and_then(|command| {
                let program = strings(command)?;
                is_deskprune(program.first()?).then_some((command, program))
            });
            let is_exec = exec.is_some();
            if let Some((command, mut argv)) = exec {
                argv.extend(get("args").and_then(strings).unwrap_or_default());
                found.push(Found {
                    line: command.span.start.line(),
                    argv,
                });
            }
            for (k, v) in mapping {
                let k = string(k);
                if is_exec && matches!(k, Some("command" | "args")) {
                    continue;
                }
                walk(v, k, found, scripts, unreadable);
            }
        }
        YamlData::Tagged(_, inner) => walk(inner, key, found, scripts, unreadable),
        _ => {}
    }
}

fn string<'a>(node: &'a MarkedYaml) -> Option<&'a str> {
    match &node.data {
        YamlData::Value(Scalar::String(text)) => Some(text),
        _ => None,
    }
}

/// The items of a sequence of scalars, as strings (exec form: `command: [deskprune]`).
fn strings(node: &MarkedYaml) -> Option<Vec<String>> {
    let YamlData::Sequence(items) = &node.data else {
        return None;
    };
    items
        .iter()
        .map(|item| match &item.data {
            YamlData::Value(Scalar::String(text)) => Some(text.to_string()),
            YamlData::Value(Scalar::Integer(n)) => Some(n.to_string()),
            _ => None,
        })
        .collect()
}

fn is_deskprune(program: &str) -> bool {
    program.rsplit('/').next() == Some("deskprune")
}

/// Adds the `deskprune` command lines of a script (its first line being `first_line`) to
/// `found`, in order; returns the lines that could not be split into words.
fn shell_commands(script: &str, first_line: usize, found: &mut Vec<Found>) -> Vec<usize> {
    let mut unreadable = Vec::new();
    let mut lines = script.lines().enumerate();
    while let Some((at, first)) = lines.next() {
        // A line ending in `\` goes on on the next one.
        let mut logical = first.to_string();
        while logical.ends_with('\\')
            && let Some((_, next)) = lines.next()
        {
            logical.pop();
            logical.push(' ');
            logical.push_str(next);
        }
        let line = first_line + at;
        let Some(words) = shlex::split(&logical) else {
            unreadable.push(line);
            continue;
        };
        // `then` and `fi` end the command before them even when written as `cmd; then`.
        let words: Vec<String> = words
            .into_iter()
            .flat_map(|w| match w.strip_suffix(';') {
                Some(rest) if !rest.is_empty() => vec![rest.to_string(), ";".to_string()],
                _ => vec![w],
            })
            .collect();
        for command in words.split(|w| matches!(w.as_str(), ";" | ";;" | "&&" | "||" | "|")) {
            // `VAR=value` prefixes and keywords come before the program.
            let start = command
                .iter()
                .position(|w| !is_assignment(w) && !matches!(w.as_str(), "if" | "then" | "!"))
                .unwrap_or(command.len());
            // A redirection (`>> file`, `2>&1`) ends the arguments.
            let end = command
                .iter()
                .position(|w| {
                    w.trim_start_matches(|c: char| c.is_ascii_digit())
                        .starts_with(['<', '>'])
                })
                .unwrap_or(command.len())
                .max(start);
            if command
                .get(start)
                .is_some_and(|program| is_deskprune(program))
            {
                found.push(Found {
                    line,
                    argv: command[start..end].to_vec(),
                });
            }
        }
    }
    unreadable
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

fn yaml(name: &str) -> saphyr::Yaml<'static> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/ci")
        .join(name);
    // Leaked: the parsed document borrows its text, and a test process is short.
    let text: &'static str = Box::leak(std::fs::read_to_string(path).unwrap().into_boxed_str());
    saphyr::Yaml::load_from_str(text).unwrap().remove(0)
}

/// The text of a YAML node, as it would be written (for looking into a job).
fn text_of(node: &saphyr::Yaml) -> String {
    let mut out = String::new();
    saphyr::YamlEmitter::new(&mut out).dump(node).unwrap();
    out
}

#[test]
fn github_applies_only_the_approved_plan_with_the_only_delete_capable_pair() {
    let workflow = yaml("github-actions.yml");
    let jobs = &workflow["jobs"];
    let apply = &jobs["apply"];
    assert_eq!(
        apply["environment"].as_str(),
        Some("deskprune-production"),
        "the apply job must wait for the environment's reviewers"
    );
    assert_eq!(apply["needs"].as_str(), Some("plan-main"));
    let apply_text = text_of(apply);
    assert!(apply_text.contains("deskprune apply plan.json --auto-approve"));
    assert!(apply_text.contains("secrets.HUAWEICLOUD_SDK_AK"));
    assert!(
        text_of(&workflow["env"]).find("secrets.").is_none(),
        "no secret at the workflow's top level: every job would see it"
    );
    for read_only in ["plan", "drift", "plan-main"] {
        let job = text_of(&jobs[read_only]);
        assert!(job.contains("secrets.DESKPRUNE_READ_AK"), "{read_only}");
        assert!(!job.contains("secrets.HUAWEICLOUD_SDK"), "{read_only}");
        assert!(!job.contains("deskprune apply"), "{read_only}");
    }
    // The pull request's plan is one comment, found again by the plan's marker line.
    assert!(text_of(&jobs["plan"]).contains("head -n 1 plan.md"));
    assert!(
        text_of(&workflow["on"]["workflow_dispatch"]).contains("allow_deletions"),
        "a first large cleanup needs --allow-deletions N"
    );
}

#[test]
fn gitlab_applies_by_hand_only_when_the_config_changed() {
    let pipeline = yaml("gitlab-ci.yml");
    let apply = &pipeline["apply"];
    let rules = text_of(&apply["rules"]);
    assert!(rules.contains("when: manual"), "{rules}");
    assert!(rules.contains("deskprune.toml"), "{rules}");
    assert!(text_of(apply).contains("deskprune apply plan.json --auto-approve"));
    for read_only in ["plan", "drift", "plan-main"] {
        let job = text_of(&pipeline[read_only]);
        assert!(job.contains("DESKPRUNE_READ_AK"), "{read_only}");
        assert!(!job.contains("deskprune apply"), "{read_only}");
    }
}
