//! Reductions (`reduce`) and `argmax`.
//!
//! - 2-D sums over axis 1 use nalgebra's `column_sum` (adding whole columns, vectorized).
//!   Sums over axis 0 (one per column, what nalgebra's `row_sum` computes) and over all axes
//!   use an 8-accumulator sum of each contiguous column or of the whole buffer: nalgebra's
//!   `row_sum` and `sum` fold one element at a time, a chain of dependent additions that does
//!   not vectorize.
//! - Everything else (Max/Min, rank ≥ 3, arbitrary axis sets) works on the buffer seen in
//!   storage order (see `storage_order`): the row-major array itself for rank ≥ 3, the
//!   `[cols, rows]` array for a matrix. After
//!   dropping size-1 axes and merging neighbouring axes that are both reduced or both kept, the
//!   common patterns `[kept?, reduced, kept?]` run as contiguous loops (folding a slice, or
//!   combining whole rows into an accumulator row). Other patterns fall back to one
//!   [`strided_indices`] walk that maps every input element to its output slot.
//!
//! Max/Min use [`ReduceOp::combine`], so NaN propagates. `argmax` gives ties to the first index
//! and treats NaN as larger than everything (the first NaN wins).

use duograd_backend::shape::{numel, reduced_shape, strided_indices, strides};
use duograd_backend::{Element, ReduceOp};
use duograd_cpu::argmax::argmax_lanes;
use duograd_cpu::ReduceKernel;
use nalgebra::Dyn;

use crate::layout::reshape;
use crate::storage::{storage_axis, storage_order, NaTensor};

/// Reduces `x` over `axes` (sorted, distinct).
pub(crate) fn reduce<E: Element>(
    x: &NaTensor<E>,
    axes: &[usize],
    keepdim: bool,
    op: ReduceOp,
) -> NaTensor<E> {
    let shape = x.shape();
    assert!(
        axes.iter().all(|&a| a < shape.len()) && axes.windows(2).all(|w| w[0] < w[1]),
        "reduce: axes {axes:?} must be sorted, distinct and < rank {}",
        shape.len()
    );
    if axes.is_empty() {
        return x.clone();
    }
    let kept_shape = reduced_shape(shape, axes, true);
    let kept = match (shape.len(), axes, op) {
        (2, [0], ReduceOp::Sum) => {
            // One sum per column (what nalgebra's `row_sum` computes, see the module docs).
            let sums = x
                .matrix()
                .column_iter()
                .map(|c| sum_slice(c.data.into_slice()));
            NaTensor::from_storage(sums.collect(), &kept_shape)
        }
        (2, [1], ReduceOp::Sum) => {
            let sums = x.matrix().column_sum(); // m×1: the sum of each row
            let m = sums.len();
            NaTensor::from_parts(sums.reshape_generic(Dyn(m), Dyn(1)), kept_shape)
        }
        (_, _, ReduceOp::Sum) if axes.len() == shape.len() => {
            NaTensor::from_storage(vec![sum_slice(x.storage())], &kept_shape)
        }
        _ => {
            let dims = storage_order(shape);
            let mask = storage_order(
                &(0..shape.len())
                    .map(|i| axes.contains(&i))
                    .collect::<Vec<_>>(),
            );
            let data = match op {
                ReduceOp::Sum => {
                    reduce_row_major(x.storage(), &dims, &mask, op, sum_slice, |a, v| a + v)
                }
                ReduceOp::Max => {
                    let c = |a, v| ReduceOp::Max.combine(a, v);
                    reduce_row_major(x.storage(), &dims, &mask, op, |s| fold(s, c), c)
                }
                ReduceOp::Min => {
                    let c = |a, v| ReduceOp::Min.combine(a, v);
                    reduce_row_major(x.storage(), &dims, &mask, op, |s| fold(s, c), c)
                }
            };
            // The reduced storage-order array is exactly the buffer of the keepdim result.
            NaTensor::from_storage(data, &kept_shape)
        }
    };
    if keepdim {
        kept
    } else {
        reshape(&kept, &reduced_shape(shape, axes, false))
    }
}

/// Reduces the row-major array `data` of shape `dims` over the axes flagged in `mask`, with
/// `reduce` folding a non-empty contiguous run and `combine` one more element into an accumulator
/// (both computing `op`). Returns the row-major result of shape `dims` with the reduced axes set
/// to 1.
fn reduce_row_major<E: Element>(
    data: &[E],
    dims: &[usize],
    mask: &[bool],
    op: ReduceOp,
    reduce: impl Fn(&[E]) -> E,
    combine: impl Fn(E, E) -> E,
) -> Vec<E> {
    let out_dims: Vec<usize> = dims
        .iter()
        .zip(mask)
        .map(|(&d, &r)| if r { 1 } else { d })
        .collect();
    let out_len = numel(&out_dims);
    if data.is_empty() {
        return vec![op.identity(); out_len];
    }
    // Drop size-1 axes, merge neighbours with the same status.
    let mut groups: Vec<(usize, bool)> = Vec::new();
    for (&d, &r) in dims.iter().zip(mask) {
        match groups.last_mut() {
            _ if d == 1 => {}
            Some(last) if last.1 == r => last.0 *= d,
            _ => groups.push((d, r)),
        }
    }
    let mut rest = groups.as_slice();
    let (mut red, mut inner) = (1, 1);
    // A leading kept group is the outer loop (over `chunks_exact` blocks below).
    if let [(_, false), tail @ ..] = rest {
        rest = tail;
    }
    if let [(d, true), tail @ ..] = rest {
        red = *d;
        rest = tail;
    }
    if let [(d, false), tail @ ..] = rest {
        inner = *d;
        rest = tail;
    }
    if !rest.is_empty() {
        return reduce_general(data, dims, mask, &out_dims, op, combine);
    }
    let mut out = Vec::with_capacity(out_len);
    for block in data.chunks_exact(red * inner) {
        if inner == 1 {
            out.push(reduce(block));
        } else {
            // Combine whole rows of `inner` elements into an accumulator row.
            let start = out.len();
            out.extend_from_slice(&block[..inner]);
            let acc = &mut out[start..];
            for row in block[inner..].chunks_exact(inner) {
                for (a, &v) in acc.iter_mut().zip(row) {
                    *a = combine(*a, v);
                }
            }
        }
    }
    debug_assert_eq!(out.len() * red, data.len());
    out
}

/// The fallback for reduction patterns with interleaved kept and reduced axes: each input
/// element is combined into the output slot given by a [`strided_indices`] walk with zero strides
/// on the reduced axes.
fn reduce_general<E: Element>(
    data: &[E],
    dims: &[usize],
    mask: &[bool],
    out_dims: &[usize],
    op: ReduceOp,
    combine: impl Fn(E, E) -> E,
) -> Vec<E> {
    let out_strides: Vec<usize> = strides(out_dims)
        .into_iter()
        .zip(mask)
        .map(|(s, &r)| if r { 0 } else { s })
        .collect();
    let slots = strided_indices(dims, &out_strides, 0);
    let mut out = vec![op.identity(); numel(out_dims)];
    for (&o, &v) in slots.iter().zip(data) {
        out[o] = combine(out[o], v);
    }
    out
}

/// For each position of the shape with `axis` removed (row-major), the index of the largest
/// element along `axis`; ties go to the first, NaN beats everything.
pub(crate) fn argmax<E: Element>(x: &NaTensor<E>, axis: usize) -> Vec<usize> {
    let shape = x.shape();
    assert!(
        axis < shape.len(),
        "argmax: axis {axis} out of range for {shape:?}"
    );
    assert!(shape[axis] > 0, "argmax: axis {axis} of {shape:?} is empty");
    let dims = storage_order(shape);
    let q = storage_axis(axis, shape.len());
    let (len, inner) = (dims[q], numel(&dims[q + 1..]));
    let mut out = Vec::with_capacity(x.numel() / len);
    if inner > 0 {
        // Each block is `inner` lanes side by side, element `t` of them `inner` values on.
        for block in x.storage().chunks_exact(len * inner) {
            argmax_lanes(block, inner, len, 1, inner, &mut out);
        }
    }
    // `out` is in the storage order of the shape without `axis`, which has rank 1 for a matrix
    // and is row-major for rank ≥ 3: the row-major order in both cases.
    out
}

/// The sum of a slice, with eight independent accumulators so that the loop vectorizes
/// (a single running sum is one long dependency chain).
pub(crate) fn sum_slice<E: Element>(s: &[E]) -> E {
    const LANES: usize = 8;
    let mut acc = [E::zero(); LANES];
    let chunks = s.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    let mut total =
        ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
    for &v in tail {
        total += v;
    }
    total
}

/// Folds a non-empty slice with `combine`, starting from its first element.
fn fold<E: Element>(s: &[E], combine: impl Fn(E, E) -> E) -> E {
    s[1..].iter().fold(s[0], |acc, &v| combine(acc, v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_agree_with_the_general_walk() {
        // [2, 3, 4] row-major, reduce every subset of axes both ways.
        let data: Vec<f64> = (0..24).map(|i| ((i * 7) % 11) as f64).collect();
        let dims = [2, 3, 4];
        for bits in 0..8u32 {
            let mask: Vec<bool> = (0..3).map(|i| bits & (1 << i) != 0).collect();
            let out_dims: Vec<usize> = dims
                .iter()
                .zip(&mask)
                .map(|(&d, &r)| if r { 1 } else { d })
                .collect();
            for op in [ReduceOp::Sum, ReduceOp::Max, ReduceOp::Min] {
                let c = |a, v| op.combine(a, v);
                let fast = reduce_row_major(&data, &dims, &mask, op, |s| fold(s, c), c);
                let slow = reduce_general(&data, &dims, &mask, &out_dims, op, c);
                assert_eq!(fast, slow, "mask {mask:?} op {op:?}");
            }
        }
    }

    #[test]
    fn sum_slice_adds_everything() {
        for n in [0usize, 1, 7, 8, 9, 31, 100] {
            let v: Vec<f64> = (0..n).map(|i| i as f64).collect();
            assert_eq!(sum_slice(&v), (n * n.saturating_sub(1) / 2) as f64);
        }
    }
}
