//! Spectral analysis: eigenvalues of WᵀW on matrices with known singular values, the Hill
//! estimator on Pareto samples of known exponent, TempBalance's factors, networks' layers, and
//! the error messages.

use burn::tensor::Device;
use gradlab_model::spectral::{
    MIN_EIGENVALUES, TEMPBALANCE_S_MAX, TEMPBALANCE_S_MIN, gram_eigenvalues, hill_alpha,
    layer_alphas, layer_spectra, tempbalance_factors, weight_matrices,
};
use gradlab_model::{Activation, Architecture, CnnConfig, MlpConfig};
use rand::SeedableRng;
use rand_distr::{Distribution, Pareto, StandardNormal};

fn close(a: &[f64], b: &[f64], tol: f64) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= tol * y.abs().max(1.0))
}

fn error_of<T: std::fmt::Debug, E: std::fmt::Display>(r: Result<T, E>) -> String {
    r.expect_err("should be an error").to_string()
}

#[test]
fn eigenvalues_of_known_matrices_are_the_squared_singular_values_largest_first() {
    // Diagonal: singular values |3|, |−2|, 1.
    let diag = [3.0, 0.0, 0.0, 0.0, -2.0, 0.0, 0.0, 0.0, 1.0];
    assert!(close(
        &gram_eigenvalues(&diag, 3, 3).unwrap(),
        &[9.0, 4.0, 1.0],
        1e-12
    ));
    // A rotation by 0.3 rad scaled by 2: both singular values 2.
    let (c, s) = (0.3f64.cos(), 0.3f64.sin());
    let rotation = [2.0 * c, -2.0 * s, 2.0 * s, 2.0 * c];
    assert!(close(
        &gram_eigenvalues(&rotation, 2, 2).unwrap(),
        &[4.0, 4.0],
        1e-12
    ));
    // [[1, 1], [0, 1]]: WᵀW = [[1, 1], [1, 2]], eigenvalues (3 ± √5)/2; f32 input too.
    let shear = [1.0f32, 1.0, 0.0, 1.0];
    let expected = [(3.0 + 5f64.sqrt()) / 2.0, (3.0 - 5f64.sqrt()) / 2.0];
    assert!(close(
        &gram_eigenvalues(&shear, 2, 2).unwrap(),
        &expected,
        1e-12
    ));
    // Row-major 2×3 (wide) and its 3×2 transpose: min(rows, cols) = 2 eigenvalues each.
    let wide = [3.0, 0.0, 0.0, 0.0, 0.0, 4.0];
    let tall = [3.0, 0.0, 0.0, 0.0, 0.0, 4.0];
    assert!(close(
        &gram_eigenvalues(&wide, 2, 3).unwrap(),
        &[16.0, 9.0],
        1e-12
    ));
    assert!(close(
        &gram_eigenvalues(&tall, 3, 2).unwrap(),
        &[16.0, 9.0],
        1e-12
    ));
    // Rank one: [[1, 2], [2, 4], [0, 0]] = (1, 2, 0)ᵀ(1, 2): eigenvalues 25 and 0.
    let rank_one = [1.0, 2.0, 2.0, 4.0, 0.0, 0.0];
    let eigs = gram_eigenvalues(&rank_one, 3, 2).unwrap();
    assert!(
        (eigs[0] - 25.0).abs() < 1e-12 && eigs[1].abs() < 1e-12,
        "{eigs:?}"
    );
}

#[test]
fn eigenvalues_of_a_random_matrix_sum_to_its_squared_frobenius_norm() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let (rows, cols) = (30, 20);
    let w: Vec<f64> = (0..rows * cols)
        .map(|_| StandardNormal.sample(&mut rng))
        .collect();
    let eigs = gram_eigenvalues(&w, rows, cols).unwrap();
    assert_eq!(eigs.len(), 20);
    assert!(eigs.windows(2).all(|p| p[0] >= p[1]), "largest first");
    let frobenius2: f64 = w.iter().map(|v| v * v).sum();
    assert!((eigs.iter().sum::<f64>() - frobenius2).abs() < 1e-9 * frobenius2);
}

#[test]
fn hill_recovers_the_exponent_of_pareto_samples() {
    for alpha in [3.0, 4.0] {
        // Density ∝ x^{-α} is rand_distr's Pareto with shape α − 1.
        let pareto = Pareto::new(1.0, alpha - 1.0).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
        let samples: Vec<f64> = (0..20_000).map(|_| pareto.sample(&mut rng)).collect();
        let fit = hill_alpha(&samples, None).unwrap();
        assert_eq!(
            (fit.n, fit.k),
            (20_000, 10_000),
            "median default: k = ⌈n/2⌉"
        );
        let mut sorted = samples.clone();
        sorted.sort_by(|a, b| b.total_cmp(a));
        assert_eq!(fit.lambda_min, sorted[9_999]);
        assert_eq!(fit.lambda_max, sorted[0]);
        assert!(
            (fit.alpha - alpha).abs() < 0.05 * alpha,
            "α = {alpha}: {fit:?}"
        );
        let tail = hill_alpha(&samples, Some(2_000)).unwrap();
        assert_eq!(tail.k, 2_000);
        assert!(
            (tail.alpha - alpha).abs() < 0.05 * alpha,
            "α = {alpha}, k = 2000: {tail:?}"
        );
    }
}

#[test]
fn hill_follows_the_documented_formula_on_hand_values() {
    // n = 4 → k = 2, xmin = 4: α = 1 + 2 / (ln(8/4) + ln(4/4)).
    let fit = hill_alpha(&[1.0, 8.0, 2.0, 4.0], None).unwrap();
    assert_eq!(
        (fit.n, fit.k, fit.lambda_min, fit.lambda_max),
        (4, 2, 4.0, 8.0)
    );
    assert!((fit.alpha - (1.0 + 2.0 / 2f64.ln())).abs() < 1e-12);
    // n = 5 → k = 3 (TempBalance: start at index ⌊5/2⌋ = 2 of the ascending order).
    let fit = hill_alpha(&[16.0, 8.0, 4.0, 2.0, 1.0], None).unwrap();
    assert_eq!((fit.k, fit.lambda_min), (3, 4.0));
    assert!((fit.alpha - (1.0 + 3.0 / (4f64.ln() + 2f64.ln()))).abs() < 1e-12);
    // Zeros (rank deficiency) are dropped before the median is taken.
    let fit = hill_alpha(&[16.0, 8.0, 4.0, 2.0, 1.0, 0.0, 0.0], None).unwrap();
    assert_eq!((fit.n, fit.k), (5, 3));
}

#[test]
fn hill_rejects_what_it_cannot_fit_with_the_reason() {
    let few = error_of(hill_alpha(&[4.0, 2.0, 1.0, 0.0, 1e-20], None));
    assert!(
        few.contains(&format!("at least {MIN_EIGENVALUES}")),
        "{few}"
    );
    assert!(few.contains("3 positive"), "{few}");
    let eigs = [5.0, 4.0, 3.0, 2.0, 1.0];
    for k in [0, 1, 6] {
        let e = error_of(hill_alpha(&eigs, Some(k)));
        assert!(
            e.contains(&format!("k = {k}")) && e.contains("between 2 and the 5"),
            "{e}"
        );
    }
    let nan = error_of(hill_alpha(&[5.0, f64::NAN, 3.0, 2.0, 1.0], None));
    assert!(nan.contains("NaN") && nan.contains("finite"), "{nan}");
    let negative = error_of(hill_alpha(&[5.0, -1.0, 3.0, 2.0, 1.0], None));
    assert!(negative.contains("-1"), "{negative}");
    let flat = error_of(hill_alpha(&[2.0; 6], None));
    assert!(
        flat.contains("flat spectrum") && flat.contains("orthogonal"),
        "{flat}"
    );
}

#[test]
fn eigenvalues_reject_bad_matrices_with_the_reason() {
    let e = error_of(gram_eigenvalues(&[1.0; 5], 2, 3));
    assert!(e.contains("needs 6 values, got 5"), "{e}");
    let e = error_of(gram_eigenvalues::<f64>(&[], 0, 3));
    assert!(e.contains("empty"), "{e}");
    let e = error_of(gram_eigenvalues(&[1.0, f32::INFINITY, 0.0, 1.0], 2, 2));
    assert!(e.contains("inf") && e.contains("diverge"), "{e}");
}

#[test]
fn tempbalance_factors_map_alpha_linearly_onto_the_rate_range() {
    let alphas = [2.0, 3.0, 4.0, 2.5];
    let f = tempbalance_factors(&alphas, TEMPBALANCE_S_MIN, TEMPBALANCE_S_MAX);
    assert!(close(&f, &[0.5, 1.0, 1.5, 0.75], 1e-12), "{f:?}");
    // Monotone in α: sort the layers by α, the factors come out sorted too.
    let alphas = [3.7, 2.1, 5.0, 2.9, 4.4, 3.0];
    let f = tempbalance_factors(&alphas, 0.2, 3.0);
    let mut order: Vec<usize> = (0..alphas.len()).collect();
    order.sort_by(|&a, &b| alphas[a].total_cmp(&alphas[b]));
    assert!(order.windows(2).all(|p| f[p[0]] < f[p[1]]), "{f:?}");
    assert_eq!((f[order[0]], f[order[5]]), (0.2, 3.0));
    assert_eq!(tempbalance_factors(&[3.2; 4], 0.5, 1.5), [1.0; 4]);
    assert_eq!(tempbalance_factors(&[2.0], 0.5, 1.5), [1.0]);
    assert!(tempbalance_factors(&[], 0.5, 1.5).is_empty());
}

#[test]
#[should_panic(expected = "every α must be finite")]
fn tempbalance_factors_refuse_a_non_finite_alpha() {
    tempbalance_factors(&[2.0, f64::NAN], 0.5, 1.5);
}

#[test]
fn network_layers_come_to_the_host_in_weights_order_with_their_spectra() {
    let device = Device::flex();
    let mlp = MlpConfig::new(64, 10, 2, 24).with_activation(Activation::Tanh);
    let net = Architecture::Mlp(mlp).init(3, &device);
    let spectra = layer_spectra(&net, None).unwrap();
    let names: Vec<&str> = spectra.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["hidden1", "hidden2", "output"]);
    let shapes: Vec<&[usize]> = spectra.iter().map(|l| l.shape.as_slice()).collect();
    assert_eq!(shapes, [&[64, 24][..], &[24, 24], &[24, 10]]);
    let counts: Vec<usize> = spectra.iter().map(|l| l.eigenvalues.len()).collect();
    assert_eq!(counts, [24, 24, 10]);
    // The host copy is the weight: Σλ = ‖W‖²_F as the device computes it.
    for (layer, norms) in spectra.iter().zip(net.layer_norms(None)) {
        let trace: f64 = layer.eigenvalues.iter().sum();
        let norm2 = norms.weight_norm * norms.weight_norm;
        assert!((trace - norm2).abs() < 1e-5 * norm2, "{}", layer.name);
        assert!(layer.fit.alpha > 1.0 && layer.fit.alpha.is_finite());
        assert_eq!(layer.fit.k, layer.eigenvalues.len().div_ceil(2));
    }
    let alphas = layer_alphas(&net).unwrap();
    assert_eq!(alphas.len(), 3);
    for ((name, alpha), layer) in alphas.iter().zip(&spectra) {
        assert_eq!((name, *alpha), (&layer.name, layer.fit.alpha));
    }
}

#[test]
fn convolution_weights_become_out_by_in_k_k_matrices() {
    let device = Device::flex();
    let cnn = CnnConfig::new(1, 28, 10)
        .with_channels(vec![4, 8])
        .with_dense(16)
        .with_residual(true);
    let net = Architecture::Cnn(cnn).init(1, &device);
    let matrices = weight_matrices(&net);
    let summary: Vec<(&str, usize, usize)> = matrices
        .iter()
        .map(|m| (m.name.as_str(), m.rows, m.cols))
        .collect();
    assert_eq!(
        summary,
        [
            ("conv1", 4, 9),
            ("conv1b", 4, 36),
            ("conv2", 8, 36),
            ("conv2b", 8, 72),
            ("dense", 7 * 7 * 8, 16),
            ("output", 16, 10),
        ]
    );
    assert_eq!(matrices[0].shape, [4, 1, 3, 3]);
    assert!(matrices.iter().all(|m| m.data.len() == m.rows * m.cols));
    // conv1 holds 4 eigenvalues: exactly the minimum the fit accepts.
    let spectra = layer_spectra(&net, None).unwrap();
    assert_eq!(spectra[0].eigenvalues.len(), 4);
    assert_eq!(spectra[0].fit.k, 2);
}
