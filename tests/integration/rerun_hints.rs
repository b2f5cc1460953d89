//! Every message that tells the user to run something names the command for
//! the way the suite is being run: `tribunal test --root` without a Rust
//! harness, `cargo test --test evals` (or `cargo nextest run --test evals`)
//! with one. Each message is produced by a real run and snapshotted under
//! each way.

use regex::Regex;
use tribunal::Harness;
use tribunal::rerun::Rerun;

use crate::common::{TestProject, quiet_settings};

/// A prompt target whose provider is a loopback address where nothing
/// listens: no mode of this test reaches a network.
const SUITE: &str = "suite: s
cases:
  - id: ask
    input: where is my parcel?
    target:
      prompt:
        provider: local
        template: \"{{ input }}\"
    checks:
      - contains: parcel
";

const CONFIG: &str = "providers:
  local:
    kind: openai
    model: standin
    base_url: http://127.0.0.1:9/v1
    retry: {max_attempts: 1}
reports: {history: 'off'}
";

fn project() -> TestProject {
    TestProject::with(&[("evals/s.yaml", SUITE), ("tribunal.yaml", CONFIG)])
}

/// `tribunal test --root ROOT` in CI (replay: nothing is called), its
/// output normalized.
fn tribunal_test(p: &TestProject) -> String {
    let out = p
        .tribunal(&["test", "--root", &p.root_arg(), "--", "--test-threads", "1"])
        .ci(true)
        .output();
    assert_eq!(out.code, Some(101), "{}", out.text());
    p.normalize(&out.text())
}

/// The lines of `text` that hold a hint.
fn hints(text: &str) -> String {
    text.lines()
        .filter(|l| l.contains("(hint:"))
        .map(|l| l.trim())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The trial's error as the Rust harness reports it, run in this process
/// the way `way` runs it.
fn harness_error(p: &TestProject, way: Rerun) -> String {
    let run = p.run_with(Harness::new().rerun(way), quiet_settings(), &["--quiet"]);
    let record = run.records.first().expect("one trial");
    p.normalize(record.verdict.error.as_deref().expect("an error"))
}

#[test]
fn a_broken_cassette_names_the_record_command_of_each_way() {
    let p = project();
    // The miss says where the cassette belongs; a corrupt file goes there.
    let miss = tribunal_test(&p);
    let path = Regex::new(r"expected cassette \[ROOT\]/(\S+?\.yaml)")
        .expect("regex")
        .captures(&miss)
        .map(|c| c[1].to_string())
        .unwrap_or_else(|| panic!("no expected cassette in {miss}"));
    insta::assert_snapshot!("miss_under_tribunal_test", hints(&miss));

    // A folder where the cassette file belongs (a bad checkout, a tool
    // that unpacked it wrongly): the one-line form of the corrupt-cassette
    // error, with the same hint.
    std::fs::create_dir_all(p.join(&path)).expect("mkdir");
    insta::assert_snapshot!(
        "broken_cassette_under_tribunal_test",
        hints(&tribunal_test(&p))
    );
    insta::assert_snapshot!(
        "broken_cassette_under_cargo_test",
        harness_error(
            &p,
            Rerun::Cargo {
                test: "evals".into()
            }
        )
    );
    insta::assert_snapshot!(
        "broken_cassette_under_nextest",
        harness_error(
            &p,
            Rerun::Nextest {
                test: "evals".into()
            }
        )
    );
}

/// The `tribunal` commands that read what runs left behind name the way the
/// project runs its suites: its `tests/evals.rs`, else `tribunal test`.
#[test]
fn commands_without_a_run_name_the_way_the_project_runs() {
    let no_harness = TestProject::with(&[("evals/s.yaml", SUITE)]);
    let harness = TestProject::with(&[
        ("evals/s.yaml", SUITE),
        ("tests/evals.rs", "fn main() {}\n"),
    ]);
    let mut out = String::new();
    for (name, p) in [("no harness", &no_harness), ("tests/evals.rs", &harness)] {
        for args in [
            &["history", "--root", "."][..],
            &["cassettes", "prune", "--root", "."][..],
        ] {
            let run = p.tribunal(args).output();
            assert_ne!(run.code, Some(0), "{}", run.text());
            out.push_str(&format!(
                "{name}: tribunal {}\n{}\n",
                args.join(" "),
                p.normalize(run.stderr.trim())
            ));
        }
    }
    insta::assert_snapshot!(out);
}
