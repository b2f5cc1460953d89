//! Changing one label of a label file without rewriting the rest: the
//! file's text is edited in place, so comments, blank lines and the order of
//! the labels stay as the expert (or another tool) left them.
//!
//! The `labels:` sequence is cut into one span of text per label (from its
//! `- ` line to the last line that belongs to it; comment and blank lines
//! between labels stay outside every span). Each span is parsed on its own
//! and must give the label the whole file gives at that position; when the
//! text is laid out some other way (a flow sequence, anchors, a label split
//! by a comment at a lower indentation), the file is rewritten whole and the
//! edit says so ([`Edited::rewritten`]).
//!
//! [`update`] is the one way the review server and `tribunal label` write:
//! it re-reads the file right before writing and writes only if the file
//! did not change in between (size, modification time and SHA-256), so two
//! writers on one file never lose each other's labels.

use std::ops::Range;
use std::path::Path;
use std::time::SystemTime;

use super::{Label, LabelError, LabelFile, MAX_LABEL_FILE_BYTES, output_hash};

/// Which label: case, variant, judge check.
pub type Key = (String, Option<String>, Option<String>);

/// The key of a label.
pub fn key_of(l: &Label) -> Key {
    (l.case.clone(), l.variant.clone(), l.check.clone())
}

/// A label file's text with the span of each label.
#[derive(Debug, Clone)]
pub struct LabelText {
    text: String,
    file: LabelFile,
    /// One byte range per label, in file order; `None` when the layout is
    /// not one tribunal can edit in place.
    spans: Option<Vec<Range<usize>>>,
    /// Indentation of the `- ` of each label.
    indent: usize,
    /// Where a new label goes: after the last label of the sequence.
    append_at: usize,
}

/// What an edit produced.
#[derive(Debug, Clone)]
pub struct Edited {
    /// The new file text.
    pub text: String,
    /// The labels it holds.
    pub file: LabelFile,
    /// The label the key had before the edit.
    pub previous: Option<Label>,
    /// Whether the file had to be rewritten whole (comments were not kept).
    pub rewritten: bool,
}

fn line_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    for (i, b) in text.bytes().enumerate() {
        if b == b'\n' && i + 1 < text.len() {
            starts.push(i + 1);
        }
    }
    starts
}

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim_start();
    t.is_empty() || t.starts_with('#')
}

impl LabelText {
    /// Parses label file text (`display` names the file in errors).
    pub fn parse(text: &str, display: &str) -> Result<LabelText, LabelError> {
        let file = LabelFile::parse(text, display)?;
        let (spans, indent, append_at) = match segment(text) {
            Some((spans, indent, append_at)) if spans_agree(text, &spans, &file) => {
                (Some(spans), indent, append_at)
            }
            _ => (None, 0, text.len()),
        };
        Ok(LabelText {
            text: text.to_string(),
            file,
            spans,
            indent,
            append_at,
        })
    }

    /// A new, empty label file for `suite`.
    pub fn empty(suite: &str) -> LabelText {
        let text = format!("suite: {}\nlabels:\n", render_suite(suite));
        LabelText {
            append_at: text.len(),
            text,
            file: LabelFile::new(suite),
            spans: Some(Vec::new()),
            indent: 0,
        }
    }

    /// The labels.
    pub fn file(&self) -> &LabelFile {
        &self.file
    }

    /// The text.
    pub fn text(&self) -> &str {
        &self.text
    }

    fn position(&self, key: &Key) -> Option<usize> {
        self.file.labels.iter().position(|l| &key_of(l) == key)
    }

    /// Sets the label of `label`'s key (replacing it in place, or adding it
    /// after the last label).
    pub fn upsert(&self, label: &Label) -> Edited {
        let key = key_of(label);
        let at = self.position(&key);
        let previous = at.map(|i| self.file.labels[i].clone());
        let mut file = self.file.clone();
        match at {
            Some(i) => file.labels[i] = label.clone(),
            None => file.labels.push(label.clone()),
        }
        let Some(spans) = &self.spans else {
            return rewritten(file, previous);
        };
        let item = render_item(label, self.indent);
        let text = match at {
            Some(i) => splice(&self.text, spans[i].clone(), &item),
            None => {
                let mut before = self.text[..self.append_at].to_string();
                if !before.is_empty() && !before.ends_with('\n') {
                    before.push('\n');
                }
                format!("{before}{item}{}", &self.text[self.append_at..])
            }
        };
        Edited {
            text,
            file,
            previous,
            rewritten: false,
        }
    }

    /// Removes the label of `key` (no change when there is none).
    pub fn remove(&self, key: &Key) -> Edited {
        let Some(i) = self.position(key) else {
            return Edited {
                text: self.text.clone(),
                file: self.file.clone(),
                previous: None,
                rewritten: false,
            };
        };
        let mut file = self.file.clone();
        let previous = Some(file.labels.remove(i));
        let Some(spans) = &self.spans else {
            return rewritten(file, previous);
        };
        Edited {
            text: splice(&self.text, spans[i].clone(), ""),
            file,
            previous,
            rewritten: false,
        }
    }
}

fn rewritten(file: LabelFile, previous: Option<Label>) -> Edited {
    let text = match serde_json::to_value(&file) {
        Ok(v) => crate::yaml_out::to_yaml(&v),
        Err(_) => String::new(),
    };
    Edited {
        text,
        file,
        previous,
        rewritten: true,
    }
}

fn splice(text: &str, range: Range<usize>, with: &str) -> String {
    format!("{}{with}{}", &text[..range.start], &text[range.end..])
}

fn render_suite(suite: &str) -> String {
    let v = serde_json::json!({ "suite": suite });
    crate::yaml_out::to_yaml(&v)
        .trim_end()
        .trim_start_matches("suite:")
        .trim()
        .to_string()
}

/// One label as an item of a block sequence whose dashes are at `indent`.
fn render_item(label: &Label, indent: usize) -> String {
    let v = serde_json::to_value([label]).unwrap_or_default();
    let text = crate::yaml_out::to_yaml(&v);
    let pad = " ".repeat(indent);
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        if line != "\n" {
            out.push_str(&pad);
        }
        out.push_str(line);
    }
    out
}

/// The label spans of `text`: the items of the top-level `labels:` block
/// sequence. `None` when there is no such block sequence.
fn segment(text: &str) -> Option<(Vec<Range<usize>>, usize, usize)> {
    let starts = line_starts(text);
    let line = |i: usize| -> &str {
        let end = starts.get(i + 1).copied().unwrap_or(text.len());
        text[starts[i]..end].trim_end_matches(['\n', '\r'])
    };
    let n = starts.len();
    let head = (0..n).find(|&i| {
        let l = line(i);
        l.starts_with("labels:") && is_blank_or_comment(&l["labels:".len()..])
    })?;
    // The first item fixes the indentation of the dashes.
    let first = (head + 1..n).find(|&i| !is_blank_or_comment(line(i)));
    let Some(first) = first else {
        return Some((Vec::new(), 0, text.len()));
    };
    let l = line(first);
    let indent = l.len() - l.trim_start_matches(' ').len();
    if !l[indent..].starts_with("- ") && &l[indent..] != "-" {
        // `labels:` followed by another key: an empty sequence written as
        // nothing; labels go right after the header.
        return (indent == 0).then(|| {
            let at = starts.get(head + 1).copied().unwrap_or(text.len());
            (Vec::new(), 0, at)
        });
    }
    let mut spans = Vec::new();
    let mut item_start: Option<usize> = None;
    let mut last_content = first;
    let mut end_line = n;
    for i in first..n {
        let l = line(i);
        if is_blank_or_comment(l) {
            continue;
        }
        let ind = l.len() - l.trim_start_matches(' ').len();
        let is_item = ind == indent && (l[ind..].starts_with("- ") || &l[ind..] == "-");
        if is_item {
            if let Some(s) = item_start {
                spans.push(starts[s]..line_end(&starts, text, last_content));
            }
            item_start = Some(i);
        } else if ind <= indent && !(indent == 0 && ind == 0 && l.starts_with(' ')) {
            // A line at the dash's indentation or less that is not an item:
            // the sequence ended (a top-level key).
            if ind < indent || indent == 0 {
                end_line = i;
                break;
            }
            return None;
        }
        last_content = i;
    }
    if let Some(s) = item_start {
        spans.push(starts[s]..line_end(&starts, text, last_content));
    }
    let append_at = if end_line < n {
        // Before the comments and blank lines that precede the next key.
        line_end(&starts, text, last_content)
    } else {
        line_end(&starts, text, last_content).max(spans.last().map_or(0, |r| r.end))
    };
    Some((spans, indent, append_at))
}

/// The byte offset just after line `i` (its newline included).
fn line_end(starts: &[usize], text: &str, i: usize) -> usize {
    starts.get(i + 1).copied().unwrap_or(text.len())
}

/// Whether each span, parsed alone, is the label the whole file has there.
fn spans_agree(text: &str, spans: &[Range<usize>], file: &LabelFile) -> bool {
    spans.len() == file.labels.len()
        && spans.iter().zip(&file.labels).all(|(r, want)| {
            serde_saphyr::from_str::<Vec<Label>>(&text[r.clone()])
                .is_ok_and(|got| got.len() == 1 && &got[0] == want)
        })
}

/// The state of a label file on disk: size, modification time and SHA-256
/// of its text (all `None`/empty when it does not exist).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stamp {
    /// Size in bytes.
    pub len: u64,
    /// Modification time.
    pub modified: Option<SystemTime>,
    /// SHA-256 of the text (empty when the file does not exist).
    pub sha256: String,
}

/// Reads a label file's text and its stamp; `None` text when it does not exist.
pub fn read(path: &Path) -> Result<(Option<String>, Stamp), LabelError> {
    let err = |source| LabelError::Read {
        path: path.display().to_string(),
        source,
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((None, Stamp::default()));
        }
        Err(e) => return Err(err(e)),
    };
    let text = match crate::fsutil::read_regular(path, MAX_LABEL_FILE_BYTES) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((None, Stamp::default()));
        }
        Err(e) => return Err(err(e)),
    };
    let stamp = Stamp {
        len: meta.len(),
        modified: meta.modified().ok(),
        sha256: output_hash(&text),
    };
    Ok((Some(text), stamp))
}

/// Reads and parses a label file (an empty one for `suite` when it does not exist).
pub fn load(path: &Path, suite: &str) -> Result<(LabelText, Stamp), LabelError> {
    let (text, stamp) = read(path)?;
    let doc = match text {
        Some(t) => LabelText::parse(&t, &path.display().to_string())?,
        None => LabelText::empty(suite),
    };
    Ok((doc, stamp))
}

/// How many times [`update`] re-reads a file that keeps changing under it.
const ATTEMPTS: usize = 8;

/// How long a writer waits for another writer's lock before giving up.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// A lock older than this is left over from a writer that died.
const LOCK_STALE: std::time::Duration = std::time::Duration::from_secs(30);

/// The writers' lock of a label file: `<file>.lock`, created exclusively
/// and removed when dropped.
struct Lock(std::path::PathBuf);

impl Lock {
    fn take(path: &Path) -> Result<Lock, LabelError> {
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(".lock");
        let lock = path.with_file_name(name);
        if let Some(dir) = lock.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let started = std::time::Instant::now();
        loop {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&lock)
            {
                Ok(_) => return Ok(Lock(lock)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let stale = std::fs::metadata(&lock)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok())
                        .is_some_and(|age| age > LOCK_STALE);
                    if stale {
                        let _ = std::fs::remove_file(&lock);
                        continue;
                    }
                    if started.elapsed() > LOCK_WAIT {
                        return Err(LabelError::Parse {
                            path: path.display().to_string(),
                            message: format!(
                                "another writer has held {} for over {} s (hint: if no other tribunal is writing labels, delete that file)",
                                lock.display(),
                                LOCK_WAIT.as_secs()
                            ),
                        });
                    }
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err(source) => {
                    return Err(LabelError::Write {
                        path: lock.display().to_string(),
                        source,
                    });
                }
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Applies `edit` to the label file at `path` and writes the result
/// atomically. Writers that go through here take turns (a `<file>.lock`
/// next to it); the file is read fresh, edited, and its size, modification
/// time and hash compared again just before the write, so a change by a
/// program that takes no lock (an editor) is re-read and the edit applied
/// to the new text: no label written by someone else is lost. Returns the
/// edit and the stamp of the written file.
pub fn update(
    path: &Path,
    suite: &str,
    edit: impl Fn(&LabelText) -> Edited,
) -> Result<(Edited, Stamp), LabelError> {
    let _lock = Lock::take(path)?;
    for _ in 0..ATTEMPTS {
        let (doc, before) = load(path, suite)?;
        let edited = edit(&doc);
        let (_, now) = read(path)?;
        if now != before {
            continue;
        }
        crate::fsutil::write_atomic(path, edited.text.as_bytes()).map_err(|source| {
            LabelError::Write {
                path: path.display().to_string(),
                source,
            }
        })?;
        let (_, after) = read(path)?;
        return Ok((edited, after));
    }
    Err(LabelError::Parse {
        path: path.display().to_string(),
        message: format!(
            "the file changed {ATTEMPTS} times while tribunal was writing one label (hint: stop the other program writing it, then try again)"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::HumanVerdict;

    fn label(case: &str, verdict: HumanVerdict, critique: &str) -> Label {
        Label {
            case: case.into(),
            variant: None,
            check: None,
            verdict,
            score: None,
            critique: critique.into(),
            tags: Vec::new(),
            few_shot: false,
            labeller: "dana".into(),
            date: "2026-12-01".into(),
            output_sha256: output_hash("out"),
            input: None,
            output: "out".into(),
        }
    }

    const HAND: &str = "# Labels for the support suite.\nsuite: support\nlabels:\n  # first: the late refund\n  - case: zeta\n    verdict: fail   # too generous\n    critique: |-\n      Promises a refund.\n\n      Second paragraph.\n    labeller: dana\n    date: 2026-11-20\n    output_sha256: 7ef36e0ac6ff8bd8d7c4c0ce6f8b8e5a06a1f5c2b8b1bd6d4e4ee1a7c1c81d0b\n    output: x\n\n  # then alpha\n  - case: alpha\n    verdict: pass\n    labeller: dana\n    date: 2026-11-20\n    output_sha256: abc\n    output: y\n# trailing comment\n";

    #[test]
    fn replacing_a_label_keeps_comments_and_order() {
        let doc = LabelText::parse(HAND, "l.yaml").expect("parses");
        assert!(doc.spans.is_some(), "editable in place");
        let new = label("alpha", HumanVerdict::Fail, "Line one.\nLine two.");
        let e = doc.upsert(&new);
        assert!(!e.rewritten);
        assert_eq!(e.previous.map(|p| p.verdict), Some(HumanVerdict::Pass));
        let back = LabelFile::parse(&e.text, "l.yaml").expect("reparses");
        assert_eq!(back.labels[0].case, "zeta", "order kept");
        assert_eq!(back.labels[1], new);
        for kept in [
            "# Labels for the support suite.\n",
            "  # first: the late refund\n",
            "verdict: fail   # too generous\n",
            "\n  # then alpha\n",
            "# trailing comment\n",
        ] {
            assert!(e.text.contains(kept), "lost {kept:?}:\n{}", e.text);
        }
        insta::assert_snapshot!(e.text, @r#"
        # Labels for the support suite.
        suite: support
        labels:
          # first: the late refund
          - case: zeta
            verdict: fail   # too generous
            critique: |-
              Promises a refund.

              Second paragraph.
            labeller: dana
            date: 2026-11-20
            output_sha256: 7ef36e0ac6ff8bd8d7c4c0ce6f8b8e5a06a1f5c2b8b1bd6d4e4ee1a7c1c81d0b
            output: x

          # then alpha
          - case: alpha
            verdict: fail
            critique: |-
              Line one.
              Line two.
            labeller: dana
            date: "2026-12-01"
            output_sha256: "762069bc07a6e1b5df123a5ae7bd91c10daa04694fbaa17fba0cd6a8dcce8f22"
            output: out
        # trailing comment
        "#);
    }

    #[test]
    fn adding_and_removing_labels_edits_only_their_lines() {
        let doc = LabelText::parse(HAND, "l.yaml").expect("parses");
        let added = doc.upsert(&label("new", HumanVerdict::Pass, "fine"));
        let back = LabelFile::parse(&added.text, "l.yaml").expect("reparses");
        let cases: Vec<&str> = back.labels.iter().map(|l| l.case.as_str()).collect();
        assert_eq!(cases, ["zeta", "alpha", "new"]);
        assert!(
            added
                .text
                .ends_with("    output: out\n# trailing comment\n"),
            "{}",
            added.text
        );
        let doc = LabelText::parse(&added.text, "l.yaml").expect("parses");
        let removed = doc.remove(&("new".into(), None, None));
        assert_eq!(
            removed.text, HAND,
            "removing what was added restores the text"
        );
        let doc = LabelText::parse(HAND, "l.yaml").expect("parses");
        let removed = doc.remove(&("zeta".into(), None, None));
        let back = LabelFile::parse(&removed.text, "l.yaml").expect("reparses");
        assert_eq!(back.labels.len(), 1);
        assert!(
            removed
                .text
                .contains("  # first: the late refund\n\n  # then alpha\n")
        );
    }

    #[test]
    fn a_new_file_and_the_files_tribunal_wrote_before_are_edited_in_place() {
        let e = LabelText::empty("support").upsert(&label("a", HumanVerdict::Pass, "ok"));
        assert!(!e.rewritten);
        let old = {
            let mut f = LabelFile::new("support");
            f.upsert(label("a", HumanVerdict::Pass, "ok"));
            f.to_yaml()
        };
        assert_eq!(e.text, old, "the same text as the whole-file writer");
        let doc = LabelText::parse(&old, "l.yaml").expect("parses");
        assert!(doc.spans.is_some());
        let e = doc.upsert(&label("b", HumanVerdict::Fail, "bad"));
        assert_eq!(e.file.labels.len(), 2);
        assert_eq!(LabelFile::parse(&e.text, "l").expect("ok"), e.file);
    }

    #[test]
    fn an_empty_sequence_parses_and_takes_labels() {
        let doc = LabelText::parse("# c\nsuite: s\nlabels:\n", "l.yaml").expect("parses");
        assert!(doc.file().labels.is_empty());
        let e = doc.upsert(&label("a", HumanVerdict::Pass, "ok"));
        assert!(!e.rewritten);
        assert!(
            e.text.starts_with("# c\nsuite: s\nlabels:\n- case: a\n"),
            "{}",
            e.text
        );
        let back = LabelText::parse(&e.text, "l").expect("parses");
        assert_eq!(
            back.remove(&("a".into(), None, None)).text,
            "# c\nsuite: s\nlabels:\n"
        );
    }

    #[test]
    fn a_layout_that_cannot_be_edited_in_place_is_rewritten_and_says_so() {
        let flow = "suite: s\nlabels: [{case: a, verdict: pass, labeller: x, date: d, output_sha256: h, output: o}]\n";
        let doc = LabelText::parse(flow, "l.yaml").expect("parses");
        let e = doc.upsert(&label("b", HumanVerdict::Fail, "bad"));
        assert!(e.rewritten);
        let back = LabelFile::parse(&e.text, "l").expect("ok");
        assert_eq!(back.labels.len(), 2);
    }

    #[test]
    fn update_never_loses_a_label_written_by_another_writer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.yaml");
        let threads: Vec<_> = (0..6)
            .map(|i| {
                let path = path.clone();
                std::thread::spawn(move || {
                    for j in 0..5 {
                        let l = label(&format!("c{i}-{j}"), HumanVerdict::Pass, "ok");
                        update(&path, "s", |doc| doc.upsert(&l)).expect("update");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        let file = LabelFile::load(&path).expect("ok").expect("exists");
        assert_eq!(file.labels.len(), 30, "every label of every writer is kept");
    }
}
