//! What a harness run is configured with: the project configuration
//! ([`Config`]: environment and `tribunal.yaml`), the builder's choices on
//! top, and the command that re-runs the suite (for the hints in messages).

use std::path::PathBuf;
use std::time::Duration;

use crate::case::find_suites;
use crate::config::{Config, Env};
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
    /// The project configuration (providers, cassette mode, reports).
    pub project: Config,
}

impl RunConfig {
    /// The project configuration with the builder's choices: its snapshot
    /// settings win; its suite glob applies when the configuration names none.
    pub fn resolve(
        root: Option<PathBuf>,
        suites: Option<String>,
        settings: Option<Settings>,
        rerun: Option<Rerun>,
        env: Env,
    ) -> Result<RunConfig, String> {
        let root = root.unwrap_or_else(default_root);
        let project = Config::resolve(&root, &env).map_err(|e| format!("configuration: {e}"))?;
        Ok(RunConfig {
            settings: settings.unwrap_or(project.snapshots),
            pattern: project.suites.clone().or(suites),
            timeout: project.trial_timeout,
            concurrency: project.concurrency,
            rerun: rerun.unwrap_or_else(|| Rerun::from_test_binary(project.nextest_run.is_some())),
            root,
            project,
        })
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
