//! Matrix product `op(a) · op(b)` with nalgebra's `gemm`.
//!
//! A transposed operand is passed to `gemm` as a zero-copy *strided view* of the original
//! buffer (`DMatrixView::from_slice_with_strides` with the row and column strides swapped), so
//! no transpose is materialized. When all of `m`, `n`, `k` exceed 5, nalgebra's `gemm` hands the
//! views' strides straight to `matrixmultiply` (the same packed GEMM ndarray uses), so all four
//! transpose combinations run at the same speed.
//!
//! Smaller products go through nalgebra's per-column `gemv`, which reads a strided *right*
//! operand correctly but not a strided *left* one (see `reaches_matrixmultiply`). There:
//! `A·Bᵀ` still uses the strided view of `B`; `Aᵀ·B` uses nalgebra's `gemm_tr` (dot products
//! of contiguous columns); `Aᵀ·Bᵀ` computes `(B·A)ᵀ` and transposes the small result.
//!
//! For large products nalgebra's dedicated `Aᵀ·B` routines (`tr_mul`, `gemm_tr`) are avoided:
//! they compute one dot product per output element and never reach `matrixmultiply`, which made
//! them about 10× slower than the strided `gemm` on a 256×256 product. nalgebra has no `A·Bᵀ`
//! routine; `a * b.transpose()` would copy `b`.

use std::any::TypeId;

use duograd::Element;
use nalgebra::{DMatrix, DMatrixView, Dim, Dyn};

use crate::storage::NaTensor;

/// `op(a) · op(b)` for 2-D `a` and `b`, `op` transposing when its flag is set.
pub(crate) fn matmul<E: Element>(
    a: &NaTensor<E>,
    b: &NaTensor<E>,
    transpose_a: bool,
    transpose_b: bool,
) -> NaTensor<E> {
    assert!(
        a.shape().len() == 2 && b.shape().len() == 2,
        "matmul: operands must be 2-D, got {:?} and {:?}",
        a.shape(),
        b.shape()
    );
    let (ma, mb) = (a.matrix(), b.matrix());
    let (m, k) = if transpose_a {
        (ma.ncols(), ma.nrows())
    } else {
        ma.shape()
    };
    let n = if transpose_b { mb.nrows() } else { mb.ncols() };
    let packed = reaches_matrixmultiply::<E>(m, n, k);
    let out = match (transpose_a, transpose_b) {
        (false, false) => product(&plain(ma), &plain(mb)),
        // A strided right operand is safe on every gemm path.
        (false, true) => product(&plain(ma), &transposed(mb)),
        (true, false) if packed => product(&transposed(ma), &plain(mb)),
        (true, true) if packed => product(&transposed(ma), &transposed(mb)),
        (true, false) => {
            // Small product: nalgebra's Aᵀ·B routine (dot products of contiguous columns).
            let (ka, mb_rows) = (ma.nrows(), mb.nrows());
            assert_eq!(
                ka, mb_rows,
                "matmul: inner dimensions differ ({m}×{ka} · {mb_rows}×{n})"
            );
            let mut out = DMatrix::from_element(m, n, E::zero());
            out.gemm_tr(E::one(), ma, mb, E::zero());
            out
        }
        // Small product: op(a)·op(b) = (b·a)ᵀ, with the (small) result transposed.
        (true, true) => product(&plain(mb), &plain(ma)).transpose(),
    };
    NaTensor::from_matrix(out)
}

/// Whether nalgebra's `gemm` hands an `m×k · k×n` product of `E` to `matrixmultiply` (which reads
/// any strides), rather than to its own per-column `gemv`.
///
/// This mirrors the dispatch in nalgebra 0.35's `gemm` (`SMALL_DIM = 5`, `f32`/`f64` only). It
/// matters because that `gemv` path mis-handles a *left* operand whose rows are not contiguous
/// (its `axcpy` loops over the strided slice's length, reading out of bounds), so a transposed
/// view may only be the left operand when this returns `true`. The boundary sizes are tested.
fn reaches_matrixmultiply<E: Element>(m: usize, n: usize, k: usize) -> bool {
    const NALGEBRA_SMALL_DIM: usize = 5;
    let float =
        TypeId::of::<E>() == TypeId::of::<f32>() || TypeId::of::<E>() == TypeId::of::<f64>();
    float && m > NALGEBRA_SMALL_DIM && n > NALGEBRA_SMALL_DIM && k > NALGEBRA_SMALL_DIM
}

/// `m` as a view (contiguous columns), the type `gemm` gets for an untransposed operand.
fn plain<E: Element>(m: &DMatrix<E>) -> DMatrixView<'_, E> {
    m.as_view()
}

/// A zero-copy transposed view of `m`: view element `(i, j)` is `m[(j, i)]`.
fn transposed<E: Element>(m: &DMatrix<E>) -> DMatrixView<'_, E, Dyn, Dyn> {
    let (rows, cols) = m.shape();
    // In m's column-major buffer, moving down a view row (along m's columns) jumps `rows`
    // elements and moving along a view row (down m's rows) jumps 1.
    DMatrixView::from_slice_with_strides(m.as_slice(), cols, rows, rows, 1)
}

/// `a · b` into a fresh matrix with nalgebra's `gemm` (beta = 0: the output is never read).
fn product<E: Element, RA: Dim, CA: Dim, RB: Dim, CB: Dim>(
    a: &DMatrixView<'_, E, RA, CA>,
    b: &DMatrixView<'_, E, RB, CB>,
) -> DMatrix<E> {
    let (m, k) = a.shape();
    let (k2, n) = b.shape();
    assert_eq!(
        k, k2,
        "matmul: inner dimensions differ ({m}×{k} · {k2}×{n})"
    );
    let mut out = DMatrix::from_element(m, n, E::zero());
    if m > 0 && n > 0 && k > 0 {
        out.gemm(E::one(), a, b, E::zero());
    }
    out
}
