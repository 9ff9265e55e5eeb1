//! Activation functions composed of recorded ops (`erf`, `tanh`, `sigmoid`, `where`, `expm1`,
//! `log1p`, …): each has the gradient of its parts, so gradients of gradients work, and each
//! matches PyTorch's formula and its choice at the kinks.

use std::f64::consts::{FRAC_1_SQRT_2, FRAC_2_SQRT_PI, SQRT_2};

use crate::backend::Backend;
use crate::tensor::Tensor;

impl<B: Backend> Tensor<B> {
    /// The exact GELU, `x · Φ(x) = x/2 · (1 + erf(x/√2))`, as `F.gelu(x)`. Composed of
    /// [`Tensor::erf`] and arithmetic, whose gradients it has (`gelu'(0) = 0.5`).
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[0.0, 1.0], &[2]);
    /// let y = x.gelu().to_vec();
    /// assert_eq!(y[0], 0.0);
    /// assert!((y[1] - 0.8413447460685429).abs() < 1e-15);
    /// ```
    pub fn gelu(&self) -> Self {
        let phi = self.mul_scalar(FRAC_1_SQRT_2).erf().add_scalar(1.0);
        &self.mul_scalar(0.5) * &phi
    }

    /// GELU's tanh approximation,
    /// `x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³)))`, as `F.gelu(x, approximate="tanh")`.
    /// Composed of [`Tensor::tanh`] and arithmetic, whose gradients it has.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[0.0, 1.0], &[2]);
    /// let y = x.gelu_tanh().to_vec();
    /// assert_eq!(y[0], 0.0);
    /// assert!((y[1] - 0.8411919906082768).abs() < 1e-15);
    /// ```
    pub fn gelu_tanh(&self) -> Self {
        let beta = SQRT_2 * FRAC_2_SQRT_PI * 0.5;
        let cube = &(self * self) * self;
        let inner = (self + &cube.mul_scalar(0.044715)).mul_scalar(beta);
        &self.mul_scalar(0.5) * &inner.tanh().add_scalar(1.0)
    }

    /// SiLU (swish), `x · σ(x)`, as `F.silu`. Composed of [`Tensor::sigmoid`] and a product,
    /// whose gradients it has.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[0.0, 2.0], &[2]);
    /// let y = x.silu().to_vec();
    /// assert_eq!(y[0], 0.0);
    /// assert!((y[1] - 2.0 / (1.0 + (-2.0f64).exp())).abs() < 1e-15);
    /// ```
    pub fn silu(&self) -> Self {
        self * &self.sigmoid()
    }

    /// `x` where `x > 0`, `slope · x` elsewhere, as `F.leaky_relu(x, slope)` (PyTorch's default
    /// slope is 0.01). The derivative at 0 is `slope`, as PyTorch's. Composed of
    /// [`Tensor::where_`], whose gradient it has.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[-2.0, 3.0], &[2]);
    /// assert_eq!(x.leaky_relu(0.1).to_vec(), vec![-0.2, 3.0]);
    /// ```
    pub fn leaky_relu(&self, slope: f64) -> Self {
        Tensor::where_(&self.gt_scalar(0.0), self, &self.mul_scalar(slope))
    }

    /// ELU: `x` where `x > 0`, `alpha · (e^x − 1)` elsewhere, as `F.elu(x, alpha)` (PyTorch's
    /// default `alpha` is 1). The derivative at 0 is `alpha`, as PyTorch's. Composed of
    /// [`Tensor::where_`] and [`Tensor::expm1`], whose gradients it has; the exponential only
    /// sees the non-positive inputs, so a large input gives no infinite intermediate.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[0.0, 3.0, -1000.0], &[3]);
    /// assert_eq!(x.elu(1.0).to_vec(), vec![0.0, 3.0, -1.0]);
    /// ```
    pub fn elu(&self, alpha: f64) -> Self {
        let positive = self.gt_scalar(0.0);
        let negative_part = Tensor::where_(&positive, &Tensor::scalar(0.0), self);
        let curve = negative_part.expm1().mul_scalar(alpha);
        Tensor::where_(&positive, self, &curve)
    }

    /// Softplus, `ln(1 + e^(βx)) / β`, and `x` itself where `βx > threshold`, as
    /// `F.softplus(x, beta, threshold)` (PyTorch's defaults are `beta = 1`, `threshold = 20`).
    /// Composed of [`Tensor::where_`], [`Tensor::exp`] and [`Tensor::log1p`], whose gradients
    /// it has (`σ(βx)` below the threshold, 1 above it, as PyTorch's); the exponential only sees
    /// inputs below the threshold, so it never overflows.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[0.0, 1000.0], &[2]);
    /// let y = x.softplus(1.0, 20.0).to_vec();
    /// assert!((y[0] - 2f64.ln()).abs() < 1e-15);
    /// assert_eq!(y[1], 1000.0);
    /// ```
    pub fn softplus(&self, beta: f64, threshold: f64) -> Self {
        let linear = self.mul_scalar(beta).gt_scalar(threshold);
        let below = Tensor::where_(&linear, &Tensor::scalar(0.0), self);
        let curve = below.mul_scalar(beta).exp().log1p().div_scalar(beta);
        Tensor::where_(&linear, self, &curve)
    }
}
