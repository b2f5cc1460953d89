//! Turning token usage into dollars.
//!
//! A built-in table covers common models; `prices:` in `tribunal.yaml` and a
//! named provider's `price:` override it. Model names match by longest prefix,
//! so `gpt-4.1-mini` also prices `gpt-4.1-mini-2025-04-14`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::verdict::Usage;

/// US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// Per million input (prompt) tokens.
    pub input_per_mtok: f64,
    /// Per million output (completion) tokens.
    pub output_per_mtok: f64,
}

impl Price {
    /// The cost of a call's usage.
    pub fn cost(&self, usage: &Usage) -> f64 {
        (usage.input_tokens as f64 * self.input_per_mtok
            + usage.output_tokens as f64 * self.output_per_mtok)
            / 1_000_000.0
    }

    /// The cost of a call's usage answered through a provider batch: both
    /// OpenAI's Batch API and Anthropic's Message Batches bill
    /// [`BATCH_DISCOUNT`] of the price.
    pub fn batch_cost(&self, usage: &Usage) -> f64 {
        self.cost(usage) * BATCH_DISCOUNT
    }
}

/// The share of the price a provider batch bills (50%).
pub const BATCH_DISCOUNT: f64 = 0.5;

const BUILT_IN: &[(&str, f64, f64)] = &[
    ("gpt-4.1", 2.0, 8.0),
    ("gpt-4.1-mini", 0.4, 1.6),
    ("gpt-4.1-nano", 0.1, 0.4),
    ("gpt-4o", 2.5, 10.0),
    ("gpt-4o-mini", 0.15, 0.6),
    ("o3", 2.0, 8.0),
    ("o4-mini", 1.1, 4.4),
    ("claude-opus-4", 15.0, 75.0),
    ("claude-sonnet-4", 3.0, 15.0),
    ("claude-3-7-sonnet", 3.0, 15.0),
    ("claude-3-5-haiku", 0.8, 4.0),
    ("claude-haiku-4-5", 1.0, 5.0),
];

/// A price table: built-in prices plus overrides.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PriceTable {
    overrides: BTreeMap<String, Price>,
}

impl PriceTable {
    /// The built-in table with `overrides` on top.
    pub fn new(overrides: BTreeMap<String, Price>) -> Self {
        PriceTable { overrides }
    }

    /// The price of a model: the longest matching prefix among the
    /// overrides, else among the built-in prices.
    pub fn lookup(&self, model: &str) -> Option<Price> {
        let over = self
            .overrides
            .iter()
            .filter(|(k, _)| model.starts_with(k.as_str()))
            .max_by_key(|(k, _)| k.len())
            .map(|(_, p)| *p);
        over.or_else(|| {
            BUILT_IN
                .iter()
                .filter(|(k, _, _)| model.starts_with(k))
                .max_by_key(|(k, _, _)| k.len())
                .map(|(_, i, o)| Price {
                    input_per_mtok: *i,
                    output_per_mtok: *o,
                })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins_and_overrides_beat_built_ins() {
        let t = PriceTable::new(BTreeMap::from([(
            "gpt-4.1".to_string(),
            Price {
                input_per_mtok: 9.0,
                output_per_mtok: 9.0,
            },
        )]));
        assert_eq!(
            t.lookup("gpt-4.1-mini-2025").map(|p| p.input_per_mtok),
            Some(9.0)
        );
        let plain = PriceTable::default();
        assert_eq!(
            plain.lookup("gpt-4.1-mini-2025").map(|p| p.input_per_mtok),
            Some(0.4)
        );
        assert_eq!(plain.lookup("llama3"), None);
        let usage = Usage {
            input_tokens: 1_000_000,
            output_tokens: 500_000,
        };
        let p = plain.lookup("gpt-4.1-mini").expect("priced");
        assert!((p.cost(&usage) - 1.2).abs() < 1e-9);
        assert!((p.batch_cost(&usage) - 0.6).abs() < 1e-9);
    }
}
