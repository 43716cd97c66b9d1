//! Reads a config file and turns its raw serde shape into a validated `Config`. A TOML error stops
//! parsing (serde cannot go on past it), but the checks after that collect every problem in the
//! file, so one run shows everything there is to fix. Since apply deletes what the file does not
//! declare, nothing doubtful is let through: defaults apply only to keys that are absent.

use std::ops::Range;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::Config;
use super::diagnostic::{ConfigError, Diagnostic, LineIndex};
use super::raw::RawConfig;
use super::values;
use crate::input_file::InputFileError;

mod check;
mod desktops;
mod list_file;
mod state;
mod tables;

use check::Check;

/// Reads and validates the config file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    parse(path, &read(path)?)
}

/// The most a config file may hold. 100,000 desktops declared in `[[desktop]]` tables with
/// long names take some 10 MiB (in the `[desktops]` lists, less than half that), so a file
/// larger than this is not a config: `-c /dev/zero`, a log, a disk image. It is refused before
/// it fills memory.
pub const MAX_CONFIG_BYTES: u64 = 32 << 20;

/// The text of the config file at `path`, which must be a regular file of UTF-8.
pub fn read(path: &Path) -> Result<String, ConfigError> {
    let bytes = crate::input_file::read(path, "config file", MAX_CONFIG_BYTES)
        .map_err(|error| unreadable(path, &error))?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(error) => {
            let valid = error.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(error.as_bytes());
            let diagnostic = Diagnostic::at(
                path,
                &text,
                &LineIndex::new(&text),
                valid..valid + 1,
                "config file is not UTF-8 text",
            )
            .label("not UTF-8")
            .help("save the file as UTF-8");
            Err(ConfigError::new(&text, vec![diagnostic]))
        }
    }
}

/// Validates config `text`. `path` only names the file in messages and is the folder a relative
/// `simulator` path is resolved against.
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let raw: RawConfig = toml::from_str(text)
        .map_err(|error| ConfigError::new(text, vec![toml_error(path, text, &error)]))?;
    let mut check = Check {
        path,
        text,
        lines: LineIndex::new(text),
        diagnostics: Vec::new(),
        files: Vec::new(),
    };
    let mut config = Config {
        path: path.to_path_buf(),
        digest: String::new(),
        list_files: Vec::new(),
        cloud: check.cloud(raw.cloud),
        scope: check.scope(raw.scope),
        delete: check.delete(raw.delete.unwrap_or_default()),
        guard: check.guard(raw.guard.unwrap_or_default()),
        client: check.client(raw.client.unwrap_or_default()),
        state: check.state(raw.state),
        desktop_tables: raw.desktop.len(),
        desktops: check.desktops(raw.desktop, raw.desktops.unwrap_or_default()),
    };
    if !check.diagnostics.is_empty() {
        let files = check.files.into_iter().map(|file| (file.path, file.text));
        return Err(ConfigError::new(text, check.diagnostics).with_files(files));
    }
    config.digest = digest(text, &check.files);
    config.list_files = check.files.into_iter().map(|file| file.path).collect();
    Ok(config)
}

/// Hex SHA-256 of what the config says: its bytes, and those of every list file it names (so
/// a saved plan made before `keep.txt` changed is refused). Without list files, of the
/// config's bytes alone, as before list files existed.
fn digest(text: &str, files: &[list_file::ListFile]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(text.as_bytes());
    for file in files {
        hasher.update([0]);
        hasher.update(file.key.as_bytes());
        hasher.update((file.text.len() as u64).to_le_bytes());
        hasher.update(file.text.as_bytes());
    }
    hex::encode(hasher.finalize())
}

fn unreadable(path: &Path, error: &InputFileError) -> ConfigError {
    let other_file = "pass `--config PATH` to use another file";
    let diagnostic = match error {
        _ if error.is_not_found() => Diagnostic::whole_file(
            path,
            format!("config file `{}` not found", path.display()),
        )
        .help(format!("create it, or {other_file}")),
        InputFileError::NotAFile { .. } => Diagnostic::whole_file(path, error.to_string())
            .help(format!("a config is a TOML file: {other_file}")),
        InputFileError::TooLarge { .. } => Diagnostic::whole_file(path, error.to_string()).help(
            format!(
                "a config declaring 100,000 desktops is some 10 MiB: check that this is the config, or {other_file}"
            ),
        ),
        InputFileError::Io { .. } => Diagnostic::whole_file(path, error.to_string())
            .help(format!("check that it is a readable file, or {other_file}")),
    };
    ConfigError::whole_file(diagnostic)
}

/// Turns toml's error into ours: same place, wording that names the key and what was expected.
fn toml_error(path: &Path, text: &str, error: &toml::de::Error) -> Diagnostic {
    let message = error.message().trim_end();
    let span = error.span().unwrap_or(0..0);
    let lines = LineIndex::new(text);
    let at = |message: String| Diagnostic::at(path, text, &lines, span.clone(), message);
    if message.starts_with("unknown field `") {
        // "unknown field `x`, expected one of `a`, `b`": the first quoted word is the stranger.
        let mut quoted = message.split('`').skip(1).step_by(2);
        let unknown = quoted.next().unwrap_or_default();
        let expected: Vec<&str> = quoted.collect();
        let help = match values::did_you_mean(unknown, &expected) {
            Some(close) => format!("did you mean `{close}`? otherwise remove it"),
            None => "remove it, or check its spelling against the config reference".to_owned(),
        };
        return at(message.to_owned()).label("unknown field").help(help);
    }
    if let Some(rest) = message.strip_prefix("invalid type: ")
        && let Some((found, expected)) = rest.rsplit_once(", expected ")
    {
        let expected = plain_expected(expected);
        let found = plain_found(found);
        let key = key_of_value(text, span.clone());
        let message = match key {
            Some((key, true)) => {
                format!("wrong type for `{key}`: expected {expected}, found {found}")
            }
            Some((key, false)) => {
                format!("wrong type in `{key}`: expected {expected}, found {found}")
            }
            None => format!("wrong type: expected {expected}, found {found}"),
        };
        if key == Some(("desktops", true))
            && text
                .get(span.clone())
                .is_some_and(|header| header.starts_with("[["))
        {
            // `[[desktops]]` mixes the two forms: toml's "expected an array" reads backwards.
            return at("`[[desktops]]` is neither form of declaring desktops".to_owned())
                .label("double brackets on `desktops`")
                .help("declare each desktop in its own `[[desktop]]` table (`name = \"...\"` or `id = \"...\"`), or all of them in one `[desktops]` table (`names = [...]`, `ids = [...]`)");
        }
        let diagnostic = at(message).label(format!("expected {expected}"));
        return match key {
            Some(("desktop", _)) => diagnostic
                .help("declare each desktop in its own `[[desktop]]` table (double brackets)"),
            _ => diagnostic,
        };
    }
    if message == "duplicate key" {
        let key = text.get(span.clone()).unwrap_or_default();
        return at(format!("duplicate key `{key}`"))
            .label("already set above")
            .help("a key may appear only once in a table");
    }
    at(format!("invalid TOML: {message}"))
}

/// The key a value is written under, if it sits on the same line: `(key, true)` when the span is
/// the whole value, `(key, false)` when it is inside one (an array item). For a table header,
/// the table's name. toml's errors carry only a span, and naming the key reads better.
fn key_of_value(text: &str, span: Range<usize>) -> Option<(&str, bool)> {
    let before_span = text.get(..span.start)?;
    let line = &before_span[before_span.rfind('\n').map_or(0, |i| i + 1)..];
    if line.trim().is_empty() {
        let header = text.get(span)?.strip_prefix('[')?;
        let name = header.trim_start_matches('[').trim_end_matches(']').trim();
        return (!name.is_empty()).then_some((name, true));
    }
    let (before, after) = line.rsplit_once('=')?;
    let before = before.trim_end();
    let key_start = before
        .char_indices()
        .rfind(|(_, c)| !(c.is_ascii_alphanumeric() || "_-.\"'".contains(*c)))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let key = before[key_start..].trim_matches(['"', '\'']);
    (!key.is_empty()).then_some((key, after.trim().is_empty()))
}

fn plain_expected(expected: &str) -> &str {
    match expected {
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "usize" => "an integer",
        "f32" | "f64" => "a number",
        "a sequence" => "an array",
        "a map" => "a table",
        other if other.starts_with("struct ") => "a table",
        other => other,
    }
}

fn plain_found(found: &str) -> &str {
    match found {
        "map" => "a table",
        "sequence" => "an array",
        other => other,
    }
}
