//! Large configs that declare their desktops as thousands of `[[desktop]]` tables. The toml
//! crate holds a whole document as a tree while it deserialises it, about 1.7 kB a table
//! (156 MB for 90,000). Such a file is cut at its table headers, found by the toml crate's own
//! parser, and parsed in parts: everything but the `[[desktop]]` tables at once, and the tables
//! a thousand at a time.
//!
//! The parts give exactly what the whole file gives (the same values, the same spans), or
//! nothing: a file with anything else about `desktop` in a header, a quoted key in a header, or
//! any error is left to the whole parse, which also words every error.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;
use toml_parser::decoder::Encoding;
use toml_parser::parser::{EventReceiver, parse_document};
use toml_parser::{ErrorSink, ParseError, Source, Span};

use super::raw::{RawConfig, RawDesktop};

/// `[[desktop]]` tables parsed at once.
const TABLES_PER_PART: usize = 1000;

/// `text` parsed in parts, when it has more than [`TABLES_PER_PART`] `[[desktop]]` tables and
/// nothing unusual; `None` leaves it to the whole parse.
pub fn parse_in_parts(text: &str) -> Option<RawConfig> {
    parse_in_parts_of(text, TABLES_PER_PART)
}

/// [`parse_in_parts`] with parts of `per_part` tables (small in tests, so small files are
/// cut too).
pub(super) fn parse_in_parts_of(text: &str, per_part: usize) -> Option<RawConfig> {
    // A quick look first: parsing the headers of a file that has few tables would be wasted.
    text.matches("[[desktop]]").nth(per_part)?;
    let headers = headers(text)?;
    let tables = headers.iter().filter(|header| header.desktop).count();
    if tables <= per_part {
        return None;
    }
    // The rest of the file with the tables blanked, so its spans stay those of the whole file.
    // Every byte of a table becomes a space, line ends too: a table starts on a line of its own
    // and ends where the next header starts its own, and one run of spaces is quickly read.
    let mut rest = text.as_bytes().to_vec();
    // Runs of up to `per_part` tables, each a slice of the file, and its table count.
    let mut parts: Vec<(Range<usize>, usize)> = Vec::new();
    for (index, header) in headers.iter().enumerate() {
        if !header.desktop {
            continue;
        }
        let end = headers.get(index + 1).map_or(text.len(), |next| next.start);
        rest[header.start..end].fill(b' ');
        match parts.last_mut() {
            Some((range, count)) if range.end == header.start && *count < per_part => {
                range.end = end;
                *count += 1;
            }
            _ => parts.push((header.start..end, 1)),
        }
    }
    // Whole chars were blanked (tables start and end at ASCII brackets), so it is still UTF-8.
    let rest = String::from_utf8(rest).expect("blanking whole chars keeps UTF-8");
    let mut config: RawConfig = toml::from_str(&rest).ok()?;
    if !config.desktop.is_empty() {
        // A `desktop` key outside the tables: the whole parse says what is wrong.
        return None;
    }
    config.desktop.reserve_exact(tables);
    for (range, count) in parts {
        let part: Tables = toml::from_str(&text[range.clone()]).ok()?;
        if part.desktop.len() != count {
            return None;
        }
        let at = range.start;
        config
            .desktop
            .extend(part.desktop.into_iter().map(|table| shifted(table, at)));
    }
    Some(config)
}

/// A part: `[[desktop]]` tables only.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Tables {
    desktop: Vec<Spanned<RawDesktop>>,
}

/// `table`, parsed from a part that starts `at` in the file, with its spans in the file.
fn shifted(table: Spanned<RawDesktop>, at: usize) -> Spanned<RawDesktop> {
    let shift = |span: Range<usize>| span.start + at..span.end + at;
    let value = |field: Spanned<String>| Spanned::new(shift(field.span()), field.into_inner());
    let span = shift(table.span());
    let RawDesktop { name, id } = table.into_inner();
    Spanned::new(
        span,
        RawDesktop {
            name: name.map(value),
            id: id.map(value),
        },
    )
}

/// A table header: where it starts, and whether it is `[[desktop]]`.
struct Header {
    start: usize,
    desktop: bool,
}

/// The file's table headers in order, or `None` when it has an error, or a header that names
/// `desktop` other than as `[[desktop]]`, or quotes a key.
fn headers(text: &str) -> Option<Vec<Header>> {
    let source = Source::new(text);
    let tokens = source.lex().into_vec();
    let mut finder = HeaderFinder {
        text,
        headers: Vec::new(),
        open: None,
        unusual: false,
    };
    let mut errors: Option<ParseError> = None;
    parse_document(&tokens, &mut finder, &mut errors);
    (errors.is_none() && !finder.unusual).then_some(finder.headers)
}

struct HeaderFinder<'t> {
    text: &'t str,
    headers: Vec<Header>,
    /// The header being read: its start, whether it is an array table, and its keys so far.
    open: Option<(usize, bool, Vec<&'t str>)>,
    unusual: bool,
}

impl HeaderFinder<'_> {
    fn open(&mut self, span: Span, array: bool) {
        self.open = Some((span.start(), array, Vec::new()));
    }

    fn close(&mut self) {
        let Some((start, array, keys)) = self.open.take() else {
            self.unusual = true;
            return;
        };
        let desktop = array && keys == ["desktop"];
        if keys.first() == Some(&"desktop") && !desktop {
            self.unusual = true;
        }
        self.headers.push(Header { start, desktop });
    }
}

impl EventReceiver for HeaderFinder<'_> {
    fn std_table_open(&mut self, span: Span, _error: &mut dyn ErrorSink) {
        self.open(span, false);
    }

    fn std_table_close(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.close();
    }

    fn array_table_open(&mut self, span: Span, _error: &mut dyn ErrorSink) {
        self.open(span, true);
    }

    fn array_table_close(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.close();
    }

    fn simple_key(&mut self, span: Span, encoding: Option<Encoding>, _error: &mut dyn ErrorSink) {
        let key = &self.text[span.start()..span.end()];
        match &mut self.open {
            Some((_, _, keys)) => {
                self.unusual |= encoding.is_some();
                keys.push(key);
            }
            // A `desktop` key anywhere else (even in a value) could clash with the tables;
            // so could a quoted key with escapes, which might spell it.
            None => {
                self.unusual |= key.trim_matches(['"', '\'']) == "desktop"
                    || (encoding.is_some() && key.contains('\\'));
            }
        }
    }

    fn error(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.unusual = true;
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
        ];
        for (what, before, after) in unusual {
            let text = format!("{before}{text}{after}");
            assert!(parse_in_parts(&text).is_none(), "{what}");
            // All but the quoted header are errors, which the parts must not hide.
            let quoted = after.starts_with("[[\"");
            assert_eq!(toml::from_str::<RawConfig>(&text).is_ok(), quoted, "{what}");
        }
        let few: String = (0..TABLES_PER_PART)
            .map(|index| format!("[[desktop]]\nname = \"eng-{index}\"\n"))
            .collect();
        assert!(parse_in_parts(&few).is_none(), "too few tables to bother");
    }
}
