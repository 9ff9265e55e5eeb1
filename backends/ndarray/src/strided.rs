//! The general elementwise walk, for operands that are not contiguous in one common layout
//! (broadcasts, transposes, narrowed views).
//!
//! 1. Adjacent axes that every operand walks as a single axis are merged, and length-1 axes
//!    dropped, so that `(n, m)`-contiguous blocks become one long axis and a broadcast such as
//!    `(2, 3, 4) * (3, 1)` has as few axes as possible.
//! 2. The merged views get a fixed rank (`Ix1`..`Ix3`, `IxDyn` beyond), which makes ndarray's
//!    iteration much cheaper than with dynamic dimensions.
//! 3. Long last axes are walked lane by lane with duograd's slice kernels; a lane that is not
//!    contiguous (a stride-0 broadcast, a column of a transposed array) is first gathered into a
//!    small scratch buffer. Short last axes go through `Zip` element by element.

use duograd::kernel::{BinaryOp, UnaryOp};
use duograd::Element;
use ndarray::{Array, ArrayView, ArrayView1, ArrayViewMut, Axis, CowArray, Dimension, IxDyn, Zip};

use crate::rank::{fixed, with_rank};

/// Last axes shorter than this are walked element by element: the per-lane overhead of the
/// slice path would outweigh its tighter loop.
const MIN_LANE: usize = 16;

/// A new standard-layout array with `op` applied to every element of `x`.
pub(crate) fn map<E: Element>(x: ArrayView<'_, E, IxDyn>, op: UnaryOp<E>) -> Array<E, IxDyn> {
    let mut out = Array::zeros(x.raw_dim());
    if out.is_empty() {
        return out;
    }
    let dims = coalesce(x.shape(), &[x.strides()]);
    let xm = merged(&x, &dims);
    let om = out
        .view_mut()
        .into_shape_with_order(IxDyn(&dims))
        .expect("a standard-layout array merges any axes");
    with_rank!(dims.len(), D => map_fixed::<E, D>(fixed(om), fixed(xm.view()), op));
    out
}

/// A new standard-layout array with `op` applied to pairs of elements of `a` and `b`, two views
/// of the same shape (typically broadcast views).
pub(crate) fn zip<E: Element>(
    a: ArrayView<'_, E, IxDyn>,
    b: ArrayView<'_, E, IxDyn>,
    op: BinaryOp,
) -> Array<E, IxDyn> {
    assert_eq!(a.shape(), b.shape(), "zip: shapes differ");
    let mut out = Array::zeros(a.raw_dim());
    if out.is_empty() {
        return out;
    }
    let dims = coalesce(a.shape(), &[a.strides(), b.strides()]);
    let (am, bm) = (merged(&a, &dims), merged(&b, &dims));
    let om = out
        .view_mut()
        .into_shape_with_order(IxDyn(&dims))
        .expect("a standard-layout array merges any axes");
    with_rank!(dims.len(), D => zip_fixed::<E, D>(
        fixed(om),
        fixed(am.view()),
        fixed(bm.view()),
        op,
    ));
    out
}

/// The shape after merging every pair of adjacent axes `(i, i + 1)` that all arrays walk as one
/// (`stride[i] == stride[i + 1] * shape[i + 1]`, which includes two stride-0 axes) and dropping
/// length-1 axes. Never empty: a single element gives `[1]`.
fn coalesce(shape: &[usize], strides: &[&[isize]]) -> Vec<usize> {
    // Built innermost first: each entry is a merged axis with its length and, per array, the
    // stride of its innermost original axis.
    let mut dims: Vec<usize> = Vec::with_capacity(shape.len());
    let mut inner: Vec<Vec<isize>> = Vec::with_capacity(shape.len());
    for ax in (0..shape.len()).rev() {
        let d = shape[ax];
        if d == 1 {
            continue;
        }
        if let (Some(len), Some(st)) = (dims.last_mut(), inner.last()) {
            let mergeable = strides
                .iter()
                .zip(st)
                .all(|(s, &c)| s[ax] == c * *len as isize);
            if mergeable {
                *len *= d;
                continue;
            }
        }
        dims.push(d);
        inner.push(strides.iter().map(|s| s[ax]).collect());
    }
    if dims.is_empty() {
        dims.push(1);
    }
    dims.reverse();
    dims
}

/// `x` reshaped to the merged `dims` of [`coalesce`]: always a view, since merging follows the
/// strides.
fn merged<'a, E: Element>(
    x: &'a ArrayView<'_, E, IxDyn>,
    dims: &[usize],
) -> CowArray<'a, E, IxDyn> {
    let m = x
        .to_shape(IxDyn(dims))
        .expect("merged shape has the same size");
    debug_assert!(m.is_view(), "merging axes must not copy");
    m
}

/// [`map`] on merged, fixed-rank views.
fn map_fixed<E: Element, D: Dimension>(
    mut out: ArrayViewMut<'_, E, D>,
    x: ArrayView<'_, E, D>,
    op: UnaryOp<E>,
) {
    let last = Axis(out.ndim() - 1);
    if out.len_of(last) < MIN_LANE {
        Zip::from(&mut out)
            .and(&x)
            .for_each(|o, &v| *o = op.apply(v));
        return;
    }
    let mut scratch = Vec::new();
    Zip::from(out.lanes_mut(last))
        .and(x.lanes(last))
        .for_each(|mut o, xl| {
            let src = contiguous(&xl, &mut scratch);
            op.apply_slice(src, o.as_slice_mut().expect("standard-layout output"));
        });
}

/// [`zip`] on merged, fixed-rank views.
fn zip_fixed<E: Element, D: Dimension>(
    mut out: ArrayViewMut<'_, E, D>,
    a: ArrayView<'_, E, D>,
    b: ArrayView<'_, E, D>,
    op: BinaryOp,
) {
    let last = Axis(out.ndim() - 1);
    if out.len_of(last) < MIN_LANE {
        Zip::from(&mut out)
            .and(&a)
            .and(&b)
            .for_each(|o, &x, &y| *o = op.apply(x, y));
        return;
    }
    let (mut sa, mut sb) = (Vec::new(), Vec::new());
    Zip::from(out.lanes_mut(last))
        .and(a.lanes(last))
        .and(b.lanes(last))
        .for_each(|mut o, al, bl| {
            let (x, y) = (contiguous(&al, &mut sa), contiguous(&bl, &mut sb));
            op.apply_slices(x, y, o.as_slice_mut().expect("standard-layout output"));
        });
}

/// The lane as a slice: itself when contiguous, else its elements gathered into `scratch`.
fn contiguous<'s, E: Copy>(lane: &'s ArrayView1<'_, E>, scratch: &'s mut Vec<E>) -> &'s [E] {
    if let Some(s) = lane.as_slice() {
        return s;
    }
    scratch.clear();
    if lane.strides()[0] == 0 {
        // A broadcast lane: one value repeated.
        scratch.resize(lane.len(), lane[0]);
    } else {
        scratch.extend(lane.iter().copied());
    }
    scratch
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coalesce_merges_contiguous_and_broadcast_runs() {
        // A standard (2, 3, 4) array is one axis of 24.
        assert_eq!(coalesce(&[2, 3, 4], &[&[12, 4, 1]]), vec![24]);
        // (2, 3, 4) * (3, 1) broadcast: the second operand has strides (0, 1, 0).
        assert_eq!(
            coalesce(&[2, 3, 4], &[&[12, 4, 1], &[0, 1, 0]]),
            vec![2, 3, 4]
        );
        // Row broadcast (5, 4) + (4,): strides (0, 1) cannot merge with (4, 1).
        assert_eq!(coalesce(&[5, 4], &[&[4, 1], &[0, 1]]), vec![5, 4]);
        // Two stride-0 leading axes merge with each other.
        assert_eq!(coalesce(&[2, 3, 4], &[&[12, 4, 1], &[0, 0, 1]]), vec![6, 4]);
        // Length-1 axes vanish; a scalar becomes [1].
        assert_eq!(coalesce(&[1, 5, 1], &[&[7, 1, 99]]), vec![5]);
        assert_eq!(coalesce(&[], &[&[]]), vec![1]);
        // A transpose does not merge.
        assert_eq!(coalesce(&[3, 2], &[&[1, 3]]), vec![3, 2]);
    }

    #[test]
    fn map_and_zip_over_every_rank() {
        for shape in [
            vec![40],
            vec![3, 20],
            vec![2, 3, 20],
            vec![2, 2, 2, 20],
            vec![2, 3],
        ] {
            let n: usize = shape.iter().product();
            let base =
                Array::from_shape_vec(IxDyn(&shape), (0..n).map(|i| i as f64).collect()).unwrap();
            // Reversing the axes gives a non-standard view of every rank.
            let t = base.view().reversed_axes();
            let want: Vec<f64> = t.iter().map(|v| v * 2.0).collect();
            let m = map(t.view(), UnaryOp::MulScalar(2.0));
            assert_eq!(m.iter().copied().collect::<Vec<_>>(), want, "{shape:?}");
            let z = zip(t.view(), t.view(), BinaryOp::Add);
            assert_eq!(z.iter().copied().collect::<Vec<_>>(), want, "{shape:?}");
            assert!(z.is_standard_layout());
        }
    }
}
