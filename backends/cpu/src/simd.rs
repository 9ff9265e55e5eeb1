//! Small SIMD building blocks shared by kernels (the x86-64 ones check the CPU themselves).

use std::mem::MaybeUninit;

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// The transpose of the 8×8 matrix whose rows are `r`: 24 shuffles. (A safe `target_feature`
/// function: code compiled for AVX calls it without `unsafe`.)
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
#[inline]
pub(crate) fn transpose8(r: [__m256; 8]) -> [__m256; 8] {
    let t = [
        _mm256_unpacklo_ps(r[0], r[1]),
        _mm256_unpackhi_ps(r[0], r[1]),
        _mm256_unpacklo_ps(r[2], r[3]),
        _mm256_unpackhi_ps(r[2], r[3]),
        _mm256_unpacklo_ps(r[4], r[5]),
        _mm256_unpackhi_ps(r[4], r[5]),
        _mm256_unpacklo_ps(r[6], r[7]),
        _mm256_unpackhi_ps(r[6], r[7]),
    ];
    let s = [
        _mm256_shuffle_ps::<0x44>(t[0], t[2]),
        _mm256_shuffle_ps::<0xEE>(t[0], t[2]),
        _mm256_shuffle_ps::<0x44>(t[1], t[3]),
        _mm256_shuffle_ps::<0xEE>(t[1], t[3]),
        _mm256_shuffle_ps::<0x44>(t[4], t[6]),
        _mm256_shuffle_ps::<0xEE>(t[4], t[6]),
        _mm256_shuffle_ps::<0x44>(t[5], t[7]),
        _mm256_shuffle_ps::<0xEE>(t[5], t[7]),
    ];
    [
        _mm256_permute2f128_ps::<0x20>(s[0], s[4]),
        _mm256_permute2f128_ps::<0x20>(s[1], s[5]),
        _mm256_permute2f128_ps::<0x20>(s[2], s[6]),
        _mm256_permute2f128_ps::<0x20>(s[3], s[7]),
        _mm256_permute2f128_ps::<0x31>(s[0], s[4]),
        _mm256_permute2f128_ps::<0x31>(s[1], s[5]),
        _mm256_permute2f128_ps::<0x31>(s[2], s[6]),
        _mm256_permute2f128_ps::<0x31>(s[3], s[7]),
    ]
}

/// `s` as `f32`s if `E` is `f32` (a test the compiler resolves), for kernels written for `f32`
/// in SIMD intrinsics.
#[inline(always)]
pub(crate) fn as_f32<E: 'static>(s: &[E]) -> Option<&[f32]> {
    (std::any::TypeId::of::<E>() == std::any::TypeId::of::<f32>())
        // SAFETY: `E` is `f32`, so the slice is `s.len()` valid `f32`s.
        .then(|| unsafe { std::slice::from_raw_parts(s.as_ptr().cast::<f32>(), s.len()) })
}

/// [`as_f32`] for an output buffer of (possibly uninitialized) values.
#[inline(always)]
pub(crate) fn as_f32_out<E: 'static>(s: &mut [MaybeUninit<E>]) -> Option<&mut [MaybeUninit<f32>]> {
    (std::any::TypeId::of::<E>() == std::any::TypeId::of::<f32>()).then(|| {
        // SAFETY: `E` is `f32`, and `MaybeUninit<f32>` has `MaybeUninit<E>`'s layout; the
        // slice is borrowed mutably, once.
        unsafe { std::slice::from_raw_parts_mut(s.as_mut_ptr().cast(), s.len()) }
    })
}

/// Writes zeros over all of `s` and returns it as initialized values: output buffers zeroed
/// where they are filled, while in cache.
#[inline]
pub(crate) fn zeroed<E: duograd_backend::Element>(s: &mut [MaybeUninit<E>]) -> &mut [E] {
    for v in s.iter_mut() {
        v.write(E::zero());
    }
    // SAFETY: every element was written just above; `MaybeUninit<E>` has `E`'s layout.
    unsafe { &mut *(s as *mut [MaybeUninit<E>] as *mut [E]) }
}

/// `f()`, compiled for AVX-512F or AVX2 (both with FMA) when this CPU has them (chosen at run
/// time), else for the baseline. `f` and what it calls must be inlined into it for this to help
/// (mark helpers `#[inline(always)]`); the arithmetic is the same in every version (Rust never
/// fuses a multiply and an add by itself, and an explicit `mul_add` is one rounding whether the
/// CPU or libm computes it), so all give identical bits.
#[inline(always)]
pub(crate) fn with_best_simd<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        /// `f()` compiled for AVX-512F and FMA.
        ///
        /// # Safety
        /// The CPU must have AVX-512F and FMA.
        #[target_feature(enable = "avx512f,fma")]
        unsafe fn avx512<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        /// `f()` compiled for AVX2 and FMA.
        ///
        /// # Safety
        /// The CPU must have AVX2 and FMA.
        #[target_feature(enable = "avx2,fma")]
        unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        let fma = std::arch::is_x86_feature_detected!("fma");
        if fma && std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F and FMA, checked just above.
            return unsafe { avx512(f) };
        }
        if fma && std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 and FMA, checked just above.
            return unsafe { avx2(f) };
        }
    }
    f()
}
