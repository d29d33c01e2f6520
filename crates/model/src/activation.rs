//! Activation functions, their analytic derivatives and the properties the experiments ask about.
//!
//! One enum, [`Activation`], with one spelling everywhere (CLI, configs, reports): the name, or
//! the name followed by `:key=value` for a non-default parameter, e.g. `leaky-relu:slope=0.1`.

use std::fmt;
use std::str::FromStr;

use burn::tensor::Tensor;
use burn::tensor::activation as act;
use serde::{Deserialize, Serialize};

use crate::kernels;
use crate::spec::{Spec, SpecError};

/// SELU's scale λ (Klambauer et al. 2017, "Self-Normalizing Neural Networks", eq. 14).
pub const SELU_LAMBDA: f64 = 1.050_700_987_355_480_5;
/// SELU's α (Klambauer et al. 2017, eq. 14).
pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;

const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// An element-wise activation function `f`.
///
/// Each variant documents `f`, `f'` and the paper it comes from. Parameters have the defaults
/// their papers or PyTorch use; see [`Activation::ALL`] for every name.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Activation {
    /// `f(x) = x`, `f'(x) = 1`: the linear network, a control for every experiment.
    Identity,
    /// `f(x) = 1 / (1 + e^-x)`, `f'(x) = f(x)(1 - f(x)) ≤ 1/4`. The logistic unit; its small,
    /// saturating derivative is what Glorot & Bengio (2010) blame for slow training.
    Sigmoid,
    /// `f(x) = tanh x = 2σ(2x) - 1`, `f'(x) = 1 - f(x)² ≤ 1` (LeCun et al. 1998, "Efficient
    /// BackProp"): zero-centred, with four times sigmoid's peak slope.
    Tanh,
    /// `f(x) = max(0, x)`, `f'(x) = 1[x > 0]` (Nair & Hinton 2010; Glorot et al. 2011).
    Relu,
    /// `f(x) = x` for `x > 0`, else `slope·x` (Maas et al. 2013): units cannot die.
    LeakyRelu {
        /// Slope on the negative side (default 0.01, Maas et al.).
        slope: f64,
    },
    /// Leaky ReLU whose slope is learned per layer (He et al. 2015, arXiv:1502.01852).
    Prelu {
        /// Initial slope (default 0.25, He et al.).
        init: f64,
    },
    /// `f(x) = x` for `x > 0`, else `α(e^x - 1)` (Clevert et al. 2016, arXiv:1511.07289).
    Elu {
        /// Negative saturation value −α (default 1).
        alpha: f64,
    },
    /// `λ·elu(x, α)` with the self-normalising constants [`SELU_LAMBDA`], [`SELU_ALPHA`]
    /// (Klambauer et al. 2017); meant to be used with LeCun-normal initialisation.
    Selu,
    /// `f(x) = x / (1 + |x|)`, `f'(x) = 1 / (1 + |x|)²` (Bergstra et al. 2009; studied by Glorot &
    /// Bengio 2010): saturates polynomially rather than exponentially.
    Softsign,
    /// `f(x) = ln(1 + e^x)`, `f'(x) = σ(x)` (Dugas et al. 2001): a smooth ReLU.
    Softplus,
    /// `f(x) = x·Φ(x)`, `f'(x) = Φ(x) + x·φ(x)` (Hendrycks & Gimpel 2016, arXiv:1606.08415),
    /// exact erf form.
    Gelu,
    /// `f(x) = x·σ(x)`, `f'(x) = σ(x)(1 + x(1 - σ(x)))` (Elfwing et al. 2018; "swish").
    Silu,
    /// `f(x) = x·tanh(softplus(x))` (Misra 2019, arXiv:1908.08681).
    Mish,
}

/// Where an activation's derivative reaches its largest value.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct DerivativePeak {
    /// The input at which `f'` is largest. For functions whose maximum is only approached
    /// (ReLU at 0⁺, softplus as x → ∞) this is the boundary point, see `attained`.
    pub at: f64,
    /// The largest value of `f'` (its supremum).
    pub value: f64,
    /// False when `value` is a supremum approached but not reached at `at`.
    pub attained: bool,
}

/// Input magnitudes beyond which `f'` stays below a fraction ρ of its maximum.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Saturation {
    /// `t` such that `f'(x) < ρ·max f'` for every `x < -t`; `None` if no such `t` exists.
    pub negative: Option<f64>,
    /// `t` such that `f'(x) < ρ·max f'` for every `x > t`; `None` if no such `t` exists.
    pub positive: Option<f64>,
}

impl Saturation {
    /// The symmetric threshold `|x| > t`, when both sides saturate.
    pub fn both_sides(&self) -> Option<f64> {
        Some(self.negative?.max(self.positive?))
    }
}

/// Largest |x| searched when looking for saturation: past this every saturating function here
/// has a derivative below 1e-40 of its peak.
const SATURATION_SEARCH_LIMIT: f64 = 100.0;

impl Activation {
    /// Every activation with its default parameters, in the order reports list them.
    pub const ALL: [Activation; 13] = [
        Activation::Identity,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Relu,
        Activation::LeakyRelu { slope: 0.01 },
        Activation::Prelu { init: 0.25 },
        Activation::Elu { alpha: 1.0 },
        Activation::Selu,
        Activation::Softsign,
        Activation::Softplus,
        Activation::Gelu,
        Activation::Silu,
        Activation::Mish,
    ];

    /// The name, without parameters (`"leaky-relu"`).
    pub fn name(&self) -> &'static str {
        match self {
            Activation::Identity => "identity",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
            Activation::LeakyRelu { .. } => "leaky-relu",
            Activation::Prelu { .. } => "prelu",
            Activation::Elu { .. } => "elu",
            Activation::Selu => "selu",
            Activation::Softsign => "softsign",
            Activation::Softplus => "softplus",
            Activation::Gelu => "gelu",
            Activation::Silu => "silu",
            Activation::Mish => "mish",
        }
    }

    /// The parameter of the variant, with its key, if it has one.
    fn parameter(&self) -> Option<(&'static str, f64)> {
        match *self {
            Activation::LeakyRelu { slope } => Some(("slope", slope)),
            Activation::Prelu { init } => Some(("init", init)),
            Activation::Elu { alpha } => Some(("alpha", alpha)),
            _ => None,
        }
    }

    /// True for functions whose output is exactly zero on a half-line (ReLU): their sparsity is
    /// counted as exact zeros rather than `|a| < τ`.
    pub fn has_exact_zeros(&self) -> bool {
        matches!(self, Activation::Relu)
    }

    /// `f(x)` in double precision, written to stay finite for any finite `x`.
    pub fn value(&self, x: f64) -> f64 {
        match *self {
            Activation::Identity => x,
            Activation::Sigmoid => sigmoid(x),
            Activation::Tanh => x.tanh(),
            Activation::Relu => x.max(0.0),
            Activation::LeakyRelu { slope } => leaky(x, slope),
            Activation::Prelu { init } => leaky(x, init),
            Activation::Elu { alpha } => elu(x, alpha),
            Activation::Selu => SELU_LAMBDA * elu(x, SELU_ALPHA),
            Activation::Softsign => x / (1.0 + x.abs()),
            Activation::Softplus => softplus(x),
            Activation::Gelu => x * normal_cdf(x),
            Activation::Silu => x * sigmoid(x),
            Activation::Mish => x * softplus(x).tanh(),
        }
    }

    /// `f'(x)` in double precision. At a kink (ReLU family at 0) the left derivative is used,
    /// as autodiff frameworks do.
    pub fn derivative_at(&self, x: f64) -> f64 {
        match *self {
            Activation::Identity => 1.0,
            Activation::Sigmoid => {
                let s = sigmoid(x);
                s * (1.0 - s)
            }
            Activation::Tanh => 1.0 - x.tanh().powi(2),
            Activation::Relu => step(x, 0.0),
            Activation::LeakyRelu { slope } => step(x, slope),
            Activation::Prelu { init } => step(x, init),
            Activation::Elu { alpha } => elu_derivative(x, alpha),
            Activation::Selu => SELU_LAMBDA * elu_derivative(x, SELU_ALPHA),
            Activation::Softsign => 1.0 / (1.0 + x.abs()).powi(2),
            Activation::Softplus => sigmoid(x),
            Activation::Gelu => normal_cdf(x) + x * INV_SQRT_2PI * (-0.5 * x * x).exp(),
            Activation::Silu => {
                let s = sigmoid(x);
                s * (1.0 + x * (1.0 - s))
            }
            Activation::Mish => {
                let t = softplus(x).tanh();
                t + x * (1.0 - t * t) * sigmoid(x)
            }
        }
    }

    /// The closed range of outputs `(inf f, sup f)`; infinite ends are `±f64::INFINITY`.
    pub fn output_range(&self) -> (f64, f64) {
        const INF: f64 = f64::INFINITY;
        match *self {
            Activation::Identity => (-INF, INF),
            Activation::Sigmoid => (0.0, 1.0),
            Activation::Tanh | Activation::Softsign => (-1.0, 1.0),
            Activation::Relu | Activation::Softplus => (0.0, INF),
            Activation::LeakyRelu { slope } | Activation::Prelu { init: slope } => {
                if slope > 0.0 {
                    (-INF, INF)
                } else {
                    (0.0, INF)
                }
            }
            Activation::Elu { alpha } => (-alpha, INF),
            Activation::Selu => (-SELU_LAMBDA * SELU_ALPHA, INF),
            // Minimum of x·Φ(x) at x ≈ -0.7518 (solve Φ(x) + xφ(x) = 0).
            Activation::Gelu => (min_value(self), INF),
            // Minimum of x·σ(x) at x ≈ -1.2785.
            Activation::Silu => (min_value(self), INF),
            // Minimum of mish at x ≈ -1.1924.
            Activation::Mish => (min_value(self), INF),
        }
    }

    /// Where `f'` peaks and its value there: sigmoid 0.25 at 0, tanh 1 at 0 (the "4×" claim).
    pub fn derivative_peak(&self) -> DerivativePeak {
        let exact = |at, value| DerivativePeak {
            at,
            value,
            attained: true,
        };
        let approached = |at, value| DerivativePeak {
            at,
            value,
            attained: false,
        };
        match *self {
            Activation::Identity => exact(0.0, 1.0),
            Activation::Sigmoid => exact(0.0, 0.25),
            Activation::Tanh | Activation::Softsign => exact(0.0, 1.0),
            Activation::Relu => approached(0.0, 1.0),
            Activation::LeakyRelu { slope } | Activation::Prelu { init: slope } => {
                if slope > 1.0 {
                    exact(0.0, slope)
                } else {
                    approached(0.0, 1.0)
                }
            }
            Activation::Elu { alpha } => {
                if alpha > 1.0 {
                    approached(0.0, alpha)
                } else {
                    approached(0.0, 1.0)
                }
            }
            // λα ≈ 1.7581 approached from the left of 0; the right side has only λ.
            Activation::Selu => approached(0.0, SELU_LAMBDA * SELU_ALPHA),
            Activation::Softplus => approached(f64::INFINITY, 1.0),
            // Smooth functions with an interior maximum: found numerically.
            Activation::Gelu | Activation::Silu | Activation::Mish => {
                let at = argmax(|x| self.derivative_at(x), 0.0, 5.0);
                exact(at, self.derivative_at(at))
            }
        }
    }

    /// The input magnitudes beyond which `f'(x) < ρ·max f'` (ρ = `fraction`), searched over
    /// `|x| ≤ 100`. For sigmoid at ρ = 0.0266 this is the article's `|x| > 5`.
    pub fn saturation(&self, fraction: f64) -> Saturation {
        let limit = fraction * self.derivative_peak().value;
        let side = |sign: f64| -> Option<f64> {
            let below = |t: f64| self.derivative_at(sign * t) < limit;
            if !below(SATURATION_SEARCH_LIMIT) {
                return None;
            }
            // Walk in from the far end to the last point not below the limit, then bisect.
            let step = 1e-2;
            let mut t = SATURATION_SEARCH_LIMIT;
            while t > 0.0 && below(t) {
                t -= step;
            }
            if t <= 0.0 && below(0.0) {
                return Some(0.0);
            }
            let (mut lo, mut hi) = (t.max(0.0), t + step);
            for _ in 0..60 {
                let mid = 0.5 * (lo + hi);
                if below(mid) { hi = mid } else { lo = mid }
            }
            Some(hi)
        };
        Saturation {
            negative: side(-1.0),
            positive: side(1.0),
        }
    }

    /// Recommended gain for initialisers, following PyTorch's `torch.nn.init.calculate_gain`
    /// (v2.7): 1 for identity/sigmoid, 5/3 for tanh, √2 for ReLU, √(2 / (1 + slope²)) for leaky
    /// ReLU and PReLU, 3/4 for SELU. PyTorch defines no gain for the others; we use √2 for the
    /// ReLU-like ones (ELU, softplus, GELU, SiLU, Mish) and 1 for softsign.
    pub fn gain(&self) -> f64 {
        match *self {
            Activation::Identity | Activation::Sigmoid | Activation::Softsign => 1.0,
            Activation::Tanh => 5.0 / 3.0,
            Activation::LeakyRelu { slope } | Activation::Prelu { init: slope } => {
                (2.0 / (1.0 + slope * slope)).sqrt()
            }
            Activation::Selu => 0.75,
            Activation::Relu
            | Activation::Elu { .. }
            | Activation::Softplus
            | Activation::Gelu
            | Activation::Silu
            | Activation::Mish => std::f64::consts::SQRT_2,
        }
    }

    /// `f` applied element-wise to a tensor. PReLU uses its initial slope here; the learnable
    /// slope lives in [`crate::ActivationLayer`].
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        match *self {
            Activation::Identity => x,
            // Vectorised on flex, with an output-saving backward (see `kernels`).
            Activation::Sigmoid => kernels::sigmoid(x),
            Activation::Tanh => kernels::tanh(x),
            Activation::Relu => act::relu(x),
            Activation::LeakyRelu { slope } | Activation::Prelu { init: slope } => {
                act::leaky_relu(x, slope)
            }
            Activation::Elu { alpha } => act::elu(x, alpha),
            Activation::Selu => act::selu(x),
            Activation::Softsign => act::softsign(x),
            Activation::Softplus => act::softplus(x, 1.0),
            Activation::Gelu => act::gelu(x),
            Activation::Silu => act::silu(x),
            Activation::Mish => act::mish(x),
        }
    }

    /// `f'` applied element-wise to a tensor of pre-activations, from the closed forms above
    /// (not autodiff: this is what the instrumentation and tests compare against).
    pub fn derivative<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        match *self {
            Activation::Identity => x.ones_like(),
            Activation::Sigmoid => {
                let s = act::sigmoid(x);
                s.clone() * s.neg().add_scalar(1.0)
            }
            Activation::Tanh => act::tanh(x).square().neg().add_scalar(1.0),
            Activation::Relu => x.greater_elem(0.0).float(),
            Activation::LeakyRelu { slope } | Activation::Prelu { init: slope } => {
                slope_step(x, slope)
            }
            Activation::Elu { alpha } => elu_derivative_tensor(x, alpha, 1.0),
            Activation::Selu => elu_derivative_tensor(x, SELU_ALPHA, SELU_LAMBDA),
            Activation::Softsign => x.abs().add_scalar(1.0).square().recip(),
            Activation::Softplus => act::sigmoid(x),
            Activation::Gelu => {
                let cdf = x
                    .clone()
                    .div_scalar(std::f64::consts::SQRT_2)
                    .erf()
                    .add_scalar(1.0);
                let pdf = x
                    .clone()
                    .square()
                    .mul_scalar(-0.5)
                    .exp()
                    .mul_scalar(INV_SQRT_2PI);
                cdf.mul_scalar(0.5) + x * pdf
            }
            Activation::Silu => {
                let s = act::sigmoid(x.clone());
                let one_minus = s.clone().neg().add_scalar(1.0);
                s * (x * one_minus).add_scalar(1.0)
            }
            Activation::Mish => {
                let t = act::softplus(x.clone(), 1.0).tanh();
                let sech2 = t.clone().square().neg().add_scalar(1.0);
                t + x.clone() * sech2 * act::sigmoid(x)
            }
        }
    }
}

/// `1[x > 0] + slope·1[x ≤ 0]` as a tensor.
pub(crate) fn slope_step<const D: usize>(x: Tensor<D>, slope: f64) -> Tensor<D> {
    let positive = x.greater_elem(0.0).float();
    positive.clone().mul_scalar(1.0 - slope).add_scalar(slope)
}

fn elu_derivative_tensor<const D: usize>(x: Tensor<D>, alpha: f64, scale: f64) -> Tensor<D> {
    let positive = x.clone().greater_elem(0.0);
    // Clamp before exp so the discarded positive branch cannot overflow.
    let negative_side = x.clamp_max(0.0).exp().mul_scalar(alpha);
    negative_side.mask_fill(positive, 1.0).mul_scalar(scale)
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

fn leaky(x: f64, slope: f64) -> f64 {
    if x > 0.0 { x } else { slope * x }
}

fn step(x: f64, slope: f64) -> f64 {
    if x > 0.0 { 1.0 } else { slope }
}

fn elu(x: f64, alpha: f64) -> f64 {
    if x > 0.0 { x } else { alpha * x.exp_m1() }
}

fn elu_derivative(x: f64, alpha: f64) -> f64 {
    if x > 0.0 { 1.0 } else { alpha * x.exp() }
}

/// Φ(x), the standard normal CDF.
pub(crate) fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// Golden-section search for the maximum of a unimodal `g` on `[lo, hi]`.
fn argmax(g: impl Fn(f64) -> f64, mut lo: f64, mut hi: f64) -> f64 {
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..200 {
        let a = hi - ratio * (hi - lo);
        let b = lo + ratio * (hi - lo);
        if g(a) < g(b) { lo = a } else { hi = b }
    }
    0.5 * (lo + hi)
}

/// The global minimum of a smooth self-gated activation, which lies in `[-5, 0]`.
fn min_value(activation: &Activation) -> f64 {
    let at = argmax(|x| -activation.value(x), -5.0, 0.0);
    activation.value(at)
}

impl fmt::Display for Activation {
    /// The canonical spelling: the bare name when the parameter has its default.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let default = Activation::ALL.iter().find(|a| a.name() == self.name());
        match self.parameter() {
            Some((key, value)) if default.and_then(|d| d.parameter()) != Some((key, value)) => {
                write!(f, "{}:{key}={value}", self.name())
            }
            _ => f.write_str(self.name()),
        }
    }
}

impl FromStr for Activation {
    type Err = SpecError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let spec = Spec::parse(text, "activation")?;
        let names: Vec<&str> = Activation::ALL.iter().map(Activation::name).collect();
        let mut activation = *Activation::ALL
            .iter()
            .find(|a| a.name() == spec.name)
            .ok_or_else(|| spec.unknown_name(&names))?;
        let key = activation.parameter().map(|(k, _)| k);
        spec.check_keys(key.as_slice())?;
        match &mut activation {
            Activation::LeakyRelu { slope } => *slope = spec.number("slope", *slope)?,
            Activation::Prelu { init } => *init = spec.number("init", *init)?,
            Activation::Elu { alpha } => *alpha = spec.positive("alpha", *alpha)?,
            _ => {}
        }
        Ok(activation)
    }
}

impl TryFrom<String> for Activation {
    type Error = SpecError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<Activation> for String {
    fn from(activation: Activation) -> String {
        activation.to_string()
    }
}
