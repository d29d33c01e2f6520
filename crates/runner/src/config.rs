//! The run configuration: a TOML file, `--set key=value` overrides, and validation that names
//! the field and the fix before any training starts.
//!
//! A config file is one run's settings (`name`, `[data]`, `[model]`, `[train]`, `[log]`) plus an
//! optional `[grid]` (see [`crate::grid`]). Overrides and grid cells are applied to the TOML
//! tree *before* it is deserialised, so they go through the same unknown-key and type checks
//! as the file itself.

use std::path::Path;

use anyhow::{Context, Result, bail};
use gradlab_data::{DatasetName, Normalization};
use gradlab_model::{Activation, Architecture, CnnConfig, Init, MlpConfig};
use serde::{Deserialize, Serialize};

use crate::optim::{OptimizerKind, Schedule};
use crate::policy::LrPolicy;

/// One run, fully resolved: what gets hashed and written to `config.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// A label for the experiment (used in output names).
    #[serde(default = "default_name")]
    pub name: String,
    /// Dataset and subset sizes.
    pub data: DataConfig,
    /// Network shape.
    pub model: ModelConfig,
    /// Optimisation.
    pub train: TrainConfig,
    /// What gets recorded, and how often.
    #[serde(default)]
    pub log: LogConfig,
}

/// `[data]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// `mnist`, `fashion-mnist` or `cifar10`.
    #[serde(with = "dataset_name")]
    pub dataset: DatasetName,
    /// Use only the first N training images (all when absent).
    #[serde(default)]
    pub train_size: Option<usize>,
    /// Use only the first N test images (all when absent).
    #[serde(default)]
    pub test_size: Option<usize>,
    /// Hold out N images of the dataset's training set as a validation split (the last N
    /// unless `validation_pick` says otherwise), evaluated each epoch like the test set (Glorot
    /// & Bengio 2010 chose learning rates on MNIST's last 10,000 training images);
    /// `train_size` then takes the first images of the rest. Left out of the serialised config
    /// when absent, so existing hashes are unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<usize>,
    /// Which training images the validation split takes: `last` (the default, Glorot &
    /// Bengio's protocol) or `spread`, every (len / N)-th image, for copies ordered by class.
    /// Left out of the serialised config when `last`, so existing hashes are unchanged.
    #[serde(default, skip_serializing_if = "ValidationPick::is_last")]
    pub validation_pick: ValidationPick,
    /// `unit-range` (x/255) or `standardize`.
    #[serde(default)]
    pub normalization: Normalization,
}

/// Which training images `data.validation` holds out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ValidationPick {
    /// The last N images, as Glorot & Bengio (2010) held out MNIST's last 10,000.
    #[default]
    Last,
    /// N images spread evenly through the training file (every 5th of 50,000 for 10,000):
    /// a sample of every class even on a copy ordered by class.
    Spread,
}

impl ValidationPick {
    fn is_last(&self) -> bool {
        *self == ValidationPick::Last
    }
}

/// `[model]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// `mlp` or `cnn`.
    #[serde(default = "default_kind")]
    pub kind: String,
    /// Hidden layers (MLP).
    #[serde(default = "default_depth")]
    pub depth: usize,
    /// Units per hidden layer (MLP).
    #[serde(default = "default_width")]
    pub width: usize,
    /// Per-hidden-layer widths (MLP), e.g. `[128, 64]` for 784-128-64-10; length `depth`,
    /// overriding `width`. Left out of the serialised config when absent, so the hashes of
    /// configs without it (and so their finished runs) are unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub widths: Option<Vec<usize>>,
    /// Hidden activation.
    pub activation: Activation,
    /// Weight initialiser.
    #[serde(default = "default_init")]
    pub init: Init,
    /// Batch normalisation after each hidden layer.
    #[serde(default)]
    pub batch_norm: bool,
    /// Identity skip connections.
    #[serde(default)]
    pub residual: bool,
    /// CNN block channels.
    #[serde(default = "default_channels")]
    pub channels: Vec<usize>,
    /// CNN dense layer width.
    #[serde(default = "default_dense")]
    pub dense: usize,
}

/// `[train]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Mini-batch size.
    pub batch_size: usize,
    /// `sgd`, `adam`, `rmsprop` or `adagrad`.
    #[serde(default)]
    pub optimizer: OptimizerKind,
    /// Base learning rate; any positive finite value (3.0 is fine).
    pub lr: f64,
    /// Learning-rate schedule (`constant`, `step:every=…,gamma=…`, `exponential:gamma=…`,
    /// `cosine:min=…`); `warmup` steps of linear warm-up come first.
    #[serde(default)]
    pub schedule: Schedule,
    /// Linear warm-up steps.
    #[serde(default)]
    pub warmup: usize,
    /// Per-layer learning rates (`uniform`, `derivative`, `lars`, `tempbalance`; see
    /// [`crate::policy`]). Left out of the serialised config when uniform, so the hashes of
    /// configs without it (and so their finished runs) are unchanged.
    #[serde(default, skip_serializing_if = "LrPolicy::is_uniform")]
    pub lr_policy: LrPolicy,
    /// SGD momentum (0: plain SGD); RMSprop momentum.
    #[serde(default)]
    pub momentum: f64,
    /// Nesterov momentum (SGD).
    #[serde(default)]
    pub nesterov: bool,
    /// L2 weight decay.
    #[serde(default)]
    pub weight_decay: f64,
    /// Seed of the initial weights and of the shuffling.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Test accuracy that counts as converged (for the convergence step).
    #[serde(default = "default_target")]
    pub target_accuracy: f64,
    /// Save a checkpoint every K epochs (0: only at the end).
    #[serde(default)]
    pub checkpoint_every: usize,
}

/// `[log]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// Log every step's loss and gradient norms for the first N steps.
    #[serde(default = "default_first_steps")]
    pub first_steps: usize,
    /// Then every k steps.
    #[serde(default = "default_every")]
    pub every: usize,
    /// Also evaluate the test set every k steps (0: only at epoch ends); sharpens the
    /// convergence step.
    #[serde(default)]
    pub eval_every: usize,
    /// Samples of the fixed batch used for per-layer statistics each epoch.
    #[serde(default = "default_stats_batch")]
    pub stats_batch: usize,
    /// Also record the per-layer statistics every K steps into `stats.jsonl` (Glorot & Bengio
    /// 2010, Fig. 2: activations over training); absent: per epoch only. Left out of the
    /// serialised config when absent, so existing hashes are unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats_every: Option<usize>,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            first_steps: default_first_steps(),
            every: default_every(),
            eval_every: 0,
            stats_batch: default_stats_batch(),
            stats_every: None,
        }
    }
}

fn default_name() -> String {
    "run".into()
}
fn default_kind() -> String {
    "mlp".into()
}
fn default_depth() -> usize {
    3
}
fn default_width() -> usize {
    100
}
fn default_init() -> Init {
    Init::XavierUniform { gain: None }
}
fn default_channels() -> Vec<usize> {
    vec![32, 64]
}
fn default_dense() -> usize {
    128
}
fn default_seed() -> u64 {
    1
}
fn default_target() -> f64 {
    0.9
}
fn default_first_steps() -> usize {
    15
}
fn default_every() -> usize {
    50
}
fn default_stats_batch() -> usize {
    1000
}

/// Serde for [`DatasetName`] through its `FromStr`, whose error lists the valid names.
mod dataset_name {
    use gradlab_data::DatasetName;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(name: &DatasetName, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(name.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DatasetName, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Reads a TOML file into a tree (not yet typed), so overrides and grid cells can be applied.
pub fn read_tree(path: &Path) -> Result<toml::Table> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config {}: check the path", path.display()))?;
    toml::from_str(&text).with_context(|| format!("config {} is not valid TOML", path.display()))
}

/// Sets `key` (dotted, e.g. `train.lr`) to `value` in `tree`; a value that is not valid TOML
/// is taken as a string, so `--set model.activation=tanh` needs no quotes.
pub fn set_key(tree: &mut toml::Table, key: &str, value: toml::Value) -> Result<()> {
    let parts: Vec<&str> = key.split('.').collect();
    let (last, parents) = parts.split_last().expect("split yields at least one part");
    let mut table = tree;
    for part in parents {
        let entry = table
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(Default::default()));
        table = match entry {
            toml::Value::Table(t) => t,
            _ => bail!("--set {key}: `{part}` is a value, not a section"),
        };
    }
    table.insert(last.to_string(), value);
    Ok(())
}

/// Parses the value side of `key=value`.
pub fn parse_value(text: &str) -> toml::Value {
    let probe = format!("v = {text}");
    match toml::from_str::<toml::Table>(&probe) {
        Ok(mut t) => t.remove("v").unwrap_or(toml::Value::String(text.into())),
        Err(_) => toml::Value::String(text.into()),
    }
}

/// Applies `key=value` overrides.
pub fn apply_overrides(tree: &mut toml::Table, sets: &[String]) -> Result<()> {
    for set in sets {
        let Some((key, value)) = set.split_once('=') else {
            bail!("--set `{set}`: expected key=value, e.g. --set train.lr=0.5");
        };
        set_key(tree, key.trim(), parse_value(value.trim()))?;
    }
    Ok(())
}

impl RunConfig {
    /// Types a tree (without its `[grid]`) and validates it.
    pub fn from_tree(tree: toml::Table) -> Result<RunConfig> {
        let config: RunConfig = RunConfig::deserialize(tree)
            .map_err(|e| anyhow::anyhow!("invalid config: {}", e.to_string().trim()))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks everything that serde cannot: each message names the field and the fix.
    pub fn validate(&self) -> Result<()> {
        self.check_kind()?;
        let t = &self.train;
        if !(t.lr.is_finite() && t.lr > 0.0) {
            bail!(
                "train.lr = {}: the learning rate must be a finite number > 0 (e.g. 0.1)",
                t.lr
            );
        }
        if t.epochs == 0 {
            bail!("train.epochs = 0: train for at least 1 epoch");
        }
        if t.batch_size == 0 {
            bail!("train.batch_size = 0: use a batch size of at least 1 (e.g. 64)");
        }
        if !(0.0..1.0).contains(&t.momentum) {
            bail!(
                "train.momentum = {}: use a value in [0, 1) (0 = plain SGD)",
                t.momentum
            );
        }
        if !(t.weight_decay.is_finite() && t.weight_decay >= 0.0) {
            bail!(
                "train.weight_decay = {}: use a finite value >= 0",
                t.weight_decay
            );
        }
        if t.nesterov && t.momentum == 0.0 {
            bail!("train.nesterov = true needs train.momentum > 0 (e.g. 0.9)");
        }
        self.train.schedule.validate()?;
        if self.model.kind == "mlp" && self.model.depth == 0 {
            bail!("model.depth = 0: an MLP needs at least 1 hidden layer (e.g. depth = 3)");
        }
        if self.model.width == 0 {
            bail!("model.width = 0: use at least 1 unit per hidden layer (e.g. 100)");
        }
        if let Some(widths) = &self.model.widths {
            if self.model.kind != "mlp" {
                bail!(
                    "model.widths applies to kind = \"mlp\" only; remove it (CNNs use \
                     model.channels and model.dense)"
                );
            }
            if widths.len() != self.model.depth {
                bail!(
                    "model.widths lists {} widths for model.depth = {}: give one width per \
                     hidden layer (e.g. depth = 2, widths = [128, 64])",
                    widths.len(),
                    self.model.depth
                );
            }
            if let Some(i) = widths.iter().position(|&w| w == 0) {
                bail!(
                    "model.widths[{i}] = 0: every hidden layer needs at least 1 unit (e.g. \
                     widths = [128, 64])"
                );
            }
        }
        if self.data.train_size == Some(0) || self.data.test_size == Some(0) {
            bail!("data.train_size / data.test_size = 0: remove the key to use all images");
        }
        if self.log.every == 0 {
            bail!("log.every = 0: log at least every 1 step (default 50)");
        }
        if self.log.stats_every == Some(0) {
            bail!("log.stats_every = 0: record every K >= 1 steps (e.g. 500), or remove the key");
        }
        crate::holdout::check_size(&self.data)?;
        self.architecture()
            .check()
            .map_err(|e| anyhow::anyhow!("model: {e}"))?;
        Ok(())
    }

    /// The model crate's architecture for this config's dataset.
    pub fn architecture(&self) -> Architecture {
        let [c, h, w] = self.data.dataset.shape();
        let classes = self.data.dataset.num_classes();
        let m = &self.model;
        if m.kind == "cnn" {
            let mut cnn = CnnConfig::new(c, h, classes)
                .with_channels(m.channels.clone())
                .with_dense(m.dense)
                .with_activation(m.activation)
                .with_init(m.init);
            cnn.batch_norm = m.batch_norm;
            cnn.residual = m.residual;
            Architecture::Cnn(cnn)
        } else {
            Architecture::Mlp(
                MlpConfig::new(c * h * w, classes, m.depth, m.width)
                    .with_widths(m.widths.clone())
                    .with_activation(m.activation)
                    .with_init(m.init)
                    .with_batch_norm(m.batch_norm)
                    .with_residual(m.residual),
            )
        }
    }

    /// Rejects a model kind other than `mlp`/`cnn` (checked separately so the message is clear).
    pub fn check_kind(&self) -> Result<()> {
        if self.model.kind != "mlp" && self.model.kind != "cnn" {
            bail!(
                "model.kind = `{}`: valid kinds are mlp, cnn",
                self.model.kind
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TINY: &str = r#"
        [data]
        dataset = "mnist"
        [model]
        depth = 2
        activation = "tanh"
        [train]
        epochs = 1
        batch_size = 10
        lr = 0.1
    "#;

    #[test]
    fn widths_are_validated_and_absent_widths_leave_the_serialised_config_alone() {
        let plain = RunConfig::from_tree(toml::from_str(TINY).unwrap()).unwrap();
        // The hash of a config written before widths existed must not change.
        assert!(!serde_json::to_string(&plain).unwrap().contains("widths"));

        let mut tree: toml::Table = toml::from_str(TINY).unwrap();
        set_key(&mut tree, "model.widths", parse_value("[128, 64]")).unwrap();
        let config = RunConfig::from_tree(tree).unwrap();
        let Architecture::Mlp(mlp) = config.architecture() else {
            panic!("an mlp")
        };
        assert_eq!((mlp.width_of(0), mlp.width_of(1)), (128, 64));

        for (widths, field) in [("[128]", "model.widths"), ("[128, 0]", "model.widths[1]")] {
            let mut tree: toml::Table = toml::from_str(TINY).unwrap();
            set_key(&mut tree, "model.widths", parse_value(widths)).unwrap();
            let err = RunConfig::from_tree(tree).unwrap_err().to_string();
            assert!(err.contains(field), "{err}");
        }
    }
}
