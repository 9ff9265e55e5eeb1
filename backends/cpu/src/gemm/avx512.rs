//! The 12×32 `f32` microkernel for x86-64 CPUs with AVX-512F.
//!
//! A tile is kept in 24 of the 32 `zmm` registers: per step along `k` the kernel loads 32 values of
//! `b`, broadcasts 12 of `a` and issues 24 FMAs. Where the CPU runs a 512-bit FMA in one go
//! (Intel's server cores, with two such units), that is twice the arithmetic per instruction of the
//! AVX2 kernel. A CPU that splits each 512-bit FMA in two does the AVX2 kernel's arithmetic per
//! cycle in half the instructions, which still helps a single thread. `k` blocks of at most 256: a
//! packed 32-column panel of `b` is then `KC · NR · 4` bytes = 32 KB, two thirds of a 48 KB L1.

use std::arch::x86_64::*;

use super::blocked::{column_of_tiles, impl_lanes, tile_for_rows, Microkernel, Panels};

/// The AVX-512F kernel.
pub(super) struct Avx512;

impl Microkernel for Avx512 {
    const MR: usize = 12;
    const NR: usize = 32;
    const KC: usize = 256;
    /// `MC · KC · 4` bytes = 295 KB, inside a 1–2 MB L2.
    const MC: usize = 288;

    fn available() -> bool {
        is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx2")
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn tile(mr: usize, p: Panels) {
        debug_assert!(Self::available() && (1..=Self::MR).contains(&mr));
        tile_for_rows!(__m512, mr, p, 12 11 10 9 8 7 6 5 4 3 2 1)
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn tiles(mc: usize, a_step: usize, p: Panels) {
        debug_assert!(Self::available());
        // SAFETY: the column's last, partial tile, as the caller promised for every tile.
        let last = |mr, p| unsafe { Self::tile(mr, p) };
        // SAFETY: as the caller promised, and this function is compiled for the kernel's
        // instruction set.
        unsafe { column_of_tiles::<__m512, 12>(mc, a_step, p, last) }
    }
}

impl_lanes!(
    __m512,
    16,
    _mm512_setzero_ps,
    _mm512_loadu_ps,
    _mm512_set1_ps,
    _mm512_fmadd_ps,
    _mm512_add_ps,
    _mm512_storeu_ps
);
