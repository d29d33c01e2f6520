//! Statistics of hidden layers from a traced forward pass.
//!
//! Definitions (τ and ρ are [`Thresholds`]):
//! - **sparsity**: fraction of activations with `|a| < τ`; exact zeros (`a == 0`) for ReLU,
//!   whose zeros are exact.
//! - **saturation**: fraction of pre-activations with `f'(z) < ρ·max f'`.
//! - **dead unit**: a unit whose `f'(z) < ρ·max f'` for every sample of the batch (for a
//!   convolution: every sample and pixel of its channel); it passes almost no gradient.
//! - **mean derivative**: mean of `f'(z)`, the average per-layer gradient gain of the
//!   activation (≤ 0.25 for sigmoid).

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::layer::{ActivationLayer, LayerTrace};

/// Thresholds behind the statistics.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// τ: an activation with `|a| < τ` counts as inactive. Default 0.01, i.e. 1 % of the
    /// sigmoid/tanh output scale.
    pub sparsity: f64,
    /// ρ: a pre-activation is saturated when `f'(z) < ρ·max f'`. Default 0.05, so sigmoid
    /// saturates beyond |z| ≈ 4.36 (where σ' = 0.0125) and tanh beyond |z| ≈ 2.18.
    pub saturation: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            sparsity: 0.01,
            saturation: 0.05,
        }
    }
}

/// Statistics of one hidden layer over one batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerStats {
    /// Layer name.
    pub name: String,
    /// Fraction of inactive activations (see the module docs).
    pub sparsity: f64,
    /// Fraction of saturated pre-activations.
    pub saturation: f64,
    /// Fraction of units dead on the whole batch.
    pub dead_units: f64,
    /// Mean of `f'(z)`.
    pub mean_derivative: f64,
    /// Mean activation.
    pub act_mean: f64,
    /// Standard deviation of activations (population, over all samples and units).
    pub act_std: f64,
}

/// Number of statistics per layer in the flat device buffer.
const PER_LAYER: usize = 6;

/// Computes [`LayerStats`] for every traced layer with one device-to-host transfer.
///
/// `layers` are the activation layers behind `traces`, in the same order
/// ([`crate::Network::activation_layers`]).
pub fn layer_stats(
    traces: &[LayerTrace],
    layers: &[&ActivationLayer],
    thresholds: Thresholds,
) -> Vec<LayerStats> {
    assert_eq!(traces.len(), layers.len(), "one activation layer per trace");
    if traces.is_empty() {
        return Vec::new();
    }
    let mut parts: Vec<Tensor<1>> = Vec::with_capacity(traces.len() * PER_LAYER);
    for (trace, layer) in traces.iter().zip(layers) {
        let activation = layer.activation;
        let a = trace.act.clone();
        let inactive = if activation.has_exact_zeros() {
            a.clone().equal_elem(0.0)
        } else {
            a.clone().abs().lower_elem(thresholds.sparsity)
        };
        let limit = thresholds.saturation * activation.derivative_peak().value;
        let derivative = layer.derivative(trace.pre.clone());
        let saturated = derivative.clone().lower_elem(limit).float();
        // A unit is dead when even its largest derivative over the batch is below the limit.
        let dead = derivative
            .clone()
            .max_dim(0)
            .lower_elem(limit)
            .float()
            .mean();
        let mean = a.clone().mean();
        let std = (a.clone() - mean.clone().unsqueeze::<2>())
            .square()
            .mean()
            .sqrt();
        parts.extend([
            inactive.float().mean(),
            saturated.mean(),
            dead,
            derivative.mean(),
            mean,
            std,
        ]);
    }
    let data = Tensor::cat(parts, 0).into_data().convert::<f64>();
    let values = data
        .as_slice::<f64>()
        .expect("stats should be f64 after convert");
    traces
        .iter()
        .zip(values.chunks(PER_LAYER))
        .map(|(trace, v)| LayerStats {
            name: trace.name.clone(),
            sparsity: v[0],
            saturation: v[1],
            dead_units: v[2],
            mean_derivative: v[3],
            act_mean: v[4],
            act_std: v[5],
        })
        .collect()
}
