//! Declarations written into an existing config file (`deskprune import`), through
//! `toml_edit`: every comment, key order and spacing of the file stays as the user wrote it;
//! only the `[desktops]` lists grow.

use toml_edit::{Array, DocumentMut, Item, Table, Value};

/// An ID to declare, with the comment written above it (why it is not declared by name).
pub struct IdLine {
    pub id: String,
    pub comment: String,
}

/// `text` (a config that parsed) with `names` added to `[desktops] names` and `ids` to
/// `[desktops] ids`, one per line; the table and the lists are created when absent. Nothing
/// else changes.
pub fn add_declarations(
    text: &str,
    names: &[String],
    ids: &[IdLine],
) -> Result<String, toml_edit::TomlError> {
    let mut document: DocumentMut = text.parse()?;
    if !document.contains_key("desktops") {
        let mut table = Table::new();
        // A comment closing the file ("declarations go here") is kept, above the new table.
        let trailing = document.trailing().as_str().unwrap_or_default().to_owned();
        let prefix = if trailing.trim().is_empty() {
            "\n".to_owned()
        } else {
            document.set_trailing("");
            let trailing = trailing.trim_end_matches([' ', '\t']);
            if trailing.starts_with('\n') {
                trailing.to_owned()
            } else {
                format!("\n{trailing}")
            }
        };
        table.decor_mut().set_prefix(prefix);
        document.insert("desktops", Item::Table(table));
    }
    let desktops = document["desktops"]
        .as_table_like_mut()
        .expect("`desktops` is a table: the config parsed");
    if !names.is_empty() {
        let list = list(desktops, "names");
        let carried = carry(list);
        for (at, name) in names.iter().enumerate() {
            push(list, name, None, if at == 0 { &carried } else { "" });
        }
        list.set_trailing("\n");
        list.set_trailing_comma(true);
    }
    if !ids.is_empty() {
        let list = list(desktops, "ids");
        let carried = carry(list);
        for (at, id) in ids.iter().enumerate() {
            push(
                list,
                &id.id,
                Some(&id.comment),
                if at == 0 { &carried } else { "" },
            );
        }
        list.set_trailing("\n");
        list.set_trailing_comma(true);
    }
    Ok(document.to_string())
}

/// The array under `key`, created empty when absent.
fn list<'a>(table: &'a mut dyn toml_edit::TableLike, key: &str) -> &'a mut Array {
    if table.get(key).is_none() {
        table.insert(key, Item::Value(Value::Array(Array::new())));
    }
    table
        .get_mut(key)
        .and_then(Item::as_array_mut)
        .expect("the list is an array: the config parsed")
}

/// A comment after the list's last item (`"eng-a", # the boss`), which toml_edit holds as
/// the list's trailing text: it must stay on that item's line, before the items added.
fn carry(list: &Array) -> String {
    let trailing = list.trailing().as_str().unwrap_or_default();
    if trailing.contains('#') {
        trailing.trim_end().to_owned()
    } else {
        String::new()
    }
}

/// Adds `value` on a line of its own (after `carried`), `comment` on the line above it. The
/// comment is made of printable text on one line: a name from the API could hold a line break.
fn push(list: &mut Array, value: &str, comment: Option<&str>, carried: &str) {
    let mut item = Value::from(value);
    let prefix = match comment {
        Some(comment) => {
            let comment: String = comment
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            format!("{carried}\n    # {}\n    ", comment.trim_end())
        }
        None => format!("{carried}\n    "),
    };
    item.decor_mut().set_prefix(prefix);
    list.push_formatted(item);
}

#[cfg(test)]
mod tests {
    use super::*;

    const SKELETON: &str = "\
# The eng team's desktops.
[cloud]
region = \"cn-north-4\"   # Beijing
project_id = \"0b6a4c2d9e8f41a7b3c5d6e7f8091a2b\"

[scope]
tags = { team = \"eng\" }

# Declarations below: `deskprune import` writes them.
";

    #[test]
    fn a_new_table_goes_below_the_closing_comment_and_nothing_else_moves() {
        let written = add_declarations(
            SKELETON,
            &["eng-a".into(), "eng-b".into()],
            &[IdLine {
                id: "d3".into(),
                comment: "`eng-c`: a name 2 desktops share".into(),
            }],
        )
        .unwrap();
        insta::assert_snapshot!(written, @r#"
        # The eng team's desktops.
        [cloud]
        region = "cn-north-4"   # Beijing
        project_id = "0b6a4c2d9e8f41a7b3c5d6e7f8091a2b"

        [scope]
        tags = { team = "eng" }

        # Declarations below: `deskprune import` writes them.
        [desktops]
        names = [
            "eng-a",
            "eng-b",
        ]
        ids = [
            # `eng-c`: a name 2 desktops share
            "d3",
        ]
        "#);
    }

    #[test]
    fn existing_lists_grow_in_place() {
        let text = "[scope]\nall = true\n\n[desktops]\n# kept by hand\nnames = [\n    \"eng-a\", # the boss\n]\n\n[guard]\nmax_deletions = 3\n";
        let written = add_declarations(text, &["eng-b".into()], &[]).unwrap();
        insta::assert_snapshot!(written, @r#"
        [scope]
        all = true

        [desktops]
        # kept by hand
        names = [
            "eng-a", # the boss
            "eng-b",
        ]

        [guard]
        max_deletions = 3
        "#);
    }

    #[test]
    fn a_comment_cannot_break_out_of_its_line() {
        let written = add_declarations(
            "[scope]\nall = true\n",
            &[],
            &[IdLine {
                id: "d1".into(),
                comment: "`a\nb = 1`".into(),
            }],
        )
        .unwrap();
        assert!(written.contains("# `a b = 1`\n"), "{written}");
        assert!(written.parse::<DocumentMut>().is_ok());
    }
}
