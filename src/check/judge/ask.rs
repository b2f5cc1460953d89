//! Asking one judge for one sample: the request, retries on unparseable
//! answers, and what each answer cost.

use serde_json::{Value, json};

use super::KIND;
use super::parse::{self, Answer, ParseError, Winner};
use super::plan::{Judge, Plan};
use super::prompt::{self, Material, Prompt, Settings};
use crate::check::CheckCx;
use crate::provider::{CallSite, ChatRequest, Message, ResponseFormat};
use crate::verdict::{CheckResult, Usage};

pub(crate) fn site(cx: &CheckCx<'_>) -> CallSite {
    CallSite {
        suite: cx.trial.suite.to_string(),
        case_id: cx.trial.case_id.to_string(),
        variant: cx.trial.variant.map(str::to_string),
        suite_dir: cx.trial.suite_dir.to_path_buf(),
    }
}

/// One answer of one judge, with every attempt it took.
pub(crate) struct Sample {
    pub judge: String,
    pub sample: u32,
    pub order: Option<&'static str>,
    pub answer: Result<Answer, String>,
    pub raw: Vec<String>,
    pub parse_errors: Vec<String>,
    pub model: String,
    pub spend: Spend,
}

impl Sample {
    pub fn evidence(&self) -> Value {
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
pub(crate) struct Spend {
    pub usage: Usage,
    pub cost: Option<f64>,
    pub calls: u32,
}

pub(crate) async fn ask(
    plan: &Plan,
    cx: &CheckCx<'_>,
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

    let site = site(cx);
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
        let response = match cx
            .services
            .providers
            .chat(&judge.spec, &request, &site)
            .await
        {
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

pub(crate) fn render(plan: &Plan, cx: &CheckCx<'_>, material: &Material) -> Result<Prompt, String> {
    let settings = Settings {
        criteria: plan.criteria.as_deref(),
        rubric: plan.rubric.clone(),
        scale: plan.scale,
        vars: Some(cx.trial.vars),
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
pub(crate) fn unusable(
    cx: &CheckCx<'_>,
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
    let mut r = CheckResult::error(KIND, cx.name, reason).with_evidence(evidence);
    apply_spend(&mut r, spend);
    Some(r)
}

pub(crate) fn total(samples: &[Sample]) -> Spend {
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
pub(crate) async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
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

pub(crate) fn apply_spend(r: &mut CheckResult, spend: &Spend) {
    if spend.calls > 0 {
        r.usage = Some(spend.usage);
        r.cost_usd = spend.cost;
    }
}
