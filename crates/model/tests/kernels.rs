//! The vectorised exp / sigmoid / tanh against the C library, and the flex kernels and their
//! output-saving backward pass against Burn's own sigmoid and tanh and its autodiff.

use burn::tensor::{Device, Distribution, Tensor, activation as act};
use gradlab_model::{fastmath, kernels};

/// Distance in units in the last place between two finite f32 of the same sign.
fn ulps(a: f32, b: f32) -> u32 {
    if a == b {
        return 0;
    }
    assert_eq!(a.is_sign_negative(), b.is_sign_negative(), "{a} vs {b}");
    (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
}

/// Every 97th f32 bit pattern between `low` and `high` (about 10⁷ values), the bounds included.
fn dense_grid(low: f32, high: f32) -> Vec<f32> {
    let mut out = vec![low, high];
    let mut x = low;
    while x < high {
        out.push(x);
        let step = x.abs().max(1e-30) * 97.0 * f32::EPSILON;
        x += step;
    }
    out
}

#[test]
fn exp_is_within_2_ulp_of_the_c_library_over_its_normal_range() {
    let mut worst = (0, 0.0);
    for x in dense_grid(-87.3, 88.7) {
        let d = ulps(fastmath::exp(x), x.exp());
        if d > worst.0 {
            worst = (d, x);
        }
    }
    assert!(worst.0 <= 2, "{} ulp at x = {}", worst.0, worst.1);
}

#[test]
fn exp_edges_overflow_underflow_and_nan() {
    assert_eq!(fastmath::exp(0.0), 1.0);
    assert_eq!(fastmath::exp(89.0), f32::INFINITY);
    assert_eq!(fastmath::exp(f32::INFINITY), f32::INFINITY);
    assert_eq!(fastmath::exp(-88.0), 0.0, "subnormal results are flushed");
    assert_eq!(fastmath::exp(f32::NEG_INFINITY), 0.0);
    assert!(fastmath::exp(f32::NAN).is_nan());
    // The largest and smallest inputs with a normal result are still accurate.
    assert!(ulps(fastmath::exp(88.72), 88.72f32.exp()) <= 2);
    assert!(ulps(fastmath::exp(-87.33), (-87.33f32).exp()) <= 2);
}

#[test]
fn sigmoid_and_tanh_are_within_3_ulp_of_the_c_library() {
    for x in dense_grid(-80.0, 80.0) {
        let s = 1.0 / (1.0 + (-(x as f64)).exp());
        let d = ulps(fastmath::sigmoid(x), s as f32);
        assert!(
            d <= 3,
            "sigmoid({x}): {} vs {s}: {d} ulp",
            fastmath::sigmoid(x)
        );
        let t = (x as f64).tanh() as f32;
        let d = ulps(fastmath::tanh(x), t);
        assert!(d <= 3, "tanh({x}): {} vs {t}: {d} ulp", fastmath::tanh(x));
    }
    assert_eq!(fastmath::sigmoid(0.0), 0.5);
    assert_eq!(fastmath::tanh(0.0), 0.0);
    assert_eq!(fastmath::tanh(-0.0).to_bits(), (-0.0f32).to_bits());
    assert_eq!(fastmath::sigmoid(-100.0), 0.0);
    assert_eq!(fastmath::sigmoid(100.0), 1.0);
    assert_eq!(fastmath::tanh(100.0), 1.0);
    assert_eq!(fastmath::tanh(-100.0), -1.0);
    assert!(fastmath::sigmoid(f32::NAN).is_nan() && fastmath::tanh(f32::NAN).is_nan());
}

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

fn assert_close(what: &str, got: &[f32], want: &[f32], tolerance: f32) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tolerance * (1.0 + w.abs()),
            "{what}[{i}]: {g} vs {w}"
        );
    }
}

/// A `[rows, 1000]` tensor of N(0, 3²) values: big enough for the threaded path, wide enough
/// to reach saturation.
fn wide(rows: usize, device: &Device) -> Tensor<2> {
    Tensor::<2>::random([rows, 1000], Distribution::Normal(0.0, 3.0), device)
}

#[test]
fn flex_kernels_match_burn_on_threaded_strided_and_small_tensors() {
    let device = Device::flex();
    let x = wide(100, &device);
    for (name, ours, burns) in [
        (
            "sigmoid",
            kernels::sigmoid(x.clone()),
            act::sigmoid(x.clone()),
        ),
        ("tanh", kernels::tanh(x.clone()), act::tanh(x.clone())),
    ] {
        assert_close(name, &to_vec(ours), &to_vec(burns), 1e-6);
    }
    // A transposed view and a tiny tensor take the copying and single-thread paths.
    let t = x.clone().transpose();
    assert_close(
        "sigmoid of a transposed view",
        &to_vec(kernels::sigmoid(t.clone())),
        &to_vec(act::sigmoid(t)),
        1e-6,
    );
    let small = Tensor::<1>::from_floats([-3.0, 0.0, 0.5, 7.0], &device);
    assert_close(
        "tanh of 4 values",
        &to_vec(kernels::tanh(small.clone())),
        &to_vec(act::tanh(small)),
        1e-6,
    );
    // The input is not modified, even though the kernel works in place when it can.
    let before = to_vec(x.clone());
    let _ = kernels::sigmoid(x.clone());
    assert_eq!(to_vec(x), before);
}

#[test]
fn output_saving_backward_matches_burns_autodiff() {
    let device = Device::flex().autodiff();
    let x0 = wide(64, &device);
    let weights = Tensor::<2>::random([64, 1000], Distribution::Uniform(-1.0, 1.0), &device);
    type Activation = fn(Tensor<2>) -> Tensor<2>;
    let pairs: [(&str, Activation, Activation); 2] = [
        ("sigmoid", kernels::sigmoid, act::sigmoid),
        ("tanh", kernels::tanh, act::tanh),
    ];
    for (name, ours, burns) in pairs {
        let grad_of = |f: Activation| {
            let x = x0.clone().detach().require_grad();
            // Used twice, as a layer's output is (next layer, instrumentation).
            let y = f(x.clone());
            let loss = (y.clone() * weights.clone()).sum() + y.square().sum();
            let grads = loss.backward();
            to_vec(x.grad(&grads).expect("x should have a gradient"))
        };
        assert_close(name, &grad_of(ours), &grad_of(burns), 1e-5);
    }
}

#[test]
fn other_backends_fall_back_to_burns_functions() {
    #[allow(deprecated)]
    let device = Device::ndarray();
    let x = wide(3, &device);
    assert_eq!(
        to_vec(kernels::sigmoid(x.clone())),
        to_vec(act::sigmoid(x.clone()))
    );
    assert_eq!(to_vec(kernels::tanh(x.clone())), to_vec(act::tanh(x)));
}
