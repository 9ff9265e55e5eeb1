//! An `f32` product for x86-64 CPUs with AVX2 and FMA, blocked the way BLIS does it.
//!
//! The output is cut into 6×16 tiles, each kept in 12 of the 16 `ymm` registers while a
//! 6×16 FMA microkernel runs along `k`: per step it loads 16 values of `b`, broadcasts 6 of `a`
//! and issues 12 FMAs, enough independent work to keep both FMA units busy. Around it, `k` is
//! cut into blocks of equal length, at most [`KC`], so that a 16-column panel of `b` (at most
//! 25 KB) stays in L1 while the panels of `a` stream from L2.
//!
//! `b` is always copied ("packed") into the order the microkernel reads it, from any strides
//! (8×8 register transposes for a column-major `b`), its last panel zero-padded; a row-major `a`
//! is read in place, any other is packed too. A partial last panel of rows runs a kernel with
//! that many rows, a partial last panel of columns goes through a small buffer. The output is
//! row-major (the caller gets a column-major one by transposing the product:
//! `(a·b)ᵀ = bᵀ·aᵀ`).
//!
//! With several threads the output is cut into bands of rows (or of columns, when it is
//! wider than tall), one per thread; each thread packs what its band needs, so the threads never
//! wait for each other.

use std::arch::x86_64::*;
use std::cell::RefCell;

use super::StridedMatrix;
use crate::simd::transpose8;
use crate::threads::pool;

/// Rows of a tile.
const MR: usize = 6;
/// Columns of a tile (two `ymm` registers).
const NR: usize = 16;
/// Longest `k` block: a packed 16-column panel of `b` is then `KC · NR · 4` bytes = 25.6 KB, most
/// of L1. `k` is cut into equal blocks (784 → 2 × 392, not 3 × 256 + 16: the products of
/// MNIST's first layer ran 3–6% faster so, with fewer passes over the output tiles).
const KC: usize = 400;
/// Rows of `a` packed at once: `MC · KC · 4` bytes = 230 KB, inside L2.
const MC: usize = 144;
/// Columns of `b` packed at once: at most `KC · NC · 4` bytes = 3.3 MB, read from L3.
const NC: usize = 2048;

/// Whether this CPU can run [`matmul`].
pub(super) fn available() -> bool {
    is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
}

/// A pointer to the output that the threads share; each writes only its own band.
#[derive(Clone, Copy)]
struct Out(*mut f32);

// SAFETY: the bands the threads write are disjoint (see `matmul`).
unsafe impl Send for Out {}
unsafe impl Sync for Out {}

/// `out = a · b`, `out` row-major `a.rows() × b.cols()` and zeroed, on up to `threads` threads.
///
/// # Panics
/// If `out` is shorter than the product, or if the CPU lacks AVX2 or FMA ([`available`]).
pub(super) fn matmul(
    a: StridedMatrix<'_, f32>,
    b: StridedMatrix<'_, f32>,
    out: &mut [f32],
    threads: usize,
) {
    let (m, n) = (a.rows, b.cols);
    assert!(out.len() >= m * n, "avx2::matmul: output too short");
    assert!(available(), "avx2::matmul: the CPU lacks AVX2 or FMA");
    // Bands whole tiles wide, at least one per thread.
    let by_rows = m >= n;
    let (len, step) = if by_rows { (m, MR) } else { (n, NR) };
    let tiles = len.div_ceil(step);
    let threads = pool::usable(threads);
    let parts = threads.clamp(1, tiles.clamp(1, pool::MAX_PARTS));
    let band = tiles.div_ceil(parts) * step;
    let parts = len.div_ceil(band);
    let out = Out(out.as_mut_ptr());
    pool::run(parts, threads, &|part| {
        let (start, end) = (part * band, ((part + 1) * band).min(len));
        let (rows, cols) = if by_rows {
            (start..end, 0..n)
        } else {
            (0..m, start..end)
        };
        // SAFETY: the CPU has AVX2 and FMA (asserted above); `out` holds m·n elements (asserted
        // above) and this share writes only rows `rows` × columns `cols` of it, disjoint from
        // every other share's.
        unsafe { band_product(a, b, out, n, rows, cols) }
    });
}

thread_local! {
    /// Each thread's packing buffers for `a` and `b`, kept between products.
    static BUFFERS: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// `out[rows, cols] = a[rows, :] · b[:, cols]`, `out` row-major with `ldc` columns.
///
/// # Safety
/// The CPU must have AVX2 and FMA, and `out` must hold the `rows × cols` block at row stride
/// `ldc`, written by no other thread meanwhile.
#[target_feature(enable = "avx2,fma")]
unsafe fn band_product(
    a: StridedMatrix<'_, f32>,
    b: StridedMatrix<'_, f32>,
    out: Out,
    ldc: usize,
    rows: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
) {
    let k = a.cols;
    // A row-major `a` is read in place, six rows side by side: copying it would cost, in a
    // product as thin as 512×784·784×64, as much as a tenth of the arithmetic. Any other `a` is
    // packed: read in place, a column-major one would use 24 bytes of each 64-byte line it loads,
    // and its panels would crowd `b`'s out of L1.
    let (rs, cs) = (a.row_stride, a.col_stride);
    let in_place = cs == 1;
    BUFFERS.with_borrow_mut(|(pa, pb)| {
        let nc_max = cols.len().min(NC).div_ceil(NR) * NR;
        let mc_max = rows.len().min(MC).div_ceil(MR) * MR;
        let kc_max = k.div_ceil(k.div_ceil(KC).max(1));
        if pb.len() < kc_max * nc_max {
            pb.resize(kc_max * nc_max, 0.0);
        }
        if !in_place && pa.len() < kc_max * mc_max {
            pa.resize(kc_max * mc_max, 0.0);
        }
        for jc in cols.clone().step_by(NC) {
            let nc = (cols.end - jc).min(NC);
            for pc in (0..k).step_by(kc_max.max(1)) {
                let kc = (k - pc).min(kc_max);
                // SAFETY (of the packing calls and of the pointers below): the blocks lie inside
                // `a`, `b` and this band of `out`, and the buffers were sized above.
                pack_b(b, pc, kc, jc, nc, pb);
                for ic in rows.clone().step_by(MC) {
                    let mc = (rows.end - ic).min(MC);
                    if !in_place {
                        pack_a(a, ic, mc, pc, kc, pa);
                    }
                    // B's panel (in L1) outside, A's panels (in L2) inside.
                    for jr in (0..nc).step_by(NR) {
                        let bp = pb.as_ptr().add(jr * kc);
                        let nr = (nc - jr).min(NR);
                        for ir in (0..mc).step_by(MR) {
                            let mr = (mc - ir).min(MR);
                            // The panel of `a`, whether it is read along rows, and its stride.
                            let (ap, a_rows, lda) = if in_place {
                                (a.data.as_ptr().add((ic + ir) * rs + pc), true, rs)
                            } else {
                                (pa.as_ptr().add(ir * kc), false, MR)
                            };
                            let c = out.0.add((ic + ir) * ldc + jc + jr);
                            // A partial last panel of columns goes through a full-width buffer.
                            let mut tile = [0.0f32; MR * NR];
                            let (dst, ldd) = if nr == NR {
                                (c, ldc)
                            } else {
                                (tile.as_mut_ptr(), NR)
                            };
                            macro_rules! rows {
                                ($r:literal) => {
                                    if a_rows {
                                        kernel::<true, $r>(kc, ap, lda, bp, dst, ldd)
                                    } else {
                                        kernel::<false, $r>(kc, ap, lda, bp, dst, ldd)
                                    }
                                };
                            }
                            match mr {
                                6 => rows!(6),
                                5 => rows!(5),
                                4 => rows!(4),
                                3 => rows!(3),
                                2 => rows!(2),
                                _ => rows!(1),
                            }
                            if nr < NR {
                                for i in 0..mr {
                                    for j in 0..nr {
                                        *c.add(i * ldc + j) += tile[i * NR + j];
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    });
}

/// Copies `b[pc..pc+kc, jc..jc+nc]` into `dst` as panels of [`NR`] columns, each `kc` rows of
/// `NR` values, the last panel padded with zeros.
///
/// # Safety
/// The CPU must have AVX2; the block must lie inside `b`, and `dst` hold `kc · nc` rounded up to
/// whole panels.
#[target_feature(enable = "avx2,fma")]
unsafe fn pack_b(
    b: StridedMatrix<'_, f32>,
    pc: usize,
    kc: usize,
    jc: usize,
    nc: usize,
    dst: &mut [f32],
) {
    let (rs, cs) = (b.row_stride, b.col_stride);
    debug_assert!(dst.len() >= kc * nc.div_ceil(NR) * NR);
    for (panel, j0) in (0..nc).step_by(NR).enumerate() {
        let dst = dst.as_mut_ptr().add(panel * kc * NR);
        let w = (nc - j0).min(NR);
        let src = b.data.as_ptr().add(pc * rs + (jc + j0) * cs);
        let mut p0 = 0;
        if w == NR && cs == 1 {
            // Rows are contiguous: copy 16 values per row.
            for p in 0..kc {
                let (s, d) = (src.add(p * rs), dst.add(p * NR));
                _mm256_storeu_ps(d, _mm256_loadu_ps(s));
                _mm256_storeu_ps(d.add(8), _mm256_loadu_ps(s.add(8)));
            }
            p0 = kc;
        } else if w == NR && rs == 1 {
            // Columns are contiguous: transpose 8×8 blocks.
            while p0 + 8 <= kc {
                for half in 0..2 {
                    let cols: [__m256; 8] =
                        std::array::from_fn(|j| _mm256_loadu_ps(src.add((half * 8 + j) * cs + p0)));
                    for (q, row) in transpose8(cols).into_iter().enumerate() {
                        _mm256_storeu_ps(dst.add((p0 + q) * NR + half * 8), row);
                    }
                }
                p0 += 8;
            }
        }
        // What is left (any strides, an edge panel, or the last rows), one value at a time.
        for p in p0..kc {
            for j in 0..NR {
                *dst.add(p * NR + j) = if j < w {
                    *src.add(p * rs + j * cs)
                } else {
                    0.0
                };
            }
        }
    }
}

/// Copies `a[ic..ic+mc, pc..pc+kc]` into `dst` as panels of [`MR`] rows, each `kc` columns of
/// `MR` values, the last panel padded with zeros.
///
/// # Safety
/// The block must lie inside `a`, and `dst` hold `mc · kc` rounded up to whole panels.
unsafe fn pack_a(
    a: StridedMatrix<'_, f32>,
    ic: usize,
    mc: usize,
    pc: usize,
    kc: usize,
    dst: &mut [f32],
) {
    let (rs, cs) = (a.row_stride, a.col_stride);
    debug_assert!(dst.len() >= kc * mc.div_ceil(MR) * MR);
    for (panel, i0) in (0..mc).step_by(MR).enumerate() {
        let dst = dst.as_mut_ptr().add(panel * kc * MR);
        let h = (mc - i0).min(MR);
        let src = a.data.as_ptr().add((ic + i0) * rs + pc * cs);
        if h == MR && rs == 1 {
            // Columns are contiguous: six values per column.
            for p in 0..kc {
                std::ptr::copy_nonoverlapping(src.add(p * cs), dst.add(p * MR), MR);
            }
            continue;
        }
        for p in 0..kc {
            for i in 0..MR {
                *dst.add(p * MR + i) = if i < h {
                    *src.add(i * rs + p * cs)
                } else {
                    0.0
                };
            }
        }
    }
}

/// `c[0..R, 0..NR] += a · b` for an `R × kc` panel `a` (`R ≤ MR`: a partial last panel of rows
/// is computed as it is, neither padded nor copied) and a packed `kc × NR` panel `b`, `c`
/// row-major with row stride `ldc`. `a`'s element `(i, p)` is `a[i * lda + p]` if `A_ROWS`, else
/// `a[i + p * lda]` (`lda = MR` for a packed panel).
///
/// # Safety
/// The CPU must have AVX2 and FMA; `a` must hold the `R × kc` values so addressed, `b` `kc · NR`
/// values, and `c` the `R × NR` tile at row stride `ldc`.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn kernel<const A_ROWS: bool, const R: usize>(
    kc: usize,
    a: *const f32,
    lda: usize,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
) {
    let mut acc = [[_mm256_setzero_ps(); 2]; R];
    let (step, spacing) = if A_ROWS { (1, lda) } else { (lda, 1) };
    let (mut a, mut b) = (a, b);
    for i in 0..R {
        _mm_prefetch::<_MM_HINT_T0>(c.add(i * ldc).cast());
        _mm_prefetch::<_MM_HINT_T0>(c.add(i * ldc + NR - 1).cast());
    }
    let mut fma_step = |a: *const f32, b: *const f32| {
        let b0 = _mm256_loadu_ps(b);
        let b1 = _mm256_loadu_ps(b.add(8));
        for (i, row) in acc.iter_mut().enumerate() {
            let ai = _mm256_broadcast_ss(&*a.add(i * spacing));
            row[0] = _mm256_fmadd_ps(ai, b0, row[0]);
            row[1] = _mm256_fmadd_ps(ai, b1, row[1]);
        }
    };
    for _ in 0..kc / 4 {
        fma_step(a, b);
        fma_step(a.add(step), b.add(NR));
        fma_step(a.add(2 * step), b.add(2 * NR));
        fma_step(a.add(3 * step), b.add(3 * NR));
        a = a.add(4 * step);
        b = b.add(4 * NR);
    }
    for _ in 0..kc % 4 {
        fma_step(a, b);
        a = a.add(step);
        b = b.add(NR);
    }
    for (i, row) in acc.iter().enumerate() {
        let c = c.add(i * ldc);
        _mm256_storeu_ps(c, _mm256_add_ps(_mm256_loadu_ps(c), row[0]));
        _mm256_storeu_ps(c.add(8), _mm256_add_ps(_mm256_loadu_ps(c.add(8)), row[1]));
    }
}
