//! `cargo bench --bench providers -- [--cases N] [--concurrency C] [--latency-ms L] [--replay]`:
//! the provider-layer benchmark (the same code as `tribunal bench`).

use clap::Parser;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: tribunal::cli::providers::BenchArgs,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match tribunal::cli::providers::bench(&cli.args) {
        Ok(report) => {
            println!("{}", report.render());
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tribunal bench: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
