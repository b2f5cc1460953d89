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
//! ```
//!
//! The program runs in the suite's folder. A non-zero exit, a timeout or
//! undecodable output is an `error` verdict showing stderr.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use super::prompt::{render, template_context};
use super::{TargetContext, TargetError};
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
}

fn default_timeout() -> f64 {
    60.0
}

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
    let mut child = cmd
        .spawn()
        .map_err(|e| TargetError(format!("cannot run `{}`: {e}", params.program)))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())
            .await
            .map_err(|e| TargetError(format!("cannot write stdin of `{}`: {e}", params.program)))?;
        drop(pipe);
    }
    let limit = Duration::from_secs_f64(params.timeout_s.max(0.001));
    let out = match tokio::time::timeout(limit, child.wait_with_output()).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => return Err(TargetError(format!("`{}` failed: {e}", params.program))),
        Err(_) => {
            return Err(TargetError(format!(
                "`{}` did not finish within {}s and was killed",
                params.program, params.timeout_s
            )));
        }
    };
    if !out.status.success() {
        return Err(TargetError(format!(
            "`{}` exited with {}; stderr:\n{}",
            params.program,
            out.status,
            tail(&out.stderr)
        )));
    }
    let text = String::from_utf8(out.stdout).map_err(|_| {
        TargetError(format!(
            "`{}` wrote stdout that is not UTF-8",
            params.program
        ))
    })?;
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
