//! The three-way verdict every dialect returns.

use serde_json::{Value, json};

/// How an `equivalent` or `not_equivalent` verdict was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// The two inputs are identical as parsed.
    Identical,
    /// Identical after canonicalization (a proof).
    Canonical,
    /// Exhaustive evaluation over every critical-value combination (a proof
    /// of equivalence; a concrete counterexample otherwise).
    Exhaustive,
    /// Sampled search: a counterexample found, or nothing (never a proof).
    Search,
    /// Differential execution on generated databases: a counterexample
    /// found, or none in N databases (evidence, not proof).
    Differential,
    /// Structural comparison of JSON values (exact under the options).
    Structural,
}

impl Method {
    /// Stable name used in evidence, reports and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Identical => "identical",
            Method::Canonical => "canonical",
            Method::Exhaustive => "exhaustive_critical_values",
            Method::Search => "search",
            Method::Differential => "differential_execution",
            Method::Structural => "structural",
        }
    }
    /// Whether an `equivalent` verdict by this method is a proof.
    pub fn proves(self) -> bool {
        !matches!(self, Method::Search | Method::Differential)
    }
}

/// The verdict of an equivalence check.
#[derive(Debug, Clone, PartialEq)]
pub enum Equivalence {
    /// No input tells them apart.
    Equivalent {
        /// How this was established.
        method: Method,
        /// What was done (for example "exhaustive over 64 profiles").
        detail: String,
    },
    /// A concrete, minimized input tells them apart.
    NotEquivalent {
        /// How the counterexample was found.
        method: Method,
        /// The counterexample, for humans.
        counterexample: String,
        /// The counterexample, structured.
        evidence: Value,
    },
    /// Inputs tell them apart, but every difference found needs only
    /// conditions the check tolerates (`tolerate:`): a pass that keeps the
    /// tolerated counterexample as evidence, never silently `equivalent`.
    EquivalentUnderTolerances {
        /// How the search was made.
        method: Method,
        /// What the tolerated counterexample needs.
        classes: super::tolerance::Classes,
        /// The tolerated counterexample, for humans.
        counterexample: String,
        /// The tolerated counterexample, structured.
        evidence: Value,
    },
    /// Could not decide; never a guess.
    Unknown {
        /// Why (unsupported construct, dialect not runnable, budget).
        reason: String,
        /// How many candidate inputs were tried.
        tried: u64,
    },
}

impl Equivalence {
    /// `equivalent`, `not_equivalent` or `unknown`.
    pub fn label(&self) -> &'static str {
        match self {
            Equivalence::Equivalent { .. } => "equivalent",
            Equivalence::NotEquivalent { .. } => "not_equivalent",
            Equivalence::EquivalentUnderTolerances { .. } => "equivalent_under_tolerances",
            Equivalence::Unknown { .. } => "unknown",
        }
    }
    /// The method, when there is one.
    pub fn method(&self) -> Option<Method> {
        match self {
            Equivalence::Equivalent { method, .. }
            | Equivalence::NotEquivalent { method, .. }
            | Equivalence::EquivalentUnderTolerances { method, .. } => Some(*method),
            Equivalence::Unknown { .. } => None,
        }
    }
    /// A one-paragraph human explanation.
    pub fn reason(&self) -> String {
        match self {
            Equivalence::Equivalent { method, detail } => {
                if method.proves() {
                    format!("equivalent ({}): {detail}", method.as_str())
                } else {
                    format!(
                        "no counterexample found ({}): {detail}; this is evidence, not a proof",
                        method.as_str()
                    )
                }
            }
            Equivalence::NotEquivalent {
                method,
                counterexample,
                ..
            } => format!("not equivalent ({}): {counterexample}", method.as_str()),
            Equivalence::EquivalentUnderTolerances {
                method,
                classes,
                counterexample,
                ..
            } => format!(
                "equivalent under tolerances ({}): every difference found needs only tolerated conditions ({classes}): {counterexample}",
                method.as_str()
            ),
            Equivalence::Unknown { reason, tried } => {
                format!("unknown after {tried} candidate(s): {reason}")
            }
        }
    }
    /// Structured evidence: verdict, method, counterexample or reason.
    pub fn evidence(&self) -> Value {
        match self {
            Equivalence::Equivalent { method, detail } => json!({
                "verdict": self.label(),
                "method": method.as_str(),
                "proof": method.proves(),
                "detail": detail,
            }),
            Equivalence::NotEquivalent {
                method,
                counterexample,
                evidence,
            } => json!({
                "verdict": self.label(),
                "method": method.as_str(),
                "counterexample": evidence,
                "explanation": counterexample,
            }),
            Equivalence::EquivalentUnderTolerances {
                method,
                classes,
                counterexample,
                evidence,
            } => json!({
                "verdict": self.label(),
                "method": method.as_str(),
                "tolerated": classes.names(),
                "counterexample": evidence,
                "explanation": counterexample,
            }),
            Equivalence::Unknown { reason, tried } => json!({
                "verdict": self.label(),
                "reason": reason,
                "tried": tried,
            }),
        }
    }
}
