//! The library's module import graph has no cycles: data flows one way,
//! from loading (`case`) through evaluation (`run`, `target`, `check`) to
//! verdicts, snapshots and reports.
//!
//! The graph is built from the source: every `crate::<module>` path (also
//! inside `use crate::{a, b}` groups, and `super::<module>` from a file right
//! under `src/`) in `src/**/*.rs`, outside test code (`tests.rs` files and
//! the trailing `#[cfg(test)] mod tests`) and comments, is an edge from the
//! top-level module of the file to the named top-level module. `main.rs` is
//! the binary and is left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::common::TestProject;

/// Edges known to close a cycle, each `(from, to, why)`: none today. An
/// entry whose edge no longer exists fails the test, so the list only
/// shrinks; adding one needs a written reason.
const ALLOWED: &[(&str, &str, &str)] = &[];

/// `(from, to)` → the first `file:line` that makes the edge.
type Graph = BTreeMap<(String, String), String>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read src")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file belongs to (`None` for the crate root and
/// the binary).
fn top_module(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main" | "bin")).then(|| name.to_string())
}

/// The names a `crate::` (or root-level `super::`) path starts with: one
/// name, or each name of a `{a, b::c}` group.
fn path_heads(rest: &str) -> Vec<String> {
    if let Some(group) = rest.strip_prefix('{') {
        let end = group.find('}').unwrap_or(group.len());
        return group[..end]
            .split(',')
            .filter_map(|item| item.trim().split("::").next())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
    }
    let head: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    vec![head]
}

fn graph(src: &Path) -> (BTreeSet<String>, Graph) {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeSet<String> = files.iter().filter_map(|f| top_module(src, f)).collect();
    let mut edges = Graph::new();
    for file in &files {
        let Some(from) = top_module(src, file) else {
            continue;
        };
        if file.file_stem().is_some_and(|s| s == "tests") {
            continue;
        }
        let rel = file.strip_prefix(src).expect("under src");
        // A file right under `src/` (or its folder's `mod.rs`): `super::` is the crate root.
        let depth = rel.components().count();
        let at_root = depth == 1 || (depth == 2 && rel.ends_with("mod.rs"));
        let text = std::fs::read_to_string(file).expect("read");
        let code = match text.find("#[cfg(test)]\nmod tests") {
            Some(i) => &text[..i],
            None => &text[..],
        };
        for (n, line) in code.lines().enumerate() {
            let line = line.split("//").next().unwrap_or("");
            let mut prefixes = vec!["crate::"];
            if at_root {
                prefixes.push("super::");
            }
            for prefix in prefixes {
                for (i, _) in line.match_indices(prefix) {
                    let before = line[..i].chars().next_back();
                    if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                        continue;
                    }
                    for to in path_heads(&line[i + prefix.len()..]) {
                        if to != from && modules.contains(&to) {
                            edges
                                .entry((from.clone(), to))
                                .or_insert_with(|| format!("src/{}:{}", rel.display(), n + 1));
                        }
                    }
                }
            }
        }
    }
    (modules, edges)
}

/// Every cycle's modules (strongly connected components of two or more).
fn cycles(modules: &BTreeSet<String>, edges: &BTreeSet<(String, String)>) -> Vec<Vec<String>> {
    let next = |m: &str| -> Vec<String> {
        edges
            .iter()
            .filter(|(a, _)| a == m)
            .map(|(_, b)| b.clone())
            .collect()
    };
    let reach = |start: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = next(start);
        while let Some(m) = todo.pop() {
            if seen.insert(m.clone()) {
                todo.extend(next(&m));
            }
        }
        seen
    };
    let reachable: BTreeMap<&String, BTreeSet<String>> =
        modules.iter().map(|m| (m, reach(m))).collect();
    let mut out: Vec<Vec<String>> = Vec::new();
    for m in modules {
        let comp: Vec<String> = modules
            .iter()
            .filter(|o| *o == m || (reachable[m].contains(*o) && reachable[*o].contains(m)))
            .cloned()
            .collect();
        if comp.len() > 1 && !out.contains(&comp) {
            out.push(comp);
        }
    }
    out
}

#[test]
fn the_module_import_graph_has_no_cycles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let (modules, edges) = graph(&src);
    for m in [
        "case", "check", "target", "run", "provider", "report", "verdict",
    ] {
        assert!(modules.contains(m), "module `{m}` not found: {modules:?}");
    }
    for (from, to, why) in ALLOWED {
        assert!(
            edges.contains_key(&(from.to_string(), to.to_string())),
            "the allowed edge {from} -> {to} ({why}) is gone: remove it from ALLOWED"
        );
    }
    let kept: BTreeSet<(String, String)> = edges
        .keys()
        .filter(|(a, b)| !ALLOWED.iter().any(|(f, t, _)| f == a && t == b))
        .cloned()
        .collect();
    let found = cycles(&modules, &kept);
    let explain: Vec<String> = found
        .iter()
        .map(|comp| {
            let inside: Vec<String> = kept
                .iter()
                .filter(|(a, b)| comp.contains(a) && comp.contains(b))
                .map(|(a, b)| format!("  {a} -> {b} ({})", edges[&(a.clone(), b.clone())]))
                .collect();
            format!("cycle among {}:\n{}", comp.join(", "), inside.join("\n"))
        })
        .collect();
    assert!(found.is_empty(), "{}", explain.join("\n"));
}

#[test]
fn the_graph_sees_grouped_and_super_paths() {
    let dir = TestProject::new()
        .file("a/mod.rs", "use super::b::X;\n")
        .file("b.rs", "use crate::{c::Y, a};\n// crate::d in a comment\n")
        .file("c.rs", "fn f() { crate::a::g() }\n");
    let src = dir.path();
    std::fs::write(
        src.join("d.rs"),
        "#[cfg(test)]\nmod tests {\n    use crate::a;\n}\n",
    )
    .expect("write");
    let (modules, edges) = graph(src);
    let pairs: Vec<String> = edges.keys().map(|(a, b)| format!("{a}->{b}")).collect();
    assert_eq!(pairs, ["a->b", "b->a", "b->c", "c->a"]);
    let kept: BTreeSet<(String, String)> = edges.keys().cloned().collect();
    assert_eq!(cycles(&modules, &kept), [vec!["a", "b", "c"]]);
}
