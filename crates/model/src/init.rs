//! Weight initialisers, drawn on the host from a seeded ChaCha8 stream so that the same seed
//! gives the same weights on every backend (CPU or GPU).
//!
//! Spelling: `name` or `name:key=value,…`, e.g. `xavier-uniform`, `he-normal:fan=fan-out`,
//! `normal:std=0.05`, `eoc:sigma_b2=0.05`. The `gain` of Xavier, He and orthogonal defaults as
//! documented per variant; biases are zero except for edge-of-chaos, whose theory includes them.
//! (Burn's own `Linear` draws its bias from the weight initialiser; gradlab never does.)

use std::fmt;
use std::str::FromStr;

use burn::tensor::{Device, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use crate::activation::Activation;
use crate::eoc;
use crate::spec::{Spec, SpecError};

/// Which fan scales a He (Kaiming) initialiser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FanMode {
    /// Preserve the forward variance (He et al. 2015, eq. 10).
    FanIn,
    /// Preserve the backward variance (He et al. 2015, eq. 14).
    FanOut,
}

/// A layer's fan-in (inputs per output unit) and fan-out (outputs per input unit). For a
/// convolution each counts the kernel's spatial size too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fans {
    /// Number of inputs feeding one output unit.
    pub fan_in: usize,
    /// Number of outputs one input unit feeds.
    pub fan_out: usize,
}

/// A weight initialisation scheme.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Init {
    /// All weights 0: every unit of a layer computes the same thing and receives the same
    /// gradient, so the symmetry is never broken (the experiment "zero init learns nothing").
    Zeros,
    /// All weights equal to `value`; as symmetric as zeros.
    Constant {
        /// The value.
        value: f64,
    },
    /// `U[low, high]`.
    Uniform {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
    },
    /// `N(mean, std²)`.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        std: f64,
    },
    /// `U[±gain·√(6 / (fan_in + fan_out))]`, Glorot & Bengio (2010) eq. 16, "normalized
    /// initialization". `gain` defaults to 1, as in the paper.
    XavierUniform {
        /// Multiplier; `None` means 1.
        gain: Option<f64>,
    },
    /// `N(0, gain²·2 / (fan_in + fan_out))`, the normal form of Glorot & Bengio (2010).
    XavierNormal {
        /// Multiplier; `None` means 1.
        gain: Option<f64>,
    },
    /// `U[±gain·√(3 / fan)]` (He et al. 2015, arXiv:1502.01852); `gain` defaults to
    /// [`Activation::gain`] of the layer's activation (√2 for ReLU).
    HeUniform {
        /// Fan used for scaling.
        fan: FanMode,
        /// Multiplier; `None` means the activation's gain.
        gain: Option<f64>,
    },
    /// `N(0, gain² / fan)` (He et al. 2015); `gain` defaults to the activation's gain.
    HeNormal {
        /// Fan used for scaling.
        fan: FanMode,
        /// Multiplier; `None` means the activation's gain.
        gain: Option<f64>,
    },
    /// `N(0, 1 / fan_in)` (LeCun et al. 1998, "Efficient BackProp"); the partner of SELU
    /// (Klambauer et al. 2017).
    LecunNormal,
    /// A random (semi-)orthogonal matrix times `gain` (Saxe et al. 2014, arXiv:1312.6120);
    /// `gain` defaults to the activation's gain.
    Orthogonal {
        /// Multiplier; `None` means the activation's gain.
        gain: Option<f64>,
    },
    /// `U[±1/√fan_in]`, the "standard" heuristic Glorot & Bengio (2010, eq. 1) compare against.
    Standard,
    /// Edge of chaos: weights `N(0, σ_w²/fan_in)`, biases `N(0, σ_b²)`, with `σ_w²` solving
    /// `χ₁ = 1` for the layer's activation (Poole et al. 2016; Schoenholz et al. 2017), see
    /// [`eoc::critical_point`].
    EdgeOfChaos {
        /// Bias variance σ_b².
        sigma_b2: f64,
    },
    /// Weights `N(0, σ_w²/fan_in)`, biases `N(0, σ_b²)` for any `(σ_w², σ_b²)`: the mean-field
    /// phase diagram of Poole et al. (2016), ordered for `χ₁ < 1`, chaotic for `χ₁ > 1`.
    MeanField {
        /// Weight variance σ_w² (times fan-in).
        sigma_w2: f64,
        /// Bias variance σ_b².
        sigma_b2: f64,
    },
}

const NAMES: [&str; 13] = [
    "zeros",
    "constant",
    "uniform",
    "normal",
    "xavier-uniform",
    "xavier-normal",
    "he-uniform",
    "he-normal",
    "lecun-normal",
    "orthogonal",
    "standard",
    "eoc",
    "mean-field",
];

impl Init {
    /// Every initialiser name, as accepted by [`Init::from_str`].
    pub const NAMES: [&'static str; 13] = NAMES;

    /// The name without parameters.
    pub fn name(&self) -> &'static str {
        match self {
            Init::Zeros => "zeros",
            Init::Constant { .. } => "constant",
            Init::Uniform { .. } => "uniform",
            Init::Normal { .. } => "normal",
            Init::XavierUniform { .. } => "xavier-uniform",
            Init::XavierNormal { .. } => "xavier-normal",
            Init::HeUniform { .. } => "he-uniform",
            Init::HeNormal { .. } => "he-normal",
            Init::LecunNormal => "lecun-normal",
            Init::Orthogonal { .. } => "orthogonal",
            Init::Standard => "standard",
            Init::EdgeOfChaos { .. } => "eoc",
            Init::MeanField { .. } => "mean-field",
        }
    }

    /// Checks that this scheme can initialise a layer followed by `activation` (edge of chaos
    /// needs a critical point to exist).
    pub fn check(&self, activation: Activation) -> Result<(), SpecError> {
        if let Init::EdgeOfChaos { sigma_b2 } = *self {
            eoc::critical_point(activation, sigma_b2).map_err(|e| SpecError(e.to_string()))?;
        }
        Ok(())
    }

    /// The distribution a weight is drawn from, for a layer with these fans whose output goes
    /// through `activation`.
    ///
    /// # Panics
    /// For edge of chaos with an activation that has no critical point: call [`Init::check`]
    /// first.
    pub fn weight_distribution(&self, fans: Fans, activation: Activation) -> Distribution {
        let fan_in = fans.fan_in as f64;
        let fan_sum = (fans.fan_in + fans.fan_out) as f64;
        let he_fan = |mode: FanMode| match mode {
            FanMode::FanIn => fan_in,
            FanMode::FanOut => fans.fan_out as f64,
        };
        let gain_or = |gain: Option<f64>, default: f64| gain.unwrap_or(default);
        match *self {
            Init::Zeros => Distribution::Constant(0.0),
            Init::Constant { value } => Distribution::Constant(value),
            Init::Uniform { low, high } => Distribution::Uniform(low, high),
            Init::Normal { mean, std } => Distribution::Normal(mean, std),
            Init::XavierUniform { gain } => {
                let a = gain_or(gain, 1.0) * (6.0 / fan_sum).sqrt();
                Distribution::Uniform(-a, a)
            }
            Init::XavierNormal { gain } => {
                Distribution::Normal(0.0, gain_or(gain, 1.0) * (2.0 / fan_sum).sqrt())
            }
            Init::HeUniform { fan, gain } => {
                let a = gain_or(gain, activation.gain()) * (3.0 / he_fan(fan)).sqrt();
                Distribution::Uniform(-a, a)
            }
            Init::HeNormal { fan, gain } => {
                Distribution::Normal(0.0, gain_or(gain, activation.gain()) / he_fan(fan).sqrt())
            }
            Init::LecunNormal => Distribution::Normal(0.0, 1.0 / fan_in.sqrt()),
            Init::Orthogonal { gain } => Distribution::Orthogonal(gain_or(gain, activation.gain())),
            Init::Standard => {
                let a = 1.0 / fan_in.sqrt();
                Distribution::Uniform(-a, a)
            }
            Init::EdgeOfChaos { sigma_b2 } => {
                let point = eoc::critical_point(activation, sigma_b2)
                    .unwrap_or_else(|e| panic!("{e}; check the initialiser with Init::check"));
                Distribution::Normal(0.0, (point.sigma_w2 / fan_in).sqrt())
            }
            Init::MeanField { sigma_w2, .. } => {
                Distribution::Normal(0.0, (sigma_w2 / fan_in).sqrt())
            }
        }
    }

    /// The distribution of biases: `N(0, σ_b²)` for the mean-field schemes (edge of chaos
    /// included), otherwise exactly 0.
    pub fn bias_distribution(&self) -> Distribution {
        match *self {
            Init::EdgeOfChaos { sigma_b2 } | Init::MeanField { sigma_b2, .. } => {
                Distribution::Normal(0.0, sigma_b2.sqrt())
            }
            _ => Distribution::Constant(0.0),
        }
    }

    /// Draws a weight tensor of `shape` (first dimension = rows of the orthogonal matrix) on
    /// `device`. Deterministic in `seed`.
    pub fn weight<const D: usize>(
        &self,
        shape: [usize; D],
        fans: Fans,
        activation: Activation,
        seed: u64,
        device: &Device,
    ) -> Tensor<D> {
        let values = self
            .weight_distribution(fans, activation)
            .sample(&shape, seed);
        Tensor::from_data(TensorData::new(values, shape), device)
    }

    /// Draws a bias vector of length `n` on `device`.
    pub fn bias(&self, n: usize, seed: u64, device: &Device) -> Tensor<1> {
        let values = self.bias_distribution().sample(&[n], seed);
        Tensor::from_data(TensorData::new(values, [n]), device)
    }
}

/// A concrete distribution a tensor's entries are drawn from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Distribution {
    /// Every entry equal.
    Constant(f64),
    /// `U[low, high]`.
    Uniform(f64, f64),
    /// `N(mean, std²)`.
    Normal(f64, f64),
    /// Random (semi-)orthogonal rows or columns, scaled by the gain.
    Orthogonal(f64),
}

impl Distribution {
    /// The variance of one entry (for orthogonal, of a `rows ≥ cols` matrix: gain²/rows).
    pub fn variance(&self, rows: usize) -> f64 {
        match *self {
            Distribution::Constant(_) => 0.0,
            Distribution::Uniform(a, b) => (b - a).powi(2) / 12.0,
            Distribution::Normal(_, std) => std * std,
            Distribution::Orthogonal(gain) => gain * gain / rows as f64,
        }
    }

    /// `shape.iter().product()` draws in row-major order.
    pub fn sample(&self, shape: &[usize], seed: u64) -> Vec<f32> {
        let n: usize = shape.iter().product();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        match *self {
            Distribution::Constant(v) => vec![v as f32; n],
            Distribution::Uniform(a, b) => (0..n)
                .map(|_| (a + (b - a) * rng.random::<f64>()) as f32)
                .collect(),
            Distribution::Normal(mean, std) => (0..n)
                .map(|_| (mean + std * rng.sample::<f64, _>(StandardNormal)) as f32)
                .collect(),
            Distribution::Orthogonal(gain) => {
                assert!(
                    shape.len() >= 2,
                    "an orthogonal initialiser needs a matrix, got {shape:?}"
                );
                orthogonal(shape[0], n / shape[0], gain, &mut rng)
            }
        }
    }
}

/// A `rows × cols` matrix (row-major) with orthonormal columns when `rows ≥ cols`, orthonormal
/// rows otherwise, times `gain`: modified Gram–Schmidt on a Gaussian matrix, which equals the Q
/// of its QR decomposition with a positive diagonal R, so Q is Haar-distributed (Mezzadri 2007).
fn orthogonal(rows: usize, cols: usize, gain: f64, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let (tall, short) = (rows.max(cols), rows.min(cols));
    // `basis[j]` is column j of a tall × short matrix.
    let mut basis: Vec<Vec<f64>> = (0..short)
        .map(|_| {
            (0..tall)
                .map(|_| rng.sample::<f64, _>(StandardNormal))
                .collect()
        })
        .collect();
    for j in 0..short {
        for i in 0..j {
            let (done, rest) = basis.split_at_mut(j);
            let dot: f64 = done[i].iter().zip(&rest[0]).map(|(a, b)| a * b).sum();
            rest[0]
                .iter_mut()
                .zip(&done[i])
                .for_each(|(v, q)| *v -= dot * q);
        }
        let norm = basis[j].iter().map(|v| v * v).sum::<f64>().sqrt();
        basis[j].iter_mut().for_each(|v| *v /= norm);
    }
    let mut out = vec![0f32; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            let v = if rows >= cols {
                basis[c][r]
            } else {
                basis[r][c]
            };
            out[r * cols + c] = (gain * v) as f32;
        }
    }
    out
}

/// The seed for one tensor of a network: mixes the run seed with the layer index and role
/// (0 = weight, 1 = bias) through SplitMix64 so neighbouring layers get unrelated streams.
pub fn layer_seed(seed: u64, layer: usize, role: u64) -> u64 {
    let mut z = seed ^ ((layer as u64) << 8 | role).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl fmt::Display for Init {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let gain = |f: &mut fmt::Formatter<'_>, gain: Option<f64>| match gain {
            Some(g) => write!(f, "{}:gain={g}", self.name()),
            None => f.write_str(self.name()),
        };
        match *self {
            Init::Constant { value } => write!(f, "constant:value={value}"),
            Init::Uniform { low, high } => write!(f, "uniform:low={low},high={high}"),
            Init::Normal { mean: 0.0, std } => write!(f, "normal:std={std}"),
            Init::Normal { mean, std } => write!(f, "normal:mean={mean},std={std}"),
            Init::XavierUniform { gain: g }
            | Init::XavierNormal { gain: g }
            | Init::Orthogonal { gain: g } => gain(f, g),
            Init::HeUniform { fan, gain: g } | Init::HeNormal { fan, gain: g } => match (fan, g) {
                (FanMode::FanIn, None) => f.write_str(self.name()),
                (FanMode::FanIn, Some(g)) => write!(f, "{}:gain={g}", self.name()),
                (FanMode::FanOut, None) => write!(f, "{}:fan=fan-out", self.name()),
                (FanMode::FanOut, Some(g)) => {
                    write!(f, "{}:fan=fan-out,gain={g}", self.name())
                }
            },
            Init::EdgeOfChaos { sigma_b2 } => write!(f, "eoc:sigma_b2={sigma_b2}"),
            Init::MeanField { sigma_w2, sigma_b2 } => {
                write!(f, "mean-field:sigma_w2={sigma_w2},sigma_b2={sigma_b2}")
            }
            Init::Zeros | Init::LecunNormal | Init::Standard => f.write_str(self.name()),
        }
    }
}

impl FromStr for Init {
    type Err = SpecError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let spec = Spec::parse(text, "initialiser")?;
        let fan = |spec: &Spec| -> Result<FanMode, SpecError> {
            Ok(
                match spec.choice("fan", &["fan-in", "fan-out"], "fan-in")? {
                    "fan-out" => FanMode::FanOut,
                    _ => FanMode::FanIn,
                },
            )
        };
        let (keys, init): (&[&str], Init) = match spec.name {
            "zeros" => (&[], Init::Zeros),
            "constant" => (
                &["value"],
                Init::Constant {
                    value: spec.number("value", 0.0)?,
                },
            ),
            "uniform" => {
                let (low, high) = (spec.number("low", -0.05)?, spec.number("high", 0.05)?);
                if low >= high {
                    return Err(SpecError(format!(
                        "initialiser `{text}`: low ({low}) must be below high ({high})"
                    )));
                }
                (&["low", "high"], Init::Uniform { low, high })
            }
            "normal" => {
                let (mean, std) = (spec.number("mean", 0.0)?, spec.positive("std", 0.05)?);
                (&["mean", "std"], Init::Normal { mean, std })
            }
            "xavier-uniform" => (
                &["gain"],
                Init::XavierUniform {
                    gain: spec.optional_positive("gain")?,
                },
            ),
            "xavier-normal" => (
                &["gain"],
                Init::XavierNormal {
                    gain: spec.optional_positive("gain")?,
                },
            ),
            "he-uniform" => (
                &["fan", "gain"],
                Init::HeUniform {
                    fan: fan(&spec)?,
                    gain: spec.optional_positive("gain")?,
                },
            ),
            "he-normal" => (
                &["fan", "gain"],
                Init::HeNormal {
                    fan: fan(&spec)?,
                    gain: spec.optional_positive("gain")?,
                },
            ),
            "lecun-normal" => (&[], Init::LecunNormal),
            "orthogonal" => (
                &["gain"],
                Init::Orthogonal {
                    gain: spec.optional_positive("gain")?,
                },
            ),
            "standard" => (&[], Init::Standard),
            "eoc" => {
                let sigma_b2 = spec.non_negative("sigma_b2", 0.05)?;
                (&["sigma_b2"], Init::EdgeOfChaos { sigma_b2 })
            }
            "mean-field" => {
                let sigma_w2 = spec.positive("sigma_w2", 1.0)?;
                let sigma_b2 = spec.non_negative("sigma_b2", 0.0)?;
                (
                    &["sigma_w2", "sigma_b2"],
                    Init::MeanField { sigma_w2, sigma_b2 },
                )
            }
            _ => return Err(spec.unknown_name(&NAMES)),
        };
        spec.check_keys(keys)?;
        Ok(init)
    }
}

impl TryFrom<String> for Init {
    type Error = SpecError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<Init> for String {
    fn from(init: Init) -> String {
        init.to_string()
    }
}
