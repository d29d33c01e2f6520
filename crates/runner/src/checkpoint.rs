//! Checkpoints: model and optimiser state (Burn's burnpack records) plus the loop's own state,
//! so an interrupted long run resumes from its last checkpoint instead of from scratch.
//!
//! A checkpoint is written whole into `checkpoint.new/` (state.json last), then swapped in for
//! `checkpoint/`. Whichever of the two holds a readable `state.json` with the right config hash
//! is complete, so a kill at any point leaves at least the previous checkpoint usable.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use burn::module::Module;
use burn::optim::ModuleOptimizer;
use gradlab_model::Network;
use serde::{Deserialize, Serialize};

use crate::record::{
    EpochRecord, EvalRecord, RunDir, StatsRecord, StepRecord, read_json, write_json,
};

/// The training loop's state, saved with each checkpoint.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct State {
    /// Config hash the checkpoint belongs to.
    pub hash: String,
    /// Epochs completed.
    pub epoch: usize,
    /// Steps done.
    pub step: usize,
    /// Training samples processed.
    pub samples: usize,
    /// Training wall time so far.
    pub wall_s: f64,
    /// First step at which the target accuracy was reached.
    pub convergence_step: Option<usize>,
    /// Epoch records so far (epoch 0 first).
    pub epochs: Vec<EpochRecord>,
    /// Step records so far.
    pub steps: Vec<StepRecord>,
    /// In-epoch evaluations so far.
    pub evals: Vec<EvalRecord>,
    /// Per-layer statistics every `log.stats_every` steps so far (default: none, so
    /// checkpoints written before the field existed still load).
    #[serde(default)]
    pub stats: Vec<StatsRecord>,
}

impl State {
    /// A fresh state whose first epoch record describes the initial network.
    pub fn new(hash: &str, first: EpochRecord) -> State {
        State {
            hash: hash.into(),
            epoch: 0,
            step: 0,
            samples: 0,
            wall_s: 0.0,
            convergence_step: None,
            epochs: vec![first],
            steps: Vec::new(),
            evals: Vec::new(),
            stats: Vec::new(),
        }
    }
}

fn folders(dir: &RunDir) -> [PathBuf; 2] {
    [dir.checkpoint(), dir.0.join("checkpoint.new")]
}

/// Saves a checkpoint.
pub fn save(dir: &RunDir, net: &Network, opt: &ModuleOptimizer, state: &State) -> Result<()> {
    let [current, new] = folders(dir);
    let _ = fs::remove_dir_all(&new);
    fs::create_dir_all(&new)?;
    net.clone()
        .save_file(new.join("model.bpk"))
        .map_err(|e| anyhow!("saving checkpoint model in {}: {e:?}", new.display()))?;
    opt.save(new.join("optim.bpk"))
        .map_err(|e| anyhow!("saving optimiser state in {}: {e:?}", new.display()))?;
    write_json(&new.join("state.json"), state)?;
    let _ = fs::remove_dir_all(&current);
    fs::rename(&new, &current)?;
    Ok(())
}

fn read_state(folder: &Path, hash: &str) -> Option<State> {
    let state: State = read_json(&folder.join("state.json")).ok()?;
    (state.hash == hash).then_some(state)
}

/// Loads the latest complete checkpoint for `hash` into `net` and `opt`, if there is one.
pub fn load(
    dir: &RunDir,
    hash: &str,
    net: Network,
    opt: ModuleOptimizer,
) -> Result<(Network, ModuleOptimizer, Option<State>)> {
    for folder in folders(dir) {
        if let Some(state) = read_state(&folder, hash) {
            let net = net
                .try_load_file(folder.join("model.bpk"))
                .map_err(|e| anyhow!("loading checkpoint {}: {e:?}", folder.display()))?;
            let opt = opt
                .load(folder.join("optim.bpk"))
                .map_err(|e| anyhow!("loading optimiser state {}: {e:?}", folder.display()))?;
            return Ok((net, opt, Some(state)));
        }
    }
    Ok((net, opt, None))
}

/// Removes checkpoints once the run's result is written (the final model is `model.bpk`).
pub fn remove(dir: &RunDir) {
    for folder in folders(dir) {
        let _ = fs::remove_dir_all(folder);
    }
}
