//! Writes a sample HTML report (synthetic run) to the path given, for a
//! look at the report without running an eval suite:
//! `cargo run --example report_demo -- /tmp/report.html`.

fn main() -> std::process::ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: report_demo OUT.html");
        return std::process::ExitCode::from(2);
    };
    let run = tribunal::report::sample::run(300, 0.75, 11);
    match std::fs::write(&path, tribunal::report::html::render(&run, &[])) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cannot write {path}: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
