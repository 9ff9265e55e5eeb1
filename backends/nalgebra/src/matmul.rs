//! Matrix product `op(a) · op(b)`, through duograd's shared kernel ([`duograd_cpu::gemm`]).
//!
//! Each operand is handed over as its column-major buffer with its strides (swapped for a
//! transposed operand), so no transpose is materialized, and the product is written straight
//! into a column-major `DMatrix`.
//!
//! nalgebra's own `gemm` is not used: it reaches `matrixmultiply` only when every side exceeds
//! 5, and its small-matrix `gemv` path misreads a strided left operand, which would force
//! copies; the shared kernel has neither limit.

use duograd_backend::Element;
use duograd_cpu::gemm::{Layout, StridedMatrix};
use nalgebra::DMatrix;

use crate::storage::NaTensor;

/// `op(a) · op(b)` for 2-D `a` and `b`, `op` transposing when its flag is set.
pub(crate) fn matmul<E: Element>(
    a: &NaTensor<E>,
    b: &NaTensor<E>,
    transpose_a: bool,
    transpose_b: bool,
) -> NaTensor<E> {
    product(a, b, None, transpose_a, transpose_b)
}

/// [`matmul`], plus `bias` (one value per column of the product) added to every row as the
/// product is written, where given.
pub(crate) fn product<E: Element>(
    a: &NaTensor<E>,
    b: &NaTensor<E>,
    bias: Option<&[E]>,
    transpose_a: bool,
    transpose_b: bool,
) -> NaTensor<E> {
    assert!(
        a.shape().len() == 2 && b.shape().len() == 2,
        "matmul: operands must be 2-D, got {:?} and {:?}",
        a.shape(),
        b.shape()
    );
    let a = strided(a.matrix(), transpose_a);
    let b = strided(b.matrix(), transpose_b);
    let (m, n) = (a.rows(), b.cols());
    let data = match bias {
        Some(bias) => duograd_cpu::gemm::matmul_bias(a, b, bias, Layout::ColMajor),
        None => duograd_cpu::gemm::matmul(a, b, Layout::ColMajor),
    };
    NaTensor::from_matrix(DMatrix::from_vec(m, n, data))
}

/// `m` (or its transpose) read in place from its column-major buffer.
fn strided<E: Element>(m: &DMatrix<E>, transpose: bool) -> StridedMatrix<'_, E> {
    let view = StridedMatrix::col_major(m.as_slice(), m.nrows(), m.ncols());
    if transpose {
        view.t()
    } else {
        view
    }
}
