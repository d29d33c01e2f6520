//! The small commands: activations, eoc, probe, eval, data, lr-find.

use anyhow::{Context, Result, anyhow};
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use gradlab_data::{Batcher, DatasetName, Normalization};
use gradlab_model::{Activation, Architecture, Init, MlpConfig, eoc};
use serde_json::json;

use crate::cli::{
    ActivationsArgs, Cli, DataAction, DataArgs, EocArgs, EvalArgs, LrFindArgs, ProbeArgs,
};
use crate::config::RunConfig;
use crate::grid::Run;
use crate::lrfind::{RangeOptions, find_lr, short};
use crate::record::{read_json, write_atomic};
use crate::train::{evaluate, layer_snapshot};

fn parse_activation(text: &str) -> Result<Activation> {
    text.parse().map_err(|e| anyhow!("--activation: {e}"))
}

fn parse_dataset(text: &str) -> Result<DatasetName> {
    text.parse().map_err(|e| anyhow!("{e}"))
}

/// `gradlab activations`.
pub fn activations(args: &ActivationsArgs, as_json: bool) -> Result<()> {
    let rows: Vec<_> = Activation::ALL
        .iter()
        .map(|a| {
            let (lo, hi) = a.output_range();
            let peak = a.derivative_peak();
            let sat = a.saturation(args.rho);
            json!({
                "name": a.to_string(),
                "range": [lo, hi],
                "max_derivative": peak.value,
                "max_derivative_at": peak.at,
                "max_attained": peak.attained,
                "saturation_negative": sat.negative,
                "saturation_positive": sat.positive,
                "gain": a.gain(),
            })
        })
        .collect();
    if as_json {
        outln!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    outln!(
        "{:<22} {:>22} {:>8} {:>8} {:>10} {:>10}",
        "activation",
        "range",
        "max f'",
        "at x",
        "sat x<",
        "sat x>"
    );
    let side = |v: Option<f64>| v.map_or("never".to_string(), |x| format!("{x:.3}"));
    for a in Activation::ALL {
        let (lo, hi) = a.output_range();
        let peak = a.derivative_peak();
        let sat = a.saturation(args.rho);
        let sup = if peak.attained { "" } else { " (sup)" };
        outln!(
            "{:<22} {:>22} {:>8.4} {:>8.3}{sup} {:>10} {:>10}",
            a.to_string(),
            // inf formats as `inf` at any precision.
            format!("({lo:.4}, {hi:.4})"),
            peak.value,
            peak.at,
            side(sat.negative),
            side(sat.positive)
        );
    }
    outln!("saturation: |x| beyond which f'(x) < {} × max f'", args.rho);
    Ok(())
}

/// `gradlab eoc`.
pub fn eoc(args: &EocArgs, as_json: bool) -> Result<()> {
    let activation = parse_activation(&args.activation)?;
    if !(args.sigma_b2.is_finite() && args.sigma_b2 >= 0.0) {
        anyhow::bail!(
            "--sigma-b2 {}: must be a finite value >= 0 (e.g. 0.05)",
            args.sigma_b2
        );
    }
    if let Some(sigma_w2) = args.sigma_w2 {
        return mean_field(activation, sigma_w2, args.sigma_b2, as_json);
    }
    let point = eoc::critical_point(activation, args.sigma_b2).map_err(|e| anyhow!("{e}"))?;
    if as_json {
        outln!("{}", serde_json::to_string_pretty(&point)?);
    } else {
        outln!("activation  {activation}");
        outln!("sigma_b2    {}", point.sigma_b2);
        outln!(
            "sigma_w2    {:.6}  (edge of chaos: chi1 = {:.6})",
            point.sigma_w2,
            point.chi1
        );
        match point.q_star {
            Some(q) => outln!("q*          {q:.6}"),
            None => outln!("q*          none (the length map diverges)"),
        }
        outln!(
            "depth scale {} (infinite at the edge of chaos)",
            point.depth_scale
        );
    }
    Ok(())
}

/// Schoenholz et al. 2017: signals (and gradients) propagate through about 6ξ layers before
/// training fails.
const TRAINABLE_DEPTH_PER_XI: f64 = 6.0;

/// `gradlab eoc --sigma-w2`: the mean-field analysis at a given (σ_w², σ_b²).
fn mean_field(activation: Activation, sigma_w2: f64, sigma_b2: f64, as_json: bool) -> Result<()> {
    if !(sigma_w2.is_finite() && sigma_w2 > 0.0) {
        anyhow::bail!("--sigma-w2 {sigma_w2}: must be a finite value > 0 (e.g. 1.76)");
    }
    let mf = eoc::mean_field(activation, sigma_w2, sigma_b2);
    let trainable = TRAINABLE_DEPTH_PER_XI * mf.depth_scale;
    let phase = if mf.chi1 < 1.0 {
        "ordered"
    } else if mf.chi1 > 1.0 {
        "chaotic"
    } else {
        "critical"
    };
    // JSON has no infinity: an unbounded depth is null.
    let finite = |v: f64| v.is_finite().then_some(v);
    if as_json {
        let v = json!({
            "activation": activation.to_string(),
            "sigma_w2": mf.sigma_w2,
            "sigma_b2": mf.sigma_b2,
            "q_star": mf.q_star,
            "chi1": mf.chi1,
            "c_star": mf.c_star,
            "depth_scale": finite(mf.depth_scale),
            "trainable_depth": finite(trainable),
            "phase": phase,
        });
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let gradients = match phase {
        "ordered" => "gradients vanish with depth",
        "chaotic" => "gradients explode with depth",
        _ => "edge of chaos",
    };
    outln!("activation      {activation}");
    outln!("sigma_w2        {sigma_w2}");
    outln!("sigma_b2        {sigma_b2}");
    match mf.q_star {
        Some(q) => outln!("q*              {q:.6}"),
        None => outln!("q*              none (the length map diverges)"),
    }
    outln!("chi1            {:.6}", mf.chi1);
    outln!("c*              {:.6}", mf.c_star);
    outln!("depth scale xi  {:.3}", mf.depth_scale);
    outln!("trainable depth {trainable:.1} (6 xi, Schoenholz et al. 2017)");
    outln!("phase           {phase} (chi1 {:.4}: {gradients})", mf.chi1);
    Ok(())
}

/// `gradlab probe`: per-layer gradient norms at initialisation on one real batch.
pub fn probe(cli: &Cli, args: &ProbeArgs) -> Result<()> {
    cli.backend.check()?;
    let activation = parse_activation(&args.activation)?;
    let init: Init = args.init.parse().map_err(|e| anyhow!("--init: {e}"))?;
    let name = parse_dataset(&args.dataset)?;
    if args.depth == 0 {
        anyhow::bail!("--depth 0: use at least 1 hidden layer");
    }
    let [c, h, w] = name.shape();
    let arch = Architecture::Mlp(
        MlpConfig::new(c * h * w, name.num_classes(), args.depth, args.width)
            .with_activation(activation)
            .with_init(init),
    );
    arch.check().map_err(|e| anyhow!("{e}"))?;
    let root = gradlab_data::resolve_root(cli.data_dir.as_deref());
    let data = crate::sweep::load_or_download(name, &root)?;
    let device = cli.backend.device()?.autodiff();
    let net = arch.init(args.seed, &device);
    let n = args.batch.clamp(1, data.train.len());
    let batcher = Batcher::new(&data.train, n, Normalization::UnitRange, &device);
    let batch = batcher.batch(&(0..n).collect::<Vec<_>>());
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    let layers = layer_snapshot(&net, &batch, &loss_fn);
    if cli.json {
        outln!("{}", serde_json::to_string_pretty(&layers)?);
        return Ok(());
    }
    outln!(
        "{activation}, {init}, depth {}, width {}, {n} {name} images",
        args.depth,
        args.width
    );
    outln!(
        "{:<10} {:>12} {:>12} {:>10} {:>10} {:>10}",
        "layer",
        "grad norm",
        "weight norm",
        "mean f'",
        "saturated",
        "sparsity"
    );
    let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
    for l in &layers {
        outln!(
            "{:<10} {:>12.4e} {:>12.4} {:>10} {:>10} {:>10}",
            l.name,
            l.grad_norm,
            l.weight_norm,
            opt(l.mean_derivative),
            opt(l.saturation),
            opt(l.sparsity)
        );
    }
    if let (Some(first), Some(last)) = (layers.first(), layers.iter().rev().nth(1)) {
        outln!(
            "gradient norm ratio {} / {}: {:.3e}",
            first.name,
            last.name,
            first.grad_norm / last.grad_norm
        );
    }
    Ok(())
}

#[derive(serde::Deserialize)]
struct SavedConfig {
    config: RunConfig,
}

/// The resolved config of a run folder (its `config.json`).
pub fn read_run_config(run_dir: &std::path::Path) -> Result<RunConfig> {
    let saved: SavedConfig = read_json(&run_dir.join("config.json"))
        .context("RUN_DIR must be a run folder (OUT/runs/RUN_ID) with config.json")?;
    Ok(saved.config)
}

/// `config`'s network with the weights saved in `model` (a burnpack file).
pub fn load_network(
    config: &RunConfig,
    model: &std::path::Path,
    device: &burn::tensor::Device,
) -> Result<gradlab_model::Network> {
    config
        .architecture()
        .init(config.train.seed, device)
        .try_load_file(model)
        .map_err(|e| anyhow!("loading {}: {e:?}", model.display()))
}

/// `gradlab eval RUN_DIR`.
pub fn eval(cli: &Cli, args: &EvalArgs) -> Result<()> {
    cli.backend.check()?;
    let config = read_run_config(&args.run_dir)?;
    let model = args.run_dir.join("model.bpk");
    if !model.exists() {
        anyhow::bail!(
            "{}: no trained model (the run did not finish)",
            model.display()
        );
    }
    let device = cli.backend.device()?;
    let net = load_network(&config, &model, &device)?;
    let root = gradlab_data::resolve_root(cli.data_dir.as_deref());
    let data = gradlab_data::load(config.data.dataset, &root).map_err(|e| anyhow!("{e}"))?;
    let batcher = Batcher::new(&data.test, 1000, config.data.normalization, &device);
    let (loss, acc) = evaluate(&net, &batcher, &CrossEntropyLossConfig::new().init(&device));
    if cli.json {
        outln!(
            "{}",
            json!({"test_loss": loss, "test_accuracy": acc, "samples": data.test.len()})
        );
    } else {
        outln!(
            "{}: test loss {loss:.4}, test accuracy {acc:.4} ({} images)",
            config.data.dataset,
            data.test.len()
        );
    }
    Ok(())
}

/// `gradlab data download|verify`.
pub fn data(cli: &Cli, args: &DataArgs) -> Result<()> {
    let root = gradlab_data::resolve_root(cli.data_dir.as_deref());
    match &args.action {
        DataAction::Verify { name } => {
            let report =
                gradlab_data::verify(parse_dataset(name)?, &root).map_err(|e| anyhow!("{e}"))?;
            if cli.json {
                let files: Vec<_> = report
                    .files
                    .iter()
                    .map(|f| json!({"path": f.path, "bytes": f.bytes, "sha256": f.sha256, "checksum": format!("{:?}", f.checksum)}))
                    .collect();
                outln!(
                    "{}",
                    json!({"dataset": name, "ok": true, "train": report.train_len, "test": report.test_len, "files": files})
                );
            } else {
                for f in &report.files {
                    outln!(
                        "ok  {}  ({} bytes, checksum {:?})",
                        f.path.display(),
                        f.bytes,
                        f.checksum
                    );
                }
                outln!(
                    "{name}: {} training and {} test images, all files valid",
                    report.train_len,
                    report.test_len
                );
            }
        }
        DataAction::Download { name } => {
            let name = parse_dataset(name)?;
            let mut show = crate::sweep::announce_files(cli.quiet);
            gradlab_data::download(name, &root, Some(&mut show)).map_err(|e| anyhow!("{e}"))?;
            outln!("{name}: downloaded into {}", root.display());
        }
    }
    Ok(())
}

/// `gradlab lr-find`: the learning-rate range test of one run; writes the curve (CSV, plot)
/// and prints the suggested rate with the reason.
pub fn lr_find(cli: &Cli, args: &LrFindArgs, run: &Run) -> Result<()> {
    cli.backend.check()?;
    let options = RangeOptions {
        start: args.start,
        end: args.end,
        steps: args.steps,
        stop_factor: args.stop_factor,
        ..RangeOptions::default()
    };
    options.validate()?;
    let config = &run.config;
    let out = (args.out.clone())
        .unwrap_or_else(|| std::path::Path::new("out/lr-find").join(&config.name));
    std::fs::create_dir_all(&out).with_context(|| {
        format!(
            "output folder {}: cannot create it; pass a writable --out",
            out.display()
        )
    })?;
    let root = gradlab_data::resolve_root(cli.data_dir.as_deref());
    let datasets = crate::sweep::load_data(std::slice::from_ref(run), &root)?;
    let data = crate::sweep::run_data(run, &datasets);
    if !cli.quiet {
        eprintln!(
            "lr-find {}: up to {} batches of {} at rates {} to {}",
            config.name,
            options.steps,
            config.train.batch_size,
            short(options.start),
            short(options.end)
        );
    }
    let found = find_lr(config, &data, cli.backend, &options)?;
    let csv = out.join("lr-find.csv");
    write_atomic(&csv, found.curve.to_csv().as_bytes())?;
    let mut files = vec![csv];
    // A plot that cannot be drawn (no font) must not cost the numbers.
    match crate::plot::draw_lr_find(&found, &out) {
        Ok(plots) => files.extend(plots),
        Err(e) => eprintln!("warning: plot not drawn: {e:#}"),
    }
    let stop = found.curve.stop_text().unwrap_or_default();
    if cli.json {
        let mut v = serde_json::to_value(&found)?;
        v["config"] = json!(config.name);
        v["files"] = json!(files);
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let points = &found.curve.points;
    if let (Some(first), Some(last)) = (points.first(), points.last()) {
        outln!(
            "{}: {} rates from {} to {}; {stop}",
            config.name,
            points.len(),
            short(first.lr),
            short(last.lr)
        );
    }
    match &found.suggestion {
        Some(s) => outln!("{s}"),
        None => outln!(
            "no suggestion: fewer than 2 finite losses ({stop}); rerun with a smaller --start"
        ),
    }
    if !cli.quiet {
        eprintln!("wrote {}", out.join("lr-find.{csv,png,svg}").display());
    }
    Ok(())
}
