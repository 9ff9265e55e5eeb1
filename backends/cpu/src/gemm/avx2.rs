//! The 6×16 `f32` microkernel for x86-64 CPUs with AVX2 and FMA: every product of such a CPU
//! without AVX-512, and those narrower than 32 columns on a CPU with it.
//!
//! A tile is kept in 12 of the 16 `ymm` registers: per step along `k` the kernel loads 16
//! values of `b`, broadcasts 6 of `a` and issues 12 FMAs, enough independent work to keep both
//! FMA units busy. `k` blocks of at most 400: a packed 16-column panel of `b` is then
//! `KC · NR · 4` bytes = 25.6 KB, most of a 32 KB L1.

use std::arch::x86_64::*;

use super::blocked::{column_of_tiles, impl_lanes, tile_for_rows, Microkernel, Panels};

/// The AVX2 + FMA kernel.
pub(super) struct Avx2;

impl Microkernel for Avx2 {
    const MR: usize = 6;
    const NR: usize = 16;
    const KC: usize = 400;
    /// `MC · KC · 4` bytes = 230 KB, inside L2.
    const MC: usize = 144;

    fn available() -> bool {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn tile(mr: usize, p: Panels) {
        debug_assert!(Self::available() && (1..=Self::MR).contains(&mr));
        tile_for_rows!(__m256, mr, p, 6 5 4 3 2 1)
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn tiles(mc: usize, a_step: usize, p: Panels) {
        debug_assert!(Self::available());
        // SAFETY: the column's last, partial tile, as the caller promised for every tile.
        let last = |mr, p| unsafe { Self::tile(mr, p) };
        // SAFETY: as the caller promised, and this function is compiled for the kernel's
        // instruction set.
        unsafe { column_of_tiles::<__m256, 6>(mc, a_step, p, last) }
    }
}

impl_lanes!(
    __m256,
    8,
    _mm256_setzero_ps,
    _mm256_loadu_ps,
    _mm256_set1_ps,
    _mm256_fmadd_ps,
    _mm256_add_ps,
    _mm256_storeu_ps
);
