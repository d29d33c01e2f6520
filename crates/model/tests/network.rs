//! Architectures: shapes, traces, statistics, gradient flow at the edge of chaos, and the
//! symmetry of zero initialisation.

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Device, Int, Tensor, TensorData};
use gradlab_model::{
    Activation, Architecture, CnnConfig, Distribution, Init, MlpConfig, Network, Thresholds,
    layer_stats,
};

fn gaussian_images(n: usize, c: usize, side: usize, seed: u64, device: &Device) -> Tensor<4> {
    let values = Distribution::Normal(0.0, 1.0).sample(&[n, c, side, side], seed);
    Tensor::from_data(TensorData::new(values, [n, c, side, side]), device)
}

#[test]
fn mlp_variants_give_logits_and_one_trace_per_hidden_layer() {
    let device = Device::flex();
    let images = gaussian_images(6, 1, 4, 1, &device);
    for (batch_norm, residual) in [(false, false), (true, false), (false, true), (true, true)] {
        let config = MlpConfig::new(16, 10, 3, 12)
            .with_activation(Activation::Tanh)
            .with_batch_norm(batch_norm)
            .with_residual(residual);
        let net = Architecture::Mlp(config).init(1, &device);
        let traced = net.forward_traced(images.clone(), true);
        assert_eq!(traced.logits.dims(), [6, 10]);
        let names: Vec<_> = traced.traces.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["hidden1", "hidden2", "hidden3"]);
        assert!(
            traced
                .traces
                .iter()
                .all(|t| t.pre.dims() == [6, 12] && t.act.dims() == [6, 12])
        );
        let norms: Vec<_> = net.layer_norms(None).into_iter().map(|n| n.name).collect();
        assert_eq!(norms, ["hidden1", "hidden2", "hidden3", "output"]);
    }
}

#[test]
fn per_layer_widths_shape_the_mlp() {
    let device = Device::flex();
    let config = MlpConfig::new(784, 10, 2, 100).with_widths(Some(vec![128, 64]));
    let net = Architecture::Mlp(config).init(1, &device);
    let traced = net.forward_traced(gaussian_images(3, 1, 28, 1, &device), true);
    assert_eq!(traced.logits.dims(), [3, 10]);
    assert_eq!(traced.traces[0].act.dims(), [3, 128]);
    assert_eq!(traced.traces[1].act.dims(), [3, 64]);
    let Network::Mlp(mlp) = &net else {
        unreachable!()
    };
    assert_eq!(mlp.output.weight.dims(), [64, 10]);

    let bad = MlpConfig::new(784, 10, 3, 100).with_widths(Some(vec![128, 64]));
    let err = Architecture::Mlp(bad).check().unwrap_err();
    assert!(err.contains("widths lists 2 entries for depth 3"), "{err}");
}

#[test]
fn cnn_variants_trace_channels_as_units() {
    let device = Device::flex();
    for (c, side) in [(1, 28), (3, 32)] {
        let images = gaussian_images(2, c, side, 2, &device);
        for residual in [false, true] {
            let config = CnnConfig::new(c, side, 10)
                .with_channels(vec![4, 8])
                .with_dense(16)
                .with_batch_norm(true)
                .with_residual(residual);
            let net = Architecture::Cnn(config).init(3, &device);
            let traced = net.forward_traced(images.clone(), true);
            assert_eq!(traced.logits.dims(), [2, 10]);
            let expected = if residual { 5 } else { 3 };
            assert_eq!(traced.traces.len(), expected);
            // conv1: 2 images × side² pixels as samples, 4 channels as units.
            assert_eq!(traced.traces[0].pre.dims(), [2 * side * side, 4]);
            assert_eq!(net.activation_layers().len(), expected);
        }
    }
}

#[test]
fn architectures_serialise_and_reject_bad_sizes() {
    let config = Architecture::Mlp(
        MlpConfig::new(784, 10, 5, 100).with_init("eoc:sigma_b2=0.05".parse().unwrap()),
    );
    let json = serde_json::to_string(&config).unwrap();
    assert!(json.contains("\"kind\":\"mlp\"") && json.contains("\"init\":\"eoc:sigma_b2=0.05\""));
    assert_eq!(serde_json::from_str::<Architecture>(&json).unwrap(), config);

    let err = Architecture::Mlp(MlpConfig::new(784, 10, 0, 100))
        .check()
        .unwrap_err();
    assert!(err.contains("depth must be at least 1"), "{err}");
    let err = Architecture::Cnn(CnnConfig::new(1, 28, 10).with_channels(vec![8, 8, 8]))
        .check()
        .unwrap_err();
    assert!(err.contains("not divisible by 2^3"), "{err}");
}

#[test]
fn stats_see_dead_and_fully_active_relu_layers() {
    let device = Device::flex();
    let images = Tensor::<4>::ones([4, 1, 2, 2], &device);
    for (value, dead) in [(-1.0, 1.0), (1.0, 0.0)] {
        let config = MlpConfig::new(4, 3, 2, 5)
            .with_activation(Activation::Relu)
            .with_init(Init::Constant { value });
        let net = Architecture::Mlp(config).init(0, &device);
        let traced = net.forward_traced(images.clone(), true);
        let stats = layer_stats(
            &traced.traces,
            &net.activation_layers(),
            Thresholds::default(),
        );
        let first = &stats[0];
        assert_eq!(
            (first.sparsity, first.saturation, first.dead_units),
            (dead, dead, dead)
        );
        assert_eq!(first.mean_derivative, 1.0 - dead);
        assert_eq!(first.act_mean, if dead == 1.0 { 0.0 } else { 4.0 });
        assert_eq!(first.act_std, 0.0);
        // ‖W₁‖ for a constant 4×5 matrix is |value|·√20.
        let norms = net.layer_norms(None);
        assert!((norms[0].weight_norm - 20f64.sqrt()).abs() < 1e-6);
    }
}

/// ‖∂L/∂x‖ / ‖∂L/∂logits‖ through a 50-layer tanh MLP of width 256, for `L = Σ logits·r`.
fn input_gradient_ratio(init: Init) -> f64 {
    let device = Device::flex().autodiff();
    let width = 256;
    let config = MlpConfig::new(width, width, 50, width)
        .with_activation(Activation::Tanh)
        .with_init(init);
    let net = Architecture::Mlp(config).init(5, &device);
    let images = gaussian_images(32, 1, 16, 6, &device).require_grad();
    let r = gaussian_images(32, 1, 16, 7, &device).reshape([32, width]);
    let loss = (net.forward(images.clone()) * r.clone()).sum();
    let grads = loss.backward();
    let input_norm = images
        .grad(&grads)
        .unwrap()
        .square()
        .sum()
        .sqrt()
        .into_scalar::<f32>();
    let output_norm = r.square().sum().sqrt().into_scalar::<f32>();
    (input_norm / output_norm) as f64
}

#[test]
fn edge_of_chaos_keeps_gradients_through_fifty_tanh_layers() {
    let critical = input_gradient_ratio(Init::EdgeOfChaos { sigma_b2: 0.05 });
    assert!((0.1..10.0).contains(&critical), "EoC ratio {critical}");
    // σ_w² = 1 at σ_b² = 0.05 is in the ordered phase: χ₁ ≈ 0.7 per layer.
    let ordered = input_gradient_ratio(Init::MeanField {
        sigma_w2: 1.0,
        sigma_b2: 0.05,
    });
    assert!(ordered < 0.01, "ordered-phase ratio {ordered}");
}

#[test]
fn zero_initialisation_keeps_hidden_units_identical() {
    let device = Device::flex().autodiff();
    let config = MlpConfig::new(16, 4, 2, 6)
        .with_activation(Activation::Sigmoid)
        .with_init(Init::Zeros);
    let mut net: Network = Architecture::Mlp(config).init(0, &device);
    let mut optim = SgdConfig::new().init();
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    for step in 0..20 {
        let images = gaussian_images(8, 1, 4, step, &device);
        // Unbalanced labels: with balanced ones the first output gradient is exactly zero.
        let labels = Tensor::<1, Int>::from_ints([0, 0, 0, 1, 1, 2, 3, 0], &device);
        let loss = loss_fn.forward(net.forward(images), labels);
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        net = optim.step(0.5, net, grads);
    }
    let Network::Mlp(mlp) = net.valid() else {
        unreachable!()
    };
    let output = mlp.output.weight.val();
    // Training did move the output layer …
    assert!(output.clone().abs().sum().into_scalar::<f32>() > 0.0);
    // … but every hidden unit (a column of W, a row of the output weight) stays a copy of unit 0.
    for layer in &mlp.hidden {
        let w = layer.weight.val();
        let rows = w.dims()[0];
        let spread = (w.clone() - w.slice([0..rows, 0..1]))
            .abs()
            .max()
            .into_scalar::<f32>();
        assert_eq!(spread, 0.0);
    }
    let spread = (output.clone() - output.slice([0..1, 0..4]))
        .abs()
        .max()
        .into_scalar::<f32>();
    assert_eq!(spread, 0.0);
}

#[test]
fn multiply_adds_per_sample_count_every_weight_layer() {
    // 784·1000 + 4·1000² + 1000·10: the figure `gradlab bench` turns into GFLOP/s.
    let mlp = Architecture::Mlp(MlpConfig::new(784, 10, 5, 1000));
    assert_eq!(mlp.macs_per_sample(), 4_794_000);
    let widths = Architecture::Mlp(MlpConfig::new(784, 10, 2, 1).with_widths(Some(vec![128, 64])));
    assert_eq!(widths.macs_per_sample(), 784 * 128 + 128 * 64 + 64 * 10);
    // MNIST CNN, blocks of 32 and 64 channels: 28²·9·1·32 + 14²·9·32·64 + (64·7·7)·128 + 128·10.
    let cnn = Architecture::Cnn(CnnConfig::new(1, 28, 10));
    assert_eq!(cnn.macs_per_sample(), 225_792 + 3_612_672 + 401_408 + 1_280);
    let residual = Architecture::Cnn(CnnConfig::new(1, 28, 10).with_residual(true));
    let skips = 28 * 28 * 9 * 32 * 32 + 14 * 14 * 9 * 64 * 64;
    assert_eq!(residual.macs_per_sample(), cnn.macs_per_sample() + skips);
}
