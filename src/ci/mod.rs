//! What tribunal tells a CI service about a run, beyond the report files:
//! for GitHub Actions the job summary, the annotations at the YAML line of
//! every failing trial, the one pull-request comment kept up to date, the
//! step outputs and the gate ([`github`]), and the REST calls behind the
//! comment ([`github_api`]). `tribunal ci github …` (in `cli/ci.rs`) runs
//! them; `action.yml` at the repository root calls those commands.
//!
//! Nothing here runs the suite: it reads the results a run wrote
//! (`target/tribunal/last.json`) and, for a pull request, the base branch's.

pub mod github;
pub mod github_api;
