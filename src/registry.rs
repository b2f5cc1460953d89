//! The Rust functions a user registers: targets (systems under test) and checks.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::chat::Message;
use crate::provider::BoxFuture;
use crate::verdict::Output;

/// What a Rust target receives for one trial.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Input {
    /// The case input as written: a string or a map of variables.
    pub value: Value,
    /// Variables: suite defaults, variant and case (input map entries included).
    pub vars: Map<String, Value>,
    /// The case id.
    pub case_id: String,
    /// The variant id, when the case runs under several.
    pub variant: Option<String>,
}

impl Input {
    /// The input as text: the string itself, or the compact JSON of a map.
    pub fn text(&self) -> String {
        crate::text::of_input(&self.value)
    }

    /// A variable (from the input map, the case, the variant or suite defaults).
    pub fn var(&self, name: &str) -> Option<&Value> {
        self.vars.get(name)
    }

    /// A variable as a string, if it is one.
    pub fn var_str(&self, name: &str) -> Option<&str> {
        self.vars.get(name).and_then(Value::as_str)
    }

    /// The input as a conversation: the messages of a case whose `input` is
    /// a list of messages (or of a multi-turn case's turn: the whole
    /// exchange so far, ending with the user's newest message); for any
    /// other input, one user message with [`Input::text`] (none when the
    /// input is empty).
    ///
    /// ```
    /// use tribunal::{Input, Output, Role};
    ///
    /// fn support_bot(input: &Input) -> Result<Output, String> {
    ///     let messages = input.messages();
    ///     let last = messages.last().ok_or("no message")?;
    ///     let turns = messages.iter().filter(|m| m.role == Role::User).count();
    ///     Ok(Output::text(format!("({turns}) you said: {}", last.content)))
    /// }
    /// # let _ = support_bot;
    /// ```
    pub fn messages(&self) -> Vec<Message> {
        if let Some(messages) = crate::chat::messages_of(&self.value) {
            return messages;
        }
        let text = self.text();
        if text.is_empty() {
            Vec::new()
        } else {
            vec![Message::user(text)]
        }
    }

    /// A trial input with this value and variables (for tests of Rust
    /// targets).
    pub fn new(value: Value, vars: Map<String, Value>) -> Self {
        Input {
            value,
            vars,
            case_id: String::new(),
            variant: None,
        }
    }
}

/// What a registered Rust check receives (`- rust: name` in YAML, the
/// function given to [`crate::Harness::check`]).
///
/// Every field, as one case fills it in (README's "What a `rust` check
/// receives" has the same example as a `tests/evals.rs`):
///
/// ```
/// use serde_json::{Value, json};
/// use tribunal::{Arguments, CheckInput, Harness, Input, Outcome, SnapshotSettings, UpdateMode};
///
/// let root = tempfile::tempdir()?;
/// std::fs::create_dir_all(root.path().join("evals"))?;
/// std::fs::write(
///     root.path().join("evals/orders.yaml"),
///     "suite: orders\n\
///      defaults: {target: order_lookup, vars: {region: eu}}\n\
///      cases:\n  \
///        - id: shipped\n    \
///          input: {order: A-1001}\n    \
///          expected: {status: shipped}\n    \
///          checks: [{rust: fields, args: {max: 3}}]\n",
/// )?;
/// std::fs::write(root.path().join("tribunal.yaml"), "reports: {history: 'off'}\n")?;
///
/// let run = Harness::new()
///     .root(root.path())
///     .target("order_lookup", |i: &Input| -> Result<Value, String> {
///         Ok(json!({"order": i.var_str("order"), "status": "shipped"}))
///     })
///     .check("fields", |c: &CheckInput<'_>| -> Result<(), String> {
///         // The target answered JSON: both forms are there.
///         assert_eq!(c.output.json, Some(json!({"order": "A-1001", "status": "shipped"})));
///         assert_eq!(c.output.text, r#"{"order":"A-1001","status":"shipped"}"#);
///         // The case's input, expected output and the check's args, as written.
///         assert_eq!(c.input, &json!({"order": "A-1001"}));
///         assert_eq!(c.expected, Some(&json!({"status": "shipped"})));
///         assert_eq!(c.args["max"], 3);
///         // Variables: the suite defaults' and the input map's entries.
///         assert_eq!(c.vars["region"], "eu");
///         assert_eq!(c.vars["order"], "A-1001");
///         Ok(())
///     })
///     .snapshot_settings(SnapshotSettings::new(UpdateMode::Always, false, false))
///     .run_quietly(&Arguments::default());
///
/// let verdict = &run.records[0].verdict;
/// assert_eq!(verdict.outcome, Outcome::Pass, "{:?}", verdict.checks);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct CheckInput<'a> {
    /// What the target returned.
    pub output: &'a Output,
    /// The case input.
    pub input: &'a Value,
    /// The case's reference output, if any.
    pub expected: Option<&'a Value>,
    /// The check's `args:` from YAML (`null` when absent).
    pub args: &'a Value,
    /// Variables of the trial.
    pub vars: &'a Map<String, Value>,
}

/// What a registered Rust check may return: `bool`, or `Result<(), E>` where
/// the error is the failure reason.
pub trait IntoCheckOutcome {
    /// `Ok(())` for a pass, `Err(reason)` for a failure.
    fn into_outcome(self) -> Result<(), String>;
}

impl IntoCheckOutcome for bool {
    fn into_outcome(self) -> Result<(), String> {
        if self {
            Ok(())
        } else {
            Err("the check returned false".into())
        }
    }
}

impl<E: Display> IntoCheckOutcome for Result<(), E> {
    fn into_outcome(self) -> Result<(), String> {
        self.map_err(|e| e.to_string())
    }
}

pub(crate) type SyncTarget = Arc<dyn Fn(&Input) -> Result<Output, String> + Send + Sync>;
pub(crate) type AsyncTarget =
    Arc<dyn Fn(Input) -> BoxFuture<'static, Result<Output, String>> + Send + Sync>;
pub(crate) type CheckFn = Arc<dyn Fn(&CheckInput<'_>) -> Result<(), String> + Send + Sync>;

/// A registered Rust target.
#[derive(Clone)]
pub(crate) enum RustTarget {
    /// Runs on a blocking thread.
    Sync(SyncTarget),
    /// Runs on the shared runtime.
    Async(AsyncTarget),
}

impl RustTarget {
    /// Calls the function with `input`: a sync one on a blocking thread, an
    /// async one on the runtime. The outer error is the task's panic or
    /// cancellation, the inner one the function's own `Err`.
    pub(crate) async fn call(
        self,
        input: Input,
    ) -> Result<Result<Output, String>, tokio::task::JoinError> {
        match self {
            RustTarget::Sync(f) => tokio::task::spawn_blocking(move || f(&input)).await,
            RustTarget::Async(f) => tokio::spawn(f(input)).await,
        }
    }
}

/// The registered Rust targets and checks.
#[derive(Clone, Default)]
pub struct Registry {
    pub(crate) targets: BTreeMap<String, RustTarget>,
    pub(crate) checks: BTreeMap<String, CheckFn>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("targets", &self.targets.keys().collect::<Vec<_>>())
            .field("checks", &self.checks.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Registry {
    /// Registers a synchronous target. It runs on a blocking thread, so it may
    /// do CPU work or blocking I/O.
    pub fn target<F, O, E>(&mut self, name: &str, f: F)
    where
        F: Fn(&Input) -> Result<O, E> + Send + Sync + 'static,
        O: Into<Output>,
        E: Display,
    {
        let f: SyncTarget =
            Arc::new(move |input: &Input| f(input).map(Into::into).map_err(|e| e.to_string()));
        self.targets.insert(name.to_string(), RustTarget::Sync(f));
    }

    /// Registers an async target. It runs on tribunal's shared runtime,
    /// concurrently with every other selected trial.
    pub fn async_target<F, Fut, O, E>(&mut self, name: &str, f: F)
    where
        F: Fn(Input) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, E>> + Send + 'static,
        O: Into<Output>,
        E: Display,
    {
        let f = Arc::new(f);
        let wrapped: AsyncTarget = Arc::new(move |input: Input| {
            let f = Arc::clone(&f);
            Box::pin(async move { f(input).await.map(Into::into).map_err(|e| e.to_string()) })
        });
        self.targets
            .insert(name.to_string(), RustTarget::Async(wrapped));
    }

    /// Registers a named check, used in YAML as `- rust: name`.
    pub fn check<F, R>(&mut self, name: &str, f: F)
    where
        F: Fn(&CheckInput<'_>) -> R + Send + Sync + 'static,
        R: IntoCheckOutcome,
    {
        let f: CheckFn = Arc::new(move |input: &CheckInput<'_>| f(input).into_outcome());
        self.checks.insert(name.to_string(), f);
    }

    /// The registered target names.
    pub fn target_names(&self) -> Vec<String> {
        self.targets.keys().cloned().collect()
    }

    /// The registered check names.
    pub fn check_names(&self) -> Vec<String> {
        self.checks.keys().cloned().collect()
    }
}

/// The message of a panic payload.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}
