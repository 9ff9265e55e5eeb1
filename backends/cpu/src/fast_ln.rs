//! `ln` over whole buffers, written so the compiler inlines and vectorizes it (the companion of
//! [`crate::fast_exp`]).
//!
//! The fused cross-entropy takes one `ln` per row, of its sum of exponentials: with few classes
//! per row, opaque calls to libm's `logf` are a large part of the op's forward. [`ln_in_place`]
//! uses the branch-free port of FreeBSD's/musl's `logf` below for positive, finite, normal
//! values, within one ulp of the correctly rounded result (tested below), in a loop compiled for
//! the CPU's widest SIMD.

use std::any::Any;

use duograd_backend::Element;

/// `ln` of every element, in place.
///
/// `f32` buffers whose values are all positive, finite and normal go through [`ln_f32`]; any
/// other buffer (a zero, a negative, an infinity, a NaN or a subnormal in it, or `f64`)
/// uses the element type's own `ln`, so that special values come out as libm gives them.
#[allow(clippy::ptr_arg)] // a `Vec` rather than a slice: `Any` downcasts only sized types
pub(crate) fn ln_in_place<E: Element>(v: &mut Vec<E>) {
    if let Some(v) = (v as &mut dyn Any).downcast_mut::<Vec<f32>>() {
        if v.iter()
            .all(|&x| (f32::MIN_POSITIVE..f32::INFINITY).contains(&x))
        {
            return crate::simd::with_best_simd(
                #[inline(always)]
                || v.iter_mut().for_each(|x| *x = ln_f32(*x)),
            );
        }
    }
    v.iter_mut().for_each(|x| *x = x.ln());
}

// With `x = 2^k (1 + f)`, `1 + f` in [√2/2, √2] and `s = f / (2 + f)`:
//   ln(1 + f) = 2s + 2s³/3 + 2s⁵/5 + … = f - f²/2 + s (f²/2 + R(s²)),
// `R` a minimax fit (`Lg1..Lg4`), and `ln x = k ln 2 + ln(1 + f)` with `ln 2 = LN2_HI + LN2_LO`
// (`k · LN2_HI` is exact). FreeBSD's `e_logf.c` (and musl's `logf.c` before 2017), without the
// branches for zero, negative, subnormal, infinite and NaN inputs, which the caller excludes.

/// `ln x` for a positive, finite, normal `f32`, within one ulp.
#[inline(always)]
fn ln_f32(x: f32) -> f32 {
    const LN2_HI: f32 = f32::from_bits(0x3f31_7180); // 0.693_138_1
    const LN2_LO: f32 = f32::from_bits(0x3717_f7d1); // 9.058e-6
    const LG1: f32 = f32::from_bits(0x3f2a_aaaa); // 0xaaaaaa.0p-24 ≈ 0.666_666_6
    const LG2: f32 = f32::from_bits(0x3ecc_ce13); // 0xccce13.0p-25 ≈ 0.400_009_7
    const LG3: f32 = f32::from_bits(0x3e91_e9ee); // 0x91e9ee.0p-25 ≈ 0.284_987_9
    const LG4: f32 = f32::from_bits(0x3e78_9e26); // 0xf89e26.0p-26 ≈ 0.242_790_8
    const ONE: u32 = 0x3f80_0000;
    const SQRT_HALF: u32 = 0x3f35_04f3;
    // Reduce x into [√2/2, √2]: move the exponent by one where the mantissa is above √2.
    let ix = x.to_bits().wrapping_add(ONE - SQRT_HALF);
    let k = (ix >> 23) as i32 - 0x7f;
    let reduced = f32::from_bits((ix & 0x007f_ffff) + SQRT_HALF);
    let f = reduced - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let t1 = w * (LG2 + w * LG4);
    let t2 = z * (LG1 + w * LG3);
    let r = t2 + t1;
    let hfsq = 0.5 * f * f;
    let dk = k as f32;
    s * (hfsq + r) + dk * LN2_LO - hfsq + f + dk * LN2_HI
}

#[cfg(test)]
mod tests {
    use super::{ln_f32, ln_in_place};

    #[test]
    fn ln_f32_is_within_one_ulp_over_the_normal_floats() {
        // Every 31st positive normal f32, and every one in [0.5, 2] (the reduced range and its
        // neighbours), against the correctly rounded value (the f64 logarithm, rounded).
        let every_31st = (f32::MIN_POSITIVE.to_bits()..f32::INFINITY.to_bits()).step_by(31);
        let near_one = 0.5f32.to_bits()..=2.0f32.to_bits();
        for bits in every_31st.chain(near_one) {
            let x = f32::from_bits(bits);
            let (got, want) = (ln_f32(x), (x as f64).ln() as f32);
            assert!(
                got.to_bits().abs_diff(want.to_bits()) <= 1 || (got == 0.0 && want == 0.0),
                "ln({x:e}) = {got:e}, want {want:e}"
            );
        }
    }

    #[test]
    fn special_values_come_out_as_libm_gives_them() {
        let specials = [
            0.0f32,
            -0.0,
            -1.0,
            f32::INFINITY,
            f32::NAN,
            1e-40,
            1.0,
            10.0,
        ];
        let mut got = specials.to_vec();
        ln_in_place(&mut got);
        for (&x, &g) in specials.iter().zip(&got) {
            let want = x.ln();
            assert!(
                g.to_bits() == want.to_bits() || (g.is_nan() && want.is_nan()),
                "ln({x})"
            );
        }
        // All normal: the fast path, the same values as `ln_f32`.
        let mut normal = vec![1.0f32, 2.5, 10.0, 1e-30, 3e38];
        let want: Vec<f32> = normal.iter().map(|&x| ln_f32(x)).collect();
        ln_in_place(&mut normal);
        assert_eq!(normal, want);
        let mut doubles = vec![2.0f64, 0.0, -1.0];
        ln_in_place(&mut doubles);
        assert_eq!(doubles[0], 2f64.ln());
        assert_eq!(doubles[1], f64::NEG_INFINITY);
        assert!(doubles[2].is_nan());
    }
}
