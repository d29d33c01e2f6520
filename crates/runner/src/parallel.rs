//! How a sweep shares the CPU: runs side by side, threads per run.
//!
//! A small model (the seed table's 784-100×3-10 at batch 10) cannot keep two cores busy: each
//! step is a few hundred tiny tensor operations, and threads spend more time handing work to
//! each other than computing. Such runs go faster one per core, each single-threaded. A large
//! model's matrix products split well over threads, and running several at once only adds
//! cache and memory pressure. [`plan`] picks between the two from the work of one training
//! step; `--jobs` and `--threads` override it. docs/PERFORMANCE.md has the measurements behind
//! [`SMALL_STEP_FLOPS`].

use anyhow::{Context, Result};

use crate::grid::Run;

/// Below this many FLOPs per training step (≈ 6 · batch · multiply-adds per sample) runs go one
/// per core. Measured on 2 cores: 784-100×3-10 at batch 10 (6 MFLOP) ran 1.9× faster as two
/// single-threaded runs than as one two-threaded run; 784-1000×5-10 at batch 64 (1.8 GFLOP)
/// ran at the same total speed both ways.
pub const SMALL_STEP_FLOPS: f64 = 2e8;
// TODO: decide from the batch size too: at batch 10 a 784-1000×5-10 step (288 MFLOP, so "large"
// here) ran as fast on one thread as on two (1,042 vs 1,029 samples/s), so two runs side by
// side would double a sweep's throughput; measure where threads start to pay off and use it.

/// This machine's cores (1 when unknown).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// FLOPs of one training step of `run` (see [`SMALL_STEP_FLOPS`]).
pub fn step_flops(run: &Run) -> f64 {
    6.0 * run.config.train.batch_size as f64 * run.config.architecture().macs_per_sample() as f64
}

/// Runs at once and threads per run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Runs trained at the same time.
    pub jobs: usize,
    /// Threads of each run's tensor operations.
    pub threads: usize,
}

impl Plan {
    /// One line for the log: what was chosen and why.
    pub fn describe(&self, why: &str) -> String {
        format!(
            "{} run(s) at once, {} thread(s) each ({why})",
            self.jobs, self.threads
        )
    }
}

/// The plan for `runs` (those still to train) on `cores` cores, with the user's `--jobs` and
/// `--threads` when given, and the reason for the choice.
pub fn plan(
    runs: &[Run],
    jobs: Option<usize>,
    threads: Option<usize>,
    cores: usize,
) -> (Plan, String) {
    let cores = cores.max(1);
    let n = runs.len().max(1);
    let largest = runs.iter().map(step_flops).fold(0.0, f64::max);
    let (jobs, why) = match (jobs, threads) {
        (Some(j), _) => (j.max(1), "--jobs".to_string()),
        (None, Some(t)) => ((cores / t.max(1)).max(1), "--threads".to_string()),
        (None, None) if largest < SMALL_STEP_FLOPS => (
            cores,
            format!(
                "small models, {:.0} MFLOP per step at most: one run per core",
                largest / 1e6
            ),
        ),
        (None, None) => (
            1,
            format!(
                "{:.0} MFLOP per step: one run with every core",
                largest / 1e6
            ),
        ),
    };
    let jobs = jobs.min(n);
    let threads = threads.unwrap_or(cores / jobs).max(1);
    (Plan { jobs, threads }, why)
}

/// A thread pool of `threads` threads for one run's tensor operations: Burn's CPU backends
/// split their work over the rayon pool they are called from.
pub fn pool(threads: usize) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("starting the run's thread pool")
}

/// The process's peak resident memory so far in MiB (`VmHWM` of /proc/self/status); `None`
/// where that file does not exist (not Linux).
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(text: &str) -> Vec<Run> {
        crate::grid::expand(toml::from_str(text).unwrap()).unwrap()
    }

    const SMALL: &str = r#"
        [data]
        dataset = "mnist"
        [model]
        activation = "sigmoid"
        depth = 3
        width = 100
        [train]
        epochs = 1
        batch_size = 10
        lr = 0.1
        [grid]
        seed = [1, 2, 3, 4, 5]
    "#;

    fn large() -> Vec<Run> {
        let text = SMALL
            .replace("depth = 3", "depth = 5")
            .replace("width = 100", "width = 1000")
            .replace("batch_size = 10", "batch_size = 64");
        runs(&text)
    }

    #[test]
    fn small_models_go_one_per_core_and_large_ones_take_every_core() {
        let small = runs(SMALL);
        assert_eq!(step_flops(&small[0]), 6.0 * 10.0 * 99_400.0);
        let (p, why) = plan(&small, None, None, 4);
        assert_eq!(
            p,
            Plan {
                jobs: 4,
                threads: 1
            }
        );
        assert!(why.contains("one run per core"), "{why}");
        // Never more jobs than runs.
        assert_eq!(
            plan(&small[..2], None, None, 4).0,
            Plan {
                jobs: 2,
                threads: 2
            }
        );

        let (p, why) = plan(&large(), None, None, 4);
        assert_eq!(
            p,
            Plan {
                jobs: 1,
                threads: 4
            }
        );
        assert!(why.contains("every core"), "{why}");
    }

    #[test]
    fn jobs_and_threads_flags_override_the_choice() {
        let small = runs(SMALL);
        assert_eq!(
            plan(&small, Some(1), None, 2).0,
            Plan {
                jobs: 1,
                threads: 2
            }
        );
        assert_eq!(
            plan(&small, None, Some(2), 4).0,
            Plan {
                jobs: 2,
                threads: 2
            }
        );
        assert_eq!(
            plan(&small, Some(2), Some(3), 2).0,
            Plan {
                jobs: 2,
                threads: 3
            }
        );
        assert_eq!(plan(&small, Some(0), None, 2).0.jobs, 1);
    }

    #[test]
    fn peak_rss_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            let mib = peak_rss_mib().expect("VmHWM on Linux");
            assert!(mib > 1.0 && mib < 1e6, "{mib}");
        }
    }
}
