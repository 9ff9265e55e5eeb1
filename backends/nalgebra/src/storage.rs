//! [`NaTensor`], the storage type, and the mapping between duograd's row-major N-d tensors and
//! nalgebra's column-major [`DMatrix`].
//!
//! - Rank 0 `[]` is `1×1`, rank 1 `[n]` is a `1×n` row, rank 2 `[r, c]` is the `r×c` matrix:
//!   a 2-D tensor *is* its matrix.
//! - Rank ≥ 3 `[d0, …, dk]` is the `DMatrix` with `dk` rows and `d0·…·d(k-1)` columns, tensor
//!   element `(i0, …, ik)` being matrix element `(ik, row-major index of (i0, …, i(k-1)))`.
//!
//! Because nalgebra is column-major, the buffer (`as_slice()`) of a rank ≥ 3 tensor is exactly
//! its row-major order, as is the buffer of a matrix with at most one row or one column
//! ([`is_row_major`]): their conversions from and to row-major data are plain copies, and
//! reshapes among them reuse the buffer. Only a 2-D tensor with several rows and columns stores
//! its elements in another order, the column-major one: its buffer walks the axes in *storage
//! order* `[c, r]` (see [`storage_order`]), which the N-d code of the other modules handles
//! through [`storage_strides`].

use std::fmt;
use std::sync::Arc;

use duograd_backend::shape::{numel, strides};
use duograd_backend::Element;
use nalgebra::{DMatrix, Dyn};

/// A duograd tensor stored in a reference-counted nalgebra [`DMatrix`].
///
/// Cloning is cheap (it shares the matrix). See the [crate documentation](crate) for the layout:
/// a 2-D tensor *is* its matrix, so [`NaTensor::matrix`] and [`NaTensor::from_matrix`] let you move
/// between duograd and plain nalgebra code.
#[derive(Clone)]
pub struct NaTensor<E> {
    matrix: Arc<DMatrix<E>>,
    shape: Vec<usize>,
}

impl<E: Element> NaTensor<E> {
    /// Builds a tensor of `shape` from row-major `data`.
    ///
    /// # Panics
    /// If `data.len()` is not the product of `shape`.
    ///
    /// ```
    /// use duograd_nalgebra::NaTensor;
    /// let t = NaTensor::from_row_major(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    /// assert_eq!(t.matrix()[(1, 0)], 4.0); // row 1, column 0
    /// assert_eq!(t.to_row_major(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    /// ```
    pub fn from_row_major(data: Vec<E>, shape: &[usize]) -> Self {
        let (rows, cols) = matrix_dims(shape);
        assert_eq!(
            data.len(),
            rows * cols,
            "from_row_major: {} elements for shape {shape:?}",
            data.len()
        );
        let matrix = if is_row_major(shape) {
            DMatrix::from_vec(rows, cols, data)
        } else {
            // Row-major `rows×cols` data is the column-major buffer of the `cols×rows` transpose.
            DMatrix::from_vec(rows, cols, transpose_buffer(&data, cols, rows))
        };
        Self::from_parts(matrix, shape.to_vec())
    }

    /// A 2-D tensor whose matrix is `matrix` (no copy).
    pub fn from_matrix(matrix: DMatrix<E>) -> Self {
        let shape = vec![matrix.nrows(), matrix.ncols()];
        Self::from_parts(matrix, shape)
    }

    /// The elements in row-major order.
    pub fn to_row_major(&self) -> Vec<E> {
        let (rows, cols) = self.dims();
        if is_row_major(&self.shape) {
            self.matrix.as_slice().to_vec()
        } else {
            transpose_buffer(self.matrix.as_slice(), rows, cols)
        }
    }

    /// The matrix's column-major buffer, if no other tensor shares it.
    pub fn into_buffer(self) -> Option<Vec<E>> {
        Arc::try_unwrap(self.matrix).ok().map(|m| m.data.into())
    }

    /// The underlying matrix: the tensor itself for rank 2, `dk` rows and `d0·…·d(k-1)` columns
    /// for rank `k + 1 ≥ 3` (see [`matrix_dims`]).
    pub fn matrix(&self) -> &DMatrix<E> {
        &self.matrix
    }

    /// The tensor's shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.matrix.len()
    }

    /// Wraps `matrix` under `shape`. Panics if the matrix dimensions do not match the shape.
    pub(crate) fn from_parts(matrix: DMatrix<E>, shape: Vec<usize>) -> Self {
        assert_eq!(
            matrix.shape(),
            matrix_dims(&shape),
            "NaTensor: matrix dimensions do not match shape {shape:?}"
        );
        Self {
            matrix: Arc::new(matrix),
            shape,
        }
    }

    /// Wraps a buffer in storage (column-major) order under `shape`.
    pub(crate) fn from_storage(data: Vec<E>, shape: &[usize]) -> Self {
        let (rows, cols) = matrix_dims(shape);
        Self::from_parts(DMatrix::from_vec(rows, cols, data), shape.to_vec())
    }

    /// The same matrix (shared, no copy) under another shape with the same matrix dimensions
    /// and the same storage order.
    pub(crate) fn with_shape(&self, shape: &[usize]) -> Self {
        assert_eq!(self.matrix.shape(), matrix_dims(shape));
        Self {
            matrix: Arc::clone(&self.matrix),
            shape: shape.to_vec(),
        }
    }

    /// The buffer in storage (column-major) order.
    pub(crate) fn storage(&self) -> &[E] {
        self.matrix.as_slice()
    }

    /// `(rows, cols)` of the matrix.
    pub(crate) fn dims(&self) -> (usize, usize) {
        self.matrix.shape()
    }

    /// Mutable access to the matrix, copying it first if it is shared.
    pub(crate) fn matrix_mut(&mut self) -> &mut DMatrix<E> {
        Arc::make_mut(&mut self.matrix)
    }

    /// Whether the underlying matrix is shared with another tensor (test helper).
    #[cfg(test)]
    pub(crate) fn shares_matrix_with(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.matrix, &other.matrix)
    }

    /// The same buffer (shared, or copied once if the matrix dimensions change) under `shape`:
    /// the same tensor when both shapes have row-major buffers ([`is_row_major`]).
    pub(crate) fn reinterpret(&self, shape: &[usize]) -> Self {
        let (rows, cols) = matrix_dims(shape);
        if self.dims() == (rows, cols) {
            return self.with_shape(shape);
        }
        let m = (*self.matrix).clone().reshape_generic(Dyn(rows), Dyn(cols));
        Self::from_parts(m, shape.to_vec())
    }
}

impl<E: Element> fmt::Debug for NaTensor<E> {
    /// Shows the shape and the elements in row-major order (not nalgebra's column order).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NaTensor")
            .field("shape", &self.shape)
            .field("data", &self.to_row_major())
            .finish()
    }
}

/// The `(rows, cols)` of the matrix storing a tensor of `shape`: `(1, 1)` for a scalar, `(1, n)`
/// for rank 1, the shape itself for rank 2, and `(dk, d0·…·d(k-1))` for rank ≥ 3 (whose
/// column-major buffer is then the tensor's row-major order).
///
/// ```
/// use duograd_nalgebra::matrix_dims;
/// assert_eq!(matrix_dims(&[]), (1, 1));
/// assert_eq!(matrix_dims(&[5]), (1, 5));
/// assert_eq!(matrix_dims(&[6, 4]), (6, 4));
/// assert_eq!(matrix_dims(&[2, 3, 4]), (4, 6));
/// assert_eq!(matrix_dims(&[8, 3, 28, 28]), (28, 8 * 3 * 28));
/// ```
pub fn matrix_dims(shape: &[usize]) -> (usize, usize) {
    match *shape {
        [] => (1, 1),
        [n] => (1, n),
        [rows, cols] => (rows, cols),
        [ref lead @ .., last] => (last, numel(lead)),
    }
}

/// Whether a `rows×cols` matrix has the same element order column-major and row-major.
pub(crate) fn is_vector_like(rows: usize, cols: usize) -> bool {
    rows <= 1 || cols <= 1
}

/// Whether the buffer of a tensor of `shape` is its row-major order: everything but a 2-D
/// tensor with several rows and several columns.
pub(crate) fn is_row_major(shape: &[usize]) -> bool {
    match *shape {
        [rows, cols] => is_vector_like(rows, cols),
        _ => true,
    }
}

/// Reorders per-axis values (a shape, strides, flags) into storage order: the two axes swapped
/// for rank 2, unchanged otherwise. A row-major walk of `storage_order(shape)` with
/// `storage_order(strides)` visits the elements in the order nalgebra stores them.
pub(crate) fn storage_order<T: Copy>(per_axis: &[T]) -> Vec<T> {
    match *per_axis {
        [a, b] => vec![b, a],
        _ => per_axis.to_vec(),
    }
}

/// The axis of the storage-order view (see [`storage_order`]) that holds tensor axis `axis` of
/// a tensor of rank `rank`.
pub(crate) fn storage_axis(axis: usize, rank: usize) -> usize {
    if rank == 2 {
        1 - axis
    } else {
        axis
    }
}

/// Element strides of each tensor axis in the buffer: `[1, rows]` for rank 2 (column-major),
/// the row-major strides otherwise.
pub(crate) fn storage_strides(shape: &[usize]) -> Vec<usize> {
    match *shape {
        [rows, _] => vec![1, rows],
        _ => strides(shape),
    }
}

/// Storage strides of an array of shape `from` seen through a broadcast to `to`: one per axis of
/// `to`, 0 on prepended and stretched axes.
pub(crate) fn broadcast_storage_strides(from: &[usize], to: &[usize]) -> Vec<usize> {
    let lead = to.len() - from.len();
    let own = storage_strides(from);
    (0..to.len())
        .map(|i| {
            if i < lead || from[i - lead] == 1 {
                0
            } else {
                own[i - lead]
            }
        })
        .collect()
}

/// The buffer offset of row-major flat index `flat` in a tensor of `shape`.
#[inline]
pub(crate) fn storage_offset(flat: usize, shape: &[usize]) -> usize {
    match *shape {
        [rows, cols] if !is_vector_like(rows, cols) => (flat % cols) * rows + flat / cols,
        _ => flat,
    }
}

/// Transposes a column-major `rows×cols` buffer into the column-major `cols×rows` buffer, which
/// is also the row-major order of the original matrix. With `(rows, cols)` swapped it converts
/// row-major data to column-major.
///
/// nalgebra's `transpose` walks the whole matrix element by element, which thrashes the cache on
/// large matrices; this copies 16×16 tiles, reading columns and writing rows of a tile that
/// stays in L1.
pub(crate) fn transpose_buffer<T: Copy + Default>(src: &[T], rows: usize, cols: usize) -> Vec<T> {
    const TILE: usize = 16;
    assert_eq!(
        src.len(),
        rows * cols,
        "transpose_buffer: wrong buffer length"
    );
    let mut out = vec![T::default(); rows * cols];
    for i0 in (0..rows).step_by(TILE) {
        let i1 = (i0 + TILE).min(rows);
        for j0 in (0..cols).step_by(TILE) {
            let j1 = (j0 + TILE).min(cols);
            for i in i0..i1 {
                for j in j0..j1 {
                    // SAFETY: i < rows and j < cols, so both i·cols + j and j·rows + i are
                    // < rows·cols = src.len() = out.len(). Unchecked: the loop does nothing but
                    // these strided reads and writes, so checks would be much of its cost.
                    unsafe {
                        *out.get_unchecked_mut(i * cols + j) = *src.get_unchecked(j * rows + i);
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_buffer_matches_nalgebra() {
        for (r, c) in [(1, 1), (3, 5), (16, 16), (17, 33), (40, 7), (0, 4)] {
            let m = DMatrix::from_fn(r, c, |i, j| (i * 100 + j) as f64);
            assert_eq!(
                transpose_buffer(m.as_slice(), r, c),
                m.transpose().as_slice()
            );
        }
    }

    #[test]
    fn storage_strides_walk_the_buffer_in_order() {
        use duograd_backend::shape::strided_indices;
        // A 2×3×4 tensor is a 4×6 matrix whose buffer is row-major; a 3×4 tensor is column-major.
        assert_eq!(storage_strides(&[2, 3, 4]), vec![12, 4, 1]);
        assert_eq!(storage_strides(&[3, 4]), vec![1, 3]);
        for shape in [&[2, 3, 4][..], &[3, 4], &[5], &[2, 1, 3, 2]] {
            let walk = strided_indices(
                &storage_order(shape),
                &storage_order(&storage_strides(shape)),
                0,
            );
            assert_eq!(walk, (0..numel(shape)).collect::<Vec<_>>(), "{shape:?}");
        }
        assert!(storage_strides(&[]).is_empty());
    }

    #[test]
    fn storage_offset_matches_the_matrix() {
        for shape in [&[3, 4][..], &[2, 3, 2], &[1, 12], &[12]] {
            let t = NaTensor::from_row_major((0..12).map(f64::from).collect(), shape);
            for f in 0..12 {
                assert_eq!(t.storage()[storage_offset(f, shape)], f as f64, "{shape:?}");
            }
        }
    }

    #[test]
    fn rank_three_and_more_store_row_major() {
        let data: Vec<f64> = (0..24).map(f64::from).collect();
        let t = NaTensor::from_row_major(data.clone(), &[2, 3, 4]);
        assert_eq!(t.dims(), (4, 6));
        assert_eq!(t.storage(), &data[..]);
        assert_eq!(t.matrix()[(1, 4)], 17.0); // (1, 1, 1): column 1·3 + 1, row 1
        assert!(is_row_major(&[2, 3, 4]) && is_row_major(&[1, 5]) && !is_row_major(&[2, 5]));
    }

    #[test]
    fn storage_axis_swaps_only_matrix_axes() {
        assert_eq!(storage_axis(0, 2), 1);
        assert_eq!(storage_axis(1, 2), 0);
        assert_eq!(storage_axis(2, 3), 2);
        assert_eq!(storage_axis(0, 3), 0);
        assert_eq!(storage_axis(0, 1), 0);
    }

    #[test]
    fn reinterpret_between_vector_like_matrices() {
        let t = NaTensor::from_row_major(vec![1.0f32, 2.0, 3.0], &[3, 1]);
        assert_eq!(t.dims(), (3, 1));
        let r = t.reinterpret(&[3]);
        assert_eq!(r.dims(), (1, 3));
        assert_eq!(r.to_row_major(), vec![1.0, 2.0, 3.0]);
        let s = t.reinterpret(&[1, 1, 3]);
        assert!(s.shares_matrix_with(&t));
        assert_eq!(s.to_row_major(), vec![1.0, 2.0, 3.0]);
    }

    #[test]
    fn debug_shows_row_major_data() {
        let t = NaTensor::from_row_major(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]);
        assert_eq!(
            format!("{t:?}"),
            "NaTensor { shape: [2, 2], data: [1.0, 2.0, 3.0, 4.0] }"
        );
    }
}
