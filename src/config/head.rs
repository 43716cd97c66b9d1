//! The head of a config: its `[cloud]`, `[scope]` and `[client]` tables alone, which are all a
//! read of the inventory needs. They parse in well under a millisecond, so the first call can
//! leave while the whole file, which may declare 100,000 desktops, is parsed beside it. The
//! whole file is always parsed too, and the head is used only when the two agree.

/// The lines of `text` under the `[cloud]`, `[scope]` and `[client]` headers (and their
/// sub-tables), or `None` when the file has keys before its first header.
pub fn head(text: &str) -> Option<String> {
    let mut head = String::new();
    let mut keep = false;
    let mut seen_header = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if let Some(name) = header(trimmed) {
            seen_header = true;
            let top = name.split('.').next().unwrap_or_default().trim();
            keep = matches!(top, "cloud" | "scope" | "client");
        } else if !seen_header && !trimmed.is_empty() && !trimmed.starts_with('#') {
            return None;
        }
        if keep {
            head.push_str(line);
            head.push('\n');
        }
    }
    Some(head)
}

/// The name of a table header line, `[name]` or `[[name]]`, with an optional comment after it.
fn header(line: &str) -> Option<&str> {
    let inner = line.strip_prefix('[')?;
    let inner = inner.strip_prefix('[').unwrap_or(inner);
    let (name, _) = inner.split_once(']')?;
    let name = name.trim();
    let plain = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
    (!name.is_empty() && plain).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_tables_a_read_needs() {
        let text = "# deskprune\n\n[cloud]\nregion = \"cn-north-4\"\n\n[[desktop]]\nname = \"a\"\n\n\
                    [scope]\nall = true\n[scope.tags]\nteam = \"eng\"\n[desktops]\nnames = [\n  \"b\",\n]\n\
                    [client] # limits\nmax_concurrency = 4\n[guard]\nmax_deletions = 1\n";
        assert_eq!(
            head(text).unwrap(),
            "[cloud]\nregion = \"cn-north-4\"\n\n[scope]\nall = true\n[scope.tags]\nteam = \"eng\"\n\
             [client] # limits\nmax_concurrency = 4\n"
        );
    }

    #[test]
    fn gives_up_on_keys_before_the_first_header() {
        assert_eq!(
            head("cloud.region = \"cn-north-4\"\n[scope]\nall = true\n"),
            None
        );
        assert_eq!(
            head("\n# only a comment\n[scope]\n").as_deref(),
            Some("[scope]\n")
        );
    }
}
