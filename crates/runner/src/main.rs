//! `gradlab`: trains, sweeps, logs and compares networks on CPU or GPU (see `gradlab --help`).
#![allow(clippy::print_stdout, clippy::print_stderr)] // A command line prints; that is its job.

mod backend;
mod checkpoint;
mod cli;
mod commands;
mod config;
mod grid;
mod optim;
mod plot;
mod record;
mod report;
mod sweep;
mod train;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Parser;

use crate::cli::{Cli, Command, RunArgs, SweepArgs};
use crate::grid::Run;

fn main() -> ExitCode {
    // clap exits with 2 on usage errors by itself.
    let cli = Cli::parse();
    match dispatch(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn dispatch(cli: &Cli) -> Result<()> {
    match &cli.command {
        Command::Train(args) => {
            let (runs, out) = prepare(args)?;
            if runs.len() != 1 {
                bail!(
                    "{}: the config's [grid] expands to {} runs; `train` runs one: use \
                     `gradlab sweep`, or pin the grid keys with --set",
                    args.config.display(),
                    runs.len()
                );
            }
            execute(cli, &runs, out, args.force, 1)
        }
        Command::Sweep(args) => sweep(cli, args),
        Command::Report(args) => {
            let rows = report::collect(&args.dirs)?;
            let out = args.out.clone().unwrap_or_else(|| args.dirs[0].clone());
            let md = report::write(&rows, &out)?;
            if cli.json {
                println!("{}", std::fs::read_to_string(out.join("summary.csv"))?);
            } else {
                println!("{md}");
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
        Command::Data(args) => commands::data(cli, args),
        Command::Bench(args) => commands::bench(cli, args),
    }
}

/// Reads, overrides, expands and validates a config; nothing trains before this succeeds.
fn prepare(args: &RunArgs) -> Result<(Vec<Run>, PathBuf)> {
    let mut tree = config::read_tree(&args.config)?;
    config::apply_overrides(&mut tree, &args.sets)?;
    let runs = grid::expand(tree)?;
    let name = runs
        .first()
        .map_or("run".to_string(), |r| r.config.name.clone());
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("results").join(name));
    Ok((runs, out))
}

fn sweep(cli: &Cli, args: &SweepArgs) -> Result<()> {
    let (mut runs, out) = prepare(&args.run)?;
    if let Some(shard) = args.shard {
        runs = shard.select(runs);
    }
    if args.dry_run {
        for run in &runs {
            println!("{}\t{}", run.id, run.hash);
        }
        return Ok(());
    }
    execute(cli, &runs, out, args.run.force, args.jobs)
}

fn execute(cli: &Cli, runs: &[Run], out: PathBuf, force: bool, jobs: usize) -> Result<()> {
    let opts = sweep::Options {
        out: out.clone(),
        backend: cli.backend,
        data_root: gradlab_data::resolve_root(cli.data_dir.as_deref()),
        jobs,
        force,
        quiet: cli.quiet,
    };
    let results = sweep::run_all(runs, &opts)?;
    let rows = report::collect(std::slice::from_ref(&out))?;
    let md = report::write(&rows, &out)?;
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    } else if !cli.quiet {
        println!("{md}");
        eprintln!("results in {}", out.display());
    }
    sweep::check_failures(&results)
}
