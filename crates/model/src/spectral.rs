//! Spectra of weight matrices: the empirical spectral density (ESD) of `WᵀW`, its power-law
//! exponent α by the Hill estimator, and TempBalance's per-layer learning-rate factors.
//!
//! Heavy-tailed self-regularisation (Martin & Mahoney, "Traditional and heavy-tailed self
//! regularization in neural network models", ICML 2019; "Implicit self-regularization in deep
//! neural networks", JMLR 2021) fits `p(λ) ∝ λ^{-α}` to the tail of each layer's ESD: well-trained
//! layers have α roughly in 2–4, larger α means a lighter tail (a less trained layer).
//! TempBalance (Zhou et al., "Temperature Balancing, Layer-wise Weight Analysis, and Neural
//! Network Training", NeurIPS 2023) gives layers with larger α larger learning rates
//! ([`tempbalance_factors`]).
//!
//! Conventions:
//! - A dense weight is taken as Burn stores it, `[d_in, d_out]`; a convolution weight
//!   `[out, in, k, k]` is reshaped to `[out, in·k·k]`. (TempBalance's code instead pools the
//!   spectra of the k² `[out, in]` slices; α differs between the two, the ranking of layers
//!   rarely does.)
//! - For `W` with `r` rows and `c` columns, `WᵀW` is `c × c` with rank at most `min(r, c)`; its
//!   other eigenvalues are exactly zero. Only the `min(r, c)` squared singular values of `W`
//!   are kept: the non-trivial spectrum, the same for `WᵀW` and `WWᵀ`. The ESD is not divided
//!   by the matrix size: α does not depend on the scale of λ.

use std::fmt;

use burn::tensor::Tensor;
use nalgebra::{DMatrix, SVD};

use crate::network::{NamedWeight, Network};

/// TempBalance's default smallest factor (Zhou et al. 2023).
pub const TEMPBALANCE_S_MIN: f64 = 0.5;
/// TempBalance's default largest factor (Zhou et al. 2023).
pub const TEMPBALANCE_S_MAX: f64 = 1.5;
/// Fewest positive eigenvalues [`hill_alpha`] fits: below this the tail has one or two points.
pub const MIN_EIGENVALUES: usize = 4;
/// Eigenvalues at or below `λ_max ×` this count as zero in [`hill_alpha`]: singular values
/// under `10⁻⁶ σ_max`, below what f32 weights resolve relative to the largest.
pub const ZERO_RELATIVE: f64 = 1e-12;

/// A bad input to the spectral analysis; the message names the problem and the fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpectralError(pub String);

impl fmt::Display for SpectralError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SpectralError {}

fn error<T>(message: String) -> Result<T, SpectralError> {
    Err(SpectralError(message))
}

/// The eigenvalues of `WᵀW` for `W` given row-major as `rows × cols` values, largest first:
/// the `min(rows, cols)` squared singular values of `W` (see the module notes).
///
/// Errors when the data does not have `rows × cols` values, is empty, or holds NaN or ±∞
/// (a diverged run).
pub fn gram_eigenvalues<T: Copy + Into<f64>>(
    data: &[T],
    rows: usize,
    cols: usize,
) -> Result<Vec<f64>, SpectralError> {
    if rows == 0 || cols == 0 {
        return error(format!("an empty {rows}×{cols} matrix has no spectrum"));
    }
    if data.len() != rows * cols {
        return error(format!(
            "a {rows}×{cols} matrix needs {} values, got {}",
            rows * cols,
            data.len()
        ));
    }
    // Row-major W read column-major is Wᵀ, which has the same singular values: no copy.
    let matrix = DMatrix::<f64>::from_iterator(cols, rows, data.iter().map(|&v| v.into()));
    if let Some(bad) = matrix.iter().find(|v| !v.is_finite()) {
        return error(format!(
            "the {rows}×{cols} matrix holds {bad}: no spectrum of non-finite weights (did the \
             run diverge?)"
        ));
    }
    // Singular values only (no U, V). 0 iterations = until converged: with finite input the
    // implicit-shift QR iteration converges, and a cap would only add a failure mode.
    let svd = SVD::try_new(matrix, false, false, f64::EPSILON, 0)
        .ok_or_else(|| SpectralError(format!("the SVD of a {rows}×{cols} matrix failed")))?;
    let mut eigenvalues: Vec<f64> = svd.singular_values.iter().map(|s| s * s).collect();
    eigenvalues.sort_by(|a, b| b.total_cmp(a));
    Ok(eigenvalues)
}

/// A power-law fit `p(λ) ∝ λ^{-α}` to the largest eigenvalues (see [`hill_alpha`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HillFit {
    /// The density exponent α (> 1).
    pub alpha: f64,
    /// Eigenvalues in the tail: the `k` largest.
    pub k: usize,
    /// Positive eigenvalues (those above `λ_max × ZERO_RELATIVE`).
    pub n: usize,
    /// The tail's lower end `λ_(k)`, the k-th largest eigenvalue (`xmin` in power-law fits).
    pub lambda_min: f64,
    /// The largest eigenvalue.
    pub lambda_max: f64,
}

/// Hill estimate of the exponent α of `p(λ) ∝ λ^{-α}` over the `k` largest eigenvalues
/// `λ_(1) ≥ … ≥ λ_(k)`:
///
/// `α̂ = 1 + k / Σ_{i=1..k} ln(λ_(i) / λ_(k))`
///
/// This is Hill's estimator (Hill 1975, "A simple general approach to inference about the tail
/// of a distribution", Ann. Statist. 3(5)) of the tail index `1/(α − 1)` with the threshold at
/// the k-th order statistic, i.e. the power-law maximum-likelihood estimate with
/// `xmin = λ_(k)` (Clauset, Shalizi & Newman 2009, eq. 3.1), written exactly as TempBalance's
/// code (`net_esd_estimator`, `fix_fingers="xmin_mid"`) computes it: its sum includes the zero
/// term `i = k`, and it divides by k.
///
/// `k = None` takes TempBalance's default, `xmin` = the median eigenvalue: of `n` positive
/// eigenvalues in ascending order it starts at index `⌊n/2⌋`, so `k = n − ⌊n/2⌋ = ⌈n/2⌉`.
/// Eigenvalues at or below `λ_max × ZERO_RELATIVE` are dropped first (rank deficiency).
///
/// Errors: fewer than [`MIN_EIGENVALUES`] positive eigenvalues; a negative, NaN or infinite
/// eigenvalue; `k` outside `2..=n`; the k largest all equal (a flat spectrum, e.g. an
/// orthogonal weight: α is infinite).
pub fn hill_alpha(eigenvalues: &[f64], k: Option<usize>) -> Result<HillFit, SpectralError> {
    if let Some(bad) = eigenvalues.iter().find(|v| !v.is_finite() || **v < 0.0) {
        return error(format!(
            "eigenvalue {bad}: eigenvalues of WᵀW are finite and ≥ 0"
        ));
    }
    let mut positive: Vec<f64> = eigenvalues.to_vec();
    positive.sort_by(|a, b| b.total_cmp(a));
    let lambda_max = positive.first().copied().unwrap_or(0.0);
    positive.retain(|&v| v > lambda_max * ZERO_RELATIVE);
    let n = positive.len();
    if n < MIN_EIGENVALUES {
        return error(format!(
            "{n} positive eigenvalue(s) of {}: a power-law fit needs at least {MIN_EIGENVALUES} \
             (the layer is too small or its weight has rank < {MIN_EIGENVALUES})",
            eigenvalues.len()
        ));
    }
    let k = k.unwrap_or(n - n / 2);
    if k < 2 || k > n {
        return error(format!(
            "k = {k}: the tail must hold between 2 and the {n} positive eigenvalues; \
             omit k for the median default ({})",
            n - n / 2
        ));
    }
    let lambda_min = positive[k - 1];
    let log_sum: f64 = positive[..k].iter().map(|v| (v / lambda_min).ln()).sum();
    if log_sum <= 0.0 {
        return error(format!(
            "the {k} largest eigenvalues are all {lambda_min}: a flat spectrum has no power-law \
             tail (α is infinite); an orthogonal or scaled-identity weight looks like this"
        ));
    }
    Ok(HillFit {
        alpha: 1.0 + k as f64 / log_sum,
        k,
        n,
        lambda_min,
        lambda_max,
    })
}

/// TempBalance's learning-rate factor per layer (Zhou et al. 2023, linear map):
/// `s_min + (α_i − α_min) / (α_max − α_min) · (s_max − s_min)`, so the most heavy-tailed layer
/// (smallest α, most trained) gets `s_min` and the lightest-tailed gets `s_max`; all factors
/// are 1 when every α is equal (or there is one layer). Defaults: [`TEMPBALANCE_S_MIN`],
/// [`TEMPBALANCE_S_MAX`].
///
/// # Panics
/// If an α is not finite or `s_min > s_max`: [`hill_alpha`] only returns finite α, and the
/// caller checks its bounds where the user gives them.
pub fn tempbalance_factors(alphas: &[f64], s_min: f64, s_max: f64) -> Vec<f64> {
    assert!(
        alphas.iter().all(|a| a.is_finite()),
        "tempbalance_factors: every α must be finite, got {alphas:?}"
    );
    assert!(
        s_min <= s_max,
        "tempbalance_factors: s_min {s_min} > s_max {s_max}"
    );
    let low = alphas.iter().copied().fold(f64::INFINITY, f64::min);
    let high = alphas.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if high <= low {
        return vec![1.0; alphas.len()];
    }
    alphas
        .iter()
        .map(|a| s_min + (a - low) / (high - low) * (s_max - s_min))
        .collect()
}

/// One layer's weight copied to the host as a matrix.
#[derive(Clone, Debug, PartialEq)]
pub struct WeightMatrix {
    /// Layer name, as in [`Network::weights`].
    pub name: String,
    /// The weight's shape as stored: `[d_in, d_out]` or `[out, in, k, k]`.
    pub shape: Vec<usize>,
    /// Matrix rows: `d_in`, or `out` for a convolution.
    pub rows: usize,
    /// Matrix columns: `d_out`, or `in·k·k` for a convolution.
    pub cols: usize,
    /// `rows × cols` values, row-major.
    pub data: Vec<f64>,
}

impl WeightMatrix {
    /// The eigenvalues of `WᵀW`, largest first (see [`gram_eigenvalues`]).
    pub fn eigenvalues(&self) -> Result<Vec<f64>, SpectralError> {
        gram_eigenvalues(&self.data, self.rows, self.cols)
            .map_err(|e| SpectralError(format!("layer {}: {e}", self.name)))
    }
}

/// Every weight of `net` as a host matrix, in [`Network::weights`] order, read from the device
/// in one transfer.
pub fn weight_matrices(net: &Network) -> Vec<WeightMatrix> {
    let weights = net.weights();
    let mut flat: Vec<Tensor<1>> = Vec::with_capacity(weights.len());
    let mut layers = Vec::with_capacity(weights.len());
    for weight in &weights {
        let (name, shape, values) = match weight {
            NamedWeight::Dense(name, p) => (name, p.val().dims().to_vec(), p.val().flatten(0, 1)),
            NamedWeight::Conv(name, p) => (name, p.val().dims().to_vec(), p.val().flatten(0, 3)),
        };
        flat.push(values.detach());
        layers.push((name.clone(), shape));
    }
    let values = Tensor::cat(flat, 0).into_data().convert::<f64>();
    let values = values
        .as_slice::<f64>()
        .expect("weights should be f64 after convert");
    let mut offset = 0;
    layers
        .into_iter()
        .map(|(name, shape)| {
            let (rows, cols) = (shape[0], shape[1..].iter().product::<usize>());
            let data = values[offset..offset + rows * cols].to_vec();
            offset += rows * cols;
            WeightMatrix {
                name,
                shape,
                rows,
                cols,
                data,
            }
        })
        .collect()
}

/// One layer's ESD and its power-law fit.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerSpectrum {
    /// Layer name, as in [`Network::weights`].
    pub name: String,
    /// The weight's shape as stored.
    pub shape: Vec<usize>,
    /// Eigenvalues of `WᵀW`, largest first (`min(rows, cols)` of them).
    pub eigenvalues: Vec<f64>,
    /// The Hill fit to the largest eigenvalues.
    pub fit: HillFit,
}

/// Each layer's spectrum and Hill fit, in [`Network::weights`] order; `k` as in
/// [`hill_alpha`] (`None`: the median default per layer). Errors name the layer.
pub fn layer_spectra(net: &Network, k: Option<usize>) -> Result<Vec<LayerSpectrum>, SpectralError> {
    weight_matrices(net)
        .into_iter()
        .map(|matrix| {
            let eigenvalues = matrix.eigenvalues()?;
            let fit = hill_alpha(&eigenvalues, k)
                .map_err(|e| SpectralError(format!("layer {}: {e}", matrix.name)))?;
            Ok(LayerSpectrum {
                name: matrix.name,
                shape: matrix.shape,
                eigenvalues,
                fit,
            })
        })
        .collect()
}

/// `(layer name, α)` per weight layer in [`Network::weights`] order, with TempBalance's
/// default tail (k = ⌈n/2⌉): the input of [`tempbalance_factors`].
pub fn layer_alphas(net: &Network) -> Result<Vec<(String, f64)>, SpectralError> {
    Ok(layer_spectra(net, None)?
        .into_iter()
        .map(|layer| (layer.name, layer.fit.alpha))
        .collect())
}
