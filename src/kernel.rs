//! Scalar definitions of the elementwise kernels, shared by every backend.
//!
//! A backend maps these over its storage with its own iteration machinery (ndarray's `Zip`,
//! nalgebra's `map`/`zip_map`); the arithmetic lives here once, so adding an elementwise op never
//! touches a backend.

use crate::Element;

/// An elementwise function of one tensor (and possibly a scalar constant).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UnaryOp<E> {
    /// `-x`
    Neg,
    /// `e^x`
    Exp,
    /// natural logarithm
    Log,
    /// `√x`
    Sqrt,
    /// hyperbolic tangent
    Tanh,
    /// `1 / (1 + e^-x)`, computed without overflow for large `|x|`
    Sigmoid,
    /// `max(x, 0)`
    Relu,
    /// `|x|`
    Abs,
    /// `1` where `x > 0`, else `0` (the derivative of relu, with `relu'(0) = 0`)
    StepPositive,
    /// `-1`, `0` or `1` by the sign of `x` (`0` at zero, as PyTorch's `sign`)
    Sign,
    /// `x + c`
    AddScalar(E),
    /// `x * c`
    MulScalar(E),
    /// `x / c`
    DivScalar(E),
    /// `c - x`
    RSubScalar(E),
    /// `c / x`
    RDivScalar(E),
    /// `x^p` for a constant exponent `p`
    Powf(E),
    /// `max(x, c)`
    ClampMin(E),
    /// `max(min(x, hi), lo)`
    Clamp(E, E),
    /// `1` where `x > c`, else `0`
    GtScalar(E),
    /// `1` where `x == c`, else `0`
    EqScalar(E),
}

impl<E: Element> UnaryOp<E> {
    /// Applies the function to one element.
    #[inline(always)]
    pub fn apply(self, x: E) -> E {
        let (zero, one) = (E::zero(), E::one());
        match self {
            UnaryOp::Neg => -x,
            UnaryOp::Exp => x.exp(),
            UnaryOp::Log => x.ln(),
            UnaryOp::Sqrt => x.sqrt(),
            UnaryOp::Tanh => x.tanh(),
            UnaryOp::Sigmoid => {
                // Two branches so that exp never overflows.
                if x >= zero {
                    one / (one + (-x).exp())
                } else {
                    let e = x.exp();
                    e / (one + e)
                }
            }
            UnaryOp::Relu => {
                if x > zero {
                    x
                } else {
                    zero
                }
            }
            UnaryOp::Abs => x.abs(),
            UnaryOp::StepPositive => indicator(x > zero),
            UnaryOp::Sign => indicator::<E>(x > zero) - indicator::<E>(x < zero),
            UnaryOp::AddScalar(c) => x + c,
            UnaryOp::MulScalar(c) => x * c,
            UnaryOp::DivScalar(c) => x / c,
            UnaryOp::RSubScalar(c) => c - x,
            UnaryOp::RDivScalar(c) => c / x,
            UnaryOp::Powf(p) => powf(x, p),
            UnaryOp::ClampMin(c) => {
                if x < c {
                    c
                } else {
                    x
                }
            }
            UnaryOp::Clamp(lo, hi) => {
                if x < lo {
                    lo
                } else if x > hi {
                    hi
                } else {
                    x
                }
            }
            UnaryOp::GtScalar(c) => indicator(x > c),
            UnaryOp::EqScalar(c) => indicator(x == c),
        }
    }

    /// Applies the function to a whole slice; `dst` and `src` must have the same length.
    ///
    /// The `match` sits outside the loop so that each arm compiles to a tight, vectorizable loop.
    pub fn apply_slice(self, src: &[E], dst: &mut [E]) {
        assert_eq!(src.len(), dst.len(), "UnaryOp::apply_slice: lengths differ");
        macro_rules! each {
            ($f:expr) => {
                for (d, &s) in dst.iter_mut().zip(src) {
                    *d = $f(s);
                }
            };
        }
        match self {
            UnaryOp::Neg => each!(|x: E| -x),
            UnaryOp::AddScalar(c) => each!(|x: E| x + c),
            UnaryOp::MulScalar(c) => each!(|x: E| x * c),
            UnaryOp::DivScalar(c) => each!(|x: E| x / c),
            UnaryOp::Relu => each!(|x: E| if x > E::zero() { x } else { E::zero() }),
            op => each!(|x: E| op.apply(x)),
        }
    }
}

/// An elementwise function of two tensors, with NumPy/PyTorch broadcasting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `a + b`
    Add,
    /// `a - b`
    Sub,
    /// `a * b`
    Mul,
    /// `a / b`
    Div,
    /// `max(a, b)`
    Maximum,
    /// `min(a, b)`
    Minimum,
    /// `1` where `a == b`, else `0`
    Eq,
    /// `1` where `a > b`, else `0`
    Gt,
    /// `1` where `a >= b`, else `0`
    Ge,
    /// `1` where `a < b`, else `0`
    Lt,
    /// `1` where `a <= b`, else `0`
    Le,
}

impl BinaryOp {
    /// Applies the function to one pair of elements.
    #[inline(always)]
    pub fn apply<E: Element>(self, a: E, b: E) -> E {
        match self {
            BinaryOp::Add => a + b,
            BinaryOp::Sub => a - b,
            BinaryOp::Mul => a * b,
            BinaryOp::Div => a / b,
            // NaN propagates, as in PyTorch.
            BinaryOp::Maximum => {
                if a.is_nan() || a > b {
                    a
                } else {
                    b
                }
            }
            BinaryOp::Minimum => {
                if a.is_nan() || a < b {
                    a
                } else {
                    b
                }
            }
            BinaryOp::Eq => indicator(a == b),
            BinaryOp::Gt => indicator(a > b),
            BinaryOp::Ge => indicator(a >= b),
            BinaryOp::Lt => indicator(a < b),
            BinaryOp::Le => indicator(a <= b),
        }
    }

    /// Applies the function to two slices of equal length (no broadcasting).
    pub fn apply_slices<E: Element>(self, a: &[E], b: &[E], dst: &mut [E]) {
        assert!(
            a.len() == dst.len() && b.len() == dst.len(),
            "BinaryOp::apply_slices: lengths differ"
        );
        macro_rules! each {
            ($f:expr) => {
                for ((d, &x), &y) in dst.iter_mut().zip(a).zip(b) {
                    *d = $f(x, y);
                }
            };
        }
        match self {
            BinaryOp::Add => each!(|x: E, y: E| x + y),
            BinaryOp::Sub => each!(|x: E, y: E| x - y),
            BinaryOp::Mul => each!(|x: E, y: E| x * y),
            BinaryOp::Div => each!(|x: E, y: E| x / y),
            op => each!(|x: E, y: E| op.apply(x, y)),
        }
    }
}

/// A reduction over a set of axes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReduceOp {
    /// Sum of the elements.
    Sum,
    /// Largest element (NaN if any element is NaN).
    Max,
    /// Smallest element (NaN if any element is NaN).
    Min,
}

impl ReduceOp {
    /// The value a reduction starts from.
    #[inline(always)]
    pub fn identity<E: Element>(self) -> E {
        match self {
            ReduceOp::Sum => E::zero(),
            ReduceOp::Max => E::neg_infinity(),
            ReduceOp::Min => E::infinity(),
        }
    }

    /// Folds one more element into an accumulator.
    #[inline(always)]
    pub fn combine<E: Element>(self, acc: E, x: E) -> E {
        match self {
            ReduceOp::Sum => acc + x,
            ReduceOp::Max => BinaryOp::Maximum.apply(x, acc),
            ReduceOp::Min => BinaryOp::Minimum.apply(x, acc),
        }
    }
}

#[inline(always)]
fn indicator<E: Element>(b: bool) -> E {
    if b {
        E::one()
    } else {
        E::zero()
    }
}

#[inline(always)]
fn powf<E: Element>(x: E, p: E) -> E {
    // Small integer exponents are exact products, as in PyTorch.
    if p == E::of(2.0) {
        x * x
    } else if p == E::one() {
        x
    } else if p == E::of(3.0) {
        x * x * x
    } else {
        x.powf(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_is_finite_at_extremes() {
        assert_eq!(UnaryOp::Sigmoid.apply(1000.0f64), 1.0);
        assert_eq!(UnaryOp::Sigmoid.apply(-1000.0f64), 0.0);
        assert!((UnaryOp::Sigmoid.apply(0.0f64) - 0.5).abs() < 1e-15);
    }

    #[test]
    fn relu_derivative_at_zero_is_zero() {
        assert_eq!(UnaryOp::StepPositive.apply(0.0f64), 0.0);
        assert_eq!(UnaryOp::StepPositive.apply(1e-300f64), 1.0);
    }

    #[test]
    fn maximum_propagates_nan() {
        assert!(BinaryOp::Maximum.apply(f64::NAN, 1.0).is_nan());
        assert!(BinaryOp::Maximum.apply(1.0, f64::NAN).is_nan());
        assert!(ReduceOp::Max.combine(f64::NAN, 1.0).is_nan());
    }

    #[test]
    fn slice_kernels_match_scalar_kernels() {
        let a = [-2.0f64, -0.0, 0.5, 3.0];
        let b = [1.0f64, 0.0, 0.5, -3.0];
        let mut d = [0.0; 4];
        for op in [
            UnaryOp::Relu,
            UnaryOp::Neg,
            UnaryOp::MulScalar(3.0),
            UnaryOp::Exp,
        ] {
            op.apply_slice(&a, &mut d);
            for i in 0..4 {
                assert_eq!(d[i], op.apply(a[i]));
            }
        }
        for op in [
            BinaryOp::Add,
            BinaryOp::Div,
            BinaryOp::Maximum,
            BinaryOp::Ge,
        ] {
            op.apply_slices(&a, &b, &mut d);
            for i in 0..4 {
                assert_eq!(d[i].to_bits(), op.apply(a[i], b[i]).to_bits());
            }
        }
    }
}
