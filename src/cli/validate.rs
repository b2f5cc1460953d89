//! `tribunal validate`: loads every suite file and the configuration
//! (`tribunal.yaml` and the environment) and reports every problem, without
//! running anything.

use std::path::Path;
use std::process::ExitCode;

use crate::config::Config;

/// What `tribunal validate` prints (problems on stderr, the summary on
/// stdout) and whether everything was valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// One line per problem, suite files first (in file order), then the
    /// configuration.
    pub problems: Vec<String>,
    /// The closing count.
    pub summary: String,
}

impl Report {
    /// Whether nothing was wrong.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Validates the project at `root`.
pub fn check(root: &Path) -> Report {
    let mut problems = Vec::new();
    let (files, cases, bad) = match crate::case::discover(&root.join("evals")) {
        Ok(files) => {
            let loaded = crate::case::load_files(root, &files, None);
            problems.extend(loaded.broken.iter().map(ToString::to_string));
            // Trial names shared across files (or by variants that sanitize
            // alike) are load errors of the run, so they are problems here too.
            let duplicates = crate::expand::expand_unique(&loaded.suites).duplicates;
            problems.extend(duplicates.iter().map(|d| d.error().to_string()));
            // A bad row of a data file is a failing trial: a problem here.
            let rows: Vec<String> = loaded
                .suites
                .iter()
                .flat_map(|s| s.bad_rows.iter().map(|r| r.error.to_string()))
                .collect();
            let bad_rows = rows.len();
            problems.extend(rows);
            let cases: usize = loaded.suites.iter().map(|s| s.cases.len()).sum();
            (
                files.len(),
                cases,
                loaded.broken.len() + duplicates.len() + bad_rows,
            )
        }
        Err(e) => {
            problems.push(e.to_string());
            (0, 0, 0)
        }
    };
    let config_problems = match Config::load(root) {
        // The quarantine list is configuration too: a broken one would stop
        // every run.
        Ok(c) => match crate::quarantine::Quarantine::load(
            &c.quarantine,
            &crate::case::display_path(root, &c.quarantine),
        ) {
            Ok(_) => 0,
            Err(errors) => {
                problems.extend(errors.iter().map(ToString::to_string));
                errors.len()
            }
        },
        Err(errors) => {
            problems.extend(errors.0.iter().map(ToString::to_string));
            errors.0.len()
        }
    };
    Report {
        summary: format!(
            "{files} suite file(s), {cases} case(s), {bad} with problems; {config_problems} configuration problem(s)"
        ),
        problems,
    }
}

/// Runs `tribunal validate`.
pub fn run(root: &Path) -> ExitCode {
    let report = check(root);
    for p in &report.problems {
        eprintln!("{p}");
    }
    println!("{}", report.summary);
    if report.ok() {
        ExitCode::SUCCESS
    } else {
        crate::exit::code(crate::exit::FAILED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for (path, text) in files {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, text).expect("write");
        }
        dir
    }

    const SUITE: &str =
        "suite: faq\ncases:\n  - id: a\n    output: hi\n    checks:\n      - contains: hi\n";

    #[test]
    fn a_valid_project_has_no_problems() {
        let p = project(&[
            ("evals/faq.yaml", SUITE),
            ("tribunal.yaml", "run: {concurrency: 2}\n"),
        ]);
        let r = check(p.path());
        assert_eq!(r.problems, Vec::<String>::new());
        assert_eq!(
            r.summary,
            "1 suite file(s), 1 case(s), 0 with problems; 0 configuration problem(s)"
        );
    }

    #[test]
    fn every_problem_of_tribunal_yaml_is_reported_with_the_suites() {
        let p = project(&[
            ("evals/faq.yaml", SUITE),
            (
                "evals/broken.yaml",
                "suite: b\ncases:\n  - id: x\n    output: y\n    checks:\n      - contians: y\n",
            ),
            (
                "tribunal.yaml",
                "provders:\n  judge: {kind: openai}\nlimits: {concurency: 4}\nrun: {trial_timeout_s: -1}\n",
            ),
        ]);
        let r = check(p.path());
        insta::assert_snapshot!(format!("{}\n{}", r.problems.join("\n"), r.summary), @r"
        evals/broken.yaml:6:9: unknown check kind `contians` (hint: did you mean `contains`?)
        tribunal.yaml:1:1: unknown section `provders` in tribunal.yaml (hint: did you mean `providers`?)
        tribunal.yaml:3:10: unknown key `concurency` in limits (hint: did you mean `concurrency`?)
        tribunal.yaml:4:24: `run.trial_timeout_s` is -1, not a positive number of seconds up to 86400 (hint: write `trial_timeout_s: 600`)
        2 suite file(s), 1 case(s), 1 with problems; 3 configuration problem(s)
        ");
    }

    #[test]
    fn a_broken_quarantine_list_is_a_configuration_problem() {
        let p = project(&[
            ("evals/faq.yaml", SUITE),
            (
                "evals/quarantine.yaml",
                "quarantine:\n  - case: faq::a\n    reason: flaky\n    owner: me\n    expires: soon\n",
            ),
        ]);
        let r = check(p.path());
        insta::assert_snapshot!(format!("{}\n{}", r.problems.join("\n"), r.summary), @r"
        evals/quarantine.yaml:5:14: `expires: soon` is not a date (hint: write the last day the entry holds as `YYYY-MM-DD`, such as `2027-01-31`)
        1 suite file(s), 1 case(s), 0 with problems; 1 configuration problem(s)
        ");
    }
}
