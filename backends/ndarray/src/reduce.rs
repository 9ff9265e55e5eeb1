//! Reductions: `reduce` (sum, max, min over a set of axes) and `argmax`.
//!
//! Sums use ndarray's `sum` / `sum_axis` (unrolled, contiguous-lane aware); max and min fold
//! with duograd's [`ReduceOp::combine`], which propagates NaN, over contiguous lanes when the
//! reduced axis is the innermost one and with `fold_axis` otherwise. Views are converted to a
//! fixed rank first, which makes ndarray's axis and lane iteration much cheaper.

use duograd_backend::shape::reduced_shape;
use duograd_backend::Element;
use duograd_cpu::argmax::{argmax_lanes, argmax_of};
use duograd_cpu::kernel::{fold_slice, sum_rows, ReduceOp};
use duograd_cpu::ReduceKernel;
use ndarray::{ArcArray, Array, ArrayView, ArrayView1, Axis, Dimension, IxDyn, RemoveAxis, Zip};

use crate::rank::{fixed, with_rank};
use crate::Storage;

/// Reduces `x` over `axes` (sorted, distinct, in range).
pub(crate) fn reduce<E: Element>(
    x: &Storage<E>,
    axes: &[usize],
    keepdim: bool,
    op: ReduceOp,
) -> Storage<E> {
    if axes.is_empty() {
        return x.clone();
    }
    assert!(
        axes.windows(2).all(|w| w[0] < w[1]) && axes[axes.len() - 1] < x.ndim(),
        "reduce: axes {axes:?} must be sorted, distinct and < rank {}",
        x.ndim()
    );
    if axes.len() == x.ndim() {
        let shape = reduced_shape(x.shape(), axes, keepdim);
        return ArcArray::from_elem(IxDyn(&shape), reduce_all(x.view(), op));
    }
    // Axis by axis, last first, so that the indices of the remaining axes stay valid.
    let mut acc: Option<Array<E, IxDyn>> = None;
    for &ax in axes.iter().rev() {
        let src = acc.as_ref().map_or_else(|| x.view(), |a| a.view());
        let rank = src.ndim();
        acc = Some(with_rank!(rank, D => reduce_axis::<E, D>(fixed(src), Axis(ax), op)));
    }
    let mut out = acc.expect("at least one axis");
    if keepdim {
        // Re-inserting length-1 axes only changes the shape, whatever the layout.
        for &ax in axes {
            out = out.insert_axis(Axis(ax));
        }
    }
    out.into_shared()
}

/// The reduction of every element.
fn reduce_all<E: Element>(v: ArrayView<'_, E, IxDyn>, op: ReduceOp) -> E {
    // The match sits outside the loops so that each fold is compiled for one operation.
    match op {
        ReduceOp::Sum => v.sum(),
        ReduceOp::Max => fold_all(v, op.identity(), |a, e| ReduceOp::Max.combine(a, e)),
        ReduceOp::Min => fold_all(v, op.identity(), |a, e| ReduceOp::Min.combine(a, e)),
    }
}

/// [`reduce_all`] for max and min.
fn fold_all<E: Element>(v: ArrayView<'_, E, IxDyn>, init: E, f: impl Fn(E, E) -> E + Copy) -> E {
    match v.as_slice_memory_order() {
        // Order does not matter for max/min: walk the buffer as it lies.
        Some(s) => fold_slice(s, init, f),
        None => v.fold(init, |a, &e| f(a, e)),
    }
}

/// Reduces one axis of a fixed-rank view.
fn reduce_axis<E: Element, D: Dimension + RemoveAxis>(
    v: ArrayView<'_, E, D>,
    ax: Axis,
    op: ReduceOp,
) -> Array<E, IxDyn> {
    match op {
        ReduceOp::Sum => match v.as_slice() {
            Some(values) if !is_innermost(&v, ax) => {
                let (shape, ax) = (v.shape(), ax.index());
                let outer = shape[..ax].iter().product();
                let inner = shape[ax + 1..].iter().product();
                let sums = sum_middle_axis(values, outer, shape[ax], inner);
                let mut out_shape = shape.to_vec();
                out_shape.remove(ax);
                Array::from_shape_vec(IxDyn(&out_shape), sums).expect("one sum per lane")
            }
            _ => v.sum_axis(ax).into_dyn(),
        },
        ReduceOp::Max => fold_axis(v, ax, op.identity(), |a, e| ReduceOp::Max.combine(a, e)),
        ReduceOp::Min => fold_axis(v, ax, op.identity(), |a, e| ReduceOp::Min.combine(a, e)),
    }
}

/// The sums over the middle axis of a row-major `outer × len × inner` block, each `inner` run of
/// sums built by adding whole contiguous rows in order (the order `sum_axis` adds them, so the
/// results are the same); ndarray's `sum_axis` walks such an axis with a `Zip` per row, which
/// is slow on many short rows, such as the bias gradient of a batch (512 × 64 → 64).
fn sum_middle_axis<E: Element>(values: &[E], outer: usize, len: usize, inner: usize) -> Vec<E> {
    let mut out = vec![E::zero(); outer * inner];
    if inner == 0 || len == 0 {
        return out;
    }
    for (sums, block) in out
        .chunks_exact_mut(inner)
        .zip(values.chunks_exact(len * inner))
    {
        sum_rows(block, sums);
    }
    out
}

/// [`reduce_axis`] for max and min.
fn fold_axis<E: Element, D: Dimension + RemoveAxis>(
    v: ArrayView<'_, E, D>,
    ax: Axis,
    init: E,
    f: impl Fn(E, E) -> E + Copy,
) -> Array<E, IxDyn> {
    let out = if is_innermost(&v, ax) {
        // One contiguous (or least-strided) lane per output element, as `sum_axis` does;
        // `fold_axis` would instead sweep the whole output once per index along `ax`.
        Zip::from(v.lanes(ax)).map_collect(|lane| match lane.as_slice() {
            Some(s) => fold_slice(s, init, f),
            None => lane.fold(init, |a, &e| f(a, e)),
        })
    } else {
        v.fold_axis(ax, init, |&a, &e| f(a, e))
    };
    out.into_dyn()
}

/// Whether `ax` has the smallest stride among the axes longer than 1.
fn is_innermost<E, D: Dimension>(v: &ArrayView<'_, E, D>, ax: Axis) -> bool {
    let s = v.stride_of(ax).unsigned_abs();
    v.shape()
        .iter()
        .zip(v.strides())
        .all(|(&d, &t)| d <= 1 || t.unsigned_abs() >= s)
}

/// For each lane along `axis` (in row-major order of the other axes), the index of its largest
/// element: ties go to the first, and a NaN counts as larger than anything (the first NaN wins),
/// as in PyTorch.
pub(crate) fn argmax<E: Element>(x: &Storage<E>, axis: usize) -> Vec<usize> {
    assert!(
        axis < x.ndim() && x.len_of(Axis(axis)) > 0,
        "argmax: axis {axis} of {:?} is out of range or empty",
        x.shape()
    );
    let len = x.len_of(Axis(axis));
    let mut out = Vec::with_capacity(x.len() / len);
    if let (Some(values), true) = (x.as_slice(), axis + 1 == x.ndim()) {
        // Contiguous rows (a batch of logits): many lanes at once.
        argmax_lanes(values, values.len() / len, len, len, 1, &mut out);
        return out;
    }
    let v = x.view();
    with_rank!(v.ndim(), D => {
        let v: ArrayView<'_, E, D> = fixed(v);
        // `Lanes` iterates in row-major order of the remaining axes.
        for lane in v.lanes(Axis(axis)) {
            argmax_lane(lane, &mut out);
        }
    });
    out
}

/// Appends the argmax of one non-empty lane to `out`.
fn argmax_lane<E: Element>(lane: ArrayView1<'_, E>, out: &mut Vec<usize>) {
    if let Some(s) = lane.as_slice() {
        return argmax_lanes(s, 1, s.len(), 0, 1, out);
    }
    out.push(argmax_of(lane.iter().copied()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{from_vec, narrow, permute, to_vec};

    /// [[[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]],
    ///  [[12, 13, 14, 15], [16, 17, 18, 19], [20, 21, 22, 23]]]
    fn x234() -> Storage<f64> {
        from_vec((0..24).map(f64::from).collect(), &[2, 3, 4])
    }

    fn check(x: &Storage<f64>, axes: &[usize], keepdim: bool, op: ReduceOp, shape: &[usize]) {
        let r = reduce(x, axes, keepdim, op);
        assert_eq!(
            r.shape(),
            shape,
            "shape of {op:?} over {axes:?} keepdim={keepdim}"
        );
    }

    #[test]
    fn sum_over_axis_0() {
        let r = reduce(&x234(), &[0], false, ReduceOp::Sum);
        assert_eq!(r.shape(), &[3, 4]);
        assert_eq!(
            to_vec(&r),
            vec![12.0, 14.0, 16.0, 18.0, 20.0, 22.0, 24.0, 26.0, 28.0, 30.0, 32.0, 34.0]
        );
        check(&x234(), &[0], true, ReduceOp::Sum, &[1, 3, 4]);
    }

    #[test]
    fn sums_over_outer_axes_equal_ndarray_sum_axis_bit_for_bit() {
        let values: Vec<f32> = (0..5 * 7 * 9)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
            .collect();
        let x = ndarray::Array::from_shape_vec(IxDyn(&[5, 7, 9]), values)
            .unwrap()
            .into_shared();
        for ax in [0, 1] {
            let want = x.sum_axis(Axis(ax));
            let got = reduce(&x, &[ax], false, ReduceOp::Sum);
            assert_eq!(got.shape(), want.shape(), "axis {ax}");
            let bits = |a: &[f32]| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&to_vec(&got)),
                bits(&want.iter().copied().collect::<Vec<_>>())
            );
        }
        // An empty summed axis gives zeros.
        let empty = from_vec(Vec::<f64>::new(), &[2, 0, 3]);
        assert_eq!(
            to_vec(&reduce(&empty, &[1], false, ReduceOp::Sum)),
            vec![0.0; 6]
        );
    }

    #[test]
    fn sum_over_axis_1() {
        let r = reduce(&x234(), &[1], true, ReduceOp::Sum);
        assert_eq!(r.shape(), &[2, 1, 4]);
        assert_eq!(
            to_vec(&r),
            vec![12.0, 15.0, 18.0, 21.0, 48.0, 51.0, 54.0, 57.0]
        );
        check(&x234(), &[1], false, ReduceOp::Sum, &[2, 4]);
    }

    #[test]
    fn sum_over_axes_0_and_2() {
        // Row j of both blocks: (0+1+2+3) + (12+13+14+15) = 60, (4..=7) + (16..=19) = 92, then 124.
        let r = reduce(&x234(), &[0, 2], false, ReduceOp::Sum);
        assert_eq!(r.shape(), &[3]);
        assert_eq!(to_vec(&r), vec![60.0, 92.0, 124.0]);
        let k = reduce(&x234(), &[0, 2], true, ReduceOp::Sum);
        assert_eq!(k.shape(), &[1, 3, 1]);
        assert_eq!(to_vec(&k), vec![60.0, 92.0, 124.0]);
    }

    #[test]
    fn reduce_over_all_axes() {
        let r = reduce(&x234(), &[0, 1, 2], false, ReduceOp::Sum);
        assert_eq!(r.shape(), &[] as &[usize]);
        assert_eq!(to_vec(&r), vec![276.0]);
        let k = reduce(&x234(), &[0, 1, 2], true, ReduceOp::Max);
        assert_eq!(k.shape(), &[1, 1, 1]);
        assert_eq!(to_vec(&k), vec![23.0]);
        let m = reduce(&x234(), &[0, 1, 2], false, ReduceOp::Min);
        assert_eq!(to_vec(&m), vec![0.0]);
    }

    #[test]
    fn no_axes_is_identity() {
        let x = x234();
        let r = reduce(&x, &[], false, ReduceOp::Sum);
        assert_eq!(r.as_ptr(), x.as_ptr());
        assert_eq!(r.shape(), x.shape());
    }

    #[test]
    fn max_and_min_over_an_axis() {
        let x = from_vec(vec![3.0, -1.0, 2.0, 5.0, 0.0, -4.0], &[2, 3]);
        assert_eq!(
            to_vec(&reduce(&x, &[1], false, ReduceOp::Max)),
            vec![3.0, 5.0]
        );
        assert_eq!(
            to_vec(&reduce(&x, &[1], false, ReduceOp::Min)),
            vec![-1.0, -4.0]
        );
        assert_eq!(
            to_vec(&reduce(&x, &[0], true, ReduceOp::Max)),
            vec![5.0, 0.0, 2.0]
        );
        assert_eq!(
            to_vec(&reduce(&x, &[0], false, ReduceOp::Min)),
            vec![3.0, -1.0, -4.0]
        );
    }

    #[test]
    fn max_and_min_propagate_nan() {
        let x = from_vec(vec![1.0, f64::NAN, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
        for op in [ReduceOp::Max, ReduceOp::Min] {
            let rows = to_vec(&reduce(&x, &[1], false, op));
            assert!(rows[0].is_nan(), "{op:?}");
            assert!(!rows[1].is_nan(), "{op:?}");
            let cols = to_vec(&reduce(&x, &[0], false, op));
            assert!(cols[1].is_nan() && !cols[0].is_nan() && !cols[2].is_nan());
            assert!(to_vec(&reduce(&x, &[0, 1], false, op))[0].is_nan());
        }
        // NaN last in a lane still wins.
        let y = from_vec(vec![1.0, 2.0, f64::NAN], &[3]);
        assert!(to_vec(&reduce(&y, &[0], false, ReduceOp::Max))[0].is_nan());
        assert!(to_vec(&reduce(&y, &[0], false, ReduceOp::Min))[0].is_nan());
    }

    #[test]
    fn long_lanes_fold_in_blocks_and_still_propagate_nan() {
        // 2 rows of 21: row 0 has a NaN in the blocked part, row 1 only in the tail.
        let mut v: Vec<f64> = (0..42).map(|i| ((i * 7) % 23) as f64).collect();
        v[3] = f64::NAN;
        v[21 + 20] = f64::NAN;
        let x = from_vec(v.clone(), &[2, 21]);
        for op in [ReduceOp::Max, ReduceOp::Min] {
            let r = to_vec(&reduce(&x, &[1], false, op));
            assert!(r[0].is_nan() && r[1].is_nan(), "{op:?}");
            assert!(to_vec(&reduce(&x, &[0, 1], false, op))[0].is_nan());
        }
        // Without NaN: the blocked fold finds the same extremes as a serial one.
        let w: Vec<f64> = (0..42)
            .map(|i| ((i * 7) % 23) as f64 - 0.5 * i as f64)
            .collect();
        let x = from_vec(w.clone(), &[2, 21]);
        let serial = |r: &[f64], max: bool| {
            r.iter().copied().fold(
                if max {
                    f64::NEG_INFINITY
                } else {
                    f64::INFINITY
                },
                |a, b| {
                    if max {
                        a.max(b)
                    } else {
                        a.min(b)
                    }
                },
            )
        };
        let want_max = vec![serial(&w[..21], true), serial(&w[21..], true)];
        let want_min = vec![serial(&w[..21], false), serial(&w[21..], false)];
        assert_eq!(to_vec(&reduce(&x, &[1], false, ReduceOp::Max)), want_max);
        assert_eq!(to_vec(&reduce(&x, &[1], false, ReduceOp::Min)), want_min);
        let all = to_vec(&reduce(&x, &[0, 1], false, ReduceOp::Max))[0];
        assert_eq!(all, want_max[0].max(want_max[1]));
    }

    #[test]
    fn reduce_of_non_standard_layouts() {
        // Transpose of [[0, 1, 2], [3, 4, 5]]: sums over axis 1 are the column sums 3, 5, 7.
        let t = permute(&from_vec((0..6).map(f64::from).collect(), &[2, 3]), &[1, 0]);
        assert_eq!(
            to_vec(&reduce(&t, &[1], false, ReduceOp::Sum)),
            vec![3.0, 5.0, 7.0]
        );
        assert_eq!(
            to_vec(&reduce(&t, &[0], true, ReduceOp::Max)),
            vec![2.0, 5.0]
        );
        assert_eq!(
            to_vec(&reduce(&t, &[0, 1], false, ReduceOp::Sum)),
            vec![15.0]
        );
        // Columns 1..3 of x234's first block rows.
        let n = narrow(&x234(), 2, 1, 2);
        assert_eq!(
            to_vec(&reduce(&n, &[2], false, ReduceOp::Sum)),
            vec![3.0, 11.0, 19.0, 27.0, 35.0, 43.0]
        );
        assert_eq!(
            to_vec(&reduce(&n, &[0, 1, 2], false, ReduceOp::Sum)),
            vec![138.0]
        );
    }

    #[test]
    fn reduce_of_empty_axis_gives_identity() {
        let x = from_vec(Vec::<f64>::new(), &[0, 2]);
        assert_eq!(
            to_vec(&reduce(&x, &[0], false, ReduceOp::Sum)),
            vec![0.0, 0.0]
        );
        assert_eq!(
            to_vec(&reduce(&x, &[0], false, ReduceOp::Max)),
            vec![f64::NEG_INFINITY; 2]
        );
    }

    #[test]
    fn argmax_ties_go_to_the_first() {
        let x = from_vec(vec![1.0, 3.0, 3.0, 2.0, 2.0, 2.0], &[2, 3]);
        assert_eq!(argmax(&x, 1), vec![1, 0]);
        // Columns: (1, 2), (3, 2), (3, 2).
        assert_eq!(argmax(&x, 0), vec![1, 0, 0]);
    }

    #[test]
    fn argmax_treats_nan_as_the_max() {
        let x = from_vec(
            vec![
                1.0,
                f64::NAN,
                5.0,
                f64::NAN,
                0.0,
                f64::NAN,
                7.0,
                9.0,
                f64::NAN,
            ],
            &[3, 3],
        );
        assert_eq!(argmax(&x, 1), vec![1, 0, 2]);
        let y = from_vec(vec![f64::NEG_INFINITY, -1.0, f64::INFINITY], &[3]);
        assert_eq!(argmax(&y, 0), vec![2]);
    }

    #[test]
    fn argmax_order_of_outer_positions_is_row_major() {
        // Over axis 1 of x234, the max is always at index 2; over axis 2, at index 3.
        assert_eq!(argmax(&x234(), 1), vec![2; 8]);
        assert_eq!(argmax(&x234(), 2), vec![3; 6]);
        // x[i][j][k] = data[4i + 2j + k].
        let x = from_vec(vec![0.0, 1.0, 5.0, 9.0, 7.0, 2.0, 3.0, 8.0], &[2, 2, 2]);
        // Over axis 1: pairs (x[i][0][k], x[i][1][k]) for (i, k) row-major:
        // (0,5)->1, (1,9)->1, (7,3)->0, (2,8)->1.
        assert_eq!(argmax(&x, 1), vec![1, 1, 0, 1]);
        // On a permuted view p[k][i][j] = x[i][j][k], over p's axis 2 the outer positions are
        // (k, i) row-major: (0,0)->1, (0,1)->0, (1,0)->1, (1,1)->1.
        let p = permute(&x, &[2, 0, 1]);
        assert_eq!(argmax(&p, 2), vec![1, 0, 1, 1]);
    }
}
