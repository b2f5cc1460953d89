//! Saving generated drafts into a suite's draft file with the draft
//! module's merge ([`super::merge_drafts`]): a draft whose id is already in
//! the file keeps the file's version (hand edits survive a rerun), a draft
//! whose id is already a case of the suite (accepted) is not drafted again,
//! and the rest are added; the file is written atomically, sorted by id, so
//! a rerun that generates the same drafts leaves it byte for byte as it
//! was. With `CI=true` nothing is written: the file must already hold every
//! draft the generation produced, else it is an error.

use std::collections::BTreeSet;
use std::path::Path;

use super::synth::Made;
use super::{Draft, DraftInput, Provenance, merge_drafts, read_drafts_if_exists, write_drafts};

/// A generated draft in the draft file's type.
pub fn to_draft(d: &Made) -> Result<Draft, String> {
    let provenance: Provenance = serde_json::from_value(d.provenance.clone()).map_err(|e| {
        format!(
            "draft `{}` has a provenance tribunal cannot write: {e}",
            d.id
        )
    })?;
    let mut draft = Draft::new(d.id.clone(), DraftInput::Text(d.input.clone()), provenance);
    draft.expected = d.expected.clone();
    draft.tags = d.tags.clone();
    draft.flags = d.flags.clone();
    Ok(draft)
}

/// Saves `drafts` into the draft file `path` (`shown` in messages);
/// `accepted` are the suite's case ids. Returns the line saying what happened.
pub fn save(
    path: &Path,
    shown: &str,
    accepted: &BTreeSet<String>,
    drafts: &[Made],
    ci: bool,
) -> Result<String, String> {
    let existing = read_drafts_if_exists(path, shown).map_err(|e| e.to_string())?;
    let mut new = Vec::new();
    let mut skipped = 0usize;
    for d in drafts {
        if accepted.contains(&d.id) {
            skipped += 1;
        } else {
            new.push(to_draft(d)?);
        }
    }
    let in_file = existing.len();
    let merged = merge_drafts(existing, new);
    let summary = format!(
        "{} added, {} already there (kept as they are), {} already accepted into the suite",
        crate::text::count(merged.added.len(), "draft"),
        merged.kept.len(),
        skipped
    );
    if merged.added.is_empty() && path.exists() {
        return Ok(format!(
            "{shown} is up to date: {summary}; {} in the file\n",
            crate::text::count(in_file, "draft")
        ));
    }
    if ci {
        return Err(format!(
            "{shown} does not hold every draft this generation produces ({summary}), and with CI=true nothing is written (hint: run the command without CI=true and commit the file)"
        ));
    }
    write_drafts(path, shown, &merged.drafts).map_err(|e| e.to_string())?;
    Ok(format!(
        "wrote {shown}: {summary}; {} in the file\n",
        crate::text::count(merged.drafts.len(), "draft")
    ))
}
