//! Losses: cross-entropy on logits (one fused op with its own kernels, forward and backward),
//! NLL and MSE (composed).

use std::sync::Arc;

use crate::autograd::{is_grad_enabled, Attrs, BackwardArgs, Registry};
use crate::backend::Backend;
use crate::tensor::Tensor;
use crate::{CrossEntropyForward, Reduction};

/// Reduces a per-sample loss as PyTorch's `reduction=` does.
fn reduce<B: Backend>(reduction: Reduction, per_sample: Tensor<B>) -> Tensor<B> {
    match reduction {
        Reduction::Mean => per_sample.mean(),
        Reduction::Sum => per_sample.sum(),
        Reduction::None => per_sample,
    }
}

/// What the fused cross-entropy remembers for its backward: the labels, the reduction, and the
/// backend's saved `exps` and `sums` (in its own storage: on its device). A second copy of the
/// logits until backward, as PyTorch's `log_softmax` keeps its output; valid because the
/// engine refuses to run backward if the logits were modified in place since the forward.
struct CrossEntropyAttrs<S> {
    labels: Arc<[usize]>,
    reduction: Reduction,
    forward: CrossEntropyForward<S>,
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
    /// One fused op, run by the backend ([`Backend::cross_entropy`]): the forward computes each
    /// row's maximum, `logsumexp` and loss, and keeps `exp(x - max)` and each row's sum for the
    /// backward, `softmax(x) - one_hot(labels)` scaled by the reduction
    /// ([`Backend::cross_entropy_backward`]). When the backward is itself recorded
    /// (`create_graph`), it is instead composed from differentiable ops, so that second-order
    /// gradients flow through it.
    ///
    /// ```
    /// use duograd::backends::NdArray;
    /// use duograd::{Reduction, Tensor};
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
        let forward = B::cross_entropy(&self.storage(), labels, reduction);
        let out = forward.loss.clone();
        let attrs = CrossEntropyAttrs {
            labels: labels.into(),
            reduction,
            forward,
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
        reduce(reduction, self.index(&[&rows, labels]).neg())
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
    let ce: &CrossEntropyAttrs<B::Storage> = a.attrs.custom();
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
    let grad = B::cross_entropy_backward(&ce.forward, &ce.labels, ce.reduction, &a.grad.storage());
    Tensor::from_storage(grad)
}

pub(crate) fn register<B: Backend>(r: &Registry<B>) {
    r.register_all("cross_entropy", &[cross_entropy_backward]);
}
