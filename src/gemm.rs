//! The matrix product both backends call: the [`gemm`](https://docs.rs/gemm) crate's
//! kernels, reading each operand in place through its strides.
//!
//! ndarray's and nalgebra's own products both go to `matrixmultiply`, which packs every
//! operand and (with threads) wakes its pool even for a one-row product; on the MLP shapes
//! duograd trains, `gemm` is as fast or faster for large batches and about 15× faster at
//! batch 1 (`cargo bench --bench backends -- matmul`). Sharing the kernel also makes the
//! two backends multiply in the same order, so their products agree bit for bit.
//!
//! A transposed operand is the same buffer with its strides swapped ([`StridedMatrix::t`]):
//! no transpose is ever copied. Large products use up to [`crate::threads::num_threads`]
//! threads (rayon); `gemm` keeps small ones on the calling thread.

use crate::Element;

/// A read-only `rows × cols` matrix inside a slice: element `(i, j)` is
/// `data[i * row_stride + j * col_stride]`.
///
/// ```
/// use duograd::gemm::StridedMatrix;
/// let data = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
/// let a = StridedMatrix::row_major(&data, 2, 3);
/// assert_eq!(a.get(1, 0), 4.0);
/// assert_eq!(a.t().get(0, 1), 4.0); // the transpose reads the same buffer
/// ```
#[derive(Clone, Copy, Debug)]
pub struct StridedMatrix<'a, E> {
    data: &'a [E],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a, E: Copy> StridedMatrix<'a, E> {
    /// The matrix whose element `(i, j)` is `data[i * row_stride + j * col_stride]`.
    ///
    /// # Panics
    /// If the last element lies beyond `data` (the message gives the sizes and strides).
    pub fn new(
        data: &'a [E],
        rows: usize,
        cols: usize,
        row_stride: usize,
        col_stride: usize,
    ) -> Self {
        if rows > 0 && cols > 0 {
            let last = (rows - 1) * row_stride + (cols - 1) * col_stride;
            assert!(
                last < data.len(),
                "StridedMatrix: a {rows}x{cols} matrix with strides ({row_stride}, {col_stride}) \
                 reaches element {last} of a slice of {}",
                data.len()
            );
        }
        StridedMatrix {
            data,
            rows,
            cols,
            row_stride,
            col_stride,
        }
    }

    /// `data` read as a row-major `rows × cols` matrix.
    pub fn row_major(data: &'a [E], rows: usize, cols: usize) -> Self {
        Self::new(data, rows, cols, cols, 1)
    }

    /// `data` read as a column-major `rows × cols` matrix.
    pub fn col_major(data: &'a [E], rows: usize, cols: usize) -> Self {
        Self::new(data, rows, cols, 1, rows)
    }

    /// The transpose, reading the same elements.
    pub fn t(self) -> Self {
        StridedMatrix {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    /// The number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Element `(i, j)`.
    ///
    /// # Panics
    /// If `i` or `j` is out of range.
    pub fn get(&self, i: usize, j: usize) -> E {
        assert!(
            i < self.rows && j < self.cols,
            "StridedMatrix::get: ({i}, {j}) is outside a {}x{} matrix",
            self.rows,
            self.cols
        );
        self.data[i * self.row_stride + j * self.col_stride]
    }
}

/// How a product's output is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Rows one after another (ndarray's standard layout).
    RowMajor,
    /// Columns one after another (nalgebra's layout).
    ColMajor,
}

/// `a · b` as a fresh `a.rows() × b.cols()` buffer in `layout`.
///
/// ```
/// use duograd::gemm::{matmul, Layout, StridedMatrix};
/// let a = [1.0, 2.0, 3.0, 4.0]; // [[1, 2], [3, 4]]
/// let b = [5.0, 6.0, 7.0, 8.0]; // [[5, 6], [7, 8]]
/// let (a, b) = (StridedMatrix::row_major(&a, 2, 2), StridedMatrix::row_major(&b, 2, 2));
/// assert_eq!(matmul(a, b, Layout::RowMajor), [19.0, 22.0, 43.0, 50.0]);
/// assert_eq!(matmul(a.t(), b, Layout::RowMajor), [26.0, 30.0, 38.0, 44.0]);
/// assert_eq!(matmul(a, b, Layout::ColMajor), [19.0, 43.0, 22.0, 50.0]);
/// ```
///
/// # Panics
/// If the inner sizes differ (`a.cols() != b.rows()`); the message gives both shapes.
pub fn matmul<E: Element>(
    a: StridedMatrix<'_, E>,
    b: StridedMatrix<'_, E>,
    layout: Layout,
) -> Vec<E> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(
        k, b.rows,
        "matmul: inner sizes differ ({m}x{k} times {}x{n})",
        b.rows
    );
    // Zeroed although `gemm` overwrites it (`read_dst = false`): its edge tiles still copy the
    // destination out before ignoring it, and reading uninitialized floats is undefined.
    let mut out = vec![E::zero(); m * n];
    if m == 0 || n == 0 || k == 0 {
        return out; // an empty sum is 0
    }
    let (out_row_stride, out_col_stride) = match layout {
        Layout::RowMajor => (n as isize, 1),
        Layout::ColMajor => (1, m as isize),
    };
    let threads = crate::threads::num_threads();
    let parallelism = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: `StridedMatrix::new` checked that every element of `a` and `b` lies inside its
    // slice, and `out` holds exactly the `m * n` elements the strides above address. `gemm`
    // only reads `a` and `b` and only writes `out`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            out_col_stride,
            out_row_stride,
            false,
            a.data.as_ptr(),
            a.col_stride as isize,
            a.row_stride as isize,
            b.data.as_ptr(),
            b.col_stride as isize,
            b.row_stride as isize,
            E::zero(),
            E::one(),
            false,
            false,
            false,
            parallelism,
        );
    }
    out
}
