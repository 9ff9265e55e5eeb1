//! Naive reference implementations in `f64` on row-major flat vectors: the definitions the
//! suite checks backends against, written out from the docs of [`crate::ops`] and
//! [`crate::Backend`]. Nothing here calls a backend, `duograd-cpu` or [`crate::shape`], so a
//! bug shared by the backends' helpers cannot hide in the expectations too.

use crate::{BinaryOp, ReduceOp, UnaryOp};

use super::support::numel;

/// The multi-index of row-major flat index `flat` in `shape`.
pub(crate) fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    for axis in (0..shape.len()).rev() {
        index[axis] = flat % shape[axis];
        flat /= shape[axis];
    }
    index
}

/// The row-major flat index of `index` in `shape`.
pub(crate) fn ravel(index: &[usize], shape: &[usize]) -> usize {
    index
        .iter()
        .zip(shape)
        .fold(0, |flat, (&i, &d)| flat * d + i)
}

/// The NumPy broadcast of two shapes: aligned at the last axis, missing leading axes count as
/// 1, and an axis of 1 stretches to the other's length.
pub(crate) fn broadcast_shape(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let dim = |s: &[usize], i: usize| {
        if i < rank - s.len() {
            1
        } else {
            s[i - (rank - s.len())]
        }
    };
    (0..rank)
        .map(|i| match (dim(a, i), dim(b, i)) {
            (x, y) if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect()
}

/// The flat index in an array of shape `from` of the element broadcasting puts at multi-index
/// `out` of the (higher- or equal-rank) output.
pub(crate) fn source_index(out: &[usize], from: &[usize]) -> usize {
    let lead = out.len() - from.len();
    let index: Vec<usize> = from
        .iter()
        .enumerate()
        .map(|(i, &d)| if d == 1 { 0 } else { out[lead + i] })
        .collect();
    ravel(&index, from)
}

/// `data` of shape `from` broadcast to shape `to`.
pub(crate) fn expand(data: &[f64], from: &[usize], to: &[usize]) -> Vec<f64> {
    (0..numel(to))
        .map(|f| data[source_index(&unravel(f, to), from)])
        .collect()
}

/// The output axis `i` is input axis `perm[i]`.
pub(crate) fn permute(data: &[f64], shape: &[usize], perm: &[usize]) -> Vec<f64> {
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    (0..numel(&out_shape))
        .map(|f| {
            let out = unravel(f, &out_shape);
            let mut index = vec![0; shape.len()];
            for (i, &p) in perm.iter().enumerate() {
                index[p] = out[i];
            }
            data[ravel(&index, shape)]
        })
        .collect()
}

/// The inverse of a permutation.
pub(crate) fn inverse(perm: &[usize]) -> Vec<usize> {
    let mut inv = vec![0; perm.len()];
    for (i, &p) in perm.iter().enumerate() {
        inv[p] = i;
    }
    inv
}

/// The elements `start..start + len` along `axis`.
pub(crate) fn narrow(
    data: &[f64],
    shape: &[usize],
    axis: usize,
    start: usize,
    len: usize,
) -> Vec<f64> {
    let mut out_shape = shape.to_vec();
    out_shape[axis] = len;
    (0..numel(&out_shape))
        .map(|f| {
            let mut index = unravel(f, &out_shape);
            index[axis] += start;
            data[ravel(&index, shape)]
        })
        .collect()
}

/// Parts (data and shape) joined along `axis`.
pub(crate) fn concat(parts: &[(Vec<f64>, Vec<usize>)], axis: usize) -> (Vec<f64>, Vec<usize>) {
    let mut shape = parts[0].1.clone();
    shape[axis] = parts.iter().map(|(_, s)| s[axis]).sum();
    let data = (0..numel(&shape))
        .map(|f| {
            let mut index = unravel(f, &shape);
            for (data, s) in parts {
                if index[axis] < s[axis] {
                    return data[ravel(&index, s)];
                }
                index[axis] -= s[axis];
            }
            unreachable!("index within the joined axis")
        })
        .collect();
    (data, shape)
}

/// The shape after reducing `axes`: kept as 1 with `keepdim`, removed otherwise; no axes leave
/// the shape as it is.
pub(crate) fn reduced_shape(shape: &[usize], axes: &[usize], keepdim: bool) -> Vec<usize> {
    (0..shape.len())
        .filter_map(|i| match (axes.contains(&i), keepdim) {
            (false, _) => Some(shape[i]),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect()
}

/// `op` over `axes`, in the row-major order of the reduced shape (the same with or without
/// `keepdim`), with each result's scale: the sum of the absolute values of its terms.
/// Sum starts from 0; Max and Min are NaN if any element is NaN.
pub(crate) fn reduce(
    data: &[f64],
    shape: &[usize],
    axes: &[usize],
    op: ReduceOp,
) -> (Vec<f64>, Vec<f64>) {
    let kept = reduced_shape(shape, axes, true);
    let n = numel(&kept);
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); n];
    for (f, &x) in data.iter().enumerate() {
        let mut index = unravel(f, shape);
        for &a in axes {
            index[a] = 0;
        }
        values[ravel(&index, &kept)].push(x);
    }
    values
        .iter()
        .map(|v| {
            let scale: f64 = v.iter().map(|x| x.abs()).sum();
            let r = match op {
                ReduceOp::Sum => v.iter().sum(),
                _ if v.iter().any(|x| x.is_nan()) => f64::NAN,
                ReduceOp::Max => v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                ReduceOp::Min => v.iter().copied().fold(f64::INFINITY, f64::min),
            };
            (r, scale)
        })
        .unzip()
}

/// For each position of the other axes (row-major), the index along `axis` of the first
/// largest element, a NaN counting as larger than anything (the first NaN wins).
pub(crate) fn argmax(data: &[f64], shape: &[usize], axis: usize) -> Vec<usize> {
    let mut rest = shape.to_vec();
    rest[axis] = 1;
    (0..numel(&rest))
        .map(|f| {
            let mut index = unravel(f, &rest);
            let mut best = 0;
            let mut best_value = f64::NEG_INFINITY;
            for i in 0..shape[axis] {
                index[axis] = i;
                let v = data[ravel(&index, shape)];
                if v.is_nan() {
                    return i;
                }
                if i == 0 || v > best_value {
                    best = i;
                    best_value = v;
                }
            }
            best
        })
        .collect()
}

/// `op(a) · op(b)` for row-major `a` of `a_shape` and `b` of `b_shape`, `op` transposing when
/// its flag is set: the values, each one's scale (`Σ_p |a_ip·b_pj|`), and the shape.
pub(crate) fn matmul(
    a: &[f64],
    a_shape: [usize; 2],
    b: &[f64],
    b_shape: [usize; 2],
    transpose_a: bool,
    transpose_b: bool,
) -> (Vec<f64>, Vec<f64>, [usize; 2]) {
    let at = |i: usize, p: usize| {
        if transpose_a {
            a[p * a_shape[1] + i]
        } else {
            a[i * a_shape[1] + p]
        }
    };
    let bt = |p: usize, j: usize| {
        if transpose_b {
            b[j * b_shape[1] + p]
        } else {
            b[p * b_shape[1] + j]
        }
    };
    let (m, k) = if transpose_a {
        (a_shape[1], a_shape[0])
    } else {
        (a_shape[0], a_shape[1])
    };
    let n = if transpose_b { b_shape[0] } else { b_shape[1] };
    let mut values = vec![0.0; m * n];
    let mut scales = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            for p in 0..k {
                values[i * n + j] += at(i, p) * bt(p, j);
                scales[i * n + j] += (at(i, p) * bt(p, j)).abs();
            }
        }
    }
    (values, scales, [m, n])
}

/// [`UnaryOp`]'s definitions, one element at a time. `Relu` and the clamps propagate NaN as
/// `max` does for [`BinaryOp::Maximum`].
pub(crate) fn unary(op: UnaryOp<f64>, x: f64) -> f64 {
    let indicator = |b: bool| if b { 1.0 } else { 0.0 };
    match op {
        UnaryOp::Neg => -x,
        UnaryOp::Exp => x.exp(),
        UnaryOp::Log => x.ln(),
        UnaryOp::Sqrt => x.sqrt(),
        UnaryOp::Tanh => x.tanh(),
        UnaryOp::Sigmoid => 1.0 / (1.0 + (-x).exp()),
        UnaryOp::Relu => maximum(x, 0.0),
        UnaryOp::Abs => x.abs(),
        UnaryOp::StepPositive => indicator(x > 0.0),
        UnaryOp::Sign => indicator(x > 0.0) - indicator(x < 0.0),
        UnaryOp::AddScalar(c) => x + c,
        UnaryOp::MulScalar(c) => x * c,
        UnaryOp::DivScalar(c) => x / c,
        UnaryOp::RSubScalar(c) => c - x,
        UnaryOp::RDivScalar(c) => c / x,
        UnaryOp::Powf(p) => x.powf(p),
        UnaryOp::ClampMin(c) => maximum(x, c),
        UnaryOp::Clamp(lo, hi) => maximum(minimum(x, hi), lo),
        UnaryOp::GtScalar(c) => indicator(x > c),
        UnaryOp::EqScalar(c) => indicator(x == c),
        UnaryOp::Log1p => x.ln_1p(),
        UnaryOp::Expm1 => x.exp_m1(),
        UnaryOp::Sin => x.sin(),
        UnaryOp::Cos => x.cos(),
        UnaryOp::Erf => libm::erf(x),
    }
}

/// Whether the op is one IEEE operation (or none), so that a backend's result must be the
/// exact value rounded once: compared bit for bit rather than within a tolerance.
pub(crate) fn unary_is_exact(op: UnaryOp<f64>) -> bool {
    !matches!(
        op,
        UnaryOp::Exp
            | UnaryOp::Log
            | UnaryOp::Tanh
            | UnaryOp::Sigmoid
            | UnaryOp::Powf(_)
            | UnaryOp::Log1p
            | UnaryOp::Expm1
            | UnaryOp::Sin
            | UnaryOp::Cos
            | UnaryOp::Erf
    )
}

/// `max(a, b)`, NaN if either is NaN.
fn maximum(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// `min(a, b)`, NaN if either is NaN.
fn minimum(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

/// [`BinaryOp`]'s definitions, one pair at a time. Every one but `Pow` is a single IEEE
/// operation or a selection, so backends must match it exactly ([`binary_is_exact`]).
pub(crate) fn binary(op: BinaryOp, a: f64, b: f64) -> f64 {
    let indicator = |c: bool| if c { 1.0 } else { 0.0 };
    match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div => a / b,
        BinaryOp::Maximum => maximum(a, b),
        BinaryOp::Minimum => minimum(a, b),
        BinaryOp::Eq => indicator(a == b),
        BinaryOp::Gt => indicator(a > b),
        BinaryOp::Ge => indicator(a >= b),
        BinaryOp::Lt => indicator(a < b),
        BinaryOp::Le => indicator(a <= b),
        BinaryOp::ReluGrad => {
            if b > 0.0 {
                a
            } else {
                0.0
            }
        }
        BinaryOp::Pow => a.powf(b),
    }
}

/// Whether the op is one IEEE operation or a selection: compared bit for bit. `Pow` is a libm
/// function, compared within the tolerance.
pub(crate) fn binary_is_exact(op: BinaryOp) -> bool {
    op != BinaryOp::Pow
}

/// `op` applied with broadcasting: the values and the output shape (`None` if the shapes do
/// not broadcast).
pub(crate) fn broadcast_binary(
    op: BinaryOp,
    a: &[f64],
    a_shape: &[usize],
    b: &[f64],
    b_shape: &[usize],
) -> Option<(Vec<f64>, Vec<usize>)> {
    let shape = broadcast_shape(a_shape, b_shape)?;
    let values = (0..numel(&shape))
        .map(|f| {
            let index = unravel(f, &shape);
            binary(
                op,
                a[source_index(&index, a_shape)],
                b[source_index(&index, b_shape)],
            )
        })
        .collect();
    Some((values, shape))
}

/// Every permutation of `0..n`, in lexicographic order.
pub(crate) fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for first in 0..n {
        for rest in permutations(n - 1) {
            let mut p = vec![first];
            p.extend(rest.into_iter().map(|r| if r >= first { r + 1 } else { r }));
            out.push(p);
        }
    }
    out
}

/// Every subset of `0..n` as a sorted list, the empty one first.
pub(crate) fn subsets(n: usize) -> Vec<Vec<usize>> {
    (0..1usize << n)
        .map(|mask| (0..n).filter(|&i| mask >> i & 1 == 1).collect())
        .collect()
}
