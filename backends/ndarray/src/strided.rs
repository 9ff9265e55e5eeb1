//! The general elementwise walk, for operands that are not contiguous in one common layout
//! (broadcasts, transposes, narrowed views).
//!
//! 1. Adjacent axes that every operand walks as a single axis are merged, and length-1 axes
//!    dropped, so that `(n, m)`-contiguous blocks become one long axis and a broadcast such as
//!    `(2, 3, 4) * (3, 1)` has as few axes as possible.
//! 2. The merged views get a fixed rank (`Ix1`..`Ix3`, `IxDyn` beyond), which makes ndarray's
//!    iteration much cheaper than with dynamic dimensions.
//! 3. Long last axes are walked lane by lane with duograd's slice kernels; a lane that is not
//!    contiguous (a stride-0 broadcast, a column of a transposed array) is first gathered, block
//!    by block, into a small scratch buffer. Short last axes go through `Zip` element by element.

use std::mem::MaybeUninit;
use std::ops::Range;

use duograd_backend::Element;
use duograd_cpu::kernel::{BinaryOp, UnaryOp};
use duograd_cpu::{BinaryKernel, UnaryKernel};

use ndarray::{
    s, Array, ArrayView, ArrayView1, ArrayViewMut, Axis, CowArray, Dimension, IxDyn, Zip,
};

use crate::rank::{fixed, with_rank};

/// Last axes shorter than this are walked element by element: the per-lane overhead of the
/// slice path would outweigh its tighter loop.
const MIN_LANE: usize = 16;

/// Lanes are fed to the slice kernels in blocks of at most this many elements, so that scratch
/// buffers stay small and in cache whatever the lane length.
const BLOCK: usize = 1024;

/// A new standard-layout array with `op` applied to every element of `x`.
pub(crate) fn map<E: Element>(x: ArrayView<'_, E, IxDyn>, op: UnaryOp<E>) -> Array<E, IxDyn> {
    let mut out = Array::uninit(x.raw_dim());
    if out.is_empty() {
        // SAFETY: there is nothing to initialize.
        return unsafe { out.assume_init() };
    }
    let dims = coalesce(x.shape(), &[x.strides()]);
    let xm = merged(&x, &dims);
    let om = out
        .view_mut()
        .into_shape_with_order(IxDyn(&dims))
        .expect("a standard-layout array merges any axes");
    with_rank!(dims.len(), D => map_fixed::<E, D>(fixed(om), fixed(xm.view()), op));
    // SAFETY: `map_fixed` wrote every element.
    unsafe { out.assume_init() }
}

/// A new standard-layout array with `op` applied to pairs of elements of `a` and `b`, two views
/// of the same shape (typically broadcast views).
pub(crate) fn zip<E: Element>(
    a: ArrayView<'_, E, IxDyn>,
    b: ArrayView<'_, E, IxDyn>,
    op: BinaryOp,
) -> Array<E, IxDyn> {
    assert_eq!(a.shape(), b.shape(), "zip: shapes differ");
    let mut out = Array::uninit(a.raw_dim());
    if out.is_empty() {
        // SAFETY: there is nothing to initialize.
        return unsafe { out.assume_init() };
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
    // SAFETY: `zip_fixed` wrote every element.
    unsafe { out.assume_init() }
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
    mut out: ArrayViewMut<'_, MaybeUninit<E>, D>,
    x: ArrayView<'_, E, D>,
    op: UnaryOp<E>,
) {
    let last = Axis(out.ndim() - 1);
    if out.len_of(last) < MIN_LANE {
        Zip::from(&mut out).and(&x).for_each(|o, &v| {
            o.write(op.apply(v));
        });
        return;
    }
    let mut scratch = Vec::with_capacity(BLOCK);
    Zip::from(out.lanes_mut(last))
        .and(x.lanes(last))
        .for_each(|mut o, xl| {
            let o = o.as_slice_mut().expect("standard-layout output");
            let src = LaneSource::new(&xl, &mut scratch);
            for (k, dst) in o.chunks_mut(BLOCK).enumerate() {
                let range = k * BLOCK..k * BLOCK + dst.len();
                op.apply_slice_uninit(src.block(&xl, range, &mut scratch), dst);
            }
        });
}

/// [`zip`] on merged, fixed-rank views.
fn zip_fixed<E: Element, D: Dimension>(
    mut out: ArrayViewMut<'_, MaybeUninit<E>, D>,
    a: ArrayView<'_, E, D>,
    b: ArrayView<'_, E, D>,
    op: BinaryOp,
) {
    let last = Axis(out.ndim() - 1);
    if out.len_of(last) < MIN_LANE {
        Zip::from(&mut out).and(&a).and(&b).for_each(|o, &x, &y| {
            o.write(op.apply(x, y));
        });
        return;
    }
    let (mut sa, mut sb) = (Vec::with_capacity(BLOCK), Vec::with_capacity(BLOCK));
    Zip::from(out.lanes_mut(last))
        .and(a.lanes(last))
        .and(b.lanes(last))
        .for_each(|mut o, al, bl| {
            let o = o.as_slice_mut().expect("standard-layout output");
            let (pa, pb) = (LaneSource::new(&al, &mut sa), LaneSource::new(&bl, &mut sb));
            for (k, dst) in o.chunks_mut(BLOCK).enumerate() {
                let range = k * BLOCK..k * BLOCK + dst.len();
                let x = pa.block(&al, range.clone(), &mut sa);
                let y = pb.block(&bl, range, &mut sb);
                op.apply_slices_uninit(x, y, dst);
            }
        });
}

/// How the blocks of one input lane are handed to the slice kernels.
enum LaneSource<'l, E> {
    /// The lane is contiguous: blocks are sub-slices of it.
    Slice(&'l [E]),
    /// A stride-0 lane (a broadcast): the scratch buffer holds one block of the repeated value.
    Repeated,
    /// Any other stride: each block is gathered into the scratch buffer.
    Strided,
}

impl<'l, E: Copy> LaneSource<'l, E> {
    /// Classifies `lane`, filling `scratch` once for a repeated value.
    fn new(lane: &'l ArrayView1<'_, E>, scratch: &mut Vec<E>) -> Self {
        if let Some(s) = lane.as_slice() {
            return LaneSource::Slice(s);
        }
        if lane.strides()[0] == 0 {
            scratch.clear();
            scratch.resize(lane.len().min(BLOCK), lane[0]);
            return LaneSource::Repeated;
        }
        LaneSource::Strided
    }

    /// The elements `range` of `lane` (at most [`BLOCK`] of them) as a slice.
    fn block<'s>(
        &'s self,
        lane: &ArrayView1<'_, E>,
        range: Range<usize>,
        scratch: &'s mut Vec<E>,
    ) -> &'s [E] {
        match self {
            LaneSource::Slice(s) => &s[range],
            LaneSource::Repeated => &scratch[..range.len()],
            LaneSource::Strided => {
                scratch.clear();
                scratch.extend(lane.slice(s![range]).iter().copied());
                scratch
            }
        }
    }
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

    #[test]
    fn lanes_longer_than_a_block() {
        let n = 2 * BLOCK + 37;
        let base =
            Array::from_shape_vec(IxDyn(&[2, n]), (0..2 * n).map(|i| i as f64).collect()).unwrap();
        // Strided lanes: the transpose of an (n, 2) array, walked as 2 lanes of n.
        let tall =
            Array::from_shape_vec(IxDyn(&[n, 2]), (0..2 * n).map(|i| i as f64).collect()).unwrap();
        let t = tall.view().reversed_axes();
        let want: Vec<f64> = t.iter().map(|v| -v).collect();
        let m = map(t.view(), UnaryOp::Neg);
        assert_eq!(m.iter().copied().collect::<Vec<_>>(), want);
        // Repeated lanes: a (2, 1) column broadcast over n, against contiguous rows.
        let col = Array::from_shape_vec(IxDyn(&[2, 1]), vec![1000.0, 2000.0]).unwrap();
        let colb = col.broadcast(IxDyn(&[2, n])).unwrap();
        let z = zip(base.view(), colb, BinaryOp::Sub);
        let want: Vec<f64> = (0..2 * n)
            .map(|i| i as f64 - if i < n { 1000.0 } else { 2000.0 })
            .collect();
        assert_eq!(z.iter().copied().collect::<Vec<_>>(), want);
        // A scalar broadcast over everything merges into one long repeated lane.
        let one = Array::from_elem(IxDyn(&[]), 0.5);
        let z = zip(
            one.broadcast(IxDyn(&[2, n])).unwrap(),
            base.view(),
            BinaryOp::Mul,
        );
        let want: Vec<f64> = (0..2 * n).map(|i| 0.5 * i as f64).collect();
        assert_eq!(z.iter().copied().collect::<Vec<_>>(), want);
        // Strided against repeated.
        let z = zip(
            t.view(),
            col.broadcast(IxDyn(&[2, n])).unwrap(),
            BinaryOp::Add,
        );
        let want: Vec<f64> = t
            .outer_iter()
            .zip([1000.0, 2000.0])
            .flat_map(|(row, c)| row.iter().map(move |v| v + c).collect::<Vec<_>>())
            .collect();
        assert_eq!(z.iter().copied().collect::<Vec<_>>(), want);
    }
}
