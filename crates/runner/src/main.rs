//! `gradlab`: trains, sweeps, logs and compares networks on CPU or GPU (see `gradlab --help`).
#![allow(clippy::print_stdout, clippy::print_stderr)] // A command line prints; that is its job.

/// `println!` that returns the write error instead of panicking, so that `gradlab activations |
/// head -1` ends quietly when the reader goes away (see `is_broken_pipe`). Use inside functions
/// returning `anyhow::Result`.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}

mod backend;
mod bench;
mod checkpoint;
mod cli;
mod commands;
mod config;
mod grid;
mod holdout;
mod lrfind;
mod optim;
mod parallel;
mod plot;
mod policy;
mod record;
mod report;
mod select;
mod spectra;
mod sweep;
mod train;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Parser;

use crate::cli::{Cli, Command, RunArgs, SweepArgs};
use crate::grid::Run;

/// Each training step frees and reallocates tensors of megabytes; glibc's malloc returns those to
/// the kernel and page-faults them back in every step (a fifth of the time of a 784-1000×5-10
/// step at batch 64 went to the kernel), while mimalloc keeps and reuses them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // clap exits with 2 on usage errors by itself.
    let cli = Cli::parse();
    match dispatch(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of stdout has gone (`| head`): nobody is left to tell, and as for `cat`,
        // that is not a failure.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// True when the error comes from writing to a closed pipe.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn dispatch(cli: &Cli) -> Result<()> {
    // A sweep gives each run its own pool (see `parallel`); every other command uses the global
    // one.
    if let Some(threads) = cli.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .build_global()
            .context("--threads: starting the thread pool")?;
    }
    match &cli.command {
        Command::Train(args) => {
            let (runs, out) = prepare(args)?;
            let run = one_run(
                &args.config,
                &runs,
                "`train` runs one: use `gradlab sweep`, or",
            )?;
            execute(cli, std::slice::from_ref(run), out, args.force, Some(1))
        }
        Command::Sweep(args) => sweep(cli, args),
        Command::Report(args) => {
            let rows = report::collect(&args.dirs)?;
            let out = args.out.clone().unwrap_or_else(|| args.dirs[0].clone());
            let md = report::write(&rows, &out)?;
            if let Some(by) = args.select_by {
                let md = select::write(&rows, by, &out)?;
                if cli.json {
                    outln!("{}", std::fs::read_to_string(out.join("selection.csv"))?);
                } else {
                    outln!("{md}");
                    eprintln!(
                        "wrote {}/selection.{{md,csv}} and the summary",
                        out.display()
                    );
                }
            } else if cli.json {
                outln!("{}", std::fs::read_to_string(out.join("summary.csv"))?);
            } else {
                outln!("{md}");
                eprintln!(
                    "wrote {}/{{results.csv,summary.csv,summary.md}}",
                    out.display()
                );
            }
            Ok(())
        }
        Command::Activations(args) => commands::activations(args, cli.json),
        Command::Eoc(args) => commands::eoc(args, cli.json),
        Command::Probe(args) => commands::probe(cli, args),
        Command::Eval(args) => commands::eval(cli, args),
        Command::Spectra(args) => spectra::spectra(cli, args),
        Command::Data(args) => commands::data(cli, args),
        Command::Bench(args) => bench::bench(cli, args),
        Command::LrFind(args) => {
            let runs = expand_config(&args.config, &args.sets)?;
            let run = one_run(&args.config, &runs, "`lr-find` tests one:")?;
            commands::lr_find(cli, args, run)
        }
    }
}

/// Reads, overrides, expands and validates a config; nothing trains before this succeeds.
fn prepare(args: &RunArgs) -> Result<(Vec<Run>, PathBuf)> {
    let runs = expand_config(&args.config, &args.sets)?;
    let name = runs
        .first()
        .map_or("run".to_string(), |r| r.config.name.clone());
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("results").join(name));
    Ok((runs, out))
}

/// The only run of `runs`, or an error saying what the command does with one (`what`) and
/// which `--set grid.KEY=VALUE` pins the grid to one run.
fn one_run<'a>(config: &Path, runs: &'a [Run], what: &str) -> Result<&'a Run> {
    match runs {
        [run] => Ok(run),
        _ => bail!(
            "{}: the config's [grid] expands to {} runs; {what} {}",
            config.display(),
            runs.len(),
            how_to_pin(runs)
        ),
    }
}

/// The fix for a grid where one run is wanted: one `--set grid.KEY=VALUE` per key that varies.
fn how_to_pin(runs: &[Run]) -> String {
    let first = &runs[0].axes;
    let pins: Vec<String> = first
        .iter()
        .filter(|(key, value)| {
            runs.iter()
                .any(|r| r.axes.iter().any(|(k, v)| k == key && v != value))
        })
        .map(|(key, value)| format!("--set grid.{key}={value}"))
        .collect();
    format!(
        "pin each varying grid key to one value, e.g. {}",
        pins.join(" ")
    )
}

/// A config file with its `--set` overrides applied, expanded into its grid's runs.
fn expand_config(path: &Path, sets: &[String]) -> Result<Vec<Run>> {
    let mut tree = config::read_tree(path)?;
    config::apply_overrides(&mut tree, sets)?;
    grid::expand(tree)
}

fn sweep(cli: &Cli, args: &SweepArgs) -> Result<()> {
    let (mut runs, out) = prepare(&args.run)?;
    if let Some(shard) = args.shard {
        runs = shard.select(runs);
    }
    if args.dry_run {
        for run in &runs {
            outln!("{}\t{}", run.id, run.hash);
        }
        return Ok(());
    }
    execute(cli, &runs, out, args.run.force, args.jobs)
}

fn execute(cli: &Cli, runs: &[Run], out: PathBuf, force: bool, jobs: Option<usize>) -> Result<()> {
    let opts = sweep::Options {
        out: out.clone(),
        backend: cli.backend,
        data_root: gradlab_data::resolve_root(cli.data_dir.as_deref()),
        jobs,
        threads: cli.threads,
        force,
        quiet: cli.quiet,
    };
    let results = sweep::run_all(runs, &opts)?;
    let rows = report::collect(std::slice::from_ref(&out))?;
    let md = report::write(&rows, &out)?;
    let printed = (|| -> Result<()> {
        if cli.json {
            outln!("{}", serde_json::to_string_pretty(&results)?);
        } else if !cli.quiet {
            outln!("{md}");
            eprintln!("results in {}", out.display());
        }
        Ok(())
    })();
    // A failed run decides the exit status even when stdout's reader has gone.
    sweep::check_failures(&results)?;
    printed
}
