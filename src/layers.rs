//! The layering of `docs/architecture.md`, checked on the source: a module imports only
//! modules of lower layers, and no submodules import each other in a circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The layers, lowest first; a module may import any module of a lower layer, none of its own
/// layer or above. Every module of `src/` is listed: a new one must be placed here (and in the
/// architecture page).
const LAYERS: &[&[&str]] = &[
    &["text", "secret", "failpoint", "progress", "cli"],
    &["input"],
    &["ids"],
    &["shell"],
    &["ssh"],
    &["seal", "audit"],
    &["actions"],
    &["playbook", "record"],
    &["error"],
    &["engine"],
    &["output"],
    &["batch"],
    &["request"],
    &["commands"],
];

/// The files of test-only modules (`#[cfg(test)] mod NAME;`), which may import anything.
fn test_modules(src: &Path) -> BTreeSet<std::path::PathBuf> {
    let mut found = BTreeSet::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src/").flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().map(str::trim).collect();
            for pair in lines.windows(2) {
                if let ["#[cfg(test)]", declaration] = pair
                    && let Some(name) = declaration
                        .strip_prefix("mod ")
                        .and_then(|d| d.strip_suffix(';'))
                {
                    // `lib.rs`, `main.rs` and `mod.rs` declare their own directory's files.
                    let base = match path.file_stem().and_then(|s| s.to_str()) {
                        Some("lib" | "main" | "mod") => dir.clone(),
                        _ => path.with_extension(""),
                    };
                    found.insert(base.join(format!("{name}.rs")));
                }
            }
        }
    }
    found
}

/// Each module path of `src/` (`["engine", "provision"]`) with the `crate::` paths its
/// non-test code names.
fn imports(src: &Path) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let tests = test_modules(src);
    let mut found = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src/").flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") || tests.contains(&path) {
                continue;
            }
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
            let text = std::fs::read_to_string(&path).expect("read a source file");
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            let code: String = code
                .lines()
                .map(|l| l.split("//").next().unwrap_or(""))
                .collect::<Vec<_>>()
                .join("\n");
            found
                .entry(module)
                .or_insert_with(BTreeSet::new)
                .extend(crate_paths(&code));
        }
    }
    found
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

#[test]
fn modules_import_only_lower_layers_and_submodules_form_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let imports = imports(&src);
    let mut wrong = Vec::new();
    // Submodule graph (two levels: `engine::provision`), for the cycle check.
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let modules: BTreeSet<Vec<String>> = imports.keys().cloned().collect();
    for (module, paths) in &imports {
        let Some(top) = module.first() else { continue };
        let Some(layer) = layer_of(top) else {
            wrong.push(format!("module `{top}` is in no layer of src/layers.rs"));
            continue;
        };
        for path in paths {
            let target = &path[0];
            if target == top {
                // Within a module: an edge between its submodules, for the cycle check.
                let to = &path[..path.len().min(2)];
                let from = &module[..module.len().min(2)];
                if to.len() == 2 && from != to && modules.contains(to) {
                    graph
                        .entry(from.join("::"))
                        .or_default()
                        .insert(to.join("::"));
                }
                continue;
            }
            match layer_of(target) {
                Some(to) if to < layer => {}
                Some(_) => wrong.push(format!(
                    "`{}` imports `crate::{}`, which is not in a lower layer",
                    module.join("::"),
                    path.join("::")
                )),
                None => {}
            }
        }
    }
    // `super::` links inside a module count as well.
    for (module, paths) in sibling_imports(&src) {
        graph.entry(module).or_default().extend(paths);
    }
    for start in graph.keys() {
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((node, trail)) = stack.pop() {
            for next in graph.get(&node).into_iter().flatten() {
                if next == start {
                    wrong.push(format!("cycle: {} -> {start}", trail.join(" -> ")));
                } else if seen.insert(next.clone()) {
                    let mut longer = trail.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// `use super::X` between the files of one directory module: `ssh/jump.rs` naming
/// `super::session` is an edge `ssh::jump -> ssh::session`.
fn sibling_imports(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let tests = test_modules(src);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for top in std::fs::read_dir(src).expect("read src/").flatten() {
        let dir = top.path();
        if !dir.is_dir() {
            continue;
        }
        let parent = dir.file_name().map(|n| n.to_string_lossy().into_owned());
        let Some(parent) = parent else { continue };
        let files: Vec<String> = std::fs::read_dir(&dir)
            .expect("read a module directory")
            .flatten()
            .filter_map(|e| {
                let path = e.path();
                if tests.contains(&path) {
                    return None;
                }
                let stem = path.file_stem()?.to_string_lossy().into_owned();
                (path.extension()? == "rs").then_some(stem)
            })
            .filter(|name| name != "mod")
            .collect();
        for file in &files {
            let text = std::fs::read_to_string(dir.join(format!("{file}.rs"))).expect("read");
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            for other in &files {
                if other != file
                    && (code.contains(&format!("super::{other}::"))
                        || code.contains(&format!("super::{other};"))
                        || code.contains(&format!("super::{{{other}")))
                {
                    graph
                        .entry(format!("{parent}::{file}"))
                        .or_default()
                        .insert(format!("{parent}::{other}"));
                }
            }
        }
    }
    graph
}
