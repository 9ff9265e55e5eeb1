//! `exp` over whole buffers, written so the compiler inlines and vectorizes it.
//!
//! A libm `exp` is an opaque call per element, which neither inlines nor vectorizes; in the fused
//! cross-entropy such calls would be most of the op's time. [`exp_in_place`] uses the branch-free
//! ports of FreeBSD's/musl's `exp` below, within one ulp of the correctly rounded result (tested
//! below), in a loop compiled for the CPU's widest SIMD, picked at run time.

use std::any::Any;

use duograd_backend::Element;

/// `exp` of every element, in place.
///
/// `f32` and `f64` go through [`exp_f32`] and [`exp_f64`], branch-free functions the compiler
/// inlines and vectorizes: a libm `exp` is an opaque call per element, and such calls would be most
/// of the op's time. Both are within one ulp of the correctly rounded result (see the tests below),
/// so the loss moves only by float rounding. Any other element type uses its own `exp`.
#[allow(clippy::ptr_arg)] // a `Vec` rather than a slice: `Any` downcasts only sized types
pub(crate) fn exp_in_place<E: Element>(v: &mut Vec<E>) {
    if let Some(v) = (v as &mut dyn Any).downcast_mut::<Vec<f32>>() {
        return map_in_place(v, exp_f32);
    }
    if let Some(v) = (v as &mut dyn Any).downcast_mut::<Vec<f64>>() {
        return map_in_place(v, exp_f64);
    }
    v.iter_mut().for_each(|x| *x = x.exp());
}

/// `x = f(x)` for every element, with `f` inlined into the loop, compiled for the widest SIMD this
/// CPU has ([`crate::simd::with_best_simd`]: AVX-512F or AVX2 on x86-64, 4× or 2× the lanes of the
/// SSE2 baseline). The arithmetic is the same in every version, so all give identical bits.
#[inline(always)]
fn map_in_place<T: Copy>(v: &mut [T], f: impl Fn(T) -> T + Copy) {
    crate::simd::with_best_simd(
        #[inline(always)]
        || v.iter_mut().for_each(|x| *x = f(*x)),
    );
}

// `exp_f32` and `exp_f64` follow FreeBSD's (and musl's) `e_expf.c` and `e_exp.c`, without their
// branches. With `ln 2 = LN2_HI + LN2_LO` (`LN2_HI` has few significant bits, so `k * LN2_HI` is
// exact) and `k = round(x / ln 2)`:
//   r = x - k ln 2 = hi - lo   with hi = x - k LN2_HI, lo = k LN2_LO, |r| <= ln(2) / 2,
//   exp(r) = 1 + r + r c / (2 - c)   with c = r - r² P(r²), a minimax fit,
//   exp(x) = 2^k exp(r).
// `k` is rounded with the 1.5 · 2^mantissa trick, which also leaves `k` as an integer in the low
// bits; and `2^k` is applied as two factors `2^a · 2^(k-a)`, each a normal number, so that results
// near the overflow threshold and subnormal results are right too (multiplying by a power of two
// is exact, and the second product rounds once). Inputs beyond the thresholds give 0 or +inf, and
// NaN stays NaN (every comparison with it is false).

/// `e^x` for `f32`, within one ulp.
#[inline(always)]
pub(crate) fn exp_f32(x: f32) -> f32 {
    // Cephes' split of ln 2: LN2_HI has 9 significant bits.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const P1: f32 = 1.666_662_5e-1;
    const P2: f32 = -2.766_733_3e-3;
    const ROUND: f32 = 12_582_912.0; // 1.5 · 2^23
    const MAX: f32 = 88.722_84; // ln(f32::MAX)
    const MIN: f32 = -103.972_08; // ln(2^-150): below it, e^x rounds to 0
    let xc = x.clamp(MIN, MAX); // keeps NaN
    let t = xc * std::f32::consts::LOG2_E + ROUND;
    let k = t - ROUND;
    let ki = t.to_bits().wrapping_sub(ROUND.to_bits()) as i32;
    let hi = xc - k * LN2_HI;
    let lo = k * LN2_LO;
    let r = hi - lo;
    let rr = r * r;
    let c = r - rr * (P1 + rr * P2);
    let y = 1.0 + ((r * c / (2.0 - c) - lo) + hi);
    let a = ki >> 1;
    let pow2 = |n: i32| f32::from_bits((n.wrapping_add(127) as u32) << 23);
    let e = y * pow2(a) * pow2(ki.wrapping_sub(a));
    if x > MAX {
        f32::INFINITY
    } else if x < MIN {
        0.0
    } else {
        e
    }
}

/// `e^x` for `f64`, within one ulp.
#[inline(always)]
fn exp_f64(x: f64) -> f64 {
    const LN2_HI: f64 = 6.931_471_803_691_238e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    const P1: f64 = 1.666_666_666_666_660_2e-1;
    const P2: f64 = -2.777_777_777_701_559_3e-3;
    const P3: f64 = 6.613_756_321_437_934e-5;
    const P4: f64 = -1.653_390_220_546_525_2e-6;
    const P5: f64 = 4.138_136_797_057_238_5e-8;
    const ROUND: f64 = 6_755_399_441_055_744.0; // 1.5 · 2^52
    const MAX: f64 = 709.782_712_893_384; // ln(f64::MAX)
    const MIN: f64 = -745.133_219_101_941_2; // ln(2^-1075): below it, e^x rounds to 0
    let xc = x.clamp(MIN, MAX); // keeps NaN
    let t = xc * std::f64::consts::LOG2_E + ROUND;
    let k = t - ROUND;
    let ki = t.to_bits().wrapping_sub(ROUND.to_bits()) as i64;
    let hi = xc - k * LN2_HI;
    let lo = k * LN2_LO;
    let r = hi - lo;
    let rr = r * r;
    let c = r - rr * (P1 + rr * (P2 + rr * (P3 + rr * (P4 + rr * P5))));
    let y = 1.0 + ((r * c / (2.0 - c) - lo) + hi);
    let a = ki >> 1;
    let pow2 = |n: i64| f64::from_bits((n.wrapping_add(1023) as u64) << 52);
    let e = y * pow2(a) * pow2(ki.wrapping_sub(a));
    if x > MAX {
        f64::INFINITY
    } else if x < MIN {
        0.0
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::{exp_f32, exp_f64, exp_in_place};

    /// Distance in ulps between two non-negative floats (their bit patterns are ordered).
    fn ulps32(a: f32, b: f32) -> u32 {
        a.to_bits().abs_diff(b.to_bits())
    }

    fn ulps64(a: f64, b: f64) -> u64 {
        a.to_bits().abs_diff(b.to_bits())
    }

    #[test]
    fn exp_f32_is_within_one_ulp_everywhere() {
        // Every 61st f32 from -110 to 90: the whole range from underflow (including subnormal
        // results) to overflow.
        let (lo, hi) = ((-110f32).to_bits(), 90f32.to_bits());
        let negatives = (0x8000_0000..=lo).step_by(61).map(f32::from_bits);
        let positives = (0..=hi).step_by(61).map(f32::from_bits);
        for x in negatives.chain(positives) {
            let (got, want) = (exp_f32(x), x.exp());
            assert!(
                ulps32(got, want) <= 1,
                "exp({x:e}) = {got:e}, want {want:e}"
            );
        }
    }

    #[test]
    fn exp_f64_is_within_one_ulp_everywhere() {
        // 4M points evenly over [-750, 715], and a dense sweep of the reduced range.
        let n = 4_000_000;
        let wide = (0..=n).map(|i| -750.0 + 1465.0 * i as f64 / n as f64);
        let near_zero = (0..=n).map(|i| -1.0 + 2.0 * i as f64 / n as f64);
        for x in wide.chain(near_zero) {
            let (got, want) = (exp_f64(x), x.exp());
            assert!(
                ulps64(got, want) <= 1,
                "exp({x:e}) = {got:e}, want {want:e}"
            );
        }
    }

    #[test]
    fn the_vectorized_loop_gives_the_same_bits_as_the_scalar_function() {
        // Whatever instruction set `exp_in_place` picks at run time.
        let xs: Vec<f64> = (0..=20_000).map(|i| -800.0 + 0.0755 * i as f64).collect();
        let mut v = xs.clone();
        exp_in_place(&mut v);
        for (x, e) in xs.iter().zip(&v) {
            assert_eq!(e.to_bits(), exp_f64(*x).to_bits(), "exp({x})");
        }
        let xs: Vec<f32> = xs.iter().map(|&x| x as f32 / 7.0).collect();
        let mut v = xs.clone();
        exp_in_place(&mut v);
        for (x, e) in xs.iter().zip(&v) {
            assert_eq!(e.to_bits(), exp_f32(*x).to_bits(), "exp({x})");
        }
    }

    #[test]
    fn exp_special_values() {
        for (x, want) in [
            (0.0, 1.0),
            (-0.0, 1.0),
            (f64::NEG_INFINITY, 0.0),
            (f64::INFINITY, f64::INFINITY),
            (-1e4, 0.0),
            (1e4, f64::INFINITY),
            (709.78, 709.78f64.exp()),
            (-745.0, (-745f64).exp()), // the smallest subnormal
        ] {
            assert_eq!(exp_f64(x), want, "exp({x})");
            assert_eq!(exp_f32(x as f32), (x as f32).exp(), "exp({x}f32)");
        }
        assert!(exp_f64(f64::NAN).is_nan() && exp_f32(f32::NAN).is_nan());
        // The generic entry point dispatches both types (and agrees with the scalar versions).
        let mut v = vec![-1.5f32, 0.0, 2.0];
        exp_in_place(&mut v);
        assert_eq!(v, vec![exp_f32(-1.5), 1.0, exp_f32(2.0)]);
        let mut v = vec![-1.5f64, 0.0, 2.0];
        exp_in_place(&mut v);
        assert_eq!(v, vec![exp_f64(-1.5), 1.0, exp_f64(2.0)]);
    }
}
