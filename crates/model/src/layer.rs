//! Building blocks shared by the architectures: an activation module (with PReLU's learnable
//! slope), dense and convolutional layers initialised by [`Init`], and the per-layer trace.

use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::{Device, Tensor, activation as act};

use crate::activation::{Activation, slope_step};
use crate::init::{Fans, Init, layer_seed};

/// An activation as a module. For PReLU it owns the learnable slope (one per layer, initialised
/// to the activation's `init`, as in He et al. 2015); for every other function it has no
/// parameters.
#[derive(Module, Debug)]
pub struct ActivationLayer {
    /// Which function.
    #[module(skip)]
    pub activation: Activation,
    /// PReLU's slope, shape `[1]`; `None` for other activations.
    pub slope: Option<Param<Tensor<1>>>,
}

impl ActivationLayer {
    /// A layer applying `activation`.
    pub fn new(activation: Activation, device: &Device) -> Self {
        let slope = match activation {
            Activation::Prelu { init } => Some(Param::from_tensor(Tensor::from_floats(
                [init as f32],
                device,
            ))),
            _ => None,
        };
        Self { activation, slope }
    }

    /// `f(x)`.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        match &self.slope {
            Some(slope) => prelu(x, slope.val()),
            None => self.activation.forward(x),
        }
    }

    /// `f'(x)`, with PReLU's current slope.
    pub fn derivative<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        match &self.slope {
            Some(slope) => {
                let slope = slope.val().detach().unsqueeze::<D>();
                let positive = slope_step(x, 0.0);
                let negative = positive.clone().neg().add_scalar(1.0);
                positive + negative * slope
            }
            None => self.activation.derivative(x),
        }
    }

    /// The current PReLU slope, if any.
    pub fn slope_value(&self) -> Option<f32> {
        self.slope.as_ref().map(|s| s.val().into_scalar::<f32>())
    }
}

/// PReLU for any rank: `max(0, x) + a·min(0, x)` with `a` of shape `[1]` broadcast.
fn prelu<const D: usize>(x: Tensor<D>, slope: Tensor<1>) -> Tensor<D> {
    let negative = x.clone().clamp_max(0.0) * slope.unsqueeze::<D>();
    act::relu(x) + negative
}

/// How one layer's parameters are drawn: the scheme, the activation its output goes through
/// (for gains and the edge of chaos), the run's seed and the layer's index. Seeds are derived
/// per index (see [`layer_seed`]), so networks of different depth share their first layers'
/// draws.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ParamDraw {
    /// The initialiser.
    pub init: Init,
    /// The activation applied to this layer's output.
    pub activation: Activation,
    /// The run's seed.
    pub seed: u64,
    /// The layer's index in the network, input side first.
    pub index: usize,
}

impl ParamDraw {
    /// A weight of `shape` and a bias of `n_bias` (see [`Init::bias`]), as parameters.
    fn draw<const D: usize>(
        &self,
        shape: [usize; D],
        fans: Fans,
        n_bias: usize,
        device: &Device,
    ) -> (Param<Tensor<D>>, Option<Param<Tensor<1>>>) {
        let (weight_seed, bias_seed) = (
            layer_seed(self.seed, self.index, 0),
            layer_seed(self.seed, self.index, 1),
        );
        let weight = self
            .init
            .weight(shape, fans, self.activation, weight_seed, device);
        let bias = self.init.bias(n_bias, bias_seed, device);
        (Param::from_tensor(weight), Some(Param::from_tensor(bias)))
    }
}

/// A `Linear` layer (weight `[d_in, d_out]`) with parameters drawn by `draw`.
pub fn dense(d_in: usize, d_out: usize, draw: ParamDraw, device: &Device) -> Linear {
    let mut linear = LinearConfig::new(d_in, d_out).init(device);
    let fans = Fans {
        fan_in: d_in,
        fan_out: d_out,
    };
    (linear.weight, linear.bias) = draw.draw([d_in, d_out], fans, d_out, device);
    linear
}

/// A 3×3, stride-1, same-padding convolution with parameters drawn by `draw`; weight
/// `[out, in, 3, 3]`, fan-in `in·9`, fan-out `out·9`.
pub fn conv3x3(c_in: usize, c_out: usize, draw: ParamDraw, device: &Device) -> Conv2d {
    let mut conv = Conv2dConfig::new([c_in, c_out], [3, 3])
        .with_padding(PaddingConfig2d::Same)
        .init(device);
    let fans = Fans {
        fan_in: c_in * 9,
        fan_out: c_out * 9,
    };
    (conv.weight, conv.bias) = draw.draw([c_out, c_in, 3, 3], fans, c_out, device);
    conv
}

/// What one hidden layer computed in a forward pass, for the instrumentation.
///
/// Both tensors are `[samples, units]`: for a dense layer one row per example; for a
/// convolution one row per example and pixel, one column per channel (a channel is the unit
/// that can die).
#[derive(Clone, Debug)]
pub struct LayerTrace {
    /// Layer name, e.g. `hidden3`.
    pub name: String,
    /// Pre-activations `z` (after batch norm when it is on), detached from the graph.
    pub pre: Tensor<2>,
    /// Activations `f(z)`, detached.
    pub act: Tensor<2>,
}

impl LayerTrace {
    /// A trace of a dense layer's `[batch, units]` tensors.
    pub fn dense(name: String, pre: &Tensor<2>, act: &Tensor<2>) -> Self {
        Self {
            name,
            pre: pre.clone().detach(),
            act: act.clone().detach(),
        }
    }

    /// A trace of a convolution's `[batch, channels, h, w]` tensors, as `[batch·h·w, channels]`.
    pub fn conv(name: String, pre: &Tensor<4>, act: &Tensor<4>) -> Self {
        let flat = |t: &Tensor<4>| {
            let [n, c, h, w] = t.dims();
            t.clone().detach().swap_dims(1, 3).reshape([n * h * w, c])
        };
        Self {
            name,
            pre: flat(pre),
            act: flat(act),
        }
    }
}
