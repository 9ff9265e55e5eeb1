//! The 2-D matrix product, through duograd's shared kernel ([`duograd_cpu::gemm`]).
//!
//! Each operand is handed over as its buffer and strides, so transposed (`.t()`), permuted or
//! narrowed storage is read in place: no transpose is ever materialized.

use duograd_backend::Element;
use duograd_cpu::gemm::{Layout, StridedMatrix};
use ndarray::{Array, ArrayView2, Ix2, IxDyn};

use crate::Storage;

/// `op(a) · op(b)`, where `op` transposes when its flag is set.
pub(crate) fn matmul<E: Element>(
    a: &Storage<E>,
    b: &Storage<E>,
    transpose_a: bool,
    transpose_b: bool,
) -> Storage<E> {
    product(a, b, None, transpose_a, transpose_b)
}

/// [`matmul`], plus `bias` (one value per column of the product) added to every row as the
/// product is written, where given.
pub(crate) fn product<E: Element>(
    a: &Storage<E>,
    b: &Storage<E>,
    bias: Option<&[E]>,
    transpose_a: bool,
    transpose_b: bool,
) -> Storage<E> {
    let (a, b) = (matrix(a, "left"), matrix(b, "right"));
    let product = with_strided(a, |a| {
        with_strided(b, |b| {
            let a = if transpose_a { a.t() } else { a };
            let b = if transpose_b { b.t() } else { b };
            let (m, n) = (a.rows(), b.cols());
            let data = match bias {
                Some(bias) => duograd_cpu::gemm::matmul_bias(a, b, bias, Layout::RowMajor),
                None => duograd_cpu::gemm::matmul(a, b, Layout::RowMajor),
            };
            (data, [m, n])
        })
    });
    let (data, shape) = product;
    Array::from_shape_vec(IxDyn(&shape), data)
        .expect("a product of m×n elements fits an m×n array")
        .into_shared()
}

/// A 2-D view of `x`, or a panic naming the `side` operand.
fn matrix<'a, E>(x: &'a Storage<E>, side: &str) -> ArrayView2<'a, E> {
    x.view()
        .into_dimensionality::<Ix2>()
        .unwrap_or_else(|_| panic!("matmul: {side} operand has shape {:?}, not 2-D", x.shape()))
}

/// Calls `f` with `view` as a [`StridedMatrix`] over its own buffer, or over a standard-layout
/// copy if a stride is negative (duograd never makes such views, but ndarray allows them).
fn with_strided<E: Element, R>(
    view: ArrayView2<'_, E>,
    f: impl FnOnce(StridedMatrix<'_, E>) -> R,
) -> R {
    let (rows, cols) = view.dim();
    let strides = view.strides();
    if strides.iter().any(|&s| s < 0) {
        let owned = view.as_standard_layout().into_owned();
        let data = owned.as_slice().expect("standard layout is contiguous");
        return f(StridedMatrix::row_major(data, rows, cols));
    }
    let (row_stride, col_stride) = (strides[0] as usize, strides[1] as usize);
    let len = if rows == 0 || cols == 0 {
        0
    } else {
        (rows - 1) * row_stride + (cols - 1) * col_stride + 1
    };
    // SAFETY: with non-negative strides every element of the view lies in the `len` elements
    // that start at its first one, all inside the one allocation the view borrows; the slice is
    // only read while `view` is borrowed.
    let data = unsafe { std::slice::from_raw_parts(view.as_ptr(), len) };
    f(StridedMatrix::new(data, rows, cols, row_stride, col_stride))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{from_vec, narrow, permute, to_vec};

    /// Deterministic, irregular values in [-1, 1).
    fn values(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
            })
            .collect()
    }

    /// `op(a) · op(b)` by the textbook triple loop on row-major data.
    #[allow(clippy::too_many_arguments)]
    fn naive(
        a: &[f64],
        a_shape: [usize; 2],
        b: &[f64],
        b_shape: [usize; 2],
        ta: bool,
        tb: bool,
    ) -> (Vec<f64>, [usize; 2]) {
        let at = |i: usize, p: usize| {
            if ta {
                a[p * a_shape[1] + i]
            } else {
                a[i * a_shape[1] + p]
            }
        };
        let bt = |p: usize, j: usize| {
            if tb {
                b[j * b_shape[1] + p]
            } else {
                b[p * b_shape[1] + j]
            }
        };
        let (m, k) = if ta {
            (a_shape[1], a_shape[0])
        } else {
            (a_shape[0], a_shape[1])
        };
        let n = if tb { b_shape[0] } else { b_shape[1] };
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = 0.0;
                for p in 0..k {
                    s += at(i, p) * bt(p, j);
                }
                c[i * n + j] = s;
            }
        }
        (c, [m, n])
    }

    fn assert_close(got: &[f64], want: &[f64], tol: f64) {
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() <= tol, "element {i}: {g} vs {w}");
        }
    }

    #[test]
    fn small_product_by_hand() {
        // [[1, 2], [3, 4]] · [[5, 6], [7, 8]] = [[19, 22], [43, 50]].
        let a = from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]);
        let b = from_vec(vec![5.0, 6.0, 7.0, 8.0], &[2, 2]);
        assert_eq!(
            to_vec(&matmul(&a, &b, false, false)),
            vec![19.0, 22.0, 43.0, 50.0]
        );
        // aᵀ · b = [[1, 3], [2, 4]] · b = [[26, 30], [38, 44]].
        assert_eq!(
            to_vec(&matmul(&a, &b, true, false)),
            vec![26.0, 30.0, 38.0, 44.0]
        );
        // a · bᵀ = [[17, 23], [39, 53]].
        assert_eq!(
            to_vec(&matmul(&a, &b, false, true)),
            vec![17.0, 23.0, 39.0, 53.0]
        );
        // aᵀ · bᵀ = [[23, 31], [34, 46]].
        assert_eq!(
            to_vec(&matmul(&a, &b, true, true)),
            vec![23.0, 31.0, 34.0, 46.0]
        );
    }

    #[test]
    fn all_transpose_combinations_match_the_triple_loop() {
        let (m, k, n) = (37, 53, 29);
        for ta in [false, true] {
            for tb in [false, true] {
                let a_shape = if ta { [k, m] } else { [m, k] };
                let b_shape = if tb { [n, k] } else { [k, n] };
                let av = values(m * k, 1 + ta as u64);
                let bv = values(k * n, 7 + tb as u64);
                let a = from_vec(av.clone(), &a_shape);
                let b = from_vec(bv.clone(), &b_shape);
                let c = matmul(&a, &b, ta, tb);
                let (want, shape) = naive(&av, a_shape, &bv, b_shape, ta, tb);
                assert_eq!(c.shape(), &shape, "ta={ta} tb={tb}");
                assert_close(&to_vec(&c), &want, 1e-12);
            }
        }
    }

    #[test]
    fn large_product_matches_the_triple_loop() {
        // Big enough for the blocked kernel's packing and for bands on several threads.
        let (m, k, n) = (150, 130, 170);
        let (av, bv) = (values(m * k, 3), values(k * n, 4));
        let c = matmul(
            &from_vec(av.clone(), &[m, k]),
            &from_vec(bv.clone(), &[k, n]),
            false,
            false,
        );
        let (want, _) = naive(&av, [m, k], &bv, [k, n], false, false);
        assert_close(&to_vec(&c), &want, 1e-12);
    }

    #[test]
    fn permuted_and_narrowed_operands_are_read_in_place() {
        let (av, bv) = (values(6 * 4, 5), values(4 * 5, 6));
        let a = from_vec(av.clone(), &[6, 4]);
        let b = from_vec(bv.clone(), &[4, 5]);
        // A permuted storage with transpose_a set is the original matrix again.
        let at = permute(&a, &[1, 0]);
        let c = matmul(&at, &b, true, false);
        let (want, _) = naive(&av, [6, 4], &bv, [4, 5], false, false);
        assert_close(&to_vec(&c), &want, 1e-12);
        // Columns 1..4 of b.
        let bn = narrow(&b, 1, 1, 3);
        let c = matmul(&a, &bn, false, false);
        let full = to_vec(&matmul(&a, &b, false, false));
        let want: Vec<f64> = (0..6)
            .flat_map(|i| full[i * 5 + 1..i * 5 + 4].to_vec())
            .collect();
        assert_close(&to_vec(&c), &want, 1e-12);
    }

    #[test]
    fn f32_product_and_degenerate_sizes() {
        let a = from_vec(vec![1.0f32, 2.0, 3.0], &[1, 3]);
        let b = from_vec(vec![4.0f32, 5.0, 6.0], &[3, 1]);
        assert_eq!(to_vec(&matmul(&a, &b, false, false)), vec![32.0]);
        assert_eq!(matmul(&a, &b, true, true).shape(), &[3, 3]);
        // An empty inner dimension gives zeros.
        let z = matmul(
            &from_vec(Vec::<f64>::new(), &[2, 0]),
            &from_vec(Vec::<f64>::new(), &[0, 3]),
            false,
            false,
        );
        assert_eq!(to_vec(&z), vec![0.0; 6]);
    }

    #[test]
    #[should_panic(expected = "inner sizes differ")]
    fn mismatched_inner_sizes_panic() {
        let a = from_vec(vec![0.0f64; 6], &[2, 3]);
        matmul(&a, &a, false, false);
    }
}
