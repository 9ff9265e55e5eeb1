//! [`Forward`]: a module's computation, written by hand next to its derived structure.

use std::fmt;

use super::Module;
use crate::backend::Backend;
use crate::tensor::Tensor;

/// A module that maps one tensor to another: what [`super::Sequential`] chains and a trainer
/// runs. Its structure (parameters, buffers, submodules, train/eval flag) is its [`Module`]
/// supertrait, usually derived; `forward` is the part written by hand.
///
/// ```
/// use duograd::nn::{Forward, Module, Parameter};
/// use duograd::{Backend, Tensor};
/// use duograd::backends::NdArray;
///
/// /// `x · scale`, with a learned scale.
/// #[derive(Module)]
/// struct Scale<B: Backend> {
///     scale: Parameter<B>,
/// }
///
/// impl<B: Backend> Forward<B> for Scale<B> {
///     fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
///         x * &*self.scale
///     }
/// }
///
/// let m = Scale::<NdArray<f64>> { scale: Tensor::from_f64(&[2.0], &[1]).into() };
/// assert_eq!(m.forward(&Tensor::from_f64(&[1.0, 3.0], &[2])).to_vec(), [2.0, 6.0]);
/// assert_eq!(m.named_parameters()[0].0, "scale");
/// ```
pub trait Forward<B: Backend>: Module<B> {
    /// The output for input `x`.
    fn forward(&self, x: &Tensor<B>) -> Tensor<B>;
}

impl<B: Backend, M: Forward<B> + ?Sized> Forward<B> for Box<M> {
    fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
        (**self).forward(x)
    }
}

impl<B: Backend> fmt::Display for dyn Forward<B> + '_ {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        super::module::fmt_module(self, f)
    }
}
