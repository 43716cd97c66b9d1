//! The CI setups in `examples/ci/` are valid YAML, and every `deskprune …` command line in them
//! parses with the real command-line definition (`deskprune::cli::Cli`), so an example cannot
//! name a flag or a subcommand that does not exist, and cannot `apply` without
//! `--auto-approve` (CI has no terminal to confirm on).
//!
//! Commands are looked for in the strings of shell entries (`run`, `script`, `before_script`,
//! `after_script`, `command`, `args`) and in Kubernetes' exec form (`command: [deskprune]` with
//! its `args`). The shell reading is small on purpose: quotes, `\` continuations, comments,
//! `;` `&&` `||` `|` `&`, redirections, `VAR=value` prefixes, `if`/`then`/`!`, and `$VAR`,
//! `${VAR}`, `${{ expr }}`, `$( … )` and backquotes — enough for CI scripts, not a shell. A
//! variable is passed through as its literal text, so a value clap parses as a number or a
//! choice must be written out in the example. Each script is also checked with `bash -n`.

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
    /// Where in its string the command starts, to keep commands on one line in order.
    pos: usize,
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
            .unwrap_or(file);
        let text = std::fs::read_to_string(file).unwrap();
        let Scanned {
            commands: found,
            scripts,
        } = match scan(&text) {
            Ok(scanned) => scanned,
            Err(err) => {
                failures.push(format!("{}: not valid YAML: {err}", name.display()));
                continue;
            }
        };
        for (line, script) in &scripts {
            if let Err(problem) = bash_syntax(script) {
                failures.push(format!(
                    "{}:{line}: not valid shell: {problem}",
                    name.display()
                ));
            }
        }
        eprintln!(
            "{}: {} deskprune command{}",
            name.display(),
            found.len(),
            if found.len() == 1 { "" } else { "s" }
        );
        for command in &found {
            eprintln!("  {}: {}", command.line, command.argv.join(" "));
        }
        if found.is_empty() {
            failures.push(format!(
                "{}: no `deskprune` command found in a shell entry",
                name.display()
            ));
        }
        for command in &found {
            if let Err(problem) = check(&command.argv) {
                failures.push(format!(
                    "{}:{}: `{}`: {problem}",
                    name.display(),
                    command.line,
                    command.argv.join(" ")
                ));
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
"#;
    let found = scan(yaml).unwrap().commands;
    let problems: Vec<(usize, String)> = found
        .iter()
        .filter_map(|f| check(&f.argv).err().map(|p| (f.line, p)))
        .collect();
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert_eq!(problems[0].0, 6, "the line where the command starts");
    assert!(problems[0].1.contains("--no-such-flag"), "{problems:#?}");
    assert!(problems[1].1.contains("--auto-approve"), "{problems:#?}");
    assert!(problems[2].1.contains("aply"), "{problems:#?}");
    assert!(problems[3].1.contains("html"), "{problems:#?}");
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
        ("deskprune validate", &["deskprune validate"]),
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
            "deskprune validate; deskprune plan && deskprune apply p.json --auto-approve",
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
        (
            "deskprune -c \"${CONFIG}\" --state ${{ runner.temp }}/s.json plan",
            &["deskprune -c ${CONFIG} --state ${{ runner.temp }}/s.json plan"],
        ),
        (
            "n=$(deskprune plan --json | jq '.deletions | length')",
            &["deskprune plan --json"],
        ),
        ("echo \"deskprune plan\"; cargo install deskprune", &[]),
        ("test -x bin/deskprune || cargo install deskprune", &[]),
    ];
    for (script, expected) in cases {
        let found: Vec<String> = shell_commands(script)
            .into_iter()
            .map(|command| command.argv.join(" "))
            .collect();
        assert_eq!(&found, expected, "in {script:?}");
    }
}

/// Checks one command line against the CLI definition, and against what CI allows.
fn check(argv: &[String]) -> Result<(), String> {
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
}

/// Parses a YAML file (all its documents).
fn scan(text: &str) -> Result<Scanned, String> {
    let docs = MarkedYaml::load_from_str(text).map_err(|err| err.to_string())?;
    // An alias repeats its anchor's nodes, with their spans: count each command once.
    let mut found = BTreeSet::new();
    let mut scripts = BTreeSet::new();
    for doc in &docs {
        walk(doc, None, &mut found, &mut scripts);
    }
    Ok(Scanned {
        commands: found.into_iter().collect(),
        scripts: scripts.into_iter().collect(),
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
    found: &mut BTreeSet<Found>,
    scripts: &mut BTreeSet<(usize, String)>,
) {
    match &node.data {
        YamlData::Value(Scalar::String(text)) if key.is_some_and(|k| SHELL_KEYS.contains(&k)) => {
            if !matches!(key, Some("command" | "args")) {
                scripts.insert((node.span.start.line(), text.to_string()));
            }
            for command in shell_commands(text) {
                found.insert(Found {
                    line: node.span.start.line() + command.line,
                    pos: command.pos,
                    argv: command.argv,
                });
            }
        }
        YamlData::Sequence(items) => {
            for item in items {
                walk(item, key, found, scripts);
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
                found.insert(Found {
                    line: command.span.start.line(),
                    pos: 0,
                    argv,
                });
            }
            for (k, v) in mapping {
                let k = string(k);
                if is_exec && matches!(k, Some("command" | "args")) {
                    continue;
                }
                walk(v, k, found, scripts);
            }
        }
        YamlData::Tagged(_, inner) => walk(inner, key, found, scripts),
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

/// A `deskprune` command line in a script: the line (0-based) and character it starts at.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ShellCommand {
    line: usize,
    pos: usize,
    argv: Vec<String>,
}

/// The `deskprune` command lines of a shell script, in order.
fn shell_commands(script: &str) -> Vec<ShellCommand> {
    let mut lexer = Lexer {
        chars: script.chars().collect(),
        ..Lexer::default()
    };
    lexer.run();
    let mut commands = Vec::new();
    let mut words = Vec::new();
    let mut tokens = lexer.tokens.into_iter();
    while let Some(token) = tokens.next() {
        match token {
            Token::Word(word) => words.push(word),
            Token::Redirect => {
                tokens.next();
            }
            Token::Separator => flush(&mut words, &mut commands),
        }
    }
    flush(&mut words, &mut commands);
    for nested in lexer.nested {
        commands.extend(
            shell_commands(&nested.script)
                .into_iter()
                .map(|command| ShellCommand {
                    line: nested.line + command.line,
                    pos: nested.pos + command.pos,
                    argv: command.argv,
                }),
        );
    }
    commands.sort();
    commands
}

/// Ends a simple command: drops `VAR=value` prefixes and keywords, keeps it if it runs deskprune.
fn flush(words: &mut Vec<Word>, commands: &mut Vec<ShellCommand>) {
    let start = words
        .iter()
        .position(|word| !is_assignment(&word.text) && !is_prefix_keyword(&word.text))
        .unwrap_or(words.len());
    if let Some(program) = words.get(start)
        && is_deskprune(&program.text)
    {
        commands.push(ShellCommand {
            line: program.line,
            pos: program.pos,
            argv: words[start..].iter().map(|w| w.text.clone()).collect(),
        });
    }
    words.clear();
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

fn is_prefix_keyword(word: &str) -> bool {
    matches!(
        word,
        "if" | "then" | "else" | "elif" | "while" | "until" | "do" | "!" | "{" | "time" | "exec"
    )
}

#[derive(Debug)]
enum Token {
    Word(Word),
    /// Ends a simple command: newline, `;`, `;;`, `&&`, `||`, `|`, `|&`, `&`, `(`, `)`.
    Separator,
    /// A redirection operator; the word after it is its target.
    Redirect,
}

#[derive(Debug)]
struct Word {
    text: String,
    line: usize,
    pos: usize,
}

/// A command substitution (`$( … )` or backquotes), read as a script of its own.
#[derive(Debug)]
struct Nested {
    line: usize,
    pos: usize,
    script: String,
}

/// Splits a script into words (quotes removed, expansions kept as written) and operators.
#[derive(Debug, Default)]
struct Lexer {
    chars: Vec<char>,
    at: usize,
    line: usize,
    word: Option<Word>,
    tokens: Vec<Token>,
    nested: Vec<Nested>,
}

/// Longest first, so that `&&` is not read as two `&`.
const OPERATORS: [&str; 16] = [
    ";;", "&&", "||", "|&", ">>", ">&", "<&", "&>", "<<", ";", "&", "|", "(", ")", "<", ">",
];

impl Lexer {
    fn run(&mut self) {
        while let Some(c) = self.peek(0) {
            match c {
                '\\' => self.escape(),
                ' ' | '\t' | '\r' => {
                    self.end_word();
                    self.at += 1;
                }
                '\n' => {
                    self.end_word();
                    self.tokens.push(Token::Separator);
                    self.line += 1;
                    self.at += 1;
                }
                '#' if self.word.is_none() => {
                    while self.peek(0).is_some_and(|c| c != '\n') {
                        self.at += 1;
                    }
                }
                '\'' => self.single_quoted(),
                '"' => self.double_quoted(),
                '$' | '`' => self.expansion(),
                ';' | '&' | '|' | '(' | ')' | '<' | '>' => self.operator(),
                other => {
                    self.word().push(other);
                    self.at += 1;
                }
            }
        }
        self.end_word();
    }

    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.at + ahead).copied()
    }

    fn starts_with(&self, text: &str) -> bool {
        text.chars()
            .enumerate()
            .all(|(k, c)| self.peek(k) == Some(c))
    }

    /// The word being read, started here if there is none.
    fn word(&mut self) -> &mut String {
        let (line, pos) = (self.line, self.at);
        &mut self
            .word
            .get_or_insert_with(|| Word {
                text: String::new(),
                line,
                pos,
            })
            .text
    }

    fn end_word(&mut self) {
        if let Some(word) = self.word.take() {
            self.tokens.push(Token::Word(word));
        }
    }

    /// `\` + newline continues the line; `\x` is `x`.
    fn escape(&mut self) {
        match self.peek(1) {
            Some('\n') => self.line += 1,
            Some(c) => self.word().push(c),
            None => {}
        }
        self.at += 2;
    }

    fn single_quoted(&mut self) {
        self.word();
        self.at += 1;
        while let Some(c) = self.peek(0)
            && c != '\''
        {
            self.line += usize::from(c == '\n');
            self.word().push(c);
            self.at += 1;
        }
        self.at += 1;
    }

    fn double_quoted(&mut self) {
        self.word();
        self.at += 1;
        while let Some(c) = self.peek(0)
            && c != '"'
        {
            match (c, self.peek(1)) {
                ('\\', Some('\n')) => {
                    self.line += 1;
                    self.at += 2;
                }
                ('\\', Some(escaped @ ('"' | '\\' | '$' | '`'))) => {
                    self.word().push(escaped);
                    self.at += 2;
                }
                ('$' | '`', _) => self.expansion(),
                _ => {
                    self.line += usize::from(c == '\n');
                    self.word().push(c);
                    self.at += 1;
                }
            }
        }
        self.at += 1;
    }

    /// `$VAR`, `${VAR}`, `${{ expr }}`, `$( … )`, backquotes: kept as written; a command
    /// substitution is also read as a script of its own.
    fn expansion(&mut self) {
        let (open, close, substitution) = if self.starts_with("`") {
            ("`", "`", true)
        } else if self.starts_with("${{") {
            ("${{", "}}", false)
        } else if self.starts_with("${") {
            ("${", "}", false)
        } else if self.starts_with("$(") {
            ("$(", ")", true)
        } else {
            self.word().push('$');
            self.at += 1;
            return;
        };
        self.word();
        let line = self.line;
        self.at += open.len();
        let start = self.at;
        let mut depth = 0usize;
        while self.at < self.chars.len() {
            if close == ")" && self.chars[self.at] == '(' {
                depth += 1;
            } else if self.starts_with(close) {
                if depth == 0 {
                    break;
                }
                depth -= 1;
            }
            self.line += usize::from(self.chars[self.at] == '\n');
            self.at += 1;
        }
        let body: String = self.chars[start..self.at].iter().collect();
        self.at += close.len();
        if substitution {
            self.nested.push(Nested {
                line,
                pos: start,
                script: body.clone(),
            });
        }
        let text = self.word();
        text.push_str(open);
        text.push_str(&body);
        text.push_str(close);
    }

    fn operator(&mut self) {
        let op = OPERATORS
            .into_iter()
            .find(|op| self.starts_with(op))
            .expect("every operator character starts an operator");
        assert!(
            op != "<<",
            "here-documents are not understood by this check; write the command without one"
        );
        let redirect = op.contains(['<', '>']);
        // In `2>&1` the digits name a file descriptor: they are not an argument.
        if redirect
            && self
                .word
                .as_ref()
                .is_some_and(|w| w.text.chars().all(|c| c.is_ascii_digit()))
        {
            self.word = None;
        }
        self.end_word();
        self.tokens.push(if redirect {
            Token::Redirect
        } else {
            Token::Separator
        });
        self.at += op.len();
    }
}
