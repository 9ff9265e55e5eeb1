//! Creation, inspection and layout changes: `from_vec`, `full`, `to_vec`, `reshape`, `permute`,
//! `expand`, `concat`, `narrow`.
//!
//! Whatever can be a view of the same buffer is one (`permute`, `narrow`, `reshape` whenever the
//! strides allow it); `expand` and `concat` allocate.

use duograd_backend::Element;
use ndarray::{ArcArray, Array1, Array2, Axis, IxDyn, Slice};

use crate::Storage;

/// Builds an array from row-major data.
pub(crate) fn from_vec<E: Element>(data: Vec<E>, shape: &[usize]) -> Storage<E> {
    let len = data.len();
    // Vectors and matrices, most of what is built, skip the general N-d shape checks.
    match *shape {
        [n] if n == len => Array1::from_vec(data).into_dyn().into_shared(),
        [rows, cols] if rows.checked_mul(cols) == Some(len) => {
            Array2::from_shape_vec((rows, cols), data)
                .expect("rows × cols elements")
                .into_dyn()
                .into_shared()
        }
        _ => ArcArray::from_shape_vec(IxDyn(shape), data).unwrap_or_else(|_| {
            panic!("from_vec: {len} elements do not fill shape {shape:?}");
        }),
    }
}

/// An array filled with `value`.
pub(crate) fn full<E: Element>(shape: &[usize], value: E) -> Storage<E> {
    ArcArray::from_elem(IxDyn(shape), value)
}

/// The elements in row-major order, whatever the storage's strides.
pub(crate) fn to_vec<E: Element>(x: &Storage<E>) -> Vec<E> {
    match x.as_slice() {
        Some(s) => s.to_vec(),
        // ndarray gathers a non-standard array into a fresh row-major buffer, which is the
        // vector itself: the owned array starts at offset 0 of it.
        None => {
            x.as_standard_layout()
                .into_owned()
                .into_raw_vec_and_offset()
                .0
        }
    }
}

/// The same row-major elements under a new shape; a view when the strides allow it.
pub(crate) fn reshape<E: Element>(x: &Storage<E>, shape: &[usize]) -> Storage<E> {
    if x.shape() == shape {
        return x.clone();
    }
    // `into_shape_clone` reuses the buffer when the current strides can express the new shape in
    // row-major order, and copies into standard layout only otherwise.
    x.clone()
        .into_shape_clone(IxDyn(shape))
        .unwrap_or_else(|_| panic!("reshape: cannot reshape {:?} to {shape:?}", x.shape()))
}

/// Reorders the axes (a view: only the strides change).
pub(crate) fn permute<E: Element>(x: &Storage<E>, perm: &[usize]) -> Storage<E> {
    assert_eq!(
        perm.len(),
        x.ndim(),
        "permute: permutation {perm:?} does not match rank {}",
        x.ndim()
    );
    x.clone().permuted_axes(IxDyn(perm))
}

/// Broadcasts to `shape`, materialized: a stride-0 view could not be mutated in place later.
pub(crate) fn expand<E: Element>(x: &Storage<E>, shape: &[usize]) -> Storage<E> {
    if x.shape() == shape {
        return x.clone();
    }
    let view = x
        .broadcast(IxDyn(shape))
        .unwrap_or_else(|| panic!("expand: {:?} does not broadcast to {shape:?}", x.shape()));
    view.to_owned().into_shared()
}

/// Joins arrays along `axis`.
pub(crate) fn concat<E: Element>(xs: &[Storage<E>], axis: usize) -> Storage<E> {
    assert!(!xs.is_empty(), "concat: no arrays");
    if xs.len() == 1 {
        return xs[0].clone();
    }
    let views: Vec<_> = xs.iter().map(|x| x.view()).collect();
    ndarray::concatenate(Axis(axis), &views)
        .unwrap_or_else(|e| panic!("concat along axis {axis}: {e}"))
        .into_shared()
}

/// The sub-array `start..start + len` along `axis`, as a view of the same buffer.
pub(crate) fn narrow<E: Element>(
    x: &Storage<E>,
    axis: usize,
    start: usize,
    len: usize,
) -> Storage<E> {
    assert!(
        axis < x.ndim() && start + len <= x.len_of(Axis(axis)),
        "narrow: {start}..{} out of bounds on axis {axis} of {:?}",
        start + len,
        x.shape()
    );
    let mut y = x.clone();
    // `ArrayBase::slice_axis_inplace` only moves the pointer: no unsharing, no copy.
    y.slice_axis_inplace(Axis(axis), Slice::from(start..start + len));
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arange(shape: &[usize]) -> Storage<f64> {
        let n = duograd_backend::shape::numel(shape);
        from_vec((0..n).map(|i| i as f64).collect(), shape)
    }

    #[test]
    fn from_vec_full_and_to_vec_round_trip() {
        let x = from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
        assert_eq!(x.shape(), &[2, 3]);
        assert_eq!(to_vec(&x), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let f = full(&[2, 2], 7.0f32);
        assert_eq!(to_vec(&f), vec![7.0; 4]);
        let s = full(&[], 3.0f64);
        assert_eq!(s.shape(), &[] as &[usize]);
        assert_eq!(to_vec(&s), vec![3.0]);
        let empty = from_vec(Vec::<f64>::new(), &[0, 3]);
        assert_eq!(to_vec(&empty), Vec::<f64>::new());
    }

    #[test]
    #[should_panic(expected = "do not fill")]
    fn from_vec_rejects_wrong_length() {
        from_vec(vec![1.0f64, 2.0], &[3]);
    }

    #[test]
    fn permute_is_a_view_and_to_vec_is_row_major() {
        // [[0, 1, 2], [3, 4, 5]] transposed is [[0, 3], [1, 4], [2, 5]].
        let x = arange(&[2, 3]);
        let t = permute(&x, &[1, 0]);
        assert_eq!(t.shape(), &[3, 2]);
        assert_eq!(t.as_ptr(), x.as_ptr(), "permute must not copy");
        assert!(!t.is_standard_layout());
        assert_eq!(to_vec(&t), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);

        // 3-D: (2, 3, 4) -> (4, 2, 3); out[i][j][k] = x[j][k][i] = 12j + 4k + i.
        let x = arange(&[2, 3, 4]);
        let p = permute(&x, &[2, 0, 1]);
        assert_eq!(p.shape(), &[4, 2, 3]);
        let v = to_vec(&p);
        assert_eq!(&v[..6], &[0.0, 4.0, 8.0, 12.0, 16.0, 20.0]);
        assert_eq!(&v[6..9], &[1.0, 5.0, 9.0]);
    }

    #[test]
    fn reshape_of_standard_array_is_a_view() {
        let x = arange(&[2, 3]);
        let r = reshape(&x, &[3, 2]);
        assert_eq!(r.as_ptr(), x.as_ptr());
        assert_eq!(r.shape(), &[3, 2]);
        assert_eq!(to_vec(&r), to_vec(&x));
        let s = reshape(&from_vec(vec![5.0f64], &[1, 1]), &[]);
        assert_eq!(s.shape(), &[] as &[usize]);
        assert_eq!(to_vec(&s), vec![5.0]);
    }

    #[test]
    fn reshape_of_permuted_array_uses_row_major_order() {
        // transpose of [[0, 1, 2], [3, 4, 5]] is [[0, 3], [1, 4], [2, 5]]; flattened row-major.
        let t = permute(&arange(&[2, 3]), &[1, 0]);
        let flat = reshape(&t, &[6]);
        assert_eq!(to_vec(&flat), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        let r = reshape(&t, &[2, 3]);
        assert_eq!(to_vec(&r), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        // The source is untouched.
        assert_eq!(to_vec(&t), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    }

    #[test]
    fn reshape_of_narrowed_array() {
        // Columns 1..3 of [[0, 1, 2, 3], [4, 5, 6, 7]] are [[1, 2], [5, 6]].
        let n = narrow(&arange(&[2, 4]), 1, 1, 2);
        assert_eq!(to_vec(&reshape(&n, &[4])), vec![1.0, 2.0, 5.0, 6.0]);
        // Splitting the last axis of a row-strided view needs no copy.
        let rows = narrow(&arange(&[4, 4]), 0, 1, 2);
        let split = reshape(&rows, &[2, 2, 2]);
        assert_eq!(
            to_vec(&split),
            vec![4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0]
        );
    }

    #[test]
    fn expand_materializes_the_broadcast() {
        let x = from_vec(vec![1.0, 2.0, 3.0], &[3, 1]);
        let e = expand(&x, &[2, 3, 2]);
        assert_eq!(e.shape(), &[2, 3, 2]);
        assert!(e.strides().iter().all(|&s| s != 0));
        assert_eq!(
            to_vec(&e),
            vec![1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0]
        );
        let s = expand(&full(&[], 4.0f64), &[2, 2]);
        assert_eq!(to_vec(&s), vec![4.0; 4]);
        let same = expand(&x, &[3, 1]);
        assert_eq!(same.as_ptr(), x.as_ptr());
    }

    #[test]
    fn concat_along_axis_1() {
        let a = from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]);
        let b = from_vec(vec![5.0, 6.0], &[2, 1]);
        let c = concat(&[a.clone(), b.clone()], 1);
        assert_eq!(c.shape(), &[2, 3]);
        assert_eq!(to_vec(&c), vec![1.0, 2.0, 5.0, 3.0, 4.0, 6.0]);
        let c0 = concat(&[a.clone(), a], 0);
        assert_eq!(to_vec(&c0), vec![1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0]);
        assert_eq!(to_vec(&concat(&[b], 1)), vec![5.0, 6.0]);
        // A permuted operand is read in logical order.
        let t = permute(&from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]), &[1, 0]);
        let c = concat(&[t, from_vec(vec![9.0, 9.0], &[2, 1])], 1);
        assert_eq!(to_vec(&c), vec![1.0, 3.0, 9.0, 2.0, 4.0, 9.0]);
    }

    #[test]
    fn narrow_along_axis_1_is_a_view() {
        let x = arange(&[2, 4]);
        let n = narrow(&x, 1, 1, 2);
        assert_eq!(n.shape(), &[2, 2]);
        assert_eq!(to_vec(&n), vec![1.0, 2.0, 5.0, 6.0]);
        assert_eq!(
            n.as_ptr(),
            unsafe { x.as_ptr().add(1) },
            "narrow must not copy"
        );
        let empty = narrow(&x, 1, 4, 0);
        assert_eq!(empty.shape(), &[2, 0]);
        assert_eq!(to_vec(&empty), Vec::<f64>::new());
        // narrow then concat restores the array.
        let parts = [narrow(&x, 1, 0, 1), narrow(&x, 1, 1, 3)];
        assert_eq!(to_vec(&concat(&parts, 1)), to_vec(&x));
    }

    #[test]
    #[should_panic(expected = "out of bounds")]
    fn narrow_out_of_bounds_panics() {
        narrow(&arange(&[2, 4]), 1, 3, 2);
    }
}
