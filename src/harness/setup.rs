//! What a harness run is configured with: the project root, snapshot
//! settings, which suite files, time and concurrency limits, and the command
//! that re-runs the suite (for the hints in messages).

use std::path::PathBuf;
use std::time::Duration;

use crate::case::find_suites;
use crate::rerun::Rerun;
use crate::snapshot::Settings;

/// A harness run's configuration, resolved once before anything loads.
#[derive(Debug, Clone)]
pub(crate) struct RunConfig {
    pub root: PathBuf,
    pub settings: Settings,
    /// The suite glob (`TRIBUNAL_SUITES`, else the builder's), if any.
    pub pattern: Option<String>,
    pub timeout: Duration,
    pub concurrency: usize,
    /// How the suite is being run, for the commands in hints.
    pub rerun: Rerun,
}

impl RunConfig {
    /// The builder's choices, with the environment where the builder left
    /// them open (`TRIBUNAL_SUITES` overrides the builder's glob).
    pub fn resolve(
        root: Option<PathBuf>,
        suites: Option<String>,
        settings: Option<Settings>,
        rerun: Option<Rerun>,
    ) -> RunConfig {
        RunConfig {
            root: root.unwrap_or_else(default_root),
            settings: settings.unwrap_or_else(Settings::from_env),
            pattern: std::env::var("TRIBUNAL_SUITES")
                .ok()
                .filter(|s| !s.trim().is_empty())
                .or(suites),
            timeout: trial_timeout(),
            concurrency: concurrency(),
            rerun: rerun.unwrap_or_else(Rerun::from_test_binary),
        }
    }

    /// Every suite file of the run.
    pub fn suite_files(&self) -> Result<Vec<PathBuf>, String> {
        find_suites(&self.root, self.pattern.as_deref())
    }
}

fn default_root() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("."))
}

fn trial_timeout() -> Duration {
    std::env::var("TRIBUNAL_TRIAL_TIMEOUT")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(Duration::from_secs(600))
}

fn concurrency() -> usize {
    std::env::var("TRIBUNAL_CONCURRENCY")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(64)
}
