//! The operations a backend implements, named by enums so that one trait method covers a whole
//! family: elementwise functions of one tensor ([`UnaryOp`]) and of two ([`BinaryOp`]),
//! reductions ([`ReduceOp`]), and how a loss is reduced over a batch ([`Reduction`]).
//!
//! Each variant's documentation is its definition; the conformance suite checks every backend
//! against those definitions computed independently in `f64`.

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
    /// `ln(1 + x)`, accurate for small `|x|`
    Log1p,
    /// `e^x - 1`, accurate for small `|x|`
    Expm1,
    /// `sin x`
    Sin,
    /// `cos x`
    Cos,
    /// the error function `erf x = 2/√π ∫₀ˣ e^(-t²) dt`
    Erf,
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
    /// `a` where `b > 0`, else `0`: relu's backward for gradient `a` and input `b` in one pass.
    /// Unlike `a * [b > 0]`, an infinite or NaN gradient where `b ≤ 0` gives 0, as PyTorch's
    /// `threshold_backward`; at a NaN input it gives 0 as the product does (PyTorch passes the
    /// gradient there).
    ReluGrad,
    /// `a^b` (IEEE `pow`: NaN for a negative base and a non-integer exponent, `x^0 = 1`)
    Pow,
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

/// How a per-sample loss is reduced, as PyTorch's `reduction=`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Reduction {
    /// The mean over samples (the default).
    #[default]
    Mean,
    /// The sum over samples.
    Sum,
    /// No reduction: one loss per sample.
    None,
}
