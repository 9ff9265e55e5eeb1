//! Products fewer than 16 columns wide whose `a` is row-major and `b` column-major: a
//! classifier's `x · Wᵀ`, with `W` stored `(out, in)` as PyTorch stores it. Each output is then
//! a dot product of two contiguous runs of `k` values, computed 8 lanes at a time, a few rows
//! and columns at once (up to 8 accumulators).
//!
//! The tiled kernel (`blocked.rs`) computes 16 columns per tile, so 10 outputs would leave 6 of
//! every 16 multiply-adds to padding; dot products along `k` waste no padded columns. Summing
//! the 8 lanes of each dot product is what is left to pay for, so a block's dot products are
//! summed across lanes together, and where their sums fill a vector (2×4 or 4×2, `k` a
//! multiple of 8) stored a row at a time rather than one value at a time.

use std::arch::x86_64::*;
use std::ops::Range;

use super::blocked::{Bias, Out};
use super::dispatch::narrow_fits;
use super::StridedMatrix;
use crate::threads::pool;

/// Rows per block: each column group runs over them while they are in L1.
const BLOCK_ROWS: usize = 8;

/// Whether [`matmul`] takes the row-major product `a · b`: `b` at most `NARROW_MAX_COLS` wide, `a`'s
/// rows and `b`'s columns contiguous, and the CPU with AVX2 and FMA.
pub(super) fn applies<E>(a: StridedMatrix<'_, E>, b: StridedMatrix<'_, E>) -> bool {
    narrow_fits(a.form(), b.form())
        && is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
}

/// Whether `a` is a single row whose dot products with the columns of `b` [`matmul`] can take
/// as the column `bᵀ · aᵀ` (the same values in the same buffer): how a row of more than
/// `NARROW_MAX_COLS` dot products still goes there.
pub(super) fn applies_transposed<E: Copy>(
    a: StridedMatrix<'_, E>,
    b: StridedMatrix<'_, E>,
) -> bool {
    a.rows == 1 && applies(b.t(), a.t())
}

/// `a · b` (plus `bias`) as a fresh row-major `m × n` buffer, on up to `threads` threads, for
/// operands that [`applies`] accepts, with `m`, `k` and `n` above 0.
pub(super) fn matmul(
    a: StridedMatrix<'_, f32>,
    b: StridedMatrix<'_, f32>,
    bias: Option<Bias<'_>>,
    threads: usize,
) -> Vec<f32> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert!(
        applies(a, b) && m > 0 && k > 0 && n > 0,
        "narrow::matmul: {m}x{k}x{n}"
    );
    let threads = pool::usable(threads);
    // Two bands per thread, claimed one at a time, whole blocks of rows each.
    let band = m.div_ceil(2 * threads).next_multiple_of(BLOCK_ROWS);
    let bands = m.div_ceil(band);
    let mut product = crate::buffers::take::<f32>(m * n);
    let out = Out(product.as_mut_ptr());
    pool::run(bands, threads, &|i| {
        let rows = i * band..((i + 1) * band).min(m);
        // SAFETY: the CPU has AVX2 and FMA (`applies`); `product` has room for m·n values,
        // and this band writes rows `rows` of it only.
        unsafe { band_product(a, b, bias, out, rows) }
    });
    // SAFETY: the bands cover rows 0..m, and each writes every value of its rows.
    unsafe { product.set_len(m * n) };
    product
}

/// Rows `rows` of `a · b` (plus `bias`) into the row-major `out`, `b.cols` wide.
///
/// # Safety
/// The CPU must have AVX2 and FMA; `out` must hold these rows, written by no other thread.
#[target_feature(enable = "avx2,fma")]
unsafe fn band_product(
    a: StridedMatrix<'_, f32>,
    b: StridedMatrix<'_, f32>,
    bias: Option<Bias<'_>>,
    out: Out,
    rows: Range<usize>,
) {
    let n = b.cols;
    debug_assert!(applies(a, b) && a.cols == b.rows && rows.end <= a.rows);
    debug_assert!(bias.is_none_or(|bias| match bias {
        Bias::PerColumn(v) => v.len() >= n,
        Bias::PerRow(v) => v.len() >= a.rows,
    }));
    for i0 in rows.clone().step_by(BLOCK_ROWS) {
        let h = (rows.end - i0).min(BLOCK_ROWS);
        let mut j0 = 0;
        while j0 < n {
            let block = Block {
                a,
                b,
                bias,
                out,
                i0,
                j0,
            };
            // Up to 8 accumulators, whatever the columns left.
            let cols = (n - j0).min(4);
            // SAFETY: rows `i0..i0 + h ≤ rows.end` and columns `j0..j0 + cols ≤ n` lie inside
            // the product, in this band; the CPU has AVX2 and FMA (the caller's promise).
            unsafe {
                match cols {
                    4 => block.rows::<2, 4>(h),
                    3 => block.rows::<2, 3>(h),
                    2 => block.rows::<4, 2>(h),
                    _ => block.rows::<8, 1>(h),
                }
            }
            j0 += cols;
        }
    }
}

/// The outputs from row `i0` and column `j0` on.
#[derive(Clone, Copy)]
struct Block<'a> {
    a: StridedMatrix<'a, f32>,
    b: StridedMatrix<'a, f32>,
    bias: Option<Bias<'a>>,
    out: Out,
    i0: usize,
    j0: usize,
}

impl Block<'_> {
    /// `h` rows of `C` columns: `R` rows at a time, then one at a time.
    ///
    /// # Safety
    /// As for [`band_product`]; the rows and columns must lie inside the product.
    #[inline(always)]
    unsafe fn rows<const R: usize, const C: usize>(self, h: usize) {
        debug_assert!(self.i0 + h <= self.a.rows && self.j0 + C <= self.b.cols);
        let mut i = 0;
        while i + R <= h {
            // SAFETY: rows `i0 + i..i0 + i + R ≤ i0 + h`, inside the product as the caller
            // promised, as are the columns.
            unsafe {
                Block {
                    i0: self.i0 + i,
                    ..self
                }
                .dots::<R, C>()
            };
            i += R;
        }
        while i < h {
            // SAFETY: row `i0 + i < i0 + h`, as above.
            unsafe {
                Block {
                    i0: self.i0 + i,
                    ..self
                }
                .dots::<1, C>()
            };
            i += 1;
        }
    }

    /// The `R × C` outputs from `(i0, j0)`: `R · C ≤ 8` dot products along `k`, 8 lanes each,
    /// summed across lanes together; the last `k % 8` values one at a time; the bias last.
    ///
    /// # Safety
    /// As for [`Block::rows`].
    #[inline(always)]
    unsafe fn dots<const R: usize, const C: usize>(self) {
        let Block {
            a,
            b,
            bias,
            out,
            i0,
            j0,
        } = self;
        let (k, n) = (a.cols, b.cols);
        debug_assert!(R * C <= 8 && i0 + R <= a.rows && j0 + C <= n);
        debug_assert!(k == 1 || (a.col_stride == 1 && b.row_stride == 1));
        let a_row = |i: usize| {
            debug_assert!(i < R);
            // SAFETY: row `i0 + i < a.rows` of `a` (the caller's promise), whose `k` values
            // follow it contiguously.
            unsafe { a.data.as_ptr().add((i0 + i) * a.row_stride) }
        };
        let b_col = |j: usize| {
            debug_assert!(j < C);
            // SAFETY: column `j0 + j < b.cols` of `b` (the caller's promise), whose `k` values
            // follow it contiguously.
            unsafe { b.data.as_ptr().add((j0 + j) * b.col_stride) }
        };
        // SAFETY: the CPU has AVX (the caller's promise).
        let mut acc = [[unsafe { _mm256_setzero_ps() }; C]; R];
        let whole = k / 8 * 8;
        for q in (0..whole).step_by(8) {
            // SAFETY: values `q..q + 8 ≤ k` of `R` rows of `a` and `C` columns of `b`; the CPU
            // has AVX2 and FMA (the caller's promise).
            unsafe {
                let bq: [__m256; C] = std::array::from_fn(|j| _mm256_loadu_ps(b_col(j).add(q)));
                for (i, row) in acc.iter_mut().enumerate() {
                    let aq = _mm256_loadu_ps(a_row(i).add(q));
                    for (acc, &bq) in row.iter_mut().zip(&bq) {
                        *acc = _mm256_fmadd_ps(aq, bq, *acc);
                    }
                }
            }
        }
        // SAFETY: the CPU has AVX (the caller's promise).
        let mut flat = [unsafe { _mm256_setzero_ps() }; 8];
        for (i, row) in acc.iter().enumerate() {
            flat[i * C..][..C].copy_from_slice(row);
        }
        // SAFETY: the CPU has AVX (the caller's promise).
        let lanes = unsafe { lane_sums(flat) };
        if whole == k && ((R, C) == (2, 4) || (R, C) == (4, 2)) {
            // Lane `i · C + j` is output `(i, j)`: add the bias lane by lane, then store each
            // row's `C` values with one store.
            // SAFETY: the CPU has AVX (the caller's promise); each load reads the 8 values of
            // the array beside it.
            let lanes = unsafe {
                match bias {
                    None => lanes,
                    Some(Bias::PerColumn(v)) => {
                        let v: [f32; 8] = std::array::from_fn(|l| v[j0 + l % C]);
                        _mm256_add_ps(lanes, _mm256_loadu_ps(v.as_ptr()))
                    }
                    Some(Bias::PerRow(v)) => {
                        let v: [f32; 8] = std::array::from_fn(|l| v[i0 + l / C]);
                        _mm256_add_ps(lanes, _mm256_loadu_ps(v.as_ptr()))
                    }
                }
            };
            // SAFETY: the CPU has AVX (the caller's promise).
            let halves = unsafe {
                [
                    _mm256_castps256_ps128(lanes),
                    _mm256_extractf128_ps::<1>(lanes),
                ]
            };
            let row = |i: usize| {
                debug_assert!(i < R);
                // SAFETY: row `i0 + i < a.rows` of the output, `n` values wide.
                unsafe { out.0.add((i0 + i) * n + j0) }
            };
            // SAFETY: each store writes the `C` values of one output row from column `j0` on
            // (`j0 + C ≤ n`), in this band; the CPU has AVX.
            unsafe {
                if C == 4 {
                    _mm_storeu_ps(row(0), halves[0]);
                    _mm_storeu_ps(row(1), halves[1]);
                } else {
                    for (h, half) in halves.into_iter().enumerate() {
                        _mm_storel_pd(row(2 * h).cast(), _mm_castps_pd(half));
                        _mm_storeh_pd(row(2 * h + 1).cast(), _mm_castps_pd(half));
                    }
                }
            }
            return;
        }
        let mut sums = [0.0f32; 8];
        // SAFETY: `sums` holds 8 values; the CPU has AVX (the caller's promise).
        unsafe { _mm256_storeu_ps(sums.as_mut_ptr(), lanes) };
        for i in 0..R {
            for j in 0..C {
                let mut sum = sums[i * C + j];
                for q in whole..k {
                    // SAFETY: value `q < k` of row `i < R` of `a` and of column `j < C` of `b`.
                    sum += unsafe { *a_row(i).add(q) * *b_col(j).add(q) };
                }
                // Added last, as a separate addition after the product would be.
                match bias {
                    None => {}
                    Some(Bias::PerColumn(v)) => sum += v[j0 + j],
                    Some(Bias::PerRow(v)) => sum += v[i0 + i],
                }
                // SAFETY: output `(i0 + i, j0 + j)`, inside the product and this band.
                unsafe { *out.0.add((i0 + i) * n + j0 + j) = sum };
            }
        }
    }
}

/// The sum of each vector's 8 lanes, vector `v` in lane `v`: three rounds of pairwise sums.
///
/// # Safety
/// The CPU must have AVX (the caller is compiled for it: this is inlined into it).
#[inline(always)]
unsafe fn lane_sums(v: [__m256; 8]) -> __m256 {
    // SAFETY: the CPU has AVX (the caller's promise).
    unsafe {
        // Each 128-bit half of `hadd(x, y)` is [x0+x1, x2+x3, y0+y1, y2+y3] of that half.
        let quarter = |x, y| _mm256_hadd_ps(x, y);
        let low = quarter(quarter(v[0], v[1]), quarter(v[2], v[3]));
        let high = quarter(quarter(v[4], v[5]), quarter(v[6], v[7]));
        // Lanes 0..4 of `low` hold vectors 0..4's sums over lanes 0..4, lanes 4..8 over lanes
        // 4..8.
        _mm256_add_ps(
            _mm256_permute2f128_ps::<0x20>(low, high),
            _mm256_permute2f128_ps::<0x31>(low, high),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::dispatch::NARROW_MAX_COLS as MAX_COLS;
    use super::*;

    /// Every width up to `NARROW_MAX_COLS`, `k` with and without a partial last 8, rows around the
    /// blocks, with and without a bias, on 1 to 3 threads, against an `f64` triple loop.
    #[test]
    fn matches_the_triple_loop() {
        if !is_x86_feature_detected!("avx2") || !is_x86_feature_detected!("fma") {
            eprintln!("skipped: this CPU lacks AVX2 or FMA");
            return;
        }
        let values = |len: usize, seed: usize| -> Vec<f32> {
            (0..len)
                .map(|i| ((i * 7919 + seed * 104_729) % 1000) as f32 / 500.0 - 1.0)
                .collect()
        };
        for (m, k) in [(1, 1), (3, 7), (9, 8), (17, 64), (33, 70), (100, 300)] {
            for n in 1..=MAX_COLS {
                let (a_data, b_data) = (values(m * k, 1), values(n * k, 2));
                let a = StridedMatrix::row_major(&a_data, m, k);
                // `b` stored as its n×k transpose: column-major.
                let b = StridedMatrix::row_major(&b_data, n, k).t();
                assert!(applies(a, b));
                let (col_bias, row_bias) = (values(n, 3), values(m, 4));
                for threads in 1..=3 {
                    let plain = matmul(a, b, None, threads);
                    let by_col = matmul(a, b, Some(Bias::PerColumn(&col_bias)), threads);
                    let by_row = matmul(a, b, Some(Bias::PerRow(&row_bias)), threads);
                    for i in 0..m {
                        for j in 0..n {
                            let want: f64 = (0..k)
                                .map(|q| a.get(i, q) as f64 * b.get(q, j) as f64)
                                .sum();
                            let got = plain[i * n + j];
                            assert!(
                                (got as f64 - want).abs() <= 2.0 * k as f64 * f32::EPSILON as f64,
                                "{m}x{k}x{n} threads {threads} ({i},{j}): {got} vs {want}"
                            );
                            let with = |bias: f32| (got + bias).to_bits();
                            assert_eq!(by_col[i * n + j].to_bits(), with(col_bias[j]));
                            assert_eq!(by_row[i * n + j].to_bits(), with(row_bias[i]));
                        }
                    }
                }
            }
        }
    }
}
