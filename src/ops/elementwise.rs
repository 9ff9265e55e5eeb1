//! Elementwise functions of one tensor, each with its derivative beside it.

use std::sync::Arc;

use crate::autograd::{is_grad_enabled, Attrs, BackwardArgs, Registry};
use crate::backend::Backend;
use crate::tensor::Tensor;
use crate::Element;
use crate::{BinaryOp, UnaryOp};

impl<B: Backend> Tensor<B> {
    /// Applies a unary kernel and records it as `op`.
    fn map(&self, op: &'static str, kernel: UnaryOp<B::Elem>, attrs: Attrs) -> Self {
        Tensor::from_op(op, B::unary(&self.storage(), kernel), &[self], attrs)
    }

    /// Applies a kernel that takes a scalar constant, recording the constant for backward.
    fn map_scalar(
        &self,
        op: &'static str,
        kernel: fn(B::Elem) -> UnaryOp<B::Elem>,
        c: f64,
    ) -> Self {
        self.map(op, kernel(B::Elem::of(c)), Attrs::Scalar(c))
    }

    /// Applies a kernel whose result is a constant (masks, comparisons): never recorded.
    pub(crate) fn map_untracked(&self, kernel: UnaryOp<B::Elem>) -> Self {
        Tensor::from_storage(B::unary(&self.storage(), kernel))
    }

    /// `-x`
    pub fn neg(&self) -> Self {
        self.map("neg", UnaryOp::Neg, Attrs::None)
    }

    /// `e^x`
    pub fn exp(&self) -> Self {
        self.map("exp", UnaryOp::Exp, Attrs::None)
    }

    /// Natural logarithm.
    pub fn log(&self) -> Self {
        self.map("log", UnaryOp::Log, Attrs::None)
    }

    /// Square root.
    pub fn sqrt(&self) -> Self {
        self.map("sqrt", UnaryOp::Sqrt, Attrs::None)
    }

    /// Hyperbolic tangent.
    pub fn tanh(&self) -> Self {
        self.map("tanh", UnaryOp::Tanh, Attrs::None)
    }

    /// Logistic sigmoid `1 / (1 + e^-x)`, stable for large `|x|`.
    pub fn sigmoid(&self) -> Self {
        self.map("sigmoid", UnaryOp::Sigmoid, Attrs::None)
    }

    /// `max(x, 0)`; its derivative at 0 is 0, as in PyTorch.
    pub fn relu(&self) -> Self {
        self.map("relu", UnaryOp::Relu, Attrs::None)
    }

    /// `|x|`; its derivative at 0 is 0, as in PyTorch.
    pub fn abs(&self) -> Self {
        self.map("abs", UnaryOp::Abs, Attrs::None)
    }

    /// `x^p` for a constant exponent.
    pub fn powf(&self, p: f64) -> Self {
        self.map_scalar("powf", UnaryOp::Powf, p)
    }

    /// `x * x`.
    pub fn square(&self) -> Self {
        self.powf(2.0)
    }

    /// `max(x, c)`; the gradient at exactly `c` is 0, as PyTorch's `clamp(min=c)`.
    pub fn clamp_min(&self, c: f64) -> Self {
        self.map_scalar("clamp_min", UnaryOp::ClampMin, c)
    }

    /// `x + c`
    pub fn add_scalar(&self, c: f64) -> Self {
        self.map_scalar("add_scalar", UnaryOp::AddScalar, c)
    }

    /// `x * c`
    pub fn mul_scalar(&self, c: f64) -> Self {
        self.map_scalar("mul_scalar", UnaryOp::MulScalar, c)
    }

    /// `x / c`
    pub fn div_scalar(&self, c: f64) -> Self {
        self.map_scalar("div_scalar", UnaryOp::DivScalar, c)
    }

    /// `c - x`
    pub fn rsub_scalar(&self, c: f64) -> Self {
        self.map_scalar("rsub_scalar", UnaryOp::RSubScalar, c)
    }

    /// `c / x`
    pub fn rdiv_scalar(&self, c: f64) -> Self {
        self.map_scalar("rdiv_scalar", UnaryOp::RDivScalar, c)
    }

    /// `x - c`
    pub fn sub_scalar(&self, c: f64) -> Self {
        self.add_scalar(-c)
    }

    /// `1` where `x > c`, else `0`. Not differentiable: never recorded.
    pub fn gt_scalar(&self, c: f64) -> Self {
        self.map_untracked(UnaryOp::GtScalar(B::Elem::of(c)))
    }

    /// `1` where `x == c`, else `0`. Not differentiable: never recorded.
    pub fn eq_scalar(&self, c: f64) -> Self {
        self.map_untracked(UnaryOp::EqScalar(B::Elem::of(c)))
    }

    /// `-1`, `0` or `1` by sign. Not differentiable: never recorded.
    pub fn sign(&self) -> Self {
        self.map_untracked(UnaryOp::Sign)
    }

    /// `ln(1 + x)`, accurate where `x` is tiny (where `(x + 1).log()` loses the digits of `x`).
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[1e-20, 0.0], &[2]);
    /// assert_eq!(x.log1p().to_vec(), vec![1e-20, 0.0]);
    /// ```
    pub fn log1p(&self) -> Self {
        self.map("log1p", UnaryOp::Log1p, Attrs::None)
    }

    /// `e^x - 1`, accurate where `x` is tiny.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[1e-20, 0.0], &[2]);
    /// assert_eq!(x.expm1().to_vec(), vec![1e-20, 0.0]);
    /// ```
    pub fn expm1(&self) -> Self {
        self.map("expm1", UnaryOp::Expm1, Attrs::None)
    }

    /// Sine (radians).
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[0.0], &[1]);
    /// assert_eq!(x.sin().to_vec(), vec![0.0]);
    /// ```
    pub fn sin(&self) -> Self {
        self.map("sin", UnaryOp::Sin, Attrs::None)
    }

    /// Cosine (radians).
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[0.0], &[1]);
    /// assert_eq!(x.cos().to_vec(), vec![1.0]);
    /// ```
    pub fn cos(&self) -> Self {
        self.map("cos", UnaryOp::Cos, Attrs::None)
    }

    /// The error function `erf x = 2/√π ∫₀ˣ e^(-t²) dt` (the exact GELU is built on it).
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[0.0, 10.0], &[2]);
    /// assert_eq!(x.erf().to_vec(), vec![0.0, 1.0]);
    /// ```
    pub fn erf(&self) -> Self {
        self.map("erf", UnaryOp::Erf, Attrs::None)
    }

    /// `1 / x`, as `torch.reciprocal` (`±∞` at `±0`). Composed of [`Tensor::rdiv_scalar`],
    /// whose gradient it has.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[2.0, -0.5], &[2]);
    /// assert_eq!(x.reciprocal().to_vec(), vec![0.5, -2.0]);
    /// ```
    pub fn reciprocal(&self) -> Self {
        self.rdiv_scalar(1.0)
    }

    /// `min(max(x, min), max)`, as `torch.clamp(x, min, max)`: where `min > max` every
    /// element becomes `max`, and NaN stays NaN. The gradient is 1 strictly between the
    /// bounds and 0 elsewhere, at either bound too, as PyTorch 2.15 gives.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[-2.0, 0.5, 3.0], &[3]);
    /// assert_eq!(x.clamp(-1.0, 1.0).to_vec(), vec![-1.0, 0.5, 1.0]);
    /// assert_eq!(x.clamp(2.0, 1.0).to_vec(), vec![1.0, 1.0, 1.0]);
    /// ```
    pub fn clamp(&self, min: f64, max: f64) -> Self {
        // The kernel gives `lo` where `x < lo`; PyTorch lets `max` win when the bounds cross.
        let lo = min.min(max);
        let kernel = UnaryOp::Clamp(B::Elem::of(lo), B::Elem::of(max));
        self.map(
            "clamp",
            kernel,
            Attrs::Custom(Arc::new(ClampBounds { min, max })),
        )
    }

    /// `min(x, c)`; the gradient at exactly `c` is 0, as PyTorch's `clamp(max=c)`.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[-2.0, 3.0], &[2]);
    /// assert_eq!(x.clamp_max(1.0).to_vec(), vec![-2.0, 1.0]);
    /// ```
    pub fn clamp_max(&self, c: f64) -> Self {
        self.clamp(f64::NEG_INFINITY, c)
    }
}

/// The bounds `clamp` records for its backward.
#[derive(Debug)]
struct ClampBounds {
    min: f64,
    max: f64,
}

// d/dx -x = -1
fn neg_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    a.grad.neg()
}

// d/dx e^x = e^x
fn exp_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    a.grad * a.output
}

// d/dx ln x = 1/x
fn log_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    a.grad / &a.inputs[0]
}

// d/dx √x = 1 / (2√x)
fn sqrt_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    a.grad / &a.output.mul_scalar(2.0)
}

// d/dx tanh x = 1 - tanh² x
fn tanh_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    a.grad * &a.output.square().rsub_scalar(1.0)
}

// d/dx σ(x) = σ(x)(1 - σ(x))
fn sigmoid_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    a.grad * &(a.output * &a.output.rsub_scalar(1.0))
}

// d/dx relu x = [x > 0]
fn relu_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    let x = &a.inputs[0];
    // With `create_graph` and an incoming gradient that depends on something requiring grad (a
    // Hessian-vector product through an MLP), the result must be differentiable in it: compose
    // it from recorded ops (its derivative in x is 0). Otherwise one pass gives the same values
    // without the mask tensor (the two differ only where an infinite or NaN gradient meets
    // x ≤ 0: the product gives NaN there, the fused kernel 0, as PyTorch's).
    if is_grad_enabled() && a.grad.requires_grad() {
        return a.grad * &x.gt_scalar(0.0);
    }
    Tensor::from_storage(B::binary(
        &a.grad.storage(),
        &x.storage(),
        BinaryOp::ReluGrad,
    ))
}

// d/dx |x| = sign x
fn abs_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    a.grad * &a.inputs[0].sign()
}

// d/dx x^p = p x^(p-1)
fn powf_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    let p = a.attrs.scalar();
    a.grad * &a.inputs[0].powf(p - 1.0).mul_scalar(p)
}

// d/dx max(x, c) = [x > c] (0 at x = c, as PyTorch 2.15 gives)
fn clamp_min_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    a.grad * &a.inputs[0].gt_scalar(a.attrs.scalar())
}

// d/dx (x + c) = 1
fn add_scalar_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    a.grad.clone()
}

// d/dx (x c) = c
fn mul_scalar_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    a.grad.mul_scalar(a.attrs.scalar())
}

// d/dx (x / c) = 1/c
fn div_scalar_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    a.grad.div_scalar(a.attrs.scalar())
}

// d/dx (c - x) = -1
fn rsub_scalar_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    a.grad.neg()
}

// d/dx (c / x) = -c / x² = -(c/x) / x
fn rdiv_scalar_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    -(a.grad * a.output) / &a.inputs[0]
}

// d/dx ln(1 + x) = 1 / (1 + x)
fn log1p_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    a.grad / &a.inputs[0].add_scalar(1.0)
}

// d/dx (e^x - 1) = e^x = out + 1 (as PyTorch computes it)
fn expm1_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    a.grad * &a.output.add_scalar(1.0)
}

// d/dx sin x = cos x
fn sin_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    a.grad * &a.inputs[0].cos()
}

// d/dx cos x = -sin x
fn cos_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    -(a.grad * &a.inputs[0].sin())
}

// d/dx erf x = 2/√π e^(-x²)
fn erf_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    let x = &a.inputs[0];
    a.grad
        * &(x * x)
            .neg()
            .exp()
            .mul_scalar(std::f64::consts::FRAC_2_SQRT_PI)
}

// d/dx clamp(x, lo, hi) = [lo < x < hi] (0 at either bound, as PyTorch 2.15 gives)
fn clamp_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    let ClampBounds { min, max } = *a.attrs.custom::<ClampBounds>();
    let x = &a.inputs[0];
    let mut inside = x.lt(&Tensor::scalar(max));
    if min > f64::NEG_INFINITY {
        inside = &inside * &x.gt_scalar(min);
    }
    a.grad * &inside
}

pub(crate) fn register<B: Backend>(r: &Registry<B>) {
    r.register_all("log1p", &[log1p_backward]);
    r.register_all("expm1", &[expm1_backward]);
    r.register_all("sin", &[sin_backward]);
    r.register_all("cos", &[cos_backward]);
    r.register_all("erf", &[erf_backward]);
    r.register_all("clamp", &[clamp_backward]);
    r.register_all("neg", &[neg_backward]);
    r.register_all("exp", &[exp_backward]);
    r.register_all("log", &[log_backward]);
    r.register_all("sqrt", &[sqrt_backward]);
    r.register_all("tanh", &[tanh_backward]);
    r.register_all("sigmoid", &[sigmoid_backward]);
    r.register_all("relu", &[relu_backward]);
    r.register_all("abs", &[abs_backward]);
    r.register_all("powf", &[powf_backward]);
    r.register_all("clamp_min", &[clamp_min_backward]);
    r.register_all("add_scalar", &[add_scalar_backward]);
    r.register_all("mul_scalar", &[mul_scalar_backward]);
    r.register_all("div_scalar", &[div_scalar_backward]);
    r.register_all("rsub_scalar", &[rsub_scalar_backward]);
    r.register_all("rdiv_scalar", &[rdiv_scalar_backward]);
}
