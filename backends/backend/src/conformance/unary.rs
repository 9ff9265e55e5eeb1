//! Elementwise functions of one array: `unary`.

use crate::{Backend, Element, UnaryOp};

use super::reference;
use super::support::{
    assert_close, assert_exact, mixed, numel, read, round, same, store, who, SPECIALS,
};
use super::views::views;

/// Every [`UnaryOp`], with constants chosen so that each op meets its interesting cases
/// (exact and inexact constants, negative bases for powers, clamps hit on both sides).
pub(crate) fn all_ops() -> Vec<UnaryOp<f64>> {
    vec![
        UnaryOp::Neg,
        UnaryOp::Exp,
        UnaryOp::Log,
        UnaryOp::Sqrt,
        UnaryOp::Tanh,
        UnaryOp::Sigmoid,
        UnaryOp::Relu,
        UnaryOp::Abs,
        UnaryOp::StepPositive,
        UnaryOp::Sign,
        UnaryOp::AddScalar(2.5),
        UnaryOp::AddScalar(0.1),
        UnaryOp::MulScalar(-3.0),
        UnaryOp::MulScalar(0.3),
        UnaryOp::DivScalar(4.0),
        UnaryOp::DivScalar(0.7),
        UnaryOp::RSubScalar(1.0),
        UnaryOp::RDivScalar(1.0),
        UnaryOp::RDivScalar(-0.3),
        UnaryOp::Powf(2.0),
        UnaryOp::Powf(3.0),
        UnaryOp::Powf(1.0),
        UnaryOp::Powf(0.5),
        UnaryOp::Powf(-1.5),
        UnaryOp::ClampMin(0.1),
        UnaryOp::Clamp(-1.0, 1.0),
        UnaryOp::Clamp(0.25, 0.25),
        UnaryOp::GtScalar(0.0),
        UnaryOp::GtScalar(1.0),
        UnaryOp::EqScalar(1.0),
        UnaryOp::EqScalar(0.0),
        UnaryOp::Log1p,
        UnaryOp::Expm1,
        UnaryOp::Sin,
        UnaryOp::Cos,
        UnaryOp::Erf,
    ]
}

/// The op with its constants rounded to `E`, as the reference sees them.
pub(crate) fn rounded<E: Element>(op: UnaryOp<f64>) -> UnaryOp<f64> {
    map_op(op, round::<E>)
}

/// The op with its constants converted to `E`, as the backend is given it.
pub(crate) fn to_elem<E: Element>(op: UnaryOp<f64>) -> UnaryOp<E> {
    map_op(op, E::of)
}

fn map_op<T>(op: UnaryOp<f64>, f: impl Fn(f64) -> T) -> UnaryOp<T> {
    match op {
        UnaryOp::Neg => UnaryOp::Neg,
        UnaryOp::Exp => UnaryOp::Exp,
        UnaryOp::Log => UnaryOp::Log,
        UnaryOp::Sqrt => UnaryOp::Sqrt,
        UnaryOp::Tanh => UnaryOp::Tanh,
        UnaryOp::Sigmoid => UnaryOp::Sigmoid,
        UnaryOp::Relu => UnaryOp::Relu,
        UnaryOp::Abs => UnaryOp::Abs,
        UnaryOp::StepPositive => UnaryOp::StepPositive,
        UnaryOp::Sign => UnaryOp::Sign,
        UnaryOp::AddScalar(c) => UnaryOp::AddScalar(f(c)),
        UnaryOp::MulScalar(c) => UnaryOp::MulScalar(f(c)),
        UnaryOp::DivScalar(c) => UnaryOp::DivScalar(f(c)),
        UnaryOp::RSubScalar(c) => UnaryOp::RSubScalar(f(c)),
        UnaryOp::RDivScalar(c) => UnaryOp::RDivScalar(f(c)),
        UnaryOp::Powf(p) => UnaryOp::Powf(f(p)),
        UnaryOp::ClampMin(c) => UnaryOp::ClampMin(f(c)),
        UnaryOp::Clamp(lo, hi) => UnaryOp::Clamp(f(lo), f(hi)),
        UnaryOp::GtScalar(c) => UnaryOp::GtScalar(f(c)),
        UnaryOp::EqScalar(c) => UnaryOp::EqScalar(f(c)),
        UnaryOp::Log1p => UnaryOp::Log1p,
        UnaryOp::Expm1 => UnaryOp::Expm1,
        UnaryOp::Sin => UnaryOp::Sin,
        UnaryOp::Cos => UnaryOp::Cos,
        UnaryOp::Erf => UnaryOp::Erf,
    }
}

/// The reference result of `op` on `data`. `Sign` of a NaN is left out of the comparison (the
/// docs do not define it): the expectation there is whatever the backend gave.
pub(crate) fn expected<E: Element>(op: UnaryOp<f64>, data: &[f64], got: &[f64]) -> Vec<f64> {
    let op = rounded::<E>(op);
    data.iter()
        .enumerate()
        .map(|(i, &x)| match op {
            UnaryOp::Sign if x.is_nan() => got.get(i).copied().unwrap_or(f64::NAN),
            _ => reference::unary(op, x),
        })
        .collect()
}

/// Checks `y`, the backend's `op` of `data` of `shape`: exactly for single IEEE operations,
/// within the tolerance otherwise.
#[track_caller]
pub(crate) fn check_unary<B: Backend>(
    y: &B::Storage,
    op: UnaryOp<f64>,
    data: &[f64],
    shape: &[usize],
    what: &str,
) {
    let got = read::<B>(y);
    let want = expected::<B::Elem>(op, data, &got);
    let what = format!("{what} {op:?} of {shape:?}");
    if reference::unary_is_exact(op) {
        assert_exact::<B>(y, shape, &want, what);
    } else {
        assert_close::<B>(y, shape, &want, None, what);
    }
}

/// Shapes for the elementwise tests: scalars, empty and size-1 axes, lengths that are not
/// multiples of 8, and rows long enough for every vector loop.
pub(crate) const SHAPES: [&[usize]; 14] = [
    &[],
    &[1],
    &[0],
    &[0, 3],
    &[2, 0],
    &[2, 3],
    &[17],
    &[3, 33],
    &[100],
    &[5, 67],
    &[2, 3, 4, 5],
    &[1, 1, 7],
    &[4, 130],
    &[1000],
];

/// `unary` matches each op's definition on contiguous arrays of every shape of the list, with
/// NaN, ±∞ and ±0 mixed into the data; the output has the input's shape.
pub fn unary_matches_definition<B: Backend>() {
    for (seed, shape) in SHAPES.iter().enumerate() {
        let data = mixed::<B::Elem>(numel(shape), 100 + seed as u64);
        let x = store::<B>(&data, shape);
        for op in all_ops() {
            let y = B::unary(&x, to_elem::<B::Elem>(op));
            check_unary::<B>(&y, op, &data, shape, "unary");
        }
    }
}

/// `unary` of every length from 1 to 70 (each vector loop's body and every tail length), with
/// a special value at a position that moves with the length; the input is left unchanged.
pub fn unary_every_length_up_to_70<B: Backend>() {
    for n in 1..=70usize {
        let mut data = mixed::<B::Elem>(n, 200 + n as u64);
        data[(n * 5) / 7] = SPECIALS[n % SPECIALS.len()];
        data[n - 1] = SPECIALS[(n + 3) % SPECIALS.len()];
        let x = store::<B>(&data, &[n]);
        for op in all_ops() {
            let y = B::unary(&x, to_elem::<B::Elem>(op));
            check_unary::<B>(&y, op, &data, &[n], "unary");
        }
        assert_exact::<B>(&x, &[n], &data, "input after unary");
    }
}

/// `unary` of every kind of view (offset, transposed, padded, expanded, …) of arrays of rank 1
/// to 4: the result is in row-major order of the view, whatever its strides.
pub fn unary_on_views<B: Backend>() {
    let shapes: [&[usize]; 7] = [
        &[5],
        &[3, 5],
        &[4, 17],
        &[2, 3, 33],
        &[67, 3],
        &[2, 3, 4, 5],
        &[0, 4],
    ];
    for (seed, shape) in shapes.iter().enumerate() {
        let data = mixed::<B::Elem>(numel(shape), 300 + seed as u64);
        for v in views::<B>(&data, shape) {
            for op in all_ops() {
                let y = B::unary(&v.x, to_elem::<B::Elem>(op));
                check_unary::<B>(
                    &y,
                    op,
                    &v.data,
                    shape,
                    &format!("unary of {} input:", v.kind),
                );
            }
        }
    }
}

/// The special values the docs and IEEE arithmetic define, written out by hand: `exp(±∞)`,
/// `ln 0 = −∞`, `ln` and `√` of negatives are NaN, `tanh(±∞) = ±1`, the sigmoid saturates
/// without overflow, `relu(NaN)` is NaN (`max(x, 0)` propagating NaN as `Maximum` does), and
/// comparisons with NaN are false.
pub fn unary_special_values<B: Backend>() {
    let (inf, nan) = (f64::INFINITY, f64::NAN);
    let cases: Vec<(UnaryOp<f64>, f64, f64)> = vec![
        (UnaryOp::Exp, inf, inf),
        (UnaryOp::Exp, -inf, 0.0),
        (UnaryOp::Exp, nan, nan),
        (UnaryOp::Exp, 0.0, 1.0),
        (UnaryOp::Exp, 1000.0, inf),
        (UnaryOp::Log, 0.0, -inf),
        (UnaryOp::Log, -0.0, -inf),
        (UnaryOp::Log, -1.0, nan),
        (UnaryOp::Log, inf, inf),
        (UnaryOp::Log, 1.0, 0.0),
        (UnaryOp::Sqrt, -1.0, nan),
        (UnaryOp::Sqrt, inf, inf),
        (UnaryOp::Sqrt, 4.0, 2.0),
        (UnaryOp::Tanh, inf, 1.0),
        (UnaryOp::Tanh, -inf, -1.0),
        (UnaryOp::Tanh, 0.0, 0.0),
        (UnaryOp::Tanh, nan, nan),
        (UnaryOp::Sigmoid, inf, 1.0),
        (UnaryOp::Sigmoid, -inf, 0.0),
        (UnaryOp::Sigmoid, 1000.0, 1.0),
        (UnaryOp::Sigmoid, -1000.0, 0.0),
        (UnaryOp::Sigmoid, 0.0, 0.5),
        (UnaryOp::Sigmoid, nan, nan),
        (UnaryOp::Relu, nan, nan),
        (UnaryOp::Relu, -inf, 0.0),
        (UnaryOp::Relu, inf, inf),
        (UnaryOp::Relu, -0.0, 0.0),
        (UnaryOp::Abs, -inf, inf),
        (UnaryOp::Abs, nan, nan),
        (UnaryOp::Neg, nan, nan),
        (UnaryOp::StepPositive, 0.0, 0.0),
        (UnaryOp::StepPositive, nan, 0.0),
        (UnaryOp::StepPositive, inf, 1.0),
        (UnaryOp::Sign, -inf, -1.0),
        (UnaryOp::Sign, 0.0, 0.0),
        (UnaryOp::Sign, -0.0, 0.0),
        (UnaryOp::Sign, 1e-30, 1.0),
        (UnaryOp::ClampMin(0.0), nan, nan),
        (UnaryOp::ClampMin(0.0), -inf, 0.0),
        (UnaryOp::Clamp(-1.0, 1.0), nan, nan),
        (UnaryOp::Clamp(-1.0, 1.0), inf, 1.0),
        (UnaryOp::Clamp(-1.0, 1.0), -inf, -1.0),
        (UnaryOp::GtScalar(0.0), nan, 0.0),
        (UnaryOp::EqScalar(0.0), nan, 0.0),
        (UnaryOp::EqScalar(0.0), -0.0, 1.0),
        (UnaryOp::RDivScalar(1.0), 0.0, inf),
        (UnaryOp::RDivScalar(1.0), -0.0, -inf),
        (UnaryOp::RDivScalar(1.0), inf, 0.0),
        (UnaryOp::DivScalar(0.0), 1.0, inf),
        (UnaryOp::DivScalar(0.0), 0.0, nan),
        (UnaryOp::MulScalar(0.0), inf, nan),
        (UnaryOp::AddScalar(1.0), -inf, -inf),
        (UnaryOp::RSubScalar(1.0), inf, -inf),
        (UnaryOp::Powf(2.0), -inf, inf),
        (UnaryOp::Powf(0.5), -1.0, nan),
        (UnaryOp::Powf(-1.0), 0.0, inf),
        (UnaryOp::Powf(2.0), nan, nan),
        (UnaryOp::Log1p, -1.0, -inf),
        (UnaryOp::Log1p, -0.0, -0.0),
        (UnaryOp::Log1p, inf, inf),
        (UnaryOp::Expm1, -inf, -1.0),
        (UnaryOp::Expm1, -0.0, -0.0),
        (UnaryOp::Sin, inf, nan),
        (UnaryOp::Cos, 0.0, 1.0),
        (UnaryOp::Erf, inf, 1.0),
        (UnaryOp::Erf, -inf, -1.0),
        (UnaryOp::Erf, 0.0, 0.0),
    ];
    // Each case alone, and all of them in one long array (the vectorized loops).
    let long: Vec<f64> = cases.iter().map(|c| c.1).collect();
    for (op, x, want) in &cases {
        let y = B::unary(&store::<B>(&[*x], &[1]), to_elem::<B::Elem>(*op));
        assert_exact::<B>(&y, &[1], &[*want], format_args!("unary {op:?} of {x}"));
        let mut data = long.clone();
        data.push(*x);
        let n = data.len();
        let y = B::unary(&store::<B>(&data, &[n]), to_elem::<B::Elem>(*op));
        let got = read::<B>(&y);
        assert!(
            same::<B::Elem>(got[n - 1], *want),
            "{}: unary {op:?} of {x} at the end of a {n}-element array: got {}, want {want}",
            who::<B>(),
            got[n - 1]
        );
    }
}
