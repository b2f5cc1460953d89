//! Agreement between annotators: when several experts label the same
//! trials, each in their own label file (`fixtures/labels/<suite>.yaml`
//! and `fixtures/labels/<suite>.<annotator>.yaml`, written by
//! `tribunal review --own-labels`), Cohen's κ for each pair of files over
//! the outputs both labelled (the same case, variant and output hash), with
//! every disagreement and both critiques.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::align::Confusion;
use crate::labels::{LabelFile, labels_path};

/// One disagreement between two annotators.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Disagreement {
    /// `case[::variant]`.
    pub trial: String,
    /// The first file's verdict and critique.
    pub a: (String, String),
    /// The second file's.
    pub b: (String, String),
}

/// Agreement of two label files.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pair {
    /// The first file's annotators (its `labeller`s).
    pub a: String,
    /// The second file's.
    pub b: String,
    /// Outputs both labelled.
    pub n: u64,
    /// Share of equal verdicts.
    pub agreement: Option<f64>,
    /// Cohen's κ.
    pub kappa: Option<f64>,
    /// Every disagreement.
    pub disagreements: Vec<Disagreement>,
}

fn who(f: &LabelFile, fallback: &str) -> String {
    let mut names: Vec<&str> = f.labels.iter().map(|l| l.labeller.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    if names.is_empty() {
        fallback.to_string()
    } else {
        names.join(", ")
    }
}

/// κ and disagreements for every pair of `files` (`(name, file)`).
pub fn pairwise(files: &[(String, LabelFile)]) -> Vec<Pair> {
    let mut out = Vec::new();
    for (i, (na, fa)) in files.iter().enumerate() {
        for (nb, fb) in &files[i + 1..] {
            let mut c = Confusion::default();
            let mut disagreements = Vec::new();
            for la in &fa.labels {
                let Some(lb) = fb.labels.iter().find(|lb| {
                    lb.case == la.case
                        && lb.variant == la.variant
                        && lb.check == la.check
                        && lb.output_sha256.eq_ignore_ascii_case(&la.output_sha256)
                }) else {
                    continue;
                };
                c.add(la.verdict.is_pass(), lb.verdict.is_pass());
                if la.verdict != lb.verdict {
                    disagreements.push(Disagreement {
                        trial: match &la.variant {
                            Some(v) => format!("{}::{v}", la.case),
                            None => la.case.clone(),
                        },
                        a: (la.verdict.as_str().into(), la.critique.clone()),
                        b: (lb.verdict.as_str().into(), lb.critique.clone()),
                    });
                }
            }
            out.push(Pair {
                a: who(fa, na),
                b: who(fb, nb),
                n: c.n(),
                agreement: c.accuracy(),
                kappa: c.kappa(),
                disagreements,
            });
        }
    }
    out
}

/// An annotator's own label file for `suite`: `<suite>.<name>.yaml` beside
/// the suite's label file (`name` made safe for a file name).
pub fn own_path(root: &Path, suite: &str, custom: Option<&str>, annotator: &str) -> PathBuf {
    let main = labels_path(root, suite, custom);
    let stem = main
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    main.with_file_name(format!(
        "{stem}.{}.yaml",
        crate::fsutil::name_part(&annotator.to_lowercase())
    ))
}

/// The suite's label file and every annotator's own file beside it, by
/// file name; unreadable files are reported.
pub fn label_files(main: &Path, suite: &str) -> (Vec<(String, LabelFile)>, Vec<String>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let stem = main
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut paths = vec![main.to_path_buf()];
    if let Some(dir) = main.parent()
        && let Ok(rd) = std::fs::read_dir(dir)
    {
        let mut own: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    n.starts_with(&format!("{stem}."))
                        && n.ends_with(".yaml")
                        && n.matches('.').count() == 2
                })
            })
            .collect();
        own.sort();
        paths.extend(own);
    }
    for p in paths {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match LabelFile::load(&p) {
            Ok(Some(f)) if f.suite == suite => files.push((name, f)),
            Ok(Some(_)) | Ok(None) => {}
            Err(e) => errors.push(e.to_string()),
        }
    }
    (files, errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::{HumanVerdict, Label, output_hash};

    fn file(who: &str, verdicts: &[(&str, HumanVerdict)]) -> LabelFile {
        let mut f = LabelFile::new("s");
        for (case, v) in verdicts {
            f.upsert(Label {
                case: (*case).into(),
                variant: None,
                check: None,
                verdict: *v,
                score: None,
                critique: format!("{who} on {case}"),
                tags: Vec::new(),
                few_shot: false,
                labeller: who.into(),
                date: "2026-12-02".into(),
                output_sha256: output_hash(case),
                input: None,
                output: (*case).into(),
            });
        }
        f
    }

    #[test]
    fn kappa_per_pair_over_shared_outputs() {
        use HumanVerdict::{Fail, Pass};
        let a = file(
            "ana",
            &[
                ("1", Pass),
                ("2", Pass),
                ("3", Fail),
                ("4", Fail),
                ("5", Pass),
            ],
        );
        let b = file(
            "ben",
            &[
                ("1", Pass),
                ("2", Fail),
                ("3", Fail),
                ("4", Fail),
                ("6", Pass),
            ],
        );
        let pairs = pairwise(&[("s.yaml".into(), a), ("s.ben.yaml".into(), b)]);
        assert_eq!(pairs.len(), 1);
        let p = &pairs[0];
        assert_eq!((p.a.as_str(), p.b.as_str(), p.n), ("ana", "ben", 4));
        // Shared 1-4: tp=1 (1), fn=1 (2), tn=2 (3, 4). po = 3/4; p_a = 1/2,
        // p_b = 1/4: pe = 1/8 + 3/8 = 1/2; κ = (3/4 - 1/2) / (1/2) = 0.5.
        assert!((p.agreement.expect("n > 0") - 0.75).abs() < 1e-12);
        assert!((p.kappa.expect("defined") - 0.5).abs() < 1e-12);
        assert_eq!(
            p.disagreements,
            [Disagreement {
                trial: "2".into(),
                a: ("pass".into(), "ana on 2".into()),
                b: ("fail".into(), "ben on 2".into()),
            }]
        );
    }

    #[test]
    fn own_files_sit_beside_the_suites_and_are_found() {
        let dir = tempfile::tempdir().expect("tempdir");
        let own = own_path(dir.path(), "s", None, "Ben Ng");
        assert!(
            own.ends_with("fixtures/labels/s.ben~20~ng.yaml"),
            "{}",
            own.display()
        );
        let main = labels_path(dir.path(), "s", None);
        file("ana", &[("1", HumanVerdict::Pass)])
            .save(&main)
            .expect("save");
        file("ben", &[("1", HumanVerdict::Fail)])
            .save(&own)
            .expect("save");
        std::fs::write(main.with_file_name("s.drafts.jsonl"), "").expect("write");
        let (files, errors) = label_files(&main, "s");
        assert!(errors.is_empty(), "{errors:?}");
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["s.yaml", "s.ben~20~ng.yaml"]);
    }
}
