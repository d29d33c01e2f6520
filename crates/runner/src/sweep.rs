//! Running a list of runs: data loaded once, finished runs skipped, `--jobs N` at once, every
//! failure recorded so the grid goes on.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::IsTerminal;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, bail};
use gradlab_data::{Dataset, DatasetName};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::backend::Backend;
use crate::grid::Run;
use crate::parallel;
use crate::record::{ResultRecord, RunDir, Status, write_json};
use crate::train::{Progress, RunData, failed_record, train};

/// How to run a list.
pub struct Options {
    /// Output folder (`OUT`).
    pub out: PathBuf,
    /// Backend.
    pub backend: Backend,
    /// Data root.
    pub data_root: PathBuf,
    /// Runs at once (`None`: chosen by [`crate::parallel::plan`]).
    pub jobs: Option<usize>,
    /// Threads per run (`None`: chosen by [`crate::parallel::plan`]).
    pub threads: Option<usize>,
    /// Rerun runs that already have a result.
    pub force: bool,
    /// No progress output.
    pub quiet: bool,
}

/// Progress: one indicatif bar per running run on a terminal (loss and samples/s), plain
/// lines prefixed with the run id otherwise (logs, CI), nothing with `-q`.
pub struct Lines {
    quiet: bool,
    bars: Option<MultiProgress>,
    running: Mutex<HashMap<String, ProgressBar>>,
}

impl Lines {
    /// Progress to stderr.
    pub fn new(quiet: bool) -> Lines {
        let tty = std::io::stderr().is_terminal() && !quiet;
        Lines {
            quiet,
            bars: tty.then(MultiProgress::new),
            running: Mutex::default(),
        }
    }
}

impl Progress for Lines {
    fn line(&self, id: &str, text: &str) {
        match &self.bars {
            Some(bars) => {
                let _ = bars.println(format!("[{id}] {text}"));
            }
            None if !self.quiet => eprintln!("[{id}] {text}"),
            None => {}
        }
    }

    fn start(&self, id: &str, done: usize, total: usize) {
        let Some(bars) = &self.bars else { return };
        let bar = bars.add(ProgressBar::new(total as u64));
        let style =
            ProgressStyle::with_template("{prefix:40} {bar:30} {pos}/{len} {msg} ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_prefix(id.to_string());
        bar.set_position(done as u64);
        self.running
            .lock()
            .expect("lock")
            .insert(id.to_string(), bar);
    }

    fn update(&self, id: &str, step: usize, loss: f64, rate: f64) {
        if let Some(bar) = self.running.lock().expect("lock").get(id) {
            bar.set_position(step as u64);
            bar.set_message(format!("loss {loss:.4} {rate:.0} samples/s"));
        }
    }

    fn finish(&self, id: &str) {
        if let Some(bar) = self.running.lock().expect("lock").remove(id) {
            bar.finish_and_clear();
        }
    }
}

/// Checks the output folder is writable before anything trains.
pub fn check_out(out: &Path) -> Result<()> {
    let runs = out.join("runs");
    fs::create_dir_all(&runs).with_context(|| {
        format!(
            "output folder {}: cannot create it; pass a writable --out",
            out.display()
        )
    })?;
    let probe = runs.join(".write-test");
    fs::write(&probe, b"ok").with_context(|| {
        format!(
            "output folder {}: not writable; pass a writable --out",
            out.display()
        )
    })?;
    let _ = fs::remove_file(probe);
    Ok(())
}

/// Loads every dataset the runs need, once: missing data stops everything before training.
pub fn load_data(runs: &[Run], root: &Path) -> Result<BTreeMap<&'static str, Dataset>> {
    let mut data = BTreeMap::new();
    for run in runs {
        let name: DatasetName = run.config.data.dataset;
        if !data.contains_key(name.as_str()) {
            let set = load_or_download(name, root)
                .map_err(|e| anyhow::anyhow!("data.dataset = {name}: {e}"))?;
            data.insert(name.as_str(), set);
        }
    }
    Ok(data)
}

/// A download progress callback that names each file once as it starts (nothing when quiet).
pub fn announce_files(quiet: bool) -> impl FnMut(&gradlab_data::Progress) {
    let mut last = String::new();
    move |p| {
        if !quiet && p.file != last {
            eprintln!("downloading {}", p.file);
            last = p.file.clone();
        }
    }
}

/// Loads `name` from `root`; when its files are missing, downloads them into `root` (checksums
/// verified, see `gradlab_data::download`) and loads again. Offline, the error keeps the
/// missing-file message (files, folders searched, fix) and adds why the download failed.
pub fn load_or_download(name: DatasetName, root: &Path) -> Result<Dataset> {
    let missing = match gradlab_data::load(name, root) {
        Err(e @ gradlab_data::DataError::Missing { .. }) => e,
        other => return other.map_err(|e| anyhow::anyhow!("{e}")),
    };
    eprintln!(
        "{name}: not found under {}; downloading it there",
        root.display()
    );
    if let Err(download) = gradlab_data::download(name, root, Some(&mut announce_files(false))) {
        anyhow::bail!("{missing}\n  automatic download failed: {download}");
    }
    gradlab_data::load(name, root).map_err(|e| anyhow::anyhow!("{e}"))
}

/// The splits of `run`, cut to its `data.train_size` / `data.test_size`, with its validation
/// split (`data.validation`, see [`crate::holdout`]).
pub fn run_data(run: &Run, data: &BTreeMap<&'static str, Dataset>) -> RunData {
    let set = &data[run.config.data.dataset.as_str()];
    let d = &run.config.data;
    let cut = |split: &gradlab_data::Split, n: Option<usize>| match n {
        Some(n) if n < split.len() => split.subset(n),
        _ => split.clone(),
    };
    let (train, validation) = crate::holdout::split(&set.train, d);
    RunData {
        train,
        validation,
        test: cut(&set.test, d.test_size),
    }
}

/// Runs every run not already finished; returns every run's result (skipped ones included).
pub fn run_all(runs: &[Run], opts: &Options) -> Result<Vec<ResultRecord>> {
    opts.backend.check()?;
    check_out(&opts.out)?;
    let progress = Lines::new(opts.quiet);
    let mut results: Vec<Option<ResultRecord>> = vec![None; runs.len()];
    let mut todo = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        let dir = RunDir(opts.out.join("runs").join(&run.id));
        match dir.finished_result(&run.hash) {
            Some(r) if !opts.force => results[i] = Some(r),
            _ => todo.push(i),
        }
    }
    let skipped = runs.len() - todo.len();
    if skipped > 0 {
        progress.line(
            "sweep",
            &format!("{skipped} run(s) already done, skipped (--force reruns)"),
        );
    }
    if todo.is_empty() {
        return Ok(results.into_iter().flatten().collect());
    }
    let todo_runs: Vec<Run> = todo.iter().map(|&i| runs[i].clone()).collect();
    let data = load_data(&todo_runs, &opts.data_root)?;
    crate::holdout::check_classes(&todo_runs, &data)?;
    if opts.force {
        for &i in &todo {
            let _ = fs::remove_dir_all(opts.out.join("runs").join(&runs[i].id));
        }
    }
    let (plan, why) = parallel::plan(&todo_runs, opts.jobs, opts.threads, parallel::cores());
    progress.line("sweep", &plan.describe(&why));
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let slots = Mutex::new(&mut results);
    let (next, done, slots, todo, data, progress) = (&next, &done, &slots, &todo, &data, &progress);
    std::thread::scope(|scope| -> Result<()> {
        for _ in 0..plan.jobs {
            // Each run's tensor operations stay on its own pool, so side-by-side runs do not
            // queue behind each other's work.
            let pool = parallel::pool(plan.threads)?;
            scope.spawn(move || {
                pool.install(|| {
                    loop {
                        let k = next.fetch_add(1, Ordering::SeqCst);
                        let Some(&i) = todo.get(k) else { break };
                        let run = &runs[i];
                        let result = run_one(run, data, opts, progress);
                        let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                        let status = match result.status {
                            Status::Finished => format!(
                                "finished: test acc {:.4}",
                                result.test_accuracy.unwrap_or(f64::NAN)
                            ),
                            Status::Diverged => {
                                format!("diverged at step {}", result.diverged_step.unwrap_or(0))
                            }
                            Status::Failed => {
                                format!("FAILED: {}", result.error.clone().unwrap_or_default())
                            }
                        };
                        progress.line(
                            &run.id,
                            &format!("{status} ({:.1}s) [{n}/{}]", result.wall_s, todo.len()),
                        );
                        slots.lock().expect("no panics while holding the lock")[i] = Some(result);
                    }
                })
            });
        }
        Ok(())
    })?;
    Ok(results.into_iter().flatten().collect())
}

/// One run; an error or a panic becomes a `failed` result on disk.
fn run_one(
    run: &Run,
    data: &BTreeMap<&'static str, Dataset>,
    opts: &Options,
    progress: &Lines,
) -> ResultRecord {
    let split = run_data(run, data);
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        train(run, &split, &opts.out, opts.backend, progress)
    }));
    let error = match outcome {
        Ok(Ok(result)) => return result,
        Ok(Err(e)) => format!("{e:#}"),
        Err(panic) => panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic".into()),
    };
    let result = failed_record(run, error, opts.backend);
    let dir = RunDir(opts.out.join("runs").join(&run.id));
    let _ = fs::create_dir_all(&dir.0);
    let _ = write_json(&dir.result(), &result);
    result
}

/// Exit status for a sweep: an error when any run failed (diverged runs are results).
pub fn check_failures(results: &[ResultRecord]) -> Result<()> {
    let failed: Vec<&str> = results
        .iter()
        .filter(|r| r.status == Status::Failed)
        .map(|r| r.run_id.as_str())
        .collect();
    if !failed.is_empty() {
        bail!(
            "{} run(s) failed: {} (see runs/ID/result.json)",
            failed.len(),
            failed.join(", ")
        );
    }
    Ok(())
}
