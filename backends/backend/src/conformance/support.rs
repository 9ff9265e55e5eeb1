//! The suite's machinery: deterministic data, conversion between `f64` and the backend's
//! element type, tolerances, and the assertions every test uses (their messages name the
//! backend, the element type, the op and the shape).

use std::fmt::Display;

use crate::{Backend, Element};

/// A 64-bit linear congruential generator (Knuth's MMIX constants); deterministic data for the
/// suite without a dependency.
pub(crate) struct Lcg(u64);

impl Lcg {
    /// A generator whose sequence depends only on `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        let mut g = Lcg(seed ^ 0x9e37_79b9_7f4a_7c15);
        g.next();
        g
    }

    /// The next 53 random bits.
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 11
    }

    /// Uniform in `[lo, hi)`.
    pub(crate) fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.next() as f64 / (1u64 << 53) as f64)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// `x` rounded to `E` and widened back: the value the backend actually stores.
pub(crate) fn round<E: Element>(x: f64) -> f64 {
    E::of(x).as_f64()
}

/// `n` values uniform in `[-2, 2)`, representable in `E`.
pub(crate) fn values<E: Element>(n: usize, seed: u64) -> Vec<f64> {
    let mut g = Lcg::new(seed);
    (0..n).map(|_| round::<E>(g.uniform(-2.0, 2.0))).collect()
}

/// `n` small integers in `-3..=3`: many ties, exact in any arithmetic the suite does.
pub(crate) fn ties(n: usize, seed: u64) -> Vec<f64> {
    let mut g = Lcg::new(seed);
    (0..n).map(|_| g.below(7) as f64 - 3.0).collect()
}

/// The special values the suite mixes into data.
pub(crate) const SPECIALS: [f64; 6] = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, -0.0, 1.0];

/// `n` values, mostly uniform in `[-2, 2)`, one in four a small integer (ties), and one in
/// sixteen a special value (NaN, ±∞, ±0, 1).
pub(crate) fn mixed<E: Element>(n: usize, seed: u64) -> Vec<f64> {
    let mut g = Lcg::new(seed);
    (0..n)
        .map(|_| match g.below(16) {
            0 => SPECIALS[g.below(SPECIALS.len())],
            1..=4 => g.below(7) as f64 - 3.0,
            _ => round::<E>(g.uniform(-2.0, 2.0)),
        })
        .collect()
}

/// Number of elements of `shape`.
pub(crate) fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// An array of `shape` holding the row-major `data`, converted to the element type.
pub(crate) fn store<B: Backend>(data: &[f64], shape: &[usize]) -> B::Storage {
    B::from_vec(data.iter().map(|&x| B::Elem::of(x)).collect(), shape)
}

/// The elements of `x`, row-major, widened to `f64`.
pub(crate) fn read<B: Backend>(x: &B::Storage) -> Vec<f64> {
    B::to_vec(x).into_iter().map(Element::as_f64).collect()
}

/// `backend<elem>`, the prefix of every message.
pub(crate) fn who<B: Backend>() -> String {
    format!("{}<{}>", B::name(), B::Elem::NAME)
}

/// The relative tolerance for results that are not a single rounding of the exact value: 1e-5
/// for `f32`, 1e-12 for `f64` (an element type with a larger epsilon than `f32`'s gets a
/// tolerance scaled from it).
pub(crate) fn rel_tol<E: Element>() -> f64 {
    let eps = E::epsilon().as_f64();
    if eps <= f64::EPSILON {
        1e-12
    } else if eps <= f64::from(f32::EPSILON) {
        1e-5
    } else {
        eps * 100.0
    }
}

/// Whether `got` is `want` rounded to `E` (NaN matches any NaN).
pub(crate) fn same<E: Element>(got: f64, want: f64) -> bool {
    let w = round::<E>(want);
    (got.is_nan() && w.is_nan()) || got == w
}

/// Whether `got` is within the tolerance of `want`: `rel_tol · scale` (the scale being at
/// least `|want|`, larger for a sum whose terms cancel) plus the smallest normal value of `E`.
/// NaN must match NaN, and an infinity (`want` rounded to `E`) must be met exactly.
pub(crate) fn near<E: Element>(got: f64, want: f64, scale: f64) -> bool {
    let w = round::<E>(want);
    if got.is_nan() || w.is_nan() {
        return got.is_nan() && w.is_nan();
    }
    if got.is_infinite() || w.is_infinite() {
        return got == w;
    }
    let allowed = rel_tol::<E>() * scale.max(want.abs()) + E::min_positive_value().as_f64();
    (got - want).abs() <= allowed
}

/// Asserts that `x` has `shape`.
#[track_caller]
pub(crate) fn assert_shape<B: Backend>(x: &B::Storage, shape: &[usize], what: impl Display) {
    let got = B::shape(x);
    assert_eq!(got, shape, "{}: shape of {what}", who::<B>());
}

/// Asserts that `x` has `shape` and holds `want` exactly, each value rounded to the element
/// type (NaN matching NaN).
#[track_caller]
pub(crate) fn assert_exact<B: Backend>(
    x: &B::Storage,
    shape: &[usize],
    want: &[f64],
    what: impl Display,
) {
    assert_shape::<B>(x, shape, &what);
    check_values::<B>(&read::<B>(x), want, None, &what);
}

/// Asserts that `x` has `shape` and holds `want` within the tolerance ([`near`]), with
/// `scale[i]` the magnitude of the terms that made `want[i]` (`None`: `|want[i]|`).
#[track_caller]
pub(crate) fn assert_close<B: Backend>(
    x: &B::Storage,
    shape: &[usize],
    want: &[f64],
    scale: Option<&[f64]>,
    what: impl Display,
) {
    assert_shape::<B>(x, shape, &what);
    let scale = scale.map_or_else(|| want.iter().map(|w| w.abs()).collect(), <[f64]>::to_vec);
    check_values::<B>(&read::<B>(x), want, Some(&scale), &what);
}

/// Compares values exactly (`scale` `None`) or within the tolerance, reporting the first
/// mismatch and how many there are.
#[track_caller]
pub(crate) fn check_values<B: Backend>(
    got: &[f64],
    want: &[f64],
    scale: Option<&[f64]>,
    what: impl Display,
) {
    assert_eq!(
        got.len(),
        want.len(),
        "{}: number of values of {what}",
        who::<B>()
    );
    let ok = |i: usize| match scale {
        None => same::<B::Elem>(got[i], want[i]),
        Some(s) => near::<B::Elem>(got[i], want[i], s[i]),
    };
    let bad: Vec<usize> = (0..got.len()).filter(|&i| !ok(i)).collect();
    if let Some(&i) = bad.first() {
        panic!(
            "{}: {what}: {} of {} values wrong; first at flat index {i}: got {:e}, want {:e} ({})",
            who::<B>(),
            bad.len(),
            got.len(),
            got[i],
            want[i],
            if scale.is_some() {
                format!("relative tolerance {:e}", rel_tol::<B::Elem>())
            } else {
                "exact".to_string()
            }
        );
    }
}

/// Asserts bit-for-bit equality of two arrays of the same backend (NaN matching NaN).
#[track_caller]
pub(crate) fn assert_same_bits<B: Backend>(
    got: &B::Storage,
    want: &B::Storage,
    what: impl Display,
) {
    assert_eq!(
        B::shape(got),
        B::shape(want),
        "{}: shape of {what}",
        who::<B>()
    );
    let (g, w) = (read::<B>(got), read::<B>(want));
    let bad = g
        .iter()
        .zip(&w)
        .position(|(a, b)| a.to_bits() != b.to_bits() && !(a.is_nan() && b.is_nan()));
    if let Some(i) = bad {
        panic!(
            "{}: {what}: not bit for bit: at flat index {i} got {:e}, want {:e}",
            who::<B>(),
            g[i],
            w[i]
        );
    }
}
