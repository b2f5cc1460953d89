//! Provider batch APIs: OpenAI's Batch API (its files endpoints) and
//! Anthropic's Message Batches, for suites larger than one machine's rate
//! limits, at half the price.
//!
//! In `batch` mode ([`super::Mode::Batch`]) a cassette miss calls nothing:
//! the request, as it would go on the wire, is appended to
//! `target/tribunal/batches/pending/<pid>-<time>.jsonl` (one file per
//! process, one JSON line per call) and the trial fails saying so.
//! `tribunal batch submit` sends the queue as batches ([`openai`],
//! [`anthropic`]), `tribunal batch collect` polls them and records each
//! answer to its cassette through [`super::cassette::write`], as an ordinary
//! exchange, so the next `replay` run passes. What was sent is kept in
//! [`state`] so that an interrupted command resumes without resubmitting.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::capped::{MAX_ANSWER_BYTES, MAX_ERROR_BYTES, read_response};
use super::cassette::{self, Entry};
use super::config::ProviderKind;
use super::retry::{StatusClass, classify_status};
use super::structured::{self, StructuredMode};
use super::transport::{HttpProvider, read_answer};
use super::{ChatRequest, Mode, ProjectConfig, Providers, secrets};

pub mod anthropic;
pub mod openai;
pub mod state;

use state::{Batch, Failed, FailedList, State};

/// Where batches keep their queue and state: `<root>/target/tribunal/batches`.
pub fn dir(root: &Path) -> PathBuf {
    root.join("target").join("tribunal").join("batches")
}

/// One queued call: what a batch sends and what its answer is recorded as.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    /// The cassette key (SHA-256 of the canonical request): the batch's `custom_id`.
    pub key: String,
    /// The cassette file, relative to the cassette folder.
    pub cassette: PathBuf,
    /// The provider spec the call was made through (`judge`, `openai:gpt-4.1-mini`).
    pub spec: String,
    /// `openai` or `anthropic`.
    pub kind: String,
    /// The model.
    pub model: String,
    /// How structured output is asked for in `body`.
    pub structured: StructuredMode,
    /// The canonical request (what the cassette key hashes).
    pub request: Value,
    /// The wire body, as the provider's endpoint takes it.
    pub body: Value,
}

/// Appends one queue line to this process's queue file (opened on first
/// use, kept in `file`), in one write.
pub(crate) fn append_pending(
    dir: &Path,
    file: &mut Option<std::fs::File>,
    line: &[u8],
) -> std::io::Result<()> {
    if file.is_none() {
        let pending = dir.join("pending");
        std::fs::create_dir_all(&pending)?;
        let name = format!(
            "{}-{}.jsonl",
            std::process::id(),
            SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        );
        *file = Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(pending.join(name))?,
        );
    }
    match file.as_mut() {
        Some(f) => f.write_all(line),
        None => Err(std::io::Error::other("no queue file")),
    }
}

/// The largest queue file read (4 GiB).
const MAX_QUEUE_BYTES: u64 = 4 << 30;
/// The largest results file read (1 GiB); a larger one is an error.
const MAX_RESULTS_BYTES: usize = 1 << 30;
/// How long one request to a batch endpoint may take (uploads and results
/// files are large).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(600);

/// The per-batch limits of a provider: requests and bytes.
fn limits(kind: ProviderKind) -> (usize, usize) {
    match kind {
        ProviderKind::Openai => (openai::MAX_REQUESTS, openai::MAX_BYTES),
        ProviderKind::Anthropic => (anthropic::MAX_REQUESTS, anthropic::MAX_BYTES),
    }
}

/// The HTTP side of one provider endpoint: its base URL, key and headers,
/// as the ordinary client has them.
pub(crate) struct Conn {
    http: Arc<HttpProvider>,
}

impl Conn {
    fn kind(&self) -> ProviderKind {
        self.http.kind
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.http.base_url.trim_end_matches('/'))
    }

    /// Sends one request (transient failures retried with the provider's
    /// back-off) and returns a 2xx body of at most `limit` bytes; anything
    /// else is an error naming the request and the server's message.
    pub(crate) async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<(&str, Vec<u8>)>,
        limit: usize,
    ) -> Result<Vec<u8>, String> {
        let label = &self.http.label;
        let what = format!("{method} {url}");
        let max = self.http.policy.max_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut rb = self
                .http
                .client
                .request(method.clone(), url)
                .headers(self.http.headers.clone())
                .timeout(REQUEST_TIMEOUT);
            if let Some((content_type, bytes)) = &body {
                rb = rb.header("content-type", *content_type).body(bytes.clone());
            }
            let last = match rb.send().await {
                Err(e) => secrets::redact(&format!("sending the request failed: {e}")),
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let after = crate::provider::retry::retry_after_in(resp.headers());
                    let class = classify_status(status);
                    let cap = if class == StatusClass::Success {
                        limit
                    } else {
                        MAX_ERROR_BYTES
                    };
                    let bytes = read_response(resp, cap, true).await.map_err(|e| {
                        secrets::redact(&format!("{what}: reading the answer failed: {e}"))
                    })?;
                    match class {
                        StatusClass::Success if bytes.is_truncated() => {
                            return Err(format!(
                                "`{label}`: the answer to {what} is larger than the {} MiB limit ({})",
                                limit >> 20,
                                bytes.note()
                            ));
                        }
                        StatusClass::Success => return Ok(bytes.head),
                        class => {
                            let message = secrets::redact(&match self.kind() {
                                ProviderKind::Openai => super::openai::error_message(&bytes.head),
                                ProviderKind::Anthropic => {
                                    super::anthropic::error_message(&bytes.head)
                                }
                            });
                            let failure = format!("HTTP {status}: {message}");
                            if class == StatusClass::Fatal || attempt >= max {
                                let hint = match (&self.http.missing_key_env, status) {
                                    (Some(var), 401 | 403) => format!(
                                        " (hint: {var} is not set, so no key was sent; set it to the provider's key)"
                                    ),
                                    _ => String::new(),
                                };
                                return Err(format!(
                                    "`{label}` answered {what} with {failure}{hint}"
                                ));
                            }
                            if let Some(wait) = after {
                                tokio::time::sleep(wait.min(Duration::from_secs(60))).await;
                                continue;
                            }
                            failure
                        }
                    }
                }
            };
            if attempt >= max {
                return Err(format!(
                    "`{label}`: {what} failed after {attempt} attempts: {last}"
                ));
            }
            tokio::time::sleep(self.http.policy.backoff(attempt)).await;
        }
    }

    /// GET of a JSON answer.
    pub(crate) async fn get_json(&self, url: &str) -> Result<Value, String> {
        let bytes = self.send(Method::GET, url, None, MAX_ANSWER_BYTES).await?;
        serde_json::from_slice(&bytes).map_err(|e| {
            format!(
                "`{}`: the answer to GET {url} is not JSON ({e}): {}",
                self.http.label,
                super::openai::snippet(&bytes)
            )
        })
    }

    /// POST of a body, for a JSON answer.
    pub(crate) async fn post_json(
        &self,
        url: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<Value, String> {
        let bytes = self
            .send(
                Method::POST,
                url,
                Some((content_type, body)),
                MAX_ANSWER_BYTES,
            )
            .await?;
        serde_json::from_slice(&bytes).map_err(|e| {
            format!(
                "`{}`: the answer to POST {url} is not JSON ({e}): {}",
                self.http.label,
                super::openai::snippet(&bytes)
            )
        })
    }

    /// A results file (bounded by [`MAX_RESULTS_BYTES`]).
    pub(crate) async fn get_file(&self, url: &str) -> Result<Vec<u8>, String> {
        self.send(Method::GET, url, None, MAX_RESULTS_BYTES).await
    }
}

/// What one poll says of a batch.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Polled {
    /// The provider's status word.
    pub status: String,
    /// Whether the batch will change no more.
    pub ended: bool,
    /// Why requests left unanswered failed (the batch expired, was
    /// cancelled, or failed validation), for the failed list.
    pub note: String,
    /// Where its results are: OpenAI output and error file ids, Anthropic's `results_url`.
    pub sources: Vec<String>,
}

/// One request's result in a batch's results.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// The answer body, as the ordinary endpoint answers it.
    Answer(Value),
    /// Why there is no answer.
    Failed(String),
}

/// The `(custom_id, outcome)` of each line of a results file (JSON lines,
/// blank lines skipped); `source` names the file in errors.
pub(crate) fn result_lines(
    bytes: &[u8],
    source: &str,
    outcome: fn(&Value) -> Outcome,
) -> Result<Vec<(String, Outcome)>, String> {
    let text = String::from_utf8_lossy(bytes);
    let mut out = Vec::new();
    for (n, l) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let v: Value = serde_json::from_str(l)
            .map_err(|e| format!("line {} of {source} is not JSON: {e}", n + 1))?;
        let Some(id) = v.get("custom_id").and_then(Value::as_str) else {
            return Err(format!("line {} of {source} has no `custom_id`", n + 1));
        };
        out.push((id.to_string(), outcome(&v)));
    }
    Ok(out)
}

/// A provider's batch operations.
async fn poll(conn: &Conn, id: &str) -> Result<Polled, String> {
    match conn.kind() {
        ProviderKind::Openai => openai::poll(conn, id).await,
        ProviderKind::Anthropic => anthropic::poll(conn, id).await,
    }
}

async fn results(conn: &Conn, polled: &Polled) -> Result<Vec<(String, Outcome)>, String> {
    match conn.kind() {
        ProviderKind::Openai => openai::results(conn, polled).await,
        ProviderKind::Anthropic => anthropic::results(conn, polled).await,
    }
}

/// What a command did, to print, and whether it all went well.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The lines to print.
    pub text: String,
    /// False when requests failed or batches were still running at the end.
    pub ok: bool,
}

/// A project's batch context: its folders and its providers as configured
/// (the provider sections of its `tribunal.yaml`, read by the caller).
struct Project {
    root: PathBuf,
    dir: PathBuf,
    cassettes: PathBuf,
    providers: Providers,
}

impl Project {
    fn open(root: &Path, config: &ProjectConfig) -> Result<Project, String> {
        let cassettes = root.join(&config.cassettes.dir);
        let providers = Providers::with_options(
            root,
            super::Options {
                usage_dir: None,
                ..super::Options::new(root, Mode::Live, config.clone())
            },
        )
        .map_err(|e| e.to_string())?;
        Ok(Project {
            root: root.to_path_buf(),
            dir: dir(root),
            cassettes,
            providers,
        })
    }

    fn shown(&self, p: &Path) -> String {
        p.strip_prefix(&self.root)
            .unwrap_or(p)
            .display()
            .to_string()
    }

    fn conn(&self, spec: &str) -> Result<Conn, String> {
        let http = self.providers.http_for(spec).map_err(|e| e.to_string())?;
        Ok(Conn { http })
    }
}

/// Queue files whose writer is no longer running (a running test process
/// may still append to its own), sorted, and those skipped.
fn pending_files(dir: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut done = Vec::new();
    let mut busy = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir.join("pending")) else {
        return (done, busy);
    };
    for e in rd.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".jsonl") {
            continue;
        }
        let pid: Option<u32> = name.split('-').next().and_then(|p| p.parse().ok());
        let alive = pid.is_some_and(|pid| {
            pid != std::process::id() && Path::new(&format!("/proc/{pid}")).exists()
        });
        if alive { busy.push(p) } else { done.push(p) }
    }
    done.sort();
    busy.sort();
    (done, busy)
}

/// The items of a queue file. A last line without its newline (a writer
/// killed mid-line) is dropped and counted; any other bad line is an error.
fn read_queue(path: &Path, dropped: &mut usize) -> Result<Vec<Item>, String> {
    let text = crate::fsutil::read_regular(path, MAX_QUEUE_BYTES)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let complete = text.ends_with('\n');
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        match serde_json::from_str::<Item>(line) {
            Ok(i) => out.push(i),
            Err(_) if !complete && n + 1 == lines.len() => *dropped += 1,
            Err(e) => {
                return Err(format!(
                    "{}:{} is not a queued request: {e} (hint: delete the file and run the suite again in batch mode)",
                    path.display(),
                    n + 1
                ));
            }
        }
    }
    Ok(out)
}

/// A cassette path from a queue or state file, checked to stay inside the
/// cassette folder.
fn cassette_path(cassettes: &Path, rel: &Path) -> Result<PathBuf, String> {
    let inside = rel.components().all(|c| matches!(c, Component::Normal(_)));
    if !inside || rel.as_os_str().is_empty() {
        return Err(format!(
            "the queued cassette path {} leaves the cassette folder",
            rel.display()
        ));
    }
    Ok(cassettes.join(rel))
}

/// Keys of the requests in batches not yet collected.
fn open_keys(dir: &Path, state: &State) -> Result<BTreeSet<String>, String> {
    let mut keys = BTreeSet::new();
    for b in state.batches.iter().filter(|b| !b.collected) {
        keys.extend(state::load_items(dir, &b.local)?.into_iter().map(|i| i.key));
    }
    Ok(keys)
}

/// A name for a new batch's requests file.
fn local_name(n: usize) -> String {
    let now = SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}-{}-{n}", now.as_secs(), now.subsec_nanos())
}

/// Options of `tribunal batch submit`.
#[derive(Debug, Clone, Default)]
pub struct SubmitOptions {
    /// Also send the requests listed in `failed.json`.
    pub retry_failed: bool,
    /// At most this many requests per batch (below the provider's own limit).
    pub max_requests: Option<usize>,
}

/// `tribunal batch submit`: sends every queued request (once: recorded
/// ones and ones already in a running batch are left out) as batches, one
/// or more per provider endpoint and model, split at the provider's limits.
pub async fn submit(
    root: &Path,
    config: &ProjectConfig,
    opts: &SubmitOptions,
) -> Result<Report, String> {
    let p = Project::open(root, config)?;
    let mut state = State::load(&p.dir)?;
    let mut out = Vec::new();
    // An OpenAI batch whose file was uploaded but not yet created (an
    // interrupted submit): create it now.
    for i in 0..state.batches.len() {
        if state.batches[i].id.is_none() {
            let b = state.batches[i].clone();
            let conn = p.conn(&b.spec)?;
            let Some(file) = b.input_file_id.clone() else {
                return Err(format!(
                    "{} lists batch {} with neither a provider id nor an uploaded file (hint: it is tribunal's own record; delete that entry)",
                    p.shown(&p.dir.join("state.json")),
                    b.local
                ));
            };
            let (id, status) = openai::create(&conn, &file).await.map_err(|e| {
                format!(
                    "creating the batch of the uploaded file {file} failed: {e} (hint: fix the cause and run `tribunal batch submit` again; the file is kept)"
                )
            })?;
            out.push(format!(
                "created batch {id} ({}, `{}`, {}): {} request(s), from the file uploaded before the interruption",
                b.kind, b.spec, b.model, b.requests
            ));
            state.batches[i].id = Some(id);
            state.batches[i].status = status;
            state.save(&p.dir)?;
        }
    }
    let (files, busy) = pending_files(&p.dir);
    let mut dropped = 0;
    let mut queued = Vec::new();
    for f in &files {
        queued.extend(read_queue(f, &mut dropped)?);
    }
    let mut failed = FailedList::load(&p.dir)?;
    let retried: Vec<String> = if opts.retry_failed {
        let keys = failed.failed.iter().map(|f| f.key.clone()).collect();
        queued.extend(failed.failed.iter().map(|f| f.item.clone()));
        keys
    } else {
        Vec::new()
    };
    let open = open_keys(&p.dir, &state)?;
    let (mut recorded, mut running, mut seen) = (0, 0, BTreeSet::new());
    let mut fresh: Vec<Item> = Vec::new();
    for item in queued {
        if !seen.insert(item.key.clone()) {
            continue;
        }
        if open.contains(&item.key) {
            running += 1;
        } else if cassette_path(&p.cassettes, &item.cassette)?.exists() {
            recorded += 1;
        } else {
            fresh.push(item);
        }
    }
    fresh.sort_by(|a, b| (&a.cassette, &a.key).cmp(&(&b.cassette, &b.key)));
    out.insert(
        0,
        format!(
            "{} queued request(s): {} to send, {recorded} already recorded, {running} already in a batch",
            seen.len(),
            fresh.len()
        ),
    );
    if dropped > 0 {
        out.push(format!(
            "dropped {dropped} incomplete queue line(s) (a run stopped mid-write; run the suite again in batch mode to queue those calls)"
        ));
    }
    if !busy.is_empty() {
        out.push(format!(
            "left {} queue file(s) of runs still going (submit again when they end)",
            busy.len()
        ));
    }
    // One group per endpoint (kind, base URL, key and headers) and model.
    let mut groups: BTreeMap<(String, String), (Conn, Vec<&Item>)> = BTreeMap::new();
    for item in &fresh {
        let conn = p.conn(&item.spec)?;
        let mut h = Sha256::new();
        h.update(conn.kind().as_str());
        h.update([0]);
        h.update(&conn.http.base_url);
        for (n, v) in &conn.http.headers {
            h.update([0]);
            h.update(n.as_str());
            h.update([0]);
            h.update(v.as_bytes());
        }
        let endpoint: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        groups
            .entry((endpoint, item.model.clone()))
            .or_insert_with(|| (conn, Vec::new()))
            .1
            .push(item);
    }
    let mut n = 0;
    for (_, (conn, items)) in groups {
        let (max_requests, max_bytes) = limits(conn.kind());
        let max_requests = opts
            .max_requests
            .map_or(max_requests, |m| m.clamp(1, max_requests));
        for chunk in split(&items, max_requests, max_bytes, conn.kind())? {
            n += 1;
            let local = local_name(n);
            let first = chunk[0];
            state::save_items(&p.dir, &local, &chunk)?;
            let mut batch = Batch {
                local: local.clone(),
                kind: conn.kind().as_str().to_string(),
                spec: first.spec.clone(),
                model: first.model.clone(),
                id: None,
                input_file_id: None,
                status: String::new(),
                requests: chunk.len(),
                submitted_at: crate::datetime::rfc3339(SystemTime::now()),
                collected: false,
            };
            let created = match conn.kind() {
                ProviderKind::Openai => {
                    let jsonl = openai::input_file(&chunk)?;
                    match openai::upload(&conn, jsonl).await {
                        Ok(file) => {
                            batch.input_file_id = Some(file.clone());
                            batch.status = "uploaded".into();
                            state.batches.push(batch.clone());
                            state.save(&p.dir)?;
                            openai::create(&conn, &file).await
                        }
                        Err(e) => Err(e),
                    }
                }
                ProviderKind::Anthropic => anthropic::create(&conn, &chunk).await,
            };
            let (id, status) = match created {
                Ok(c) => c,
                Err(e) => {
                    if batch.input_file_id.is_none() {
                        let _ = std::fs::remove_file(state::items_path(&p.dir, &local));
                    }
                    out.push(format!("submitting failed: {e}"));
                    out.push(format!(
                        "the queue is kept: {} file(s) under {} (hint: fix the cause and run `tribunal batch submit` again)",
                        files.len(),
                        p.shown(&p.dir.join("pending"))
                    ));
                    return Err(out.join("\n"));
                }
            };
            out.push(format!(
                "submitted batch {id} ({}, `{}`, {}): {} request(s)",
                batch.kind,
                batch.spec,
                batch.model,
                chunk.len()
            ));
            batch.id = Some(id);
            batch.status = status;
            match state.batches.iter_mut().find(|b| b.local == local) {
                Some(b) => *b = batch,
                None => state.batches.push(batch),
            }
            state.save(&p.dir)?;
        }
    }
    // Everything is in a batch (or recorded): the queue is done with.
    for f in &files {
        std::fs::remove_file(f).map_err(|e| format!("cannot remove {}: {e}", f.display()))?;
    }
    if !retried.is_empty() {
        failed.failed.retain(|f| !retried.contains(&f.key));
        failed.save(&p.dir)?;
    }
    if n > 0 {
        out.push(format!(
            "state: {} (next: `tribunal batch collect --wait 24h`)",
            p.shown(&p.dir.join("state.json"))
        ));
    }
    Ok(Report {
        text: out.join("\n"),
        ok: true,
    })
}

/// Splits a group at `max_requests` and `max_bytes` of wire lines.
fn split<'a>(
    items: &[&'a Item],
    max_requests: usize,
    max_bytes: usize,
    kind: ProviderKind,
) -> Result<Vec<Vec<&'a Item>>, String> {
    let mut out: Vec<Vec<&Item>> = Vec::new();
    let mut bytes = 0;
    for item in items {
        let size = match kind {
            ProviderKind::Openai => openai::line(item)?.len() + 1,
            ProviderKind::Anthropic => anthropic::request(item).to_string().len() + 1,
        };
        if size > max_bytes {
            return Err(format!(
                "request {} is larger than a batch may be ({size} bytes, at most {max_bytes})",
                &item.key[..item.key.len().min(20)]
            ));
        }
        let full = out
            .last()
            .is_none_or(|c| c.len() >= max_requests || bytes + size > max_bytes);
        if full {
            out.push(Vec::new());
            bytes = 0;
        }
        bytes += size;
        if let Some(c) = out.last_mut() {
            c.push(item);
        }
    }
    Ok(out)
}

/// Options of `tribunal batch collect`.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// Poll until every batch ended or this long passed (zero: poll once).
    pub wait: Duration,
    /// The first pause between polls; each later one is twice as long, up to 10 minutes.
    pub poll: Duration,
}

/// `tribunal batch status`: polls every batch not yet collected once and
/// prints where each stands; records nothing.
pub async fn status(root: &Path, config: &ProjectConfig) -> Result<Report, String> {
    let p = Project::open(root, config)?;
    let mut state = State::load(&p.dir)?;
    let mut out = Vec::new();
    let mut ok = true;
    for b in state.batches.iter_mut() {
        let Some(id) = b.id.clone() else {
            out.push(format!(
                "{} ({}, `{}`): uploaded, not created (hint: run `tribunal batch submit`)",
                b.local, b.kind, b.spec
            ));
            ok = false;
            continue;
        };
        if !b.collected {
            let conn = p.conn(&b.spec)?;
            b.status = poll(&conn, &id).await?.status;
        }
        let note = if b.collected { ", collected" } else { "" };
        out.push(format!(
            "batch {id} ({}, `{}`, {}): {} request(s), {}{note}",
            b.kind, b.spec, b.model, b.requests, b.status
        ));
    }
    state.save(&p.dir)?;
    if state.batches.is_empty() {
        out.push("no batches (hint: run the suite with TRIBUNAL_MODE=batch, then `tribunal batch submit`)".into());
    }
    Ok(Report {
        text: out.join("\n"),
        ok,
    })
}

/// What collecting one batch recorded.
#[derive(Debug, Default)]
struct Tally {
    recorded: usize,
    failed: usize,
    cost: f64,
    list_cost: f64,
    unpriced: BTreeSet<String>,
}

/// `tribunal batch collect`: polls the batches not yet collected, with
/// back-off, until each ended or `wait` passed; records every answer of an
/// ended batch to its cassette and lists the rest in `failed.json`.
pub async fn collect(
    root: &Path,
    config: &ProjectConfig,
    opts: &CollectOptions,
) -> Result<Report, String> {
    let p = Project::open(root, config)?;
    let mut state = State::load(&p.dir)?;
    let mut failed = FailedList::load(&p.dir)?;
    let started = Instant::now();
    let mut pause = opts.poll;
    let mut out = Vec::new();
    let mut tally = Tally::default();
    loop {
        for i in 0..state.batches.len() {
            let b = state.batches[i].clone();
            let (Some(id), false) = (&b.id, b.collected) else {
                continue;
            };
            let conn = p.conn(&b.spec)?;
            let polled = poll(&conn, id).await?;
            state.batches[i].status = polled.status.clone();
            state.save(&p.dir)?;
            if !polled.ended {
                continue;
            }
            let found = results(&conn, &polled).await?;
            let (r, f) = record(&p, &b, id, &polled, found, &mut failed, &mut tally)?;
            failed.save(&p.dir)?;
            state.batches[i].collected = true;
            state.save(&p.dir)?;
            // Its requests are in cassettes or in failed.json now.
            let _ = std::fs::remove_file(state::items_path(&p.dir, &b.local));
            out.push(format!(
                "batch {id} ({}, `{}`, {}): {}: {r} recorded, {f} failed",
                b.kind, b.spec, b.model, polled.status
            ));
        }
        let open = state.batches.iter().filter(|b| !b.collected).count();
        if open == 0 || started.elapsed() >= opts.wait {
            break;
        }
        let left = opts.wait.saturating_sub(started.elapsed());
        tokio::time::sleep(pause.min(left)).await;
        pause = (pause * 2).min(Duration::from_secs(600));
    }
    let mut ok = true;
    for b in state.batches.iter().filter(|b| !b.collected) {
        ok = false;
        match &b.id {
            Some(id) => out.push(format!(
                "batch {id} ({}, `{}`, {}): {}: {} request(s) not answered yet (hint: run `tribunal batch collect --wait 24h`)",
                b.kind, b.spec, b.model, b.status, b.requests
            )),
            None => out.push(format!(
                "{} ({}, `{}`): uploaded, not created (hint: run `tribunal batch submit`)",
                b.local, b.kind, b.spec
            )),
        }
    }
    if state.batches.is_empty() {
        out.push("no batches (hint: run the suite with TRIBUNAL_MODE=batch, then `tribunal batch submit`)".into());
    } else if out.is_empty() {
        out.push(format!(
            "every batch is collected ({}); nothing to do",
            state.batches.len()
        ));
    }
    if tally.recorded > 0 {
        let unpriced = if tally.unpriced.is_empty() {
            String::new()
        } else {
            format!(
                "; no price for {}",
                tally
                    .unpriced
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        out.push(format!(
            "recorded {} answer(s) to cassettes under {}; cost at batch prices ${:.6} (list price ${:.6}){unpriced}",
            tally.recorded,
            p.shown(&p.cassettes),
            tally.cost,
            tally.list_cost
        ));
    }
    if tally.failed > 0 {
        ok = false;
        out.push(format!(
            "{} request(s) failed, listed with the reasons in {} (hint: fix the cause, then `tribunal batch submit --retry-failed`, or run the suite again in batch mode to queue them)",
            tally.failed,
            p.shown(&p.dir.join("failed.json"))
        ));
        failed.failed.sort_by(|a, b| a.cassette.cmp(&b.cassette));
        for f in failed.failed.iter().take(20) {
            out.push(format!("  {}: {}", f.cassette.display(), f.reason));
        }
        if failed.failed.len() > 20 {
            out.push(format!("  ... and {} more", failed.failed.len() - 20));
        }
    }
    Ok(Report {
        text: out.join("\n"),
        ok,
    })
}

/// Records an ended batch's answers and lists its failures; returns how
/// many of each.
fn record(
    p: &Project,
    b: &Batch,
    id: &str,
    polled: &Polled,
    found: Vec<(String, Outcome)>,
    failed: &mut FailedList,
    tally: &mut Tally,
) -> Result<(usize, usize), String> {
    let items = state::load_items(&p.dir, &b.local)?;
    let mut results: BTreeMap<String, Outcome> = found.into_iter().collect();
    let kind = ProviderKind::parse(&b.kind)
        .ok_or_else(|| format!("state.json names an unknown provider kind `{}`", b.kind))?;
    let (mut recorded, mut lost) = (0, 0);
    for item in items {
        let outcome = results.remove(&item.key).unwrap_or_else(|| {
            Outcome::Failed(if polled.note.is_empty() {
                format!("not in the results of batch {id} ({})", polled.status)
            } else {
                polled.note.clone()
            })
        });
        let answer = match outcome {
            Outcome::Answer(body) => to_entry(p, kind, &item, &body, id, tally),
            Outcome::Failed(why) => Err(why),
        };
        match answer {
            Ok((path, entry)) => {
                cassette::write(&path, &entry).map_err(|e| e.to_string())?;
                failed.drop_key(&item.key);
                recorded += 1;
            }
            Err(reason) => {
                failed.put(Failed {
                    key: item.key.clone(),
                    cassette: item.cassette.clone(),
                    batch: id.to_string(),
                    reason: secrets::redact(&reason),
                    item,
                });
                lost += 1;
            }
        }
    }
    // On disk before state.json says the batch was collected.
    crate::fsutil::sync_deferred()
        .map_err(|e| format!("the cassettes of batch {id} may not be on disk: {e}"))?;
    tally.recorded += recorded;
    tally.failed += lost;
    Ok((recorded, lost))
}

/// The cassette entry of one answer body, priced at batch prices.
fn to_entry(
    p: &Project,
    kind: ProviderKind,
    item: &Item,
    body: &Value,
    id: &str,
    tally: &mut Tally,
) -> Result<(PathBuf, Entry), String> {
    if cassette::key_of(&item.request) != item.key {
        return Err("the queued request does not hash to its key (the queue was edited)".into());
    }
    let path = cassette_path(&p.cassettes, &item.cassette)?;
    let original: ChatRequest = serde_json::from_value(item.request.clone())
        .map_err(|e| format!("the queued request is not a request: {e}"))?;
    let sent = match kind {
        ProviderKind::Openai => structured::prepare(&original, item.structured),
        ProviderKind::Anthropic => original.clone(),
    };
    let bytes = serde_json::to_vec(body).map_err(|e| e.to_string())?;
    let mut r = read_answer(kind, &bytes, &sent, &original, item.structured)
        .map_err(|e| format!("malformed answer: {e}"))?;
    super::registry::redact_response(&mut r);
    r.latency_ms = 0.0;
    r.batch = Some(id.to_string());
    match p.providers.price_for(&item.spec, &original.model) {
        Some(price) => {
            let cost = price.batch_cost(&r.usage);
            tally.cost += cost;
            tally.list_cost += price.cost(&r.usage);
            r.cost_usd = Some(cost);
        }
        None => {
            tally.unpriced.insert(original.model.clone());
        }
    }
    Ok((
        path,
        Entry {
            key: item.key.clone(),
            spec: item.spec.clone(),
            recorded_at: crate::datetime::rfc3339(SystemTime::now()),
            request: item.request.clone(),
            response: r,
        },
    ))
}

/// Reads a duration: `90s`, `30m`, `24h`, `2d`, `1.5h`, or seconds (`600`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let (num, unit) = match t.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let scale = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        _ => f64::NAN,
    };
    match num.trim().parse::<f64>() {
        Ok(n) if n >= 0.0 && scale.is_finite() && n * scale <= 30.0 * 86400.0 => {
            Ok(Duration::from_secs_f64(n * scale))
        }
        _ => Err(format!(
            "`{s}` is not a duration (hint: write it like `90s`, `30m`, `24h` or `2d`, at most 30 days)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(key: &str, text: &str) -> Item {
        Item {
            key: key.into(),
            cassette: PathBuf::from("s/c/x.yaml"),
            spec: "judge".into(),
            kind: "openai".into(),
            model: "m".into(),
            structured: StructuredMode::Auto,
            request: Value::Null,
            body: serde_json::json!({"model": "m", "messages": [{"role": "user", "content": text}]}),
        }
    }

    #[test]
    fn groups_split_at_the_request_and_byte_limits() {
        let items: Vec<Item> = (0..5).map(|i| item(&format!("k{i}"), "hello")).collect();
        let refs: Vec<&Item> = items.iter().collect();
        let by_count = split(&refs, 2, 1 << 20, ProviderKind::Openai).expect("splits");
        assert_eq!(by_count.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
        let one = openai::line(&items[0]).expect("line").len() + 1;
        let by_bytes = split(&refs, 100, one * 3, ProviderKind::Openai).expect("splits");
        assert_eq!(by_bytes.iter().map(Vec::len).collect::<Vec<_>>(), [3, 2]);
        let e = split(&refs, 100, one - 1, ProviderKind::Openai).expect_err("too large");
        assert!(e.contains("larger than a batch may be"), "{e}");
    }

    #[test]
    fn durations_read_as_written_and_nonsense_is_refused() {
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86400)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("50ms"), Ok(Duration::from_millis(50)));
        for bad in ["", "-1h", "3w", "h", "365d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_line_cut_off_by_a_killed_writer_is_dropped_and_any_other_bad_line_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("1-2.jsonl");
        let good = serde_json::to_string(&item("k1", "hi")).expect("json");
        std::fs::write(&path, format!("{good}\n{}", &good[..good.len() / 2])).expect("write");
        let mut dropped = 0;
        let items = read_queue(&path, &mut dropped).expect("reads");
        assert_eq!((items.len(), dropped), (1, 1));
        std::fs::write(&path, format!("{}\n{good}\n", &good[..10])).expect("write");
        let e = read_queue(&path, &mut dropped).expect_err("a broken line inside");
        assert!(e.contains("1-2.jsonl:1 is not a queued request"), "{e}");
    }

    #[test]
    fn cassette_paths_stay_in_the_cassette_folder() {
        let root = Path::new("/p/fixtures");
        assert!(cassette_path(root, Path::new("s/c/k.yaml")).is_ok());
        for bad in ["../x.yaml", "/etc/passwd", "s/../../x", ""] {
            assert!(cassette_path(root, Path::new(bad)).is_err(), "{bad}");
        }
    }
}
