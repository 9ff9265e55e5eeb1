//! The 6×16 `f32` microkernel for x86-64 CPUs with AVX2 and FMA (and no AVX-512).
//!
//! A tile is kept in 12 of the 16 `ymm` registers: per step along `k` the kernel loads 16
//! values of `b`, broadcasts 6 of `a` and issues 12 FMAs, enough independent work to keep both
//! FMA units busy. `k` blocks of at most 400: a packed 16-column panel of `b` is then
//! `KC · NR · 4` bytes = 25.6 KB, most of a 32 KB L1.

use std::arch::x86_64::*;

use super::blocked::{Microkernel, Panels};

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
        macro_rules! rows {
            ($r:literal) => {
                if p.a_rows {
                    kernel::<true, $r>(p)
                } else {
                    kernel::<false, $r>(p)
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
    }
}

/// [`Microkernel::tile`] for `R` rows (a partial last panel of rows is computed as it is,
/// neither padded nor copied).
///
/// # Safety
/// As for [`Microkernel::tile`], on a CPU with AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
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
    let mut acc = [[_mm256_setzero_ps(); 2]; R];
    let (step, spacing) = if A_ROWS { (1, lda) } else { (lda, 1) };
    let (mut a, mut b) = (a, b);
    for i in 0..R {
        _mm_prefetch::<_MM_HINT_T0>(c.add(i * ldc).cast());
        _mm_prefetch::<_MM_HINT_T0>(c.add(i * ldc + 15).cast());
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
    for _ in 0..kc {
        fma_step(a, b);
        a = a.add(step);
        b = b.add(ldb);
    }
    for (i, row) in acc.iter().enumerate() {
        let c = c.add(i * ldc);
        if overwrite {
            _mm256_storeu_ps(c, row[0]);
            _mm256_storeu_ps(c.add(8), row[1]);
        } else {
            _mm256_storeu_ps(c, _mm256_add_ps(_mm256_loadu_ps(c), row[0]));
            _mm256_storeu_ps(c.add(8), _mm256_add_ps(_mm256_loadu_ps(c.add(8)), row[1]));
        }
    }
}
