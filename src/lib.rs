//! tribunal: LLM evaluations as a `cargo test` regression suite.
//!
//! You write eval cases in YAML under `evals/`. Each case calls a *target*,
//! the system under test (a Rust function you register, a prompt sent to a
//! model, a command, an HTTP endpoint or a fixed output), and runs *checks*
//! on what comes back: code assertions, AST/SQL equivalence and LLM judges.
//! Every case is one libtest trial, and its verdict is snapshotted in insta's
//! format: a changed verdict fails the build and is reviewed with
//! `cargo insta review`. Model calls are recorded to cassettes under
//! `fixtures/` and replayed in CI, with no key and no network.
//!
//! # Setting up
//!
//! The eval suite is a test target without libtest's harness:
//!
//! ```toml
//! # Cargo.toml
//! [dev-dependencies]
//! tribunal = "0.1"
//!
//! [[test]]
//! name = "evals"
//! harness = false
//! ```
//!
//! `tests/evals.rs` registers the Rust targets and checks the YAML names and
//! hands over to [`Harness::main`]:
//!
//! ```no_run
//! use tribunal::{CheckInput, Harness, Input};
//!
//! fn support_bot(input: &Input) -> Result<String, String> {
//!     Ok(format!("Refunds are accepted within 30 days. ({})", input.text()))
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     Harness::new()
//!         .target("support_bot", support_bot)
//!         .check("no_pii", |c: &CheckInput<'_>| !c.output.text.contains('@'))
//!         .main()
//! }
//! ```
//!
//! `cargo test --test evals` then runs every case; `cargo test refund`,
//! `--exact`, `--list` and `cargo nextest run` work as for any test.
//!
//! # A complete run
//!
//! This example builds a project in a temporary folder, runs it without
//! printing, and reads the outcome, the way a tool embedding tribunal does:
//!
//! ```
//! use tribunal::{Arguments, Harness, Input, Outcome, SnapshotSettings, UpdateMode};
//!
//! let root = tempfile::tempdir()?;
//! std::fs::create_dir_all(root.path().join("evals"))?;
//! std::fs::write(
//!     root.path().join("evals/support.yaml"),
//!     "suite: support\n\
//!      defaults: {target: support_bot}\n\
//!      cases:\n  \
//!        - id: refund\n    \
//!          input: How long do I have for a refund?\n    \
//!          checks: [{contains: 30 days}]\n",
//! )?;
//! std::fs::write(root.path().join("tribunal.yaml"), "reports: {history: 'off'}\n")?;
//!
//! let run = Harness::new()
//!     .root(root.path())
//!     .target("support_bot", |i: &Input| -> Result<String, String> {
//!         Ok(format!("You have 30 days to ask: {}", i.text()))
//!     })
//!     // Write accepted snapshots directly, whatever the environment says.
//!     .snapshot_settings(SnapshotSettings::new(UpdateMode::Always, false, false))
//!     .run_quietly(&Arguments::default());
//!
//! assert_eq!(run.records.len(), 1);
//! assert_eq!(run.records[0].verdict.outcome, Outcome::Pass);
//! assert!(root.path().join("evals/snapshots/support__refund.snap").exists());
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Agents: tool calls and conversations
//!
//! A Rust target that runs an agent returns what it did besides its answer:
//! the tool calls it made, in order, and the conversation. A case whose
//! `input` is a list of messages, or a multi-turn case (`turns:`,
//! `simulated_user:`), gives the target the conversation so far through
//! [`Input::messages`]:
//!
//! ```
//! use serde_json::json;
//! use tribunal::{Input, Message, Output, Role, ToolCall};
//!
//! fn support_agent(input: &Input) -> Result<Output, String> {
//!     let mut conversation = input.messages();
//!     let question = conversation
//!         .iter()
//!         .rev()
//!         .find(|m| m.role == Role::User)
//!         .map(|m| m.content.clone())
//!         .ok_or("no user message")?;
//!     let call = ToolCall::new("get_order", json!({"id": 7})).with_id("call_1");
//!     conversation.push(Message::assistant_calls("", vec![call.clone()]));
//!     conversation.push(Message::tool_result("call_1", "get_order", "shipped"));
//!     let answer = format!("Order 7 has shipped (you asked: {question}).");
//!     conversation.push(Message::assistant(answer.clone()));
//!     Ok(Output::text(answer)
//!         .with_tool_call(call)
//!         .with_conversation(conversation)
//!         .with_finish_reason("stop"))
//! }
//!
//! let input = Input::new(
//!     json!([{"role": "user", "content": "Where is order 7?"}]),
//!     Default::default(),
//! );
//! let out = support_agent(&input).map_err(std::io::Error::other)?;
//! assert_eq!(out.tool_calls[0].name, "get_order");
//! assert_eq!(out.conversation.len(), 4);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! A `prompt` target with `tools:` and `tools_from:` runs the tool loop
//! itself. A tool mapped to a registered Rust target gets the call's
//! arguments as [`Input::value`] (and each argument as a variable); what it
//! returns is the tool result, and an `Err` goes back to the model as a
//! failed result (`error: …`, marked `is_error` for Anthropic):
//!
//! ```no_run
//! use tribunal::{Harness, Input, Output};
//!
//! fn lookup_order(input: &Input) -> Result<Output, String> {
//!     match input.value["id"].as_i64() {
//!         Some(7) => Ok(Output::json(serde_json::json!({"status": "shipped"}))),
//!         Some(id) => Err(format!("no order {id}")),
//!         None => Err("`id` is missing".into()),
//!     }
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     // evals/support.yaml:
//!     //   target:
//!     //     prompt:
//!     //       provider: openai:gpt-4.1-mini
//!     //       tools: [{name: get_order, parameters: {type: object, properties: {id: {type: integer}}}}]
//!     //       tools_from: {get_order: lookup_order}
//!     Harness::new().target("lookup_order", lookup_order).main()
//! }
//! ```
//!
//! The YAML side (tool definitions, `tool_choice`, `max_steps`, multi-turn
//! cases, `http`/`command` targets reporting an agent's calls) is in
//! `docs/tools-and-conversations.md`.
//!
//! # What is where
//!
//! - The YAML format: `docs/format.md`; checks and judges: `docs/judges.md`;
//!   providers, cassettes and `tribunal.yaml`: `docs/providers.md`; reports
//!   and gates: `docs/reports.md`; every environment variable and
//!   configuration key: `docs/configuration.md`; exit codes:
//!   `docs/exit-codes.md` and [`exit`].
//! - For agents: [`Output::with_tool_call`], [`Output::with_conversation`],
//!   [`Output::with_step`], [`ToolCall`], [`Message`], [`Role`], [`Step`],
//!   [`Input::messages`].
//! - For `tests/evals.rs`: [`Harness`], [`Input`], [`CheckInput`], [`Output`],
//!   and what a run returns: [`RunOutcome`], [`Verdict`], [`Outcome`].
//! - For a custom model client: the [`Provider`] trait with [`ChatRequest`],
//!   [`ChatResponse`], [`ProviderError`] and [`BoxFuture`], registered with
//!   [`Harness::provider`].
//! - Configuration resolved as the harness does: [`Config`],
//!   [`SnapshotSettings`].
//! - For tools over results files (`target/tribunal/last.json`): [`report`]
//!   ([`report::RunResults`], [`report::compare()`], [`report::stats`]);
//!   the variant matrix ([`report::variant_matrix`]), metrics over runs
//!   ([`report::trend`]) and error analysis ([`report::analysis`]).
//! - Judge canaries and calibrated pass rates over a run's results:
//!   [`report::canaries`] and [`report::calibration`] (`docs/canaries.md`,
//!   `docs/reports.md`).
//!
//! Modules not listed here are tribunal's internals: they are hidden from
//! this documentation, used by the `tribunal` binary and tribunal's own
//! tests, and may change in any release.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[doc(hidden)]
pub mod align;
#[doc(hidden)]
pub mod case;
#[doc(hidden)]
pub mod chat;
#[doc(hidden)]
pub mod check;
#[doc(hidden)]
pub mod ci;
#[doc(hidden)]
pub mod cli;
#[doc(hidden)]
pub mod config;
#[doc(hidden)]
pub mod dataset;
#[doc(hidden)]
pub mod datetime;
#[doc(hidden)]
pub mod diag;
pub mod exit;
#[doc(hidden)]
pub mod expand;
/// The error of a Cargo feature this build leaves out (`sql`, `history`).
pub mod features;
#[doc(hidden)]
pub mod fsutil;
#[doc(hidden)]
pub mod harness;
#[doc(hidden)]
pub mod import;
#[doc(hidden)]
pub mod labels;
#[doc(hidden)]
pub mod perturb;
#[doc(hidden)]
pub mod provider;
#[doc(hidden)]
pub mod quarantine;
#[doc(hidden)]
pub mod registry;
#[doc(hidden)]
pub mod repeat;
pub mod report;
#[doc(hidden)]
pub mod rerun;
#[doc(hidden)]
#[cfg(feature = "review")]
pub mod review;
#[doc(hidden)]
pub mod rng;
#[doc(hidden)]
pub mod run;
#[doc(hidden)]
pub mod services;
#[doc(hidden)]
pub mod snapshot;
#[doc(hidden)]
pub mod target;
#[doc(hidden)]
pub mod testing;
#[doc(hidden)]
pub mod text;
#[doc(hidden)]
pub mod verdict;
pub(crate) mod yaml_out;

pub use config::{Config, ConfigError, ConfigErrors, Env, SnapshotSettings, UpdateMode};
pub use harness::{Harness, LoadFailure, LoadFailureKind, RunOutcome};
pub use libtest_mimic::Arguments;
pub use provider::{
    BoxFuture, ChatRequest, ChatResponse, Message, Provider, ProviderError, ResponseFormat, Role,
    Tool, ToolCall, ToolChoice,
};
pub use registry::{CheckInput, Input, IntoCheckOutcome};
pub use verdict::{
    CheckResult, Decision, Evidence, Gate, Outcome, Output, Status, Step, TrialRecord, Usage,
    Verdict,
};

/// The README's Rust snippet, compiled as a doctest so it stays true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
