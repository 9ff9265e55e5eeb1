//! Cross-entropy on logits and negative log-likelihood: the plain call is one fused op with its
//! own kernels (forward and backward); class weights, `ignore_index`, label smoothing and
//! probability targets are composed from `log_softmax`, `index` and reductions.

use std::fmt;
use std::sync::Arc;

use super::same_shape;
use crate::autograd::{is_grad_enabled, Attrs, BackwardArgs, Registry};
use crate::backend::Backend;
use crate::tensor::Tensor;
use crate::{CrossEntropyForward, Reduction};

/// Options of [`Tensor::nll_loss`] (and the part of [`CrossEntropyOptions`] they share):
/// PyTorch's `reduction`, `weight` and `ignore_index`. A [`Reduction`] converts into options
/// with no weight and nothing ignored.
///
/// ```
/// use duograd::backends::NdArray;
/// use duograd::{NllLossOptions, Reduction, Tensor};
/// let log_probs = Tensor::<NdArray<f64>>::from_f64(&[-0.5, -1.0, -2.0, -0.1], &[2, 2]);
/// let weight = Tensor::from_f64(&[1.0, 3.0], &[2]);
/// let options = NllLossOptions::new(Reduction::Mean).weight(&weight);
/// // (1·0.5 + 3·0.1) / (1 + 3)
/// assert!((log_probs.nll_loss(&[0, 1], options).item() - 0.2).abs() < 1e-12);
/// ```
pub struct NllLossOptions<B: Backend> {
    reduction: Reduction,
    weight: Option<Tensor<B>>,
    ignore_index: Option<usize>,
}

impl<B: Backend> NllLossOptions<B> {
    /// Options with `reduction`, no class weights and no ignored label.
    ///
    /// ```
    /// use duograd::backends::NdArray;
    /// use duograd::{NllLossOptions, Reduction, Tensor};
    /// let log_probs = Tensor::<NdArray<f64>>::from_f64(&[-0.5, -1.0], &[1, 2]);
    /// let options = NllLossOptions::new(Reduction::Sum);
    /// assert_eq!(log_probs.nll_loss(&[1], options).item(), 1.0);
    /// ```
    pub fn new(reduction: Reduction) -> Self {
        NllLossOptions {
            reduction,
            weight: None,
            ignore_index: None,
        }
    }

    /// One weight per class (a constant: no gradient flows to it, as in PyTorch). Each row's
    /// loss is multiplied by its label's weight, and [`Reduction::Mean`] divides by the sum of
    /// the weights of the rows kept.
    ///
    /// ```
    /// use duograd::backends::NdArray;
    /// use duograd::{NllLossOptions, Reduction, Tensor};
    /// let log_probs = Tensor::<NdArray<f64>>::from_f64(&[-1.0, -2.0, -3.0, -4.0], &[2, 2]);
    /// let options = NllLossOptions::new(Reduction::Mean).weight(&Tensor::from_f64(&[3.0, 1.0], &[2]));
    /// // (3·1 + 1·4) / (3 + 1)
    /// assert_eq!(log_probs.nll_loss(&[0, 1], options).item(), 1.75);
    /// ```
    pub fn weight(mut self, weight: &Tensor<B>) -> Self {
        self.weight = Some(weight.detach());
        self
    }

    /// Rows whose label is `index` contribute nothing (loss and gradient 0) and are not counted
    /// by [`Reduction::Mean`]. `index` may lie outside the classes (PyTorch's default is -100).
    ///
    /// ```
    /// use duograd::backends::NdArray;
    /// use duograd::{NllLossOptions, Reduction, Tensor};
    /// let log_probs = Tensor::<NdArray<f64>>::from_f64(&[-1.0, -2.0, -3.0, -4.0], &[2, 2]);
    /// let options = NllLossOptions::new(Reduction::Mean).ignore_index(255);
    /// assert_eq!(log_probs.nll_loss(&[255, 1], options).item(), 4.0);
    /// ```
    pub fn ignore_index(mut self, index: usize) -> Self {
        self.ignore_index = Some(index);
        self
    }

    /// The reduction.
    ///
    /// ```
    /// use duograd::backends::NdArray;
    /// use duograd::{NllLossOptions, Reduction, Tensor};
    /// let log_probs = Tensor::<NdArray<f64>>::from_f64(&[-1.0, -2.0], &[2, 1]);
    /// let options = NllLossOptions::new(Reduction::Mean).reduction(Reduction::None);
    /// assert_eq!(log_probs.nll_loss(&[0, 0], options).to_vec(), vec![1.0, 2.0]);
    /// ```
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    fn is_plain(&self) -> bool {
        self.weight.is_none() && self.ignore_index.is_none()
    }
}

/// Options of [`Tensor::cross_entropy`] and [`Tensor::cross_entropy_probs`]: PyTorch's
/// `reduction`, `weight`, `ignore_index` and `label_smoothing`. A [`Reduction`] converts into
/// options with none of the others set, which runs the fused cross-entropy.
///
/// ```
/// use duograd::backends::NdArray;
/// use duograd::{CrossEntropyOptions, Reduction, Tensor};
/// let logits = Tensor::<NdArray<f64>>::from_f64(&[2.0, 0.0, 0.0, 1.0], &[2, 2]);
/// let options = CrossEntropyOptions::new(Reduction::Sum)
///     .weight(&Tensor::from_f64(&[1.0, 2.0], &[2]))
///     .ignore_index(9)
///     .label_smoothing(0.1);
/// let loss = logits.cross_entropy(&[0, 9], options);
/// // Only row 0 counts: 0.9·(-log p₀) + 0.05·(-(1·log p₀ + 2·log p₁)).
/// let (lp0, lp1) = (-(1.0 + (-2f64).exp()).ln(), -(1.0 + 2f64.exp()).ln());
/// let want = -0.9 * lp0 - 0.05 * (lp0 + 2.0 * lp1);
/// assert!((loss.item() - want).abs() < 1e-12);
/// ```
pub struct CrossEntropyOptions<B: Backend> {
    nll: NllLossOptions<B>,
    label_smoothing: f64,
}

impl<B: Backend> CrossEntropyOptions<B> {
    /// Options with `reduction`, no class weights, no ignored label and no label smoothing:
    /// the same as passing `reduction` itself.
    ///
    /// ```
    /// use duograd::backends::NdArray;
    /// use duograd::{CrossEntropyOptions, Reduction, Tensor};
    /// let logits = Tensor::<NdArray<f64>>::from_f64(&[1.0, 2.0], &[1, 2]);
    /// let a = logits.cross_entropy(&[0], CrossEntropyOptions::new(Reduction::Mean));
    /// assert_eq!(a.item(), logits.cross_entropy(&[0], Reduction::Mean).item());
    /// ```
    pub fn new(reduction: Reduction) -> Self {
        CrossEntropyOptions {
            nll: NllLossOptions::new(reduction),
            label_smoothing: 0.0,
        }
    }

    /// One weight per class: see [`NllLossOptions::weight`]. With probability targets each
    /// class's term is weighted, and [`Reduction::Mean`] divides by the batch size.
    ///
    /// ```
    /// use duograd::backends::NdArray;
    /// use duograd::{CrossEntropyOptions, Reduction, Tensor};
    /// let logits = Tensor::<NdArray<f64>>::from_f64(&[0.0, 0.0], &[1, 2]);
    /// let options = CrossEntropyOptions::new(Reduction::Sum).weight(&Tensor::from_f64(&[2.0, 1.0], &[2]));
    /// assert!((logits.cross_entropy(&[0], options).item() - 2.0 * 2f64.ln()).abs() < 1e-12);
    /// ```
    pub fn weight(mut self, weight: &Tensor<B>) -> Self {
        self.nll = self.nll.weight(weight);
        self
    }

    /// Rows labelled `index` are ignored: see [`NllLossOptions::ignore_index`]. Not available
    /// with probability targets (as in PyTorch).
    ///
    /// ```
    /// use duograd::backends::NdArray;
    /// use duograd::{CrossEntropyOptions, Reduction, Tensor};
    /// let logits = Tensor::<NdArray<f64>>::from_f64(&[0.0, 0.0, 5.0, 0.0], &[2, 2]);
    /// let options = CrossEntropyOptions::new(Reduction::Mean).ignore_index(1);
    /// // Only row 0 (loss ln 2) counts.
    /// assert!((logits.cross_entropy(&[0, 1], options).item() - 2f64.ln()).abs() < 1e-12);
    /// ```
    pub fn ignore_index(mut self, index: usize) -> Self {
        self.nll = self.nll.ignore_index(index);
        self
    }

    /// Mixes the target with the uniform distribution: `(1 - ε)·target + ε / classes`, as
    /// PyTorch's `label_smoothing` (ε in `[0, 1]`).
    ///
    /// ```
    /// use duograd::backends::NdArray;
    /// use duograd::{CrossEntropyOptions, Reduction, Tensor};
    /// // Full smoothing: the target is uniform whatever the label.
    /// let logits = Tensor::<NdArray<f64>>::from_f64(&[0.0, 0.0], &[1, 2]);
    /// let options = CrossEntropyOptions::new(Reduction::Mean).label_smoothing(1.0);
    /// assert!((logits.cross_entropy(&[1], options).item() - 2f64.ln()).abs() < 1e-12);
    /// ```
    pub fn label_smoothing(mut self, epsilon: f64) -> Self {
        self.label_smoothing = epsilon;
        self
    }

    /// The reduction.
    ///
    /// ```
    /// use duograd::backends::NdArray;
    /// use duograd::{CrossEntropyOptions, Reduction, Tensor};
    /// let logits = Tensor::<NdArray<f64>>::from_f64(&[0.0, 0.0, 0.0, 0.0], &[2, 2]);
    /// let options = CrossEntropyOptions::new(Reduction::Mean).reduction(Reduction::None);
    /// assert_eq!(logits.cross_entropy(&[0, 1], options).shape(), &[2]);
    /// ```
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.nll.reduction = reduction;
        self
    }
}

impl<B: Backend> From<Reduction> for NllLossOptions<B> {
    fn from(reduction: Reduction) -> Self {
        NllLossOptions::new(reduction)
    }
}

impl<B: Backend> From<Reduction> for CrossEntropyOptions<B> {
    fn from(reduction: Reduction) -> Self {
        CrossEntropyOptions::new(reduction)
    }
}

impl<B: Backend> Clone for NllLossOptions<B> {
    fn clone(&self) -> Self {
        NllLossOptions {
            reduction: self.reduction,
            weight: self.weight.clone(),
            ignore_index: self.ignore_index,
        }
    }
}

impl<B: Backend> Clone for CrossEntropyOptions<B> {
    fn clone(&self) -> Self {
        CrossEntropyOptions {
            nll: self.nll.clone(),
            label_smoothing: self.label_smoothing,
        }
    }
}

impl<B: Backend> fmt::Debug for NllLossOptions<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NllLossOptions")
            .field("reduction", &self.reduction)
            .field("weight", &self.weight.as_ref().map(|w| w.to_vec_f64()))
            .field("ignore_index", &self.ignore_index)
            .finish()
    }
}

impl<B: Backend> fmt::Debug for CrossEntropyOptions<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CrossEntropyOptions")
            .field("nll", &self.nll)
            .field("label_smoothing", &self.label_smoothing)
            .finish()
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

/// Panics naming `op` unless `shape` is `(batch, classes)` with one label per row, each below
/// `classes` (or equal to `ignore`).
#[track_caller]
fn check_labels(op: &str, shape: &[usize], labels: &[usize], ignore: Option<usize>) {
    assert!(
        shape.len() == 2 && shape[0] == labels.len(),
        "{op}: expects input of shape (batch, classes) and one label per row, got input {shape:?} \
         and {} labels",
        labels.len()
    );
    let bad = labels
        .iter()
        .enumerate()
        .find(|&(_, &l)| l >= shape[1] && Some(l) != ignore);
    if let Some((row, &bad)) = bad {
        panic!(
            "{op}: label {bad} (row {row}) is out of range for {} classes (input {shape:?})",
            shape[1]
        );
    }
}

/// The class weights as numbers, or a panic naming `op` if there is not one per class.
#[track_caller]
fn class_weights<B: Backend>(op: &str, weight: &Tensor<B>, shape: &[usize]) -> Vec<f64> {
    assert!(
        weight.shape() == [shape[1]],
        "{op}: weight of shape {:?} must have one entry per class, {} for input {shape:?}",
        weight.shape(),
        shape[1]
    );
    weight.to_vec_f64()
}

/// Each row's weight (its label's class weight, 0 if ignored) and a label that is safe to index
/// with (0 for ignored rows, whose weight is 0 anyway).
#[track_caller]
fn row_weights<B: Backend>(
    op: &str,
    shape: &[usize],
    labels: &[usize],
    options: &NllLossOptions<B>,
) -> (Vec<f64>, Vec<usize>) {
    check_labels(op, shape, labels, options.ignore_index);
    let weights = options.weight.as_ref().map(|w| class_weights(op, w, shape));
    labels
        .iter()
        .map(|&l| match (Some(l) == options.ignore_index, &weights) {
            (true, _) => (0.0, 0),
            (false, Some(w)) => (w[l], l),
            (false, None) => (1.0, l),
        })
        .unzip()
}

/// `-log_probs[i, label_i] · weight_i` for each row `i`.
fn weighted_nll_rows<B: Backend>(
    log_probs: &Tensor<B>,
    weights: &[f64],
    labels: &[usize],
) -> Tensor<B> {
    let rows: Vec<usize> = (0..labels.len()).collect();
    let picked = log_probs.index(&[&rows, labels]).neg();
    picked * Tensor::from_f64(weights, &[weights.len()])
}

/// The weighted mean `sum / total`. With nothing kept (`total` 0) the loss is NaN and its
/// gradient 0, as PyTorch gives when every row is ignored.
fn weighted_mean<B: Backend>(sum: Tensor<B>, total: f64) -> Tensor<B> {
    if total == 0.0 {
        return sum.mul_scalar(0.0).add_scalar(f64::NAN);
    }
    sum.div_scalar(total)
}

/// Reduces per-row losses whose [`Reduction::Mean`] divides by `total` (the kept rows' weight).
fn reduce_rows<B: Backend>(reduction: Reduction, rows: Tensor<B>, total: f64) -> Tensor<B> {
    match reduction {
        Reduction::Mean => weighted_mean(rows.sum(), total),
        Reduction::Sum => rows.sum(),
        Reduction::None => rows,
    }
}

#[track_caller]
fn check_smoothing(op: &str, epsilon: f64) {
    assert!(
        (0.0..=1.0).contains(&epsilon),
        "{op}: label_smoothing must be in [0, 1], got {epsilon}"
    );
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
    /// `options` is a [`Reduction`] or [`CrossEntropyOptions`] (class weights, `ignore_index`,
    /// label smoothing). With a plain reduction this is one fused op, run by the backend
    /// ([`Backend::cross_entropy`]): the forward computes each row's maximum, `logsumexp` and
    /// loss, and keeps `exp(x - max)` and each row's sum for the backward,
    /// `softmax(x) - one_hot(labels)` scaled by the reduction
    /// ([`Backend::cross_entropy_backward`]). When the backward is itself recorded
    /// (`create_graph`), it is instead composed from differentiable ops, so that second-order
    /// gradients flow through it.
    ///
    /// With any other option set, the loss is composed as PyTorch defines it, from
    /// `log_softmax` and `index`: row `i` costs `w[y_i]·(-log p_i[y_i])` (0 if `y_i` is
    /// ignored); label smoothing ε makes it `(1 - ε)` times that plus `ε / classes` times
    /// `-Σ_c w[c]·log p_i[c]`; [`Reduction::Mean`] divides the sum by `Σ w[y_i]` over the kept
    /// rows. When every row is ignored that mean is NaN (0 / 0) and the gradient is 0, as in
    /// PyTorch.
    ///
    /// ```
    /// use duograd::backends::NdArray;
    /// use duograd::{CrossEntropyOptions, Reduction, Tensor};
    /// let logits = Tensor::<NdArray<f64>>::from_f64(&[0.0, 0.0, 1e4, 0.0], &[2, 2]);
    /// let loss = logits.cross_entropy(&[0, 0], Reduction::None).to_vec();
    /// assert!((loss[0] - 2f64.ln()).abs() < 1e-12);
    /// assert_eq!(loss[1], 0.0);
    ///
    /// // Gradient of the mean: (softmax - one_hot) / batch.
    /// let x = logits.requires_grad_(true);
    /// x.cross_entropy(&[0, 0], Reduction::Mean).backward().unwrap();
    /// assert_eq!(x.grad().unwrap().to_vec(), vec![-0.25, 0.25, 0.0, 0.0]);
    ///
    /// // Row 1 ignored: the mean is row 0's loss.
    /// let ignoring = CrossEntropyOptions::new(Reduction::Mean).ignore_index(1);
    /// assert!((x.cross_entropy(&[0, 1], ignoring).item() - 2f64.ln()).abs() < 1e-12);
    /// ```
    ///
    /// # Panics
    /// If the input is not 2-D, the number of labels differs from the batch size, a label is
    /// neither below the number of classes nor the ignored one (the message names the row and
    /// the label), the weight does not have one entry per class, or the label smoothing is
    /// outside `[0, 1]`.
    #[track_caller]
    pub fn cross_entropy(
        &self,
        labels: &[usize],
        options: impl Into<CrossEntropyOptions<B>>,
    ) -> Self {
        let options = options.into();
        let op = "cross_entropy";
        check_smoothing(op, options.label_smoothing);
        if !options.nll.is_plain() || options.label_smoothing > 0.0 {
            return self.cross_entropy_composed(labels, &options);
        }
        let reduction = options.nll.reduction;
        check_labels(op, self.shape(), labels, None);
        let forward = B::cross_entropy(&self.storage(), labels, reduction);
        let out = forward.loss.clone();
        let attrs = CrossEntropyAttrs {
            labels: labels.into(),
            reduction,
            forward,
        };
        Tensor::from_op(op, out, &[self], Attrs::Custom(Arc::new(attrs)))
    }

    #[track_caller]
    fn cross_entropy_composed(&self, labels: &[usize], options: &CrossEntropyOptions<B>) -> Self {
        let nll = &options.nll;
        let (weights, safe_labels) = row_weights("cross_entropy", self.shape(), labels, nll);
        let log_probs = self.log_softmax(1);
        let mut rows = weighted_nll_rows(&log_probs, &weights, &safe_labels);
        let epsilon = options.label_smoothing;
        if epsilon > 0.0 {
            let classes = self.shape()[1];
            let weighted = match &nll.weight {
                Some(w) => &log_probs * &w.reshape_to(&[1, classes]),
                None => log_probs,
            };
            let kept: Vec<f64> = labels
                .iter()
                .map(|&l| f64::from(u8::from(Some(l) != nll.ignore_index)))
                .collect();
            let smooth = weighted.sum_dim(1, false).neg() * Tensor::from_f64(&kept, &[kept.len()]);
            rows = rows.mul_scalar(1.0 - epsilon) + smooth.mul_scalar(epsilon / classes as f64);
        }
        reduce_rows(nll.reduction, rows, weights.iter().sum())
    }

    /// Cross-entropy of logits `(batch, classes)` against class probabilities `target` of the
    /// same shape, as PyTorch's `F.cross_entropy` with a floating-point target:
    /// `-Σ_c w[c]·target[i, c]·log_softmax(x)[i, c]` per row, the target first smoothed to
    /// `(1 - ε)·target + ε / classes` by label smoothing ε; [`Reduction::Mean`] divides by the
    /// batch size (not by the weights). Composed from `log_softmax`; the gradient flows to
    /// `target` too.
    ///
    /// ```
    /// use duograd::backends::NdArray;
    /// use duograd::{Reduction, Tensor};
    /// let logits = Tensor::<NdArray<f64>>::from_f64(&[1.0, 2.0, 0.5, 0.5], &[2, 2]);
    /// let target = Tensor::from_f64(&[0.0, 1.0, 0.5, 0.5], &[2, 2]);
    /// // One-hot rows give the class-index loss; row 1 is log 2 either way.
    /// let probs = logits.cross_entropy_probs(&target, Reduction::None).to_vec();
    /// let labels = logits.cross_entropy(&[1, 0], Reduction::None).to_vec();
    /// assert!((probs[0] - labels[0]).abs() < 1e-12 && (probs[1] - 2f64.ln()).abs() < 1e-12);
    /// ```
    ///
    /// # Panics
    /// If the input is not 2-D, `target` has another shape, the weight does not have one entry
    /// per class, the label smoothing is outside `[0, 1]`, or `ignore_index` is set (PyTorch
    /// does not support it for probability targets either).
    #[track_caller]
    pub fn cross_entropy_probs(
        &self,
        target: &Tensor<B>,
        options: impl Into<CrossEntropyOptions<B>>,
    ) -> Self {
        let options = options.into();
        let op = "cross_entropy_probs";
        let shape = self.shape();
        assert!(
            shape.len() == 2,
            "{op}: expects input of shape (batch, classes), got {shape:?}"
        );
        same_shape(op, shape, target.shape());
        assert!(
            options.nll.ignore_index.is_none(),
            "{op}: ignore_index is not supported with probability targets (as in PyTorch)"
        );
        let epsilon = options.label_smoothing;
        check_smoothing(op, epsilon);
        let weights = options
            .nll
            .weight
            .as_ref()
            .map(|w| class_weights(op, w, shape));
        let (batch, classes) = (shape[0], shape[1]);
        let target = match epsilon > 0.0 {
            true => target
                .mul_scalar(1.0 - epsilon)
                .add_scalar(epsilon / classes as f64),
            false => target.clone(),
        };
        let mut terms = &self.log_softmax(1) * &target;
        if let Some(w) = weights {
            terms = terms * Tensor::from_f64(&w, &[1, classes]);
        }
        let rows = terms.sum_dim(1, false).neg();
        match options.nll.reduction {
            Reduction::Mean => rows.sum().div_scalar(batch as f64),
            Reduction::Sum => rows.sum(),
            Reduction::None => rows,
        }
    }

    /// Negative log-likelihood of log-probabilities `(batch, classes)` (e.g. from
    /// [`Tensor::log_softmax`]) against integer labels, as PyTorch's `F.nll_loss`:
    /// `-w[y_i]·self[i, y_i]` per row. `options` is a [`Reduction`] or [`NllLossOptions`]
    /// (class weights, `ignore_index`; the mean divides by the kept rows' weights, and is NaN
    /// with a zero gradient when every row is ignored, as in PyTorch). Composed from
    /// [`Tensor::index`].
    ///
    /// ```
    /// use duograd::backends::NdArray;
    /// use duograd::{NllLossOptions, Reduction, Tensor};
    /// let log_probs = Tensor::<NdArray<f64>>::from_f64(&[-0.5, -1.0, -2.0, -0.1], &[2, 2]);
    /// assert!((log_probs.nll_loss(&[0, 1], Reduction::Sum).item() - 0.6).abs() < 1e-12);
    /// let ignoring = NllLossOptions::new(Reduction::Mean).ignore_index(1);
    /// assert!((log_probs.nll_loss(&[0, 1], ignoring).item() - 0.5).abs() < 1e-12);
    /// ```
    ///
    /// # Panics
    /// As [`Tensor::cross_entropy`].
    #[track_caller]
    pub fn nll_loss(&self, labels: &[usize], options: impl Into<NllLossOptions<B>>) -> Self {
        let options = options.into();
        if options.is_plain() {
            check_labels("nll_loss", self.shape(), labels, None);
            let rows: Vec<usize> = (0..labels.len()).collect();
            return super::reduce(options.reduction, self.index(&[&rows, labels]).neg());
        }
        let (weights, safe_labels) = row_weights("nll_loss", self.shape(), labels, &options);
        let rows = weighted_nll_rows(self, &weights, &safe_labels);
        reduce_rows(options.reduction, rows, weights.iter().sum())
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
