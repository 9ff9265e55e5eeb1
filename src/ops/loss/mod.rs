//! Losses, as PyTorch's `torch.nn.functional` computes them, each with PyTorch's `reduction=`.
//!
//! - [`cross_entropy`]: cross-entropy on logits (one fused op for the plain call; class weights,
//!   `ignore_index`, label smoothing and probability targets composed) and NLL.
//! - [`binary`]: binary cross-entropy on logits (composed, stable for large logits) and on
//!   probabilities (one registered op, with PyTorch's clamped logarithm and gradient).
//! - [`regression`]: MSE, L1, smooth L1, Huber and KL divergence (composed).
//!
//! A composed loss is built from registered ops (`log_softmax`, `index`, `abs`, …), so it needs
//! no backward or registration of its own, and its gradients of any order come from theirs.

pub(crate) mod binary;
pub(crate) mod cross_entropy;
pub(crate) mod regression;

use crate::autograd::Registry;
use crate::backend::Backend;
use crate::tensor::Tensor;
use crate::Reduction;

/// Reduces an elementwise loss as PyTorch's `reduction=` does (the mean over every element).
fn reduce<B: Backend>(reduction: Reduction, loss: Tensor<B>) -> Tensor<B> {
    match reduction {
        Reduction::Mean => loss.mean(),
        Reduction::Sum => loss.sum(),
        Reduction::None => loss,
    }
}

/// Panics naming `loss` unless `input` and `target` have the same shape.
#[track_caller]
fn same_shape(loss: &str, input: &[usize], target: &[usize]) {
    assert!(
        input == target,
        "{loss}: target of shape {target:?} does not match input of shape {input:?}"
    );
}

/// Panics naming `loss` and `argument` unless `shape` broadcasts to `to` (without growing it).
#[track_caller]
fn broadcasts_to(loss: &str, argument: &str, shape: &[usize], to: &[usize]) {
    let fits = shape.len() <= to.len()
        && shape
            .iter()
            .rev()
            .zip(to.iter().rev())
            .all(|(&s, &t)| s == t || s == 1);
    assert!(
        fits,
        "{loss}: {argument} of shape {shape:?} does not broadcast to the input's shape {to:?}"
    );
}

pub(crate) fn register<B: Backend>(r: &Registry<B>) {
    cross_entropy::register(r);
    binary::register(r);
}
