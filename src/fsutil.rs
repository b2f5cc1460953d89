//! Atomic file writes (a crash never leaves a torn file behind) and bounded
//! reads of the files a suite names.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Largest file a check names (a judge template, a baseline output, an SQL
/// schema) that is read: 16 MiB.
pub const MAX_NAMED_FILE_BYTES: u64 = 16 << 20;

/// Why a bounded read of a regular file failed.
#[derive(Debug)]
pub enum ReadError {
    /// The file could not be opened or read (including "not found").
    Io(std::io::Error),
    /// Something that is not a regular file: what it is ("a named pipe").
    NotRegular(&'static str),
    /// Larger than the limit, in bytes.
    TooLarge(u64),
}

impl From<ReadError> for std::io::Error {
    fn from(e: ReadError) -> std::io::Error {
        match e {
            ReadError::Io(e) => e,
            ReadError::NotRegular(_) => std::io::Error::other("not a regular file"),
            ReadError::TooLarge(max) => {
                std::io::Error::other(format!("larger than {} MiB", max >> 20))
            }
        }
    }
}

/// Reads a file that tribunal is pointed at: regular files only (checked
/// before opening: opening a named pipe blocks until a writer comes, and a
/// device never ends), at most `max` bytes.
pub fn read_regular_bytes(path: &Path, max: u64) -> Result<Vec<u8>, ReadError> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(ReadError::Io)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular(file_kind(&meta)));
    }
    if meta.len() > max {
        return Err(ReadError::TooLarge(max));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0).saturating_add(1));
    std::fs::File::open(path)
        .map_err(ReadError::Io)?
        .take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > max {
        return Err(ReadError::TooLarge(max));
    }
    Ok(bytes)
}

/// [`read_regular_bytes`] for UTF-8 text, with its failures as I/O errors
/// ("not a regular file", "larger than N MiB").
pub fn read_regular(path: &Path, max: u64) -> std::io::Result<String> {
    let bytes = read_regular_bytes(path, max)?;
    String::from_utf8(bytes).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
}

/// What a file that is not a regular one is, in words.
fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a named pipe";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() || t.is_char_device() {
            return "a device";
        }
    }
    if meta.is_dir() {
        "a folder"
    } else {
        "not a plain file"
    }
}

/// Writes `contents` to `path` atomically: into a temporary file in the same
/// folder (so the rename stays on one file system), flushed to disk, then
/// renamed over the target. Concurrent writers (threads or processes) each
/// use their own temporary file; the last rename wins and readers see either
/// the old or the new file, never a mix.
pub fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    write_replacing(path, contents, true)
}

/// Like [`write_atomic`] (readers see the old file or the new one, never a
/// part), but without `fsync`: for files that are cheap to lose in a crash
/// and written by the thousand, such as pending `.snap.new` snapshots.
pub fn write_atomic_unsynced(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    write_replacing(path, contents, false)
}

/// Paths written by [`write_atomic_deferred`] and not yet flushed.
static DEFERRED: std::sync::Mutex<Vec<std::path::PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Like [`write_atomic`], with the flush to disk deferred to
/// [`sync_deferred`]: for the files a run writes by the thousand that must
/// survive a crash once the run is over (recorded cassettes, accepted
/// snapshots). One `fsync` after each file cost about 1.6–4 ms on the
/// benchmark machine's disk (seconds for a 1,000-case recording); the
/// same fsyncs issued together from a few threads at the end share the
/// file system's journal commits (0.1 s for 1,000 files there). Until
/// then, readers already see the whole new file (the rename is atomic);
/// only a power loss or kernel crash before the flush could lose it, and
/// the next run would then say it is missing.
pub fn write_atomic_deferred(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    write_replacing(path, contents, false)?;
    DEFERRED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(path.to_path_buf());
    Ok(())
}

/// Threads that flush deferred files together.
const FLUSH_THREADS: usize = 8;

/// Flushes every file written by [`write_atomic_deferred`] since the last
/// call, and the folders holding them (so the renames are durable too):
/// `fsync` on each, from up to 8 threads at once. Returns
/// how many files were flushed; the first error, if any.
pub fn sync_deferred() -> std::io::Result<usize> {
    let paths = std::mem::take(
        &mut *DEFERRED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    sync_paths(paths)
}

/// `fsync` of each file of `paths` (once each) and of their folders, from
/// up to 8 threads: what [`sync_deferred`] does for the deferred files, and
/// the flush of a file written without `fsync` whose flush can run beside
/// other work. Returns how many files were flushed.
pub fn sync_paths(mut paths: Vec<std::path::PathBuf>) -> std::io::Result<usize> {
    paths.sort();
    paths.dedup();
    if paths.is_empty() {
        return Ok(0);
    }
    let mut dirs: Vec<std::path::PathBuf> = paths
        .iter()
        .filter_map(|p| p.parent().map(Path::to_path_buf))
        .collect();
    dirs.sort();
    dirs.dedup();
    let flush = |p: &Path, dir: bool| -> std::io::Result<()> {
        match std::fs::File::open(p) {
            Ok(f) => match f.sync_all() {
                // Some platforms cannot fsync a folder: the files are flushed.
                Err(_) if dir => Ok(()),
                other => other,
            },
            // Replaced or removed since: not this run's to flush.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(_) if dir => Ok(()),
            Err(e) => Err(e),
        }
    };
    let files = paths.len();
    let work: Vec<(std::path::PathBuf, bool)> = paths
        .into_iter()
        .map(|p| (p, false))
        .chain(dirs.into_iter().map(|d| (d, true)))
        .collect();
    let chunk = work.len().div_ceil(FLUSH_THREADS).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = work
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().try_for_each(|(p, dir)| flush(p, *dir))))
            .collect();
        handles.into_iter().try_for_each(|h| {
            h.join()
                .unwrap_or_else(|_| Err(std::io::Error::other("a flush thread panicked")))
        })
    })?;
    Ok(files)
}

fn write_replacing(path: &Path, contents: &[u8], sync: bool) -> std::io::Result<()> {
    write_replacing_with(path, sync, |file| file.write_all(contents))
}

/// Like [`write_atomic`] (with `sync`) or [`write_atomic_unsynced`], for a
/// file too large to build in memory first: `write` streams it into the
/// temporary file (buffered), which then replaces `path`. On any error the
/// temporary file is removed and `path` is left as it was.
pub fn write_atomic_streamed(
    path: &Path,
    sync: bool,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    write_replacing_with(path, sync, |file| {
        let mut buffered = std::io::BufWriter::with_capacity(1 << 16, file);
        write(&mut buffered)?;
        buffered.flush()
    })
}

/// Copies `from` over `to` atomically (readers see the old `to` or the
/// whole copy), without `fsync`: for derived copies such as `last.json`.
pub fn copy_atomic_unsynced(from: &Path, to: &Path) -> std::io::Result<()> {
    write_replacing_with(to, false, |file| {
        let mut source = std::fs::File::open(from)?;
        std::io::copy(&mut source, file).map(|_| ())
    })
}

/// This process's id, asked of the system once (it names temporary files).
fn process_id() -> u32 {
    static ID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *ID.get_or_init(std::process::id)
}

fn write_replacing_with(
    path: &Path,
    sync: bool,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    #[cfg(target_os = "linux")]
    if let Some(file) = unnamed::create(dir) {
        return unnamed::write_and_link(file, dir, path, sync, write);
    }
    let tmp = temporary_name(dir, path);
    // The folder is made only when it is missing: a run writes its files by
    // the thousand into folders that exist, and asking for each one first
    // cost a `mkdir` and a `stat` per file.
    let mut file = match std::fs::File::create(&tmp) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir)?;
            std::fs::File::create(&tmp)?
        }
        other => other?,
    };
    let result = (|| {
        write(&mut file)?;
        if sync {
            file.sync_all()?;
        }
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A temporary file's name beside `path`, unique to this process and call.
fn temporary_name(dir: &Path, path: &Path) -> std::path::PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.join(format!(
        ".{name}.{}.{}.tmp",
        process_id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Atomic writes through a file with no name (Linux's `O_TMPFILE`): the
/// contents go into an unnamed file in the target's folder, which is then
/// given the target's name (`linkat`), so readers see the whole file or no
/// file, as with a rename. For a file that does not exist yet (a pending
/// snapshot on a suite's first run, a recorded cassette) that is one
/// directory entry made instead of a temporary's entry made, then moved:
/// 10.9-16.1 us per file against 13.5-19.1 us, writing 1,000 files of 1.4 KB
/// into one folder on the benchmark machine, and a suite's first run at
/// 1,000 cases 158 -> 135 ms (BENCHMARKS.md). A target that exists is replaced by linking the file under a
/// temporary name and renaming that over it. Where the file system or the
/// sandbox refuses unnamed files (or `/proc` is not mounted), every later
/// write uses a named temporary file instead.
#[cfg(target_os = "linux")]
mod unnamed {
    use std::os::fd::AsFd;
    use std::path::Path;
    use std::sync::atomic::{AtomicBool, Ordering};

    use rustix::fs::{AtFlags, CWD, Mode, OFlags};

    /// Set once unnamed files failed for a reason other than the target.
    static REFUSED: AtomicBool = AtomicBool::new(false);

    fn refuse() {
        REFUSED.store(true, Ordering::Relaxed);
    }

    /// An unnamed file in `dir` (made when missing), or `None` when they
    /// cannot be had here: the caller then uses a named temporary file.
    pub(super) fn create(dir: &Path) -> Option<std::fs::File> {
        if REFUSED.load(Ordering::Relaxed) {
            return None;
        }
        let open = || {
            rustix::fs::openat(
                CWD,
                dir,
                OFlags::TMPFILE | OFlags::RDWR | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o666),
            )
        };
        let opened = match open() {
            Err(rustix::io::Errno::NOENT) => {
                std::fs::create_dir_all(dir).ok().and_then(|()| open().ok())
            }
            Err(
                rustix::io::Errno::OPNOTSUPP | rustix::io::Errno::ISDIR | rustix::io::Errno::INVAL,
            ) => {
                refuse();
                None
            }
            other => other.ok(),
        };
        opened.map(std::fs::File::from)
    }

    /// Writes the unnamed `file` and gives it `path`'s name. A failure
    /// leaves `path` as it was and no file behind (an unnamed file goes
    /// with its last descriptor).
    pub(super) fn write_and_link(
        mut file: std::fs::File,
        dir: &Path,
        path: &Path,
        sync: bool,
        write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        write(&mut file)?;
        if sync {
            file.sync_all()?;
        }
        match link(&file, path) {
            Ok(()) => Ok(()),
            Err(rustix::io::Errno::EXIST) => {
                let tmp = super::temporary_name(dir, path);
                let placed = match link(&file, &tmp) {
                    Ok(()) => Ok(()),
                    Err(_) => copy_to(&mut file, &tmp),
                };
                let result = placed.and_then(|()| std::fs::rename(&tmp, path));
                if result.is_err() {
                    let _ = std::fs::remove_file(&tmp);
                }
                result
            }
            Err(_) => {
                // The link was refused (no `/proc`, a sandbox): the written
                // contents are copied into a named temporary file instead.
                refuse();
                let tmp = super::temporary_name(dir, path);
                let result = copy_to(&mut file, &tmp).and_then(|()| {
                    if sync {
                        std::fs::File::open(&tmp)?.sync_all()?;
                    }
                    std::fs::rename(&tmp, path)
                });
                if result.is_err() {
                    let _ = std::fs::remove_file(&tmp);
                }
                result
            }
        }
    }

    /// Names the unnamed `file` `path` (which must not exist).
    fn link(file: &std::fs::File, path: &Path) -> rustix::io::Result<()> {
        let proc_path = format!(
            "/proc/self/fd/{}",
            std::os::fd::AsRawFd::as_raw_fd(&file.as_fd())
        );
        rustix::fs::linkat(CWD, proc_path.as_str(), CWD, path, AtFlags::SYMLINK_FOLLOW)
    }

    fn copy_to(file: &mut std::fs::File, tmp: &Path) -> std::io::Result<()> {
        use std::io::{Seek, SeekFrom};
        file.seek(SeekFrom::Start(0))?;
        let mut named = std::fs::File::create(tmp)?;
        std::io::copy(file, &mut named).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_replaces_without_leaving_temporaries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub").join("a.snap");
        write_atomic(&path, b"one").expect("write");
        write_atomic(&path, b"two").expect("rewrite");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "two");
        let entries: Vec<_> = std::fs::read_dir(path.parent().expect("parent"))
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(entries.len(), 1, "{entries:?}");
    }

    #[test]
    fn a_streamed_write_that_fails_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("run.json");
        write_atomic(&path, b"old").expect("write");
        let failed = write_atomic_streamed(&path, true, |w| {
            w.write_all(&[b'x'; 100_000])?;
            Err(std::io::Error::other("the serializer stopped"))
        });
        assert_eq!(
            failed.map_err(|e| e.to_string()),
            Err("the serializer stopped".to_string())
        );
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "old");
        write_atomic_streamed(&path, false, |w| w.write_all(b"new")).expect("stream");
        let copy = dir.path().join("last.json");
        copy_atomic_unsynced(&path, &copy).expect("copy");
        assert_eq!(std::fs::read_to_string(&copy).expect("read"), "new");
        let entries: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(entries.len(), 2, "{entries:?}");
    }

    #[test]
    fn a_new_file_appears_whole_with_the_usual_permissions_or_not_at_all() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("new").join("a.snap.new");
        let failed = write_atomic_streamed(&path, false, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("stopped"))
        });
        assert!(failed.is_err());
        assert!(
            !path.exists(),
            "a failed write of a new file leaves no file"
        );
        write_atomic_unsynced(&path, b"pending").expect("write");
        write_atomic(&path.with_extension("snap2"), b"accepted").expect("write synced");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "pending");
        let mut names: Vec<String> = std::fs::read_dir(path.parent().expect("parent"))
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["a.snap.new", "a.snap.snap2"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let plain = dir.path().join("plain");
            std::fs::File::create(&plain).expect("create");
            let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode();
            assert_eq!(mode(&path), mode(&plain), "same mode as File::create");
        }
    }

    #[test]
    fn concurrent_writers_never_tear_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.yaml");
        let bodies: Vec<String> = (0..8).map(|i| format!("{i}").repeat(10_000)).collect();
        std::thread::scope(|s| {
            for body in &bodies {
                let path = &path;
                s.spawn(move || write_atomic(path, body.as_bytes()).expect("write"));
            }
        });
        let got = std::fs::read_to_string(&path).expect("read");
        assert!(bodies.contains(&got), "file is a mix of writers");
    }
}

/// A trial's snapshot file name: `<suite>__<case>[__<variant>].snap`, each
/// part through [`name_part`] (so no two trials share a file). The loader
/// measures it and the snapshot stage writes it.
pub fn snapshot_file_name(suite: &str, case: &str, variant: Option<&str>) -> String {
    let mut name = format!("{}__{}", name_part(suite), name_part(case));
    if let Some(v) = variant {
        name.push_str("__");
        name.push_str(&name_part(v));
    }
    name.push_str(".snap");
    name
}

/// A suite, case or variant name as one part of a file or folder name
/// (snapshots `<suite>__<case>[__<variant>].snap`, cassette folders
/// `<suite>/<case>[@<variant>]`): the one sanitizer for both, so the two
/// can never drift apart.
///
/// A *plain* name (letters, digits, `.`, `-`, `+`, and `_` only singly and
/// inside the name; not starting with `.`) is kept as it is: every name the
/// loader accepts today that was already unambiguous keeps its file name.
/// Anything else is escaped with `~`, which no plain name contains: `_` as
/// `~u`, a leading `.` as `~.`, any other character as `~<hex code>~`, and
/// the empty name as `~`. So an escaped part never holds a bare `_`, and
/// `__` between parts always separates them: different names (and
/// different tuples of names) never make one file name.
pub fn name_part(name: &str) -> String {
    let plain = !name.is_empty()
        && !name.starts_with(['.', '_'])
        && !name.ends_with('_')
        && !name.contains("__")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | '_'));
    if plain {
        return name.to_string();
    }
    if name.is_empty() {
        return "~".into();
    }
    let mut out = String::with_capacity(name.len() + 8);
    for (i, c) in name.chars().enumerate() {
        match c {
            '_' => out.push_str("~u"),
            '.' if i == 0 => out.push_str("~."),
            c if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+') => out.push(c),
            c => {
                out.push('~');
                out.push_str(&format!("{:x}", c as u32));
                out.push('~');
            }
        }
    }
    out
}

#[cfg(test)]
mod name_tests {
    use super::name_part;

    #[test]
    fn plain_names_are_kept_and_others_escaped() {
        for plain in ["support", "refund-window", "gpt+v2", "a_b", "v1.2", "x-y"] {
            assert_eq!(name_part(plain), plain);
        }
        assert_eq!(name_part("y__z"), "y~u~uz");
        assert_eq!(name_part("_x"), "~ux");
        assert_eq!(name_part("x_"), "x~u");
        assert_eq!(name_part(".."), "~..");
        assert_eq!(name_part("a b/c"), "a~20~b~2f~c");
        assert_eq!(name_part(""), "~");
    }

    #[test]
    fn joined_names_never_collide() {
        let names = [
            "x", "y", "z", "x__y", "y__z", "x_", "_y", "x_y", "_", "__", "", "~", "~u", "a b",
            "a_b", ".x", "~.x",
        ];
        let mut seen = std::collections::HashMap::new();
        for a in names {
            for b in names {
                for c in [None, Some("z"), Some("__"), Some("")] {
                    let mut joined = format!("{}__{}", name_part(a), name_part(b));
                    if let Some(c) = c {
                        joined.push_str("__");
                        joined.push_str(&name_part(c));
                    }
                    if let Some(before) = seen.insert(joined.clone(), (a, b, c)) {
                        assert_eq!(before, (a, b, c), "{joined} is made twice");
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod deferred_tests {
    #[test]
    fn deferred_writes_are_whole_at_once_and_flushed_together() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.yaml"), dir.path().join("b.yaml"));
        super::write_atomic_deferred(&a, b"first").unwrap();
        super::write_atomic_deferred(&b, b"second").unwrap();
        super::write_atomic_deferred(&a, b"replaced").unwrap();
        // Readers see the new files before the flush.
        assert_eq!(std::fs::read(&a).unwrap(), b"replaced");
        assert_eq!(std::fs::read(&b).unwrap(), b"second");
        // Other tests of this process defer and flush files too: flush
        // these two explicitly (`a` once, though written twice).
        assert_eq!(
            super::sync_paths(vec![a.clone(), b.clone(), a.clone()]).unwrap(),
            2
        );
        assert_eq!(super::sync_paths(Vec::new()).unwrap(), 0);
        // A file removed before the flush is not an error.
        assert_eq!(
            super::sync_paths(vec![dir.path().join("gone.yaml")]).unwrap(),
            1
        );
        // No temporary file is left behind.
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["a.yaml", "b.yaml"]);
    }
}
