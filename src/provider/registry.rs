//! [`Providers`]: the single door for model calls. It resolves a spec to a
//! configured provider, answers from cassettes or calls out according to the
//! [`Mode`], applies limits and retries, prices the answer, and remembers
//! which cassette files a run used (for `tribunal cassettes prune`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};
use tokio::sync::Semaphore;

use super::cassette::{self, Entry, Mode};
use super::config::{ProjectConfig, ProviderKind};
use super::limits::{Limiter, Stats, StatsSnapshot};
use super::price::{Price, PriceTable};
use super::secrets;
use super::transport::HttpProvider;
use super::{ChatRequest, ChatResponse, Provider, ProviderError};

/// Which trial a call is made for: cassettes are filed and misses reported by it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallSite {
    /// The suite name.
    pub suite: String,
    /// The case id.
    pub case_id: String,
    /// The variant id, when the case runs under several.
    pub variant: Option<String>,
    /// The folder of the suite file.
    pub suite_dir: PathBuf,
}

/// How [`Providers`] is set up, beyond `tribunal.yaml`.
#[derive(Debug, Clone)]
pub struct Options {
    /// The cassette mode.
    pub mode: Mode,
    /// The provider configuration (normally read from `tribunal.yaml`).
    pub config: ProjectConfig,
    /// Environment values that take precedence over the process environment
    /// (keys, base URLs); tests use this instead of mutating the environment.
    pub env: BTreeMap<String, String>,
    /// Whether the process environment is consulted after `env`.
    pub inherit_env: bool,
    /// Where the names of used cassette files are logged (one file per
    /// process), or `None` to keep them in memory only.
    pub usage_dir: Option<PathBuf>,
}

impl Options {
    /// The options of a project run: the resolved cassette `mode` and
    /// provider configuration (see `crate::config::Config`), the process
    /// environment for keys and base URLs, and usage logs under
    /// `<root>/target/tribunal/cassette-usage`.
    pub fn new(root: &Path, mode: Mode, config: ProjectConfig) -> Options {
        Options {
            mode,
            config,
            env: BTreeMap::new(),
            inherit_env: true,
            usage_dir: Some(usage_dir(root)),
        }
    }
}

/// Where runs log the cassette files they used.
pub fn usage_dir(root: &Path) -> PathBuf {
    root.join("target").join("tribunal").join("cassette-usage")
}

struct Endpoint {
    spec: String,
    kind: String,
    model: String,
    key_env: Option<String>,
    has_key: bool,
    /// Whether the provider needs a key to answer (a custom base URL with
    /// no `api_key_env` is taken to be a keyless local server).
    needs_key: bool,
    extra: Map<String, Value>,
    temperature: Option<f64>,
    max_tokens: Option<u32>,
    seed: Option<u64>,
    price: Option<Price>,
    provider: Arc<dyn Provider>,
    /// Limits for providers registered in code (HTTP providers limit themselves).
    limiter: Option<Arc<Limiter>>,
    /// The HTTP provider (for batches), when the spec reaches one.
    http: Option<Arc<HttpProvider>>,
}

struct Shared {
    mode: Mode,
    cassettes: Option<PathBuf>,
    config: ProjectConfig,
    env: BTreeMap<String, String>,
    inherit_env: bool,
    client: reqwest::Client,
    global: Arc<Semaphore>,
    stats: Arc<Stats>,
    prices: PriceTable,
    endpoints: Mutex<HashMap<String, Arc<Endpoint>>>,
    /// One limiter per provider (a named block, or a kind and base URL),
    /// shared by every spec that reaches it (`judge`, `judge:other-model`).
    limiters: Mutex<HashMap<String, Arc<Limiter>>>,
    used: Mutex<BTreeSet<PathBuf>>,
    usage_dir: Option<PathBuf>,
    usage_file: Mutex<Option<std::fs::File>>,
    /// Where `batch` mode queues its misses (`target/tribunal/batches`).
    batch_dir: Option<PathBuf>,
    queue_file: Mutex<Option<std::fs::File>>,
    /// Calls `batch` mode queued.
    queued: std::sync::atomic::AtomicU64,
}

/// The providers a run can call, by spec: `openai:MODEL`, `anthropic:MODEL`,
/// a provider named in `tribunal.yaml` (`NAME`, or `NAME:MODEL` to change its
/// model), or a provider registered in code with [`Providers::insert`].
/// Cloning is cheap and clones share limits, counters and used-key records.
#[derive(Clone)]
pub struct Providers {
    fixed: BTreeMap<String, Arc<dyn Provider>>,
    shared: Arc<Shared>,
    /// How the suite is run, for the record command in miss messages.
    rerun: crate::rerun::Rerun,
}

impl std::fmt::Debug for Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Providers")
            .field("mode", &self.shared.mode)
            .field("fixed", &self.fixed.keys().collect::<Vec<_>>())
            .field(
                "named",
                &self.shared.config.providers.keys().collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Default for Providers {
    /// No configuration, no cassettes, live calls: for code that registers
    /// its own providers.
    fn default() -> Self {
        Providers::build(
            None,
            Options {
                mode: Mode::Live,
                config: ProjectConfig::default(),
                env: BTreeMap::new(),
                inherit_env: true,
                usage_dir: None,
            },
            reqwest::Client::default(),
        )
    }
}

impl Providers {
    /// The providers of a project at `root` in cassette `mode`, configured
    /// by the provider sections of its `tribunal.yaml`.
    pub fn configure(
        root: &Path,
        mode: Mode,
        config: ProjectConfig,
    ) -> Result<Providers, ProviderError> {
        Providers::with_options(root, Options::new(root, mode, config))
    }

    /// The providers of a project with explicit options.
    pub fn with_options(root: &Path, options: Options) -> Result<Providers, ProviderError> {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()
            .map_err(|e| ProviderError::Config(format!("cannot build the HTTP client: {e}")))?;
        let dir = root.join(&options.config.cassettes.dir);
        let mut providers = Providers::build(Some(dir), options, client);
        if let Some(shared) = Arc::get_mut(&mut providers.shared) {
            shared.batch_dir = Some(super::batch::dir(root));
        }
        Ok(providers)
    }

    fn build(cassettes: Option<PathBuf>, options: Options, client: reqwest::Client) -> Providers {
        register_secrets(&options);
        let prices = PriceTable::new(options.config.prices.clone());
        let global = Arc::new(Semaphore::new(options.config.limits.global()));
        Providers {
            fixed: BTreeMap::new(),
            shared: Arc::new(Shared {
                mode: options.mode,
                cassettes,
                config: options.config,
                env: options.env,
                inherit_env: options.inherit_env,
                client,
                global,
                stats: Arc::new(Stats::default()),
                prices,
                endpoints: Mutex::new(HashMap::new()),
                limiters: Mutex::new(HashMap::new()),
                used: Mutex::new(BTreeSet::new()),
                usage_dir: options.usage_dir,
                usage_file: Mutex::new(None),
                batch_dir: None,
                queue_file: Mutex::new(None),
                queued: Default::default(),
            }),
            rerun: crate::rerun::Rerun::default(),
        }
    }

    /// How the suite is being run: the command a cassette miss tells the
    /// user to record with (default `cargo test --test evals`).
    pub fn set_rerun(&mut self, rerun: crate::rerun::Rerun) {
        self.rerun = rerun;
    }

    /// Registers a provider under a spec; calls to that spec go through the
    /// same cassettes and limits as configured providers.
    pub fn insert(&mut self, spec: impl Into<String>, provider: Arc<dyn Provider>) {
        let spec = spec.into();
        if let Ok(mut eps) = self.shared.endpoints.lock() {
            eps.remove(&spec);
        }
        self.fixed.insert(spec, provider);
    }

    /// The cassette mode.
    pub fn mode(&self) -> Mode {
        self.shared.mode
    }

    /// The cassette folder, when cassettes are in use.
    pub fn cassette_dir(&self) -> Option<&Path> {
        self.shared.cassettes.as_deref()
    }

    /// The shared HTTP client (connection pool), for HTTP targets.
    pub fn http_client(&self) -> &reqwest::Client {
        &self.shared.client
    }

    /// Counters of this run's calls.
    pub fn stats(&self) -> StatsSnapshot {
        self.shared.stats.snapshot()
    }

    /// How many calls `batch` mode has queued for a provider batch so far.
    pub fn queued(&self) -> u64 {
        self.shared.queued.load(Ordering::Relaxed)
    }

    /// The cassette files this run has replayed or recorded so far.
    pub fn used_keys(&self) -> Vec<PathBuf> {
        self.shared
            .used
            .lock()
            .map(|u| u.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The raw provider for a spec, without cassettes or limits (prefer
    /// [`Providers::chat`]).
    pub fn get(&self, spec: &str) -> Result<Arc<dyn Provider>, ProviderError> {
        Ok(Arc::clone(&self.endpoint(spec)?.provider))
    }

    /// The HTTP provider a spec reaches (its base URL, key and headers as
    /// ordinary calls send them), for batches; an error for a provider
    /// registered in code.
    pub(crate) fn http_for(&self, spec: &str) -> Result<Arc<HttpProvider>, ProviderError> {
        self.endpoint(spec)?.http.clone().ok_or_else(|| {
            ProviderError::Config(format!(
                "`{spec}` is not an OpenAI or Anthropic provider over HTTP, so it has no batch API"
            ))
        })
    }

    /// The price of `model` through `spec`: the provider's `price:`, else
    /// the table (`prices:` over the built-in prices).
    pub(crate) fn price_for(&self, spec: &str, model: &str) -> Option<Price> {
        let block = self.endpoint(spec).ok().and_then(|ep| ep.price);
        block.or_else(|| self.shared.prices.lookup(model))
    }

    /// An environment value as this run sees it: [`Options::env`] first,
    /// then (when inherited) the process environment; empty counts as unset.
    /// Targets read `${NAME}` in their headers through it.
    pub fn env_var(&self, name: &str) -> Option<String> {
        self.env(name)
    }

    fn env(&self, name: &str) -> Option<String> {
        lookup_env(&self.shared.env, self.shared.inherit_env, name)
    }

    fn endpoint(&self, spec: &str) -> Result<Arc<Endpoint>, ProviderError> {
        if let Some(ep) = self
            .shared
            .endpoints
            .lock()
            .ok()
            .and_then(|eps| eps.get(spec).cloned())
        {
            return Ok(ep);
        }
        let ep = Arc::new(self.resolve(spec)?);
        if let Ok(mut eps) = self.shared.endpoints.lock() {
            // Concurrent first calls may each have resolved the endpoint:
            // the first one stored wins, so every caller shares one limiter
            // (two would let twice the per-provider limit into flight).
            return Ok(Arc::clone(eps.entry(spec.to_string()).or_insert(ep)));
        }
        Ok(ep)
    }

    /// The limiter of the provider `key`, made on first use under one lock:
    /// every spec reaching that provider, and every concurrent first call,
    /// shares it.
    fn limiter(&self, key: String, max: usize, rpm: Option<u32>) -> Arc<Limiter> {
        let make = || {
            Arc::new(Limiter::new(
                Arc::clone(&self.shared.global),
                max,
                rpm,
                Arc::clone(&self.shared.stats),
            ))
        };
        match self.shared.limiters.lock() {
            Ok(mut l) => Arc::clone(l.entry(key).or_insert_with(make)),
            Err(_) => make(),
        }
    }

    fn resolve(&self, spec: &str) -> Result<Endpoint, ProviderError> {
        let cfg = &self.shared.config;
        if let Some(p) = self.fixed.get(spec) {
            let limiter = self.limiter(format!("fixed {spec}"), cfg.limits.per_provider(), None);
            return Ok(Endpoint {
                spec: spec.to_string(),
                kind: p.name().to_string(),
                model: p.model().to_string(),
                key_env: None,
                has_key: true,
                needs_key: false,
                extra: Map::new(),
                temperature: None,
                max_tokens: None,
                seed: None,
                price: None,
                provider: Arc::clone(p),
                limiter: Some(limiter),
                http: None,
            });
        }
        let (head, tail) = match spec.split_once(':') {
            Some((h, t)) => (h.trim(), Some(t.trim())),
            None => (spec.trim(), None),
        };
        let named = cfg
            .providers
            .get_key_value(spec)
            .map(|(k, n)| (k, n, None))
            .or_else(|| cfg.providers.get_key_value(head).map(|(k, n)| (k, n, tail)));
        let name = named.map(|(k, _, _)| k.clone());
        let named = named.map(|(_, n, over)| (n, over));
        let unknown = || {
            let mut names: Vec<String> = vec!["openai:MODEL".into(), "anthropic:MODEL".into()];
            names.extend(cfg.providers.keys().cloned());
            names.extend(self.fixed.keys().cloned());
            ProviderError::Config(format!(
                "unknown provider `{spec}` (hint: use one of {}; named providers are declared under `providers:` in tribunal.yaml)",
                names.join(", ")
            ))
        };
        let (kind, model, block) = match named {
            Some((block, over)) => (
                block.kind,
                over.map(str::to_string)
                    .or_else(|| block.model.clone())
                    .unwrap_or_default(),
                Some(block),
            ),
            None => {
                let kind = ProviderKind::parse(head).ok_or_else(unknown)?;
                let model = tail.filter(|m| !m.is_empty()).ok_or_else(|| {
                    ProviderError::Config(format!(
                        "provider `{spec}` names no model (hint: write `{head}:MODEL`, e.g. `openai:gpt-4.1-mini`)"
                    ))
                })?;
                (kind, model.to_string(), None)
            }
        };
        let base_url = block
            .and_then(|b| b.base_url.clone())
            .or_else(|| self.env(kind.base_url_env()))
            .unwrap_or_else(|| kind.default_base_url().to_string());
        let key_env = block
            .and_then(|b| b.api_key_env.clone())
            .unwrap_or_else(|| kind.key_env().to_string());
        let key = self.env(&key_env);
        if let Some(k) = &key {
            secrets::register(&key_env, k);
        }
        let mut headers = Vec::new();
        for (name, value) in block.map(|b| &b.headers).into_iter().flatten() {
            let value = secrets::expand_vars(name, value, |var| self.env(var)).map_err(|var| {
                ProviderError::Config(format!(
                    "header `{name}` of provider `{spec}` reads ${{{var}}}, which is not set (hint: set {var}, or write the value without `${{...}}`)"
                ))
            })?;
            headers.push((name.clone(), value));
        }
        let mut extra = block.map(|b| b.params.clone()).unwrap_or_default();
        let temperature = extra.remove("temperature").and_then(|v| v.as_f64());
        let max_tokens = extra
            .remove("max_tokens")
            .and_then(|v| v.as_u64())
            .and_then(|v| u32::try_from(v).ok());
        let seed = extra.remove("seed").and_then(|v| v.as_u64());
        let policy = block
            .and_then(|b| b.retry.clone())
            .unwrap_or_else(|| cfg.retry.clone());
        let limiter = self.limiter(
            match &name {
                Some(name) => format!("named {name}"),
                None => format!("{} {base_url}", kind.as_str()),
            },
            block
                .and_then(|b| b.concurrency)
                .unwrap_or_else(|| cfg.limits.per_provider()),
            block.and_then(|b| b.rpm),
        );
        let url = match kind {
            ProviderKind::Openai => super::openai::url(&base_url),
            ProviderKind::Anthropic => super::anthropic::url(&base_url),
        };
        let custom_server = base_url != kind.default_base_url();
        let provider = Arc::new(HttpProvider {
            label: spec.to_string(),
            kind,
            model: model.clone(),
            base_url: base_url.clone(),
            url,
            headers: HttpProvider::headers(kind, key.as_deref(), &headers)?,
            extra: extra.clone(),
            client: self.shared.client.clone(),
            policy,
            limiter,
            stats: Arc::clone(&self.shared.stats),
            missing_key_env: key.is_none().then(|| key_env.clone()),
            configured: block.and_then(|b| b.structured_output).unwrap_or_default(),
            negotiated: Default::default(),
        });
        Ok(Endpoint {
            spec: spec.to_string(),
            kind: kind.as_str().to_string(),
            model,
            key_env: Some(key_env),
            has_key: key.is_some() || custom_server,
            needs_key: !custom_server || block.is_some_and(|b| b.api_key_env.is_some()),
            extra,
            temperature,
            max_tokens,
            seed,
            price: block.and_then(|b| b.price),
            provider: Arc::clone(&provider) as Arc<dyn Provider>,
            http: Some(provider),
            limiter: None,
        })
    }

    /// Sends one request to the provider named by `spec`, on behalf of the
    /// trial `site`. This is the single door for judges and prompt targets:
    /// cassettes, limits, retries and pricing live behind it.
    pub async fn chat(
        &self,
        spec: &str,
        request: &ChatRequest,
        site: &CallSite,
    ) -> Result<ChatResponse, ProviderError> {
        self.chat_unredacted(spec, request, site)
            .await
            .map_err(redact_error)
    }

    async fn chat_unredacted(
        &self,
        spec: &str,
        request: &ChatRequest,
        site: &CallSite,
    ) -> Result<ChatResponse, ProviderError> {
        let ep = self.endpoint(spec)?;
        let mut req = request.clone();
        if req.model.is_empty() {
            req.model = ep.model.clone();
        }
        req.temperature = req.temperature.or(ep.temperature);
        req.max_tokens = req.max_tokens.or(ep.max_tokens);
        req.seed = req.seed.or(ep.seed);
        let canonical = cassette::canonical_request(&ep.kind, &req, &ep.extra);
        let key = cassette::key_of(&canonical);
        let path = self.shared.cassettes.as_ref().map(|dir| {
            cassette::path_for(
                dir,
                &site.suite,
                &site.case_id,
                site.variant.as_deref(),
                &key,
            )
        });
        let mode = self.shared.mode;
        if mode == Mode::Batch && path.is_none() {
            self.shared.stats.errors.fetch_add(1, Ordering::Relaxed);
            return Err(ProviderError::Config(format!(
                "batch mode needs a cassette folder to queue `{}` for, and this run has none",
                ep.spec
            )));
        }
        let mut missed = false;
        if let (Some(path), Mode::Replay | Mode::Auto | Mode::Batch) = (&path, mode) {
            let trial =
                crate::verdict::trial_name(&site.suite, &site.case_id, site.variant.as_deref());
            if let Some(response) = cassette::replay(path, &key, &self.rerun.record(&trial))? {
                self.mark_used(path);
                self.shared.stats.replayed.fetch_add(1, Ordering::Relaxed);
                self.shared.stats.replayed_nano_usd.fetch_add(
                    super::limits::nano_usd(response.cost_usd),
                    Ordering::Relaxed,
                );
                let mut r = response;
                r.replayed = true;
                // Where the answer came from is for the file's reader.
                r.batch = None;
                return Ok(r);
            }
            if mode == Mode::Batch {
                self.shared.stats.errors.fetch_add(1, Ordering::Relaxed);
                return Err(self.queue_for_batch(&ep, &req, site, &key, path, canonical));
            }
            if mode == Mode::Replay || !ep.has_key {
                self.shared.stats.errors.fetch_add(1, Ordering::Relaxed);
                return Err(ProviderError::CassetteMiss(
                    self.miss_message(&ep, &req, site, &key, path, mode, &canonical),
                ));
            }
            missed = true;
        }
        let answer = match &ep.limiter {
            Some(l) => {
                // No deadline: a pause is waited for, so this never fails.
                let _permit = l.acquire(None).await;
                ep.provider.chat(&req).await
            }
            None => ep.provider.chat(&req).await,
        };
        let mut r = match answer {
            Ok(r) => r,
            Err(e) => {
                self.shared.stats.errors.fetch_add(1, Ordering::Relaxed);
                // Auto mode called out because nothing was recorded: say so, and
                // what changed, not only that the server could not be reached.
                if let (true, Some(path)) = (missed, &path) {
                    let changed = path
                        .parent()
                        .and_then(|d| cassette::changed_parts(d, &canonical))
                        .map(|c| format!("; {c}"))
                        .unwrap_or_default();
                    return Err(ProviderError::CassetteMiss(format!(
                        "no recorded answer for `{}` in trial `{}` (expected cassette {}){changed}; recording it failed: {e}",
                        ep.spec,
                        crate::verdict::trial_name(
                            &site.suite,
                            &site.case_id,
                            site.variant.as_deref()
                        ),
                        path.display()
                    )));
                }
                return Err(e);
            }
        };
        redact_response(&mut r);
        if r.cost_usd.is_none() {
            let price = ep.price.or_else(|| self.shared.prices.lookup(&req.model));
            r.cost_usd = price.map(|p| p.cost(&r.usage));
        }
        r.replayed = false;
        self.shared.stats.live.fetch_add(1, Ordering::Relaxed);
        self.shared
            .stats
            .spent_nano_usd
            .fetch_add(super::limits::nano_usd(r.cost_usd), Ordering::Relaxed);
        if let (Some(path), Mode::Record | Mode::Auto) = (&path, mode) {
            let entry = Entry {
                key,
                spec: ep.spec.clone(),
                recorded_at: crate::datetime::rfc3339(std::time::SystemTime::now()),
                request: canonical,
                response: r.clone(),
            };
            cassette::write(path, &entry)?;
            self.mark_used(path);
            self.shared.stats.recorded.fetch_add(1, Ordering::Relaxed);
        }
        Ok(r)
    }

    #[allow(clippy::too_many_arguments)]
    fn miss_message(
        &self,
        ep: &Endpoint,
        req: &ChatRequest,
        site: &CallSite,
        key: &str,
        path: &Path,
        mode: Mode,
        canonical: &Value,
    ) -> String {
        let trial = crate::verdict::trial_name(&site.suite, &site.case_id, site.variant.as_deref());
        let last: String = req
            .last_user_text()
            .unwrap_or("")
            .chars()
            .take(80)
            .collect();
        let why = if mode == Mode::Replay {
            "replay mode".to_string()
        } else {
            format!(
                "auto mode, and {} is not set so it cannot be recorded",
                ep.key_env.as_deref().unwrap_or("the provider's key")
            )
        };
        let key_note = ep
            .key_env
            .as_deref()
            .filter(|_| ep.needs_key)
            .map(|k| format!(" with {k} set"))
            .unwrap_or_default();
        let changed = path
            .parent()
            .and_then(|d| cassette::changed_parts(d, canonical))
            .map(|c| format!("; {c}"))
            .unwrap_or_default();
        format!(
            "no recorded answer for `{}` (model `{}`, sample {}) in trial `{trial}` ({why}): request {} whose last user message starts \"{last}\"; expected cassette {}{changed} (hint: record it{key_note} by running `{}`, then commit the file)",
            ep.spec,
            req.model,
            req.sample,
            &key[..key.len().min(20)],
            path.display(),
            self.rerun.record(&trial)
        )
    }

    /// `batch` mode's miss: appends the request to this process's queue
    /// file under `target/tribunal/batches/pending/` and returns the error
    /// the trial fails with (queued, or why it could not be).
    fn queue_for_batch(
        &self,
        ep: &Endpoint,
        req: &ChatRequest,
        site: &CallSite,
        key: &str,
        path: &Path,
        canonical: Value,
    ) -> ProviderError {
        let trial = crate::verdict::trial_name(&site.suite, &site.case_id, site.variant.as_deref());
        let fail = |why: String| {
            ProviderError::CassetteMiss(format!(
                "no recorded answer for `{}` in trial `{trial}` (batch mode), and it cannot be queued for a batch: {why}",
                ep.spec
            ))
        };
        let Some(http) = &ep.http else {
            return fail(format!(
                "`{}` is not an OpenAI or Anthropic provider over HTTP (hint: record it with `{}`)",
                ep.spec,
                self.rerun.record(&trial)
            ));
        };
        let (Some(batch_dir), Some(cassettes)) = (&self.shared.batch_dir, &self.shared.cassettes)
        else {
            return fail("this run has no project folder to queue under".into());
        };
        let (body, structured) = http.batch_body(req);
        let item = super::batch::Item {
            key: key.to_string(),
            cassette: path.strip_prefix(cassettes).unwrap_or(path).to_path_buf(),
            spec: ep.spec.clone(),
            kind: ep.kind.clone(),
            model: req.model.clone(),
            structured,
            request: canonical,
            body,
        };
        let mut line = match serde_json::to_string(&item) {
            Ok(l) => l,
            Err(e) => return fail(format!("cannot encode the request: {e}")),
        };
        line.push('\n');
        let written = match self.shared.queue_file.lock() {
            Ok(mut f) => super::batch::append_pending(batch_dir, &mut f, line.as_bytes()),
            Err(_) => Err(std::io::Error::other("the queue lock is poisoned")),
        };
        if let Err(e) = written {
            return fail(format!(
                "cannot write the queue under {}: {e}",
                batch_dir.display()
            ));
        }
        self.shared.queued.fetch_add(1, Ordering::Relaxed);
        ProviderError::CassetteMiss(format!(
            "no recorded answer for `{}` (model `{}`, sample {}) in trial `{trial}`: batch mode queued request {} for a batch, to be recorded to {} (hint: run `tribunal batch submit`, then `tribunal batch collect --wait 24h`, then run the suite again)",
            ep.spec,
            req.model,
            req.sample,
            &key[..key.len().min(20)],
            path.display()
        ))
    }

    fn mark_used(&self, path: &Path) {
        let fresh = self
            .shared
            .used
            .lock()
            .map(|mut u| u.insert(path.to_path_buf()))
            .unwrap_or(false);
        if !fresh {
            return;
        }
        let (Some(dir), Some(cassettes)) = (&self.shared.usage_dir, &self.shared.cassettes) else {
            return;
        };
        let rel = path.strip_prefix(cassettes).unwrap_or(path);
        if let Ok(mut f) = self.shared.usage_file.lock() {
            if f.is_none() {
                let _ = std::fs::create_dir_all(dir);
                let name = format!(
                    "{}-{}.log",
                    std::process::id(),
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_nanos())
                        .unwrap_or(0)
                );
                *f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(dir.join(name))
                    .ok();
            }
            if let Some(file) = f.as_mut() {
                // Best effort: a lost line would let prune drop a used file, which
                // is why prune defaults to a dry run that lists what it would remove.
                let _ = writeln!(file, "{}", rel.display());
            }
        }
    }
}

/// Removes every known secret from an answer before it is recorded or
/// returned (a server that echoes the key must not put it into a cassette).
pub(crate) fn redact_response(r: &mut ChatResponse) {
    let text = secrets::redact(&r.text);
    if text != r.text {
        r.text = text;
    }
    if let Some(j) = &mut r.json {
        secrets::redact_json(j);
    }
    for c in &mut r.tool_calls {
        secrets::redact_json(&mut c.arguments);
    }
}

/// A variable from the given set, then (when `inherit`) from the process
/// environment; empty counts as unset.
fn lookup_env(env: &BTreeMap<String, String>, inherit: bool, name: &str) -> Option<String> {
    env.get(name)
        .cloned()
        .or_else(|| inherit.then(|| std::env::var(name).ok()).flatten())
        .filter(|v| !v.is_empty())
}

/// Registers every key and header variable the configuration can read, so
/// that they are redacted even from output of calls that never resolve a
/// provider (a `command` target printing its inherited environment).
fn register_secrets(options: &Options) {
    let lookup = |name: &str| lookup_env(&options.env, options.inherit_env, name);

    let mut names: Vec<String> = [ProviderKind::Openai, ProviderKind::Anthropic]
        .iter()
        .map(|k| k.key_env().to_string())
        .collect();
    for block in options.config.providers.values() {
        names.extend(block.api_key_env.clone());
        for (name, value) in &block.headers {
            // Registers what it substitutes; unset variables are reported later.
            let _ = secrets::expand_vars(name, value, lookup);
        }
    }
    for name in names {
        if let Some(v) = lookup(&name) {
            secrets::register(&name, &v);
        }
    }
}

/// An error with every known secret removed from its text (a miss message
/// quotes the prompt, a refusal quotes the server).
fn redact_error(e: ProviderError) -> ProviderError {
    let r = |s: String| secrets::redact(&s);
    match e {
        ProviderError::Rejected {
            provider,
            status,
            message,
        } => ProviderError::Rejected {
            provider,
            status,
            message: r(message),
        },
        ProviderError::Paused {
            provider,
            wait_s,
            remaining_s,
            reason,
        } => ProviderError::Paused {
            provider,
            wait_s,
            remaining_s,
            reason: r(reason),
        },
        ProviderError::Exhausted {
            provider,
            attempts,
            last,
        } => ProviderError::Exhausted {
            provider,
            attempts,
            last: r(last),
        },
        ProviderError::Malformed { provider, message } => ProviderError::Malformed {
            provider,
            message: r(message),
        },
        ProviderError::CassetteMiss(m) => ProviderError::CassetteMiss(r(m)),
        ProviderError::Cassette(m) => ProviderError::Cassette(r(m)),
        ProviderError::Config(m) => ProviderError::Config(r(m)),
    }
}
