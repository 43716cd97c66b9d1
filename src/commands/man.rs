//! `deskprune man`: one complete man page (roff). clap_mangen renders the title, synopsis,
//! description and global options from the clap definition; each subcommand gets a section of
//! its own here, on the same page (so no `deskprune-plan(1)` points at a page that does not
//! exist), followed by CONFIGURATION, ENVIRONMENT, FILES and EXIT STATUS.

use std::io::{self, Write};

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{Error, exit};
use crate::workspace::credentials::{AK_VARS, AUTH_TOKEN_VAR, SECURITY_TOKEN_VARS, SK_VARS};

pub fn man() -> Result<u8, Error> {
    let mut page = Vec::new();
    render(&mut page).map_err(anyhow::Error::from)?;
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(&page)
        .and_then(|()| stdout.flush())
        .map_err(anyhow::Error::from)?;
    Ok(exit::OK)
}

/// The whole page, to any writer.
pub fn render(out: &mut dyn Write) -> io::Result<()> {
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    let man = clap_mangen::Man::new(command.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    render_commands(&command, out)?;
    for (heading, paragraphs) in sections() {
        writeln!(out, ".SH \"{heading}\"")?;
        for paragraph in paragraphs {
            match paragraph {
                Paragraph::Text(text) => writeln!(out, ".PP\n{}", escape(&text))?,
                Paragraph::Item(term, text) => {
                    writeln!(out, ".TP\n\\fB{}\\fR\n{}", escape(&term), escape(&text))?
                }
            }
        }
    }
    man.render_version_section(out)
}

/// Each subcommand: its usage, what it does, and its own options (the global ones are above).
fn render_commands(command: &clap::Command, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, ".SH COMMANDS")?;
    for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        let mut sub = sub
            .clone()
            .bin_name(format!("deskprune {}", sub.get_name()));
        writeln!(out, ".SS \"deskprune {}\"", escape(sub.get_name()))?;
        let usage = sub.render_usage().to_string();
        let usage = usage.trim_start_matches("Usage: ");
        writeln!(out, ".PP\n\\fB{}\\fR", escape(usage))?;
        if let Some(about) = sub.get_long_about().or_else(|| sub.get_about()) {
            writeln!(out, ".PP\n{}", escape(&about.to_string()))?;
        }
        for arg in sub.get_arguments() {
            if arg.is_hide_set() || arg.is_global_set() || arg.get_id() == "help" {
                continue;
            }
            writeln!(out, ".TP\n\\fB{}\\fR", escape(&arg_term(arg)))?;
            if let Some(help) = arg.get_long_help().or_else(|| arg.get_help()) {
                writeln!(out, "{}", escape(&help.to_string()))?;
            }
        }
    }
    Ok(())
}

/// `-c, --config <PATH>` or `<PLAN_FILE>`.
fn arg_term(arg: &clap::Arg) -> String {
    let value = arg
        .get_value_names()
        .map(|names| {
            names
                .iter()
                .map(|name| format!("<{name}>"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|_| arg.get_num_args().is_none_or(|n| n.takes_values()))
        .unwrap_or_else(|| format!("<{}>", arg.get_id().as_str().to_uppercase()));
    let mut names = Vec::new();
    if let Some(short) = arg.get_short() {
        names.push(format!("-{short}"));
    }
    if let Some(long) = arg.get_long() {
        names.push(format!("--{long}"));
    }
    if names.is_empty() {
        return value;
    }
    let takes_value = arg.get_action().takes_values();
    let names = names.join(", ");
    if takes_value {
        format!("{names} {value}")
    } else {
        names
    }
}

enum Paragraph {
    Text(String),
    Item(String, String),
}

fn sections() -> Vec<(&'static str, Vec<Paragraph>)> {
    use Paragraph::{Item, Text};
    let item = |term: &str, text: &str| Item(term.to_string(), text.to_string());
    vec![
        (
            "CONFIGURATION",
            vec![
                Text("The config file (deskprune.toml in the current folder, or -c/--config PATH) is TOML. [cloud] names the region and project (and, for tests, an endpoint on loopback or an in-process simulator); [scope] says which desktops the file manages (tags, enterprise_project_id, name_prefix, or all = true); the desktops to keep are declared one per [[desktop]] table (name or id), or as lists in one [desktops] table (names, ids). [delete], [guard] (protection tag, deletion budget, in-use login states) and [client] (retries, time-outs, concurrency, rate) are optional; [state] keeps the state and its lock in an S3-compatible bucket (OBS) instead of beside the config. Unknown keys are errors; every error names file:line:col. deskprune validate checks a file offline; deskprune schema config prints its JSON Schema; the README's config reference shows every key.".into()),
                Text("To try a config against deskprune simulator, set [cloud] endpoint to the address it prints and export the key pair it was given, or set [cloud] simulator = \"inventory.json\" to run it inside deskprune.".into()),
            ],
        ),
        (
            "ENVIRONMENT",
            vec![
                item(&format!("{}, {}", AK_VARS[0], SK_VARS[0]), "The access key pair; requests are signed SDK-HMAC-SHA256."),
                item(SECURITY_TOKEN_VARS[0], "The security token of temporary credentials."),
                item(&format!("{}, {}, {}", AK_VARS[1], SK_VARS[1], SECURITY_TOKEN_VARS[1]), "The same, as the Terraform provider names them (used when the above are unset)."),
                item(AUTH_TOKEN_VAR, "An IAM token, sent as X-Auth-Token (used when no key pair is set)."),
                item("DESKPRUNE_CONFIG, DESKPRUNE_STATE", "The config and state file, when --config and --state are not given."),
                item("AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN", "The key pair (and token) for a [state] store (backend = \"s3\"); when unset, the Huawei pair above signs for it."),
                item("NO_COLOR", "No colours (as --color never)."),
                item("DESKPRUNE_SIMULATOR_SK, DESKPRUNE_SIMULATOR_TOKEN", "The simulator's --sk and --token, kept off the command line."),
            ],
        ),
        (
            "FILES",
            vec![
                item("deskprune.toml", "The config file (see CONFIGURATION)."),
                item("deskprune.state.json", "The state file, beside the config (or --state PATH): every job submitted, refusal and unconfirmed call, written atomically before each call and after each answer."),
                item("deskprune.state.json.backup", "The state file's previous version."),
                item("deskprune.state.json.lock", "The state lock: one apply (or jobs --refresh) at a time; force-unlock releases a dead holder's."),
                item("<key>, <key>.lock, <key>.runs/, <key>.probe", "With [state] backend = \"s3\": the state's in-flight work, the lease lock, one record per finished run, and the probe of conditional writes, in the bucket."),
                item("deskprune.state.simulator.json", "The in-process simulator's desktops and jobs, with [cloud] simulator."),
            ],
        ),
        (
            "EXIT STATUS",
            vec![
                item("0", "Success (for plan --detailed-exitcode: no deletions pending)."),
                item("1", "An error: a bad config, credentials, an API refusal, a safety rail; nothing more was sent."),
                item("2", "plan --detailed-exitcode: deletions are pending."),
                item("3", "apply finished with some desktops not deleted, or could not write its state after sending (the accepted job IDs are printed on stderr)."),
                item("4", "apply stopped waiting (--timeout) while some jobs were still running."),
                item("130, 143", "apply stopped by SIGINT or SIGTERM, after recording the answers of the calls in flight."),
            ],
        ),
    ]
}

/// `text` as roff text: backslashes and hyphens escaped, a line that would read as a request
/// (a leading `.` or `'`) guarded.
fn escape(text: &str) -> String {
    text.lines()
        .map(|line| {
            let line = line.replace('\\', "\\e").replace('-', "\\-");
            if line.starts_with(['.', '\'']) {
                format!("\\&{line}")
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roff_requests_in_text_are_guarded() {
        assert_eq!(escape(".SH x\n'y\na-b\\c"), "\\&.SH x\n\\&'y\na\\-b\\ec");
    }

    #[test]
    fn the_exit_status_section_names_every_exit_code() {
        let mut page = Vec::new();
        render(&mut page).unwrap();
        let page = String::from_utf8(page).unwrap();
        let section = page.split(".SH \"EXIT STATUS\"").nth(1).unwrap();
        for code in [
            exit::OK,
            exit::ERROR,
            exit::CHANGES,
            exit::PARTIAL,
            exit::TIMEOUT,
            exit::INTERRUPTED,
            exit::TERMINATED,
        ] {
            assert!(
                section.contains(&format!("\\fB{code}")) || section.contains(&format!(", {code}")),
                "{code}"
            );
        }
    }
}
