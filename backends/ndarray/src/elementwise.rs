//! Elementwise kernels: `unary`, `binary` (with broadcasting) and the in-place updates.
//!
//! The arithmetic is duograd's [`UnaryOp::apply_slice`] / [`BinaryOp::apply_slices`]; this module
//! only feeds them slices:
//! - contiguous operands of the same layout go through the slice kernel in one call, and the
//!   output keeps the operands' memory order (a transposed input gives a transposed output);
//! - everything else (broadcasts, transposes against row-major operands, narrowed views) goes
//!   through the general walk of the `strided` module into a standard-layout output.

use std::mem::MaybeUninit;

use duograd_backend::shape::broadcast_shapes;
use duograd_backend::Element;
use duograd_cpu::kernel::{axpy, BinaryOp, UnaryOp};
use duograd_cpu::{BinaryKernel, UnaryKernel};
use ndarray::{Array, IxDyn, LinalgScalar};

use crate::{strided, Storage};

/// Elements per block in [`unary_in_place`]: a stack buffer small enough to stay in L1.
const CHUNK: usize = 256;

/// `op` applied to every element.
pub(crate) fn unary<E: Element>(x: &Storage<E>, op: UnaryOp<E>) -> Storage<E> {
    if let (Some(src), Some(strides)) = (x.as_slice_memory_order(), non_negative_strides(x)) {
        return with_strides(op.apply_to_vec(src), x.shape(), &strides);
    }
    strided::map(x.view(), op).into_shared()
}

/// `op` applied to pairs of elements, with NumPy broadcasting.
pub(crate) fn binary<E: Element>(a: &Storage<E>, b: &Storage<E>, op: BinaryOp) -> Storage<E> {
    if a.shape() == b.shape() {
        if let Some(out) = binary_same_layout(a, b, op) {
            return out;
        }
    }
    let shape = broadcast_shapes(a.shape(), b.shape()).unwrap_or_else(|| {
        panic!(
            "binary {op:?}: shapes {:?} and {:?} do not broadcast",
            a.shape(),
            b.shape()
        )
    });
    if let Some(out) = binary_repeated(a, b, op, &shape) {
        return out;
    }
    let shape = IxDyn(&shape);
    // `broadcast` only fails on incompatible shapes, ruled out above.
    let av = a.broadcast(shape.clone()).expect("broadcast of a");
    let bv = b.broadcast(shape.clone()).expect("broadcast of b");
    strided::zip(av, bv, op).into_shared()
}

/// The fast path of [`binary`] for an operand repeated along leading axes, as a bias row added
/// to a batch (`[512, 64] + [64]`): both in standard layout, one of the full `shape`, the other
/// (leading 1s aside) a suffix of it. The slice kernel then runs once per repetition, without
/// the general walk's per-lane set-up.
fn binary_repeated<E: Element>(
    a: &Storage<E>,
    b: &Storage<E>,
    op: BinaryOp,
    shape: &[usize],
) -> Option<Storage<E>> {
    let is_suffix = |small: &Storage<E>| {
        let dims = small.shape();
        let first = dims.iter().position(|&d| d != 1).unwrap_or(dims.len());
        shape.ends_with(&dims[first..])
    };
    let (sa, sb) = (a.as_slice()?, b.as_slice()?);
    let full = |x: &Storage<E>| x.shape() == shape;
    if !(full(a) && is_suffix(b) || full(b) && is_suffix(a)) || sa.is_empty() || sb.is_empty() {
        return None;
    }
    let (len, period) = (sa.len().max(sb.len()), sa.len().min(sb.len()));
    let fill = |out: &mut [MaybeUninit<E>]| {
        for (k, dst) in out.chunks_mut(period).enumerate() {
            let range = k * period..(k + 1) * period;
            if sa.len() == len {
                op.apply_slices_uninit(&sa[range], sb, dst);
            } else {
                op.apply_slices_uninit(sa, &sb[range], dst);
            }
        }
    };
    // SAFETY: the chunks cover all `len` values, and each chunk is written whole.
    let out = unsafe { written(len, fill) };
    Some(
        Array::from_shape_vec(IxDyn(shape), out)
            .expect("length matches shape")
            .into_shared(),
    )
}

/// The fast path of [`binary`]: equal shapes, both contiguous in the same memory order.
fn binary_same_layout<E: Element>(
    a: &Storage<E>,
    b: &Storage<E>,
    op: BinaryOp,
) -> Option<Storage<E>> {
    let (sa, sb) = (a.as_slice_memory_order()?, b.as_slice_memory_order()?);
    let standard = a.is_standard_layout() && b.is_standard_layout();
    if !standard && !same_strides(a, b) {
        return None;
    }
    let strides = non_negative_strides(a)?;
    let out = op.apply_to_vec(sa, sb);
    Some(if standard {
        Array::from_shape_vec(IxDyn(a.shape()), out)
            .expect("length matches shape")
            .into_shared()
    } else {
        with_strides(out, a.shape(), &strides)
    })
}

/// `dst += alpha * src`, unsharing `dst` first if needed.
pub(crate) fn axpy_in_place<E: Element + LinalgScalar>(
    dst: &mut Storage<E>,
    alpha: E,
    src: &Storage<E>,
) {
    assert_eq!(dst.shape(), src.shape(), "axpy_in_place: shapes differ");
    // Same layout: duograd's vectorized `axpy` on the buffers (`scaled_add` gives the same
    // bits, compiled for the baseline instruction set). Unshared first, since unsharing may
    // change `dst`'s strides.
    let _ = dst.as_slice_memory_order_mut();
    if same_strides(dst, src) {
        if let (Some(d), Some(s)) = (dst.as_slice_memory_order_mut(), src.as_slice_memory_order()) {
            return axpy(d, alpha, s);
        }
    }
    dst.scaled_add(alpha, src);
}

/// `dst = op(dst)`, unsharing `dst` first if needed.
pub(crate) fn unary_in_place<E: Element>(dst: &mut Storage<E>, op: UnaryOp<E>) {
    // `as_slice_memory_order_mut` unshares the buffer before handing out the slice.
    if let Some(data) = dst.as_slice_memory_order_mut() {
        // The slice kernel reads and writes separate slices: copy each block to the stack first.
        let mut buf = [E::zero(); CHUNK];
        for block in data.chunks_mut(CHUNK) {
            let src = &mut buf[..block.len()];
            src.copy_from_slice(block);
            op.apply_slice(src, block);
        }
    } else {
        dst.map_inplace(|v| *v = op.apply(*v));
    }
}

/// The strides as `usize` if none is negative (always the case for arrays this backend makes).
fn non_negative_strides<E>(x: &Storage<E>) -> Option<Vec<usize>> {
    x.strides()
        .iter()
        .map(|&s| usize::try_from(s).ok())
        .collect()
}

/// Whether two arrays of the same shape map indices to memory the same way (strides of
/// length-1 axes do not matter).
fn same_strides<E>(a: &Storage<E>, b: &Storage<E>) -> bool {
    a.shape()
        .iter()
        .zip(a.strides().iter().zip(b.strides()))
        .all(|(&d, (sa, sb))| d <= 1 || sa == sb)
}

/// A vector of `len` values written by `fill` into fresh (or recycled) memory, not zeroed first.
///
/// # Safety
/// `fill` must write every element of the slice it is given.
unsafe fn written<E: 'static>(len: usize, fill: impl FnOnce(&mut [MaybeUninit<E>])) -> Vec<E> {
    let mut out = duograd_cpu::buffers::take(len);
    fill(&mut out.spare_capacity_mut()[..len]);
    // SAFETY: `fill` wrote all `len` values, as the caller promised.
    unsafe { out.set_len(len) };
    out
}

/// An array of `shape` whose memory-order buffer is `data`, laid out with `strides`.
fn with_strides<E: Element>(data: Vec<E>, shape: &[usize], strides: &[usize]) -> Storage<E> {
    use ndarray::ShapeBuilder;
    Array::from_shape_vec(IxDyn(shape).strides(IxDyn(strides)), data)
        .expect("strides of a contiguous array describe its buffer")
        .into_shared()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{from_vec, full, narrow, permute, to_vec};

    fn arange(shape: &[usize]) -> Storage<f64> {
        let n = duograd_backend::shape::numel(shape);
        from_vec((0..n).map(|i| i as f64).collect(), shape)
    }

    #[test]
    fn unary_by_hand() {
        let x = from_vec(vec![-2.0, 0.0, 3.0, 4.0], &[2, 2]);
        assert_eq!(to_vec(&unary(&x, UnaryOp::Relu)), vec![0.0, 0.0, 3.0, 4.0]);
        assert_eq!(
            to_vec(&unary(&x, UnaryOp::Neg)),
            vec![2.0, -0.0, -3.0, -4.0]
        );
        assert_eq!(
            to_vec(&unary(&x, UnaryOp::MulScalar(0.5))),
            vec![-1.0, 0.0, 1.5, 2.0]
        );
        assert_eq!(
            to_vec(&unary(&x, UnaryOp::Powf(2.0))),
            vec![4.0, 0.0, 9.0, 16.0]
        );
        assert_eq!(
            to_vec(&unary(&x, UnaryOp::GtScalar(0.0))),
            vec![0.0, 0.0, 1.0, 1.0]
        );
        assert_eq!(unary(&x, UnaryOp::Exp).shape(), &[2, 2]);
        let s = unary(&full(&[], 4.0f32), UnaryOp::Sqrt);
        assert_eq!(s.shape(), &[] as &[usize]);
        assert_eq!(to_vec(&s), vec![2.0]);
    }

    #[test]
    fn unary_keeps_a_permuted_layout_and_row_major_values() {
        let t = permute(&arange(&[2, 3]), &[1, 0]);
        let y = unary(&t, UnaryOp::AddScalar(1.0));
        assert_eq!(y.shape(), &[3, 2]);
        assert_eq!(y.strides(), t.strides(), "contiguous input layout is kept");
        assert_eq!(to_vec(&y), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    }

    #[test]
    fn unary_of_non_contiguous_views() {
        // Short lanes (element path): columns 1..3 of a 2x4 array.
        let n = narrow(&arange(&[2, 4]), 1, 1, 2);
        assert_eq!(
            to_vec(&unary(&n, UnaryOp::MulScalar(2.0))),
            vec![2.0, 4.0, 10.0, 12.0]
        );
        // Long lanes (slice path): columns 1..21 of a 3x24 array.
        let n = narrow(&arange(&[3, 24]), 1, 1, 20);
        let want: Vec<f64> = (0..3)
            .flat_map(|i| (1..21).map(move |j| -((i * 24 + j) as f64)))
            .collect();
        assert_eq!(to_vec(&unary(&n, UnaryOp::Neg)), want);
        // Long lanes that are not contiguous: a transposed view of a narrowed array.
        let t = permute(&narrow(&arange(&[20, 5]), 1, 0, 4), &[1, 0]);
        let want: Vec<f64> = (0..4)
            .flat_map(|j| (0..20).map(move |i| (i * 5 + j) as f64 + 0.5))
            .collect();
        assert_eq!(to_vec(&unary(&t, UnaryOp::AddScalar(0.5))), want);
    }

    #[test]
    fn binary_same_shape() {
        let a = from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]);
        let b = from_vec(vec![4.0, 3.0, 2.0, 1.0], &[2, 2]);
        assert_eq!(
            to_vec(&binary(&a, &b, BinaryOp::Sub)),
            vec![-3.0, -1.0, 1.0, 3.0]
        );
        assert_eq!(
            to_vec(&binary(&a, &b, BinaryOp::Div)),
            vec![0.25, 2.0 / 3.0, 1.5, 4.0]
        );
        assert_eq!(
            to_vec(&binary(&a, &b, BinaryOp::Maximum)),
            vec![4.0, 3.0, 3.0, 4.0]
        );
        assert_eq!(
            to_vec(&binary(&a, &b, BinaryOp::Le)),
            vec![1.0, 1.0, 0.0, 0.0]
        );
        assert_eq!(to_vec(&binary(&a, &b, BinaryOp::Eq)), vec![0.0; 4]);
        let nan = from_vec(vec![f64::NAN, 0.0, 1.0, 9.0], &[2, 2]);
        let m = to_vec(&binary(&a, &nan, BinaryOp::Maximum));
        assert!(m[0].is_nan());
        assert_eq!(&m[1..], &[2.0, 3.0, 9.0]);
    }

    #[test]
    fn binary_broadcasts_3x1_with_4() {
        let a = from_vec(vec![10.0, 20.0, 30.0], &[3, 1]);
        let b = from_vec(vec![1.0, 2.0, 3.0, 4.0], &[4]);
        let c = binary(&a, &b, BinaryOp::Add);
        assert_eq!(c.shape(), &[3, 4]);
        assert_eq!(
            to_vec(&c),
            vec![11.0, 12.0, 13.0, 14.0, 21.0, 22.0, 23.0, 24.0, 31.0, 32.0, 33.0, 34.0]
        );
        // Operand order matters for Sub.
        let d = binary(&b, &a, BinaryOp::Sub);
        assert_eq!(&to_vec(&d)[..4], &[-9.0, -8.0, -7.0, -6.0]);
    }

    /// The repeated-suffix fast path (`[2, 3, 4]` against `[4]`, `[1, 3, 4]` and `[3, 4]`, in
    /// both orders) gives what the general walk gives on a transposed copy of the same values.
    #[test]
    fn binary_with_a_repeated_suffix_matches_the_general_walk() {
        let a = arange(&[2, 3, 4]);
        // The same values through permuted strides: not standard layout, so the general walk.
        let transposed: Vec<f64> = (0..24)
            .map(|i| ((i % 2) * 12 + (i / 2 % 3) * 4 + i / 6) as f64)
            .collect();
        let a_strided = permute(&from_vec(transposed, &[4, 3, 2]), &[2, 1, 0]);
        assert_eq!(to_vec(&a_strided), to_vec(&a));
        assert!(!a_strided.is_standard_layout());
        for small_shape in [vec![4], vec![1, 3, 4], vec![3, 4]] {
            let n: usize = small_shape.iter().product();
            let small = from_vec((0..n).map(|i| 0.5 + i as f64).collect(), &small_shape);
            for op in [BinaryOp::Sub, BinaryOp::Div] {
                assert_eq!(
                    to_vec(&binary(&a, &small, op)),
                    to_vec(&binary(&a_strided, &small, op)),
                    "{op:?} {small_shape:?}"
                );
                assert_eq!(
                    to_vec(&binary(&small, &a, op)),
                    to_vec(&binary(&small, &a_strided, op)),
                    "{op:?} {small_shape:?} reversed"
                );
            }
        }
    }

    #[test]
    fn binary_broadcasts_2x3x4_with_3x1() {
        let a = arange(&[2, 3, 4]);
        let b = from_vec(vec![1.0, 2.0, 3.0], &[3, 1]);
        let c = binary(&a, &b, BinaryOp::Mul);
        assert_eq!(c.shape(), &[2, 3, 4]);
        let want: Vec<f64> = (0..24)
            .map(|i| i as f64 * ((i / 4) % 3 + 1) as f64)
            .collect();
        assert_eq!(to_vec(&c), want);
    }

    #[test]
    fn binary_with_scalar_shape_operands() {
        let x = from_vec(vec![1.0, 2.0, 3.0], &[3]);
        let s = full(&[], 2.0);
        assert_eq!(to_vec(&binary(&x, &s, BinaryOp::Mul)), vec![2.0, 4.0, 6.0]);
        let r = binary(&s, &x, BinaryOp::Div);
        assert_eq!(r.shape(), &[3]);
        assert_eq!(to_vec(&r), vec![2.0, 1.0, 2.0 / 3.0]);
        let ss = binary(&s, &full(&[], 5.0), BinaryOp::Sub);
        assert_eq!(ss.shape(), &[] as &[usize]);
        assert_eq!(to_vec(&ss), vec![-3.0]);
        // A 1x1 operand against a 2-D one with long rows.
        let m = arange(&[2, 20]);
        let one = from_vec(vec![100.0], &[1, 1]);
        let want: Vec<f64> = (0..40).map(|i| i as f64 + 100.0).collect();
        assert_eq!(to_vec(&binary(&m, &one, BinaryOp::Add)), want);
    }

    #[test]
    fn binary_long_rows_with_column_and_row_broadcasts() {
        // Softmax-like `x - max(x, keepdim)` and bias-like `x + b` on 20-wide rows.
        let x = arange(&[3, 20]);
        let col = from_vec(vec![1.0, 2.0, 3.0], &[3, 1]);
        let want: Vec<f64> = (0..60).map(|i| i as f64 - (i / 20 + 1) as f64).collect();
        assert_eq!(to_vec(&binary(&x, &col, BinaryOp::Sub)), want);
        let row = from_vec((0..20).map(|j| j as f64 * 10.0).collect(), &[20]);
        let want: Vec<f64> = (0..60).map(|i| i as f64 + (i % 20) as f64 * 10.0).collect();
        assert_eq!(to_vec(&binary(&x, &row, BinaryOp::Add)), want);
    }

    #[test]
    fn binary_of_differently_laid_out_operands() {
        let a = arange(&[3, 2]);
        let t = permute(&arange(&[2, 3]), &[1, 0]); // [[0, 3], [1, 4], [2, 5]]
        assert_eq!(
            to_vec(&binary(&a, &t, BinaryOp::Add)),
            vec![0.0, 4.0, 3.0, 7.0, 6.0, 10.0]
        );
        // Both transposed the same way: the fast path keeps the layout.
        let tt = binary(&t, &t, BinaryOp::Mul);
        assert_eq!(tt.strides(), t.strides());
        assert_eq!(to_vec(&tt), vec![0.0, 9.0, 1.0, 16.0, 4.0, 25.0]);
        // A transposed operand with long rows goes through the scratch-lane path.
        let big = permute(&arange(&[20, 3]), &[1, 0]);
        let ones = full(&[3, 20], 1.0);
        let want: Vec<f64> = (0..3)
            .flat_map(|j| (0..20).map(move |i| (i * 3 + j) as f64 + 1.0))
            .collect();
        assert_eq!(to_vec(&binary(&big, &ones, BinaryOp::Add)), want);
    }

    #[test]
    fn empty_arrays_in_every_path() {
        let e = from_vec(Vec::<f64>::new(), &[0, 3]);
        let t = permute(&e, &[1, 0]);
        assert_eq!(unary(&t, UnaryOp::Exp).shape(), &[3, 0]);
        assert_eq!(binary(&t, &t, BinaryOp::Add).shape(), &[3, 0]);
        let row = from_vec(vec![1.0, 2.0, 3.0], &[3]);
        let b = binary(&e, &row, BinaryOp::Mul);
        assert_eq!(b.shape(), &[0, 3]);
        assert_eq!(to_vec(&b), Vec::<f64>::new());
        let n = narrow(&arange(&[2, 4]), 1, 1, 0);
        assert_eq!(unary(&n, UnaryOp::Neg).shape(), &[2, 0]);
        let mut m = e.clone();
        unary_in_place(&mut m, UnaryOp::Neg);
        axpy_in_place(&mut m, 1.0, &e);
        assert_eq!(m.shape(), &[0, 3]);
    }

    #[test]
    fn axpy_in_place_by_hand() {
        let mut d = from_vec(vec![1.0, 2.0, 3.0], &[3]);
        let s = from_vec(vec![10.0, 20.0, 30.0], &[3]);
        axpy_in_place(&mut d, 0.5, &s);
        assert_eq!(to_vec(&d), vec![6.0, 12.0, 18.0]);
        // Different layouts of dst and src.
        let mut d = arange(&[2, 3]);
        let s = permute(&arange(&[3, 2]), &[1, 0]); // [[0, 2, 4], [1, 3, 5]]
        axpy_in_place(&mut d, -1.0, &s);
        assert_eq!(to_vec(&d), vec![0.0, -1.0, -2.0, 2.0, 1.0, 0.0]);
    }

    #[test]
    fn in_place_ops_on_a_shared_storage_leave_the_clone_alone() {
        let original = from_vec(vec![1.0, -2.0, 3.0], &[3]);
        let mut d = original.clone();
        axpy_in_place(&mut d, 2.0, &from_vec(vec![1.0, 1.0, 1.0], &[3]));
        assert_eq!(to_vec(&d), vec![3.0, 0.0, 5.0]);
        assert_eq!(to_vec(&original), vec![1.0, -2.0, 3.0]);

        let mut u = original.clone();
        unary_in_place(&mut u, UnaryOp::Relu);
        assert_eq!(to_vec(&u), vec![1.0, 0.0, 3.0]);
        assert_eq!(to_vec(&original), vec![1.0, -2.0, 3.0]);

        // Once unique, the buffer is updated where it is.
        let ptr = u.as_ptr();
        unary_in_place(&mut u, UnaryOp::MulScalar(2.0));
        assert_eq!(u.as_ptr(), ptr);
        assert_eq!(to_vec(&u), vec![2.0, 0.0, 6.0]);

        // A narrowed (non-contiguous) view of a shared buffer.
        let base = arange(&[2, 4]);
        let mut n = narrow(&base, 1, 1, 2);
        unary_in_place(&mut n, UnaryOp::Neg);
        assert_eq!(to_vec(&n), vec![-1.0, -2.0, -5.0, -6.0]);
        let mut n = narrow(&base, 1, 1, 2);
        axpy_in_place(&mut n, 1.0, &full(&[2, 2], 1.0));
        assert_eq!(to_vec(&n), vec![2.0, 3.0, 6.0, 7.0]);
        assert_eq!(to_vec(&base), (0..8).map(f64::from).collect::<Vec<_>>());
    }

    #[test]
    fn unary_in_place_across_chunks() {
        let n = 3 * CHUNK + 7;
        let mut x = from_vec((0..n).map(|i| i as f64).collect(), &[n]);
        unary_in_place(&mut x, UnaryOp::RSubScalar(1.0));
        let want: Vec<f64> = (0..n).map(|i| 1.0 - i as f64).collect();
        assert_eq!(to_vec(&x), want);
        // And on a permuted (contiguous, non-standard) array.
        let mut t = permute(&arange(&[2, 3]), &[1, 0]);
        unary_in_place(&mut t, UnaryOp::AddScalar(1.0));
        assert_eq!(to_vec(&t), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    }
}
