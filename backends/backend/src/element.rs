//! The scalar element types a backend can store.

use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

use num_traits::{Float, FromPrimitive, ToPrimitive};

/// A floating-point element type: `f32` (training) or `f64` (gradient checks).
///
/// Everything duograd computes is generic over this trait; backends add the bounds their
/// array crate needs on top of it.
///
/// ```
/// use duograd_backend::Element;
/// assert_eq!(<f32 as Element>::NAME, "f32");
/// assert_eq!(<f64 as Element>::of(0.5), 0.5f64);
/// ```
pub trait Element:
    Float
    + FromPrimitive
    + ToPrimitive
    + Debug
    + Display
    + Default
    + Sum
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Send
    + Sync
    + 'static
{
    /// The Rust name of the type (`"f32"`, `"f64"`), used in reports and benchmarks.
    const NAME: &'static str;

    /// Converts an `f64` constant into this type (rounding for `f32`).
    fn of(x: f64) -> Self;

    /// Widens the value to `f64`.
    fn as_f64(self) -> f64;

    /// Converts a vector of `f32` values (as data sets store them) into this type, reusing the
    /// allocation when no conversion is needed: `f32` returns `v` itself, `f64` widens each
    /// value exactly.
    ///
    /// The default converts element by element through [`Element::of`] (exact for `f64`);
    /// `f32` overrides it to return `v` itself.
    ///
    /// ```
    /// use duograd_backend::Element;
    /// let v = vec![0.5f32, -1.25];
    /// let ptr = v.as_ptr();
    /// let same = <f32 as Element>::vec_from_f32(v);
    /// assert_eq!(same.as_ptr(), ptr); // no copy
    /// assert_eq!(<f64 as Element>::vec_from_f32(same), vec![0.5f64, -1.25]);
    /// ```
    fn vec_from_f32(v: Vec<f32>) -> Vec<Self> {
        v.into_iter().map(|x| Self::of(f64::from(x))).collect()
    }
}

impl Element for f32 {
    const NAME: &'static str = "f32";
    #[inline(always)]
    fn of(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn as_f64(self) -> f64 {
        self as f64
    }
    #[inline]
    fn vec_from_f32(v: Vec<f32>) -> Vec<Self> {
        v
    }
}

impl Element for f64 {
    const NAME: &'static str = "f64";
    #[inline(always)]
    fn of(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn as_f64(self) -> f64 {
        self
    }
}
