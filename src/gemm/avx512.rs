//! The 12×32 `f32` microkernel for x86-64 CPUs with AVX-512F.
//!
//! A tile is kept in 24 of the 32 `zmm` registers: per step along `k` the kernel loads 32
//! values of `b`, broadcasts 12 of `a` and issues 24 FMAs. Where the CPU runs a 512-bit FMA in
//! one go (Intel's server cores, with two such units), that is twice the arithmetic per
//! instruction of the AVX2 kernel; the 2-vCPU Xeon this was measured on ran the large products of
//! the 784-64-64-10 MLP 1.3–1.5× as fast as with [`super::avx2`]. `k` blocks of at most 256: a
//! packed 32-column panel of `b` is then `KC · NR · 4` bytes = 32 KB, two thirds of a 48 KB L1
//! (128, 192 and 392 were no faster there).

use std::arch::x86_64::*;

use super::blocked::{Microkernel, Panels};

/// The AVX-512F kernel.
pub(super) struct Avx512;

impl Microkernel for Avx512 {
    const MR: usize = 12;
    const NR: usize = 32;
    const KC: usize = 256;
    /// `MC · KC · 4` bytes = 295 KB, inside L2 (2 MB on that Xeon).
    const MC: usize = 288;

    fn available() -> bool {
        is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx2")
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn tile(mr: usize, p: Panels) {
        macro_rules! rows {
            ($($r:literal)*) => {
                match mr {
                    $($r => if p.a_rows {
                        kernel::<true, $r>(p)
                    } else {
                        kernel::<false, $r>(p)
                    },)*
                    _ => unreachable!("avx512::tile: {mr} rows"),
                }
            };
        }
        rows!(12 11 10 9 8 7 6 5 4 3 2 1)
    }
}

/// [`Microkernel::tile`] for `R` rows (a partial last panel of rows is computed as it is,
/// neither padded nor copied).
///
/// # Safety
/// As for [`Microkernel::tile`], on a CPU with AVX-512F.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn kernel<const A_ROWS: bool, const R: usize>(p: Panels) {
    let Panels {
        kc,
        a,
        lda,
        b,
        ldb,
        c,
        ldc,
        overwrite,
        ..
    } = p;
    let mut acc = [[_mm512_setzero_ps(); 2]; R];
    let (step, spacing) = if A_ROWS { (1, lda) } else { (lda, 1) };
    let (mut a, mut b) = (a, b);
    for i in 0..R {
        _mm_prefetch::<_MM_HINT_T0>(c.add(i * ldc).cast());
        _mm_prefetch::<_MM_HINT_T0>(c.add(i * ldc + 31).cast());
    }
    let mut fma_step = |a: *const f32, b: *const f32| {
        let b0 = _mm512_loadu_ps(b);
        let b1 = _mm512_loadu_ps(b.add(16));
        for (i, row) in acc.iter_mut().enumerate() {
            let ai = _mm512_set1_ps(*a.add(i * spacing));
            row[0] = _mm512_fmadd_ps(ai, b0, row[0]);
            row[1] = _mm512_fmadd_ps(ai, b1, row[1]);
        }
    };
    for _ in 0..kc {
        fma_step(a, b);
        a = a.add(step);
        b = b.add(ldb);
    }
    for (i, row) in acc.iter().enumerate() {
        let c = c.add(i * ldc);
        if overwrite {
            _mm512_storeu_ps(c, row[0]);
            _mm512_storeu_ps(c.add(16), row[1]);
        } else {
            _mm512_storeu_ps(c, _mm512_add_ps(_mm512_loadu_ps(c), row[0]));
            _mm512_storeu_ps(c.add(16), _mm512_add_ps(_mm512_loadu_ps(c.add(16)), row[1]));
        }
    }
}
