//! Binary cross-entropy: on logits (composed from elementwise ops, stable for any logit) and on
//! probabilities (one registered op, whose backward is PyTorch's clamped formula).

use std::fmt;

use super::{broadcasts_to, reduce, same_shape};
use crate::autograd::{Attrs, BackwardArgs, Registry};
use crate::backend::Backend;
use crate::tensor::Tensor;
use crate::Reduction;

/// Options of [`Tensor::binary_cross_entropy_with_logits`] and
/// [`Tensor::binary_cross_entropy`]: PyTorch's `reduction`, `weight` and (with logits only)
/// `pos_weight`. A [`Reduction`] converts into options with neither weight.
///
/// ```
/// use duograd::backends::NdArray;
/// use duograd::{BceOptions, Reduction, Tensor};
/// let logits = Tensor::<NdArray<f64>>::from_f64(&[0.0, 0.0], &[1, 2]);
/// let target = Tensor::from_f64(&[1.0, 0.0], &[1, 2]);
/// let options = BceOptions::new(Reduction::Sum).pos_weight(&Tensor::from_f64(&[3.0, 3.0], &[2]));
/// // The positive term counts three times: 3·ln 2 + ln 2.
/// let loss = logits.binary_cross_entropy_with_logits(&target, options);
/// assert!((loss.item() - 4.0 * 2f64.ln()).abs() < 1e-12);
/// ```
pub struct BceOptions<B: Backend> {
    reduction: Reduction,
    weight: Option<Tensor<B>>,
    pos_weight: Option<Tensor<B>>,
}

impl<B: Backend> BceOptions<B> {
    /// Options with `reduction` and neither weight: the same as passing `reduction` itself.
    ///
    /// ```
    /// use duograd::backends::NdArray;
    /// use duograd::{BceOptions, Reduction, Tensor};
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[0.3], &[1]);
    /// let a = x.binary_cross_entropy_with_logits(&x, BceOptions::new(Reduction::Sum));
    /// assert_eq!(a.item(), x.binary_cross_entropy_with_logits(&x, Reduction::Sum).item());
    /// ```
    pub fn new(reduction: Reduction) -> Self {
        BceOptions {
            reduction,
            weight: None,
            pos_weight: None,
        }
    }

    /// A weight broadcast to the input's shape, multiplying each element's loss (a constant: no
    /// gradient flows to it, as in PyTorch).
    ///
    /// ```
    /// use duograd::backends::NdArray;
    /// use duograd::{BceOptions, Reduction, Tensor};
    /// let p = Tensor::<NdArray<f64>>::from_f64(&[0.5, 0.5], &[1, 2]);
    /// let options = BceOptions::new(Reduction::Sum).weight(&Tensor::from_f64(&[0.0, 2.0], &[2]));
    /// assert!((p.binary_cross_entropy(&p, options).item() - 2.0 * 2f64.ln()).abs() < 1e-12);
    /// ```
    pub fn weight(mut self, weight: &Tensor<B>) -> Self {
        self.weight = Some(weight.detach());
        self
    }

    /// A weight of the positive term (`target · log σ(x)`), broadcast to the input's shape
    /// (usually one per class: the last axis); above 1 it raises recall. Logits only; a
    /// constant, as the weight.
    ///
    /// ```
    /// use duograd::backends::NdArray;
    /// use duograd::{BceOptions, Reduction, Tensor};
    /// let logits = Tensor::<NdArray<f64>>::from_f64(&[0.0], &[1]);
    /// let options = BceOptions::new(Reduction::Sum).pos_weight(&Tensor::from_f64(&[5.0], &[1]));
    /// let loss = logits.binary_cross_entropy_with_logits(&Tensor::ones(&[1]), options);
    /// assert!((loss.item() - 5.0 * 2f64.ln()).abs() < 1e-12);
    /// ```
    pub fn pos_weight(mut self, pos_weight: &Tensor<B>) -> Self {
        self.pos_weight = Some(pos_weight.detach());
        self
    }

    /// The reduction.
    ///
    /// ```
    /// use duograd::backends::NdArray;
    /// use duograd::{BceOptions, Reduction, Tensor};
    /// let x = Tensor::<NdArray<f64>>::zeros(&[3]);
    /// let options = BceOptions::new(Reduction::Mean).reduction(Reduction::None);
    /// assert_eq!(x.binary_cross_entropy_with_logits(&x, options).shape(), &[3]);
    /// ```
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }
}

impl<B: Backend> From<Reduction> for BceOptions<B> {
    fn from(reduction: Reduction) -> Self {
        BceOptions::new(reduction)
    }
}

impl<B: Backend> Clone for BceOptions<B> {
    fn clone(&self) -> Self {
        BceOptions {
            reduction: self.reduction,
            weight: self.weight.clone(),
            pos_weight: self.pos_weight.clone(),
        }
    }
}

impl<B: Backend> fmt::Debug for BceOptions<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shape = |t: &Option<Tensor<B>>| t.as_ref().map(|t| t.shape().to_vec());
        f.debug_struct("BceOptions")
            .field("reduction", &self.reduction)
            .field("weight_shape", &shape(&self.weight))
            .field("pos_weight_shape", &shape(&self.pos_weight))
            .finish()
    }
}

/// Multiplies by the optional weight, checked to broadcast to `shape`.
#[track_caller]
fn weighted<B: Backend>(
    op: &str,
    loss: Tensor<B>,
    weight: &Option<Tensor<B>>,
    shape: &[usize],
) -> Tensor<B> {
    match weight {
        Some(w) => {
            broadcasts_to(op, "weight", w.shape(), shape);
            loss * w
        }
        None => loss,
    }
}

/// `log σ(x) = min(x, 0) - log(1 + e^-|x|)`, with `min(x, 0)` written `(x - |x|) / 2`: no
/// exponential of a large number, and the derivative at 0 is `1/2` as σ(-0) gives.
fn log_sigmoid<B: Backend>(x: &Tensor<B>) -> Tensor<B> {
    let abs = x.abs();
    (x - &abs).mul_scalar(0.5) - abs.neg().exp().add_scalar(1.0).log()
}

impl<B: Backend> Tensor<B> {
    /// Binary cross-entropy of logits against targets of the same shape, as PyTorch's
    /// `F.binary_cross_entropy_with_logits`: per element
    /// `(1 - y)·x - (1 + (pos_weight - 1)·y)·log σ(x)`, times `weight`, then reduced.
    /// `options` is a [`Reduction`] or [`BceOptions`].
    ///
    /// Composed from elementwise ops with `log σ(x) = min(x, 0) - log(1 + e^-|x|)`, so it stays
    /// finite for logits of any size (±10⁴ gives exactly 0 or 10⁴ per element). The gradient
    /// flows to the target too.
    ///
    /// ```
    /// use duograd::backends::NdArray;
    /// use duograd::{Reduction, Tensor};
    /// let logits = Tensor::<NdArray<f64>>::from_f64(&[1e4, -1e4, 0.0], &[3]);
    /// let target = Tensor::from_f64(&[1.0, 1.0, 0.5], &[3]);
    /// let loss = logits.binary_cross_entropy_with_logits(&target, Reduction::None).to_vec();
    /// assert_eq!(&loss[..2], &[0.0, 1e4]);
    /// assert!((loss[2] - 2f64.ln()).abs() < 1e-12);
    /// ```
    ///
    /// # Panics
    /// If `target` has another shape than the input, or a weight does not broadcast to it.
    #[track_caller]
    pub fn binary_cross_entropy_with_logits(
        &self,
        target: &Tensor<B>,
        options: impl Into<BceOptions<B>>,
    ) -> Self {
        let options = options.into();
        let op = "binary_cross_entropy_with_logits";
        same_shape(op, self.shape(), target.shape());
        let mut log_sig = log_sigmoid(self);
        if let Some(pw) = &options.pos_weight {
            broadcasts_to(op, "pos_weight", pw.shape(), self.shape());
            log_sig = log_sig * (target * &pw.sub_scalar(1.0)).add_scalar(1.0);
        }
        let loss = target.rsub_scalar(1.0) * self - log_sig;
        reduce(
            options.reduction,
            weighted(op, loss, &options.weight, self.shape()),
        )
    }

    /// Binary cross-entropy of probabilities in `[0, 1]` against targets of the same shape, as
    /// PyTorch's `F.binary_cross_entropy`: per element
    /// `-(y·max(log p, -100) + (1 - y)·max(log(1 - p), -100))`, times `weight`, then reduced.
    /// `options` is a [`Reduction`] or [`BceOptions`] (no `pos_weight`).
    ///
    /// One registered op (`binary_cross_entropy`, before weighting and reduction) so that its
    /// gradient is PyTorch's, `(p - y) / max(p·(1 - p), 10⁻¹²)`, finite at `p = 0` and `1`
    /// where the derivative of the clamped logarithm would not be; the target's gradient is
    /// `log(1 - p) - log p`. Prefer [`Tensor::binary_cross_entropy_with_logits`] on logits: it
    /// is exact where `σ` rounds to 0 or 1.
    ///
    /// ```
    /// use duograd::backends::NdArray;
    /// use duograd::{Reduction, Tensor};
    /// let p = Tensor::<NdArray<f64>>::from_f64(&[0.0, 0.5], &[2]).requires_grad_(true);
    /// let target = Tensor::from_f64(&[1.0, 1.0], &[2]);
    /// let loss = p.binary_cross_entropy(&target, Reduction::None);
    /// assert_eq!(loss.to_vec()[0], 100.0);
    /// loss.sum().backward().unwrap();
    /// let g = p.grad().unwrap().to_vec();
    /// assert!((g[0] / -1e12 - 1.0).abs() < 1e-8 && g[1] == -2.0);
    /// ```
    ///
    /// # Panics
    /// If `target` has another shape than the input, the weight does not broadcast to it,
    /// `pos_weight` is set, or an input value is outside `[0, 1]`.
    #[track_caller]
    pub fn binary_cross_entropy(
        &self,
        target: &Tensor<B>,
        options: impl Into<BceOptions<B>>,
    ) -> Self {
        let options = options.into();
        let op = "binary_cross_entropy";
        same_shape(op, self.shape(), target.shape());
        assert!(
            options.pos_weight.is_none(),
            "{op}: pos_weight is an option of binary_cross_entropy_with_logits only"
        );
        if let Some(bad) = self
            .to_vec_f64()
            .into_iter()
            .find(|p| !(0.0..=1.0).contains(p))
        {
            panic!("{op}: every input element must be a probability in [0, 1], found {bad}");
        }
        let (p, y) = (self.detach(), target.detach());
        let log_p = p.log().clamp_min(-100.0);
        let log_q = p.rsub_scalar(1.0).log().clamp_min(-100.0);
        let value = (&y * &log_p + y.rsub_scalar(1.0) * log_q).neg();
        let loss = Tensor::from_op(op, value.storage(), &[self, target], Attrs::None);
        reduce(
            options.reduction,
            weighted(op, loss, &options.weight, self.shape()),
        )
    }
}

/// PyTorch's floor on `p·(1 - p)` in the gradient of the binary cross-entropy: 10⁻¹² rounded
/// to f32 (PyTorch stores it as a `float`), which shows in gradients of the order of 10¹².
const BCE_EPSILON: f64 = 1e-12_f32 as f64;

// d/dp BCE = (p - y) / (p (1 - p)), the denominator floored at 1e-12 as PyTorch's
fn bce_input_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    let (p, y) = (&a.inputs[0], &a.inputs[1]);
    let denominator = (p * &p.rsub_scalar(1.0)).clamp_min(BCE_EPSILON);
    a.grad * &((p - y) / denominator)
}

// d/dy BCE = log(1 - p) - log p (unclamped, as PyTorch's)
fn bce_target_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    let p = &a.inputs[0];
    a.grad * &(p.rsub_scalar(1.0).log() - p.log())
}

pub(crate) fn register<B: Backend>(r: &Registry<B>) {
    r.register_all(
        "binary_cross_entropy",
        &[bce_input_backward, bce_target_backward],
    );
}
