//! Bounded storage for what runs leave behind: the results files under
//! `<report dir>/runs/` and the history database. Both are pruned after each
//! run, by count and by size, oldest first, and never the run just written.
//! Each results file goes with one `unlink`, so a file is either whole or
//! gone; the history deletes whole runs in one transaction each.
//!
//! Defaults (`reports:` in `tribunal.yaml`, see `docs/configuration.md`):
//! 50 results files and 512 MB of them, 500 runs and 1024 MB of history.

use std::path::{Path, PathBuf};

pub use crate::config::{
    DEFAULT_HISTORY_MAX_MB, DEFAULT_KEEP_RUNS, DEFAULT_RUNS_MAX_MB, Retention,
};

/// Deletes the oldest results files (`*.json` directly in `dir`) beyond
/// `keep` files or `max_bytes` in all (0: no such limit), never `current`
/// (the run just written) and never the newest file. Returns the files
/// deleted; a file that cannot be deleted is left for the next run.
pub fn prune_runs(dir: &Path, keep: usize, max_bytes: u64, current: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<(std::time::SystemTime, String, u64, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !name.ends_with(".json") {
                return None;
            }
            let meta = e.metadata().ok().filter(|m| m.is_file())?;
            let modified = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
            Some((modified, name, meta.len(), e.path()))
        })
        .collect();
    // Newest first (run ids sort by time too, for files written in the same
    // second); the run just written leads whatever its time says.
    files.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
    if let Some(i) = files.iter().position(|f| f.3 == current) {
        let f = files.remove(i);
        files.insert(0, f);
    }
    let mut kept = 0usize;
    let mut bytes = 0u64;
    let mut gone = Vec::new();
    for (i, (_, _, len, path)) in files.into_iter().enumerate() {
        let over_count = keep > 0 && kept >= keep;
        let over_size = max_bytes > 0 && bytes.saturating_add(len) > max_bytes;
        if i > 0 && (over_count || over_size) {
            if std::fs::remove_file(&path).is_ok() {
                gone.push(path);
            }
            continue;
        }
        kept += 1;
        bytes = bytes.saturating_add(len);
    }
    gone
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dir: &Path, name: &str, len: usize, age_s: u64) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, vec![b'x'; len]).expect("write");
        let t = std::time::SystemTime::now() - std::time::Duration::from_secs(age_s);
        std::fs::File::options()
            .write(true)
            .open(&p)
            .and_then(|f| f.set_modified(t))
            .expect("set time");
        p
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn by_count_oldest_first_never_the_current_run_nor_other_files() {
        let d = tempfile::tempdir().expect("tempdir");
        for (i, age) in [(1, 50), (2, 40), (3, 30), (4, 20)] {
            file(d.path(), &format!("r{i}.json"), 10, age);
        }
        file(d.path(), "notes.txt", 10, 100);
        file(d.path(), ".r9.json.1.2.tmp", 10, 100);
        // The current run is the oldest by time (a clock set back): kept.
        let current = file(d.path(), "r0.json", 10, 60);
        let gone = prune_runs(d.path(), 2, 0, &current);
        assert_eq!(gone.len(), 3);
        assert_eq!(
            names(d.path()),
            vec![".r9.json.1.2.tmp", "notes.txt", "r0.json", "r4.json"]
        );
        // 0 keeps everything.
        assert!(prune_runs(d.path(), 0, 0, &current).is_empty());
    }

    #[test]
    fn by_size_and_never_the_last_run_even_when_it_alone_is_too_big() {
        let d = tempfile::tempdir().expect("tempdir");
        file(d.path(), "a.json", 400, 30);
        file(d.path(), "b.json", 400, 20);
        let current = file(d.path(), "c.json", 400, 10);
        prune_runs(d.path(), 0, 900, &current);
        assert_eq!(names(d.path()), vec!["b.json", "c.json"]);
        prune_runs(d.path(), 0, 100, &current);
        assert_eq!(names(d.path()), vec!["c.json"]);
        // A missing folder is nothing to prune.
        assert!(prune_runs(&d.path().join("none"), 1, 1, &current).is_empty());
    }
}
