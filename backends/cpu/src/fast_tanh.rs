//! `tanh` for `f32` without a libm call, so that a loop over a buffer inlines and vectorizes.
//!
//! libm's `tanhf` is an opaque call per value, which neither inlines nor vectorizes (what that
//! costs the `course` preset's tanh layer is in BENCHMARKS.md).
//! [`tanh_f32`] computes both of the usual two branches for every value and selects one, with no
//! branch left: an odd Taylor polynomial below 0.55 (where `1 − 2/(e^{2|x|} + 1)` would cancel),
//! and that formula above, on [`exp_f32`](crate::fast_exp::exp_f32) (within one ulp). It is within
//! two ulps of the correctly rounded result (tested below).

use crate::fast_exp::exp_f32;

/// Below this, the polynomial: musl's threshold `ln(3)/2`, where `1 − 2/(e^{2|x|} + 1)` = 1/2, so
/// the subtraction loses at most one bit above it.
const SERIES_BELOW: f32 = 0.549_306_1;

/// `tanh x`, within two ulps; NaN stays NaN, `±0` and `±∞` give `±0` and `±1`.
#[inline(always)]
pub(crate) fn tanh_f32(x: f32) -> f32 {
    // tanh x = x − x³/3 + 2x⁵/15 − … : the Taylor coefficients up to x²¹, whose term is below
    // 1e-9 of the result at the threshold.
    const C: [f32; 10] = [
        -1.0 / 3.0,
        2.0 / 15.0,
        -17.0 / 315.0,
        62.0 / 2835.0,
        -1382.0 / 155_925.0,
        21_844.0 / 6_081_075.0,
        -929_569.0 / 638_512_875.0,
        6_404_582.0 / 10_854_718_875.0,
        -443_861_162.0 / 1_856_156_927_625.0,
        18_888_466_084.0 / 194_896_477_400_625.0,
    ];
    let a = x.abs();
    let z = a * a;
    let mut p = C[9];
    for &c in C[..9].iter().rev() {
        p = c + z * p;
    }
    let series = a + a * (z * p);
    // Past 13·ln 2 ≈ 9.01, tanh rounds to 1 in f32: clamping at 10 keeps e^{2|x|} finite (and
    // NaN stays NaN).
    let e = exp_f32(2.0 * a.clamp(0.0, 10.0));
    let formula = 1.0 - 2.0 / (e + 1.0);
    let t = if a < SERIES_BELOW { series } else { formula };
    t.copysign(x)
}

#[cfg(test)]
mod tests {
    use super::tanh_f32;

    /// Distance in ulps between two floats of the same sign.
    fn ulps(a: f32, b: f32) -> u32 {
        a.to_bits().abs_diff(b.to_bits())
    }

    /// Every 31st f32 from 0 to 12 (past which tanh rounds to 1), both signs, against `f64`'s
    /// tanh rounded to `f32` (correctly rounded but for double rounding, which is rarer than the
    /// tolerance).
    #[test]
    fn tanh_f32_is_within_two_ulps_everywhere() {
        let mut worst = (0, 0.0f32);
        for bits in (0..=12f32.to_bits()).step_by(31) {
            for x in [f32::from_bits(bits), -f32::from_bits(bits)] {
                let (got, want) = (tanh_f32(x), (x as f64).tanh() as f32);
                let d = ulps(got, want);
                assert!(d <= 2, "tanh({x:e}) = {got:e}, want {want:e} ({d} ulps)");
                if d > worst.0 {
                    worst = (d, x);
                }
            }
        }
        assert!(worst.0 <= 2, "worst {worst:?}");
    }

    #[test]
    fn tanh_special_values() {
        assert_eq!(tanh_f32(0.0).to_bits(), 0.0f32.to_bits());
        assert_eq!(tanh_f32(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(tanh_f32(f32::INFINITY), 1.0);
        assert_eq!(tanh_f32(f32::NEG_INFINITY), -1.0);
        assert_eq!(tanh_f32(1e30), 1.0);
        assert_eq!(tanh_f32(-1e-40), -1e-40); // subnormal: tanh x = x
        assert!(tanh_f32(f32::NAN).is_nan());
    }
}
