//! Initialisers: moments of large draws against each formula, bounds, seeding, orthogonality,
//! and the edge-of-chaos solver against published critical points.

use burn::tensor::{Device, Tensor};
use gradlab_model::eoc::{critical_point, mean_field};
use gradlab_model::{Activation, Distribution, FanMode, Fans, Init};

const FANS: Fans = Fans {
    fan_in: 400,
    fan_out: 100,
};
const SHAPE: [usize; 2] = [400, 500];

fn moments(values: &[f32]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = values
        .iter()
        .map(|&v| (v as f64 - mean).powi(2))
        .sum::<f64>()
        / n;
    (mean, var)
}

/// Draws 200,000 weights and checks mean ≈ 0 and variance ≈ `expected_var` to 2 % (the
/// standard error of a sample variance of 2·10⁵ Gaussian draws is 0.3 %).
fn check_variance(init: Init, activation: Activation, expected_var: f64) {
    let dist = init.weight_distribution(FANS, activation);
    let values = dist.sample(&SHAPE, 11);
    let (mean, var) = moments(&values);
    let std = expected_var.sqrt();
    assert!(mean.abs() < 0.02 * std, "{init}: mean {mean}");
    assert!(
        (var / expected_var - 1.0).abs() < 0.02,
        "{init}: var {var} vs {expected_var}"
    );
    assert!(
        (dist.variance(SHAPE[0]) / expected_var - 1.0).abs() < 1e-12,
        "{init} formula"
    );
}

#[test]
fn draws_match_each_formula() {
    let (fan_in, fan_out) = (400.0, 100.0);
    let relu = Activation::Relu;
    let tanh = Activation::Tanh;
    check_variance(
        Init::Normal {
            mean: 0.0,
            std: 0.3,
        },
        relu,
        0.09,
    );
    check_variance(
        Init::Uniform {
            low: -0.5,
            high: 0.5,
        },
        relu,
        1.0 / 12.0,
    );
    check_variance(
        Init::XavierUniform { gain: None },
        tanh,
        2.0 / (fan_in + fan_out),
    );
    check_variance(
        Init::XavierNormal { gain: Some(2.0) },
        tanh,
        4.0 * 2.0 / (fan_in + fan_out),
    );
    // He: gain² / fan with the activation's gain (2 for ReLU, 2/(1+0.2²) for leaky 0.2).
    check_variance(
        Init::HeNormal {
            fan: FanMode::FanIn,
            gain: None,
        },
        relu,
        2.0 / fan_in,
    );
    check_variance(
        Init::HeUniform {
            fan: FanMode::FanOut,
            gain: None,
        },
        relu,
        2.0 / fan_out,
    );
    let leaky = Activation::LeakyRelu { slope: 0.2 };
    let he = Init::HeNormal {
        fan: FanMode::FanIn,
        gain: None,
    };
    check_variance(he, leaky, 2.0 / (1.0 + 0.04) / fan_in);
    check_variance(Init::LecunNormal, Activation::Selu, 1.0 / fan_in);
    check_variance(Init::Standard, Activation::Sigmoid, 1.0 / (3.0 * fan_in));
    let eoc = critical_point(tanh, 0.05).unwrap().sigma_w2;
    check_variance(Init::EdgeOfChaos { sigma_b2: 0.05 }, tanh, eoc / fan_in);
    check_variance(
        Init::MeanField {
            sigma_w2: 1.5,
            sigma_b2: 0.1,
        },
        tanh,
        1.5 / fan_in,
    );
}

#[test]
fn uniform_draws_stay_within_bounds() {
    for (init, bound) in [
        (
            Init::Uniform {
                low: -0.2,
                high: 0.1,
            },
            0.2,
        ),
        (Init::Standard, 1.0 / 20.0),
        (Init::XavierUniform { gain: None }, (6.0f64 / 500.0).sqrt()),
        (
            Init::HeUniform {
                fan: FanMode::FanIn,
                gain: None,
            },
            (6.0f64 / 400.0).sqrt(),
        ),
    ] {
        let values = init
            .weight_distribution(FANS, Activation::Relu)
            .sample(&SHAPE, 5);
        let max = values.iter().fold(0f32, |m, v| m.max(v.abs())) as f64;
        assert!(
            max <= bound && max > 0.99 * bound,
            "{init}: max |w| {max}, bound {bound}"
        );
    }
    let skewed = Init::Uniform {
        low: -0.2,
        high: 0.1,
    }
    .weight_distribution(FANS, Activation::Relu);
    assert!(
        skewed
            .sample(&SHAPE, 1)
            .iter()
            .all(|&v| (-0.2..=0.1).contains(&v))
    );
}

#[test]
fn same_seed_gives_the_same_tensor() {
    let device = Device::flex();
    let init = Init::HeNormal {
        fan: FanMode::FanIn,
        gain: None,
    };
    let draw = |seed| {
        init.weight([30, 20], FANS, Activation::Relu, seed, &device)
            .into_data()
    };
    assert_eq!(draw(7), draw(7));
    assert_ne!(draw(7), draw(8));
}

#[test]
fn zero_and_constant_initialisers_are_exact() {
    let dist = Init::Zeros.weight_distribution(FANS, Activation::Tanh);
    assert!(dist.sample(&[10, 10], 0).iter().all(|&v| v == 0.0));
    let dist = Init::Constant { value: 0.5 }.weight_distribution(FANS, Activation::Tanh);
    assert!(dist.sample(&[10, 10], 0).iter().all(|&v| v == 0.5));
}

#[test]
fn biases_are_zero_unless_the_scheme_draws_them() {
    let device = Device::flex();
    for init in [
        Init::Standard,
        Init::XavierUniform { gain: None },
        Init::LecunNormal,
    ] {
        let bias = init.bias(50, 3, &device).abs().sum().into_scalar::<f32>();
        assert_eq!(bias, 0.0, "{init}");
    }
    let bias = Init::EdgeOfChaos { sigma_b2: 0.05 }
        .bias_distribution()
        .sample(&[100_000], 4);
    let (mean, var) = moments(&bias);
    assert!(
        mean.abs() < 0.005 && (var / 0.05 - 1.0).abs() < 0.03,
        "mean {mean} var {var}"
    );
}

#[test]
fn orthogonal_weights_have_orthonormal_columns() {
    let device = Device::flex();
    for (rows, cols) in [(64, 64), (100, 40), (40, 100)] {
        let fans = Fans {
            fan_in: rows,
            fan_out: cols,
        };
        let init = Init::Orthogonal { gain: Some(1.0) };
        let w: Tensor<2> = init.weight([rows, cols], fans, Activation::Relu, 9, &device);
        // Tall: WᵀW = I; wide: WWᵀ = I.
        let gram = if rows >= cols {
            w.clone().transpose().matmul(w)
        } else {
            w.clone().matmul(w.transpose())
        };
        let n = rows.min(cols);
        let error = (gram - Tensor::<2>::eye(n, &device))
            .abs()
            .max()
            .into_scalar::<f32>();
        assert!(error < 1e-5, "{rows}x{cols}: max |WᵀW - I| = {error}");
    }
    // The default gain follows the activation: 5/3 for tanh.
    let dist = Init::Orthogonal { gain: None }.weight_distribution(FANS, Activation::Tanh);
    assert_eq!(dist, Distribution::Orthogonal(5.0 / 3.0));
}

#[test]
fn edge_of_chaos_matches_published_critical_points() {
    // Schoenholz et al. (2017), Fig. 1: tanh at σ_b² = 0.05 is critical at σ_w² ≈ 1.76.
    let tanh = critical_point(Activation::Tanh, 0.05).unwrap();
    assert!(
        (tanh.sigma_w2 - 1.761).abs() < 0.005,
        "σ_w² = {}",
        tanh.sigma_w2
    );
    assert!((tanh.chi1 - 1.0).abs() < 1e-9);
    assert_eq!(tanh.c_star, 1.0);
    // As σ_b² → 0 the critical point of tanh tends to σ_w² = 1 (tanh'(0) = 1).
    let small = critical_point(Activation::Tanh, 1e-8).unwrap();
    assert!(
        (small.sigma_w2 - 1.0).abs() < 0.01,
        "σ_w² = {}",
        small.sigma_w2
    );
    // ReLU: χ₁ = σ_w²/2 at every q, so σ_w² = 2 (He et al. 2015).
    for sigma_b2 in [0.0, 0.05] {
        let relu = critical_point(Activation::Relu, sigma_b2).unwrap();
        assert!(
            (relu.sigma_w2 - 2.0).abs() < 1e-9,
            "σ_w² = {}",
            relu.sigma_w2
        );
    }
}

#[test]
fn mean_field_phases_and_depth_scale() {
    let ordered = mean_field(Activation::Tanh, 1.0, 0.05);
    assert!(ordered.chi1 < 1.0 && ordered.c_star == 1.0);
    assert!((ordered.depth_scale + 1.0 / ordered.chi1.ln()).abs() < 1e-12);
    let q = ordered.q_star.unwrap();
    // q* is a fixed point of the length map.
    let mapped = eoc_map(Activation::Tanh, 1.0, 0.05, q);
    assert!((mapped - q).abs() < 1e-10, "q* = {q}, map(q*) = {mapped}");

    let chaotic = mean_field(Activation::Tanh, 4.0, 0.05);
    assert!(chaotic.chi1 > 1.0 && chaotic.c_star < 1.0 && chaotic.depth_scale > 0.0);
    // Depth scale grows without bound towards the critical point.
    let near = mean_field(Activation::Tanh, 1.70, 0.05);
    assert!(near.depth_scale > 5.0 * ordered.depth_scale);
}

fn eoc_map(activation: Activation, sigma_w2: f64, sigma_b2: f64, q: f64) -> f64 {
    sigma_w2 * gradlab_model::eoc::gaussian_expectation(|z| activation.value(q.sqrt() * z).powi(2))
        + sigma_b2
}

#[test]
fn initialiser_spelling_round_trips_and_rejects_bad_input() {
    for text in [
        "zeros",
        "constant:value=0.5",
        "uniform:low=-0.1,high=0.2",
        "normal:std=0.05",
        "normal:mean=0.1,std=0.05",
        "xavier-uniform",
        "xavier-normal:gain=2",
        "he-uniform",
        "he-normal:fan=fan-out",
        "lecun-normal",
        "orthogonal:gain=1.5",
        "standard",
        "eoc:sigma_b2=0.05",
        "mean-field:sigma_w2=1.5,sigma_b2=0.05",
    ] {
        let init: Init = text.parse().unwrap();
        assert_eq!(init.to_string(), text);
    }
    let err = "kaiming".parse::<Init>().unwrap_err().to_string();
    assert!(
        err.contains("unknown initialiser `kaiming`") && err.contains("he-normal"),
        "{err}"
    );
    let err = "uniform:low=1,high=0"
        .parse::<Init>()
        .unwrap_err()
        .to_string();
    assert!(err.contains("low (1) must be below high (0)"), "{err}");
    let err = "normal:sd=1".parse::<Init>().unwrap_err().to_string();
    assert!(
        err.contains("unknown parameter `sd`") && err.contains("mean, std"),
        "{err}"
    );
    let err = "eoc:sigma_b2=-1".parse::<Init>().unwrap_err().to_string();
    assert!(err.contains("at least 0"), "{err}");
}
