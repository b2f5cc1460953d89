//! The libtest side: every trial (and every broken file) becomes a
//! libtest-mimic trial that reports the result evaluated up front.

use std::sync::Arc;

use libtest_mimic::{Arguments, Failed};

use super::orchestrate::{Comparisons, Plan};
use crate::expand::Filter;

/// Hands the run to libtest (which prints a line per trial and the totals)
/// when `print`; either way returns whether the run failed: a selected
/// broken entry, or a selected trial whose comparison fails.
pub(crate) fn run(args: &Arguments, plan: &Plan, results: &Arc<Comparisons>, print: bool) -> bool {
    let filter = Filter::new(args);
    let failed = !plan.selected_broken(&filter).is_empty() || results.values().any(|c| c.fails);
    if !print {
        return failed;
    }
    let mut trials: Vec<libtest_mimic::Trial> = Vec::new();
    for b in &plan.broken {
        let message = b.message.clone();
        trials.push(libtest_mimic::Trial::test(b.name.clone(), move || {
            Err(Failed::from(message))
        }));
    }
    for t in &plan.trials {
        let name = t.name();
        let skip = t.case().skip.is_some();
        let results = Arc::clone(results);
        let key = name.clone();
        let trial = libtest_mimic::Trial::test(name, move || match results.get(&key) {
            Some(c) if c.fails => Err(Failed::from(
                c.message.clone().unwrap_or_else(|| "failed".into()),
            )),
            Some(_) => Ok(()),
            None => Err(Failed::from(
                "tribunal did not evaluate this trial (it was not selected up front)",
            )),
        });
        trials.push(trial.with_ignored_flag(skip));
    }
    // Every trial was evaluated up front: what libtest runs is a lookup.
    // One thread prints the lines in the plan's order on every run (more
    // threads print them in whatever order they finish) and starts no pool.
    let mut args = args.clone();
    if args.test_threads.is_none() {
        args.test_threads = Some(1);
    }
    libtest_mimic::run(&args, trials).has_failed() || failed
}
