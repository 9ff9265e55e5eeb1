//! Loss functions and activations as free functions, as PyTorch's `torch.nn.functional`.
//!
//! Each is a thin wrapper over the [`Tensor`] method of the same name, for code that reads
//! better as `F::cross_entropy(&logits, &labels, Reduction::Mean)`.
//!
//! ```
//! use duograd::nn::functional as F;
//! use duograd::{Reduction, Tensor};
//! use duograd::backends::NdArray;
//!
//! let logits = Tensor::<NdArray<f64>>::from_f64(&[2.0, 0.5, -1.0, 0.1, 0.2, 3.0], &[2, 3]);
//! let labels = [0, 2];
//! let ce = F::cross_entropy(&logits, &labels, Reduction::Mean);
//! let nll = F::nll_loss(&F::log_softmax(&logits, 1), &labels, Reduction::Mean);
//! assert!((ce.item() - nll.item()).abs() < 1e-12);
//! ```

pub use crate::Reduction;

use crate::backend::Backend;
use crate::tensor::Tensor;

/// Cross-entropy of `logits` `(batch, classes)` against integer `labels`: see
/// [`Tensor::cross_entropy`].
#[track_caller]
pub fn cross_entropy<B: Backend>(
    logits: &Tensor<B>,
    labels: &[usize],
    reduction: Reduction,
) -> Tensor<B> {
    logits.cross_entropy(labels, reduction)
}

/// Negative log-likelihood of `log_probs` `(batch, classes)` against integer `labels`: see
/// [`Tensor::nll_loss`].
#[track_caller]
pub fn nll_loss<B: Backend>(
    log_probs: &Tensor<B>,
    labels: &[usize],
    reduction: Reduction,
) -> Tensor<B> {
    log_probs.nll_loss(labels, reduction)
}

/// Mean squared error `mean((input - target)²)`: see [`Tensor::mse_loss`].
#[track_caller]
pub fn mse_loss<B: Backend>(input: &Tensor<B>, target: &Tensor<B>) -> Tensor<B> {
    input.mse_loss(target)
}

/// Log-probabilities along `dim`: see [`Tensor::log_softmax`].
#[track_caller]
pub fn log_softmax<B: Backend>(x: &Tensor<B>, dim: isize) -> Tensor<B> {
    x.log_softmax(dim)
}

/// Probabilities along `dim`: see [`Tensor::softmax`].
#[track_caller]
pub fn softmax<B: Backend>(x: &Tensor<B>, dim: isize) -> Tensor<B> {
    x.softmax(dim)
}

/// `max(x, 0)`: see [`Tensor::relu`].
pub fn relu<B: Backend>(x: &Tensor<B>) -> Tensor<B> {
    x.relu()
}

/// `tanh(x)`: see [`Tensor::tanh`].
pub fn tanh<B: Backend>(x: &Tensor<B>) -> Tensor<B> {
    x.tanh()
}

/// `1 / (1 + e^-x)`: see [`Tensor::sigmoid`].
pub fn sigmoid<B: Backend>(x: &Tensor<B>) -> Tensor<B> {
    x.sigmoid()
}

/// `x·Wᵀ + b` for `x` `(batch, in)`, `weight` `(out, in)`, `bias` `(out)`, as PyTorch's
/// `F.linear`.
///
/// # Panics
/// If the shapes do not fit together.
#[track_caller]
pub fn linear<B: Backend>(
    x: &Tensor<B>,
    weight: &Tensor<B>,
    bias: Option<&Tensor<B>>,
) -> Tensor<B> {
    match bias {
        // One op with the bias: the kernel adds it as it writes the product, saving a pass over
        // the output.
        Some(b) => x.matmul_bias(weight, b, false, true),
        None => x.matmul_t(weight, false, true),
    }
}
