//! Activation values and derivatives: closed forms against Burn's autodiff, and the claims the
//! experiments start from (sigmoid' ≤ 1/4, tanh' ≤ 1, saturation beyond |x| > 5).

use burn::tensor::{Device, Tensor, TensorData};
use gradlab_model::{Activation, ActivationLayer, SELU_ALPHA, SELU_LAMBDA, eoc};

/// 2000 points over [-10, 10], offset by half a step so that no point sits on a kink at 0.
fn grid() -> Vec<f32> {
    (0..2000)
        .map(|i| -10.0 + 20.0 * (i as f32 + 0.5) / 2000.0)
        .collect()
}

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap()
}

#[test]
fn analytic_derivative_matches_autodiff_for_every_activation() {
    let device = Device::flex().autodiff();
    let xs = grid();
    for activation in Activation::ALL {
        let layer = ActivationLayer::new(activation, &device);
        let x =
            Tensor::<1>::from_data(TensorData::new(xs.clone(), [xs.len()]), &device).require_grad();
        let grads = layer.forward(x.clone()).sum().backward();
        let autodiff = to_vec(x.grad(&grads).expect("input should have a gradient"));
        let analytic = to_vec(activation.derivative(x.clone().detach()));
        let layer_analytic = to_vec(layer.derivative(x.detach()));
        for (i, &xv) in xs.iter().enumerate() {
            let scalar = activation.derivative_at(xv as f64) as f32;
            // f32 arithmetic: 1e-4 absolute covers the rounding of exp/erf near |x| = 10.
            for (what, value) in [("tensor", analytic[i]), ("layer", layer_analytic[i])] {
                assert!(
                    (autodiff[i] - value).abs() < 1e-4,
                    "{activation} {what} f'({xv}) = {value}, autodiff {}",
                    autodiff[i]
                );
            }
            assert!(
                (autodiff[i] - scalar).abs() < 1e-4,
                "{activation} scalar f'({xv})"
            );
        }
    }
}

#[test]
fn tensor_forward_matches_scalar_value() {
    let device = Device::flex();
    let xs = grid();
    for activation in Activation::ALL {
        let x = Tensor::<1>::from_data(TensorData::new(xs.clone(), [xs.len()]), &device);
        let values = to_vec(activation.forward(x));
        for (x, v) in xs.iter().zip(values) {
            let expected = activation.value(*x as f64) as f32;
            assert!(
                (v - expected).abs() < 1e-4 * (1.0 + expected.abs()),
                "{activation}({x})"
            );
        }
    }
}

#[test]
fn sigmoid_derivative_peaks_at_a_quarter_and_tanh_at_one() {
    let sigmoid = Activation::Sigmoid.derivative_peak();
    let tanh = Activation::Tanh.derivative_peak();
    assert_eq!((sigmoid.at, sigmoid.value), (0.0, 0.25));
    assert_eq!((tanh.at, tanh.value), (0.0, 1.0));
    assert_eq!(Activation::Sigmoid.derivative_at(0.0), 0.25);
    assert_eq!(Activation::Tanh.derivative_at(0.0), 1.0);
    assert_eq!(tanh.value / sigmoid.value, 4.0);
}

#[test]
fn no_derivative_exceeds_its_stated_peak() {
    for activation in Activation::ALL {
        let peak = activation.derivative_peak();
        let worst = (-20_000..=20_000)
            .map(|i| activation.derivative_at(i as f64 * 1e-3))
            .fold(f64::MIN, f64::max);
        assert!(
            worst <= peak.value + 1e-9,
            "{activation}: {worst} > {}",
            peak.value
        );
        // And the peak is reached (or approached) on the grid.
        assert!(
            worst >= peak.value - 1e-3,
            "{activation}: grid max {worst} < {}",
            peak.value
        );
        if peak.attained {
            assert!((activation.derivative_at(peak.at) - peak.value).abs() < 1e-12);
        }
    }
}

#[test]
fn tanh_is_a_rescaled_sigmoid() {
    for x in grid() {
        let x = x as f64;
        let rescaled = 2.0 * Activation::Sigmoid.value(2.0 * x) - 1.0;
        assert!(
            (Activation::Tanh.value(x) - rescaled).abs() < 1e-14,
            "x = {x}"
        );
    }
}

#[test]
fn sigmoid_saturates_beyond_five() {
    for x in [5.0, -5.0, 6.0, -8.0] {
        assert!(
            Activation::Sigmoid.derivative_at(x) < 0.0067,
            "sigmoid'({x})"
        );
    }
    // Where σ'(x) falls under 0.0266·max f' is |x| ≈ 5: the article's threshold.
    let saturation = Activation::Sigmoid.saturation(0.0266);
    let threshold = saturation.both_sides().unwrap();
    assert!((threshold - 5.0).abs() < 0.01, "threshold {threshold}");
    assert!((saturation.negative.unwrap() - saturation.positive.unwrap()).abs() < 1e-9);
    // At the default ρ = 0.05: σ'(x) = 0.0125 at |x| ≈ 4.36.
    let default = Activation::Sigmoid.saturation(0.05).both_sides().unwrap();
    assert!((default - 4.36).abs() < 0.01, "threshold {default}");
}

#[test]
fn relu_saturates_on_the_negative_side_only() {
    let relu = Activation::Relu.saturation(0.05);
    assert_eq!(relu.negative, Some(0.0));
    assert_eq!(relu.positive, None);
    assert_eq!(relu.both_sides(), None);
    assert_eq!(Activation::Identity.saturation(0.05).both_sides(), None);
}

#[test]
fn sigmoid_and_softplus_stay_finite_at_extremes() {
    let device = Device::flex();
    let x = Tensor::<1>::from_floats([-100.0, 100.0], &device);
    for activation in [Activation::Sigmoid, Activation::Softplus] {
        for v in to_vec(activation.forward(x.clone()))
            .into_iter()
            .chain(to_vec(activation.derivative(x.clone())))
        {
            assert!(v.is_finite(), "{activation} at ±100 gave {v}");
        }
        for x in [-100.0, 100.0] {
            assert!(activation.value(x).is_finite() && activation.derivative_at(x).is_finite());
        }
    }
    assert_eq!(Activation::Softplus.value(100.0), 100.0);
    assert!(Activation::Sigmoid.value(-100.0) > 0.0);
}

#[test]
fn selu_constants_and_self_normalisation() {
    // Klambauer et al. (2017), eq. 14, to ten significant digits.
    assert_eq!(format!("{SELU_LAMBDA:.10}"), "1.0507009874");
    assert_eq!(format!("{SELU_ALPHA:.10}"), "1.6732632424");
    // For x ~ N(0, 1) the output has mean 0 and variance 1: by quadrature to 1e-6 (the
    // constants are rounded to 17 digits) …
    let mean = eoc::gaussian_expectation(|z| Activation::Selu.value(z));
    let second = eoc::gaussian_expectation(|z| Activation::Selu.value(z).powi(2));
    assert!(mean.abs() < 1e-6, "mean {mean}");
    assert!(
        (second - mean * mean - 1.0).abs() < 1e-6,
        "variance {}",
        second - mean * mean
    );
    // … and on 200,000 draws, within 4 standard errors (≈ 0.01).
    let device = Device::flex();
    let sample = gradlab_model::Distribution::Normal(0.0, 1.0).sample(&[200_000], 3);
    let x = Tensor::<1>::from_data(TensorData::new(sample, [200_000]), &device);
    let y = Activation::Selu.forward(x);
    let m = y.clone().mean().into_scalar::<f32>();
    let v = y.var(0).into_scalar::<f32>();
    assert!(
        m.abs() < 0.01 && (v - 1.0).abs() < 0.01,
        "mean {m}, variance {v}"
    );
}

#[test]
fn leaky_and_prelu_pass_their_slope_on_the_negative_side() {
    let device = Device::flex().autodiff();
    for activation in [
        Activation::LeakyRelu { slope: 0.1 },
        Activation::Prelu { init: 0.25 },
    ] {
        let layer = ActivationLayer::new(activation, &device);
        let x = Tensor::<1>::from_floats([-3.0, -0.5, 0.5, 2.0], &device).require_grad();
        let grads = layer.forward(x.clone()).sum().backward();
        let g = to_vec(x.grad(&grads).unwrap());
        let expected = match activation {
            Activation::LeakyRelu { slope } | Activation::Prelu { init: slope } => slope as f32,
            _ => unreachable!(),
        };
        assert_eq!(g, vec![expected, expected, 1.0, 1.0], "{activation}");
    }
}

#[test]
fn prelu_slope_receives_a_gradient() {
    let device = Device::flex().autodiff();
    let layer = ActivationLayer::new(Activation::Prelu { init: 0.25 }, &device);
    let x = Tensor::<1>::from_floats([-3.0, -1.0, 2.0], &device);
    let grads = layer.forward(x).sum().backward();
    let slope = layer.slope.as_ref().unwrap();
    // d/da Σ prelu(x) = Σ_{x<0} x = -4.
    let g = slope
        .grad(&grads)
        .expect("slope should have a gradient")
        .into_scalar::<f32>();
    assert_eq!(g, -4.0);
}

#[test]
fn spelling_round_trips_and_errors_name_the_fix() {
    for activation in Activation::ALL {
        let text = activation.to_string();
        assert_eq!(text.parse::<Activation>().unwrap(), activation);
        let json = serde_json::to_string(&activation).unwrap();
        assert_eq!(json, format!("\"{text}\""));
    }
    let leaky: Activation = "leaky-relu:slope=0.2".parse().unwrap();
    assert_eq!(leaky, Activation::LeakyRelu { slope: 0.2 });
    assert_eq!(leaky.to_string(), "leaky-relu:slope=0.2");

    let err = "sigmod".parse::<Activation>().unwrap_err().to_string();
    assert!(
        err.contains("unknown activation `sigmod`") && err.contains("sigmoid, tanh"),
        "{err}"
    );
    let err = "tanh:slope=2"
        .parse::<Activation>()
        .unwrap_err()
        .to_string();
    assert!(err.contains("`tanh` takes no parameters"), "{err}");
    let err = "elu:alpha=-1"
        .parse::<Activation>()
        .unwrap_err()
        .to_string();
    assert!(err.contains("greater than 0"), "{err}");
}

#[test]
fn output_ranges_contain_every_value() {
    for activation in Activation::ALL {
        let (lo, hi) = activation.output_range();
        for i in -20_000..=20_000 {
            let v = activation.value(i as f64 * 1e-3);
            assert!(
                v >= lo - 1e-12 && v <= hi + 1e-12,
                "{activation}: {v} outside [{lo}, {hi}]"
            );
        }
    }
    let (gelu_min, _) = Activation::Gelu.output_range();
    assert!(
        (gelu_min + 0.17).abs() < 0.001,
        "GELU minimum ≈ -0.170, got {gelu_min}"
    );
}
