//! One type for every architecture, so that runners, probes and tests need not know which one
//! they hold.
//!
//! Adding an architecture: write `src/<name>.rs` with a `#[derive(Config)]` config (`check`,
//! `init(seed, device)`) and a module with `forward_traced`, `weights` and its activation
//! layers; then add one variant to [`Architecture`] and to [`Network`] and one arm to each
//! `match` in this file (the compiler lists them).

use burn::module::{Module, Param, ParamId, list_param_ids};
use burn::tensor::{Device, Gradients, Tensor};
use serde::{Deserialize, Serialize};

use crate::activation::Activation;
use crate::cnn::{Cnn, CnnConfig};
use crate::layer::{ActivationLayer, LayerTrace};
use crate::mlp::{Mlp, MlpConfig};

/// Which network to build, with its configuration. Serialised with a `kind` tag:
/// `{ kind = "mlp", input = 784, … }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Architecture {
    /// A multi-layer perceptron.
    Mlp(MlpConfig),
    /// A small convolutional network.
    Cnn(CnnConfig),
}

impl Architecture {
    /// Checks the configuration; the message names the field to fix.
    pub fn check(&self) -> Result<(), String> {
        match self {
            Architecture::Mlp(c) => c.check(),
            Architecture::Cnn(c) => c.check(),
        }
    }

    /// Multiply-adds of one sample's forward pass through the weight layers (biases,
    /// activations and pooling left out). A training step costs about `6 · batch` times this in
    /// FLOPs: 2 per multiply-add forward, 4 backward (input and weight gradients), the count
    /// `gradlab bench` and `benches/pytorch_mlp.py` both use.
    pub fn macs_per_sample(&self) -> u64 {
        match self {
            Architecture::Mlp(c) => {
                let mut d_in = c.input;
                let mut macs = 0;
                for i in 0..c.depth {
                    macs += (d_in * c.width_of(i)) as u64;
                    d_in = c.width_of(i);
                }
                macs + (d_in * c.classes) as u64
            }
            Architecture::Cnn(c) => {
                let (mut c_in, mut size, mut macs) = (c.in_channels, c.image_size, 0);
                for &ch in &c.channels {
                    let plane = (size * size * 9) as u64;
                    macs += plane * (c_in * ch) as u64;
                    if c.residual {
                        macs += plane * (ch * ch) as u64;
                    }
                    (c_in, size) = (ch, size / 2);
                }
                let flat = (c_in * size * size) as u64;
                macs + flat * c.dense as u64 + (c.dense * c.classes) as u64
            }
        }
    }

    /// Builds the network with weights drawn from `seed`.
    pub fn init(&self, seed: u64, device: &Device) -> Network {
        match self {
            Architecture::Mlp(c) => Network::Mlp(c.init(seed, device)),
            Architecture::Cnn(c) => Network::Cnn(c.init(seed, device)),
        }
    }
}

/// A network built from an [`Architecture`].
#[derive(Module, Debug)]
pub enum Network {
    /// See [`Mlp`].
    Mlp(Mlp),
    /// See [`Cnn`].
    Cnn(Cnn),
}

/// The result of a forward pass.
#[derive(Debug)]
pub struct Traced {
    /// Logits `[batch, classes]`.
    pub logits: Tensor<2>,
    /// Per hidden layer, input side first; empty unless tracing was asked for.
    pub traces: Vec<LayerTrace>,
}

/// A weight parameter with its layer name.
#[derive(Debug)]
pub enum NamedWeight<'a> {
    /// A dense weight `[d_in, d_out]`.
    Dense(String, &'a Param<Tensor<2>>),
    /// A convolution weight `[out, in, k, k]`.
    Conv(String, &'a Param<Tensor<4>>),
}

/// The parameters that belong to one weight layer: its weight and bias, the batch norm and
/// learnable activation slope that follow it. Per-layer learning rates are set per group.
#[derive(Clone, Debug)]
pub struct LayerGroup {
    /// Layer name, as in [`Network::weights`].
    pub name: String,
    /// Every parameter of the layer.
    pub ids: Vec<ParamId>,
}

/// Weight and gradient norms of one layer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerNorms {
    /// Layer name (`hidden1`, …, `output`).
    pub name: String,
    /// Frobenius norm of the weight.
    pub weight_norm: f64,
    /// Frobenius norm of the loss gradient with respect to the weight; 0 when absent.
    pub grad_norm: f64,
}

impl Network {
    /// Logits `[batch, classes]` for images `[batch, c, h, w]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.forward_traced(images, false).logits
    }

    /// Logits plus, when `trace` is set, each hidden layer's pre-activations and activations.
    pub fn forward_traced(&self, images: Tensor<4>, trace: bool) -> Traced {
        match self {
            Network::Mlp(m) => m.forward_traced(images, trace),
            Network::Cnn(c) => c.forward_traced(images, trace),
        }
    }

    /// The weights by layer name, input side first, output layer last.
    pub fn weights(&self) -> Vec<NamedWeight<'_>> {
        match self {
            Network::Mlp(m) => m.weights(),
            Network::Cnn(c) => c.weights(),
        }
    }

    /// One [`LayerGroup`] per entry of [`Network::weights`], in the same order; together they
    /// hold every parameter of the network.
    pub fn layer_groups(&self) -> Vec<LayerGroup> {
        let group = |name: String, ids: Vec<ParamId>| LayerGroup { name, ids };
        match self {
            Network::Mlp(m) => {
                let mut out: Vec<LayerGroup> = (0..m.hidden.len())
                    .map(|i| {
                        let mut ids = list_param_ids(&m.hidden[i]);
                        if let Some(norm) = m.norms.get(i) {
                            ids.extend(list_param_ids(norm));
                        }
                        ids.extend(list_param_ids(&m.activations[i]));
                        group(format!("hidden{}", i + 1), ids)
                    })
                    .collect();
                out.push(group("output".into(), list_param_ids(&m.output)));
                out
            }
            Network::Cnn(c) => {
                let mut out = Vec::new();
                for (b, block) in c.blocks.iter().enumerate() {
                    let mut ids = list_param_ids(&block.conv);
                    ids.extend(list_param_ids(&block.norm));
                    ids.extend(list_param_ids(&block.activation));
                    out.push(group(format!("conv{}", b + 1), ids));
                    if let Some(skip) = &block.skip_conv {
                        let mut ids = list_param_ids(skip);
                        ids.extend(list_param_ids(&block.skip_norm));
                        out.push(group(format!("conv{}b", b + 1), ids));
                    }
                }
                let mut ids = list_param_ids(&c.dense);
                ids.extend(list_param_ids(&c.dense_activation));
                out.push(group("dense".into(), ids));
                out.push(group("output".into(), list_param_ids(&c.output)));
                out
            }
        }
    }

    /// The activation layer behind each entry of [`Traced::traces`], in the same order.
    pub fn activation_layers(&self) -> Vec<&ActivationLayer> {
        match self {
            Network::Mlp(m) => m.activations.iter().collect(),
            Network::Cnn(c) => c.activation_layers(),
        }
    }

    /// The hidden activations in trace order.
    pub fn activations(&self) -> Vec<Activation> {
        self.activation_layers()
            .iter()
            .map(|l| l.activation)
            .collect()
    }

    /// Weight norms and, when `grads` is given, gradient norms per layer, read from the device
    /// in one transfer.
    pub fn layer_norms(&self, grads: Option<&Gradients>) -> Vec<LayerNorms> {
        let weights = self.weights();
        let mut squares: Vec<Tensor<1>> = Vec::with_capacity(2 * weights.len());
        for weight in &weights {
            let (w, g) = match weight {
                NamedWeight::Dense(_, p) => squared_norms(p, grads),
                NamedWeight::Conv(_, p) => squared_norms(p, grads),
            };
            squares.push(w);
            squares.push(g);
        }
        let values = Tensor::cat(squares, 0).into_data().convert::<f64>();
        let values = values
            .as_slice::<f64>()
            .expect("norms should be f64 after convert");
        weights
            .iter()
            .zip(values.chunks(2))
            .map(|(weight, pair)| LayerNorms {
                name: match weight {
                    NamedWeight::Dense(n, _) | NamedWeight::Conv(n, _) => n.clone(),
                },
                weight_norm: pair[0].sqrt(),
                grad_norm: pair[1].sqrt(),
            })
            .collect()
    }
}

/// `(‖W‖², ‖∂L/∂W‖²)` as two one-element tensors, detached.
fn squared_norms<const D: usize>(
    param: &Param<Tensor<D>>,
    grads: Option<&Gradients>,
) -> (Tensor<1>, Tensor<1>) {
    let value = param.val().detach();
    let weight = value.clone().square().sum();
    let grad = match grads.and_then(|g| param.val().grad(g)) {
        Some(g) => g.square().sum(),
        None => weight.zeros_like(),
    };
    (weight, grad)
}
