//! One training run: a custom loop on the autodiff device that records what the experiments
//! need without slowing training (scalars are read from the device only on logging steps).

use std::fs;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use burn::module::Module;
use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::optim::GradientsParams;
use burn::tensor::{Int, Tensor};
use gradlab_data::{Batcher, Split};
use gradlab_model::{Network, Thresholds, layer_stats};
use serde::Serialize;

use crate::backend::Backend;
use crate::checkpoint::{self, State};
use crate::grid::Run;
use crate::optim;
use crate::policy::LayerRates;
use crate::record::{
    EpochRecord, EvalRecord, LayerRecord, ResultRecord, RunDir, StatsRecord, Status, StepRecord,
    layer_records, write_json, write_jsonl,
};

/// Where progress goes: the caller decides (bar, plain lines, nothing).
pub trait Progress: Sync {
    /// A human-readable line about run `id`.
    fn line(&self, id: &str, text: &str);
    /// Run `id` starts (or resumes at `done`) with `total` steps.
    fn start(&self, _id: &str, _done: usize, _total: usize) {}
    /// Run `id` is at `step`, with the last read loss and training samples/s.
    fn update(&self, _id: &str, _step: usize, _loss: f64, _rate: f64) {}
    /// Run `id` is done.
    fn finish(&self, _id: &str) {}
}

/// The training and test splits of one run.
pub struct RunData {
    /// Training images.
    pub train: Split,
    /// Validation images (`data.validation`), evaluated each epoch like the test set.
    pub validation: Option<Split>,
    /// Test images.
    pub test: Split,
}

#[derive(Serialize)]
struct ConfigFile<'a> {
    run_id: &'a str,
    config_hash: &'a str,
    axes: &'a [(String, String)],
    config: &'a crate::config::RunConfig,
}

/// Mean loss and accuracy of `net` (in eval mode) on every batch of `batcher`; one device read.
pub fn evaluate(net: &Network, batcher: &Batcher, loss_fn: &CrossEntropyLoss) -> (f64, f64) {
    let mut loss_sum: Option<Tensor<1>> = None;
    let mut correct: Option<Tensor<1, Int>> = None;
    for (images, labels) in batcher.epoch(0) {
        let n = labels.dims()[0] as f64;
        let logits = net.forward(images);
        let (l, c) = batch_sums(logits, labels, loss_fn, n);
        loss_sum = Some(loss_sum.map_or(l.clone(), |s| s + l));
        correct = Some(correct.map_or(c.clone(), |s| s + c));
    }
    let total = batcher.split().len() as f64;
    let loss = loss_sum.map_or(f64::NAN, |s| s.into_scalar::<f32>() as f64) / total;
    let acc = correct.map_or(0.0, |c| c.into_scalar::<i64>() as f64) / total;
    (loss, acc)
}

/// Summed loss and number correct of one batch, detached, on the device.
fn batch_sums(
    logits: Tensor<2>,
    labels: Tensor<1, Int>,
    loss_fn: &CrossEntropyLoss,
    n: f64,
) -> (Tensor<1>, Tensor<1, Int>) {
    let logits = logits.detach();
    let loss = loss_fn
        .forward(logits.clone(), labels.clone())
        .mul_scalar(n);
    let correct = logits
        .argmax(1)
        .squeeze_dim::<1>(1)
        .equal(labels)
        .int()
        .sum();
    (loss, correct)
}

/// Per-layer statistics of `net` on a fixed batch: activation statistics from a traced forward
/// pass, weight and gradient norms from one backward pass.
///
/// TODO: with batch norm on, this training-mode pass also nudges the running averages; run it
/// on a copy of the network (or with momentum 0) so that recording never changes the model.
pub fn layer_snapshot(
    net: &Network,
    batch: &(Tensor<4>, Tensor<1, Int>),
    loss_fn: &CrossEntropyLoss,
) -> Vec<LayerRecord> {
    let traced = net.forward_traced(batch.0.clone(), true);
    let stats = layer_stats(
        &traced.traces,
        &net.activation_layers(),
        Thresholds::default(),
    );
    let grads = loss_fn.forward(traced.logits, batch.1.clone()).backward();
    layer_records(&stats, &net.layer_norms(Some(&grads)))
}

/// Trains `run` into `out/runs/ID/`, resuming from a checkpoint of the same config when there
/// is one. Divergence is a result, not an error; errors are returned for the caller to record.
pub fn train(
    run: &Run,
    data: &RunData,
    out: &Path,
    backend: Backend,
    progress: &dyn Progress,
) -> Result<ResultRecord> {
    let c = &run.config;
    let dir = RunDir(out.join("runs").join(&run.id));
    fs::create_dir_all(&dir.0).with_context(|| format!("creating {}", dir.0.display()))?;
    let cfg = ConfigFile {
        run_id: &run.id,
        config_hash: &run.hash,
        axes: &run.axes,
        config: c,
    };
    write_json(&dir.config(), &cfg)?;

    let device = backend.device()?.autodiff();
    let plain = device.clone().inner();
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    let eval_loss = CrossEntropyLossConfig::new().init(&plain);
    let t = &c.train;
    let mut net = c.architecture().init(t.seed, &device);
    let mut opt = optim::build(t);
    let norm = c.data.normalization;
    let train_b = Batcher::new(&data.train, t.batch_size, norm, &device).shuffle(Some(t.seed));
    let test_b = Batcher::new(&data.test, 1000, norm, &plain);
    let val_b = (data.validation.as_ref()).map(|v| Batcher::new(v, 1000, norm, &plain));
    // (loss, accuracy) on the validation split, or (None, None) without one.
    let validate = |net: &Network| match &val_b {
        Some(b) => {
            let (loss, acc) = evaluate(&net.valid(), b, &eval_loss);
            (Some(loss), Some(acc))
        }
        None => (None, None),
    };
    let n_stats = c.log.stats_batch.clamp(1, data.train.len());
    let stats_batch = train_b.batch(&(0..n_stats).collect::<Vec<_>>());
    let steps_per_epoch = train_b.num_batches();
    let total_steps = steps_per_epoch * t.epochs;

    let mut st = match checkpoint::load(&dir, &run.hash, net, opt)? {
        (n, o, Some(state)) => {
            (net, opt) = (n, o);
            progress.line(&run.id, &format!("resuming after epoch {}", state.epoch));
            state
        }
        (n, o, None) => {
            (net, opt) = (n, o);
            let (test_loss, test_accuracy) = evaluate(&net.valid(), &test_b, &eval_loss);
            let (val_loss, val_accuracy) = validate(&net);
            let layers = layer_snapshot(&net, &stats_batch, &loss_fn);
            let mut state = State::new(
                &run.hash,
                EpochRecord {
                    epoch: 0,
                    step: 0,
                    train_loss: None,
                    train_accuracy: None,
                    test_loss,
                    test_accuracy,
                    val_loss,
                    val_accuracy,
                    layers: layers.clone(),
                },
            );
            if c.log.stats_every.is_some() {
                state.stats.push(StatsRecord { step: 0, layers });
            }
            state
        }
    };

    t.lr_policy.check(&net)?;
    // Built after a resume too: the factors are recomputed at the first step, not restored.
    let mut rates = LayerRates::new(&net);
    let mut rates_fresh = false;

    let mut diverged_step = None;
    progress.start(&run.id, st.step, total_steps);
    'epochs: for epoch in st.epoch + 1..=t.epochs {
        let started = Instant::now();
        let mut eval_s = 0.0;
        let mut loss_sum: Option<Tensor<1>> = None;
        let mut correct: Option<Tensor<1, Int>> = None;
        let epoch_start = st.step;
        for (images, labels) in train_b.epoch(epoch as u64) {
            let step = st.step;
            let lr = t.schedule.lr(t.lr, step, total_steps, t.warmup);
            let n = labels.dims()[0] as f64;
            let logits = net.forward(images);
            let loss = loss_fn.forward(logits.clone(), labels.clone());
            let (l, k) = batch_sums(logits, labels, &loss_fn, n);
            loss_sum = Some(loss_sum.map_or(l.clone(), |s| s + l));
            correct = Some(correct.map_or(k.clone(), |s| s + k));
            let grads = loss.backward();
            let policy = &t.lr_policy;
            if !policy.is_uniform() && (!rates_fresh || policy.due(step, epoch_start)) {
                rates.refresh(policy, &net, &stats_batch.0, &grads, t.weight_decay)?;
                rates_fresh = true;
            }
            // The loss is read (a device sync) only on logged steps, so a NaN is noticed up to
            // `log.every` steps late. TODO: keep a device-side "any non-finite loss" flag and read
            // it with the logged values, then bisect the logged interval from the last checkpoint.
            if step < c.log.first_steps || step % c.log.every == 0 {
                let value = loss.into_scalar::<f32>() as f64;
                let norms = net.layer_norms(Some(&grads));
                let grad_norms = norms.iter().map(|n| n.grad_norm).collect();
                st.steps.push(StepRecord {
                    step,
                    lr,
                    loss: value,
                    grad_norms,
                    lr_factors: (!policy.is_uniform()).then(|| rates.factors().to_vec()),
                });
                let elapsed = st.wall_s + started.elapsed().as_secs_f64() - eval_s;
                let seen = st.samples + (step + 1 - st.epoch * steps_per_epoch) * t.batch_size;
                progress.update(&run.id, step + 1, value, seen as f64 / elapsed.max(1e-9));
                if !value.is_finite() {
                    diverged_step = Some(step);
                    break 'epochs;
                }
            }
            let grads = GradientsParams::from_grads(grads, &net);
            net = if policy.is_uniform() {
                opt.step(lr, net, grads)
            } else {
                opt.step(rates.module_lr(lr), net, grads)
            };
            st.step += 1;
            // A snapshot is a device sync: only on the steps `log.stats_every` asks for.
            if let Some(every) = c.log.stats_every
                && st.step % every == 0
            {
                let layers = layer_snapshot(&net, &stats_batch, &loss_fn);
                st.stats.push(StatsRecord {
                    step: st.step,
                    layers,
                });
            }
            if c.log.eval_every > 0 && st.step % c.log.eval_every == 0 {
                let eval_started = Instant::now();
                let (_, acc) = evaluate(&net.valid(), &test_b, &eval_loss);
                eval_s += eval_started.elapsed().as_secs_f64();
                st.evals.push(EvalRecord {
                    step: st.step,
                    test_accuracy: acc,
                });
                if acc >= t.target_accuracy && st.convergence_step.is_none() {
                    st.convergence_step = Some(st.step);
                }
            }
        }
        let seen = data.train.len() as f64;
        let train_loss = loss_sum.map_or(f64::NAN, |s| s.into_scalar::<f32>() as f64) / seen;
        let train_accuracy = correct.map_or(0.0, |s| s.into_scalar::<i64>() as f64) / seen;
        // Training time only: in-epoch evaluations are excluded from samples/s.
        st.wall_s += started.elapsed().as_secs_f64() - eval_s;
        st.samples += data.train.len();
        if !train_loss.is_finite() {
            diverged_step = Some(st.step);
            break;
        }
        let (test_loss, test_accuracy) = evaluate(&net.valid(), &test_b, &eval_loss);
        if test_accuracy >= t.target_accuracy && st.convergence_step.is_none() {
            st.convergence_step = Some(st.step);
        }
        let (val_loss, val_accuracy) = validate(&net);
        let layers = layer_snapshot(&net, &stats_batch, &loss_fn);
        st.epochs.push(EpochRecord {
            epoch,
            step: st.step,
            train_loss: Some(train_loss),
            train_accuracy: Some(train_accuracy),
            test_loss,
            test_accuracy,
            val_loss,
            val_accuracy,
            layers,
        });
        st.epoch = epoch;
        let val = val_accuracy.map_or(String::new(), |a| format!(" val acc {a:.4}"));
        progress.line(
            &run.id,
            &format!(
                "epoch {epoch}/{} loss {train_loss:.4}{val} test acc {test_accuracy:.4} {:.0} \
                 samples/s",
                t.epochs,
                st.samples as f64 / st.wall_s.max(1e-9)
            ),
        );
        write_metrics(&dir, &st)?;
        let periodic = t.checkpoint_every > 0 && epoch % t.checkpoint_every == 0;
        if periodic && epoch < t.epochs {
            checkpoint::save(&dir, &net, &opt, &st)?;
        }
    }
    write_metrics(&dir, &st)?;
    if diverged_step.is_none() {
        net.clone()
            .save_file(dir.model().with_extension("bpk.part"))
            .map_err(|e| anyhow::anyhow!("saving the model to {}: {e:?}", dir.model().display()))?;
        fs::rename(dir.model().with_extension("bpk.part"), dir.model())?;
    }
    let result = result_record(run, &st, diverged_step, backend);
    write_json(&dir.result(), &result)?;
    checkpoint::remove(&dir);
    progress.finish(&run.id);
    Ok(result)
}

fn write_metrics(dir: &RunDir, st: &State) -> Result<()> {
    write_jsonl(&dir.epochs(), &st.epochs)?;
    write_jsonl(&dir.steps(), &st.steps)?;
    if !st.evals.is_empty() {
        write_jsonl(&dir.evals(), &st.evals)?;
    }
    if !st.stats.is_empty() {
        write_jsonl(&dir.stats(), &st.stats)?;
    }
    Ok(())
}

fn hidden_mean(layers: &[LayerRecord], f: impl Fn(&LayerRecord) -> Option<f64>) -> Option<f64> {
    let v: Vec<f64> = layers.iter().filter_map(f).collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn result_record(run: &Run, st: &State, diverged: Option<usize>, backend: Backend) -> ResultRecord {
    let last = st
        .epochs
        .last()
        .filter(|e| e.epoch > 0 && diverged.is_none());
    ResultRecord {
        run_id: run.id.clone(),
        config_hash: run.hash.clone(),
        status: if diverged.is_some() {
            Status::Diverged
        } else {
            Status::Finished
        },
        error: None,
        diverged_step: diverged,
        epochs: st.epoch,
        steps: st.step,
        test_accuracy: last.map(|e| e.test_accuracy),
        test_loss: last.map(|e| e.test_loss),
        best_test_accuracy: st
            .epochs
            .iter()
            .skip(1)
            .map(|e| e.test_accuracy)
            .reduce(f64::max),
        val_accuracy: last.and_then(|e| e.val_accuracy),
        val_loss: last.and_then(|e| e.val_loss),
        train_loss: last.and_then(|e| e.train_loss),
        sparsity: last.and_then(|e| hidden_mean(&e.layers, |l| l.sparsity)),
        saturation: last.and_then(|e| hidden_mean(&e.layers, |l| l.saturation)),
        convergence_step: st.convergence_step,
        wall_s: st.wall_s,
        samples_per_s: st.samples as f64 / st.wall_s.max(1e-9),
        backend: backend.to_string(),
        threads: Some(rayon::current_num_threads()),
        peak_rss_mib: crate::parallel::peak_rss_mib(),
    }
}

/// The result of a run that could not train: recorded so the grid goes on and the error shows.
pub fn failed_record(run: &Run, error: String, backend: Backend) -> ResultRecord {
    let mut r = result_record(run, &State::new(&run.hash, empty_epoch()), None, backend);
    r.status = Status::Failed;
    r.error = Some(error);
    r
}

fn empty_epoch() -> EpochRecord {
    EpochRecord {
        epoch: 0,
        step: 0,
        train_loss: None,
        train_accuracy: None,
        test_loss: f64::NAN,
        test_accuracy: 0.0,
        val_loss: None,
        val_accuracy: None,
        layers: Vec::new(),
    }
}
