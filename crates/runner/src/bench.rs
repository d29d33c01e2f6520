//! `gradlab bench`: training throughput of an MLP on synthetic data, as samples/s, GFLOP/s and
//! a share of the machine's matrix-multiply peak measured on the same backend, plus peak memory.
//! `benches/pytorch_mlp.py` runs the same model, data and update in PyTorch for comparison.

use std::time::Instant;

use anyhow::{Result, anyhow};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use gradlab_model::{Architecture, MlpConfig};
use serde_json::json;

use crate::cli::{BenchArgs, Cli};

/// GFLOP/s of an `n × n` by `n × n` f32 product on `device` (2n³ FLOPs), best of `reps` after
/// one warm-up: the ceiling any training step on this backend can approach.
pub fn gemm_peak(device: &Device, n: usize, reps: usize) -> f64 {
    let a = Tensor::<2>::random([n, n], Distribution::Uniform(-1.0, 1.0), device);
    let b = Tensor::<2>::random([n, n], Distribution::Uniform(-1.0, 1.0), device);
    let _ = a.clone().matmul(b.clone()).into_data();
    let mut best = f64::INFINITY;
    for _ in 0..reps.max(1) {
        let start = Instant::now();
        // Reading one element waits for the product on asynchronous backends.
        let _ = a.clone().matmul(b.clone()).slice([0..1, 0..1]).into_data();
        best = best.min(start.elapsed().as_secs_f64());
    }
    2.0 * (n as f64).powi(3) / best / 1e9
}

/// `gradlab bench`.
pub fn bench(cli: &Cli, args: &BenchArgs) -> Result<()> {
    cli.backend.check()?;
    let activation = args
        .activation
        .parse()
        .map_err(|e| anyhow!("--activation: {e}"))?;
    let depth = args.widths.as_ref().map_or(args.depth, Vec::len);
    let arch = Architecture::Mlp(
        MlpConfig::new(784, 10, depth, args.width)
            .with_widths(args.widths.clone())
            .with_activation(activation),
    );
    arch.check().map_err(|e| match args.widths {
        Some(_) => anyhow!("--widths: {e}"),
        None => anyhow!("{e}"),
    })?;
    if args.batch == 0 || args.steps == 0 {
        anyhow::bail!("--batch and --steps must be at least 1");
    }
    let plain = cli.backend.device()?;
    let device = plain.clone().autodiff();
    let mut net = arch.init(1, &device);
    let mut opt = SgdConfig::new().init();
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    let images = Tensor::<4>::random(
        [args.batch, 1, 28, 28],
        Distribution::Uniform(0.0, 1.0),
        &device,
    );
    let labels = Tensor::<1, Int>::from_data(
        TensorData::new(
            (0..args.batch as i64).map(|i| i % 10).collect::<Vec<_>>(),
            [args.batch],
        ),
        &device,
    );
    let mut start = Instant::now();
    for step in 0..args.steps + 3 {
        if step == 3 {
            let _ = device.sync();
            start = Instant::now();
        }
        let loss = loss_fn.forward(net.forward(images.clone()), labels.clone());
        let grads = loss.backward();
        if args.log_every > 0 && step % args.log_every == 0 {
            let _ = loss.into_scalar::<f32>();
            let _ = net.layer_norms(Some(&grads));
        }
        let grads = GradientsParams::from_grads(grads, &net);
        net = opt.step(0.01, net, grads);
    }
    let _ = net.layer_norms(None); // forces the last step to finish
    let secs = start.elapsed().as_secs_f64();
    let rate = (args.steps * args.batch) as f64 / secs;
    let gflops = 6.0 * arch.macs_per_sample() as f64 * rate / 1e9;
    let peak = (args.peak_size > 0).then(|| gemm_peak(&plain, args.peak_size, 5));
    let rss = crate::parallel::peak_rss_mib();
    let threads = rayon::current_num_threads();
    let shape = match &args.widths {
        Some(w) => {
            let hidden: Vec<String> = w.iter().map(ToString::to_string).collect();
            format!("784-{}-10", hidden.join("-"))
        }
        None => format!("784-{}x{}-10", args.width, args.depth),
    };
    if cli.json {
        outln!(
            "{}",
            json!({
                "model": shape, "batch": args.batch, "backend": cli.backend.to_string(),
                "activation": args.activation, "threads": threads, "steps": args.steps,
                "samples_per_s": rate, "gflops": gflops, "gemm_peak_gflops": peak,
                "peak_share": peak.map(|p| gflops / p), "peak_rss_mib": rss,
                "log_every": args.log_every,
            })
        );
        return Ok(());
    }
    let peak_text = peak.map_or(String::new(), |p| {
        format!(
            " = {:.0} % of the {p:.0} GFLOP/s GEMM peak ({n}²)",
            100.0 * gflops / p,
            n = args.peak_size
        )
    });
    let rss_text = rss.map_or(String::new(), |m| format!(", peak RSS {m:.0} MiB"));
    outln!(
        "{shape} {} batch {} on {} ({threads} threads): {rate:.0} samples/s, {gflops:.1} GFLOP/s\
         {peak_text}{rss_text} ({} steps in {secs:.2}s, log every {})",
        args.activation,
        args.batch,
        cli.backend,
        args.steps,
        args.log_every
    );
    Ok(())
}
