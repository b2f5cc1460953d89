//! Writes a sample HTML report (synthetic run) to the path given, for a
//! look at the report without running an eval suite:
//! `cargo run --example report_demo -- /tmp/report.html`. A path ending in
//! `.json` gets the results JSON instead (input for `tribunal report`);
//! a second argument is the seed.

fn main() -> std::process::ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: report_demo OUT.html");
        return std::process::ExitCode::from(2);
    };
    let seed = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(11);
    let run = tribunal::report::sample::run(300, 0.75, seed);
    let text = if path.ends_with(".json") {
        run.to_json()
    } else {
        tribunal::report::html::render(&run, &[])
    };
    match std::fs::write(&path, text) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cannot write {path}: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
