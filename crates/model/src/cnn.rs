//! A small VGG-style CNN: blocks of 3×3 convolutions and 2×2 max-pooling, then one dense
//! hidden layer and the classifier.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear};
use burn::tensor::{Device, Tensor};

use crate::activation::Activation;
use crate::init::Init;
use crate::layer::{ActivationLayer, LayerTrace, ParamDraw, conv3x3, dense};
use crate::network::{NamedWeight, Traced};

/// Configuration of a [`Cnn`].
#[derive(Config, Debug, PartialEq)]
pub struct CnnConfig {
    /// Input channels (1 for MNIST, 3 for CIFAR-10).
    pub in_channels: usize,
    /// Input height = width, divisible by 2^blocks (28 or 32).
    pub image_size: usize,
    /// Output classes.
    pub classes: usize,
    /// Output channels of each block; each block halves the image size.
    #[config(default = "vec![32, 64]")]
    pub channels: Vec<usize>,
    /// Units of the dense hidden layer after the convolutions.
    #[config(default = 128)]
    pub dense: usize,
    /// Activation of every hidden layer.
    #[config(default = "Activation::Relu")]
    pub activation: Activation,
    /// Initialiser of every layer.
    #[config(default = "Init::HeNormal { fan: crate::init::FanMode::FanIn, gain: None }")]
    pub init: Init,
    /// Batch normalisation after each convolution (Ioffe & Szegedy 2015).
    #[config(default = false)]
    pub batch_norm: bool,
    /// A second convolution per block wrapped in an identity skip `x ← x + f(conv(x))`
    /// (He et al. 2016).
    #[config(default = false)]
    pub residual: bool,
}

/// One block: `conv → [bn] → f`, optionally `x + f([bn](conv(x)))`, then max-pool.
#[derive(Module, Debug)]
pub struct ConvBlock {
    /// First convolution, changes the channel count.
    pub conv: Conv2d,
    /// Its batch norm, when enabled.
    pub norm: Option<BatchNorm>,
    /// Second convolution inside the skip connection, when residual.
    pub skip_conv: Option<Conv2d>,
    /// Its batch norm, when both are enabled.
    pub skip_norm: Option<BatchNorm>,
    /// Activation after each convolution.
    pub activation: ActivationLayer,
    /// 2×2 max-pooling.
    pub pool: MaxPool2d,
}

/// The CNN.
#[derive(Module, Debug)]
pub struct Cnn {
    /// Convolution blocks.
    pub blocks: Vec<ConvBlock>,
    /// Dense hidden layer after flattening.
    pub dense: Linear,
    /// Its activation.
    pub dense_activation: ActivationLayer,
    /// The output layer.
    pub output: Linear,
}

impl CnnConfig {
    /// Checks sizes; the message names the field to fix.
    pub fn check(&self) -> Result<(), String> {
        if self.channels.is_empty() || self.channels.contains(&0) {
            return Err("cnn channels must list at least one block, each with > 0 channels".into());
        }
        let factor = 1usize << self.channels.len();
        if !self.image_size.is_multiple_of(factor) {
            return Err(format!(
                "cnn image size {} is not divisible by 2^{} (one halving per block)",
                self.image_size,
                self.channels.len()
            ));
        }
        self.init.check(self.activation).map_err(|e| e.0)
    }

    /// Builds the network from `seed`.
    ///
    /// # Panics
    /// If [`CnnConfig::check`] fails.
    pub fn init(&self, seed: u64, device: &Device) -> Cnn {
        if let Err(e) = self.check() {
            panic!("invalid CNN config: {e}");
        }
        let (init, activation) = (self.init, self.activation);
        let norm = |c| {
            self.batch_norm
                .then(|| BatchNormConfig::new(c).init(device))
        };
        let draw = |index| ParamDraw {
            init,
            activation,
            seed,
            index,
        };
        let mut blocks = Vec::new();
        let mut c_in = self.in_channels;
        let mut index = 0;
        for &c in &self.channels {
            let conv = conv3x3(c_in, c, draw(index), device);
            let skip_conv = self
                .residual
                .then(|| conv3x3(c, c, draw(index + 1), device));
            index += 2;
            blocks.push(ConvBlock {
                conv,
                norm: norm(c),
                skip_norm: if self.residual { norm(c) } else { None },
                skip_conv,
                activation: ActivationLayer::new(activation, device),
                pool: MaxPool2dConfig::new([2, 2]).init(),
            });
            c_in = c;
        }
        let side = self.image_size >> self.channels.len();
        let flat = c_in * side * side;
        Cnn {
            blocks,
            dense: dense(flat, self.dense, draw(index), device),
            dense_activation: ActivationLayer::new(activation, device),
            output: dense(self.dense, self.classes, draw(index + 1), device),
        }
    }
}

impl Cnn {
    /// Logits `[batch, classes]` and, when `trace` is set, each convolution's and the dense
    /// layer's pre-activations and activations.
    pub fn forward_traced(&self, images: Tensor<4>, trace: bool) -> Traced {
        let mut traces = Vec::new();
        let mut x = images;

        for (b, block) in self.blocks.iter().enumerate() {
            let mut z = block.conv.forward(x);
            if let Some(norm) = &block.norm {
                z = norm.forward(z);
            }
            let mut a = block.activation.forward(z.clone());
            if trace {
                traces.push(LayerTrace::conv(format!("conv{}", b + 1), &z, &a));
            }
            if let Some(skip_conv) = &block.skip_conv {
                let mut z2 = skip_conv.forward(a.clone());
                if let Some(norm) = &block.skip_norm {
                    z2 = norm.forward(z2);
                }
                let a2 = block.activation.forward(z2.clone());
                if trace {
                    traces.push(LayerTrace::conv(format!("conv{}b", b + 1), &z2, &a2));
                }
                a = a + a2;
            }
            // [batch, c, s, s] → [batch, c, s/2, s/2]
            x = block.pool.forward(a);
        }

        let [n, c, h, w] = x.dims();
        let flat: Tensor<2> = x.reshape([n, c * h * w]);
        let z = self.dense.forward(flat);
        let a = self.dense_activation.forward(z.clone());
        if trace {
            traces.push(LayerTrace::dense("dense".into(), &z, &a));
        }
        Traced {
            logits: self.output.forward(a),
            traces,
        }
    }

    /// The weights by layer name, input side first.
    pub fn weights(&self) -> Vec<NamedWeight<'_>> {
        let mut out = Vec::new();
        for (b, block) in self.blocks.iter().enumerate() {
            out.push(NamedWeight::Conv(
                format!("conv{}", b + 1),
                &block.conv.weight,
            ));
            if let Some(skip) = &block.skip_conv {
                out.push(NamedWeight::Conv(format!("conv{}b", b + 1), &skip.weight));
            }
        }
        out.push(NamedWeight::Dense("dense".into(), &self.dense.weight));
        out.push(NamedWeight::Dense("output".into(), &self.output.weight));
        out
    }

    /// The activation layers in trace order (one per traced layer).
    pub fn activation_layers(&self) -> Vec<&ActivationLayer> {
        let mut out = Vec::new();
        for block in &self.blocks {
            out.push(&block.activation);
            if block.skip_conv.is_some() {
                out.push(&block.activation);
            }
        }
        out.push(&self.dense_activation);
        out
    }
}
