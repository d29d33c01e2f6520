//! Optimisers (Burn's, configured from the run config) and learning-rate schedules (our own).
//!
//! The schedule is computed here as a plain `f64` per step because Burn's schedulers refuse an
//! initial rate above 1, and the Nielsen-style experiments use lr = 3.0.

use std::fmt;
use std::str::FromStr;

use anyhow::{Result, bail};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdaGradConfig, AdamConfig, ModuleOptimizer, RmsPropConfig, SgdConfig};
use serde::{Deserialize, Serialize};

use crate::config::TrainConfig;

/// Which optimiser.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerKind {
    /// Stochastic gradient descent, optionally with (Nesterov) momentum and weight decay.
    #[default]
    Sgd,
    /// Adam (Kingma & Ba 2015).
    Adam,
    /// RMSprop.
    Rmsprop,
    /// Adagrad.
    Adagrad,
}

/// Builds the optimiser for `train`.
pub fn build(train: &TrainConfig) -> ModuleOptimizer {
    let decay =
        (train.weight_decay > 0.0).then(|| WeightDecayConfig::new(train.weight_decay as f32));
    match train.optimizer {
        OptimizerKind::Sgd => {
            // Dampening 0 as in PyTorch and the textbooks (Burn's default is 0.1).
            let momentum = (train.momentum > 0.0).then(|| {
                MomentumConfig::new()
                    .with_momentum(train.momentum)
                    .with_dampening(0.0)
                    .with_nesterov(train.nesterov)
            });
            SgdConfig::new()
                .with_momentum(momentum)
                .with_weight_decay(decay)
                .init()
        }
        OptimizerKind::Adam => AdamConfig::new().with_weight_decay(decay).init(),
        OptimizerKind::Rmsprop => RmsPropConfig::new()
            .with_momentum(train.momentum as f32)
            .with_weight_decay(decay)
            .init(),
        OptimizerKind::Adagrad => AdaGradConfig::new().with_weight_decay(decay).init(),
    }
}

/// A learning-rate schedule; text form `name` or `name:key=value,…`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Schedule {
    /// The base rate throughout.
    #[default]
    Constant,
    /// Multiply by `gamma` every `every` steps.
    Step {
        /// Steps between decays.
        every: usize,
        /// Factor.
        gamma: f64,
    },
    /// Multiply by `gamma` every step.
    Exponential {
        /// Per-step factor.
        gamma: f64,
    },
    /// Cosine annealing from the base rate to `min` over the whole run.
    Cosine {
        /// Final rate.
        min: f64,
    },
}

impl Schedule {
    /// The rate at `step` (0-based) of `total` steps, after `warmup` linear warm-up steps.
    pub fn lr(&self, base: f64, step: usize, total: usize, warmup: usize) -> f64 {
        if step < warmup {
            return base * (step + 1) as f64 / warmup as f64;
        }
        let s = (step - warmup) as f64;
        match *self {
            Schedule::Constant => base,
            Schedule::Step { every, gamma } => {
                base * gamma.powi((step - warmup) as i32 / every as i32)
            }
            Schedule::Exponential { gamma } => base * gamma.powf(s),
            Schedule::Cosine { min } => {
                let span = total.saturating_sub(warmup).max(1) as f64;
                let t = (s / span).min(1.0);
                min + (base - min) * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
            }
        }
    }

    /// Rejects parameters that make no sense, naming the fix.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Schedule::Step { every, gamma } if every == 0 || gamma.is_nan() || gamma <= 0.0 => {
                bail!(
                    "train.schedule step: needs every >= 1 and gamma > 0 (e.g. step:every=1000,gamma=0.5)"
                )
            }
            Schedule::Exponential { gamma } if !gamma.is_finite() || gamma <= 0.0 => {
                bail!(
                    "train.schedule exponential: gamma must be > 0 (e.g. exponential:gamma=0.999)"
                )
            }
            Schedule::Cosine { min } if !min.is_finite() || min < 0.0 => {
                bail!("train.schedule cosine: min must be >= 0 (e.g. cosine:min=0)")
            }
            _ => Ok(()),
        }
    }
}

const SCHEDULES: &str = "constant, step:every=N,gamma=G, exponential:gamma=G, cosine:min=M";

impl FromStr for Schedule {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (name, rest) = text.trim().split_once(':').unwrap_or((text.trim(), ""));
        let mut params = std::collections::BTreeMap::new();
        for pair in rest.split(',').filter(|p| !p.trim().is_empty()) {
            let (k, v) = pair
                .split_once('=')
                .ok_or(format!("schedule `{text}`: `{pair}` is not key=value"))?;
            let v: f64 = v
                .trim()
                .parse()
                .map_err(|_| format!("schedule `{text}`: `{v}` is not a number"))?;
            params.insert(k.trim().to_string(), v);
        }
        let get = |key: &str, default: f64| params.get(key).copied().unwrap_or(default);
        let allowed: &[&str] = match name {
            "constant" => &[],
            "step" => &["every", "gamma"],
            "exponential" => &["gamma"],
            "cosine" => &["min"],
            _ => return Err(format!("unknown schedule `{name}`; valid: {SCHEDULES}")),
        };
        if let Some(k) = params.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(format!(
                "schedule `{name}` has no parameter `{k}`; valid: {SCHEDULES}"
            ));
        }
        Ok(match name {
            "constant" => Schedule::Constant,
            "step" => Schedule::Step {
                every: get("every", 1000.0) as usize,
                gamma: get("gamma", 0.5),
            },
            "exponential" => Schedule::Exponential {
                gamma: get("gamma", 0.999),
            },
            _ => Schedule::Cosine {
                min: get("min", 0.0),
            },
        })
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Constant => write!(f, "constant"),
            Schedule::Step { every, gamma } => write!(f, "step:every={every},gamma={gamma}"),
            Schedule::Exponential { gamma } => write!(f, "exponential:gamma={gamma}"),
            Schedule::Cosine { min } => write!(f, "cosine:min={min}"),
        }
    }
}

impl TryFrom<String> for Schedule {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        text.parse()
    }
}

impl From<Schedule> for String {
    fn from(s: Schedule) -> String {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_allow_rates_above_one() {
        assert_eq!(Schedule::Constant.lr(3.0, 10, 100, 0), 3.0);
        assert_eq!(
            Schedule::Step {
                every: 10,
                gamma: 0.5
            }
            .lr(3.0, 25, 100, 0),
            0.75
        );
        assert!((Schedule::Cosine { min: 0.0 }.lr(2.0, 100, 100, 0)).abs() < 1e-12);
        assert_eq!(Schedule::Constant.lr(1.0, 0, 100, 4), 0.25);
        let s: Schedule = "step:every=5,gamma=0.1".parse().unwrap();
        assert_eq!(
            s,
            Schedule::Step {
                every: 5,
                gamma: 0.1
            }
        );
        assert!("warp".parse::<Schedule>().unwrap_err().contains("cosine"));
    }
}
