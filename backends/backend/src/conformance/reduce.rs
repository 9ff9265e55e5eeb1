//! Reductions (`reduce` with Sum, Max and Min over any set of axes) and `argmax`.

use crate::{Backend, Element, ReduceOp};

use super::reference;
use super::support::{assert_close, assert_exact, mixed, numel, store, ties, values, who};
use super::views::{views, Kind};

const OPS: [ReduceOp; 3] = [ReduceOp::Sum, ReduceOp::Max, ReduceOp::Min];

/// Checks `reduce(x, axes, keepdim, op)` against the reference: Max and Min exactly, Sum
/// within the tolerance scaled by the sum of the absolute values of its terms.
fn check<B: Backend>(
    x: &B::Storage,
    data: &[f64],
    shape: &[usize],
    axes: &[usize],
    keepdim: bool,
    op: ReduceOp,
    what: &str,
) {
    let y = B::reduce(x, axes, keepdim, op);
    let out_shape = reference::reduced_shape(shape, axes, keepdim);
    let what = format!("{what} reduce {op:?} of {shape:?} over {axes:?} keepdim={keepdim}");
    if axes.is_empty() {
        // "Reducing over no axes returns the input unchanged."
        return assert_exact::<B>(&y, shape, data, what);
    }
    let (want, scale) = reference::reduce(data, shape, axes, op);
    match op {
        ReduceOp::Sum => assert_close::<B>(&y, &out_shape, &want, Some(&scale), what),
        _ => assert_exact::<B>(&y, &out_shape, &want, what),
    }
}

/// Every subset of the axes, both `keepdim`s and every op, on every kind of view of `data`.
fn every_subset<B: Backend>(shape: &[usize], data: &[f64]) {
    for v in views::<B>(data, shape) {
        let what = format!("{} input:", v.kind);
        for axes in reference::subsets(shape.len()) {
            for keepdim in [false, true] {
                for op in OPS {
                    check::<B>(&v.x, &v.data, shape, &axes, keepdim, op, &what);
                }
            }
        }
        // The input is not consumed or changed.
        assert_exact::<B>(&v.x, shape, &v.data, "input after reduce");
    }
}

/// `reduce` over every subset of the axes of rank-3 arrays (the empty subset returning the
/// input), `keepdim` true and false, Sum, Max and Min, on every kind of view; with ties,
/// size-1 axes and rows of 17 and 33.
pub fn reduce_every_axis_subset_rank_3<B: Backend>() {
    for (seed, shape) in [[3, 5, 17], [2, 1, 33], [4, 3, 2], [1, 7, 1]]
        .iter()
        .enumerate()
    {
        let n = numel(shape);
        let data = if seed % 2 == 0 {
            values::<B::Elem>(n, 1000 + seed as u64)
        } else {
            ties(n, 1000)
        };
        every_subset::<B>(shape, &data);
    }
}

/// `reduce` over every subset of the axes of rank-4 arrays, both `keepdim`s, every op, on every
/// kind of view.
pub fn reduce_every_axis_subset_rank_4<B: Backend>() {
    for (seed, shape) in [[2, 3, 4, 9], [3, 1, 2, 5], [2, 2, 2, 17]]
        .iter()
        .enumerate()
    {
        let data = values::<B::Elem>(numel(shape), 1100 + seed as u64);
        every_subset::<B>(shape, &data);
    }
}

/// `reduce` of ranks 0 to 2 and of long rows and columns (lengths 33 to 1025, not multiples
/// of 8, past every vector loop's block) over every subset of the axes.
pub fn reduce_long_lanes_and_low_ranks<B: Backend>() {
    let shapes: [&[usize]; 11] = [
        &[],
        &[1],
        &[7],
        &[130],
        &[1025],
        &[7, 100],
        &[100, 7],
        &[33, 17],
        &[3, 1025],
        &[67, 65],
        &[1, 70],
    ];
    for (seed, shape) in shapes.iter().enumerate() {
        let data = values::<B::Elem>(numel(shape), 1200 + seed as u64);
        every_subset::<B>(shape, &data);
    }
}

/// Empty axes reduce to the identity (0 for Sum, −∞ for Max, +∞ for Min); reducing the non-empty
/// axes of an empty array gives an empty array of the reduced shape; size-1 axes reduce to their
/// one element.
pub fn reduce_empty_and_size_one_axes<B: Backend>() {
    for shape in [&[0, 3][..], &[2, 0], &[0], &[3, 0, 2]] {
        for axes in reference::subsets(shape.len()) {
            for keepdim in [false, true] {
                let x = B::full(shape, B::Elem::of(1.0));
                let data = vec![1.0; numel(shape)];
                // An empty lane reduces to the identity: 0, −∞ or +∞.
                for op in [ReduceOp::Sum, ReduceOp::Max, ReduceOp::Min] {
                    check::<B>(&x, &data, shape, &axes, keepdim, op, "empty");
                }
            }
        }
    }
    for shape in [&[1, 1, 1][..], &[1, 5, 1], &[1]] {
        let data = values::<B::Elem>(numel(shape), 1300);
        every_subset::<B>(shape, &data);
    }
}

/// Max and Min are NaN exactly where a reduced lane holds a NaN (at its start, its end, inside
/// or after a vector block, over one axis or several), ±∞ are ordinary extremes, and sums
/// follow IEEE (`∞ + −∞` is NaN, a NaN term gives NaN).
pub fn reduce_propagates_nan_and_inf<B: Backend>() {
    let (inf, nan) = (f64::INFINITY, f64::NAN);
    for (rows, cols) in [(3, 5), (4, 17), (5, 33), (3, 100), (2, 8), (9, 64)] {
        let n = rows * cols;
        for (pos, special) in [
            (0, nan),
            (cols - 1, nan),
            (cols / 2, nan),
            (n - 1, nan),
            (n / 2, inf),
            (n / 3, -inf),
        ] {
            let mut data = values::<B::Elem>(n, 1400 + pos as u64);
            data[pos] = special;
            if special.is_infinite() {
                data[(pos + cols) % n] = -special;
            }
            let shape = [rows, cols];
            for v in views::<B>(&data, &shape) {
                if v.kind == Kind::Expanded {
                    continue;
                }
                for axes in reference::subsets(2) {
                    for op in OPS {
                        check::<B>(
                            &v.x,
                            &v.data,
                            &shape,
                            &axes,
                            false,
                            op,
                            &format!("{} input with {special} at {pos}:", v.kind),
                        );
                    }
                }
            }
        }
    }
    // Every lane of a rank-3 array with NaN in the middle, and mixed specials everywhere.
    let data = mixed::<B::Elem>(4 * 5 * 19, 1500);
    every_subset::<B>(&[4, 5, 19], &data);
}

/// Checks `argmax` along `axis` against the reference.
fn check_argmax<B: Backend>(
    x: &B::Storage,
    data: &[f64],
    shape: &[usize],
    axis: usize,
    what: &str,
) {
    let got = B::argmax(x, axis);
    let want = reference::argmax(data, shape, axis);
    assert_eq!(
        got,
        want,
        "{}: {what} argmax of {shape:?} along axis {axis}",
        who::<B>()
    );
    // The mask has a one where the argmax points: element `i` sits at index `(i / inner) % n`
    // along `axis`, in the lane `(i / (n · inner)) · inner + i % inner`.
    let (n, inner) = (shape[axis], numel(&shape[axis + 1..]));
    let mask: Vec<f64> = (0..numel(shape))
        .map(|i| {
            let lane = (i / (n * inner)) * inner + i % inner;
            f64::from(u8::from((i / inner) % n == want[lane]))
        })
        .collect();
    assert_exact::<B>(
        &B::argmax_mask(x, axis),
        shape,
        &mask,
        &format!("{what} argmax_mask of {shape:?} along axis {axis}"),
    );
}

/// `argmax` (and `argmax_mask`, its ones at the same positions) along every axis of ranks 1 to 4, on every kind of view, gives the index of the
/// first largest element (ties are frequent in the data), for each position of the other axes
/// in row-major order; lanes up to 1025 long.
pub fn argmax_first_of_ties<B: Backend>() {
    let shapes: [&[usize]; 12] = [
        &[1],
        &[7],
        &[100],
        &[1025],
        &[2, 3],
        &[5, 1],
        &[17, 33],
        &[3, 130],
        &[2, 3, 4],
        &[4, 1, 9],
        &[2, 3, 4, 5],
        &[64, 10],
    ];
    for (seed, shape) in shapes.iter().enumerate() {
        let n = numel(shape);
        for data in [
            ties(n, 1600 + seed as u64),
            values::<B::Elem>(n, 1650 + seed as u64),
            vec![-1.5; n],
        ] {
            for v in views::<B>(&data, shape) {
                for axis in 0..shape.len() {
                    check_argmax::<B>(&v.x, &v.data, shape, axis, &format!("{} input:", v.kind));
                }
            }
        }
    }
}

/// `argmax` counts NaN as the largest value, the first NaN winning (as PyTorch), and ±∞ as
/// ordinary values.
pub fn argmax_nan_is_the_maximum<B: Backend>() {
    let (inf, nan) = (f64::INFINITY, f64::NAN);
    // [[1, nan, 5, nan], [nan, 0, 0, 9], [-inf, -inf, -inf, -inf], [inf, 3, inf, nan]]
    let data = [
        1.0, nan, 5.0, nan, nan, 0.0, 0.0, 9.0, -inf, -inf, -inf, -inf, inf, 3.0, inf, nan,
    ];
    let x = store::<B>(&data, &[4, 4]);
    assert_eq!(
        B::argmax(&x, 1),
        vec![1, 0, 0, 3],
        "{}: argmax of rows with NaN",
        who::<B>()
    );
    assert_eq!(
        B::argmax(&x, 0),
        vec![1, 0, 3, 0],
        "{}: argmax of columns with NaN",
        who::<B>()
    );
    // A NaN at every position of long lanes (inside and after the vector blocks).
    for len in [17, 33, 100] {
        for pos in [0, 1, 7, 8, 15, len - 2, len - 1] {
            let mut data = ties(3 * len, 1700 + pos as u64);
            data[len + pos] = nan;
            data[2 * len + pos] = nan;
            data[2 * len + len - 1] = nan;
            for v in views::<B>(&data, &[3, len]) {
                if v.kind == Kind::Expanded {
                    continue;
                }
                for axis in 0..2 {
                    check_argmax::<B>(
                        &v.x,
                        &v.data,
                        &[3, len],
                        axis,
                        &format!("{} input with NaN at {pos}:", v.kind),
                    );
                }
            }
        }
    }
}
