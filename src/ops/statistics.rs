//! Statistics over axes, composed of recorded ops (so each has the gradient of its parts and
//! can be differentiated again): `var`/`std` with a correction, vector norms, products and
//! cumulative sums.

use crate::backend::Backend;
use crate::shape::reduced_shape;
use crate::tensor::Tensor;
use crate::ReduceOp;

impl<B: Backend> Tensor<B> {
    /// Variance of all elements: `Σ(x − mean)² / max(0, N − correction)`, as
    /// `torch.var(x, correction=…)` (`correction = 1` is Bessel's, PyTorch's default). With
    /// `N ≤ correction` the division is by 0: one element with `correction = 1` gives NaN (and
    /// a NaN gradient), as PyTorch. Composed of `mean`, `sub`, `mul`, `sum` and `div_scalar`.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[1.0, 2.0, 3.0, 4.0], &[4]);
    /// assert_eq!(x.var(1.0).item(), 5.0 / 3.0);
    /// assert_eq!(x.var(0.0).item(), 1.25);
    /// ```
    pub fn var(&self, correction: f64) -> Self {
        let all: Vec<isize> = (0..self.rank() as isize).collect();
        self.var_dims(&all, correction, false)
    }

    /// Variance over `dims` (negative counts from the end), keeping them as size 1 if
    /// `keepdim`; see [`Tensor::var`]. An empty `dims` reduces nothing (one sample per element).
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[1.0, 3.0, 2.0, 2.0], &[2, 2]);
    /// assert_eq!(x.var_dims(&[1], 1.0, false).to_vec(), vec![2.0, 0.0]);
    /// assert_eq!(x.var_dims(&[-1], 0.0, true).shape(), &[2, 1]);
    /// ```
    ///
    /// # Panics
    /// If an axis is out of range or repeated.
    #[track_caller]
    pub fn var_dims(&self, dims: &[isize], correction: f64, keepdim: bool) -> Self {
        let axes = crate::check::axes("var", dims, self.shape());
        let n: usize = axes.iter().map(|&a| self.shape()[a]).product();
        let centered = self - &self.sum_axes(&axes, true).div_scalar(n as f64);
        let squares = (&centered * &centered).sum_axes(&axes, keepdim);
        squares.div_scalar((n as f64 - correction).max(0.0))
    }

    /// Standard deviation of all elements, `√var` (see [`Tensor::var`]). Where the variance is
    /// 0 the gradient is 0, as PyTorch gives (not the infinite slope of `√` at 0).
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[1.0, 3.0], &[2]);
    /// assert_eq!(x.std(1.0).item(), 2f64.sqrt());
    /// ```
    pub fn std(&self, correction: f64) -> Self {
        self.var(correction).sqrt_zero_grad_at_zero()
    }

    /// Standard deviation over `dims`; see [`Tensor::std`] and [`Tensor::var_dims`].
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[1.0, 3.0, 2.0, 2.0], &[2, 2]);
    /// assert_eq!(x.std_dims(&[1], 0.0, false).to_vec(), vec![1.0, 0.0]);
    /// ```
    ///
    /// # Panics
    /// If an axis is out of range or repeated.
    #[track_caller]
    pub fn std_dims(&self, dims: &[isize], correction: f64, keepdim: bool) -> Self {
        self.var_dims(dims, correction, keepdim)
            .sqrt_zero_grad_at_zero()
    }

    /// `√x` with gradient 0 where `x = 0` (PyTorch's choice for `std` and `norm` at 0): the
    /// square root sees 1 there, so no infinite slope enters the gradient.
    fn sqrt_zero_grad_at_zero(&self) -> Self {
        let zero = self.eq_scalar(0.0);
        let safe = Tensor::where_(&zero, &Tensor::scalar(1.0), self);
        Tensor::where_(&zero, &Tensor::scalar(0.0), &safe.sqrt())
    }

    /// The vector `p`-norm of all elements, as `torch.linalg.vector_norm(x, p)`, for `p` = 1,
    /// 2 or `f64::INFINITY`. Gradients are PyTorch's: `sign x` for `p = 1` (0 at 0), `x / ‖x‖`
    /// for `p = 2` and 0 at the zero vector, and for `p = ∞` the gradient split evenly among the
    /// elements of largest magnitude (with their signs; 0 at the zero vector).
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[3.0, -4.0], &[2]);
    /// assert_eq!(x.norm(1.0).item(), 7.0);
    /// assert_eq!(x.norm(2.0).item(), 5.0);
    /// assert_eq!(x.norm(f64::INFINITY).item(), 4.0);
    /// ```
    ///
    /// # Panics
    /// If `p` is not 1, 2 or infinity.
    #[track_caller]
    pub fn norm(&self, p: f64) -> Self {
        let all: Vec<isize> = (0..self.rank() as isize).collect();
        self.norm_dims(p, &all, false)
    }

    /// The vector `p`-norm over `dims`, keeping them as size 1 if `keepdim`; see
    /// [`Tensor::norm`].
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[3.0, -4.0, 0.0, 0.0], &[2, 2]);
    /// assert_eq!(x.norm_dims(2.0, &[1], false).to_vec(), vec![5.0, 0.0]);
    /// ```
    ///
    /// # Panics
    /// If `p` is not 1, 2 or infinity, or an axis is out of range or repeated.
    #[track_caller]
    pub fn norm_dims(&self, p: f64, dims: &[isize], keepdim: bool) -> Self {
        let axes = crate::check::axes("norm", dims, self.shape());
        if p == 1.0 {
            self.abs().sum_axes(&axes, keepdim)
        } else if p == 2.0 {
            (self * self)
                .sum_axes(&axes, keepdim)
                .sqrt_zero_grad_at_zero()
        } else if p == f64::INFINITY {
            let magnitude = self.abs();
            // The gradient goes to the tied largest magnitudes in equal shares: the mean of
            // the ties (the largest magnitude itself, to within an ulp once three or more
            // tie), weighted by a constant mask.
            let top =
                Tensor::from_storage(B::reduce(&magnitude.storage(), &axes, true, ReduceOp::Max));
            let ties = magnitude.eq(&top);
            let share = &ties / &ties.sum_axes(&axes, true);
            (&magnitude * &share).sum_axes(&axes, keepdim)
        } else {
            panic!(
                "norm: p = {p} is not supported for shape {:?} (1, 2 or infinity)",
                self.shape()
            )
        }
    }

    /// Product of all elements, as a 0-d tensor (1 for an empty tensor), as `torch.prod`.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    /// assert_eq!(x.prod().item(), 24.0);
    /// ```
    pub fn prod(&self) -> Self {
        self.reshape_to(&[self.numel()]).prod_dim(0, false)
    }

    /// Product along `dim`, keeping it as size 1 if `keepdim`, as `torch.prod(x, dim)`.
    /// Composed of halving products (`narrow`, `mul`, `cat`), so its gradient is exact at
    /// zeros (the product of the other factors, as PyTorch's) and can be differentiated again.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[1.0, 2.0, 3.0, 0.0, 5.0, 6.0], &[2, 3]);
    /// assert_eq!(x.prod_dim(1, false).to_vec(), vec![6.0, 0.0]);
    /// ```
    ///
    /// # Panics
    /// If `dim` is out of range.
    #[track_caller]
    pub fn prod_dim(&self, dim: isize, keepdim: bool) -> Self {
        let axis = crate::check::axis("prod", dim, self.shape());
        let out_shape = reduced_shape(self.shape(), &[axis], keepdim);
        if self.shape()[axis] == 0 {
            return Tensor::ones(&out_shape);
        }
        let mut t = self.clone();
        while t.shape()[axis] > 1 {
            let n = t.shape()[axis];
            let half = n / 2;
            let pairs = &t.narrow(axis as isize, 0, half) * &t.narrow(axis as isize, half, half);
            t = if n % 2 == 1 {
                Tensor::cat(&[&pairs, &t.narrow(axis as isize, n - 1, 1)], axis as isize)
            } else {
                pairs
            };
        }
        t.reshape_to(&out_shape)
    }

    /// Cumulative sum along `dim`, as `torch.cumsum`: element `i` is the sum of elements
    /// `0..=i`. Composed of shifted additions (`narrow`, `cat`, `add`, about `log₂ n` of
    /// them), whose gradients it has; an infinity or NaN reaches only the sums after it.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    /// assert_eq!(x.cumsum(1).to_vec(), vec![1.0, 3.0, 6.0, 4.0, 9.0, 15.0]);
    /// ```
    ///
    /// # Panics
    /// If `dim` is out of range.
    #[track_caller]
    pub fn cumsum(&self, dim: isize) -> Self {
        let axis = crate::check::axis("cumsum", dim, self.shape());
        let n = self.shape()[axis];
        let mut t = self.clone();
        let mut shift = 1;
        while shift < n {
            let mut zeros_shape = Vec::from(self.shape());
            zeros_shape[axis] = shift;
            let shifted = Tensor::cat(
                &[
                    &Tensor::zeros(&zeros_shape),
                    &t.narrow(axis as isize, 0, n - shift),
                ],
                axis as isize,
            );
            t = &t + &shifted;
            shift *= 2;
        }
        t
    }
}
