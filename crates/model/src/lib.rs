//! Activations, their analytic derivatives, weight initialisers and instrumented networks on
//! Burn 0.22: the pieces gradlab needs to ask how activation, initialisation, depth and learning
//! rate shape training.
//!
//! - [`Activation`]: thirteen functions with `f`, `f'` on tensors and on `f64`, output range,
//!   derivative peak ([`Activation::derivative_peak`]) and saturation threshold.
//! - [`Init`]: zero, constant, uniform, normal, Xavier, He, LeCun, orthogonal, Glorot & Bengio's
//!   "standard" and edge-of-chaos initialisers; [`eoc`] solves the mean-field equations.
//! - [`Architecture`] → [`Network`]: MLPs of any depth and width and a small CNN, with optional
//!   batch norm and skip connections, whose forward pass can return every hidden layer's
//!   pre-activations and activations ([`Network::forward_traced`]).
//! - [`inspect`]: sparsity, saturation, dead units (definitions there) and
//!   [`Network::layer_norms`] for per-layer weight and gradient norms.
//!
//! Networks take images `[batch, channels, height, width]`; the MLP flattens them. Weights are
//! drawn on the host from a seed, so a seed means the same network on every backend.
//!
//! ```
//! use burn::tensor::{Device, Tensor};
//! use gradlab_model::{Activation, Architecture, Init, MlpConfig};
//!
//! let device = Device::flex();
//! let config = MlpConfig::new(4, 3, 2, 8)
//!     .with_activation(Activation::Tanh)
//!     .with_init(Init::XavierUniform { gain: None });
//! let net = Architecture::Mlp(config).init(7, &device);
//! let traced = net.forward_traced(Tensor::<4>::ones([5, 1, 2, 2], &device), true);
//! assert_eq!(traced.logits.dims(), [5, 3]);
//! assert_eq!(traced.traces.len(), 2);
//! ```

mod activation;
mod cnn;
pub mod eoc;
pub mod fastmath;
mod init;
pub mod inspect;
pub mod kernels;
mod layer;
mod mlp;
mod network;
mod spec;
pub mod spectral;

pub use activation::{Activation, DerivativePeak, SELU_ALPHA, SELU_LAMBDA, Saturation};
pub use cnn::{Cnn, CnnConfig, ConvBlock};
pub use init::{Distribution, FanMode, Fans, Init, layer_seed};
pub use inspect::{LayerStats, Thresholds, layer_stats};
pub use layer::{ActivationLayer, LayerTrace, ParamDraw, conv3x3, dense};
pub use mlp::{Mlp, MlpConfig};
pub use network::{Architecture, LayerGroup, LayerNorms, NamedWeight, Network, Traced};
pub use spec::{Spec, SpecError};
