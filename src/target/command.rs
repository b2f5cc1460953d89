//! `command` targets: run a program; its stdout is the output.
//!
//! ```yaml
//! target:
//!   command:
//!     program: python3
//!     args: ["bots/answer.py", "--question", "{{ input }}"]   # templated
//!     stdin: "{{ input | tojson }}"                           # optional, templated
//!     env: {MODE: eval}                                       # optional
//!     timeout_s: 30                                           # default 60
//!     json: true                                              # parse stdout as JSON
//!     max_output_bytes: 8388608                               # default 8 MiB of stdout
//!     output: "$.answer"                                      # optional: JSON path of the output
//!     tool_calls: "$.tool_calls"                              # optional: JSON path of its tool calls
//!     conversation: "$.messages"                              # optional: JSON path of its conversation
//! ```
//!
//! With `output`, `tool_calls` or `conversation`, stdout is read as JSON and
//! these paths select the output text (a string as it is, other JSON as its
//! compact text and as JSON), the tool calls and the conversation (see
//! [`super::shapes`]).
//!
//! The program runs in the suite's folder, as the leader of its own process
//! group. A non-zero exit, a timeout or undecodable output is an `error`
//! verdict showing stderr (its last 2000 characters). On timeout the whole
//! group is killed (the program and whatever it started). When the program
//! exits while a background child still holds its stdout, the output written
//! so far is used after a 200 ms grace and the group is killed. Stdout past
//! `max_output_bytes` is an error showing its start, its size and a SHA-256.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use super::prompt::{render, template_context};
use super::{TargetContext, TargetError};
use crate::provider::capped::{Capped, DEFAULT_MAX_OUTPUT_BYTES};
use crate::verdict::Output;

/// The parameters of a `command` target.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandTarget {
    /// The program (looked up on `PATH`, or relative to the suite folder).
    pub program: String,
    /// Arguments, each a template.
    #[serde(default)]
    pub args: Vec<String>,
    /// Standard input, a template.
    #[serde(default)]
    pub stdin: Option<String>,
    /// Extra environment variables.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Seconds before the program is killed.
    #[serde(default = "default_timeout")]
    pub timeout_s: f64,
    /// Parse stdout as JSON.
    #[serde(default)]
    pub json: bool,
    /// The most stdout kept, in bytes (default 8 MiB); more is an error
    /// that shows the start, the size and a hash.
    #[serde(default = "default_max_output")]
    pub max_output_bytes: usize,
    /// JSON path of the output in stdout (stdout is then read as JSON).
    #[serde(default)]
    pub output: Option<String>,
    /// JSON path of the tool calls the program reports.
    #[serde(default)]
    pub tool_calls: Option<String>,
    /// JSON path of the conversation the program reports.
    #[serde(default)]
    pub conversation: Option<String>,
}

fn default_timeout() -> f64 {
    60.0
}

fn default_max_output() -> usize {
    DEFAULT_MAX_OUTPUT_BYTES
}

/// How much of stderr is kept: its last 64 KiB (errors come last).
const STDERR_TAIL_BYTES: usize = 64 << 10;

/// How long output pipes may stay open after the program exits (a
/// background child still holding them) before its process group is killed.
const PIPE_GRACE: Duration = Duration::from_millis(200);

fn tail(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let s = s.trim();
    let n = s.chars().count();
    if n > 2000 {
        s.chars().skip(n - 2000).collect()
    } else {
        s.to_string()
    }
}

/// Reads a pipe to its end into a [`Capped`] (stdout: the head is kept).
async fn read_head(mut pipe: impl AsyncRead + Unpin, limit: usize) -> Capped {
    let mut c = Capped::new(limit);
    let mut buf = vec![0u8; 64 << 10];
    while let Ok(n) = pipe.read(&mut buf).await {
        if n == 0 {
            break;
        }
        c.push(&buf[..n]);
    }
    c
}

/// Reads a pipe to its end, keeping the last `limit` bytes (stderr).
async fn read_tail(mut pipe: impl AsyncRead + Unpin, limit: usize) -> Vec<u8> {
    let mut kept: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    while let Ok(n) = pipe.read(&mut buf).await {
        if n == 0 {
            break;
        }
        kept.extend_from_slice(&buf[..n]);
        if kept.len() > 2 * limit {
            kept.drain(..kept.len() - limit);
        }
    }
    if kept.len() > limit {
        kept.drain(..kept.len() - limit);
    }
    kept
}

/// Kills the program's whole process group (it was started as its leader,
/// so the group id is its pid, known even after it was reaped).
fn kill_group(child: &mut tokio::process::Child, pid: Option<u32>) {
    #[cfg(unix)]
    if let Some(pid) = pid.and_then(|id| rustix::process::Pid::from_raw(id as i32)) {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    #[cfg(not(unix))]
    let _ = pid;
    let _ = child.start_kill();
}

/// Calls a `command` target.
pub async fn call(params: &CommandTarget, ctx: &TargetContext<'_>) -> Result<Output, TargetError> {
    let context = template_context(ctx);
    let mut args = Vec::new();
    for (i, a) in params.args.iter().enumerate() {
        args.push(render(a, &context, &format!("args[{i}]"))?);
    }
    let stdin = match &params.stdin {
        Some(s) => Some(render(s, &context, "stdin")?),
        None => None,
    };
    let mut cmd = tokio::process::Command::new(&params.program);
    cmd.args(&args)
        .envs(&params.env)
        .current_dir(ctx.suite_dir)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // Its own process group, so that a timeout kills what it started too.
    #[cfg(unix)]
    cmd.process_group(0);
    let mut child = cmd
        .spawn()
        .map_err(|e| TargetError(format!("cannot run `{}`: {e}", params.program)))?;
    let pid = child.id();
    let limit = Duration::try_from_secs_f64(params.timeout_s.clamp(0.001, super::MAX_TIMEOUT_S))
        .unwrap_or(Duration::from_secs(60));
    let deadline = tokio::time::Instant::now() + limit;
    let stdin_task = match (stdin, child.stdin.take()) {
        (Some(text), Some(mut pipe)) => Some(tokio::spawn(async move {
            let r = pipe.write_all(text.as_bytes()).await;
            drop(pipe);
            r
        })),
        _ => None,
    };
    let (Some(out_pipe), Some(err_pipe)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(TargetError(format!(
            "cannot read the output of `{}`",
            params.program
        )));
    };
    let max_out = params.max_output_bytes.max(1);
    let mut stdout = tokio::spawn(read_head(out_pipe, max_out));
    let mut stderr = tokio::spawn(read_tail(err_pipe, STDERR_TAIL_BYTES));
    let status = match tokio::time::timeout_at(deadline, child.wait()).await {
        Ok(Ok(status)) => status,
        Ok(Err(e)) => {
            kill_group(&mut child, pid);
            return Err(TargetError(format!("`{}` failed: {e}", params.program)));
        }
        Err(_) => {
            kill_group(&mut child, pid);
            return Err(TargetError(format!(
                "`{}` did not finish within {}s; it and every process it started were killed",
                params.program, params.timeout_s
            )));
        }
    };
    // The program has exited. Its pipes close when the last holder exits; a
    // background child that keeps them open gets a short grace, then its
    // group is killed and what was written so far is the output.
    let grace =
        (tokio::time::Instant::now() + PIPE_GRACE).min(deadline.max(tokio::time::Instant::now()));
    let out = match tokio::time::timeout_at(grace, &mut stdout).await {
        Ok(r) => r,
        Err(_) => {
            kill_group(&mut child, pid);
            stdout.await
        }
    };
    let err = match tokio::time::timeout_at(grace, &mut stderr).await {
        Ok(r) => r,
        Err(_) => {
            kill_group(&mut child, pid);
            stderr.await
        }
    };
    // Whatever it left behind in its group does not outlive the case.
    kill_group(&mut child, pid);
    let (Ok(out), Ok(err)) = (out, err) else {
        return Err(TargetError(format!(
            "reading the output of `{}` failed",
            params.program
        )));
    };
    if let Some(task) = stdin_task
        && let Ok(Err(e)) = task.await
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(TargetError(format!(
            "cannot write stdin of `{}`: {e}",
            params.program
        )));
    }
    if !status.success() {
        return Err(TargetError(format!(
            "`{}` exited with {status}; stderr:\n{}",
            params.program,
            tail(&err)
        )));
    }
    if out.is_truncated() {
        return Err(TargetError(format!(
            "`{}` wrote more than the {} bytes kept of stdout (`max_output_bytes`): {}; stdout starts:\n{}",
            params.program,
            max_out,
            out.note(),
            String::from_utf8_lossy(&out.head)
                .chars()
                .take(2000)
                .collect::<String>()
        )));
    }
    let text = String::from_utf8(out.head).map_err(|_| {
        TargetError(format!(
            "`{}` wrote stdout that is not UTF-8",
            params.program
        ))
    })?;
    if params.output.is_some() || params.tool_calls.is_some() || params.conversation.is_some() {
        return structured_stdout(params, &text);
    }
    let json = if params.json {
        Some(serde_json::from_str(text.trim()).map_err(|e| {
            TargetError(format!(
                "`{}` was expected to print JSON ({e}); stdout:\n{}",
                params.program,
                tail(text.as_bytes())
            ))
        })?)
    } else {
        None
    };
    Ok(Output {
        text: text.trim_end_matches('\n').to_string(),
        json,
        ..Output::default()
    })
}

/// Stdout read as JSON, with the output, tool calls and conversation at
/// the target's paths.
fn structured_stdout(params: &CommandTarget, text: &str) -> Result<Output, TargetError> {
    let who = format!("`{}`", params.program);
    let body: serde_json::Value = serde_json::from_str(text.trim()).map_err(|e| {
        TargetError(format!(
            "{who} was expected to print JSON for `output`/`tool_calls`/`conversation` ({e}); stdout:\n{}",
            tail(text.as_bytes())
        ))
    })?;
    let mut out = match &params.output {
        None => Output {
            text: text.trim_end_matches('\n').to_string(),
            json: Some(body.clone()),
            ..Output::default()
        },
        Some(path) => {
            let found = super::http::json_path(&body, path).map_err(|e| {
                TargetError(format!(
                    "{who}: {e} in {}",
                    crate::provider::openai::snippet(body.to_string().as_bytes())
                ))
            })?;
            match found {
                serde_json::Value::String(s) => Output::text(s.clone()),
                other => Output::json(other.clone()),
            }
        }
    };
    super::shapes::fill(
        &mut out,
        &body,
        params.tool_calls.as_deref(),
        params.conversation.as_deref(),
        &who,
    )?;
    Ok(out)
}
