//! Per-layer learning rates: `train.lr_policy` scales the base rate of each weight layer (its
//! [`LayerGroup`]: weight, bias, batch norm, activation slope) by a factor that the policy
//! refreshes during training. Burn's optimisers take the result as a [`ModuleLearningRate`], so
//! every optimiser (SGD, Adam, RMSprop, Adagrad) honours it.
//!
//! Policies (text form `name:key=value,…`):
//! - `uniform`: every factor 1 (plain training).
//! - `derivative:cap=C,every=K`: compensates the gradient shrinkage that the activation
//!   derivatives cause on the way back to each layer (see [`derivative_factors`]); refreshed
//!   from the statistics batch every K steps.
//! - `lars:eta=E`: LARS trust ratio, every step (You, Gitman & Ginsburg 2017; see
//!   [`lars_factors`]).
//! - `tempbalance:min=A,max=B,every=K`: TempBalance (Zhou et al. 2023): factors from each
//!   layer's heavy-tail exponent α, refreshed every K steps (0: at each epoch start).

use std::fmt;
use std::str::FromStr;

use anyhow::{Result, anyhow, bail};
use burn::module::ParamGroup;
use burn::optim::lr_scheduler::module_lr_scheduler::{ModuleLearningRate, ModuleLrScheduler};
use burn::tensor::{Gradients, Tensor};
use gradlab_model::{LayerGroup, LayerNorms, Network, Spec, SpecError, spectral};
use serde::{Deserialize, Serialize};

const POLICIES: &str = "uniform, derivative:cap=C,every=K, lars:eta=E, \
                        tempbalance:min=A,max=B,every=K";

/// How the base learning rate is shared out among the weight layers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum LrPolicy {
    /// The base rate for every layer.
    #[default]
    Uniform,
    /// Derivative-aware rates (see [`derivative_factors`]).
    Derivative {
        /// Largest factor (and 1/cap the smallest).
        cap: f64,
        /// Steps between refreshes.
        every: usize,
    },
    /// LARS trust ratio (see [`lars_factors`]).
    Lars {
        /// Trust coefficient η.
        eta: f64,
    },
    /// TempBalance: factors in `[min, max]` from each layer's power-law exponent α.
    TempBalance {
        /// Factor of the layer with the smallest α.
        min: f64,
        /// Factor of the layer with the largest α.
        max: f64,
        /// Steps between refreshes; 0 refreshes at each epoch start.
        every: usize,
    },
}

impl LrPolicy {
    /// Whether the policy changes anything.
    pub fn is_uniform(&self) -> bool {
        *self == LrPolicy::Uniform
    }

    /// Whether the factors are due for a refresh before `step` (0-based) of an epoch that
    /// starts at `epoch_start`.
    pub fn due(&self, step: usize, epoch_start: usize) -> bool {
        match *self {
            LrPolicy::Uniform => false,
            LrPolicy::Lars { .. } => true,
            LrPolicy::Derivative { every, .. } => step.is_multiple_of(every),
            LrPolicy::TempBalance { every: 0, .. } => step == epoch_start,
            LrPolicy::TempBalance { every, .. } => step.is_multiple_of(every),
        }
    }

    /// Rejects a policy that cannot work on `net`, naming the alternative.
    pub fn check(&self, net: &Network) -> Result<()> {
        if matches!(self, LrPolicy::Derivative { .. }) && !matches!(net, Network::Mlp(_)) {
            bail!(
                "train.lr_policy `derivative` follows the chain of dense layers of an MLP; \
                 for a CNN use `lars` or `tempbalance`"
            );
        }
        Ok(())
    }
}

impl FromStr for LrPolicy {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let err = |e: SpecError| format!("{e} (valid: {POLICIES})");
        let spec = Spec::parse(text, "learning-rate policy").map_err(err)?;
        let keys: &[&str] = match spec.name {
            "uniform" => &[],
            "derivative" => &["cap", "every"],
            "lars" => &["eta"],
            "tempbalance" => &["min", "max", "every"],
            _ => return Err(err(spec.unknown_name(&POLICY_NAMES))),
        };
        spec.check_keys(keys).map_err(err)?;
        let steps = |key: &str, default: f64, least: f64| -> Result<usize, String> {
            let v = spec.number(key, default).map_err(err)?;
            if v < least || v.fract() != 0.0 {
                return Err(format!(
                    "learning-rate policy `{text}`: `{key}` must be a whole number of steps \
                     >= {least}, got {v}"
                ));
            }
            Ok(v as usize)
        };
        let policy = match spec.name {
            "uniform" => LrPolicy::Uniform,
            "derivative" => LrPolicy::Derivative {
                cap: spec.positive("cap", 10.0).map_err(err)?,
                every: steps("every", 100.0, 1.0)?,
            },
            "lars" => LrPolicy::Lars {
                eta: spec.positive("eta", 0.001).map_err(err)?,
            },
            _ => LrPolicy::TempBalance {
                min: spec.positive("min", 0.5).map_err(err)?,
                max: spec.positive("max", 1.5).map_err(err)?,
                every: steps("every", 0.0, 0.0)?,
            },
        };
        match policy {
            LrPolicy::Derivative { cap, .. } if cap < 1.0 => Err(format!(
                "learning-rate policy `{text}`: `cap` must be at least 1, got {cap}"
            )),
            LrPolicy::TempBalance { min, max, .. } if min > max => Err(format!(
                "learning-rate policy `{text}`: needs min <= max, got min {min} > max {max}"
            )),
            p => Ok(p),
        }
    }
}

const POLICY_NAMES: [&str; 4] = ["uniform", "derivative", "lars", "tempbalance"];

impl fmt::Display for LrPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LrPolicy::Uniform => write!(f, "uniform"),
            LrPolicy::Derivative { cap, every } => write!(f, "derivative:cap={cap},every={every}"),
            LrPolicy::Lars { eta } => write!(f, "lars:eta={eta}"),
            LrPolicy::TempBalance { min, max, every } => {
                write!(f, "tempbalance:min={min},max={max},every={every}")
            }
        }
    }
}

impl TryFrom<String> for LrPolicy {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        text.parse()
    }
}

impl From<LrPolicy> for String {
    fn from(p: LrPolicy) -> String {
        p.to_string()
    }
}

/// Derivative-aware factors for an MLP with `gains.len()` hidden layers and one output layer.
///
/// `gains[j]` is the RMS of `f'(z_j)` of hidden layer `j` over a probe batch: by how much the
/// activation scales a gradient passing back through it (≤ 0.25 for sigmoid, the article's
/// point). The gradient of hidden layer `i`'s weights has passed back through activations
/// `i..H`, so it is scaled by `D_i = Π_{j ≥ i} e_j`, with `e_j = gains[j]`, or
/// `e_j = √(1 + gains[j]²)` where `skips[j]` adds the layer's input back (the identity path
/// carries the gradient unscaled). The factor `1/D_i` undoes that scaling, clamped to
/// `[1/cap, cap]`; the output layer keeps factor 1.
///
/// Assumptions: the weight matrices preserve gradient norms on their own (‖Wᵀδ‖ ≈ ‖δ‖, which
/// Xavier/orthogonal initialisation gives for equal widths), the derivative is independent of
/// the back-propagated signal (mean-field), and batch norm's own scaling is left out.
pub fn derivative_factors(gains: &[f64], skips: &[bool], cap: f64) -> Vec<f64> {
    let mut factors = vec![1.0; gains.len() + 1];
    let mut through = 1.0;
    for j in (0..gains.len()).rev() {
        let g = gains[j];
        through *= if skips.get(j).copied().unwrap_or(false) {
            (1.0 + g * g).sqrt()
        } else {
            g
        };
        factors[j] = clamp_factor(1.0 / through, cap);
    }
    factors
}

fn clamp_factor(f: f64, cap: f64) -> f64 {
    if f.is_nan() {
        return cap;
    }
    f.clamp(1.0 / cap, cap)
}

/// LARS factors (You, Gitman & Ginsburg 2017, eq. 6): `η ‖W‖ / (‖∇W‖ + β ‖W‖)` per layer, with
/// β the weight decay; 1 where either norm is 0 (a layer not yet trained or with no gradient).
/// The layer's bias and batch norm take its weight's factor.
pub fn lars_factors(norms: &[LayerNorms], eta: f64, weight_decay: f64) -> Vec<f64> {
    norms
        .iter()
        .map(|n| {
            if n.weight_norm > 0.0 && n.grad_norm > 0.0 {
                eta * n.weight_norm / (n.grad_norm + weight_decay * n.weight_norm)
            } else {
                1.0
            }
        })
        .collect()
}

/// RMS of `f'(z)` per hidden layer of `net` on `images`, read from the device in one transfer.
pub fn derivative_gains(net: &Network, images: Tensor<4>) -> Vec<f64> {
    let traced = net.forward_traced(images, true);
    let layers = net.activation_layers();
    let parts: Vec<Tensor<1>> = traced
        .traces
        .iter()
        .zip(&layers)
        .map(|(trace, layer)| {
            layer
                .derivative(trace.pre.clone().detach())
                .square()
                .mean()
                .sqrt()
        })
        .collect();
    if parts.is_empty() {
        return Vec::new();
    }
    let data = Tensor::cat(parts, 0).into_data().convert::<f64>();
    data.as_slice::<f64>()
        .expect("gains should be f64 after convert")
        .to_vec()
}

/// The current per-layer factors and the parameter groups they apply to.
pub struct LayerRates {
    groups: Vec<LayerGroup>,
    factors: Vec<f64>,
}

impl LayerRates {
    /// Factor 1 for every layer of `net`.
    pub fn new(net: &Network) -> Self {
        let groups = net.layer_groups();
        let factors = vec![1.0; groups.len()];
        LayerRates { groups, factors }
    }

    /// The factors, one per weight layer in [`Network::weights`] order.
    pub fn factors(&self) -> &[f64] {
        &self.factors
    }

    /// Replaces the factors; `factors` has one entry per weight layer.
    pub fn set(&mut self, factors: Vec<f64>) {
        assert_eq!(factors.len(), self.groups.len(), "one factor per layer");
        self.factors = factors;
    }

    /// Recomputes the factors for `policy` from the current network: `probe` images for the
    /// derivative rule, `grads` (this step's gradients) for LARS, the weights for TempBalance.
    ///
    /// TODO: with batch norm on, the derivative rule's training-mode probe pass nudges the
    /// running averages (as `train::layer_snapshot` does); probe a copy of the network instead.
    pub fn refresh(
        &mut self,
        policy: &LrPolicy,
        net: &Network,
        probe: &Tensor<4>,
        grads: &Gradients,
        weight_decay: f64,
    ) -> Result<()> {
        match *policy {
            LrPolicy::Uniform => {}
            LrPolicy::Derivative { cap, .. } => {
                let gains = derivative_gains(net, probe.clone());
                let skips = match net {
                    Network::Mlp(m) => m.skips.clone(),
                    Network::Cnn(_) => Vec::new(),
                };
                self.set(derivative_factors(&gains, &skips, cap));
            }
            LrPolicy::Lars { eta } => {
                self.set(lars_factors(
                    &net.layer_norms(Some(grads)),
                    eta,
                    weight_decay,
                ));
            }
            LrPolicy::TempBalance { min, max, .. } => {
                let alphas: Vec<f64> = spectral::layer_alphas(net)
                    .map_err(|e| anyhow!("train.lr_policy `tempbalance`: {e}"))?
                    .into_iter()
                    .map(|(_, alpha)| alpha)
                    .collect();
                self.set(spectral::tempbalance_factors(&alphas, min, max));
            }
        }
        Ok(())
    }

    /// The per-parameter rates for base rate `lr`.
    pub fn module_lr(&self, lr: f64) -> ModuleLearningRate {
        let mut scheduler = ModuleLrScheduler::new(lr);
        for (group, factor) in self.groups.iter().zip(&self.factors) {
            scheduler = scheduler.with_group(ParamGroup::from_ids(group.ids.clone()), lr * factor);
        }
        scheduler.step()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_with_defaults_and_round_trip() {
        let p: LrPolicy = "derivative".parse().unwrap();
        assert_eq!(
            p,
            LrPolicy::Derivative {
                cap: 10.0,
                every: 100
            }
        );
        for text in [
            "uniform",
            "derivative:cap=4,every=50",
            "lars:eta=0.002",
            "tempbalance:min=0.6,max=1.4,every=0",
        ] {
            let p: LrPolicy = text.parse().unwrap();
            assert_eq!(p.to_string(), text);
        }
    }

    #[test]
    fn bad_policies_name_the_fix() {
        let e = "layerwise".parse::<LrPolicy>().unwrap_err();
        assert!(
            e.contains("unknown learning-rate policy `layerwise`"),
            "{e}"
        );
        assert!(e.contains("tempbalance"), "{e}");
        let e = "lars:cap=3".parse::<LrPolicy>().unwrap_err();
        assert!(e.contains("unknown parameter `cap`"), "{e}");
        let e = "derivative:cap=0.5".parse::<LrPolicy>().unwrap_err();
        assert!(e.contains("at least 1"), "{e}");
        let e = "derivative:every=0".parse::<LrPolicy>().unwrap_err();
        assert!(e.contains("whole number"), "{e}");
        let e = "tempbalance:min=2,max=1".parse::<LrPolicy>().unwrap_err();
        assert!(e.contains("min <= max"), "{e}");
    }

    #[test]
    fn derivative_factors_compensate_and_cap() {
        // Identity activations: nothing to compensate.
        assert_eq!(derivative_factors(&[1.0; 4], &[], 10.0), vec![1.0; 5]);
        // Sigmoid-like gains of 0.25: 4, 16, 64 toward the input, capped at 10.
        let f = derivative_factors(&[0.25, 0.25, 0.25], &[], 100.0);
        assert_eq!(f, vec![64.0, 16.0, 4.0, 1.0]);
        let f = derivative_factors(&[0.25, 0.25, 0.25], &[], 10.0);
        assert_eq!(f, vec![10.0, 10.0, 4.0, 1.0]);
        // A skip connection carries the gradient past the activation.
        let f = derivative_factors(&[0.25, 0.0], &[false, true], 100.0);
        assert_eq!(f[1], 1.0);
        assert_eq!(f[0], 4.0);
        // Gains above 1 (SELU's λ > 1) give factors below 1, down to 1/cap.
        let f = derivative_factors(&[4.0, 4.0], &[], 10.0);
        assert_eq!(f, vec![0.1, 0.25, 1.0]);
    }

    /// Factors of the derivative rule for a fresh MLP of `depth` hidden layers, measured on a
    /// real forward pass of random images.
    fn measured_factors(activation: &str, depth: usize) -> Vec<f64> {
        use gradlab_model::{Architecture, MlpConfig};
        let device = burn::tensor::Device::flex();
        let arch = Architecture::Mlp(
            MlpConfig::new(784, 10, depth, 64).with_activation(activation.parse().unwrap()),
        );
        let net = arch.init(7, &device);
        let images = Tensor::<4>::random(
            [32, 1, 28, 28],
            burn::tensor::Distribution::Uniform(0.0, 1.0),
            &device,
        );
        let gains = derivative_gains(&net, images);
        assert_eq!(gains.len(), depth);
        derivative_factors(&gains, &[], 1e6)
    }

    #[test]
    fn derivative_rule_is_uniform_for_a_linear_network_and_favours_lower_sigmoid_layers() {
        // f' = 1 everywhere: every layer keeps the base rate.
        assert_eq!(measured_factors("identity", 5), vec![1.0; 6]);

        // Sigmoid: f' <= 0.25, so each layer further from the output gets a larger rate, at
        // least 4x the one above it.
        let f = measured_factors("sigmoid", 5);
        assert_eq!(f[5], 1.0, "the output layer keeps the base rate: {f:?}");
        for i in 0..5 {
            assert!(f[i] >= 4.0 * f[i + 1] * 0.999, "layer {i}: {f:?}");
        }
        assert!(f[0] > 4f64.powi(5) * 0.999, "{f:?}");
    }

    #[test]
    fn lars_is_the_trust_ratio() {
        let norm = |w: f64, g: f64| LayerNorms {
            name: "l".into(),
            weight_norm: w,
            grad_norm: g,
        };
        let f = lars_factors(
            &[norm(10.0, 0.5), norm(2.0, 0.0), norm(4.0, 1.0)],
            0.01,
            0.1,
        );
        assert!((f[0] - 0.01 * 10.0 / (0.5 + 1.0)).abs() < 1e-15);
        assert_eq!(f[1], 1.0);
        assert!((f[2] - 0.01 * 4.0 / 1.4).abs() < 1e-15);
    }
}
