//! tribunal's own integration tests, in one test binary (one link step for
//! all of them). Each module is one area; `common` holds the shared helpers.
//! The shipped example suites run separately as `cargo test --test evals`.

mod common;

mod action_steps;
mod agents_checks;
mod agents_targets;
mod agents_tool_schemas;
mod architecture;
mod ast_equivalent;
mod batch;
mod canaries;
mod checks;
mod ci_github;
mod cli;
mod datasets;
mod equivalence_classes;
mod gates;
mod generate_llm;
mod harness;
mod import_promptfoo;
mod init;
mod labels;
mod loader;
mod packaging;
mod pipeline;
mod providers;
mod pyramid;
mod report_html_chromium;
mod report_outputs;
mod report_tables;
mod report_workflows;
mod rerun_hints;
#[cfg(feature = "review")]
mod review;
#[cfg(feature = "review")]
mod review_browser;
mod targets;

/// Every integration test lives in this binary: a new `tests/*.rs` file
/// would be one more crate to compile and link on every `cargo test`. Add a
/// module here instead (`tests/evals.rs` is the product's own harness).
#[test]
fn the_integration_tests_are_one_binary() {
    let tests = common::repo_root().join("tests");
    let mut top_level: Vec<String> = std::fs::read_dir(&tests)
        .expect("tests/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs") || p.join("main.rs").is_file())
        .map(|p| {
            p.strip_prefix(&tests)
                .expect("under tests/")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    top_level.sort();
    assert_eq!(top_level, ["evals.rs", "integration"]);
}
