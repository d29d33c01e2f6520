//! `gradlab spectra RUN_DIR`: each layer's spectrum of WᵀW, its heavy-tail exponent α (Hill
//! estimator) and the factor TempBalance would give its learning rate; see
//! `gradlab_model::spectral` for the definitions.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};
use gradlab_model::Network;
use gradlab_model::spectral::{
    LayerSpectrum, TEMPBALANCE_S_MAX, TEMPBALANCE_S_MIN, layer_spectra, tempbalance_factors,
};
use serde_json::json;

use crate::checkpoint::State;
use crate::cli::{Cli, SpectraArgs};
use crate::commands::{load_network, read_run_config};
use crate::record::{RunDir, read_json, write_atomic};

/// `gradlab spectra`.
pub fn spectra(cli: &Cli, args: &SpectraArgs) -> Result<()> {
    cli.backend.check()?;
    let config = read_run_config(&args.run_dir)?;
    let device = cli.backend.device()?;
    let run = RunDir(args.run_dir.clone());
    let (net, source) = if args.init {
        let net = config.architecture().init(config.train.seed, &device);
        (net, format!("initial weights (seed {})", config.train.seed))
    } else {
        let (model, source) = trained_model(&run)?;
        (load_network(&config, &model, &device)?, source)
    };
    let layers = analyse(&net, args.k)?;
    let out = args.out.clone().unwrap_or_else(|| args.run_dir.clone());
    std::fs::create_dir_all(&out).map_err(|e| {
        anyhow!(
            "output folder {}: {e}; pass a writable --out",
            out.display()
        )
    })?;
    let stem = if args.init { "spectra-init" } else { "spectra" };
    write_tables(&layers, &out, stem)?;
    let plotted: Vec<(String, Vec<f64>)> = layers
        .iter()
        .map(|l| {
            let label = format!("{} α={:.2}", l.spectrum.name, l.spectrum.fit.alpha);
            (label, l.spectrum.eigenvalues.clone())
        })
        .collect();
    let plot = crate::plot::draw_spectra(&plotted, &out, stem);
    if cli.json {
        let rows: Vec<_> = layers.iter().map(Layer::json).collect();
        outln!("{}", json!({"source": source, "layers": rows}));
    } else {
        outln!("{}: {source}", args.run_dir.display());
        outln!("{}", table(&layers));
    }
    match plot {
        Ok(_) if !cli.quiet => eprintln!(
            "wrote {}/{stem}{{.csv,-eigenvalues.csv,.png,.svg}}",
            out.display()
        ),
        Ok(_) => {}
        Err(e) => eprintln!("warning: {stem} plot skipped: {e:#}"),
    }
    Ok(())
}

/// The trained model of a run, or its last checkpoint while it is unfinished, and what it is.
fn trained_model(run: &RunDir) -> Result<(PathBuf, String)> {
    let model = run.model();
    if model.exists() {
        return Ok((model, "trained model".into()));
    }
    let checkpoint = run.checkpoint().join("model.bpk");
    if checkpoint.exists() {
        let at = read_json::<State>(&run.checkpoint().join("state.json"))
            .map(|s| format!(" (epoch {}, step {})", s.epoch, s.step))
            .unwrap_or_default();
        return Ok((
            checkpoint,
            format!("last checkpoint{at}; the run is unfinished"),
        ));
    }
    bail!(
        "{}: no trained model and no checkpoint (the run did not finish); finish it with \
         `gradlab train CONFIG --out OUT` (set train.checkpoint_every to keep checkpoints), or \
         pass --init to analyse the initial weights",
        model.display()
    )
}

/// One layer's spectrum with its TempBalance factor.
struct Layer {
    spectrum: LayerSpectrum,
    factor: f64,
}

impl Layer {
    fn shape(&self) -> String {
        let dims: Vec<String> = self.spectrum.shape.iter().map(usize::to_string).collect();
        dims.join("x")
    }

    fn json(&self) -> serde_json::Value {
        let fit = &self.spectrum.fit;
        json!({
            "layer": self.spectrum.name,
            "shape": self.spectrum.shape,
            "eigenvalues": self.spectrum.eigenvalues.len(),
            "alpha": fit.alpha,
            "k": fit.k,
            "lambda_max": fit.lambda_max,
            "lambda_min": fit.lambda_min,
            "tempbalance_factor": self.factor,
        })
    }
}

fn analyse(net: &Network, k: Option<usize>) -> Result<Vec<Layer>> {
    let spectra = layer_spectra(net, k)
        .map_err(|e| anyhow!("{e}{}", if k.is_some() { " (or lower --k)" } else { "" }))?;
    let alphas: Vec<f64> = spectra.iter().map(|s| s.fit.alpha).collect();
    let factors = tempbalance_factors(&alphas, TEMPBALANCE_S_MIN, TEMPBALANCE_S_MAX);
    Ok(spectra
        .into_iter()
        .zip(factors)
        .map(|(spectrum, factor)| Layer { spectrum, factor })
        .collect())
}

fn table(layers: &[Layer]) -> String {
    let mut text = format!(
        "{:<8} {:>12} {:>7} {:>5} {:>11} {:>11} {:>11}\n",
        "layer", "shape", "alpha", "k", "lambda_max", "lambda_min", "TB factor"
    );
    for l in layers {
        let fit = &l.spectrum.fit;
        let _ = writeln!(
            text,
            "{:<8} {:>12} {:>7.3} {:>5} {:>11.4e} {:>11.4e} {:>11.3}",
            l.spectrum.name,
            l.shape(),
            fit.alpha,
            fit.k,
            fit.lambda_max,
            fit.lambda_min,
            l.factor
        );
    }
    let _ = write!(
        text,
        "(alpha: Hill estimate over the k largest eigenvalues of WᵀW, lambda_min = the k-th; \
         TB factor: TempBalance's learning-rate factor in [{TEMPBALANCE_S_MIN}, \
         {TEMPBALANCE_S_MAX}])"
    );
    text
}

/// `STEM.csv` (one row per layer) and `STEM-eigenvalues.csv` (layer, rank, eigenvalue).
fn write_tables(layers: &[Layer], out: &Path, stem: &str) -> Result<()> {
    let mut summary =
        String::from("layer,shape,eigenvalues,alpha,k,lambda_max,lambda_min,tempbalance_factor\n");
    let mut eigenvalues = String::from("layer,rank,eigenvalue\n");
    for l in layers {
        let fit = &l.spectrum.fit;
        let _ = writeln!(
            summary,
            "{},{},{},{},{},{},{},{}",
            l.spectrum.name,
            l.shape(),
            l.spectrum.eigenvalues.len(),
            fit.alpha,
            fit.k,
            fit.lambda_max,
            fit.lambda_min,
            l.factor
        );
        for (rank, value) in l.spectrum.eigenvalues.iter().enumerate() {
            let _ = writeln!(eigenvalues, "{},{},{value}", l.spectrum.name, rank + 1);
        }
    }
    write_atomic(&out.join(format!("{stem}.csv")), summary.as_bytes())?;
    write_atomic(
        &out.join(format!("{stem}-eigenvalues.csv")),
        eigenvalues.as_bytes(),
    )
}
