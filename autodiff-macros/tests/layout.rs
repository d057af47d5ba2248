//! The macro crate is a pipeline: no module imports one that imports it, directly or through
//! others (every `crate::a::b` and `super::c` path of each file, its tests excluded).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `parse/body.rs` → `parse::body`, `ir/mod.rs` → `ir`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file
        .strip_prefix(src)
        .expect("under src")
        .with_extension("");
    let name = rel.to_string_lossy().replace(['/', '\\'], "::");
    name.strip_suffix("::mod").unwrap_or(&name).to_string()
}

/// The identifier path that follows `prefix` at each of its occurrences (`a::b` of
/// `crate::a::b::C`).
fn paths_after<'a>(text: &'a str, prefix: &'a str) -> impl Iterator<Item = Vec<&'a str>> + 'a {
    text.match_indices(prefix).map(move |(i, _)| {
        text[i + prefix.len()..]
            .split("::")
            .map(|seg| {
                seg.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .next()
                    .unwrap_or("")
            })
            .take_while(|seg| seg.starts_with(|c: char| c.is_lowercase()))
            .collect()
    })
}

#[test]
fn no_module_imports_one_that_imports_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(&src, f)).collect();
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("a source file");
        let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
        let me = module_of(&src, file);
        let parent = me.rsplit_once("::").map(|(p, _)| p.to_string());
        let mut mine = BTreeSet::new();
        for path in paths_after(text, "crate::") {
            // The longest prefix of the path that is a module.
            let found = (1..=path.len())
                .rev()
                .map(|n| path[..n].join("::"))
                .find(|m| modules.contains(m));
            mine.extend(found);
        }
        if let Some(parent) = &parent {
            for path in paths_after(text, "super::") {
                if let Some(first) = path.first() {
                    mine.insert(format!("{parent}::{first}"));
                }
            }
        }
        mine.remove(&me);
        deps.insert(me, mine);
    }
    // Depth-first search for a back edge.
    fn visit(
        m: &str,
        deps: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) {
        state.insert(m.to_string(), 1);
        stack.push(m.to_string());
        for d in deps.get(m).into_iter().flatten() {
            match state.get(d.as_str()).copied().unwrap_or(0) {
                0 => visit(d, deps, state, stack),
                1 => panic!("import cycle: {} -> {d}", stack.join(" -> ")),
                _ => {}
            }
        }
        stack.pop();
        state.insert(m.to_string(), 2);
    }
    let mut state = BTreeMap::new();
    for m in deps.keys() {
        if state.get(m.as_str()).copied().unwrap_or(0) == 0 {
            visit(m, &deps, &mut state, &mut Vec::new());
        }
    }
    assert!(deps.len() > 20, "found the modules: {:?}", deps.keys());
}
