//! The command line (clap derive); `--help` on each command is its documentation.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::backend::Backend;
use crate::grid::Shard;

/// gradlab: how activation functions, initialisation and learning rates shape training.
///
/// Exit codes: 0 success, 1 error (bad config, missing data, a failed run), 2 usage.
#[derive(Debug, Parser)]
#[command(name = "gradlab", version)]
pub struct Cli {
    /// Backend for tensors: flex (CPU, default), ndarray (CPU) or wgpu (GPU; needs a build with
    /// `--features wgpu`).
    #[arg(long, global = true, value_enum, default_value_t = Backend::Flex)]
    pub backend: Backend,
    /// Data root (default: $GRADLAB_DATA, else ~/.cache/gradlab).
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// Print machine-readable JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// No progress output.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train one configuration (a config without a [grid], or one that expands to one run).
    Train(RunArgs),
    /// Train every cell of the config's [grid]; finished runs (same config hash) are skipped.
    ///
    /// Sharding: `--shard i/N` takes runs i, i+N, i+2N, … of the grid (1-based), so N machines
    /// with the same config and output layout split the grid; merge with `gradlab report`.
    /// Slurm: `#SBATCH --array=1-4` and `--shard $SLURM_ARRAY_TASK_ID/4`. Kubernetes indexed
    /// job (completions: 4): `--shard $((JOB_COMPLETION_INDEX+1))/4`.
    Sweep(SweepArgs),
    /// Merge result folders (shards too) into results.csv, summary.csv and summary.md.
    Report(ReportArgs),
    /// Each activation's output range, maximum derivative and where, saturation threshold.
    Activations(ActivationsArgs),
    /// Edge-of-chaos weight variance σ_w² (and q*, depth scale) for an activation and σ_b²;
    /// with --sigma-w2, the mean-field analysis at that (σ_w², σ_b²) instead.
    Eoc(EocArgs),
    /// Gradient norm per layer at initialisation on a real data batch.
    Probe(ProbeArgs),
    /// Score a trained run's model on its dataset's test set.
    Eval(EvalArgs),
    /// Fetch or check a dataset (mnist, fashion-mnist, cifar10).
    Data(DataArgs),
    /// Training throughput (samples/s) for a model, batch and backend.
    Bench(BenchArgs),
}

/// Config and overrides shared by train and sweep.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// TOML config file (see configs/).
    pub config: PathBuf,
    /// Override a config key, e.g. `--set train.lr=0.5 --set model.activation=tanh`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Output folder (default: results/NAME, NAME from the config).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Rerun runs that already have a result.
    #[arg(long)]
    pub force: bool,
}

/// `sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Config and overrides.
    #[command(flatten)]
    pub run: RunArgs,
    /// Runs at once (each uses the backend's threads; on 2 cores, 1 or 2).
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// This machine's share of the grid, i/N (1-based).
    #[arg(long)]
    pub shard: Option<Shard>,
    /// List the runs (id and config hash) without training.
    #[arg(long)]
    pub dry_run: bool,
}

/// `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Sweep output folders (each with runs/).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Where to write the tables (default: the first folder).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `activations`.
#[derive(Debug, Args)]
pub struct ActivationsArgs {
    /// Saturation threshold: |x| beyond which f' < rho × max f'.
    #[arg(long, default_value_t = 0.05)]
    pub rho: f64,
}

/// `eoc`.
#[derive(Debug, Args)]
pub struct EocArgs {
    /// Activation (e.g. tanh).
    #[arg(long)]
    pub activation: String,
    /// Bias variance σ_b².
    #[arg(long, default_value_t = 0.05)]
    pub sigma_b2: f64,
    /// Analyse this weight variance σ_w² instead of solving for the critical one: q*, χ₁, c*,
    /// depth scale ξ, trainable depth 6ξ and the phase (ordered χ₁ < 1, chaotic χ₁ > 1).
    #[arg(long)]
    pub sigma_w2: Option<f64>,
}

/// `probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Activation.
    #[arg(long, default_value = "sigmoid")]
    pub activation: String,
    /// Initialiser.
    #[arg(long, default_value = "xavier-uniform")]
    pub init: String,
    /// Hidden layers.
    #[arg(long, default_value_t = 5)]
    pub depth: usize,
    /// Units per hidden layer.
    #[arg(long, default_value_t = 100)]
    pub width: usize,
    /// Dataset of the batch.
    #[arg(long, default_value = "mnist")]
    pub dataset: String,
    /// Batch size.
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    /// Weight seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// `eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A run folder (OUT/runs/RUN_ID) with config.json and model.bpk.
    pub run_dir: PathBuf,
}

/// `data`.
#[derive(Debug, Args)]
pub struct DataArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: DataAction,
}

/// `data download|verify`.
#[derive(Debug, Subcommand)]
pub enum DataAction {
    /// Download a dataset into the data root (files already there and correct are kept).
    Download {
        /// mnist, fashion-mnist or cifar10.
        name: String,
    },
    /// Check every file of a dataset; exits 1 naming the bad file.
    Verify {
        /// mnist, fashion-mnist or cifar10.
        name: String,
    },
}

/// `bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Hidden layers.
    #[arg(long, default_value_t = 5)]
    pub depth: usize,
    /// Units per hidden layer (every hidden layer has the same width).
    #[arg(long, default_value_t = 1000)]
    pub width: usize,
    /// Per-layer widths, e.g. `128,64` for 784-128-64-10; overrides --depth and --width.
    #[arg(long, value_delimiter = ',', value_name = "W1,W2,...")]
    pub widths: Option<Vec<usize>>,
    /// Batch size.
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Timed steps (after 3 warm-up steps).
    #[arg(long, default_value_t = 50)]
    pub steps: usize,
    /// Also read the loss and per-layer gradient norms every k steps (0: never), to measure
    /// the cost of the metrics.
    #[arg(long, default_value_t = 0)]
    pub log_every: usize,
    /// Activation.
    #[arg(long, default_value = "sigmoid")]
    pub activation: String,
}
