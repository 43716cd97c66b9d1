//! The layers run one way: `model` below everything, `inventory` reading into it, `plan`
//! deciding on it, `document` turning a plan into JSON shapes, `render` printing documents.
//! Checked on the source text, since Rust lets modules of one crate import each other freely.

use std::path::{Path, PathBuf};

/// Each layer, and the modules it must never import: those above it.
const RULES: &[(&str, &[&str])] = &[
    // The client knows the API, not the config: the session gives it its options.
    (
        "workspace",
        &["config", "model", "inventory", "plan", "document", "render"],
    ),
    ("workspace", &["pipeline", "commands", "apply", "state"]),
    (
        "model",
        &[
            "config",
            "inventory",
            "plan",
            "document",
            "render",
            "pipeline",
            "commands",
        ],
    ),
    ("model", &["workspace", "apply", "state"]),
    (
        "inventory",
        &[
            "plan", "document", "render", "pipeline", "commands", "apply",
        ],
    ),
    (
        "plan",
        &["inventory", "document", "render", "pipeline", "commands"],
    ),
    ("plan", &["workspace", "apply", "state"]),
    ("document", &["inventory", "render", "pipeline", "commands"]),
    ("render", &["inventory", "plan", "pipeline", "commands"]),
    ("pipeline", &["document", "render", "commands"]),
];

/// The Rust files of module `name` under `src`: `name.rs` and everything under `name/`.
fn files(src: &Path, name: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let file = src.join(format!("{name}.rs"));
    if file.is_file() {
        found.push(file);
    }
    let mut folders = vec![src.join(name)];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                found.push(path);
            }
        }
    }
    found
}

/// Every `crate::<module>` a layer's files name where a layer above it is meant.
fn violations(src: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for (layer, above) in RULES {
        let paths = files(src, layer);
        if paths.is_empty() {
            found.push(format!("no source for module `{layer}`"));
        }
        for path in paths {
            let text = std::fs::read_to_string(&path).expect("a source file reads");
            for (number, line) in text.lines().enumerate() {
                for module in *above {
                    let named = format!("crate::{module}");
                    let at = line.match_indices(&named).any(|(at, _)| {
                        let next = line[at + named.len()..].chars().next();
                        !next.is_some_and(|c| c.is_alphanumeric() || c == '_')
                    });
                    if at {
                        found.push(format!(
                            "{}:{}: {layer} names {named}",
                            path.display(),
                            number + 1
                        ));
                    }
                }
            }
        }
    }
    found
}

#[test]
fn no_layer_imports_one_above_it() {
    // `DESKPRUNE_SRC` points the check at another tree (an older commit's, to see it fail).
    let src = std::env::var_os("DESKPRUNE_SRC").map_or_else(
        || Path::new(option_env!("CARGO_MANIFEST_DIR").unwrap_or(".")).join("src"),
        PathBuf::from,
    );
    let found = violations(&src);
    assert!(
        found.is_empty(),
        "imports against the layers:\n{}",
        found.join("\n")
    );
}
