//! The layering of `docs/architecture.md`, checked on the source: a module imports only
//! modules of lower layers, and no submodules import each other in a circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first; a module may import any module of a lower layer, none of its own
/// layer or above. Every module of `src/` is listed: a new one must be placed here (and in the
/// architecture page).
const LAYERS: &[&[&str]] = &[
    &["text", "secret", "failpoint", "progress", "cli"],
    &["input"],
    &["ids"],
    &["shell"],
    &["ssh"],
    &["site"],
    &["seal", "audit", "recordings"],
    &["actions"],
    &["backup"],
    &["playbook", "record"],
    &["access"],
    &["error"],
    &["engine"],
    &["output"],
    &["batch"],
    &["request"],
    &["commands"],
];

/// One source file: its module path (`["engine", "provision"]`) and its code without tests
/// and comments.
struct Source {
    module: Vec<String>,
    code: String,
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src/").flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files
}

/// The files of test-only modules (`#[cfg(test)] mod NAME;`), which may import anything.
fn test_modules(files: &[PathBuf]) -> BTreeSet<PathBuf> {
    let mut found = BTreeSet::new();
    for path in files {
        let text = std::fs::read_to_string(path).expect("read a source file");
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        for pair in lines.windows(2) {
            if let ["#[cfg(test)]", declaration] = pair
                && let Some(name) = declaration
                    .strip_prefix("mod ")
                    .and_then(|d| d.strip_suffix(';'))
            {
                // `lib.rs`, `main.rs` and `mod.rs` declare their own directory's files.
                let base = match path.file_stem().and_then(|s| s.to_str()) {
                    Some("lib" | "main" | "mod") => path.with_file_name(""),
                    _ => path.with_extension(""),
                };
                found.insert(base.join(format!("{name}.rs")));
            }
        }
    }
    found
}

/// Every non-test source file of `src/`.
fn sources(src: &Path) -> Vec<Source> {
    let files = rust_files(src);
    let tests = test_modules(&files);
    files
        .iter()
        .filter(|path| !tests.contains(*path))
        .map(|path| {
            let relative = path
                .strip_prefix(src)
                .expect("under src/")
                .with_extension("");
            let mut module: Vec<String> = relative
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if matches!(
                module.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                module.pop();
            }
            let text = std::fs::read_to_string(path).expect("read a source file");
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            let code = code
                .lines()
                .map(|l| l.split("//").next().unwrap_or(""))
                .collect::<Vec<_>>()
                .join("\n");
            Source { module, code }
        })
        .collect()
}

/// The module paths after each `crate::`, groups (`crate::{a::B, c}`) included.
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let ident = |s: &str| -> Vec<String> {
        s.split("::")
            .map(|p| {
                p.chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect::<String>()
            })
            .take_while(|p| !p.is_empty() && p.starts_with(|c: char| c.is_ascii_lowercase()))
            .collect()
    };
    let mut paths = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        paths.push(ident(item.trim()));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            paths.push(ident(item.trim()));
        } else {
            paths.push(ident(rest));
        }
    }
    paths.retain(|p| !p.is_empty());
    paths
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// A circle in `graph`, as `a -> b -> a`, for each node that is on one.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut found = Vec::new();
    for start in graph.keys() {
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((node, trail)) = stack.pop() {
            for next in graph.get(&node).into_iter().flatten() {
                if next == start {
                    found.push(format!("cycle: {} -> {start}", trail.join(" -> ")));
                } else if seen.insert(next.clone()) {
                    let mut longer = trail.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
    found
}

#[test]
fn modules_import_only_lower_layers_and_submodules_form_no_cycle() {
    let sources = sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let modules: BTreeSet<&[String]> = sources.iter().map(|s| s.module.as_slice()).collect();
    let mut wrong = Vec::new();
    // Edges between the submodules of one module (`engine::provision -> engine::connect`).
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for source in &sources {
        let module = &source.module;
        let Some(top) = module.first() else { continue };
        let Some(layer) = layer_of(top) else {
            wrong.push(format!("module `{top}` is in no layer of src/layers.rs"));
            continue;
        };
        let from = module[..module.len().min(2)].join("::");
        for path in crate_paths(&source.code) {
            if &path[0] == top {
                let to = &path[..path.len().min(2)];
                if to.len() == 2 && modules.contains(to) && to.join("::") != from {
                    graph.entry(from.clone()).or_default().insert(to.join("::"));
                }
            } else if layer_of(&path[0]).is_some_and(|to| to >= layer) {
                wrong.push(format!(
                    "`{}` imports `crate::{}`, which is not in a lower layer",
                    module.join("::"),
                    path.join("::")
                ));
            }
        }
        // `super::X` in a submodule's file names its sibling `X`.
        if let [parent, file] = module.as_slice() {
            for sibling in modules.iter().filter(|m| m.len() == 2 && &m[0] == parent) {
                let other = &sibling[1];
                let named = [
                    format!("super::{other}::"),
                    format!("super::{other};"),
                    format!("super::{{{other}"),
                ];
                if other != file && named.iter().any(|n| source.code.contains(n.as_str())) {
                    graph
                        .entry(from.clone())
                        .or_default()
                        .insert(format!("{parent}::{other}"));
                }
            }
        }
    }
    wrong.extend(cycles(&graph));
    wrong.sort();
    wrong.dedup();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
