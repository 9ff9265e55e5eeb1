//! Losses: cross-entropy on logits (one fused op with its own kernels, forward and backward),
//! NLL and MSE (composed).

use std::sync::Arc;

use crate::autograd::{is_grad_enabled, Attrs, BackwardArgs, Registry};
use crate::backend::Backend;
use crate::element::Element;
use crate::fast_exp::exp_in_place;
use crate::fast_ln::ln_in_place;
use crate::tensor::Tensor;

/// How a per-sample loss is reduced, as PyTorch's `reduction=`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Reduction {
    /// The mean over samples (the default).
    #[default]
    Mean,
    /// The sum over samples.
    Sum,
    /// No reduction: one loss per sample.
    None,
}

impl Reduction {
    fn apply<B: Backend>(self, per_sample: Tensor<B>) -> Tensor<B> {
        match self {
            Reduction::Mean => per_sample.mean(),
            Reduction::Sum => per_sample.sum(),
            Reduction::None => per_sample,
        }
    }
}

/// What the fused cross-entropy remembers for its backward.
struct CrossEntropyAttrs<E> {
    labels: Arc<[usize]>,
    reduction: Reduction,
    /// The forward's `exp(x_ij - max_i)` (row-major) and each row's sum of them: the fused
    /// backward gets `softmax(x)_ij` as `exp(x_ij - max_i) · (1 / sum_i)`, one multiplication per
    /// element instead of an `exp` (512×10 `f32`, forward and backward: ndarray 19.0 → 16.0 µs,
    /// nalgebra 25.8 → 20.3 µs). A second copy of the logits until backward, as PyTorch's
    /// `log_softmax` keeps its output. Valid because the engine refuses to run backward if the
    /// logits were modified in place since the forward.
    exps: Vec<E>,
    sums: Vec<E>,
}

/// The rows of a row-major `(batch, classes)` matrix. (`classes` is 0 only when `batch` is too,
/// since no label is below 0; `max(1)` spares `chunks_exact` its panic on a chunk size of 0.)
fn rows_mut<E>(x: &mut [E], classes: usize) -> std::slice::ChunksExactMut<'_, E> {
    x.chunks_exact_mut(classes.max(1))
}

/// The fused forward on the row-major logits `x` (consumed as scratch space): per row `i`,
/// `lse_i = max_i + ln(sum_j exp(x_ij - max_i))` and `loss_i = lse_i - x_i[label_i]`. Returns the
/// per-row losses, and for the backward the `exp(x_ij - max_i)` and each row's sum of them.
///
/// Subtracting the row maximum keeps every `exp` in `[0, 1]`, so logits of ±1e4 neither
/// overflow nor lose the row; it is the same arithmetic as `Tensor::logsumexp`. The work is a
/// few flat passes rather than one loop per row, so that the `exp`s, most of the op's cost, run
/// as one vectorized sweep ([`exp_in_place`]).
fn cross_entropy_rows<E: Element>(
    mut x: Vec<E>,
    classes: usize,
    labels: &[usize],
) -> (Vec<E>, Vec<E>, Vec<E>) {
    // The labelled logits, read before `x` is overwritten.
    let picked: Vec<E> = labels
        .iter()
        .enumerate()
        .map(|(i, &label)| x[i * classes + label])
        .collect();
    // `>` rather than `Float::max`, whose NaN handling costs a comparison per element: a NaN
    // logit is then skipped here, but still makes its row's loss NaN through the sum below.
    let max: Vec<E> = rows_mut(&mut x, classes)
        .map(|r| {
            r.iter()
                .fold(E::neg_infinity(), |m, &v| if v > m { v } else { m })
        })
        .collect();
    for (r, &m) in rows_mut(&mut x, classes).zip(&max) {
        r.iter_mut().for_each(|v| *v -= m);
    }
    exp_in_place(&mut x);
    let sums: Vec<E> = rows_mut(&mut x, classes)
        .map(|r| r.iter().copied().sum::<E>())
        .collect();
    // The logarithms in one vectorized sweep too, then `lse - picked = ln(sum) + max - picked`.
    let mut loss = sums.clone();
    ln_in_place(&mut loss);
    for (l, (&m, &p)) in loss.iter_mut().zip(max.iter().zip(&picked)) {
        *l = (*l + m) - p;
    }
    (x, sums, loss)
}

/// The fused backward from the forward's `exps` (consumed, and returned as the gradient):
/// `(exps_ij · (1 / sums_i) - [j = label_i]) * w_i`, where `w_i` is the reduction's weight of row
/// `i` given the gradient `g` of the output.
fn cross_entropy_grad_rows<E: Element>(
    mut x: Vec<E>,
    classes: usize,
    ce: &CrossEntropyAttrs<E>,
    g: &[E],
) -> Vec<E> {
    // `x` becomes softmax(x). Subtract the one-hot before scaling, as `(softmax - one_hot) * w`
    // does.
    for ((r, &sum), &label) in rows_mut(&mut x, classes)
        .zip(ce.sums.iter())
        .zip(ce.labels.iter())
    {
        let inv = E::one() / sum;
        r.iter_mut().for_each(|v| *v *= inv);
        r[label] -= E::one();
    }
    let scale = match ce.reduction {
        Reduction::Mean => g[0] / E::of(ce.labels.len() as f64),
        Reduction::Sum => g[0],
        Reduction::None => {
            for (r, &w) in rows_mut(&mut x, classes).zip(g) {
                r.iter_mut().for_each(|v| *v *= w);
            }
            return x;
        }
    };
    // One weight for every row: a single flat pass.
    x.iter_mut().for_each(|v| *v *= scale);
    x
}

#[track_caller]
fn check_labels(op: &str, shape: &[usize], labels: &[usize]) {
    assert!(
        shape.len() == 2 && shape[0] == labels.len(),
        "{op}: expects input of shape (batch, classes) and one label per row, got input {shape:?} \
         and {} labels",
        labels.len()
    );
    if let Some((row, &bad)) = labels.iter().enumerate().find(|(_, &l)| l >= shape[1]) {
        panic!(
            "{op}: label {bad} (row {row}) is out of range for {} classes",
            shape[1]
        );
    }
}

/// One-hot rows for `labels` over `classes` (a constant).
fn one_hot<B: Backend>(labels: &[usize], classes: usize) -> Tensor<B> {
    let mut data = vec![0.0; labels.len() * classes];
    for (row, &l) in labels.iter().enumerate() {
        data[row * classes + l] = 1.0;
    }
    Tensor::from_f64(&data, &[labels.len(), classes])
}

impl<B: Backend> Tensor<B> {
    /// Cross-entropy of logits `(batch, classes)` against integer labels, as PyTorch's
    /// `F.cross_entropy`: `logsumexp(x_i) - x_i[label_i]` per row, then reduced (a 0-d tensor for
    /// [`Reduction::Mean`] and [`Reduction::Sum`], one loss per row for [`Reduction::None`]).
    /// Stable for logits of any size (the row maximum is subtracted).
    ///
    /// One fused op: the forward copies the logits out once and computes each row's maximum,
    /// `logsumexp` and loss on that copy (all the `exp`s in one vectorized sweep, each within one
    /// ulp of the correctly rounded result; the batch reduction accumulated in `f64`), and keeps
    /// those `exp`s and each row's sum for the backward. The backward,
    /// `softmax(x) - one_hot(labels)` scaled by the reduction, is one pass over them, with a
    /// multiplication per element. When the backward is itself recorded (`create_graph`), it is
    /// instead composed from differentiable ops, so that second-order gradients flow through it.
    ///
    /// ```
    /// use duograd::{Reduction, Tensor};
    /// use duograd_ndarray::NdArray;
    /// let logits = Tensor::<NdArray<f64>>::from_f64(&[0.0, 0.0, 1e4, 0.0], &[2, 2]);
    /// let loss = logits.cross_entropy(&[0, 0], Reduction::None).to_vec();
    /// assert!((loss[0] - 2f64.ln()).abs() < 1e-12);
    /// assert_eq!(loss[1], 0.0);
    ///
    /// // Gradient of the mean: (softmax - one_hot) / batch.
    /// let x = logits.requires_grad_(true);
    /// x.cross_entropy(&[0, 0], Reduction::Mean).backward().unwrap();
    /// assert_eq!(x.grad().unwrap().to_vec(), vec![-0.25, 0.25, 0.0, 0.0]);
    /// ```
    ///
    /// # Panics
    /// If the input is not 2-D, the number of labels differs from the batch size, or a label is
    /// not below the number of classes (the message names the row and the label).
    #[track_caller]
    pub fn cross_entropy(&self, labels: &[usize], reduction: Reduction) -> Self {
        check_labels("cross_entropy", self.shape(), labels);
        let classes = self.shape()[1];
        // The logits are small (batch × classes): one row-major copy is cheaper than the
        // several allocating composite ops (max, sub, exp, sum, log, index) it replaces.
        let (exps, sums, loss) = cross_entropy_rows(self.to_vec(), classes, labels);
        let out = match reduction {
            Reduction::None => B::from_vec(loss, &[labels.len()]),
            // Accumulated in f64 so that an f32 batch sum does not lose the small losses.
            Reduction::Sum | Reduction::Mean => {
                let sum: f64 = loss.iter().map(|&l| l.as_f64()).sum();
                let value = match reduction {
                    Reduction::Mean => sum / labels.len() as f64,
                    _ => sum,
                };
                B::from_vec(vec![B::Elem::of(value)], &[])
            }
        };
        let attrs = CrossEntropyAttrs {
            labels: labels.into(),
            reduction,
            exps,
            sums,
        };
        Tensor::from_op(
            "cross_entropy",
            out,
            &[self],
            Attrs::Custom(Arc::new(attrs)),
        )
    }

    /// Negative log-likelihood of log-probabilities `(batch, classes)` (e.g. from
    /// [`Tensor::log_softmax`]) against integer labels, as PyTorch's `F.nll_loss`.
    ///
    /// # Panics
    /// As [`Tensor::cross_entropy`].
    #[track_caller]
    pub fn nll_loss(&self, labels: &[usize], reduction: Reduction) -> Self {
        check_labels("nll_loss", self.shape(), labels);
        let rows: Vec<usize> = (0..labels.len()).collect();
        reduction.apply(self.index(&[&rows, labels]).neg())
    }

    /// Mean squared error `mean((self - target)²)`, as PyTorch's `F.mse_loss`.
    ///
    /// # Panics
    /// If the shapes differ.
    #[track_caller]
    pub fn mse_loss(&self, target: &Tensor<B>) -> Self {
        crate::check::same_shape("mse_loss", self.shape(), target.shape());
        (self - target).square().mean()
    }
}

// d/dx_ij CE = softmax(x)_ij - [j = label_i], times the reduction's weight.
fn cross_entropy_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    let ce: &CrossEntropyAttrs<B::Elem> = a.attrs.custom();
    let x = &a.inputs[0];
    // With `create_graph` the engine runs backward with grad mode on, and the gradient must
    // itself be differentiable (gradgradcheck, Hessian-vector products): compose it from
    // recorded ops. Otherwise nothing would be recorded anyway, so the fused kernel gives the
    // same values without the intermediate tensors.
    if is_grad_enabled() && (x.requires_grad() || a.grad.requires_grad()) {
        let diff = x.softmax(1) - one_hot::<B>(&ce.labels, x.shape()[1]);
        return match ce.reduction {
            Reduction::Mean => a.grad * &diff.div_scalar(ce.labels.len() as f64),
            Reduction::Sum => a.grad * &diff,
            Reduction::None => &a.grad.unsqueeze(1) * &diff,
        };
    }
    // A copy: the forward's `exps` stay valid for another backward (`retain_graph`-style reuse).
    let grad = cross_entropy_grad_rows(ce.exps.clone(), x.shape()[1], ce, &a.grad.to_vec());
    Tensor::from_storage(B::from_vec(grad, x.shape()))
}

pub(crate) fn register<B: Backend>(r: &Registry<B>) {
    r.register_all("cross_entropy", &[cross_entropy_backward]);
}
