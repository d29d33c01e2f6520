//! Mean-field signal propagation and the edge of chaos.
//!
//! For a deep network with weights `N(0, σ_w²/fan_in)` and biases `N(0, σ_b²)`, the length of a
//! pre-activation vector follows the map (Poole et al. 2016, "Exponential expressivity in deep
//! neural networks through transient chaos", eq. 3)
//!
//! `q ← σ_w² E_z[φ(√q z)²] + σ_b²`,  `z ~ N(0, 1)`,
//!
//! whose fixed point is `q*`. Gradients (and correlations between inputs) are multiplied per layer
//! by `χ₁ = σ_w² E_z[φ'(√q* z)²]` (Schoenholz et al. 2017, "Deep Information Propagation",
//! eq. 5). `χ₁ < 1` is the ordered phase (gradients vanish), `χ₁ > 1` the chaotic one (they
//! explode); `χ₁ = 1` is the edge of chaos, where a network stays trainable to depths of the
//! order of `6ξ`, with the correlation depth scale `ξ = -1 / ln χ_c` (their eq. 9; in the
//! ordered phase `χ_c = χ₁`).
//!
//! One-dimensional Gaussian expectations use composite Gauss–Legendre split at the kink 0;
//! the two-dimensional ones of the chaotic phase use a Gauss–Hermite product rule.

use std::sync::{Mutex, OnceLock};

use crate::activation::Activation;

/// Gauss–Hermite nodes per dimension for the two-dimensional expectations.
const NODES: usize = 60;
/// Largest `q` considered when looking for the fixed point; beyond it `q*` is reported absent.
const Q_MAX: f64 = 1e6;

/// Mean-field quantities for one `(φ, σ_w², σ_b²)`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct MeanField {
    /// Weight variance σ_w² (times fan-in).
    pub sigma_w2: f64,
    /// Bias variance σ_b².
    pub sigma_b2: f64,
    /// The stable fixed point of the length map, `None` when `q` grows without bound.
    pub q_star: Option<f64>,
    /// The per-layer gradient multiplier `χ₁` at `q*`.
    pub chi1: f64,
    /// The fixed point `c*` of the correlation map (1 in the ordered phase).
    pub c_star: f64,
    /// Depth scale `ξ = -1 / ln χ_c`; infinite at the edge of chaos.
    pub depth_scale: f64,
}

/// Why no critical point could be found.
#[derive(Clone, Debug, PartialEq)]
pub struct NoCriticalPoint {
    /// The activation asked about.
    pub activation: Activation,
    /// The bias variance asked about.
    pub sigma_b2: f64,
}

impl std::fmt::Display for NoCriticalPoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "no edge of chaos for {} at sigma_b2 = {}: chi1 = 1 has no solution with sigma_w2 in \
             [0.01, 1000]; choose another activation or initialiser",
            self.activation, self.sigma_b2
        )
    }
}

impl std::error::Error for NoCriticalPoint {}

/// `E_z[g(z)]` for `z ~ N(0, 1)`: composite 8-point Gauss–Legendre on `[-10, 10]` with a
/// panel edge at 0, where the ReLU family and ELU/SELU have their kink, so every panel
/// integrates a smooth function (error < 1e-12 for the activations here; the mass beyond
/// |z| = 10 is 1.5e-23).
pub fn gaussian_expectation(g: impl Fn(f64) -> f64) -> f64 {
    const PANELS: usize = 80;
    const HALF_WIDTH: f64 = 10.0;
    let h = 2.0 * HALF_WIDTH / PANELS as f64;
    let mut total = 0.0;
    for panel in 0..PANELS {
        let centre = -HALF_WIDTH + (panel as f64 + 0.5) * h;
        for &(x, w) in &GAUSS_LEGENDRE_8 {
            for z in [centre - 0.5 * h * x, centre + 0.5 * h * x] {
                total += w * 0.5 * h * g(z) * (-0.5 * z * z).exp();
            }
        }
    }
    total / (2.0 * std::f64::consts::PI).sqrt()
}

/// Positive nodes and weights of 8-point Gauss–Legendre on `[-1, 1]` (Abramowitz & Stegun,
/// Table 25.4).
const GAUSS_LEGENDRE_8: [(f64, f64); 4] = [
    (0.183_434_642_495_649_8, 0.362_683_783_378_362),
    (0.525_532_409_916_329, 0.313_706_645_877_887_3),
    (0.796_666_477_413_626_7, 0.222_381_034_453_374_5),
    (0.960_289_856_497_536_3, 0.101_228_536_290_376_3),
];

/// `E[g(z₁, z₂)]` for independent standard normals.
fn gaussian_expectation_2d(g: impl Fn(f64, f64) -> f64) -> f64 {
    let rule = hermite();
    rule.iter()
        .map(|&(x, wx)| wx * rule.iter().map(|&(y, wy)| wy * g(x, y)).sum::<f64>())
        .sum()
}

/// Nodes and weights for `E_z[g(z)] ≈ Σ w_i g(x_i)` (probabilists' form: the physicists'
/// Gauss–Hermite rule with nodes times √2 and weights over √π), computed once by Newton's
/// method on the orthonormal Hermite recurrence (Golub & Welsch 1969 give the same rule).
fn hermite() -> &'static [(f64, f64)] {
    static RULE: OnceLock<Vec<(f64, f64)>> = OnceLock::new();
    RULE.get_or_init(|| {
        let n = NODES;
        let pi_m4 = std::f64::consts::PI.powf(-0.25);
        let mut nodes = vec![(0.0, 0.0); n];
        let mut z = 0.0f64;
        for i in 0..n.div_ceil(2) {
            // Initial guesses for the largest roots first (Numerical Recipes §4.6).
            z = match i {
                0 => {
                    (2.0 * n as f64 + 1.0).sqrt()
                        - 1.85575 * (2.0 * n as f64 + 1.0).powf(-1.0 / 6.0)
                }
                1 => z - 1.14 * (n as f64).powf(0.426) / z,
                2 => 1.86 * z - 0.86 * nodes[0].0,
                3 => 1.91 * z - 0.91 * nodes[1].0,
                _ => 2.0 * z - nodes[i - 2].0,
            };
            let mut derivative = 0.0;
            for _ in 0..100 {
                let (mut p1, mut p2) = (pi_m4, 0.0);
                for j in 1..=n {
                    let p3 = p2;
                    p2 = p1;
                    p1 = z * (2.0 / j as f64).sqrt() * p2 - ((j - 1) as f64 / j as f64).sqrt() * p3;
                }
                derivative = (2.0 * n as f64).sqrt() * p2;
                let step = p1 / derivative;
                z -= step;
                if step.abs() < 1e-15 {
                    break;
                }
            }
            let weight = 2.0 / (derivative * derivative);
            nodes[i] = (z, weight);
            nodes[n - 1 - i] = (-z, weight);
        }
        let sqrt_pi = std::f64::consts::PI.sqrt();
        nodes
            .into_iter()
            .map(|(x, w)| (x * std::f64::consts::SQRT_2, w / sqrt_pi))
            .collect()
    })
}

/// The length map's stable fixed point `q*`, by bisection on `q ↦ map(q) - q`.
fn fixed_point(activation: Activation, sigma_w2: f64, sigma_b2: f64) -> Option<f64> {
    let excess = |q: f64| {
        let s = q.sqrt();
        sigma_w2 * gaussian_expectation(|z| activation.value(s * z).powi(2)) + sigma_b2 - q
    };
    let tiny = 1e-12;
    if excess(tiny) <= 0.0 {
        return Some(0.0);
    }
    if excess(Q_MAX) > 0.0 {
        return None;
    }
    let (mut lo, mut hi) = (tiny, Q_MAX);
    for _ in 0..300 {
        // Geometric steps while the bracket spans orders of magnitude, then arithmetic ones.
        let mid = if hi > 2.0 * lo {
            (lo * hi).sqrt()
        } else {
            0.5 * (lo + hi)
        };
        if excess(mid) > 0.0 {
            lo = mid
        } else {
            hi = mid
        }
        if hi - lo < 1e-14 * hi {
            break;
        }
    }
    Some(0.5 * (lo + hi))
}

/// χ₁ = σ_w² E[φ'(√q z)²].
fn chi1_at(activation: Activation, sigma_w2: f64, q: f64) -> f64 {
    let s = q.sqrt();
    sigma_w2 * gaussian_expectation(|z| activation.derivative_at(s * z).powi(2))
}

/// Mean-field analysis of `activation` at `(σ_w², σ_b²)`.
pub fn mean_field(activation: Activation, sigma_w2: f64, sigma_b2: f64) -> MeanField {
    let q_star = fixed_point(activation, sigma_w2, sigma_b2);
    let q = q_star.unwrap_or(Q_MAX);
    let chi1 = chi1_at(activation, sigma_w2, q);
    // Within rounding of χ₁ = 1 the network is critical: c* = 1, as in the ordered phase.
    let (c_star, chi_c) = if chi1 <= 1.0 + 1e-9 || q == 0.0 {
        (1.0, chi1)
    } else {
        correlation_fixed_point(activation, sigma_w2, sigma_b2, q)
    };
    let depth_scale = if (chi_c - 1.0).abs() < 1e-12 {
        f64::INFINITY
    } else {
        -1.0 / chi_c.ln()
    };
    MeanField {
        sigma_w2,
        sigma_b2,
        q_star,
        chi1,
        c_star,
        depth_scale: depth_scale.abs(),
    }
}

/// In the chaotic phase, iterate the correlation map
/// `c ← (σ_w² E[φ(u₁)φ(u₂)] + σ_b²) / q*` with `u₁ = √q* z₁`, `u₂ = √q* (c z₁ + √(1-c²) z₂)`
/// to its stable point `c* < 1`, and return `(c*, χ_c = σ_w² E[φ'(u₁)φ'(u₂)])`.
fn correlation_fixed_point(
    activation: Activation,
    sigma_w2: f64,
    sigma_b2: f64,
    q: f64,
) -> (f64, f64) {
    let s = q.sqrt();
    let pair = |c: f64, g: &dyn Fn(f64) -> f64| {
        let r = (1.0 - c * c).max(0.0).sqrt();
        gaussian_expectation_2d(|z1, z2| g(s * z1) * g(s * (c * z1 + r * z2)))
    };
    let mut c = 0.5;
    for _ in 0..2000 {
        let next = ((sigma_w2 * pair(c, &|x| activation.value(x)) + sigma_b2) / q).clamp(-1.0, 1.0);
        let done = (next - c).abs() < 1e-12;
        c = next;
        if done {
            break;
        }
    }
    (c, sigma_w2 * pair(c, &|x| activation.derivative_at(x)))
}

/// The edge of chaos: the `σ_w²` at which `χ₁ = 1` for this activation and `σ_b²`, found by
/// bisection on `ln σ_w² ∈ [ln 0.01, ln 1000]`. For tanh at `σ_b² = 0.05` this is ≈ 1.76
/// (Schoenholz et al. 2017, Fig. 1); for ReLU, 2 at any `σ_b²` (He et al. 2015).
pub fn critical_point(activation: Activation, sigma_b2: f64) -> Result<MeanField, NoCriticalPoint> {
    // Every layer of a network asks for the same point: solve each (activation, σ_b²) once.
    static SOLVED: Mutex<Vec<(Activation, f64, Option<MeanField>)>> = Mutex::new(Vec::new());
    let known = |cache: &Vec<(Activation, f64, Option<MeanField>)>| {
        cache
            .iter()
            .find(|(a, b, _)| *a == activation && *b == sigma_b2)
            .map(|(_, _, p)| *p)
    };
    if let Some(point) = known(&SOLVED.lock().expect("EoC cache lock")) {
        return point.ok_or(NoCriticalPoint {
            activation,
            sigma_b2,
        });
    }
    let point = solve_critical_point(activation, sigma_b2);
    SOLVED
        .lock()
        .expect("EoC cache lock")
        .push((activation, sigma_b2, point));
    point.ok_or(NoCriticalPoint {
        activation,
        sigma_b2,
    })
}

fn solve_critical_point(activation: Activation, sigma_b2: f64) -> Option<MeanField> {
    let excess = |ln_w: f64| mean_field(activation, ln_w.exp(), sigma_b2).chi1 - 1.0;
    let (mut lo, mut hi) = (0.01f64.ln(), 1000f64.ln());
    let (f_lo, f_hi) = (excess(lo), excess(hi));
    if f_lo.signum() == f_hi.signum() {
        return None;
    }
    while hi - lo > 1e-13 {
        let mid = 0.5 * (lo + hi);
        if (excess(mid) < 0.0) == (f_lo < 0.0) {
            lo = mid
        } else {
            hi = mid
        }
    }
    let mut point = mean_field(activation, (0.5 * (lo + hi)).exp(), sigma_b2);
    point.depth_scale = f64::INFINITY;
    Some(point)
}
