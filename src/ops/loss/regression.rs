//! Elementwise losses between an input and a target of the same shape: MSE, L1, smooth L1,
//! Huber and KL divergence, composed from elementwise ops.

use super::{reduce, same_shape};
use crate::backend::Backend;
use crate::tensor::Tensor;
use crate::Reduction;

/// How [`Tensor::kl_div`] reduces, as PyTorch's `reduction=` for `F.kl_div`: a [`Reduction`] or
/// `BatchMean`, the sum divided by the batch size (the first axis), which is the actual KL
/// divergence per sample; PyTorch's default `'mean'` divides by every element instead.
///
/// ```
/// use duograd::backends::NdArray;
/// use duograd::{KlDivReduction, Reduction, Tensor};
/// let log_q = Tensor::<NdArray<f64>>::from_f64(&[-1.0, -1.0, -1.0, -1.0], &[2, 2]);
/// let p = Tensor::from_f64(&[1.0, 0.0, 1.0, 0.0], &[2, 2]);
/// let sum = log_q.kl_div(&p, Reduction::Sum, false).item();
/// assert_eq!(log_q.kl_div(&p, KlDivReduction::BatchMean, false).item(), sum / 2.0);
/// assert_eq!(log_q.kl_div(&p, KlDivReduction::Mean, false).item(), sum / 4.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KlDivReduction {
    /// The mean over every element.
    Mean,
    /// The sum over every element.
    Sum,
    /// No reduction: the elementwise terms.
    None,
    /// The sum divided by the size of the first axis.
    BatchMean,
}

impl From<Reduction> for KlDivReduction {
    fn from(reduction: Reduction) -> Self {
        match reduction {
            Reduction::Mean => KlDivReduction::Mean,
            Reduction::Sum => KlDivReduction::Sum,
            Reduction::None => KlDivReduction::None,
        }
    }
}

/// 1 where `|d| < threshold`, else 0: the quadratic part of smooth L1 and Huber (a constant).
fn inside<B: Backend>(abs_diff: &Tensor<B>, threshold: f64) -> Tensor<B> {
    abs_diff.gt_scalar(threshold).detach().rsub_scalar(1.0)
}

impl<B: Backend> Tensor<B> {
    /// Mean squared error `mean((self - target)²)`, as PyTorch's `F.mse_loss`; the same as
    /// [`Tensor::mse_loss_with`] with [`Reduction::Mean`].
    ///
    /// ```
    /// use duograd::backends::NdArray;
    /// use duograd::Tensor;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[1.0, 3.0], &[2]);
    /// assert_eq!(x.mse_loss(&Tensor::zeros(&[2])).item(), 5.0);
    /// ```
    ///
    /// # Panics
    /// If the shapes differ.
    #[track_caller]
    pub fn mse_loss(&self, target: &Tensor<B>) -> Self {
        self.mse_loss_with(target, Reduction::Mean)
    }

    /// Squared error `(self - target)²`, reduced as PyTorch's `F.mse_loss(reduction=…)`.
    ///
    /// ```
    /// use duograd::backends::NdArray;
    /// use duograd::{Reduction, Tensor};
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[1.0, 3.0], &[2]);
    /// assert_eq!(x.mse_loss_with(&Tensor::zeros(&[2]), Reduction::Sum).item(), 10.0);
    /// ```
    ///
    /// # Panics
    /// If the shapes differ.
    #[track_caller]
    pub fn mse_loss_with(&self, target: &Tensor<B>, reduction: Reduction) -> Self {
        same_shape("mse_loss", self.shape(), target.shape());
        reduce(reduction, (self - target).square())
    }

    /// Absolute error `|self - target|`, reduced, as PyTorch's `F.l1_loss` (gradient 0 where
    /// the two are equal, as PyTorch's).
    ///
    /// ```
    /// use duograd::backends::NdArray;
    /// use duograd::{Reduction, Tensor};
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[1.0, -3.0], &[2]);
    /// assert_eq!(x.l1_loss(&Tensor::zeros(&[2]), Reduction::Mean).item(), 2.0);
    /// ```
    ///
    /// # Panics
    /// If the shapes differ.
    #[track_caller]
    pub fn l1_loss(&self, target: &Tensor<B>, reduction: Reduction) -> Self {
        same_shape("l1_loss", self.shape(), target.shape());
        reduce(reduction, (self - target).abs())
    }

    /// Smooth L1 loss, as PyTorch's `F.smooth_l1_loss(beta=…)`: with `d = self - target`,
    /// `0.5·d² / beta` where `|d| < beta`, else `|d| - 0.5·beta`; `beta = 0` is the L1 loss.
    ///
    /// ```
    /// use duograd::backends::NdArray;
    /// use duograd::{Reduction, Tensor};
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[0.5, 3.0], &[2]);
    /// let loss = x.smooth_l1_loss(&Tensor::zeros(&[2]), 1.0, Reduction::None);
    /// assert_eq!(loss.to_vec(), vec![0.125, 2.5]);
    /// ```
    ///
    /// # Panics
    /// If the shapes differ or `beta` is negative.
    #[track_caller]
    pub fn smooth_l1_loss(&self, target: &Tensor<B>, beta: f64, reduction: Reduction) -> Self {
        let op = "smooth_l1_loss";
        same_shape(op, self.shape(), target.shape());
        assert!(beta >= 0.0, "{op}: beta must be non-negative, got {beta}");
        let diff = self - target;
        let abs = diff.abs();
        if beta == 0.0 {
            return reduce(reduction, abs);
        }
        let quadratic = inside(&abs, beta);
        let loss = &quadratic * &diff.square().mul_scalar(0.5 / beta)
            + quadratic.rsub_scalar(1.0) * abs.sub_scalar(0.5 * beta);
        reduce(reduction, loss)
    }

    /// Huber loss, as PyTorch's `F.huber_loss(delta=…)`: with `d = self - target`, `0.5·d²`
    /// where `|d| < delta`, else `delta·(|d| - 0.5·delta)` (smooth L1 times `delta`).
    ///
    /// ```
    /// use duograd::backends::NdArray;
    /// use duograd::{Reduction, Tensor};
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[0.5, 3.0], &[2]);
    /// let loss = x.huber_loss(&Tensor::zeros(&[2]), 2.0, Reduction::None);
    /// assert_eq!(loss.to_vec(), vec![0.125, 4.0]);
    /// ```
    ///
    /// # Panics
    /// If the shapes differ or `delta` is not positive.
    #[track_caller]
    pub fn huber_loss(&self, target: &Tensor<B>, delta: f64, reduction: Reduction) -> Self {
        let op = "huber_loss";
        same_shape(op, self.shape(), target.shape());
        assert!(delta > 0.0, "{op}: delta must be positive, got {delta}");
        let diff = self - target;
        let abs = diff.abs();
        let quadratic = inside(&abs, delta);
        let loss = &quadratic * &diff.square().mul_scalar(0.5)
            + quadratic.rsub_scalar(1.0) * abs.sub_scalar(0.5 * delta).mul_scalar(delta);
        reduce(reduction, loss)
    }

    /// Kullback–Leibler divergence of `target` from the distribution whose log-probabilities
    /// are `self`, as PyTorch's `F.kl_div(input, target, reduction, log_target)`: per element
    /// `target·(log target - self)` (0 where `target` is 0), or with `log_target`
    /// `e^target·(target - self)`. `reduction` is a [`Reduction`] or
    /// [`KlDivReduction::BatchMean`], the divergence per sample that PyTorch recommends.
    ///
    /// ```
    /// use duograd::backends::NdArray;
    /// use duograd::{KlDivReduction, Tensor};
    /// let log_q = Tensor::<NdArray<f64>>::from_f64(&[0.5f64.ln(), 0.5f64.ln()], &[1, 2]);
    /// let p = Tensor::from_f64(&[1.0, 0.0], &[1, 2]);
    /// // KL(p ‖ q) = 1·ln(1 / 0.5) = ln 2.
    /// let kl = log_q.kl_div(&p, KlDivReduction::BatchMean, false);
    /// assert!((kl.item() - 2f64.ln()).abs() < 1e-12);
    /// ```
    ///
    /// # Panics
    /// If the shapes differ, or with `BatchMean` on a 0-d input.
    #[track_caller]
    pub fn kl_div(
        &self,
        target: &Tensor<B>,
        reduction: impl Into<KlDivReduction>,
        log_target: bool,
    ) -> Self {
        let op = "kl_div";
        same_shape(op, self.shape(), target.shape());
        let loss = match log_target {
            true => target.exp() * (target - self),
            // xlogy(t, t) - t·x, where `t·log t` is 0 at t = 0: log(t + [t = 0]) is log 1 there.
            false => {
                let zero = target.eq_scalar(0.0).detach();
                target * &(target + &zero).log() - target * self
            }
        };
        match reduction.into() {
            KlDivReduction::Mean => loss.mean(),
            KlDivReduction::Sum => loss.sum(),
            KlDivReduction::None => loss,
            KlDivReduction::BatchMean => {
                let shape = self.shape();
                assert!(
                    !shape.is_empty(),
                    "{op}: BatchMean needs a batch axis, got a 0-d input"
                );
                loss.sum().div_scalar(shape[0] as f64)
            }
        }
    }
}
