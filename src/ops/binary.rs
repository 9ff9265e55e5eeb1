//! Elementwise functions of two tensors with NumPy/PyTorch broadcasting, and comparisons.

use crate::autograd::{Attrs, BackwardArgs, Registry};
use crate::backend::Backend;
use crate::shape::broadcast_axes;
use crate::tensor::Tensor;
use crate::BinaryOp;

impl<B: Backend> Tensor<B> {
    #[track_caller]
    fn zip(&self, other: &Tensor<B>, op: &'static str, kernel: BinaryOp) -> Self {
        crate::check::broadcast(op, self.shape(), other.shape());
        Tensor::from_op(
            op,
            B::binary(&self.storage(), &other.storage(), kernel),
            &[self, other],
            Attrs::None,
        )
    }

    #[track_caller]
    fn compare(&self, other: &Tensor<B>, op: &'static str, kernel: BinaryOp) -> Self {
        crate::check::broadcast(op, self.shape(), other.shape());
        Tensor::from_storage(B::binary(&self.storage(), &other.storage(), kernel))
    }

    /// `a + b`, broadcasting. Also available as the `+` operator.
    ///
    /// # Panics
    /// If the shapes cannot be broadcast together (the message names both shapes).
    #[track_caller]
    pub fn add(&self, other: &Tensor<B>) -> Self {
        self.zip(other, "add", BinaryOp::Add)
    }

    /// `a - b`, broadcasting. Also the `-` operator.
    #[track_caller]
    pub fn sub(&self, other: &Tensor<B>) -> Self {
        self.zip(other, "sub", BinaryOp::Sub)
    }

    /// `a * b` elementwise, broadcasting. Also the `*` operator.
    #[track_caller]
    pub fn mul(&self, other: &Tensor<B>) -> Self {
        self.zip(other, "mul", BinaryOp::Mul)
    }

    /// `a / b` elementwise, broadcasting. Also the `/` operator.
    #[track_caller]
    pub fn div(&self, other: &Tensor<B>) -> Self {
        self.zip(other, "div", BinaryOp::Div)
    }

    /// Elementwise maximum; where the two are equal each gets half the gradient (as PyTorch).
    #[track_caller]
    pub fn maximum(&self, other: &Tensor<B>) -> Self {
        self.zip(other, "maximum", BinaryOp::Maximum)
    }

    /// Elementwise minimum; where the two are equal each gets half the gradient (as PyTorch).
    #[track_caller]
    pub fn minimum(&self, other: &Tensor<B>) -> Self {
        self.zip(other, "minimum", BinaryOp::Minimum)
    }

    /// `a^b` elementwise with a tensor exponent, broadcasting, as `torch.pow(a, b)`: NaN for a
    /// negative base with a non-integer exponent, `0^0 = 1`. The gradients are PyTorch's:
    /// `b·a^(b−1)` for the base (0 where `b = 0`) and `a^b·ln a` for the exponent (0 where
    /// `a = 0` and `b ≥ 0`; NaN for a negative base).
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// type T = Tensor<NdArray<f64>>;
    /// let a = T::from_f64(&[2.0, -2.0, 9.0], &[3]);
    /// let b = T::from_f64(&[3.0, 2.0, 0.5], &[3]);
    /// assert_eq!(a.pow(&b).to_vec(), vec![8.0, 4.0, 3.0]);
    /// ```
    ///
    /// # Panics
    /// If the shapes cannot be broadcast together.
    #[track_caller]
    pub fn pow(&self, exponent: &Tensor<B>) -> Self {
        self.zip(exponent, "pow", BinaryOp::Pow)
    }

    /// `1` where `a == b`, else `0`, broadcasting. Not differentiable: never recorded.
    #[track_caller]
    pub fn eq(&self, other: &Tensor<B>) -> Self {
        self.compare(other, "eq", BinaryOp::Eq)
    }

    /// `1` where `a > b`, else `0`. Never recorded.
    #[track_caller]
    pub fn gt(&self, other: &Tensor<B>) -> Self {
        self.compare(other, "gt", BinaryOp::Gt)
    }

    /// `1` where `a >= b`, else `0`. Never recorded.
    #[track_caller]
    pub fn ge(&self, other: &Tensor<B>) -> Self {
        self.compare(other, "ge", BinaryOp::Ge)
    }

    /// `1` where `a < b`, else `0`. Never recorded.
    #[track_caller]
    pub fn lt(&self, other: &Tensor<B>) -> Self {
        self.compare(other, "lt", BinaryOp::Lt)
    }

    /// `1` where `a <= b`, else `0`. Never recorded.
    #[track_caller]
    pub fn le(&self, other: &Tensor<B>) -> Self {
        self.compare(other, "le", BinaryOp::Le)
    }

    /// Sums a broadcast gradient back to `shape`: over the prepended axes and the axes where
    /// `shape` has size 1. Every binary op's backward goes through here.
    pub fn sum_to_shape(&self, shape: &[usize]) -> Self {
        if self.shape() == shape {
            return self.clone();
        }
        let axes = broadcast_axes(shape, self.shape());
        self.sum_axes(&axes, true).reshape_to(shape)
    }
}

// d/da (a + b) = 1, d/db = 1
fn add_backward_a<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    a.grad.sum_to_shape(a.inputs[0].shape())
}
fn add_backward_b<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    a.grad.sum_to_shape(a.inputs[1].shape())
}

// d/db (a - b) = -1
fn sub_backward_b<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    a.grad.neg().sum_to_shape(a.inputs[1].shape())
}

// d/da (a b) = b, d/db = a
fn mul_backward_a<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    (a.grad * &a.inputs[1]).sum_to_shape(a.inputs[0].shape())
}
fn mul_backward_b<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    (a.grad * &a.inputs[0]).sum_to_shape(a.inputs[1].shape())
}

// d/da (a / b) = 1/b, d/db = -a/b² = -(a/b)/b
fn div_backward_a<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    (a.grad / &a.inputs[1]).sum_to_shape(a.inputs[0].shape())
}
fn div_backward_b<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    (-(a.grad * a.output) / &a.inputs[1]).sum_to_shape(a.inputs[1].shape())
}

/// Gradient share of the first operand of max/min: 1 where it won, ½ on a tie.
fn winner_mask<B: Backend>(won: Tensor<B>, a: &Tensor<B>, b: &Tensor<B>) -> Tensor<B> {
    won + a.eq(b).mul_scalar(0.5)
}

// d/da max(a, b) = [a > b] + ½[a = b]
fn maximum_backward_a<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    let (x, y) = (&a.inputs[0], &a.inputs[1]);
    (a.grad * &winner_mask(x.gt(y), x, y)).sum_to_shape(x.shape())
}
fn maximum_backward_b<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    let (x, y) = (&a.inputs[0], &a.inputs[1]);
    (a.grad * &winner_mask(y.gt(x), y, x)).sum_to_shape(y.shape())
}

// d/da min(a, b) = [a < b] + ½[a = b]
fn minimum_backward_a<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    let (x, y) = (&a.inputs[0], &a.inputs[1]);
    (a.grad * &winner_mask(x.lt(y), x, y)).sum_to_shape(x.shape())
}
fn minimum_backward_b<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    let (x, y) = (&a.inputs[0], &a.inputs[1]);
    (a.grad * &winner_mask(y.lt(x), y, x)).sum_to_shape(y.shape())
}

// d/da a^b = b a^(b-1), taken as 0 where b = 0 (as PyTorch)
fn pow_backward_a<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    let (x, p) = (&a.inputs[0], &a.inputs[1]);
    let slope = p * &x.pow(&p.sub_scalar(1.0));
    let slope = Tensor::where_(&p.eq_scalar(0.0), &Tensor::scalar(0.0), &slope);
    (a.grad * &slope).sum_to_shape(x.shape())
}

// d/db a^b = a^b ln a, taken as 0 where a = 0 and b >= 0 (as PyTorch)
fn pow_backward_b<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    let (x, p) = (&a.inputs[0], &a.inputs[1]);
    let zero_base = &x.eq_scalar(0.0) * &p.ge(&Tensor::scalar(0.0));
    let slope = a.output * &x.log();
    let slope = Tensor::where_(&zero_base, &Tensor::scalar(0.0), &slope);
    (a.grad * &slope).sum_to_shape(p.shape())
}

pub(crate) fn register<B: Backend>(r: &Registry<B>) {
    r.register_all("pow", &[pow_backward_a, pow_backward_b]);
    r.register_all("add", &[add_backward_a, add_backward_b]);
    r.register_all("sub", &[add_backward_a, sub_backward_b]);
    r.register_all("mul", &[mul_backward_a, mul_backward_b]);
    r.register_all("div", &[div_backward_a, div_backward_b]);
    r.register_all("maximum", &[maximum_backward_a, maximum_backward_b]);
    r.register_all("minimum", &[minimum_backward_a, minimum_backward_b]);
}
