//! The multi-layer perceptron: input → `depth` hidden layers of `width` units → classes.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{BatchNorm, BatchNormConfig, Linear};
use burn::tensor::{Device, Tensor};

use crate::activation::Activation;
use crate::init::Init;
use crate::layer::{ActivationLayer, LayerTrace, ParamDraw, dense};
use crate::network::{NamedWeight, Traced};

/// Configuration of an [`Mlp`].
#[derive(Config, Debug, PartialEq)]
pub struct MlpConfig {
    /// Input features (784 for MNIST, 3072 for CIFAR-10); images are flattened.
    pub input: usize,
    /// Output classes.
    pub classes: usize,
    /// Number of hidden layers. Deep enough (≥ 3) for sigmoid's 1/4 derivative to matter.
    pub depth: usize,
    /// Units per hidden layer, unless `widths` gives one per layer.
    pub width: usize,
    /// Per-layer widths (length `depth`), overriding `width`, e.g. `[128, 64]` for 784-128-64-10.
    #[config(default = "None")]
    pub widths: Option<Vec<usize>>,
    /// Activation of every hidden layer unless `activations` overrides it.
    #[config(default = "Activation::Sigmoid")]
    pub activation: Activation,
    /// Per-layer activations (length `depth`), overriding `activation`.
    #[config(default = "None")]
    pub activations: Option<Vec<Activation>>,
    /// Initialiser of every layer (the output layer too) unless `inits` overrides it.
    /// Glorot & Bengio's "standard" U[±1/√fan_in] by default.
    #[config(default = "Init::Standard")]
    pub init: Init,
    /// Per-layer initialisers (length `depth + 1`, the last for the output layer).
    #[config(default = "None")]
    pub inits: Option<Vec<Init>>,
    /// Batch normalisation between each hidden layer's affine map and its activation
    /// (Ioffe & Szegedy 2015).
    #[config(default = false)]
    pub batch_norm: bool,
    /// Identity skip connections `h ← h + f(W h + b)` around hidden layers 2..depth whose input
    /// and output widths match (He et al. 2016, "Deep Residual Learning").
    #[config(default = false)]
    pub residual: bool,
}

/// A multi-layer perceptron with optional batch norm and skip connections.
#[derive(Module, Debug)]
pub struct Mlp {
    /// Hidden affine maps, `hidden[i]` is layer `i + 1`.
    pub hidden: Vec<Linear>,
    /// Batch norms, one per hidden layer when enabled.
    pub norms: Vec<BatchNorm>,
    /// Activations, one per hidden layer.
    pub activations: Vec<ActivationLayer>,
    /// The output (logit) layer.
    pub output: Linear,
    /// Per hidden layer: whether it adds its input back (residual on, not the first layer,
    /// input and output widths equal).
    #[module(skip)]
    pub skips: Vec<bool>,
}

impl MlpConfig {
    /// The width of hidden layer `i` (0-based).
    pub fn width_of(&self, i: usize) -> usize {
        self.widths.as_ref().map_or(self.width, |w| w[i])
    }

    /// The activation of hidden layer `i` (0-based).
    pub fn activation_of(&self, i: usize) -> Activation {
        self.activations.as_ref().map_or(self.activation, |a| a[i])
    }

    /// The initialiser of layer `i` (0-based; `depth` is the output layer).
    pub fn init_of(&self, i: usize) -> Init {
        self.inits.as_ref().map_or(self.init, |v| v[i])
    }

    /// Checks sizes and per-layer lists; the message names the field to fix.
    pub fn check(&self) -> Result<(), String> {
        if self.depth == 0 {
            return Err("mlp depth must be at least 1 hidden layer".into());
        }
        if self.width == 0 || self.input == 0 || self.classes == 0 {
            return Err("mlp input, width and classes must be at least 1".into());
        }
        if let Some(w) = &self.widths {
            if w.len() != self.depth {
                return Err(format!(
                    "widths lists {} entries for depth {}",
                    w.len(),
                    self.depth
                ));
            }
            if w.contains(&0) {
                return Err("every entry of widths must be at least 1".into());
            }
        }
        if let Some(a) = &self.activations
            && a.len() != self.depth
        {
            return Err(format!(
                "activations lists {} entries for depth {}",
                a.len(),
                self.depth
            ));
        }
        if let Some(v) = &self.inits
            && v.len() != self.depth + 1
        {
            return Err(format!(
                "inits lists {} entries; depth {} needs {} (one per hidden layer plus the output)",
                v.len(),
                self.depth,
                self.depth + 1
            ));
        }
        for i in 0..=self.depth {
            let activation = self.activation_of(i.min(self.depth - 1));
            self.init_of(i).check(activation).map_err(|e| e.0)?;
        }
        Ok(())
    }

    /// Builds the network; weights are drawn from `seed` (see [`crate::init::layer_seed`]).
    /// The output layer uses the last hidden layer's activation for its gain.
    ///
    /// # Panics
    /// If [`MlpConfig::check`] fails.
    pub fn init(&self, seed: u64, device: &Device) -> Mlp {
        if let Err(e) = self.check() {
            panic!("invalid MLP config: {e}");
        }
        let mut hidden = Vec::with_capacity(self.depth);
        let mut activations = Vec::with_capacity(self.depth);
        let mut skips = Vec::with_capacity(self.depth);
        let mut d_in = self.input;
        for i in 0..self.depth {
            let (d_out, activation, init) =
                (self.width_of(i), self.activation_of(i), self.init_of(i));
            let draw = ParamDraw {
                init,
                activation,
                seed,
                index: i,
            };
            hidden.push(dense(d_in, d_out, draw, device));
            activations.push(ActivationLayer::new(activation, device));
            skips.push(self.residual && i > 0 && d_in == d_out);
            d_in = d_out;
        }
        let norms = if self.batch_norm {
            let norm = |i| BatchNormConfig::new(self.width_of(i)).init(device);
            (0..self.depth).map(norm).collect()
        } else {
            Vec::new()
        };
        let draw = ParamDraw {
            init: self.init_of(self.depth),
            activation: self.activation_of(self.depth - 1),
            seed,
            index: self.depth,
        };
        let output = dense(d_in, self.classes, draw, device);
        Mlp {
            hidden,
            norms,
            activations,
            output,
            skips,
        }
    }
}

impl Mlp {
    /// Logits `[batch, classes]` from images `[batch, c, h, w]` (flattened here) and, when
    /// `trace` is set, every hidden layer's pre-activations and activations.
    pub fn forward_traced(&self, images: Tensor<4>, trace: bool) -> Traced {
        let [n, c, h, w] = images.dims();
        let mut x: Tensor<2> = images.reshape([n, c * h * w]);
        let mut traces = Vec::new();

        for (i, layer) in self.hidden.iter().enumerate() {
            let mut z = layer.forward(x.clone());
            if let Some(norm) = self.norms.get(i) {
                z = norm.forward(z);
            }
            let a = self.activations[i].forward(z.clone());
            if trace {
                traces.push(LayerTrace::dense(format!("hidden{}", i + 1), &z, &a));
            }
            x = if self.skips[i] { x + a } else { a };
        }

        Traced {
            logits: self.output.forward(x),
            traces,
        }
    }

    /// The weight matrices by layer name, input side first.
    pub fn weights(&self) -> Vec<NamedWeight<'_>> {
        let hidden = self.hidden.iter().enumerate();
        hidden
            .map(|(i, l)| NamedWeight::Dense(format!("hidden{}", i + 1), &l.weight))
            .chain(std::iter::once(NamedWeight::Dense(
                "output".into(),
                &self.output.weight,
            )))
            .collect()
    }
}
