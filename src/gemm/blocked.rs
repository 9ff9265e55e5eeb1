//! duograd's own `f32` product for x86-64, blocked the way BLIS does it; the innermost loop is a
//! [`Microkernel`] for one instruction set ([`super::avx2`], [`super::avx512`]).
//!
//! The output is cut into `MR × NR` tiles, each held in registers while the microkernel runs
//! along `k`. Around it, `k` is cut into blocks of equal length, at most the kernel's `KC`, so
//! that an `NR`-column panel of `b` stays in L1 while the panels of `a` stream from L2.
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

/// Columns of `b` packed at once: at most `KC · NC · 4` bytes (3.3 MB at `KC = 400`), read from
/// L3.
const NC: usize = 2048;
/// The most values a tile may hold (`MR · NR` of every kernel).
const MAX_TILE: usize = 384;

/// One instruction set's register tile: `c[0..mr, 0..NR] += a · b` along one `k` block.
pub(super) trait Microkernel {
    /// Rows of a tile.
    const MR: usize;
    /// Columns of a tile, a multiple of 8.
    const NR: usize;
    /// Longest `k` block.
    const KC: usize;
    /// Rows of `a` packed at once (their `MC · KC · 4` bytes should sit in L2).
    const MC: usize;

    /// Whether this CPU can run the kernel.
    fn available() -> bool;

    /// `c[0..mr, 0..NR] += a · b` for an `mr × kc` panel `a` (`1 ≤ mr ≤ MR`) and a packed
    /// `kc × NR` panel `b`, `c` row-major with row stride `ldc`. `a`'s element `(i, p)` is
    /// `a[i * lda + p]` if `a_rows`, else `a[i + p * lda]` (`lda = MR` for a packed panel).
    ///
    /// # Safety
    /// The CPU must have the kernel's instructions ([`Microkernel::available`]); `a` must hold
    /// the `mr × kc` values so addressed, `b` `kc · NR` values, and `c` the `mr × NR` tile at
    /// row stride `ldc`.
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile(
        mr: usize,
        a_rows: bool,
        kc: usize,
        a: *const f32,
        lda: usize,
        b: *const f32,
        c: *mut f32,
        ldc: usize,
    );
}

/// A pointer to the output that the threads share; each writes only its own band.
#[derive(Clone, Copy)]
struct Out(*mut f32);

// SAFETY: the bands the threads write are disjoint (see `matmul`).
unsafe impl Send for Out {}
unsafe impl Sync for Out {}

/// `out = a · b` with kernel `K`, `out` row-major `a.rows() × b.cols()` and zeroed, on up to
/// `threads` threads.
///
/// # Panics
/// If `out` is shorter than the product, or if the CPU cannot run `K`.
pub(super) fn matmul<K: Microkernel>(
    a: StridedMatrix<'_, f32>,
    b: StridedMatrix<'_, f32>,
    out: &mut [f32],
    threads: usize,
) {
    let (m, n) = (a.rows, b.cols);
    assert!(out.len() >= m * n, "blocked::matmul: output too short");
    assert!(
        K::available(),
        "blocked::matmul: the CPU lacks the kernel's instructions"
    );
    assert!(K::MR * K::NR <= MAX_TILE && K::NR % 8 == 0);
    // Bands whole tiles wide, at least one per thread.
    let by_rows = m >= n;
    let (len, step) = if by_rows { (m, K::MR) } else { (n, K::NR) };
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
        // SAFETY: the CPU can run `K` (asserted above); `out` holds m·n elements (asserted
        // above) and this share writes only rows `rows` × columns `cols` of it, disjoint from
        // every other share's.
        unsafe { band_product::<K>(a, b, out, n, rows, cols) }
    });
}

thread_local! {
    /// Each thread's packing buffers for `a` and `b`, kept between products.
    static BUFFERS: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// `out[rows, cols] = a[rows, :] · b[:, cols]`, `out` row-major with `ldc` columns.
///
/// # Safety
/// The CPU must be able to run `K` (it has AVX2 then too), and `out` must hold the
/// `rows × cols` block at row stride `ldc`, written by no other thread meanwhile.
unsafe fn band_product<K: Microkernel>(
    a: StridedMatrix<'_, f32>,
    b: StridedMatrix<'_, f32>,
    out: Out,
    ldc: usize,
    rows: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
) {
    let (mr_max, nr_max) = (K::MR, K::NR);
    let k = a.cols;
    // A row-major `a` is read in place, `MR` rows side by side: copying it would cost, in a
    // product as thin as 512×784·784×64, as much as a tenth of the arithmetic. Any other `a` is
    // packed: read in place, a column-major one would use a few bytes of each 64-byte line it
    // loads, and its panels would crowd `b`'s out of L1.
    let (rs, cs) = (a.row_stride, a.col_stride);
    let in_place = cs == 1;
    BUFFERS.with_borrow_mut(|(pa, pb)| {
        let nc_max = cols.len().min(NC).div_ceil(nr_max) * nr_max;
        let mc_max = rows.len().min(K::MC).div_ceil(mr_max) * mr_max;
        // Equal blocks: 784 → 2 × 392, not 3 × 256 + 16 (fewer passes over the output tiles).
        let kc_max = k.div_ceil(k.div_ceil(K::KC).max(1));
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
                pack_b::<K>(b, pc, kc, jc, nc, pb);
                for ic in rows.clone().step_by(K::MC) {
                    let mc = (rows.end - ic).min(K::MC);
                    if !in_place {
                        pack_a::<K>(a, ic, mc, pc, kc, pa);
                    }
                    // B's panel (in L1) outside, A's panels (in L2) inside.
                    for jr in (0..nc).step_by(nr_max) {
                        let bp = pb.as_ptr().add(jr * kc);
                        let nr = (nc - jr).min(nr_max);
                        for ir in (0..mc).step_by(mr_max) {
                            let mr = (mc - ir).min(mr_max);
                            // The panel of `a`, whether it is read along rows, and its stride.
                            let (ap, a_rows, lda) = if in_place {
                                (a.data.as_ptr().add((ic + ir) * rs + pc), true, rs)
                            } else {
                                (pa.as_ptr().add(ir * kc), false, mr_max)
                            };
                            let c = out.0.add((ic + ir) * ldc + jc + jr);
                            // A partial last panel of columns goes through a full-width buffer.
                            let mut tile = [0.0f32; MAX_TILE];
                            let (dst, ldd) = if nr == nr_max {
                                (c, ldc)
                            } else {
                                (tile.as_mut_ptr(), nr_max)
                            };
                            K::tile(mr, a_rows, kc, ap, lda, bp, dst, ldd);
                            if nr < nr_max {
                                for i in 0..mr {
                                    for j in 0..nr {
                                        *c.add(i * ldc + j) += tile[i * nr_max + j];
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

/// Copies `b[pc..pc+kc, jc..jc+nc]` into `dst` as panels of `K::NR` columns, each `kc` rows of
/// `K::NR` values, the last panel padded with zeros. (Generic over the kernel so that the panel
/// width is a constant: with a variable one, each row's copy became a call to `memcpy`.)
///
/// # Safety
/// The CPU must have AVX2; the block must lie inside `b`, and `dst` hold `kc · nc` rounded up to
/// whole panels.
#[target_feature(enable = "avx2,fma")]
unsafe fn pack_b<K: Microkernel>(
    b: StridedMatrix<'_, f32>,
    pc: usize,
    kc: usize,
    jc: usize,
    nc: usize,
    dst: &mut [f32],
) {
    let nr_max = K::NR;
    let (rs, cs) = (b.row_stride, b.col_stride);
    debug_assert!(dst.len() >= kc * nc.div_ceil(nr_max) * nr_max);
    for (panel, j0) in (0..nc).step_by(nr_max).enumerate() {
        let dst = dst.as_mut_ptr().add(panel * kc * nr_max);
        let w = (nc - j0).min(nr_max);
        let src = b.data.as_ptr().add(pc * rs + (jc + j0) * cs);
        let mut p0 = 0;
        if w == nr_max && cs == 1 {
            // Rows are contiguous: copy them 8 values at a time.
            for p in 0..kc {
                let (s, d) = (src.add(p * rs), dst.add(p * nr_max));
                for j in (0..nr_max).step_by(8) {
                    _mm256_storeu_ps(d.add(j), _mm256_loadu_ps(s.add(j)));
                }
            }
            p0 = kc;
        } else if w == nr_max && rs == 1 {
            // Columns are contiguous: transpose 8×8 blocks.
            while p0 + 8 <= kc {
                for j8 in (0..nr_max).step_by(8) {
                    let col = |j: usize| _mm256_loadu_ps(src.add((j8 + j) * cs + p0));
                    let cols = [
                        col(0),
                        col(1),
                        col(2),
                        col(3),
                        col(4),
                        col(5),
                        col(6),
                        col(7),
                    ];
                    let rows = transpose8(cols);
                    for (q, &row) in rows.iter().enumerate() {
                        _mm256_storeu_ps(dst.add((p0 + q) * nr_max + j8), row);
                    }
                }
                p0 += 8;
            }
        }
        // What is left (any strides, an edge panel, or the last rows), one value at a time.
        for p in p0..kc {
            for j in 0..nr_max {
                *dst.add(p * nr_max + j) = if j < w {
                    *src.add(p * rs + j * cs)
                } else {
                    0.0
                };
            }
        }
    }
}

/// Copies `a[ic..ic+mc, pc..pc+kc]` into `dst` as panels of `K::MR` rows, each `kc` columns of
/// `K::MR` values, the last panel padded with zeros.
///
/// # Safety
/// The block must lie inside `a`, and `dst` hold `mc · kc` rounded up to whole panels.
unsafe fn pack_a<K: Microkernel>(
    a: StridedMatrix<'_, f32>,
    ic: usize,
    mc: usize,
    pc: usize,
    kc: usize,
    dst: &mut [f32],
) {
    let mr_max = K::MR;
    let (rs, cs) = (a.row_stride, a.col_stride);
    debug_assert!(dst.len() >= kc * mc.div_ceil(mr_max) * mr_max);
    for (panel, i0) in (0..mc).step_by(mr_max).enumerate() {
        let dst = dst.as_mut_ptr().add(panel * kc * mr_max);
        let h = (mc - i0).min(mr_max);
        let src = a.data.as_ptr().add((ic + i0) * rs + pc * cs);
        if h == mr_max && rs == 1 {
            // Columns are contiguous: `mr_max` values per column.
            for p in 0..kc {
                std::ptr::copy_nonoverlapping(src.add(p * cs), dst.add(p * mr_max), mr_max);
            }
            continue;
        }
        for p in 0..kc {
            for i in 0..mr_max {
                *dst.add(p * mr_max + i) = if i < h {
                    *src.add(i * rs + p * cs)
                } else {
                    0.0
                };
            }
        }
    }
}
