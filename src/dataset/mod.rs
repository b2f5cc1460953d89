//! Datasets: the cases a suite does not spell out in YAML. Drafts
//! ([`drafts`]) are cases written by `tribunal generate` beside a suite,
//! `evals/<suite>.drafts.jsonl`, that are not trials until
//! `tribunal generate accept` promotes them (see `docs/datasets.md`).

pub mod accept;
pub mod drafts;
pub mod logs;
pub mod pii;

pub use drafts::{
    Draft, DraftError, DraftInput, Generator, MAX_DRAFT_LINE_BYTES, MAX_DRAFTS, MAX_DRAFTS_BYTES,
    Merged, Provenance, RowRef, Source, drafts_path, merge_drafts, merge_into_file, read_drafts,
    read_drafts_if_exists, render_drafts, write_drafts,
};

pub mod dedupe;
pub mod dimensions;
pub mod drafts_out;
pub mod generator;
pub mod roundtrip;
pub mod synth;
pub mod truth;
