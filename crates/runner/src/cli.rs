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
    /// Threads for tensor operations (per run in a sweep). Default: every core, divided among
    /// a sweep's parallel runs.
    #[arg(long, global = true)]
    pub threads: Option<usize>,
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
    /// Per-layer spectrum of WᵀW and its heavy-tail exponent α (Hill estimator; Martin &
    /// Mahoney 2019/2021), with the learning-rate factor TempBalance (Zhou et al. 2023) would
    /// give the layer.
    ///
    /// Reads RUN_DIR/model.bpk (the trained model), else the run's last checkpoint; --init
    /// analyses the initial weights instead (rebuilt from config.json's seed). Prints one line
    /// per layer (shape, α, k, λ_max, λ_min of the tail, factor) and writes spectra.csv,
    /// spectra-eigenvalues.csv and spectra.{png,svg} (eigenvalue against rank, log-log: a power
    /// law is a straight line of slope −1/(α−1)); with --init, spectra-init.*.
    Spectra(SpectraArgs),
    /// Fetch or check a dataset (mnist, fashion-mnist, cifar10).
    Data(DataArgs),
    /// Training throughput of an MLP on synthetic data: samples/s, GFLOP/s, share of the
    /// backend's GEMM peak, peak memory (compare: benches/pytorch_mlp.py).
    Bench(BenchArgs),
    /// Learning-rate range test (Smith 2017): from a fresh network, one batch per rate, rates
    /// growing exponentially from --start to --end; suggests a rate and says why.
    ///
    /// Uses the config's model, optimiser (momentum, Adam, …), batch size and seed; its
    /// `train.lr` and schedule are replaced by the test's rates. Stops when the smoothed loss
    /// exceeds --stop-factor × its best, the loss is NaN/inf, or --end is reached. Writes
    /// lr-find.csv (step, lr, loss, smoothed) and lr-find.{png,svg}.
    LrFind(LrFindArgs),
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
    /// Runs at once. Default: one per core, each single-threaded, when every run is small
    /// (under 200 MFLOP per training step, e.g. 784-100×3-10 at batch 10); else one run using
    /// every core. The choice is printed at the start.
    #[arg(long)]
    pub jobs: Option<usize>,
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
    /// Also choose one learning rate per group of the other axes: `validation` picks the rate
    /// with the best mean validation accuracy (runs with `data.validation`) and reports the
    /// test error there, as Glorot & Bengio (2010) did; writes selection.{md,csv}.
    #[arg(long, value_enum, value_name = "BY")]
    pub select_by: Option<crate::select::SelectBy>,
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

/// `spectra`.
#[derive(Debug, Args)]
pub struct SpectraArgs {
    /// A run folder (OUT/runs/RUN_ID) with config.json and model.bpk.
    pub run_dir: PathBuf,
    /// Eigenvalues in each layer's tail fit (default: the larger half of each layer's, as
    /// TempBalance does).
    #[arg(long)]
    pub k: Option<usize>,
    /// Analyse the initial weights (the config's seed) instead of the trained model.
    #[arg(long)]
    pub init: bool,
    /// Where to write the files (default: RUN_DIR).
    #[arg(long)]
    pub out: Option<PathBuf>,
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

/// `lr-find`.
#[derive(Debug, Args)]
pub struct LrFindArgs {
    /// TOML config file (see configs/); a [grid] must be pinned to one run with --set.
    pub config: PathBuf,
    /// Override a config key, e.g. `--set model.activation=relu --set train.optimizer=adam`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// First rate.
    #[arg(long, default_value_t = 1e-6)]
    pub start: f64,
    /// Last rate.
    #[arg(long, default_value_t = 10.0)]
    pub end: f64,
    /// Rates (one batch each), cycling through epochs when there are more than one epoch's.
    #[arg(long, default_value_t = 100)]
    pub steps: usize,
    /// Stop when the smoothed loss exceeds this many times its best.
    #[arg(long, default_value_t = 4.0)]
    pub stop_factor: f64,
    /// Output folder (default: out/lr-find/NAME, NAME from the config).
    #[arg(long)]
    pub out: Option<PathBuf>,
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
    /// Size n of the n×n matrix product timed for the GEMM peak (0: skip it).
    #[arg(long, default_value_t = 2048)]
    pub peak_size: usize,
}
