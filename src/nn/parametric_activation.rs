//! Activation modules with a setting: [`GELU`], [`LeakyReLU`], [`ELU`], [`Softplus`], as
//! PyTorch's, with its defaults and reprs.

use super::py_repr::{self, display_layer};
use super::{Forward, Module};
use crate::backend::Backend;
use crate::tensor::Tensor;

/// `x·Φ(x)` elementwise (Φ the standard normal distribution function), as PyTorch's
/// `nn.GELU(approximate='none')`; with `tanh_approximation`, its `approximate='tanh'` form. See
/// [`Tensor::gelu`] and [`Tensor::gelu_tanh`].
///
/// ```
/// use duograd::nn::{Forward, GELU};
/// use duograd::Tensor;
/// use duograd::backends::NdArray;
/// let y = GELU::new().forward(&Tensor::<NdArray<f64>>::from_f64(&[0.0, 1.0], &[2]));
/// assert!((y.to_vec_f64()[1] - 0.8413447460685429).abs() < 1e-12);
/// assert_eq!(GELU::tanh().to_string(), "GELU(approximate='tanh')");
/// ```
#[derive(Clone, Copy, PartialEq, Module)]
#[module(extra_repr = Self::repr_args)]
pub struct GELU {
    #[module(skip)]
    tanh_approximation: bool,
    training: bool,
}

impl GELU {
    /// The exact form (`approximate='none'`).
    pub fn new() -> Self {
        GELU {
            tanh_approximation: false,
            training: true,
        }
    }

    /// The tanh approximation (`approximate='tanh'`).
    pub fn tanh() -> Self {
        GELU {
            tanh_approximation: true,
            training: true,
        }
    }

    fn repr_args(&self) -> String {
        let form = if self.tanh_approximation {
            "tanh"
        } else {
            "none"
        };
        format!("approximate='{form}'")
    }
}

impl Default for GELU {
    fn default() -> Self {
        Self::new()
    }
}

impl<B: Backend> Forward<B> for GELU {
    fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
        if self.tanh_approximation {
            x.gelu_tanh()
        } else {
            x.gelu()
        }
    }
}

display_layer!(GELU);

/// `x` for `x > 0`, else `negative_slope·x`, as PyTorch's `nn.LeakyReLU` (default slope
/// 0.01). See [`Tensor::leaky_relu`].
///
/// ```
/// use duograd::nn::{Forward, LeakyReLU};
/// use duograd::Tensor;
/// use duograd::backends::NdArray;
/// let y = LeakyReLU::new(0.1).forward(&Tensor::<NdArray<f64>>::from_f64(&[-2.0, 3.0], &[2]));
/// assert_eq!(y.to_vec_f64(), vec![-0.2, 3.0]);
/// assert_eq!(LeakyReLU::default().to_string(), "LeakyReLU(negative_slope=0.01)");
/// ```
#[derive(Clone, Copy, PartialEq, Module)]
#[module(extra_repr = Self::repr_args)]
pub struct LeakyReLU {
    #[module(skip)]
    negative_slope: f64,
    training: bool,
}

impl LeakyReLU {
    /// With slope `negative_slope` below 0.
    pub fn new(negative_slope: f64) -> Self {
        LeakyReLU {
            negative_slope,
            training: true,
        }
    }

    fn repr_args(&self) -> String {
        format!("negative_slope={}", py_repr::float(self.negative_slope))
    }
}

impl Default for LeakyReLU {
    fn default() -> Self {
        Self::new(0.01)
    }
}

impl<B: Backend> Forward<B> for LeakyReLU {
    fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
        x.leaky_relu(self.negative_slope)
    }
}

display_layer!(LeakyReLU);

/// `x` for `x > 0`, else `alpha·(eˣ − 1)`, as PyTorch's `nn.ELU` (default `alpha` 1). See
/// [`Tensor::elu`].
///
/// ```
/// use duograd::nn::{Forward, ELU};
/// use duograd::Tensor;
/// use duograd::backends::NdArray;
/// let y = ELU::default().forward(&Tensor::<NdArray<f64>>::from_f64(&[-1.0, 2.0], &[2]));
/// assert!((y.to_vec_f64()[0] - (-1f64).exp_m1()).abs() < 1e-15);
/// assert_eq!(ELU::default().to_string(), "ELU(alpha=1.0)");
/// ```
#[derive(Clone, Copy, PartialEq, Module)]
#[module(extra_repr = Self::repr_args)]
pub struct ELU {
    #[module(skip)]
    alpha: f64,
    training: bool,
}

impl ELU {
    /// With scale `alpha` below 0.
    pub fn new(alpha: f64) -> Self {
        ELU {
            alpha,
            training: true,
        }
    }

    fn repr_args(&self) -> String {
        format!("alpha={}", py_repr::float(self.alpha))
    }
}

impl Default for ELU {
    fn default() -> Self {
        Self::new(1.0)
    }
}

impl<B: Backend> Forward<B> for ELU {
    fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
        x.elu(self.alpha)
    }
}

display_layer!(ELU);

/// `log(1 + e^(beta·x)) / beta`, and `x` itself where `beta·x > threshold`, as PyTorch's
/// `nn.Softplus` (defaults `beta = 1`, `threshold = 20`). See [`Tensor::softplus`].
///
/// ```
/// use duograd::nn::{Forward, Softplus};
/// use duograd::Tensor;
/// use duograd::backends::NdArray;
/// let y = Softplus::default().forward(&Tensor::<NdArray<f64>>::from_f64(&[0.0, 30.0], &[2]));
/// assert_eq!(y.to_vec_f64(), vec![2f64.ln(), 30.0]);
/// assert_eq!(Softplus::default().to_string(), "Softplus(beta=1.0, threshold=20.0)");
/// ```
#[derive(Clone, Copy, PartialEq, Module)]
#[module(extra_repr = Self::repr_args)]
pub struct Softplus {
    #[module(skip)]
    beta: f64,
    #[module(skip)]
    threshold: f64,
    training: bool,
}

impl Softplus {
    /// With `beta` and `threshold`.
    pub fn new(beta: f64, threshold: f64) -> Self {
        Softplus {
            beta,
            threshold,
            training: true,
        }
    }

    fn repr_args(&self) -> String {
        format!(
            "beta={}, threshold={}",
            py_repr::float(self.beta),
            py_repr::float(self.threshold)
        )
    }
}

impl Default for Softplus {
    fn default() -> Self {
        Self::new(1.0, 20.0)
    }
}

impl<B: Backend> Forward<B> for Softplus {
    fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
        x.softplus(self.beta, self.threshold)
    }
}

display_layer!(Softplus);
