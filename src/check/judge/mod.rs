//! `judge`: LLM judges that can be trusted.
//!
//! Modes: `pass_fail` (verdict plus a detailed critique), `score` (a discrete
//! scale, reasoning first), `reference` (a score against the case's
//! `expected`), and `pairwise` (the output against a baseline, asked in both
//! orders). Any mode can sample several votes or ask a panel of judges; the
//! majority decides and the split is recorded in the evidence.
//!
//! The judge never passes a case it could not decide: an unparseable answer,
//! a missing or out-of-range field, a refusal or a provider failure is an
//! `error` result with the raw answer in the reason and the evidence. See
//! `docs/judges.md` for the YAML.

pub mod bias;
mod params;
pub mod parse;
pub mod prompt;

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Value, json};

pub use params::{Baseline, JudgeParams, Mode, Rubric, SuiteJudge};
use parse::{Answer, ParseError, Winner};
use prompt::{Example, Material, Prompt, Settings};

use crate::check::{CheckContext, expected_text};
use crate::labels::{LabelFile, labels_path};
use crate::provider::{CallSite, ChatRequest, Message, ResponseFormat};
use crate::verdict::{CheckResult, Outcome, Usage};

const KIND: &str = "judge";

/// The most votes (samples times panel members) one check may ask for.
pub const MAX_CALLS: u32 = 64;

/// One judge of a panel: the provider spec and the model it is asked for.
#[derive(Debug, Clone, PartialEq)]
struct Judge {
    spec: String,
    model: String,
}

/// Everything resolved before the first call.
struct Plan {
    mode: Mode,
    scale: (i64, i64),
    min_score: f64,
    judges: Vec<Judge>,
    votes: u32,
    temperature: f64,
    max_tokens: Option<u32>,
    structured: bool,
    retries: u32,
    template: String,
    material: Material,
    settings_criteria: Option<String>,
    settings_rubric: Option<String>,
}

/// Runs a `judge` check on the case output.
pub async fn run(params: &JudgeParams, ctx: &CheckContext<'_>) -> CheckResult {
    let plan = match plan(params, ctx).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            return CheckResult::new(
                KIND,
                ctx.name,
                Outcome::Skipped,
                "skipped: this trial is the pairwise baseline",
            );
        }
        Err(e) => return CheckResult::error(KIND, ctx.name, e),
    };
    let mut result = if plan.mode == Mode::Pairwise {
        run_pairwise(&plan, ctx).await
    } else {
        run_direct(&plan, ctx).await
    };
    result.warnings.extend(self_enhancement(&plan, ctx));
    result
}

async fn plan(params: &JudgeParams, ctx: &CheckContext<'_>) -> Result<Option<Plan>, String> {
    let suite = SuiteJudge::parse(ctx.judge_defaults)?;
    let p = params.merged(&suite.defaults);
    let mode = p.mode.unwrap_or_default();
    let scale = p.scale.unwrap_or((1, 5));
    if scale.0 >= scale.1 {
        return Err(format!(
            "`scale: [{}, {}]`: the first number must be below the second",
            scale.0, scale.1
        ));
    }
    let span = (scale.1 - scale.0) as f64;
    let min_score = p
        .min_score
        .unwrap_or_else(|| scale.0 as f64 + (0.75 * span).ceil());
    if min_score < scale.0 as f64 || min_score > scale.1 as f64 {
        return Err(format!(
            "`min_score: {min_score}` is outside the scale {}–{}",
            scale.0, scale.1
        ));
    }
    let judges = judges(&p)?;
    let votes = p.votes.unwrap_or(1);
    if votes == 0 {
        return Err("`votes` must be at least 1".into());
    }
    let calls = votes.saturating_mul(judges.len() as u32);
    if calls > MAX_CALLS {
        return Err(format!(
            "{calls} judge samples per check (votes × panel) is over the limit of {MAX_CALLS}"
        ));
    }
    let many = calls > 1;
    let temperature = p.temperature.unwrap_or(if many { 1.0 } else { 0.0 });
    let template = match (&p.template, &p.template_file) {
        (Some(_), Some(_)) => {
            return Err("give `template` or `template_file`, not both".into());
        }
        (Some(t), None) => t.clone(),
        (None, Some(f)) => {
            let path = ctx.suite_dir.join(f);
            std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read judge template {}: {e}", path.display()))?
        }
        (None, None) => prompt::builtin_template(mode),
    };
    let expected = match mode {
        Mode::Reference => Some(expected_text(ctx.expected.ok_or_else(|| {
            "`mode: reference` grades against the case's `expected`, and this case has none"
                .to_string()
        })?)),
        _ => ctx.expected.map(expected_text),
    };
    let examples = match p.few_shot.unwrap_or(0) {
        0 => Vec::new(),
        n => few_shot(ctx, &suite, n as usize)?,
    };
    let material = Material {
        input: input_text(ctx.input),
        output: ctx.output.text.clone(),
        expected,
        other: None,
        examples,
    };
    let mut plan = Plan {
        mode,
        scale,
        min_score,
        judges,
        votes,
        temperature,
        max_tokens: p.max_tokens,
        structured: p.structured.unwrap_or(true),
        retries: p.retry_on_parse_failure.unwrap_or(0),
        template,
        material,
        settings_criteria: p.criteria.clone(),
        settings_rubric: p.rubric.as_ref().map(Rubric::render),
    };
    if mode == Mode::Pairwise {
        match baseline(&p, ctx).await {
            BaselineText::Found(text) => plan.material.other = Some(text),
            BaselineText::IsSelf => return Ok(None),
            BaselineText::Missing(why) => return Err(why),
        }
    }
    Ok(Some(plan))
}

fn judges(p: &JudgeParams) -> Result<Vec<Judge>, String> {
    let model_of = |spec: &str| -> String {
        spec.split_once(':')
            .map(|(_, m)| m.to_string())
            .unwrap_or_default()
    };
    match (&p.panel, &p.provider) {
        (Some(panel), _) => {
            if panel.is_empty() {
                return Err("`panel` lists no judges".into());
            }
            Ok(panel
                .iter()
                .map(|spec| Judge {
                    spec: spec.clone(),
                    model: model_of(spec),
                })
                .collect())
        }
        (None, Some(spec)) => Ok(vec![Judge {
            spec: spec.clone(),
            model: p.model.clone().unwrap_or_else(|| model_of(spec)),
        }]),
        (None, None) => Err(
            "no judge provider: set `provider:` on the check or in the suite's `judge:` block (for example `provider: openai:gpt-4.1-mini`)"
                .into(),
        ),
    }
}

fn input_text(input: &Value) -> String {
    match input {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Up to `n` labelled examples for the judge, never from the case being
/// judged (leave-one-out), alternating pass and fail so that neither verdict
/// dominates.
fn few_shot(ctx: &CheckContext<'_>, suite: &SuiteJudge, n: usize) -> Result<Vec<Example>, String> {
    let path = labels_path(&ctx.env.root, ctx.suite, suite.labels.as_deref());
    let file = LabelFile::load_cached(&path).map_err(|e| e.to_string())?;
    let Some(file) = file else {
        return Err(format!(
            "`few_shot` asks for labelled examples but {} does not exist (create it with `tribunal label --suite {}`)",
            path.display(),
            ctx.suite
        ));
    };
    let usable = |pass: bool| {
        file.labels
            .iter()
            .filter(move |l| l.case != ctx.case_id && !l.critique.trim().is_empty())
            .filter(move |l| l.verdict.is_pass() == pass)
    };
    let mut passes = usable(true);
    let mut fails = usable(false);
    let mut out = Vec::new();
    // Fail examples first: they carry the most telling critiques.
    while out.len() < n {
        let mut took = false;
        for next in [fails.next(), passes.next()].into_iter().flatten() {
            if out.len() < n {
                out.push(Example {
                    input: next.input.clone().unwrap_or_default(),
                    output: next.output.clone(),
                    verdict: match next.score {
                        Some(s) => format!("{} (score {s})", next.verdict.as_str()),
                        None => next.verdict.as_str().to_string(),
                    },
                    critique: next.critique.clone(),
                });
                took = true;
            }
        }
        if !took {
            break;
        }
    }
    Ok(out)
}

enum BaselineText {
    Found(String),
    IsSelf,
    Missing(String),
}

async fn baseline(p: &JudgeParams, ctx: &CheckContext<'_>) -> BaselineText {
    let Some(b) = &p.baseline else {
        return BaselineText::Missing(
            "`mode: pairwise` needs a `baseline:` (`{variant: <id>}`, `{output: <text>}` or `{file: <path>}`)"
                .into(),
        );
    };
    let given = [b.variant.is_some(), b.output.is_some(), b.file.is_some()];
    if given.iter().filter(|g| **g).count() != 1 {
        return BaselineText::Missing(
            "`baseline` takes exactly one of `variant`, `output` or `file`".into(),
        );
    }
    if let Some(text) = &b.output {
        return BaselineText::Found(text.clone());
    }
    if let Some(f) = &b.file {
        let path = ctx.suite_dir.join(f);
        return match std::fs::read_to_string(&path) {
            Ok(t) => BaselineText::Found(t),
            Err(e) => BaselineText::Missing(format!(
                "cannot read the baseline output {}: {e}",
                path.display()
            )),
        };
    }
    let Some(variant) = &b.variant else {
        return BaselineText::Missing("`baseline` is empty".into());
    };
    if ctx.variant == Some(variant.as_str()) {
        return BaselineText::IsSelf;
    }
    match ctx
        .env
        .output_of(ctx.suite, ctx.case_id, Some(variant))
        .await
    {
        Some(o) => BaselineText::Found(o.text),
        None => BaselineText::Missing(format!(
            "no output from the baseline variant `{variant}` of this case (no such variant, or its target failed)"
        )),
    }
}

fn site(ctx: &CheckContext<'_>) -> CallSite {
    CallSite {
        suite: ctx.suite.to_string(),
        case_id: ctx.case_id.to_string(),
        variant: ctx.variant.map(str::to_string),
        suite_dir: ctx.suite_dir.to_path_buf(),
    }
}

/// One answer of one judge, with every attempt it took.
struct Sample {
    judge: String,
    sample: u32,
    order: Option<&'static str>,
    answer: Result<Answer, String>,
    raw: Vec<String>,
    parse_errors: Vec<String>,
    model: String,
    spend: Spend,
}

impl Sample {
    fn evidence(&self) -> Value {
        let mut v = json!({
            "judge": self.judge,
            "sample": self.sample,
            "attempts": self.raw.len(),
            "raw": self.raw.last().cloned().unwrap_or_default(),
        });
        if let Some(o) = self.order {
            v["order"] = json!(o);
        }
        if !self.model.is_empty() {
            v["model"] = json!(self.model);
        }
        match &self.answer {
            Ok(Answer::PassFail { pass, .. }) => {
                v["verdict"] = json!(if *pass { "pass" } else { "fail" })
            }
            Ok(Answer::Score { score, .. }) => v["score"] = json!(score),
            Ok(Answer::Pairwise { winner, .. }) => {
                v["winner"] = json!(match winner {
                    Winner::A => "A",
                    Winner::B => "B",
                    Winner::Tie => "tie",
                })
            }
            Err(e) => v["error"] = json!(e),
        }
        if !self.parse_errors.is_empty() {
            v["parse_errors"] = json!(self.parse_errors);
        }
        v
    }
}

/// Totals across calls.
#[derive(Default, Clone, Copy)]
struct Spend {
    usage: Usage,
    cost: Option<f64>,
    calls: u32,
}

async fn ask(
    plan: &Plan,
    ctx: &CheckContext<'_>,
    judge: &Judge,
    prompt: &Prompt,
    sample: u32,
    order: Option<&'static str>,
) -> Sample {
    let mut out = Sample {
        judge: judge.spec.clone(),
        sample,
        order,
        answer: Err(String::new()),
        raw: Vec::new(),
        parse_errors: Vec::new(),
        model: String::new(),
        spend: Spend::default(),
    };

    let site = site(ctx);
    for attempt in 0..=plan.retries {
        let request = ChatRequest {
            model: judge.model.clone(),
            messages: vec![
                Message::system(prompt.system.clone()),
                Message::user(prompt.user.clone()),
            ],
            temperature: Some(plan.temperature),
            max_tokens: plan.max_tokens,
            response_format: plan.structured.then(|| ResponseFormat::JsonSchema {
                name: format!("judge_{}", plan.mode.as_str()),
                schema: prompt::answer_schema(plan.mode, plan.scale),
            }),
            // Retries are distinct samples so that a recorded retry replays.
            sample: sample + attempt * plan.votes * 2,
            ..Default::default()
        };
        let response = match ctx.env.providers.chat(&judge.spec, &request, &site).await {
            Ok(r) => r,
            Err(e) => {
                out.answer = Err(format!("judge call to `{}` failed: {e}", judge.spec));
                return out;
            }
        };
        out.spend.calls += 1;
        out.spend.usage.add(response.usage);
        if let Some(c) = response.cost_usd {
            out.spend.cost = Some(out.spend.cost.unwrap_or(0.0) + c);
        }
        out.model = response.model.clone();
        out.raw.push(match &response.json {
            Some(j) if response.text.trim().is_empty() => j.to_string(),
            _ => response.text.clone(),
        });
        match parse::parse(plan.mode, plan.scale, &response) {
            Ok(a) => {
                out.answer = Ok(a);
                return out;
            }
            Err(e) => {
                let refusal = e == ParseError::Refusal;
                out.parse_errors.push(e.to_string());
                out.answer = Err(e.to_string());
                if refusal {
                    return out;
                }
            }
        }
    }
    out
}

fn render(plan: &Plan, ctx: &CheckContext<'_>, material: &Material) -> Result<Prompt, String> {
    let settings = Settings {
        criteria: plan.settings_criteria.as_deref(),
        rubric: plan.settings_rubric.clone(),
        scale: plan.scale,
        vars: Some(ctx.vars),
    };
    prompt::render(plan.mode, &plan.template, &settings, material)
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}… ({} chars in all)", text.chars().count())
    }
}

/// An error result for the first unusable sample, with every raw answer.
fn unusable(
    ctx: &CheckContext<'_>,
    samples: &[Sample],
    evidence: Value,
    spend: &Spend,
) -> Option<CheckResult> {
    let bad = samples.iter().find(|s| s.answer.is_err())?;
    let why = bad.answer.as_ref().err().cloned().unwrap_or_default();
    let raw = bad.raw.last().map(String::as_str).unwrap_or("");
    let reason = if raw.is_empty() {
        why
    } else {
        format!("{why}; raw answer: {}", shorten(raw, 600))
    };
    let mut r = CheckResult::error(KIND, ctx.name, reason).with_evidence(evidence);
    apply_spend(&mut r, spend);
    Some(r)
}

fn total(samples: &[Sample]) -> Spend {
    let mut t = Spend::default();
    for s in samples {
        t.calls += s.spend.calls;
        t.usage.add(s.spend.usage);
        if let Some(c) = s.spend.cost {
            t.cost = Some(t.cost.unwrap_or(0.0) + c);
        }
    }
    t
}

/// Polls every future concurrently; outputs in input order. (Votes and both
/// pairwise orders are independent calls: their latencies overlap.)
async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut done: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (slot, f) in done.iter_mut().zip(futures.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    done.into_iter().flatten().collect()
}

fn apply_spend(r: &mut CheckResult, spend: &Spend) {
    if spend.calls > 0 {
        r.usage = Some(spend.usage);
        r.cost_usd = spend.cost;
    }
}

async fn run_direct(plan: &Plan, ctx: &CheckContext<'_>) -> CheckResult {
    let prompt = match render(plan, ctx, &plan.material) {
        Ok(p) => p,
        Err(e) => return CheckResult::error(KIND, ctx.name, e),
    };
    let mut calls = Vec::new();
    for judge in &plan.judges {
        for i in 0..plan.votes {
            calls.push(ask(plan, ctx, judge, &prompt, i, None));
        }
    }
    let samples = join_all(calls).await;
    let spend = total(&samples);
    let mut evidence = json!({
        "mode": plan.mode.as_str(),
        "votes": samples.iter().map(Sample::evidence).collect::<Vec<_>>(),
        "output_chars": plan.material.output.chars().count(),
    });
    if let Some(r) = unusable(ctx, &samples, evidence.clone(), &spend) {
        return r;
    }
    let answers: Vec<&Answer> = samples
        .iter()
        .filter_map(|s| s.answer.as_ref().ok())
        .collect();
    let n = answers.len();
    let mut warnings = Vec::new();
    let mut result = match plan.mode {
        Mode::PassFail => {
            let passes = answers
                .iter()
                .filter(|a| matches!(a, Answer::PassFail { pass: true, .. }))
                .count();
            let fails = n - passes;
            evidence["split"] = json!({"pass": passes, "fail": fails});
            evidence["agreement"] = json!(passes.max(fails) as f64 / n as f64);
            if passes == fails {
                let mut r = CheckResult::error(
                    KIND,
                    ctx.name,
                    format!("the judge votes are tied: {passes} pass, {fails} fail"),
                )
                .with_evidence(evidence);
                apply_spend(&mut r, &spend);
                return r;
            }
            let pass = passes > fails;
            if passes > 0 && fails > 0 {
                warnings.push(format!("split vote: {passes} pass, {fails} fail"));
            }
            let critique = answers
                .iter()
                .find(|a| matches!(a, Answer::PassFail { pass: p, .. } if *p == pass))
                .map(|a| a.critique().to_string())
                .unwrap_or_default();
            let reason = if n == 1 {
                format!("the judge said {}", if pass { "pass" } else { "fail" })
            } else {
                format!(
                    "{} of {n} judge votes said {}",
                    passes.max(fails),
                    if pass { "pass" } else { "fail" }
                )
            };
            CheckResult::from_bool(KIND, ctx.name, pass, reason).with_critique(critique)
        }
        Mode::Score | Mode::Reference | Mode::Pairwise => {
            let mut scores: Vec<i64> = answers
                .iter()
                .filter_map(|a| match a {
                    Answer::Score { score, .. } => Some(*score),
                    _ => None,
                })
                .collect();
            scores.sort_unstable();
            let Some(&median) = scores.get((scores.len().saturating_sub(1)) / 2) else {
                return CheckResult::error(KIND, ctx.name, "the judge gave no score");
            };
            let mut counts = serde_json::Map::new();
            for s in &scores {
                let c = counts.entry(s.to_string()).or_insert(json!(0));
                *c = json!(c.as_u64().unwrap_or(0) + 1);
            }
            evidence["split"] = Value::Object(counts);
            let spread = scores.last().copied().unwrap_or(median) - scores[0];
            if spread >= 2 {
                warnings.push(format!(
                    "the judge votes disagree: scores from {} to {}",
                    scores[0],
                    scores.last().copied().unwrap_or(median)
                ));
            }
            let pass = median as f64 + 1e-9 >= plan.min_score;
            let critique = answers
                .iter()
                .find(|a| matches!(a, Answer::Score { score, .. } if *score == median))
                .map(|a| a.critique().to_string())
                .unwrap_or_default();
            let what = if n == 1 { "score" } else { "median score" };
            let reason = format!(
                "judge {what} {median} on {}–{} ({} {})",
                plan.scale.0,
                plan.scale.1,
                if pass { "meets" } else { "below" },
                fmt_num(plan.min_score)
            );
            let norm = (median - plan.scale.0) as f64 / (plan.scale.1 - plan.scale.0) as f64;
            CheckResult::from_bool(KIND, ctx.name, pass, reason)
                .with_score(norm)
                .with_label(format!("{median}/{}", plan.scale.1))
                .with_critique(critique)
        }
    };
    result.evidence = Some(evidence);
    result.warnings = warnings;
    apply_spend(&mut result, &spend);
    result
}

fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// The pairwise label of one sample from its two orders. In the first order
/// the trial's output is A; in the second it is B.
fn combine(first: Winner, second: Winner) -> &'static str {
    match (first, second) {
        (Winner::A, Winner::B) => "a",
        (Winner::B, Winner::A) => "b",
        (Winner::Tie, Winner::Tie) => "tie",
        _ => "inconsistent",
    }
}

async fn run_pairwise(plan: &Plan, ctx: &CheckContext<'_>) -> CheckResult {
    let other = plan.material.other.clone().unwrap_or_default();
    let forward = plan.material.clone();
    let mut backward = plan.material.clone();
    backward.output = other;
    backward.other = Some(plan.material.output.clone());
    let prompts = match (render(plan, ctx, &forward), render(plan, ctx, &backward)) {
        (Ok(f), Ok(b)) => (f, b),
        (Err(e), _) | (_, Err(e)) => return CheckResult::error(KIND, ctx.name, e),
    };
    let mut calls = Vec::new();
    for judge in &plan.judges {
        for i in 0..plan.votes {
            calls.push(ask(
                plan,
                ctx,
                judge,
                &prompts.0,
                2 * i,
                Some("output_first"),
            ));
            calls.push(ask(
                plan,
                ctx,
                judge,
                &prompts.1,
                2 * i + 1,
                Some("baseline_first"),
            ));
        }
    }
    let samples = join_all(calls).await;
    let spend = total(&samples);
    let mut evidence = json!({
        "mode": "pairwise",
        "votes": samples.iter().map(Sample::evidence).collect::<Vec<_>>(),
        "output_chars": plan.material.output.chars().count(),
        "baseline_chars": plan.material.other.as_deref().map(|o| o.chars().count()),
    });
    if let Some(r) = unusable(ctx, &samples, evidence.clone(), &spend) {
        return r;
    }
    let mut labels: Vec<&'static str> = Vec::new();
    let mut critiques: Vec<String> = Vec::new();
    for pair in samples.chunks(2) {
        if let [f, b] = pair
            && let (
                Ok(Answer::Pairwise {
                    winner: wf,
                    reasoning: rf,
                }),
                Ok(Answer::Pairwise {
                    winner: wb,
                    reasoning: rb,
                }),
            ) = (&f.answer, &b.answer)
        {
            labels.push(combine(*wf, *wb));
            critiques.push(format!(
                "Output shown first: {rf}\n\nBaseline shown first: {rb}"
            ));
        }
    }
    let n = labels.len();
    let mut counts = serde_json::Map::new();
    for l in &labels {
        let c = counts.entry(l.to_string()).or_insert(json!(0));
        *c = json!(c.as_u64().unwrap_or(0) + 1);
    }
    evidence["split"] = Value::Object(counts.clone());
    let top = ["a", "b", "tie", "inconsistent"]
        .into_iter()
        .map(|l| (l, labels.iter().filter(|x| **x == l).count()))
        .max_by_key(|(_, c)| *c);
    let Some((label, count)) = top.filter(|(_, c)| 2 * c > n) else {
        let mut r = CheckResult::error(
            KIND,
            ctx.name,
            format!(
                "no majority among the pairwise judge votes: {}",
                Value::Object(counts)
            ),
        )
        .with_evidence(evidence);
        apply_spend(&mut r, &spend);
        return r;
    };
    let mut warnings = Vec::new();
    if count < n {
        warnings.push(format!("split vote: {count} of {n} votes gave `{label}`"));
    }
    let (outcome, score, reason) = match label {
        "a" => (
            Outcome::Pass,
            Some(1.0),
            "the judge preferred this output in both orders",
        ),
        "tie" => (
            Outcome::Pass,
            Some(0.5),
            "the judge found the outputs equally good in both orders",
        ),
        "b" => (
            Outcome::Fail,
            Some(0.0),
            "the judge preferred the baseline in both orders",
        ),
        _ => {
            warnings.push(
                "position bias: the judge's preference changed when the outputs were swapped"
                    .into(),
            );
            (
                Outcome::Fail,
                None,
                "inconsistent: the judge's preference depended on the order of the outputs",
            )
        }
    };
    let critique = labels
        .iter()
        .position(|l| *l == label)
        .and_then(|i| critiques.get(i).cloned())
        .unwrap_or_default();
    let mut r = CheckResult::new(KIND, ctx.name, outcome, reason)
        .with_label(label)
        .with_critique(critique)
        .with_evidence(evidence);
    r.score = score;
    r.warnings = warnings;
    apply_spend(&mut r, &spend);
    r
}

static DATE_SUFFIX: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(-\d{4}-?\d{2}-?\d{2}|-latest|-\d{3,4})$").ok());

/// A model name reduced for comparison: lower case, no provider prefix, no
/// date or `-latest` suffix.
pub fn model_key(model: &str) -> String {
    let m = model.trim().to_ascii_lowercase();
    let m = m.rsplit(['/', ':']).next().unwrap_or(&m).to_string();
    match DATE_SUFFIX.as_ref() {
        Some(re) => re.replace(&m, "").into_owned(),
        None => m,
    }
}

/// Warnings when a judge model is the model that produced the output.
fn self_enhancement(plan: &Plan, ctx: &CheckContext<'_>) -> Vec<String> {
    let Some(target) = ctx.output.model.as_deref().filter(|m| !m.trim().is_empty()) else {
        return Vec::new();
    };
    let t = model_key(target);
    let mut out = Vec::new();
    for j in &plan.judges {
        let judge_model = if j.model.is_empty() {
            &j.spec
        } else {
            &j.model
        };
        if model_key(judge_model) == t {
            out.push(format!(
                "self-enhancement risk: the judge `{}` is the model that produced the output (`{target}`); LLM judges favour their own outputs, use a different judge model",
                j.spec
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests;
