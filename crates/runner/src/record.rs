//! What a run leaves on disk, and how it is written.
//!
//! Every file is written to `NAME.tmp` and renamed over `NAME`: a rename is atomic on one file
//! system, so a kill -9 at any moment leaves either the old or the new file, never half of one.
//! `result.json` is written last; its presence (with the config hash) is what makes `sweep`
//! skip a finished run.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use gradlab_model::{LayerNorms, LayerStats};
use serde::{Deserialize, Serialize};

/// Writes `bytes` to `path` atomically (temporary name, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    let mut file = fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("writing {}", tmp.display()))?;
    file.sync_all().ok();
    fs::rename(&tmp, path).with_context(|| format!("renaming onto {}", path.display()))
}

/// Writes a value as pretty JSON, atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// Writes rows as JSON Lines, atomically.
pub fn write_jsonl<T: Serialize>(path: &Path, rows: &[T]) -> Result<()> {
    let mut text = String::new();
    for row in rows {
        text.push_str(&serde_json::to_string(row)?);
        text.push('\n');
    }
    write_atomic(path, text.as_bytes())
}

/// Reads JSON Lines.
pub fn read_jsonl<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).with_context(|| format!("parsing {}", path.display())))
        .collect()
}

/// Reads a JSON file.
pub fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Per hidden layer statistics at the end of an epoch (or at initialisation, epoch 0).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerRecord {
    /// `hidden1`, …, `output`.
    pub name: String,
    /// Fraction of activations with |a| < τ (exact zeros for ReLU); see `gradlab_model::inspect`.
    pub sparsity: Option<f64>,
    /// Fraction of pre-activations where f'(z) < ρ·max f'.
    pub saturation: Option<f64>,
    /// Fraction of units whose f'(z) < ρ·max f' for every sample of the stats batch.
    pub dead_units: Option<f64>,
    /// Mean f'(z).
    pub mean_derivative: Option<f64>,
    /// Activation mean.
    pub act_mean: Option<f64>,
    /// Activation standard deviation.
    pub act_std: Option<f64>,
    /// Frobenius norm of the weight.
    pub weight_norm: f64,
    /// Frobenius norm of the weight's loss gradient on the stats batch.
    pub grad_norm: f64,
}

/// Merges activation statistics (hidden layers) and norms (every weight layer) by name.
pub fn layer_records(stats: &[LayerStats], norms: &[LayerNorms]) -> Vec<LayerRecord> {
    norms
        .iter()
        .map(|n| {
            let s = stats.iter().find(|s| s.name == n.name);
            LayerRecord {
                name: n.name.clone(),
                sparsity: s.map(|s| s.sparsity),
                saturation: s.map(|s| s.saturation),
                dead_units: s.map(|s| s.dead_units),
                mean_derivative: s.map(|s| s.mean_derivative),
                act_mean: s.map(|s| s.act_mean),
                act_std: s.map(|s| s.act_std),
                weight_norm: n.weight_norm,
                grad_norm: n.grad_norm,
            }
        })
        .collect()
}

/// One line of `epochs.jsonl`. Epoch 0 is the network at initialisation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch (0 = initialisation).
    pub epoch: usize,
    /// Optimiser steps done.
    pub step: usize,
    /// Mean training loss over the epoch (None at epoch 0).
    pub train_loss: Option<f64>,
    /// Training accuracy over the epoch (None at epoch 0).
    pub train_accuracy: Option<f64>,
    /// Test loss.
    pub test_loss: f64,
    /// Test accuracy.
    pub test_accuracy: f64,
    /// Validation loss (`data.validation`; absent without a validation split).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_loss: Option<f64>,
    /// Validation accuracy (`data.validation`; absent without a validation split).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_accuracy: Option<f64>,
    /// Per-layer statistics.
    pub layers: Vec<LayerRecord>,
}

/// One line of `stats.jsonl` (`log.stats_every = K`): the per-layer statistics every K steps,
/// step 0 being the initial network, for plots of activations over training (Glorot & Bengio
/// 2010, Fig. 2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatsRecord {
    /// Optimiser steps done.
    pub step: usize,
    /// Per-layer statistics on the fixed statistics batch.
    pub layers: Vec<LayerRecord>,
}

/// One line of `steps.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// Step (0-based).
    pub step: usize,
    /// Learning rate used.
    pub lr: f64,
    /// Mini-batch loss.
    pub loss: f64,
    /// Gradient norm per weight layer, input side first.
    pub grad_norms: Vec<f64>,
    /// Learning-rate factor per weight layer under a `train.lr_policy` other than uniform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lr_factors: Option<Vec<f64>>,
}

/// One line of `evals.jsonl`: a test evaluation within an epoch (`log.eval_every`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalRecord {
    /// Steps done.
    pub step: usize,
    /// Test accuracy.
    pub test_accuracy: f64,
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Trained all epochs.
    Finished,
    /// The loss became NaN or infinite.
    Diverged,
    /// An error stopped it.
    Failed,
}

/// `result.json`: the last file written for a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResultRecord {
    /// Run id (folder name).
    pub run_id: String,
    /// Hash of the resolved config.
    pub config_hash: String,
    /// How it ended.
    pub status: Status,
    /// The error, when failed.
    pub error: Option<String>,
    /// Step at which the loss became non-finite.
    pub diverged_step: Option<usize>,
    /// Epochs completed.
    pub epochs: usize,
    /// Steps done.
    pub steps: usize,
    /// Final test accuracy.
    pub test_accuracy: Option<f64>,
    /// Final test loss.
    pub test_loss: Option<f64>,
    /// Best test accuracy seen.
    pub best_test_accuracy: Option<f64>,
    /// Final validation accuracy (`data.validation`; absent without a validation split).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_accuracy: Option<f64>,
    /// Final validation loss (`data.validation`; absent without a validation split).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_loss: Option<f64>,
    /// Final training loss.
    pub train_loss: Option<f64>,
    /// Mean over hidden layers of the final activation sparsity.
    pub sparsity: Option<f64>,
    /// Mean over hidden layers of the final saturation.
    pub saturation: Option<f64>,
    /// First step at which test accuracy reached `train.target_accuracy`.
    pub convergence_step: Option<usize>,
    /// Training wall time in seconds (excluding data loading).
    pub wall_s: f64,
    /// Training samples per second.
    pub samples_per_s: f64,
    /// Backend used.
    pub backend: String,
    /// Threads of the run's tensor operations (see `parallel`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
    /// The process's peak resident memory (MiB) when the run ended: with `--jobs N` it covers
    /// the runs trained beside it and the shared datasets too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_mib: Option<f64>,
}

/// A finished result with every metric absent, for tests to fill in.
#[cfg(test)]
pub fn blank_result(run_id: String) -> ResultRecord {
    ResultRecord {
        run_id,
        config_hash: String::new(),
        status: Status::Finished,
        error: None,
        diverged_step: None,
        epochs: 1,
        steps: 1,
        test_accuracy: None,
        test_loss: None,
        best_test_accuracy: None,
        val_accuracy: None,
        val_loss: None,
        train_loss: None,
        sparsity: None,
        saturation: None,
        convergence_step: None,
        wall_s: 0.0,
        samples_per_s: 0.0,
        backend: String::new(),
        threads: None,
        peak_rss_mib: None,
    }
}

/// The files of one run.
#[derive(Clone, Debug)]
pub struct RunDir(pub PathBuf);

impl RunDir {
    /// `config.json`.
    pub fn config(&self) -> PathBuf {
        self.0.join("config.json")
    }
    /// `epochs.jsonl`.
    pub fn epochs(&self) -> PathBuf {
        self.0.join("epochs.jsonl")
    }
    /// `steps.jsonl`.
    pub fn steps(&self) -> PathBuf {
        self.0.join("steps.jsonl")
    }
    /// `evals.jsonl`.
    pub fn evals(&self) -> PathBuf {
        self.0.join("evals.jsonl")
    }
    /// `stats.jsonl` (`log.stats_every`).
    pub fn stats(&self) -> PathBuf {
        self.0.join("stats.jsonl")
    }
    /// `result.json`.
    pub fn result(&self) -> PathBuf {
        self.0.join("result.json")
    }
    /// `checkpoint/` (model.bpk, optim.bpk, state.json).
    pub fn checkpoint(&self) -> PathBuf {
        self.0.join("checkpoint")
    }
    /// `model.bpk`: the trained model.
    pub fn model(&self) -> PathBuf {
        self.0.join("model.bpk")
    }

    /// The existing result, if it is whole and for this config hash.
    pub fn finished_result(&self, hash: &str) -> Option<ResultRecord> {
        let r: ResultRecord = read_json(&self.result()).ok()?;
        (r.config_hash == hash && r.status != Status::Failed).then_some(r)
    }
}
