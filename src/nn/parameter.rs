//! [`Parameter`]: a trainable leaf tensor.

use std::fmt;
use std::ops::Deref;

use crate::backend::Backend;
use crate::tensor::Tensor;

/// A trainable tensor: a leaf that requires grad.
///
/// A parameter is a handle, like [`Tensor`]: clones share the data and the gradient, so the
/// module that owns a parameter and the optimizer that updates it see the same tensor. It
/// dereferences to [`Tensor`], so every tensor method (`grad()`, `shape()`, in-place updates
/// under [`crate::no_grad`]) is available on it.
///
/// ```
/// use duograd::nn::Parameter;
/// use duograd::Tensor;
/// use duograd::backends::NdArray;
///
/// let w = Parameter::new(Tensor::<NdArray<f64>>::from_f64(&[1.0, 2.0], &[2]));
/// assert!(w.requires_grad() && w.is_leaf());
/// (&*w * 3.0).sum().backward().unwrap();
/// assert_eq!(w.grad().unwrap().to_vec(), vec![3.0, 3.0]);
/// ```
pub struct Parameter<B: Backend> {
    tensor: Tensor<B>,
}

impl<B: Backend> Parameter<B> {
    /// Makes `tensor` trainable.
    ///
    /// If `tensor` already is a leaf that requires grad, the parameter is that very tensor
    /// (gradients reach both handles); otherwise it is a new leaf sharing `tensor`'s data and
    /// cut from any graph `tensor` belongs to.
    pub fn new(tensor: Tensor<B>) -> Self {
        let tensor = if tensor.is_leaf() && tensor.requires_grad() {
            tensor
        } else {
            tensor.detach().requires_grad_(true)
        };
        Parameter { tensor }
    }

    /// The underlying tensor.
    pub fn tensor(&self) -> &Tensor<B> {
        &self.tensor
    }

    /// The underlying tensor, by value (a cheap handle).
    pub fn into_tensor(self) -> Tensor<B> {
        self.tensor
    }
}

impl<B: Backend> Clone for Parameter<B> {
    fn clone(&self) -> Self {
        Parameter {
            tensor: self.tensor.clone(),
        }
    }
}

impl<B: Backend> Deref for Parameter<B> {
    type Target = Tensor<B>;

    fn deref(&self) -> &Tensor<B> {
        &self.tensor
    }
}

impl<B: Backend> AsRef<Tensor<B>> for Parameter<B> {
    fn as_ref(&self) -> &Tensor<B> {
        &self.tensor
    }
}

impl<B: Backend> From<Tensor<B>> for Parameter<B> {
    fn from(tensor: Tensor<B>) -> Self {
        Parameter::new(tensor)
    }
}

impl<B: Backend> fmt::Debug for Parameter<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Parameter({})", self.tensor)
    }
}

impl<B: Backend> fmt::Display for Parameter<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
