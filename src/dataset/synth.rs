//! The two LLM generators: requests written for ground truths
//! (`tribunal generate truth`) and user inputs written for dimension tuples
//! (`tribunal generate dimensions`). Both render a template per request,
//! send it through the [`Generator`] (the provider layer, with cassettes),
//! reject answers that are not usable requests, drop near-duplicates
//! ([`super::dedupe`]) and return drafts in the draft contract
//! (`docs/datasets.md`); nothing is written here.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::dedupe;
use super::dimensions::{Tuple, tuple_id, tuple_tags};
use super::generator::Generator;
use super::truth::{Dialect, Truth, features};
use crate::case::Dimension;

/// The shipped template of `tribunal generate dimensions` (`--template`
/// replaces it). Variables: `dimensions` (a list of `{name, value,
/// description}`, in the suite's order), `tuple` (`{name: value}`), `id`
/// (the tuple's id), `suite`, `suite_description` (empty when none),
/// `sample` (0-based) of `k`, `style` and `persona` (empty unless given).
pub const DIMENSIONS_TEMPLATE: &str = r#"You are helping to build an evaluation set for {{ suite_description or suite }}. Write one realistic message that a user would send to it, matching every one of these dimensions:
{% for d in dimensions %}
- {{ d.name }}: {{ d.value }} ({{ d.description }})
{%- endfor %}
{% if k > 1 %}
This is message {{ sample + 1 }} of {{ k }} for these dimensions: make it different from the others.
{% endif %}
Write only the user's message, in their own words, as they would type it: no quotes, no labels, no explanation."#;

/// One generated draft, in the draft file's shape (see `docs/datasets.md`).
#[derive(Debug, Clone, PartialEq)]
pub struct Made {
    /// The draft id (`<truth id>-<n>`, `<tuple id>-<n>`).
    pub id: String,
    /// The request.
    pub input: String,
    /// The truth it was written for, when there is one.
    pub expected: Option<Value>,
    /// Tags: the truth's features, or the tuple's `dimension:value`s.
    pub tags: Vec<String>,
    /// Where it came from: `source`, `generator`, `row` or `tuple`, `sample`.
    pub provenance: Value,
    /// Flags for the reviewer (`round-trip-failed`).
    pub flags: Vec<String>,
}

/// What a generation produced.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// The drafts kept, in generation order.
    pub drafts: Vec<Made>,
    /// One line per near-duplicate dropped.
    pub dropped: Vec<String>,
    /// One message per request that produced no usable answer, naming the
    /// truth row or tuple; any of them means nothing is written.
    pub rejected: Vec<String>,
    /// Requests sent (replayed or called).
    pub requests: usize,
}

/// How many requests and how they vary.
#[derive(Debug, Clone)]
pub struct Variety {
    /// Requests per truth or tuple.
    pub k: u32,
    /// Styles, one per request in turn (`style` in the template).
    pub styles: Vec<String>,
    /// Personas, one per request in turn (`persona` in the template).
    pub personas: Vec<String>,
    /// The near-duplicate threshold (token-set Jaccard).
    pub threshold: f64,
}

struct Job {
    /// The draft id.
    id: String,
    /// Where the request comes from, for messages (`file:line: truth `x``).
    origin: String,
    /// The cassette folder's kind part (`generate-truth`).
    kind: &'static str,
    /// The row or tuple id (the cassette folder's variant part).
    row: String,
    prompt: Result<String, String>,
    sample: u32,
    truth: Option<String>,
    expected: Option<Value>,
    tags: Vec<String>,
    provenance: Map<String, Value>,
}

fn pick(list: &[String], i: u32) -> String {
    if list.is_empty() {
        String::new()
    } else {
        list[i as usize % list.len()].clone()
    }
}

/// Requests for ground truths: `k` per truth, each with the truth as
/// `expected` and its features as tags.
pub async fn from_truths(
    generator: &Generator,
    truths: &[Truth],
    dialect: Option<Dialect>,
    variety: &Variety,
) -> Outcome {
    let mut jobs = Vec::new();
    for t in truths {
        let d = dialect.unwrap_or_else(|| Dialect::detect(&t.value));
        let tags = features(&t.value, d);
        for s in 0..variety.k {
            let style = pick(&variety.styles, s);
            let persona = pick(&variety.personas, s);
            let context = json!({
                "truth": t.value,
                "truth_text": t.text(),
                "kind": d.kind(),
                "dialect": d.as_str(),
                "features": tags,
                "id": t.id,
                "row": t.row,
                "sample": s,
                "k": variety.k,
                "style": style,
                "persona": persona,
            });
            let mut provenance = Map::new();
            provenance.insert("source".into(), json!("truth"));
            provenance.insert("row".into(), json!({"file": t.file, "line": t.line}));
            provenance.insert("truth_id".into(), json!(t.id));
            provenance.insert("sample".into(), json!(s));
            if !style.is_empty() {
                provenance.insert("style".into(), json!(style));
            }
            if !persona.is_empty() {
                provenance.insert("persona".into(), json!(persona));
            }
            jobs.push(Job {
                id: format!("{}-{}", t.id, s + 1),
                origin: format!("{}: truth `{}`", t.at(), t.id),
                kind: "generate-truth",
                row: t.id.clone(),
                prompt: generator.render(&context),
                sample: s,
                truth: Some(t.text()),
                expected: Some(t.value.clone()),
                tags: tags.clone(),
                provenance,
            });
        }
    }
    run(generator, jobs, variety).await
}

/// Inputs for dimension tuples: `k` per tuple, tagged with the tuple.
pub async fn from_dimensions(
    generator: &Generator,
    dims: &[Dimension],
    tuples: &[Tuple],
    suite_description: Option<&str>,
    seed: Option<u64>,
    variety: &Variety,
) -> Outcome {
    let mut jobs = Vec::new();
    for t in tuples {
        let id = tuple_id(dims, t);
        let described: Vec<Value> = dims
            .iter()
            .zip(t)
            .map(|(d, &v)| json!({"name": d.name, "value": d.values[v].0, "description": d.values[v].1}))
            .collect();
        let tuple: Map<String, Value> = dims
            .iter()
            .zip(t)
            .map(|(d, &v)| (d.name.clone(), json!(d.values[v].0)))
            .collect();
        let location = dims
            .first()
            .map(|d| d.location.to_string())
            .unwrap_or_default();
        for s in 0..variety.k {
            let context = json!({
                "dimensions": described,
                "tuple": tuple,
                "id": id,
                "suite": generator.suite,
                "suite_description": suite_description.unwrap_or(""),
                "sample": s,
                "k": variety.k,
                "style": pick(&variety.styles, s),
                "persona": pick(&variety.personas, s),
            });
            let mut provenance = Map::new();
            provenance.insert("source".into(), json!("dimensions"));
            provenance.insert("tuple".into(), Value::Object(tuple.clone()));
            if let Some(seed) = seed {
                provenance.insert("seed".into(), json!(seed));
            }
            provenance.insert("sample".into(), json!(s));
            jobs.push(Job {
                id: format!("{id}-{}", s + 1),
                origin: format!("{location}: tuple `{id}`"),
                kind: "generate-dimensions",
                row: id.clone(),
                prompt: generator.render(&context),
                sample: s,
                truth: None,
                expected: None,
                tags: tuple_tags(dims, t),
                provenance,
            });
        }
    }
    run(generator, jobs, variety).await
}

async fn run(generator: &Generator, jobs: Vec<Job>, variety: &Variety) -> Outcome {
    let generator = Arc::new(generator.clone());
    let total = jobs.len();
    // One task per request (the provider layer limits how many are in
    // flight); answers are put back in job order, so the output never
    // depends on which answer came first.
    let mut set = tokio::task::JoinSet::new();
    let mut index_of = std::collections::HashMap::new();
    for (i, job) in jobs.iter().enumerate() {
        let generator = Arc::clone(&generator);
        let (kind, row, prompt, sample, truth) = (
            job.kind,
            job.row.clone(),
            job.prompt.clone(),
            job.sample,
            job.truth.clone(),
        );
        let handle = set.spawn(async move {
            match prompt {
                Ok(prompt) => {
                    generator
                        .ask(kind, &row, &prompt, sample, truth.as_deref())
                        .await
                }
                Err(e) => Err(e),
            }
        });
        index_of.insert(handle.id(), i);
    }
    let mut answers: Vec<Option<Result<super::generator::Answer, String>>> = vec![None; total];
    while let Some(done) = set.join_next_with_id().await {
        let (id, answer) = match done {
            Ok((id, answer)) => (id, answer),
            Err(e) => (e.id(), Err(format!("the request stopped: {e}"))),
        };
        if let Some(&i) = index_of.get(&id) {
            answers[i] = Some(answer);
        }
    }
    let results = jobs.into_iter().zip(answers).map(|(job, answer)| {
        let answer = answer.unwrap_or_else(|| Err("the request did not finish".into()));
        (job, answer)
    });
    let mut outcome = Outcome {
        requests: total,
        ..Outcome::default()
    };
    let mut made = Vec::new();
    for (job, answer) in results {
        match answer {
            Err(e) => {
                outcome
                    .rejected
                    .push(format!("{}, request {}: {e}", job.origin, job.sample + 1))
            }
            Ok(a) => {
                let mut provenance = job.provenance;
                provenance.insert(
                    "generator".into(),
                    json!({
                        "provider": generator.spec,
                        "model": a.model,
                        "template_sha256": generator.template_sha256,
                    }),
                );
                made.push(Made {
                    id: job.id,
                    input: a.text,
                    expected: job.expected,
                    tags: job.tags,
                    provenance: Value::Object(provenance),
                    flags: Vec::new(),
                });
            }
        }
    }
    let texts: Vec<&str> = made.iter().map(|m| m.input.as_str()).collect();
    let (kept, dropped) = dedupe::dedupe(&texts, variety.threshold);
    for d in &dropped {
        outcome.dropped.push(format!(
            "dropped `{}`: a near-duplicate of `{}` (token-set Jaccard {:.2} ≥ {:.2}): {}",
            made[d.index].id,
            made[d.of].id,
            d.similarity,
            variety.threshold,
            crate::text::flat(&made[d.index].input, 80)
        ));
    }
    outcome.drafts = kept.into_iter().map(|i| made[i].clone()).collect();
    outcome
}
