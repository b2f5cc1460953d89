//! The shape of a suite file as serde reads it, before validation: the
//! loader (`resolve.rs`) turns these into the [`Suite`](super::Suite) model.
//! Every struct denies unknown keys, so a misspelled key is an error with a
//! suggestion rather than a silently ignored setting.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::verdict::Gate;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSuite {
    #[serde(default)]
    pub(super) suite: Option<String>,
    #[serde(default)]
    pub(super) description: Option<String>,
    #[serde(default)]
    pub(super) defaults: RawDefaults,
    #[serde(default)]
    pub(super) targets: BTreeMap<String, Value>,
    #[serde(default)]
    pub(super) variants: Vec<Value>,
    #[serde(default)]
    pub(super) matrix: Option<Map<String, Value>>,
    #[serde(default)]
    pub(super) judge: Option<Value>,
    #[serde(default)]
    pub(super) cases: Vec<Value>,
    /// Cases read from data files (`case/files.rs`).
    #[serde(default)]
    pub(super) cases_from: Option<Value>,
    /// `dimensions:` for `tribunal generate dimensions` (validated in resolve.rs).
    #[serde(default)]
    pub(super) dimensions: Option<Map<String, Value>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDefaults {
    #[serde(default)]
    pub(super) target: Option<Value>,
    #[serde(default)]
    pub(super) tags: Vec<String>,
    #[serde(default)]
    pub(super) vars: Map<String, Value>,
    #[serde(default)]
    pub(super) checks: Vec<Value>,
    #[serde(default)]
    pub(super) threshold: Option<f64>,
    #[serde(default)]
    pub(super) gate: Option<Gate>,
    #[serde(default)]
    pub(super) repeat: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawVariant {
    pub(super) id: String,
    #[serde(default)]
    pub(super) vars: Map<String, Value>,
    #[serde(default)]
    pub(super) target: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCase {
    pub(super) id: String,
    #[serde(default)]
    pub(super) description: Option<String>,
    #[serde(default)]
    pub(super) tags: Vec<String>,
    #[serde(default)]
    pub(super) input: Option<Value>,
    #[serde(default)]
    pub(super) vars: Map<String, Value>,
    #[serde(default)]
    pub(super) expected: Option<Value>,
    #[serde(default)]
    pub(super) output: Option<Value>,
    #[serde(default)]
    pub(super) target: Option<Value>,
    #[serde(default)]
    pub(super) checks: Vec<Value>,
    #[serde(default)]
    pub(super) threshold: Option<f64>,
    #[serde(default)]
    pub(super) gate: Option<Gate>,
    #[serde(default)]
    pub(super) skip: Option<Value>,
    #[serde(default)]
    pub(super) variants: Option<Vec<String>>,
    #[serde(default)]
    pub(super) turns: Option<Value>,
    #[serde(default)]
    pub(super) simulated_user: Option<Value>,
    #[serde(default)]
    pub(super) repeat: Option<Value>,
}
