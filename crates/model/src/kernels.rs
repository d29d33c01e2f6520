//! Sigmoid and tanh as a Burn backend extension: vectorised, threaded kernels on the flex
//! backend ([`crate::fastmath`]), and an autodiff rule that keeps the forward output for the
//! backward pass instead of evaluating the function a second time.
//!
//! [`sigmoid`] and [`tanh`] take any tensor. On flex (with or without autodiff) they run the
//! kernels; on every other backend (ndarray, wgpu) they call Burn's own functions, so results
//! there are exactly what they were. Their backward passes are checked against Burn's autodiff
//! of `burn::tensor::activation::{sigmoid, tanh}` in `tests/kernels.rs`.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Flex, backend_extension};
use burn::tensor::{DType, Device, Tensor, activation as act};

use crate::fastmath;

/// Activation kernels with an output-saving backward pass.
#[backend_extension(Flex, Autodiff)]
pub trait ActivationKernels: Backend {
    /// `σ(x)` element-wise.
    fn sigmoid_kernel(x: FloatTensor<Self>) -> FloatTensor<Self>;
    /// `grad · s (1 − s)`, from the sigmoid's output `s`.
    fn sigmoid_backward_kernel(s: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self>;
    /// `tanh(x)` element-wise.
    fn tanh_kernel(x: FloatTensor<Self>) -> FloatTensor<Self>;
    /// `grad · (1 − t²)`, from tanh's output `t`.
    fn tanh_backward_kernel(t: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// Whether `x` lives on the flex backend, the one these kernels serve.
fn on_flex<const D: usize>(x: &Tensor<D>) -> bool {
    x.device().inner() == Device::flex()
}

/// Logistic sigmoid; the same values as `burn::tensor::activation::sigmoid` to within 2 ulp.
pub fn sigmoid<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if !on_flex(&x) || x.dtype() != DType::F32 {
        return act::sigmoid(x);
    }
    let out = <burn::backend::Dispatch as ActivationKernels>::sigmoid_kernel(x.into_dispatch());
    Tensor::from_dispatch(out)
}

/// Hyperbolic tangent; the same values as `burn::tensor::activation::tanh` to within 3 ulp.
pub fn tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if !on_flex(&x) || x.dtype() != DType::F32 {
        return act::tanh(x);
    }
    let out = <burn::backend::Dispatch as ActivationKernels>::tanh_kernel(x.into_dispatch());
    Tensor::from_dispatch(out)
}

/// `f` applied in place to `x`'s f32 elements (copying first when the buffer is shared or
/// strided).
fn flex_map(x: FloatTensor<Flex>, f: fn(&mut [f32])) -> FloatTensor<Flex> {
    let mut x = if x.is_contiguous() && x.layout().start_offset() == 0 {
        x
    } else {
        x.to_contiguous()
    };
    let n = x.layout().num_elements();
    f(&mut x.storage_mut::<f32>()[..n]);
    x
}

/// `f(grad, output)` in place on `grad`'s elements.
fn flex_zip(
    output: FloatTensor<Flex>,
    grad: FloatTensor<Flex>,
    f: fn(&mut [f32], &[f32]),
) -> FloatTensor<Flex> {
    let output = output.to_contiguous();
    let mut grad = grad.to_contiguous();
    let n = grad.layout().num_elements();
    f(
        &mut grad.storage_mut::<f32>()[..n],
        &output.storage::<f32>()[..n],
    );
    grad
}

impl ActivationKernels for Flex {
    fn sigmoid_kernel(x: FloatTensor<Self>) -> FloatTensor<Self> {
        flex_map(x, fastmath::sigmoid_in_place)
    }
    fn sigmoid_backward_kernel(s: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        flex_zip(s, grad, fastmath::sigmoid_backward_in_place)
    }
    fn tanh_kernel(x: FloatTensor<Self>) -> FloatTensor<Self> {
        flex_map(x, fastmath::tanh_in_place)
    }
    fn tanh_backward_kernel(t: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        flex_zip(t, grad, fastmath::tanh_backward_in_place)
    }
}

/// The backward step of an activation whose derivative is a function of its output; `backward`
/// is the inner backend's `…_backward_kernel`.
#[derive(Debug)]
struct FromOutput<B: Backend> {
    backward: fn(FloatTensor<B>, FloatTensor<B>) -> FloatTensor<B>,
}

impl<B: Backend> Backward<B, 1> for FromOutput<B> {
    /// The forward output.
    type State = FloatTensor<B>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let output = ops.state;
        unary::<B, _>(ops.parents, ops.node, grads, |grad| {
            (self.backward)(output, grad)
        });
    }
}

/// Runs `forward` on the inner backend and records `backward` with the output as its state.
fn track<B: Backend, C: CheckpointStrategy>(
    x: FloatTensor<Autodiff<B, C>>,
    forward: fn(FloatTensor<B>) -> FloatTensor<B>,
    backward: fn(FloatTensor<B>, FloatTensor<B>) -> FloatTensor<B>,
) -> FloatTensor<Autodiff<B, C>> {
    let node = x.node();
    let output = forward(x.into_primitive());
    let step = FromOutput { backward };
    match step.prepare::<C>([node]).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish(output.clone(), output),
        OpsKind::UnTracked(prep) => prep.finish(output),
    }
}

impl<B: Backend + ActivationKernels, C: CheckpointStrategy> ActivationKernels for Autodiff<B, C> {
    fn sigmoid_kernel(x: FloatTensor<Self>) -> FloatTensor<Self> {
        track::<B, C>(x, B::sigmoid_kernel, B::sigmoid_backward_kernel)
    }
    fn sigmoid_backward_kernel(s: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        // Second derivatives are not needed by gradlab: the composite form is enough.
        let one_minus = Self::float_add_scalar(Self::float_neg(s.clone()), 1.0.into());
        Self::float_mul(grad, Self::float_mul(s, one_minus))
    }
    fn tanh_kernel(x: FloatTensor<Self>) -> FloatTensor<Self> {
        track::<B, C>(x, B::tanh_kernel, B::tanh_backward_kernel)
    }
    fn tanh_backward_kernel(t: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        let square = Self::float_mul(t.clone(), t);
        Self::float_mul(
            grad,
            Self::float_add_scalar(Self::float_neg(square), 1.0.into()),
        )
    }
}
