//! Large configs that declare their desktops as thousands of `[[desktop]]` tables. The toml
//! crate holds a whole document as a tree while it deserialises it, about 1.7 kB a table
//! (156 MB for 90,000). Such a file is parsed in two parts: one pass of the toml crate's own
//! parser finds the table headers and reads the `[[desktop]]` tables as it goes, decoding
//! their keys and strings with the crate's own decoder; the rest of the file, the tables
//! blanked, is parsed by the toml crate as usual.
//!
//! The parts give exactly what the whole file gives (the same values, the same spans), or
//! nothing: a file with anything else about `desktop`, anything but `name` or `id` with a
//! string in a table, or any error is left to the whole parse, which also words every error.

use toml::Spanned;
use toml_parser::decoder::{Encoding, ScalarKind};
use toml_parser::parser::{EventReceiver, ValidateWhitespace, parse_document};
use toml_parser::{ErrorSink, ParseError, Raw, Source, Span};

use super::raw::{RawConfig, RawDesktop};

/// Below this many tables the whole parse is cheap enough.
const MIN_TABLES: usize = 1000;

/// `text` parsed in parts, when it has at least [`MIN_TABLES`] `[[desktop]]` tables and
/// nothing unusual; `None` leaves it to the whole parse.
pub fn parse_in_parts(text: &str) -> Option<RawConfig> {
    parse_in_parts_from(text, MIN_TABLES)
}

/// [`parse_in_parts`] from `min_tables` tables (few in tests, so small files are parsed in
/// parts too).
pub(super) fn parse_in_parts_from(text: &str, min_tables: usize) -> Option<RawConfig> {
    // A quick look first: scanning a file that has few tables would be wasted.
    text.matches("[[desktop]]")
        .nth(min_tables.saturating_sub(1))?;
    let Scan { headers, tables } = scan(text)?;
    if tables.len() < min_tables {
        return None;
    }
    // The rest of the file with the tables blanked, so its spans stay those of the whole file.
    // Every byte of a table becomes a space, line ends too: a table starts on a line of its own
    // and ends where the next header starts its own, and one run of spaces is quickly read.
    let mut rest = text.as_bytes().to_vec();
    for (index, header) in headers.iter().enumerate() {
        if header.desktop {
            let end = headers.get(index + 1).map_or(text.len(), |next| next.start);
            rest[header.start..end].fill(b' ');
        }
    }
    // Whole chars were blanked (tables start and end at ASCII brackets), so it is still UTF-8.
    let rest = String::from_utf8(rest).expect("blanking whole chars keeps UTF-8");
    let mut config: RawConfig = toml::from_str(&rest).ok()?;
    if !config.desktop.is_empty() {
        // A `desktop` key outside the tables: the whole parse says what is wrong.
        return None;
    }
    config.desktop = tables;
    Some(config)
}

/// A table header: where it starts, and whether it is `[[desktop]]`.
struct Header {
    start: usize,
    desktop: bool,
}

/// What one pass of the toml crate's parser over a file found.
struct Scan {
    /// The table headers, in order.
    headers: Vec<Header>,
    /// The `[[desktop]]` tables, read as the parser went.
    tables: Vec<Spanned<RawDesktop>>,
}

/// One pass of the parser over `text`, or `None` when it has an error, or a header that names
/// `desktop` other than as `[[desktop]]`, or quotes a key, or a table that holds anything but
/// `name` or `id` with a string.
fn scan(text: &str) -> Option<Scan> {
    let source = Source::new(text);
    let tokens = source.lex().into_vec();
    let mut scanner = Scanner {
        source,
        headers: Vec::new(),
        open: None,
        tables: Some(Vec::new()),
        expect: Expect::Key,
    };
    let mut errors: Option<ParseError> = None;
    // Whitespace, comments and line ends checked as the toml crate checks them.
    parse_document(
        &tokens,
        &mut ValidateWhitespace::new(&mut scanner, source),
        &mut errors,
    );
    scanner.end_table();
    // A header left open is a file cut short, which the toml crate refuses.
    if errors.is_some() || scanner.open.is_some() {
        return None;
    }
    Some(Scan {
        headers: scanner.headers,
        tables: scanner.tables?,
    })
}

/// Follows the parser's events: the table headers, and the `[[desktop]]` tables while each
/// holds only `key = value` lines of `name` or `id` with a string, every key and value decoded
/// as the toml crate decodes them. Anything else in a table, anything odd in a header, or an
/// error gives up: the file is left to the whole parse.
struct Scanner<'t> {
    source: Source<'t>,
    headers: Vec<Header>,
    /// The header being read: its start, whether it is an array table, and its keys so far.
    open: Option<(usize, bool, Vec<String>)>,
    /// The `[[desktop]]` tables so far, the last one being read when the last header is one;
    /// `None` once the scanner gave up.
    tables: Option<Vec<Spanned<RawDesktop>>>,
    /// What comes next in the table being read.
    expect: Expect,
}

#[derive(Clone, Copy, PartialEq)]
enum Expect {
    Key,
    Separator(Field),
    Value(Field),
}

#[derive(Clone, Copy, PartialEq)]
enum Field {
    Name,
    Id,
}

impl Scanner<'_> {
    fn give_up(&mut self) {
        self.tables = None;
    }

    fn open(&mut self, span: Span, array: bool) {
        self.end_table();
        if self.open.is_some() {
            self.give_up();
        }
        self.open = Some((span.start(), array, Vec::new()));
    }

    fn close(&mut self, span: Span) {
        let Some((start, array, keys)) = self.open.take() else {
            self.give_up();
            return;
        };
        let desktop = array && keys == ["desktop"];
        if keys.first().is_some_and(|key| key == "desktop") && !desktop {
            self.give_up();
        }
        self.headers.push(Header { start, desktop });
        if desktop && let Some(tables) = &mut self.tables {
            // The toml crate spans a table of an array by its header.
            let empty = RawDesktop {
                name: None,
                id: None,
            };
            tables.push(Spanned::new(start..span.end(), empty));
        }
    }

    /// Whether the last header is a `[[desktop]]` one whose table is being read directly.
    fn in_table(&self) -> bool {
        self.open.is_none()
            && self.tables.is_some()
            && self.headers.last().is_some_and(|header| header.desktop)
    }

    /// The table being read ends (at a header, or the end of the file): a `key = value` left
    /// half written is for the toml crate to word.
    fn end_table(&mut self) {
        if self.in_table() && self.expect != Expect::Key {
            self.give_up();
        }
        self.expect = Expect::Key;
    }

    /// An event that neither a header nor a simple table holds (elsewhere it is the toml
    /// crate's to check).
    fn unexpected(&mut self) {
        if self.open.is_some() || self.in_table() {
            self.give_up();
        }
    }

    fn raw(&self, span: Span, encoding: Option<Encoding>) -> Raw<'_> {
        Raw::new_unchecked(
            &self.source.input()[span.start()..span.end()],
            encoding,
            span,
        )
    }

    fn decoded_key(&self, span: Span, encoding: Option<Encoding>) -> Option<String> {
        let mut key = String::new();
        let mut errors: Option<ParseError> = None;
        self.raw(span, encoding).decode_key(&mut key, &mut errors);
        errors.is_none().then_some(key)
    }

    fn decoded_string(&self, span: Span, encoding: Option<Encoding>) -> Option<String> {
        let mut value = String::new();
        let mut errors: Option<ParseError> = None;
        let kind = self
            .raw(span, encoding)
            .decode_scalar(&mut value, &mut errors);
        (errors.is_none() && kind == ScalarKind::String).then_some(value)
    }
}

impl EventReceiver for Scanner<'_> {
    fn std_table_open(&mut self, span: Span, _error: &mut dyn ErrorSink) {
        self.open(span, false);
    }

    fn std_table_close(&mut self, span: Span, _error: &mut dyn ErrorSink) {
        self.close(span);
    }

    fn array_table_open(&mut self, span: Span, _error: &mut dyn ErrorSink) {
        self.open(span, true);
    }

    fn array_table_close(&mut self, span: Span, _error: &mut dyn ErrorSink) {
        self.close(span);
    }

    fn inline_table_open(&mut self, _span: Span, _error: &mut dyn ErrorSink) -> bool {
        self.unexpected();
        true
    }

    fn inline_table_close(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.unexpected();
    }

    fn array_open(&mut self, _span: Span, _error: &mut dyn ErrorSink) -> bool {
        self.unexpected();
        true
    }

    fn array_close(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.unexpected();
    }

    fn value_sep(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.unexpected();
    }

    fn simple_key(&mut self, span: Span, encoding: Option<Encoding>, _error: &mut dyn ErrorSink) {
        let key = self.decoded_key(span, encoding);
        if let Some((_, _, keys)) = &mut self.open {
            match key {
                Some(key) if encoding.is_none() => keys.push(key),
                _ => self.give_up(),
            }
            return;
        }
        // A `desktop` key anywhere else (even in a value) could clash with the tables.
        if key.as_deref().is_none_or(|key| key == "desktop") {
            self.give_up();
        }
        if !self.in_table() {
            return;
        }
        self.expect = match (self.expect, key.as_deref()) {
            (Expect::Key, Some("name")) => Expect::Separator(Field::Name),
            (Expect::Key, Some("id")) => Expect::Separator(Field::Id),
            _ => {
                self.give_up();
                Expect::Key
            }
        };
    }

    fn key_sep(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        // A dotted key: fine in a header, not in a simple table.
        if self.open.is_none() {
            self.unexpected();
        }
    }

    fn key_val_sep(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        if !self.in_table() {
            self.unexpected();
            return;
        }
        match self.expect {
            Expect::Separator(field) => self.expect = Expect::Value(field),
            _ => self.unexpected(),
        }
    }

    fn scalar(&mut self, span: Span, encoding: Option<Encoding>, _error: &mut dyn ErrorSink) {
        if !self.in_table() {
            self.unexpected();
            return;
        }
        let (Expect::Value(field), Some(value)) =
            (self.expect, self.decoded_string(span, encoding))
        else {
            self.unexpected();
            return;
        };
        self.expect = Expect::Key;
        let table = self
            .tables
            .as_mut()
            .and_then(|tables| tables.last_mut())
            .expect("a table is being read")
            .get_mut();
        let slot = match field {
            Field::Name => &mut table.name,
            Field::Id => &mut table.id,
        };
        if slot.is_some() {
            // The same key twice: an error the toml crate words.
            self.give_up();
        } else {
            *slot = Some(Spanned::new(span.start()..span.end(), value));
        }
    }

    fn error(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.give_up();
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;

    /// 1,500 tables in every form a table takes, split in two runs by another table, between
    /// the other tables of a config.
    fn large_config() -> String {
        let mut text = String::from(
            "# generated\n[cloud]\nregion = \"cn-north-4\"\nproject_id = \"0b6a4c2d9e8f41a7b3c5d6e7f8091a2b\"\n\n[scope]\ntags = { team = \"eng\" }\n\n",
        );
        for index in 0..1500 {
            if index == 700 {
                text.push_str("[guard]\nmax_deletions = 5\n\n");
            }
            match index % 5 {
                0 => writeln!(text, "[[desktop]]\nname = \"eng-{index:04}\"").unwrap(),
                1 => writeln!(text, "[[desktop]] # the {index}th\nid = 'id-{index}'\n").unwrap(),
                2 => writeln!(
                    text,
                    "[[ desktop ]]\n  name = \"Zoë-\\u0041{index}\"  # unicode"
                )
                .unwrap(),
                3 => writeln!(
                    text,
                    "[[desktop]]\n# a comment\n\nname = \"\"\"eng-{index}\"\"\""
                )
                .unwrap(),
                _ => writeln!(text, "[[desktop]]\r\nid = \"id-{index}\"\r").unwrap(),
            }
        }
        text.push_str("[desktops]\nnames = [\n  \"[[desktop]]\",\n  'x',\n]\n\n[client]\nmax_concurrency = 4\n");
        text
    }

    fn whole(text: &str) -> String {
        format!(
            "{:?}",
            toml::from_str::<RawConfig>(text).expect("a valid config")
        )
    }

    #[test]
    fn the_parts_give_what_the_whole_file_gives() {
        let text = large_config();
        let parts = parse_in_parts(&text).expect("parsed in parts");
        assert_eq!(parts.desktop.len(), 1500);
        // Values and every span: the declarations' lines and messages come from them.
        assert_eq!(format!("{parts:?}"), whole(&text));
        let last = parts.desktop.last().unwrap();
        assert!(text[last.span()].starts_with("[[desktop]]"));
    }

    #[test]
    fn anything_unusual_is_left_to_the_whole_parse() {
        let text = large_config();
        // Before the file's first header, or after its last table.
        let unusual = [
            (
                "a sub-table of a desktop",
                "",
                "[desktop.tags]\nteam = \"eng\"\n",
            ),
            ("a quoted header key", "", "[[\"desktop\"]]\nname = \"q\"\n"),
            ("a desktop key outside the tables", "desktop = []\n", ""),
            ("a quoted desktop key", "'desktop' = []\n", ""),
            ("an escaped desktop key", "\"\\u0064esktop\" = []\n", ""),
            (
                "a syntax error in a table",
                "",
                "[[desktop]]\nname = \"unclosed\n",
            ),
            (
                "an unknown key in a table",
                "",
                "[[desktop]]\nnmae = \"typo\"\n",
            ),
            (
                "a control char in a comment",
                "",
                "[[desktop]] # \u{7}\nname = \"q\"\n",
            ),
            ("a bare carriage return", "", "[[desktop]]\rname = \"q\"\n"),
            ("a key without a value", "", "[[desktop]]\nname =\n"),
            ("a header cut short", "", "[[desktop]]\nname = \"q\"\n["),
            (
                "a header left open",
                "",
                "[[desktop]]\nname = \"q\"\n[a\nname = \"r\"\n[[desktop]]\nname = \"s\"\n",
            ),
        ];
        for (what, before, after) in unusual {
            let text = format!("{before}{text}{after}");
            assert!(parse_in_parts(&text).is_none(), "{what}");
            // All but the quoted header are errors, which the parts must not hide.
            let quoted = after.starts_with("[[\"");
            assert_eq!(toml::from_str::<RawConfig>(&text).is_ok(), quoted, "{what}");
        }
        let few: String = (1..MIN_TABLES)
            .map(|index| format!("[[desktop]]\nname = \"eng-{index}\"\n"))
            .collect();
        assert!(parse_in_parts(&few).is_none(), "too few tables to bother");
    }
}
