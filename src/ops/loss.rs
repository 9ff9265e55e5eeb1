//! Losses: cross-entropy on logits (one fused op with its own backward), NLL and MSE (composed).

use std::sync::Arc;

use crate::autograd::{with_no_grad, Attrs, BackwardArgs, Registry};
use crate::backend::Backend;
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
struct CrossEntropyAttrs {
    labels: Arc<[usize]>,
    reduction: Reduction,
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
    /// `F.cross_entropy`: `logsumexp(x_i) - x_i[label_i]` per row, then reduced. Stable for
    /// logits of any size (the row maximum is subtracted). One fused op whose backward is
    /// `softmax(x) - one_hot(labels)` (scaled by the reduction).
    ///
    /// ```
    /// use duograd::{Reduction, Tensor};
    /// use duograd_ndarray::NdArray;
    /// let logits = Tensor::<NdArray<f64>>::from_f64(&[0.0, 0.0, 1e4, 0.0], &[2, 2]);
    /// let loss = logits.cross_entropy(&[0, 0], Reduction::None).to_vec();
    /// assert!((loss[0] - 2f64.ln()).abs() < 1e-12);
    /// assert_eq!(loss[1], 0.0);
    /// ```
    ///
    /// # Panics
    /// If the input is not 2-D, the number of labels differs from the batch size, or a label is
    /// not below the number of classes (the message names the row and the label).
    #[track_caller]
    pub fn cross_entropy(&self, labels: &[usize], reduction: Reduction) -> Self {
        check_labels("cross_entropy", self.shape(), labels);
        let out = with_no_grad(|| {
            let x = self.detach();
            let rows: Vec<usize> = (0..labels.len()).collect();
            let per_sample = x.logsumexp(1, false) - x.index(&[&rows, labels]);
            reduction.apply(per_sample).storage()
        });
        let attrs = CrossEntropyAttrs {
            labels: labels.into(),
            reduction,
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
    let ce: &CrossEntropyAttrs = a.attrs.custom();
    let x = &a.inputs[0];
    let diff = x.softmax(1) - one_hot::<B>(&ce.labels, x.shape()[1]);
    match ce.reduction {
        Reduction::Mean => a.grad * &diff.div_scalar(ce.labels.len() as f64),
        Reduction::Sum => a.grad * &diff,
        Reduction::None => &a.grad.unsqueeze(1) * &diff,
    }
}

pub(crate) fn register<B: Backend>(r: &Registry<B>) {
    r.register_all("cross_entropy", &[cross_entropy_backward]);
}
