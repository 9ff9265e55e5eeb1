//! Products with a side of 1, as a batch of one sample makes them: a row times a matrix
//! (`1×784 · 784×64`, the forward pass), an outer product (`64×1 · 1×784`, the weight
//! gradient), or a matrix times a column.
//!
//! Each is one pass over the matrix, vectorized for the CPU ([`crate::simd::with_best_simd`]),
//! with no packing (see `Route::Thin`).

use super::dispatch::Form;
use super::{Layout, StridedMatrix};
use duograd_backend::Element;

/// How [`matmul`] computes a row-major thin product.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Plan {
    /// `k = 1`: [`outer`], along `b`'s contiguous row.
    Outer,
    /// `m = 1`: [`row_times`] `b`.
    Row,
    /// `n = 1`: the `1×m` row `bᵀ·aᵀ`, by [`row_times`].
    Column,
}

/// How the row-major product `a · b` is computed here, if one of `m`, `k` and `n` is 1 and the
/// operands are laid out so that the loop runs along contiguous memory; else `None`.
pub(super) fn plan(a: Form, b: Form) -> Option<Plan> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    // What `row_times` reads along: rows of `b`, or its columns.
    let rows_or_columns = |b: Form| b.col_stride == 1 || b.cols == 1 || b.row_stride == 1;
    if k == 1 {
        (b.col_stride == 1 || b.cols == 1).then_some(Plan::Outer)
    } else if m == 1 {
        rows_or_columns(b).then_some(Plan::Row)
    } else if n == 1 {
        rows_or_columns(a.t()).then_some(Plan::Column)
    } else {
        None
    }
}

/// `a · b` laid out as `layout` if [`plan`] takes it; else `None`.
pub(super) fn matmul<E: Element>(
    a: StridedMatrix<'_, E>,
    b: StridedMatrix<'_, E>,
    layout: Layout,
) -> Option<Vec<E>> {
    let (a, b) = super::as_row_major(a, b, layout);
    match plan(a.form(), b.form())? {
        Plan::Outer => outer(a, b),
        Plan::Row => row_times(a, b),
        // An `m×1` column is stored as the `1×m` row `bᵀ·aᵀ` is.
        Plan::Column => row_times(b.t(), a.t()),
    }
}

/// The `m×1 · 1×n` product, row-major: row `i` is `a[i] · b`. `None` unless `b`'s values are
/// contiguous.
fn outer<E: Element>(a: StridedMatrix<'_, E>, b: StridedMatrix<'_, E>) -> Option<Vec<E>> {
    let (m, n) = (a.rows, b.cols);
    let b_row = contiguous_row(b, 0)?;
    let mut out = crate::buffers::take(m * n);
    crate::simd::with_best_simd(
        #[inline(always)]
        || {
            let rows = out.spare_capacity_mut()[..m * n].chunks_exact_mut(n);
            for (i, row) in rows.enumerate() {
                let ai = a.data[i * a.row_stride];
                for (o, &bj) in row.iter_mut().zip(b_row) {
                    o.write(ai * bj);
                }
            }
        },
    );
    // SAFETY: the loop above wrote all m·n values.
    unsafe { out.set_len(m * n) };
    Some(out)
}

/// The `1×k · k×n` product: the rows of `b` scaled by `a` and summed where they are contiguous,
/// else the dot products of `a` with `b`'s contiguous columns. `None` if neither is contiguous.
fn row_times<E: Element>(a: StridedMatrix<'_, E>, b: StridedMatrix<'_, E>) -> Option<Vec<E>> {
    let (k, n) = (a.cols, b.cols);
    let a_at = |p: usize| a.data[p * a.col_stride];
    if b.col_stride == 1 || n == 1 {
        let mut out: Vec<E> = vec![E::zero(); n];
        crate::simd::with_best_simd(
            #[inline(always)]
            || {
                // A block of columns at a time, its sums kept in registers down all `k` rows:
                // summed into `out` instead, every row would wait on the stores of the last.
                let mut blocks = out.chunks_exact_mut(COLUMN_BLOCK);
                for (block, sums) in blocks.by_ref().enumerate() {
                    let start = block * COLUMN_BLOCK;
                    let mut acc = [E::zero(); COLUMN_BLOCK];
                    for p in 0..k {
                        let (ap, row) = (a_at(p), &b.data[p * b.row_stride + start..]);
                        for (s, &v) in acc.iter_mut().zip(&row[..COLUMN_BLOCK]) {
                            *s += ap * v;
                        }
                    }
                    sums.copy_from_slice(&acc);
                }
                let rest = blocks.into_remainder();
                let start = n - rest.len();
                for p in 0..k {
                    let (ap, row) = (a_at(p), &b.data[p * b.row_stride + start..]);
                    for (o, &v) in rest.iter_mut().zip(row) {
                        *o += ap * v;
                    }
                }
            },
        );
        return Some(out);
    }
    if b.row_stride == 1 {
        let a_row: Vec<E> = (0..k).map(a_at).collect();
        let mut out = vec![E::zero(); n];
        crate::simd::with_best_simd(
            #[inline(always)]
            || {
                for (j, o) in out.iter_mut().enumerate() {
                    *o = dot(&a_row, &b.data[j * b.col_stride..][..k]);
                }
            },
        );
        return Some(out);
    }
    None
}

/// Columns summed at once by [`row_times`]: 64 `f32`s are four AVX-512 or eight AVX2
/// registers (`f64`s twice as many, some spilled).
const COLUMN_BLOCK: usize = 64;

/// Row `i` of `m` as a slice, if its values are contiguous (or there is only one).
fn contiguous_row<'a, E: Element>(m: StridedMatrix<'a, E>, i: usize) -> Option<&'a [E]> {
    (m.col_stride == 1 || m.cols == 1).then(|| &m.data[i * m.row_stride..][..m.cols])
}

/// `Σ x[i] y[i]` in 32 interleaved partial sums, which the compiler turns into a few vector
/// accumulators (one sum would wait on each addition).
#[inline(always)]
fn dot<E: Element>(x: &[E], y: &[E]) -> E {
    const LANES: usize = 32;
    let mut sums = [E::zero(); LANES];
    let (xs, ys) = (x.chunks_exact(LANES), y.chunks_exact(LANES));
    let tail = xs
        .remainder()
        .iter()
        .zip(ys.remainder())
        .fold(E::zero(), |s, (&x, &y)| s + x * y);
    for (xs, ys) in xs.zip(ys) {
        for l in 0..LANES {
            sums[l] += xs[l] * ys[l];
        }
    }
    sums.iter().fold(tail, |s, &v| s + v)
}
