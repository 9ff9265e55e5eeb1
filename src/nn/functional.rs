//! Loss functions and activations as free functions, as PyTorch's `torch.nn.functional`.
//!
//! Each is a thin wrapper over the [`Tensor`] method of the same name, for code that reads
//! better as `F::cross_entropy(&logits, &labels, Reduction::Mean)`. The losses take PyTorch's
//! options ([`CrossEntropyOptions`], [`NllLossOptions`], [`BceOptions`], [`KlDivReduction`])
//! and give PyTorch's numbers. Most are composed from registered ops, so they need no backward
//! or registration of their own and are differentiable to any order; the plain cross-entropy and
//! the binary cross-entropy on probabilities are ops of their own (`cross_entropy`,
//! `binary_cross_entropy`).
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

pub use crate::{BceOptions, CrossEntropyOptions, KlDivReduction, NllLossOptions, Reduction};

use crate::backend::Backend;
use crate::tensor::Tensor;

/// Cross-entropy of `logits` `(batch, classes)` against integer `labels`; `options` is a
/// [`Reduction`] or [`CrossEntropyOptions`]: see [`Tensor::cross_entropy`].
///
/// ```
/// use duograd::backends::NdArray;
/// use duograd::nn::functional::{self as F, CrossEntropyOptions, Reduction};
/// use duograd::Tensor;
/// let logits = Tensor::<NdArray<f64>>::from_f64(&[1.0, 1.0], &[1, 2]);
/// let smoothed = CrossEntropyOptions::new(Reduction::Mean).label_smoothing(0.5);
/// assert!((F::cross_entropy(&logits, &[0], smoothed).item() - 2f64.ln()).abs() < 1e-12);
/// ```
#[track_caller]
pub fn cross_entropy<B: Backend>(
    logits: &Tensor<B>,
    labels: &[usize],
    options: impl Into<CrossEntropyOptions<B>>,
) -> Tensor<B> {
    logits.cross_entropy(labels, options)
}

/// Cross-entropy of `logits` `(batch, classes)` against class probabilities `target` of the same
/// shape: see [`Tensor::cross_entropy_probs`].
///
/// ```
/// use duograd::backends::NdArray;
/// use duograd::nn::functional::{self as F, Reduction};
/// use duograd::Tensor;
/// let logits = Tensor::<NdArray<f64>>::from_f64(&[3.0, 3.0], &[1, 2]);
/// let target = Tensor::from_f64(&[0.25, 0.75], &[1, 2]);
/// let loss = F::cross_entropy_probs(&logits, &target, Reduction::Mean);
/// assert!((loss.item() - 2f64.ln()).abs() < 1e-12);
/// ```
#[track_caller]
pub fn cross_entropy_probs<B: Backend>(
    logits: &Tensor<B>,
    target: &Tensor<B>,
    options: impl Into<CrossEntropyOptions<B>>,
) -> Tensor<B> {
    logits.cross_entropy_probs(target, options)
}

/// Negative log-likelihood of `log_probs` `(batch, classes)` against integer `labels`;
/// `options` is a [`Reduction`] or [`NllLossOptions`]: see [`Tensor::nll_loss`].
///
/// ```
/// use duograd::backends::NdArray;
/// use duograd::nn::functional::{self as F, Reduction};
/// use duograd::Tensor;
/// let log_probs = Tensor::<NdArray<f64>>::from_f64(&[-0.25, -2.0], &[1, 2]);
/// assert_eq!(F::nll_loss(&log_probs, &[0], Reduction::Mean).item(), 0.25);
/// ```
#[track_caller]
pub fn nll_loss<B: Backend>(
    log_probs: &Tensor<B>,
    labels: &[usize],
    options: impl Into<NllLossOptions<B>>,
) -> Tensor<B> {
    log_probs.nll_loss(labels, options)
}

/// Binary cross-entropy of `logits` against `target` of the same shape; `options` is a
/// [`Reduction`] or [`BceOptions`]: see [`Tensor::binary_cross_entropy_with_logits`].
///
/// ```
/// use duograd::backends::NdArray;
/// use duograd::nn::functional::{self as F, Reduction};
/// use duograd::Tensor;
/// let logits = Tensor::<NdArray<f64>>::from_f64(&[0.0], &[1]);
/// let target = Tensor::from_f64(&[1.0], &[1]);
/// let loss = F::binary_cross_entropy_with_logits(&logits, &target, Reduction::Mean);
/// assert!((loss.item() - 2f64.ln()).abs() < 1e-12);
/// ```
#[track_caller]
pub fn binary_cross_entropy_with_logits<B: Backend>(
    logits: &Tensor<B>,
    target: &Tensor<B>,
    options: impl Into<BceOptions<B>>,
) -> Tensor<B> {
    logits.binary_cross_entropy_with_logits(target, options)
}

/// Binary cross-entropy of probabilities `probs` against `target` of the same shape; `options`
/// is a [`Reduction`] or [`BceOptions`]: see [`Tensor::binary_cross_entropy`].
///
/// ```
/// use duograd::backends::NdArray;
/// use duograd::nn::functional::{self as F, Reduction};
/// use duograd::Tensor;
/// let probs = Tensor::<NdArray<f64>>::from_f64(&[0.5], &[1]);
/// let target = Tensor::from_f64(&[0.0], &[1]);
/// let loss = F::binary_cross_entropy(&probs, &target, Reduction::Sum);
/// assert!((loss.item() - 2f64.ln()).abs() < 1e-12);
/// ```
#[track_caller]
pub fn binary_cross_entropy<B: Backend>(
    probs: &Tensor<B>,
    target: &Tensor<B>,
    options: impl Into<BceOptions<B>>,
) -> Tensor<B> {
    probs.binary_cross_entropy(target, options)
}

/// Mean squared error `mean((input - target)²)`: see [`Tensor::mse_loss`].
///
/// ```
/// use duograd::backends::NdArray;
/// use duograd::nn::functional as F;
/// use duograd::Tensor;
/// let x = Tensor::<NdArray<f64>>::from_f64(&[2.0], &[1]);
/// assert_eq!(F::mse_loss(&x, &Tensor::zeros(&[1])).item(), 4.0);
/// ```
#[track_caller]
pub fn mse_loss<B: Backend>(input: &Tensor<B>, target: &Tensor<B>) -> Tensor<B> {
    input.mse_loss(target)
}

/// Squared error `(input - target)²`, reduced: see [`Tensor::mse_loss_with`].
///
/// ```
/// use duograd::backends::NdArray;
/// use duograd::nn::functional::{self as F, Reduction};
/// use duograd::Tensor;
/// let x = Tensor::<NdArray<f64>>::from_f64(&[2.0, 1.0], &[2]);
/// assert_eq!(F::mse_loss_with(&x, &Tensor::zeros(&[2]), Reduction::Sum).item(), 5.0);
/// ```
#[track_caller]
pub fn mse_loss_with<B: Backend>(
    input: &Tensor<B>,
    target: &Tensor<B>,
    reduction: Reduction,
) -> Tensor<B> {
    input.mse_loss_with(target, reduction)
}

/// Absolute error `|input - target|`, reduced: see [`Tensor::l1_loss`].
///
/// ```
/// use duograd::backends::NdArray;
/// use duograd::nn::functional::{self as F, Reduction};
/// use duograd::Tensor;
/// let x = Tensor::<NdArray<f64>>::from_f64(&[2.0, -1.0], &[2]);
/// assert_eq!(F::l1_loss(&x, &Tensor::zeros(&[2]), Reduction::Sum).item(), 3.0);
/// ```
#[track_caller]
pub fn l1_loss<B: Backend>(
    input: &Tensor<B>,
    target: &Tensor<B>,
    reduction: Reduction,
) -> Tensor<B> {
    input.l1_loss(target, reduction)
}

/// Smooth L1 loss with threshold `beta`: see [`Tensor::smooth_l1_loss`].
///
/// ```
/// use duograd::backends::NdArray;
/// use duograd::nn::functional::{self as F, Reduction};
/// use duograd::Tensor;
/// let x = Tensor::<NdArray<f64>>::from_f64(&[0.5], &[1]);
/// assert_eq!(F::smooth_l1_loss(&x, &Tensor::zeros(&[1]), 1.0, Reduction::Sum).item(), 0.125);
/// ```
#[track_caller]
pub fn smooth_l1_loss<B: Backend>(
    input: &Tensor<B>,
    target: &Tensor<B>,
    beta: f64,
    reduction: Reduction,
) -> Tensor<B> {
    input.smooth_l1_loss(target, beta, reduction)
}

/// Huber loss with threshold `delta`: see [`Tensor::huber_loss`].
///
/// ```
/// use duograd::backends::NdArray;
/// use duograd::nn::functional::{self as F, Reduction};
/// use duograd::Tensor;
/// let x = Tensor::<NdArray<f64>>::from_f64(&[3.0], &[1]);
/// assert_eq!(F::huber_loss(&x, &Tensor::zeros(&[1]), 1.0, Reduction::Sum).item(), 2.5);
/// ```
#[track_caller]
pub fn huber_loss<B: Backend>(
    input: &Tensor<B>,
    target: &Tensor<B>,
    delta: f64,
    reduction: Reduction,
) -> Tensor<B> {
    input.huber_loss(target, delta, reduction)
}

/// KL divergence of `target` from the distribution with log-probabilities `input`: see
/// [`Tensor::kl_div`].
///
/// ```
/// use duograd::backends::NdArray;
/// use duograd::nn::functional::{self as F, KlDivReduction};
/// use duograd::Tensor;
/// let log_q = Tensor::<NdArray<f64>>::from_f64(&[0.25f64.ln(), 0.75f64.ln()], &[1, 2]);
/// let p = log_q.exp();
/// // A distribution does not diverge from itself.
/// assert!(F::kl_div(&log_q, &p, KlDivReduction::BatchMean, false).item().abs() < 1e-15);
/// ```
#[track_caller]
pub fn kl_div<B: Backend>(
    input: &Tensor<B>,
    target: &Tensor<B>,
    reduction: impl Into<KlDivReduction>,
    log_target: bool,
) -> Tensor<B> {
    input.kl_div(target, reduction, log_target)
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
