//! The review server: state, routes and the checks every request passes.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::data::{self, Source, SuiteLabels, TrialView};
use super::{MAX_BODY_BYTES, MAX_CRITIQUE_BYTES, Options, analysis};
use crate::align::{AlignOptions, AlignReport, Confusion, align_suite};
use crate::case::{Suite, discover, load_files};
use crate::labels::edit::{self, Key};
use crate::labels::{HumanVerdict, Label, output_hash, today};
use crate::provider::Providers;
use crate::registry::Registry;
use crate::report::RunResults;
use crate::run::{RunEnv, expand};

const INDEX: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

/// Suites with their label files, for the alignment.
type Labelled = Vec<(Arc<Suite>, crate::labels::LabelFile)>;

/// One label change, to undo.
#[derive(Debug, Clone)]
struct Undo {
    suite: String,
    trial: String,
    key: Key,
    previous: Option<Label>,
}

#[derive(Debug)]
struct Inner {
    suites: BTreeMap<String, Arc<Suite>>,
    suite_errors: Vec<String>,
    run: Result<RunResults, String>,
    run_stamp: Option<(Option<SystemTime>, u64)>,
    labels: BTreeMap<String, SuiteLabels>,
    undo: Vec<Undo>,
    /// The drafts, when the source is a drafts file.
    drafts: Option<Vec<TrialView>>,
}

/// A running review app's state (shared by every request).
#[derive(Debug)]
pub struct Review {
    opts: Options,
    csrf: String,
    inner: Mutex<Inner>,
}

fn stamp_of(path: &Path) -> Option<(Option<SystemTime>, u64)> {
    std::fs::metadata(path)
        .ok()
        .map(|m| (m.modified().ok(), m.len()))
}

/// The run to review, or for a drafts file an empty run named after the
/// file's content (so a page notices when it is regenerated) and the drafts.
fn load(source: &Source, root: &Path) -> (Result<RunResults, String>, Option<Vec<TrialView>>) {
    let Source::Drafts(path) = source else {
        return (load_run(source), None);
    };
    match data::draft_views(path) {
        Ok((id, views)) => {
            let mut run = RunResults::new(
                root,
                Vec::new(),
                SystemTime::now(),
                std::time::Duration::ZERO,
            );
            run.run_id = id;
            (Ok(run), Some(views))
        }
        Err(e) => (Err(e), None),
    }
}

fn load_run(source: &Source) -> Result<RunResults, String> {
    let path = source.path();
    if !path.exists() {
        return Err(match source {
            Source::Last(_) => format!(
                "no results at {} (hint: run the suites first, `tribunal run` or `cargo test --test evals`, or pass `--results FILE`)",
                path.display()
            ),
            Source::File(_) => format!(
                "no results file {} (hint: pass a file of target/tribunal/runs/, or `--run ID`)",
                path.display()
            ),
            Source::Drafts(_) => format!(
                "no drafts file {} (hint: write drafts with `tribunal generate`)",
                path.display()
            ),
        });
    }
    RunResults::load(path).map_err(|e| {
        format!("{e} (hint: the file is not a tribunal results file; run the suites again to rewrite it)")
    })
}

fn load_suites(root: &Path) -> (Vec<Arc<Suite>>, Vec<String>) {
    match discover(&root.join("evals")) {
        Ok(files) => {
            let loaded = load_files(root, &files, None);
            let errors = loaded.broken.iter().map(ToString::to_string).collect();
            (loaded.suites, errors)
        }
        Err(e) => (Vec::new(), vec![e.to_string()]),
    }
}

impl Review {
    /// Loads the project's suites and the run; fails only when the
    /// server cannot start (no random token).
    pub fn new(opts: Options) -> Result<Review, String> {
        let (suites, suite_errors) = load_suites(&opts.root);
        let (run, drafts) = load(&opts.source, &opts.root);
        let run_stamp = stamp_of(opts.source.path());
        let review = Review {
            csrf: super::random_token()?,
            inner: Mutex::new(Inner {
                suites: data::suites_by_name(&suites),
                suite_errors,
                run,
                run_stamp,
                labels: BTreeMap::new(),
                undo: Vec::new(),
                drafts,
            }),
            opts,
        };
        review.refresh(&mut review.lock());
        Ok(review)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The run (if it loaded) and why not.
    pub fn run_error(&self) -> Option<String> {
        self.lock().run.as_ref().err().cloned()
    }

    /// Re-reads the results file and the label files that changed on disk.
    fn refresh(&self, inner: &mut Inner) {
        let stamp = stamp_of(self.opts.source.path());
        if stamp != inner.run_stamp {
            inner.run_stamp = stamp;
            (inner.run, inner.drafts) = load(&self.opts.source, &self.opts.root);
        }
        let suites: Vec<String> = match &inner.run {
            Ok(run) => {
                let mut s: Vec<String> = data::reviewable(run)
                    .map(|r| r.verdict.suite.clone())
                    .collect();
                s.sort();
                s.dedup();
                s
            }
            Err(_) => Vec::new(),
        };
        for suite in suites {
            let path = self.label_path(&suite, &inner.suites);
            let current = edit::read(&path).map(|(_, s)| s).ok();
            let known = inner.labels.get(&suite);
            if known.is_none_or(|k| Some(&k.stamp) != current.as_ref() || k.path != path) {
                inner
                    .labels
                    .insert(suite.clone(), data::read_labels(&path, &suite));
            }
        }
    }

    fn trials(&self, inner: &Inner) -> Vec<TrialView> {
        if let Some(drafts) = &inner.drafts {
            return drafts.clone();
        }
        let Ok(run) = &inner.run else {
            return Vec::new();
        };
        data::reviewable(run)
            .map(|r| {
                let s = inner.suites.get(&r.verdict.suite).map(AsRef::as_ref);
                let l = inner.labels.get(&r.verdict.suite).map(|l| &l.file);
                data::trial_view(r, s, l, self.opts.blind)
            })
            .collect()
    }

    /// Where labels of `suite` are read and written: the suite's label
    /// file, or with `--own-labels` the annotator's own file beside it.
    fn label_path(&self, suite: &str, suites: &BTreeMap<String, Arc<Suite>>) -> std::path::PathBuf {
        match (&self.opts.annotator, self.opts.own_labels) {
            (Some(a), true) => {
                let custom = suites.get(suite).and_then(|s| s.judge.labels.clone());
                super::annotators::own_path(&self.opts.root, suite, custom.as_deref(), a)
            }
            _ => data::label_path(&self.opts.root, suite, suites),
        }
    }

    /// Agreement between annotators, per suite with two or more label files.
    fn annotators(&self) -> Vec<Value> {
        let inner = self.lock();
        let mut out = Vec::new();
        for suite in inner.labels.keys() {
            let main = data::label_path(&self.opts.root, suite, &inner.suites);
            let (files, errors) = super::annotators::label_files(&main, suite);
            if files.len() < 2 && errors.is_empty() {
                continue;
            }
            out.push(json!({
                "suite": suite,
                "files": files.iter().map(|(n, _)| n).collect::<Vec<_>>(),
                "pairs": super::annotators::pairwise(&files),
                "errors": errors,
            }));
        }
        out
    }

    /// One trial's view (without building every other one).
    fn trial(&self, inner: &Inner, id: &str) -> Option<TrialView> {
        let run = inner.run.as_ref().ok()?;
        let r = data::reviewable(run).find(|r| r.verdict.trial == id)?;
        let s = inner.suites.get(&r.verdict.suite).map(AsRef::as_ref);
        let l = inner.labels.get(&r.verdict.suite).map(|l| &l.file);
        Some(data::trial_view(r, s, l, self.opts.blind))
    }

    fn run_id(inner: &Inner) -> Option<String> {
        inner.run.as_ref().ok().map(|r| r.run_id.clone())
    }

    fn label_files(inner: &Inner) -> Value {
        inner
            .labels
            .iter()
            .map(|(suite, l)| {
                (
                    suite.clone(),
                    json!({
                        "path": l.path.display().to_string(),
                        "sha256": l.stamp.sha256,
                        "labels": l.file.labels.len(),
                        "error": l.error,
                    }),
                )
            })
            .collect::<serde_json::Map<String, Value>>()
            .into()
    }

    fn state(&self) -> Value {
        let mut inner = self.lock();
        self.refresh(&mut inner);
        let trials = self.trials(&inner);
        let labelled = trials.iter().filter(|t| t.label.is_some()).count();
        json!({
            "run_id": Self::run_id(&inner),
            "results": self.opts.source.path().display().to_string(),
            "run_error": inner.run.as_ref().err(),
            "suite_errors": inner.suite_errors,
            "annotator": self.opts.annotator,
            "blind": self.opts.blind,
            "drafts": inner.drafts.is_some(),
            "label_files": Self::label_files(&inner),
            "progress": {"labelled": labelled, "total": trials.len()},
            "trials": trials,
        })
    }

    fn poll(&self) -> Value {
        let mut inner = self.lock();
        self.refresh(&mut inner);
        let sums: BTreeMap<&String, &String> = inner
            .labels
            .iter()
            .map(|(s, l)| (s, &l.stamp.sha256))
            .collect();
        json!({
            "run_id": Self::run_id(&inner),
            "run_error": inner.run.as_ref().err(),
            "labels": sums,
        })
    }

    fn label(&self, req: LabelRequest) -> Result<Value, (StatusCode, String)> {
        let bad = |m: String| (StatusCode::BAD_REQUEST, m);
        let verdict = match req.verdict.as_str() {
            "pass" => HumanVerdict::Pass,
            "fail" => HumanVerdict::Fail,
            other => return Err(bad(format!("verdict `{other}` is not `pass` or `fail`"))),
        };
        if req.critique.len() > MAX_CRITIQUE_BYTES {
            return Err(bad(format!(
                "the critique is {} bytes; at most {MAX_CRITIQUE_BYTES} are kept",
                req.critique.len()
            )));
        }
        let annotator = self
            .opts
            .annotator
            .clone()
            .or(req.annotator.clone())
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty() && a.len() <= 200)
            .ok_or_else(|| bad("who is labelling? (hint: enter your name once in the page, or start the server with `--annotator NAME`)".into()))?;
        let tags: Vec<String> = req
            .tags
            .iter()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .take(32)
            .collect();
        let mut inner = self.lock();
        self.refresh(&mut inner);
        if inner.drafts.is_some() {
            return Err(bad(data::DRAFT_NOT_LABELLED.into()));
        }
        let (suite, key, label) = {
            let run = inner
                .run
                .as_ref()
                .map_err(|e| (StatusCode::CONFLICT, e.clone()))?;
            if req.run_id.as_deref() != Some(run.run_id.as_str()) {
                return Err((
                    StatusCode::CONFLICT,
                    format!(
                        "the run was replaced (the page shows run {}, the results now hold run {}): this label was not saved; reload the page to review the new outputs",
                        req.run_id.as_deref().unwrap_or("?"),
                        run.run_id
                    ),
                ));
            }
            let r = data::reviewable(run)
                .find(|r| r.verdict.trial == req.trial)
                .ok_or_else(|| bad(format!("no trial `{}` in run {}", req.trial, run.run_id)))?;
            let text = data::output_text(r).to_string();
            if r.verdict.output.is_none() {
                return Err(bad(format!(
                    "`{}` has no output to label (its target failed: {})",
                    req.trial,
                    r.verdict.error.as_deref().unwrap_or("no reason recorded")
                )));
            }
            let v = &r.verdict;
            let input = inner
                .suites
                .get(&v.suite)
                .and_then(|s| s.cases.iter().find(|c| c.id == v.case))
                .map(|c| crate::text::of_input(&c.input));
            let label = Label {
                case: v.case.clone(),
                variant: v.variant.clone(),
                check: None,
                verdict,
                score: None,
                critique: req.critique.trim_end().to_string(),
                tags,
                few_shot: false,
                labeller: annotator,
                date: today(),
                output_sha256: output_hash(&text),
                input,
                output: text,
            };
            let mut label = label;
            label.few_shot = inner
                .labels
                .get(&v.suite)
                .and_then(|l| l.file.find(&v.case, v.variant.as_deref(), None))
                .is_some_and(|l| l.few_shot);
            (v.suite.clone(), edit::key_of(&label), label)
        };
        if let Some(e) = inner.labels.get(&suite).and_then(|l| l.error.clone()) {
            return Err((StatusCode::CONFLICT, e));
        }
        let path = self.label_path(&suite, &inner.suites);
        let (edited, stamp) = edit::update(&path, &suite, |doc| doc.upsert(&label))
            .map_err(|e| (StatusCode::CONFLICT, e.to_string()))?;
        inner.undo.push(Undo {
            suite: suite.clone(),
            trial: req.trial.clone(),
            key,
            previous: edited.previous.clone(),
        });
        let notice = edited.rewritten.then(|| {
            format!(
                "{} was not laid out as tribunal writes label files, so it was rewritten whole (its comments were not kept)",
                path.display()
            )
        });
        inner.labels.insert(
            suite.clone(),
            SuiteLabels {
                path,
                file: edited.file,
                stamp,
                error: None,
            },
        );
        let trial = self.trial(&inner, &req.trial);
        Ok(json!({"trial": trial, "notice": notice, "label_files": Self::label_files(&inner)}))
    }

    /// Picks (or unpicks) a labelled trial as a few-shot example.
    fn few_shot(&self, req: FewShotRequest) -> Result<Value, (StatusCode, String)> {
        let mut inner = self.lock();
        self.refresh(&mut inner);
        let run = inner
            .run
            .as_ref()
            .map_err(|e| (StatusCode::CONFLICT, e.clone()))?;
        let r = data::reviewable(run)
            .find(|r| r.verdict.trial == req.trial)
            .ok_or_else(|| (StatusCode::BAD_REQUEST, format!("no trial `{}`", req.trial)))?;
        let (suite, case, variant) = (
            r.verdict.suite.clone(),
            r.verdict.case.clone(),
            r.verdict.variant.clone(),
        );
        if let Some(e) = inner.labels.get(&suite).and_then(|l| l.error.clone()) {
            return Err((StatusCode::CONFLICT, e));
        }
        let key: Key = (case, variant, None);
        let path = self.label_path(&suite, &inner.suites);
        let (edited, _) = edit::update(&path, &suite, |doc| {
            match doc.file().labels.iter().find(|l| edit::key_of(l) == key) {
                Some(l) => {
                    let mut picked = l.clone();
                    picked.few_shot = req.few_shot;
                    doc.upsert(&picked)
                }
                None => doc.remove(&key),
            }
        })
        .map_err(|e| (StatusCode::CONFLICT, e.to_string()))?;
        if edited.previous.is_none() {
            return Err((
                StatusCode::BAD_REQUEST,
                format!(
                    "`{}` has no label to use as an example: label it first",
                    req.trial
                ),
            ));
        }
        inner.undo.push(Undo {
            suite: suite.clone(),
            trial: req.trial.clone(),
            key,
            previous: edited.previous.clone(),
        });
        inner
            .labels
            .insert(suite.clone(), data::read_labels(&path, &suite));
        let trial = self.trial(&inner, &req.trial);
        Ok(json!({"trial": trial, "label_files": Self::label_files(&inner)}))
    }

    fn undo(&self) -> Result<Value, (StatusCode, String)> {
        let mut inner = self.lock();
        self.refresh(&mut inner);
        let Some(u) = inner.undo.pop() else {
            return Err((StatusCode::CONFLICT, "nothing to undo".into()));
        };
        let path = self.label_path(&u.suite, &inner.suites);
        let result = edit::update(&path, &u.suite, |doc| match &u.previous {
            Some(p) => doc.upsert(p),
            None => doc.remove(&u.key),
        });
        if let Err(e) = result {
            inner.undo.push(u);
            return Err((StatusCode::CONFLICT, e.to_string()));
        }
        inner
            .labels
            .insert(u.suite.clone(), data::read_labels(&path, &u.suite));
        let trial = self.trial(&inner, &u.trial);
        Ok(json!({"undone": u.trial, "trial": trial, "label_files": Self::label_files(&inner)}))
    }

    fn analysis(&self, q: &AnalysisQuery) -> analysis::Analysis {
        let mut inner = self.lock();
        self.refresh(&mut inner);
        let trials = self.trials(&inner);
        analysis::analyse(&trials, q.rows.as_deref(), q.cols.as_deref())
    }

    fn align_inputs(&self) -> Result<(Vec<Arc<Suite>>, Labelled), String> {
        let mut inner = self.lock();
        self.refresh(&mut inner);
        let suites: Vec<Arc<Suite>> = inner.suites.values().cloned().collect();
        let mut labelled = Vec::new();
        for (name, l) in &inner.labels {
            if let Some(e) = &l.error {
                return Err(e.clone());
            }
            if l.file.labels.is_empty() {
                continue;
            }
            let Some(s) = inner.suites.get(name) else {
                continue;
            };
            labelled.push((Arc::clone(s), l.file.clone()));
        }
        Ok((suites, labelled))
    }
}

/// `tribunal align`'s numbers for every reviewed suite with labels, as
/// `tribunal align` computes them (judges run on the labelled outputs,
/// replayed from cassettes where recorded).
fn align_all(
    root: &Path,
    suites: Vec<Arc<Suite>>,
    labelled: Labelled,
) -> Result<Vec<AlignReport>, String> {
    let config = crate::config::Config::load(root).map_err(|e| e.to_string())?;
    let providers = Providers::configure(root, config.cassette_mode(config.ci), config.providers)
        .map_err(|e| e.to_string())?;
    let env = RunEnv::new(
        root.to_path_buf(),
        Registry::default(),
        providers,
        config.ci,
        &expand(&suites),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    rt.block_on(async {
        let mut out = Vec::new();
        for (s, labels) in &labelled {
            out.push(align_suite(&env, s, labels, &AlignOptions::default()).await?);
        }
        Ok(out)
    })
}

fn confusion_view(c: &Confusion) -> Value {
    json!({
        "n": c.n(), "tp": c.tp, "fn": c.fn_, "fp": c.fp, "tn": c.tn,
        "accuracy": c.accuracy(), "kappa": c.kappa(), "tpr": c.tpr(), "tnr": c.tnr(),
    })
}

fn report_view(r: &AlignReport) -> Value {
    let table = |m: &BTreeMap<String, Confusion>| -> Value {
        m.iter()
            .map(|(k, c)| (k.clone(), confusion_view(c)))
            .collect::<serde_json::Map<String, Value>>()
            .into()
    };
    let disagreements: Vec<&crate::align::Item> = r
        .items
        .iter()
        .filter(|i| i.agrees() != Some(true))
        .collect();
    json!({
        "suite": r.suite,
        "judged": r.items.len(),
        "undecided": r.undecided().count(),
        "overall": confusion_view(&r.overall),
        "per_check": table(&r.per_check),
        "per_tag": table(&r.per_tag),
        "disagreements": disagreements,
        "stale": r.stale,
        "invalid": r.invalid,
        "gate": r.min_agreement.map(|min| json!({
            "min_agreement": min,
            "agreement": r.gated_agreement(),
            "holds": r.gate_holds(),
        })),
        "text": r.render(),
    })
}

#[derive(Debug, Deserialize)]
struct LabelRequest {
    trial: String,
    verdict: String,
    #[serde(default)]
    critique: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    annotator: Option<String>,
    #[serde(default)]
    run_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct FewShotRequest {
    trial: String,
    few_shot: bool,
}

#[derive(Debug, Default, Deserialize)]
struct AnalysisQuery {
    rows: Option<String>,
    cols: Option<String>,
}

#[derive(Debug, Serialize)]
struct ApiError {
    error: String,
}

fn api_error(status: StatusCode, error: String) -> Response {
    (status, axum::Json(ApiError { error })).into_response()
}

fn constant_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix("tribunal_token=").map(str::to_string))
}

fn query_token(uri: &axum::http::Uri) -> Option<String> {
    uri.query()?
        .split('&')
        .find_map(|p| p.strip_prefix("token=").map(str::to_string))
}

/// Every request: the `Host` names this server, the access token (when
/// there is one), and the CSRF token on anything that is not a GET.
async fn guard(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    // Without an access token the loopback server trusts only requests
    // that name it (a page on another site cannot rebind a name to
    // 127.0.0.1 and read it). With a token, which the other site does not
    // have, any name is accepted: an expert on another machine reaches
    // `--host 0.0.0.0` by the machine's own name.
    if app.review.opts.token.is_none() && !app.hosts.iter().any(|h| h == host) {
        return api_error(
            StatusCode::MISDIRECTED_REQUEST,
            format!(
                "this review server answers to {} only, not `{host}`",
                app.hosts.join(" or ")
            ),
        );
    }
    let mut set_cookie = None;
    if let Some(token) = &app.review.opts.token {
        let from_query = query_token(req.uri());
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_string)
            .or_else(|| cookie_token(req.headers()))
            .or(from_query.clone());
        if !given.is_some_and(|g| constant_eq(&g, token)) {
            return api_error(
                StatusCode::UNAUTHORIZED,
                "this review server needs its access token (hint: open the URL it printed, which carries `?token=…`)".into(),
            );
        }
        if from_query.is_some() {
            set_cookie = Some(format!(
                "tribunal_token={token}; HttpOnly; SameSite=Strict; Path=/"
            ));
        }
    }
    if req.method() != axum::http::Method::GET {
        let csrf = req
            .headers()
            .get("x-tribunal-csrf")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !constant_eq(csrf, &app.review.csrf) {
            return api_error(
                StatusCode::FORBIDDEN,
                "missing or wrong CSRF token (hint: reload the page)".into(),
            );
        }
    }
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(c) = set_cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        h.insert(header::SET_COOKIE, c);
    }
    resp
}

struct App {
    review: Review,
    hosts: Vec<String>,
}

type Shared = State<Arc<App>>;

async fn index(State(app): Shared) -> Response {
    let page = INDEX.replace("{{CSRF}}", &app.review.csrf);
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}

async fn app_js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        APP_JS,
    )
        .into_response()
}

async fn app_css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], APP_CSS).into_response()
}

async fn api_state(State(app): Shared) -> Response {
    axum::Json(app.review.state()).into_response()
}

async fn api_poll(State(app): Shared) -> Response {
    axum::Json(app.review.poll()).into_response()
}

async fn api_label(
    State(app): Shared,
    body: Result<axum::Json<LabelRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let req = match body {
        Ok(axum::Json(r)) => r,
        Err(e) => return api_error(e.status(), e.body_text()),
    };
    let app = Arc::clone(&app);
    match tokio::task::spawn_blocking(move || app.review.label(req)).await {
        Ok(Ok(v)) => axum::Json(v).into_response(),
        Ok(Err((s, m))) => api_error(s, m),
        Err(e) => api_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn api_few_shot(
    State(app): Shared,
    body: Result<axum::Json<FewShotRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let req = match body {
        Ok(axum::Json(r)) => r,
        Err(e) => return api_error(e.status(), e.body_text()),
    };
    let app = Arc::clone(&app);
    match tokio::task::spawn_blocking(move || app.review.few_shot(req)).await {
        Ok(Ok(v)) => axum::Json(v).into_response(),
        Ok(Err((s, m))) => api_error(s, m),
        Err(e) => api_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn api_undo(State(app): Shared) -> Response {
    let app = Arc::clone(&app);
    match tokio::task::spawn_blocking(move || app.review.undo()).await {
        Ok(Ok(v)) => axum::Json(v).into_response(),
        Ok(Err((s, m))) => api_error(s, m),
        Err(e) => api_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn api_align(State(app): Shared) -> Response {
    let app = Arc::clone(&app);
    let done = tokio::task::spawn_blocking(move || {
        let (suites, labelled) = app.review.align_inputs()?;
        let reports = align_all(&app.review.opts.root, suites, labelled)?;
        Ok::<_, String>((reports, app.review.annotators()))
    })
    .await;
    match done {
        Ok(Ok((reports, annotators))) => axum::Json(json!({
            "reports": reports.iter().map(report_view).collect::<Vec<_>>(),
            "annotators": annotators,
        }))
        .into_response(),
        Ok(Err(m)) => api_error(StatusCode::UNPROCESSABLE_ENTITY, m),
        Err(e) => api_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn api_analysis(State(app): Shared, Query(q): Query<AnalysisQuery>) -> Response {
    axum::Json(app.review.analysis(&q)).into_response()
}

async fn export_md(State(app): Shared, Query(q): Query<AnalysisQuery>) -> Response {
    let text = app.review.analysis(&q).markdown();
    (
        [
            (header::CONTENT_TYPE, "text/markdown; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"error-analysis.md\"",
            ),
        ],
        text,
    )
        .into_response()
}

async fn export_csv(State(app): Shared, Query(q): Query<AnalysisQuery>) -> Response {
    let text = app.review.analysis(&q).csv();
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"error-analysis.csv\"",
            ),
        ],
        text,
    )
        .into_response()
}

async fn not_found() -> Response {
    api_error(StatusCode::NOT_FOUND, "no such page".into())
}

/// A bound review server, ready to serve.
pub struct Bound {
    listener: tokio::net::TcpListener,
    router: Router,
    /// The URL to open (with the access token, when there is one).
    pub url: String,
}

impl Review {
    /// Binds the address and builds the routes.
    pub async fn bind(self) -> Result<Bound, String> {
        let addr = self.opts.addr();
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            format!(
                "cannot listen on {addr}: {e} (hint: pass another `--port`, or 0 for a free one)"
            )
        })?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        let port = local.port();
        let mut hosts = vec![format!("{}:{port}", fmt_ip(local.ip()))];
        if local.ip().is_loopback() {
            hosts.push(format!("localhost:{port}"));
        }
        let url = match &self.opts.token {
            Some(t) => format!("http://{}/?token={t}", hosts[0]),
            None => format!("http://{}/", hosts[0]),
        };
        let app = Arc::new(App {
            review: self,
            hosts,
        });
        let router = Router::new()
            .route("/", get(index))
            .route("/app.js", get(app_js))
            .route("/app.css", get(app_css))
            .route("/api/state", get(api_state))
            .route("/api/poll", get(api_poll))
            .route("/api/label", post(api_label))
            .route("/api/undo", post(api_undo))
            .route("/api/few-shot", post(api_few_shot))
            .route("/api/align", post(api_align))
            .route("/api/analysis", get(api_analysis))
            .route("/api/export.md", get(export_md))
            .route("/api/export.csv", get(export_csv))
            .fallback(not_found)
            .layer(middleware::from_fn_with_state(Arc::clone(&app), guard))
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
            .with_state(app);
        Ok(Bound {
            listener,
            router,
            url,
        })
    }
}

fn fmt_ip(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
        v4 => v4.to_string(),
    }
}

impl Bound {
    /// Serves until the process ends.
    pub async fn serve(self) -> Result<(), String> {
        axum::serve(self.listener, self.router)
            .await
            .map_err(|e| format!("the review server stopped: {e}"))
    }
}
