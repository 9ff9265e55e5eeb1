//! Layout and indexing kernels: `reshape`, `permute`, `expand`, `concat`, `narrow`, `take`,
//! `scatter_add`.
//!
//! - `reshape` between two shapes whose buffers are row-major (rank ≥ 3, or a matrix with one
//!   row or column) reuses the buffer: shared when the matrix dimensions do not change (e.g.
//!   `[2, 3, 4]` ↔ `[6, 1, 4]`), copied as-is otherwise. Reshaping a 2-D matrix to or from such
//!   a shape is one tiled transpose, and between two matrices of different dimensions two.
//! - `permute` of a matrix is a tiled transpose (`transpose_buffer`); other permutations are
//!   strided gathers with permuted storage strides (`crate::strided`).
//! - `expand` fills whole columns for the row/column-vector and scalar broadcasts and gathers
//!   with zero strides otherwise.
//! - `concat` and `narrow` copy contiguous blocks of the buffer seen in storage order (the
//!   row-major array itself for rank ≥ 3; for a matrix, along its columns: whole column ranges
//!   for axis 1, one slice of each column for axis 0).
//! - `take` and `scatter_add` index the buffer directly where it is row-major, and map each
//!   flat index to its column-major offset in a matrix.

use duograd_backend::shape::numel;
use duograd_backend::Element;
use nalgebra::DMatrix;

use crate::elementwise::Broadcast;
use crate::storage::{
    broadcast_storage_strides, is_row_major, matrix_dims, storage_axis, storage_offset,
    storage_order, storage_strides, transpose_buffer, NaTensor,
};
use crate::strided::gather;

/// The same elements (row-major) under `shape`.
pub(crate) fn reshape<E: Element>(x: &NaTensor<E>, shape: &[usize]) -> NaTensor<E> {
    assert_eq!(
        numel(shape),
        x.numel(),
        "reshape: {:?} to {shape:?} changes the number of elements",
        x.shape()
    );
    if is_row_major(x.shape()) && is_row_major(shape) {
        x.reinterpret(shape)
    } else if x.shape() == shape {
        x.clone()
    } else {
        NaTensor::from_row_major(x.to_row_major(), shape)
    }
}

/// Output axis `i` is input axis `perm[i]`.
pub(crate) fn permute<E: Element>(x: &NaTensor<E>, perm: &[usize]) -> NaTensor<E> {
    let shape = x.shape();
    let rank = shape.len();
    let mut seen = vec![false; rank];
    assert!(
        perm.len() == rank
            && perm
                .iter()
                .all(|&p| p < rank && !std::mem::replace(&mut seen[p], true)),
        "permute: {perm:?} is not a permutation of the axes of {shape:?}"
    );
    if perm.iter().enumerate().all(|(i, &p)| i == p) {
        return x.clone();
    }
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    if rank == 2 {
        // The transpose: a tiled copy (see `transpose_buffer`; nalgebra's `transpose` gives the
        // same matrix, slower).
        let (rows, cols) = x.dims();
        return NaTensor::from_storage(transpose_buffer(x.storage(), rows, cols), &out_shape);
    }
    let st = storage_strides(shape);
    let src_strides: Vec<usize> = perm.iter().map(|&p| st[p]).collect();
    gather(x.storage(), &out_shape, &src_strides, 0)
}

/// Broadcasts `x` to `shape`.
pub(crate) fn expand<E: Element>(x: &NaTensor<E>, shape: &[usize]) -> NaTensor<E> {
    assert!(
        duograd_backend::shape::broadcasts_to(x.shape(), shape),
        "expand: {:?} does not broadcast to {shape:?}",
        x.shape()
    );
    if x.numel() == numel(shape) {
        // Only size-1 axes were added: the same elements in the same row-major order.
        return reshape(x, shape);
    }
    let (rows, cols) = matrix_dims(shape);
    let matrix = match Broadcast::classify(x, shape) {
        Some(Broadcast::Scalar(v)) => DMatrix::from_element(rows, cols, v),
        Some(Broadcast::Row(row)) => {
            // Column j is the value row[j], repeated.
            let mut data = Vec::with_capacity(rows * cols);
            for &v in row {
                data.resize(data.len() + rows, v);
            }
            DMatrix::from_vec(rows, cols, data)
        }
        Some(Broadcast::Col(src)) => {
            // Every column is a copy of the source column.
            let mut data = Vec::with_capacity(rows * cols);
            for _ in 0..cols {
                data.extend_from_slice(src);
            }
            DMatrix::from_vec(rows, cols, data)
        }
        Some(Broadcast::Full(m)) => m.clone(),
        None => {
            let st = broadcast_storage_strides(x.shape(), shape);
            return gather(x.storage(), shape, &st, 0);
        }
    };
    NaTensor::from_parts(matrix, shape.to_vec())
}

/// Joins `xs` along `axis`.
pub(crate) fn concat<E: Element>(xs: &[NaTensor<E>], axis: usize) -> NaTensor<E> {
    let first = xs.first().expect("concat: no arrays");
    let shape = first.shape();
    assert!(
        axis < shape.len(),
        "concat: axis {axis} out of range for {shape:?}"
    );
    for x in xs {
        let s = x.shape();
        assert!(
            s.len() == shape.len() && (0..s.len()).all(|i| i == axis || s[i] == shape[i]),
            "concat: {s:?} does not match {shape:?} off axis {axis}"
        );
    }
    if xs.len() == 1 {
        return first.clone();
    }
    let mut out_shape = shape.to_vec();
    out_shape[axis] = xs.iter().map(|x| x.shape()[axis]).sum();
    // In storage order, everything before the concat axis is an outer loop; each array
    // contributes one contiguous block per outer index.
    let dims = storage_order(shape);
    let outer = numel(&dims[..storage_axis(axis, shape.len())]);
    let mut data = Vec::with_capacity(numel(&out_shape));
    if outer > 0 {
        let blocks: Vec<usize> = xs.iter().map(|x| x.numel() / outer).collect();
        for o in 0..outer {
            for (x, &b) in xs.iter().zip(&blocks) {
                data.extend_from_slice(&x.storage()[o * b..(o + 1) * b]);
            }
        }
    }
    NaTensor::from_storage(data, &out_shape)
}

/// The sub-array `start..start + len` along `axis`.
pub(crate) fn narrow<E: Element>(
    x: &NaTensor<E>,
    axis: usize,
    start: usize,
    len: usize,
) -> NaTensor<E> {
    let shape = x.shape();
    assert!(
        axis < shape.len() && start + len <= shape[axis],
        "narrow: {start}..{} along axis {axis} is out of bounds for {shape:?}",
        start + len
    );
    if start == 0 && len == shape[axis] {
        return x.clone();
    }
    let mut out_shape = shape.to_vec();
    out_shape[axis] = len;
    let dims = storage_order(shape);
    let q = storage_axis(axis, shape.len());
    let (outer, full, inner) = (numel(&dims[..q]), dims[q], numel(&dims[q + 1..]));
    let mut data = Vec::with_capacity(numel(&out_shape));
    for o in 0..outer {
        let from = (o * full + start) * inner;
        data.extend_from_slice(&x.storage()[from..from + len * inner]);
    }
    NaTensor::from_storage(data, &out_shape)
}

/// Gathers elements by flat row-major index into a 1-D array.
pub(crate) fn take<E: Element>(x: &NaTensor<E>, indices: &[usize]) -> NaTensor<E> {
    let n = x.numel();
    let s = x.storage();
    let shape = x.shape();
    let data = indices
        .iter()
        .map(|&f| {
            assert!(f < n, "take: index {f} out of range for {} elements", n);
            s[storage_offset(f, shape)]
        })
        .collect();
    NaTensor::from_storage(data, &[indices.len()])
}

/// A zero array of `shape` with `src`'s elements added at flat row-major `indices`.
pub(crate) fn scatter_add<E: Element>(
    shape: &[usize],
    indices: &[usize],
    src: &NaTensor<E>,
) -> NaTensor<E> {
    assert_eq!(
        src.numel(),
        indices.len(),
        "scatter_add: {} source elements for {} indices",
        src.numel(),
        indices.len()
    );
    let n = numel(shape);
    // A recycled buffer: a large zeroed one would otherwise be fresh pages, faulted in one by one.
    let mut data = duograd_cpu::buffers::take::<E>(n);
    data.resize(n, E::zero());
    let values = src.to_row_major();
    for (&f, &v) in indices.iter().zip(&values) {
        assert!(
            f < n,
            "scatter_add: index {f} out of range for shape {shape:?}"
        );
        data[storage_offset(f, shape)] += v;
    }
    NaTensor::from_storage(data, shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reshape_shares_when_the_matrix_is_unchanged() {
        let x = NaTensor::from_row_major((0..24).map(f64::from).collect(), &[2, 3, 4]);
        let y = reshape(&x, &[6, 1, 4]);
        assert!(y.shares_matrix_with(&x));
        assert_eq!(y.to_row_major(), x.to_row_major());
        // Another row-major buffer: the same data, in a matrix of other dimensions.
        let v = reshape(&x, &[4, 3, 2]);
        assert_eq!(v.storage(), x.storage());
        assert_eq!(v.dims(), (2, 12));
        for shape in [[6, 4], [4, 6]] {
            let z = reshape(&x, &shape);
            assert!(!z.shares_matrix_with(&x));
            assert_eq!(z.to_row_major(), x.to_row_major());
            assert_eq!(reshape(&z, &[2, 3, 4]).storage(), x.storage());
        }
    }

    #[test]
    fn expand_without_new_elements_shares() {
        let x = NaTensor::from_row_major(vec![1.0f32, 2.0], &[2]);
        assert!(expand(&x, &[1, 2]).shares_matrix_with(&x));
        assert_eq!(expand(&x, &[1, 1, 2]).to_row_major(), vec![1.0, 2.0]);
        let y = NaTensor::from_row_major((0..12).map(|i| i as f32).collect(), &[1, 3, 4]);
        assert!(expand(&y, &[1, 1, 3, 4]).shares_matrix_with(&y));
    }
}
