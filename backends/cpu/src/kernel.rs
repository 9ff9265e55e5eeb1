//! The CPU definitions of the elementwise and reduction ops ([`UnaryOp`], [`BinaryOp`],
//! [`ReduceOp`]): each op's scalar expression written once, and from it the slice loops, each
//! compiled for the widest SIMD the CPU has.
//!
//! A CPU backend maps these over its storage with its own iteration machinery (ndarray's `Zip`,
//! nalgebra's `map`/`zip_map`) or calls the slice loops on contiguous buffers; the arithmetic
//! lives here once, so adding an elementwise op never touches a backend.

use std::mem::MaybeUninit;

use duograd_backend::Element;

/// The op enums, re-exported beside the kernels that compute them.
pub use duograd_backend::{BinaryOp, ReduceOp, UnaryOp};

use crate::simd::with_best_simd;

/// A [`UnaryOp`] computed on the CPU: one element at a time, or a whole slice in one
/// vectorized loop.
pub trait UnaryKernel<E: Element>: Copy + Sync {
    /// Applies the function to one element.
    fn apply(self, x: E) -> E;

    /// Applies the function to a whole slice.
    ///
    /// # Panics
    /// If `dst` and `src` differ in length.
    fn apply_slice(self, src: &[E], dst: &mut [E]);

    /// [`apply_slice`](Self::apply_slice) into memory not yet initialized (a fresh output
    /// buffer need not be zeroed first); every element of `dst` is written.
    ///
    /// ```
    /// use duograd_backend::UnaryOp;
    /// use duograd_cpu::UnaryKernel;
    /// let mut out = Vec::with_capacity(3);
    /// UnaryOp::Relu.apply_slice_uninit(&[-1.0f32, 0.5, 2.0], &mut out.spare_capacity_mut()[..3]);
    /// // SAFETY: all three values were written.
    /// unsafe { out.set_len(3) };
    /// assert_eq!(out, [0.0, 0.5, 2.0]);
    /// ```
    ///
    /// # Panics
    /// If `dst` and `src` differ in length.
    fn apply_slice_uninit(self, src: &[E], dst: &mut [MaybeUninit<E>]);

    /// Applies the function to a slice in place.
    fn apply_in_place(self, data: &mut [E]);

    /// [`apply_slice`](Self::apply_slice) into a fresh vector (never zeroed first; a recycled
    /// one where [`crate::buffers`] kept one of this length).
    ///
    /// ```
    /// use duograd_backend::UnaryOp;
    /// use duograd_cpu::UnaryKernel;
    /// assert_eq!(UnaryOp::Relu.apply_to_vec(&[-1.0f32, 0.5]), [0.0, 0.5]);
    /// ```
    fn apply_to_vec(self, src: &[E]) -> Vec<E> {
        let mut out = crate::buffers::take(src.len());
        let dst = &mut out.spare_capacity_mut()[..src.len()];
        in_shares(src.len(), dst, |range, dst| {
            self.apply_slice_uninit(&src[range], dst)
        });
        // SAFETY: `apply_slice_uninit` wrote every value.
        unsafe { out.set_len(src.len()) };
        out
    }
}

/// A [`BinaryOp`] computed on the CPU: one pair of elements at a time, or two whole slices in
/// one vectorized loop (no broadcasting).
pub trait BinaryKernel: Copy + Sync {
    /// Applies the function to one pair of elements.
    fn apply<E: Element>(self, a: E, b: E) -> E;

    /// Applies the function to two slices of equal length (no broadcasting).
    ///
    /// # Panics
    /// If the slices' lengths differ.
    fn apply_slices<E: Element>(self, a: &[E], b: &[E], dst: &mut [E]);

    /// [`apply_slices`](Self::apply_slices) into memory not yet initialized; every element of
    /// `dst` is written.
    ///
    /// # Panics
    /// If the slices' lengths differ.
    fn apply_slices_uninit<E: Element>(self, a: &[E], b: &[E], dst: &mut [MaybeUninit<E>]);

    /// [`apply_slices`](Self::apply_slices) into a fresh vector (never zeroed first; a recycled
    /// one where [`crate::buffers`] kept one of this length).
    ///
    /// ```
    /// use duograd_backend::BinaryOp;
    /// use duograd_cpu::BinaryKernel;
    /// assert_eq!(BinaryOp::Mul.apply_to_vec(&[2.0f32, 3.0], &[4.0, 5.0]), [8.0, 15.0]);
    /// ```
    ///
    /// # Panics
    /// If the slices' lengths differ.
    fn apply_to_vec<E: Element>(self, a: &[E], b: &[E]) -> Vec<E> {
        assert_eq!(a.len(), b.len(), "BinaryOp::apply_to_vec: lengths differ");
        let mut out = crate::buffers::take(a.len());
        let dst = &mut out.spare_capacity_mut()[..a.len()];
        in_shares(a.len(), dst, |range, dst| {
            self.apply_slices_uninit(&a[range.clone()], &b[range], dst)
        });
        // SAFETY: `apply_slices_uninit` wrote every value (or panicked on unequal lengths).
        unsafe { out.set_len(a.len()) };
        out
    }
}

/// The length from which an elementwise kernel writing a fresh vector shares the work among the
/// worker pool's threads: below it (every array of the MLP presets) one thread is faster.
const PARALLEL_MIN_LEN: usize = 1 << 18;

/// Runs `fill(range, dst[range])` over `dst` (`len` long): in one call, or, for a long one, in
/// one share per thread on the worker pool.
fn in_shares<E: Send>(
    len: usize,
    dst: &mut [MaybeUninit<E>],
    fill: impl Fn(std::ops::Range<usize>, &mut [MaybeUninit<E>]) + Sync,
) {
    let threads = crate::threads::num_threads();
    if len < PARALLEL_MIN_LEN || threads == 1 {
        return fill(0..len, dst);
    }
    // Shares of whole cache lines, one per thread.
    let share = len.div_ceil(threads).next_multiple_of(16);
    let shares: Vec<std::sync::Mutex<&mut [MaybeUninit<E>]>> =
        dst.chunks_mut(share).map(std::sync::Mutex::new).collect();
    crate::threads::pool::run(shares.len(), threads, &|i| {
        let mut part = shares[i]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let start = i * share;
        let end = start + part.len();
        fill(start..end, &mut part);
    });
}

/// A [`ReduceOp`] as a fold on the CPU.
pub trait ReduceKernel: Copy {
    /// The value a reduction starts from.
    fn identity<E: Element>(self) -> E;

    /// Folds one more element into an accumulator.
    fn combine<E: Element>(self, acc: E, x: E) -> E;
}

/// Defines each unary kernel's scalar expression once, and from it both the per-element
/// `apply` and the slice loop `apply_slice` (one monomorphic loop per variant, so every loop
/// vectorizes instead of matching on the op for each element, for the widest SIMD the CPU has:
/// [`with_best_simd`]).
macro_rules! unary_kernels {
    ($($pat:pat => |$x:ident| $body:expr),* $(,)?) => {
        impl<E: Element> UnaryKernel<E> for UnaryOp<E> {
            #[inline(always)]
            fn apply(self, x: E) -> E {
                match self {
                    $($pat => {
                        let $x = x;
                        $body
                    })*
                }
            }

            fn apply_slice(self, src: &[E], dst: &mut [E]) {
                // SAFETY: `MaybeUninit<E>` has `E`'s layout, and the call below only writes
                // initialized values.
                let dst = unsafe { &mut *(dst as *mut [E] as *mut [MaybeUninit<E>]) };
                self.apply_slice_uninit(src, dst);
            }

            fn apply_slice_uninit(self, src: &[E], dst: &mut [MaybeUninit<E>]) {
                assert_eq!(src.len(), dst.len(), "UnaryOp::apply_slice: lengths differ");
                match self {
                    $($pat => with_best_simd(#[inline(always)] || {
                        for (d, &$x) in dst.iter_mut().zip(src) {
                            d.write($body);
                        }
                    }),)*
                }
            }

            fn apply_in_place(self, data: &mut [E]) {
                match self {
                    $($pat => with_best_simd(#[inline(always)] || {
                        for v in data.iter_mut() {
                            let $x = *v;
                            *v = $body;
                        }
                    }),)*
                }
            }
        }
    };
}

unary_kernels! {
    UnaryOp::Neg => |x| -x,
    UnaryOp::Exp => |x| x.exp(),
    UnaryOp::Log => |x| x.ln(),
    UnaryOp::Sqrt => |x| x.sqrt(),
    UnaryOp::Tanh => |x| tanh(x),
    UnaryOp::Sigmoid => |x| sigmoid(x),
    // `max(x, 0)`: NaN propagates, as in `BinaryOp::Maximum` and PyTorch.
    UnaryOp::Relu => |x| if x > E::zero() || x.is_nan() { x } else { E::zero() },
    UnaryOp::Abs => |x| x.abs(),
    UnaryOp::StepPositive => |x| indicator(x > E::zero()),
    UnaryOp::Sign => |x| indicator::<E>(x > E::zero()) - indicator::<E>(x < E::zero()),
    UnaryOp::AddScalar(c) => |x| x + c,
    UnaryOp::MulScalar(c) => |x| x * c,
    UnaryOp::DivScalar(c) => |x| x / c,
    UnaryOp::RSubScalar(c) => |x| c - x,
    UnaryOp::RDivScalar(c) => |x| c / x,
    UnaryOp::Powf(p) => |x| powf(x, p),
    UnaryOp::ClampMin(c) => |x| if x < c { c } else { x },
    UnaryOp::Clamp(lo, hi) => |x| if x < lo { lo } else if x > hi { hi } else { x },
    UnaryOp::GtScalar(c) => |x| indicator(x > c),
    UnaryOp::EqScalar(c) => |x| indicator(x == c),
    UnaryOp::Log1p => |x| x.ln_1p(),
    UnaryOp::Expm1 => |x| x.exp_m1(),
    UnaryOp::Sin => |x| x.sin(),
    UnaryOp::Cos => |x| x.cos(),
    UnaryOp::Erf => |x| erf(x),
}

/// `tanh x`: for `f32` through [`tanh_f32`](crate::fast_tanh::tanh_f32), which has no branch
/// and no libm call, so that slice loops inline and vectorize it (within two ulps; libm's
/// `tanhf` is one call per value); for other types their own `tanh`. The type test is
/// resolved at compile time.
#[inline(always)]
fn tanh<E: Element>(x: E) -> E {
    if std::any::TypeId::of::<E>() == std::any::TypeId::of::<f32>() {
        // For `f32` both conversions are the identity.
        if let Some(t) = x
            .to_f32()
            .map(crate::fast_tanh::tanh_f32)
            .and_then(E::from_f32)
        {
            return t;
        }
    }
    x.tanh()
}

/// `1 / (1 + e^-x)` in two branches so that `exp` never overflows.
#[inline(always)]
fn sigmoid<E: Element>(x: E) -> E {
    let one = E::one();
    if x >= E::zero() {
        one / (one + (-x).exp())
    } else {
        let e = x.exp();
        e / (one + e)
    }
}

/// Defines each binary kernel's scalar expression once, for `apply` and `apply_slices`.
macro_rules! binary_kernels {
    ($($pat:pat => |$a:ident, $b:ident| $body:expr),* $(,)?) => {
        impl BinaryKernel for BinaryOp {
            #[inline(always)]
            fn apply<E: Element>(self, a: E, b: E) -> E {
                match self {
                    $($pat => {
                        let ($a, $b) = (a, b);
                        $body
                    })*
                }
            }

            fn apply_slices<E: Element>(self, a: &[E], b: &[E], dst: &mut [E]) {
                // SAFETY: as in `UnaryOp::apply_slice`.
                let dst = unsafe { &mut *(dst as *mut [E] as *mut [MaybeUninit<E>]) };
                self.apply_slices_uninit(a, b, dst);
            }

            fn apply_slices_uninit<E: Element>(
                self,
                a: &[E],
                b: &[E],
                dst: &mut [MaybeUninit<E>],
            ) {
                assert!(
                    a.len() == dst.len() && b.len() == dst.len(),
                    "BinaryOp::apply_slices: lengths differ"
                );
                match self {
                    $($pat => with_best_simd(#[inline(always)] || {
                        for ((d, &$a), &$b) in dst.iter_mut().zip(a).zip(b) {
                            d.write($body);
                        }
                    }),)*
                }
            }
        }
    };
}

binary_kernels! {
    BinaryOp::Add => |a, b| a + b,
    BinaryOp::Sub => |a, b| a - b,
    BinaryOp::Mul => |a, b| a * b,
    BinaryOp::Div => |a, b| a / b,
    // NaN propagates, as in PyTorch.
    BinaryOp::Maximum => |a, b| if a.is_nan() || a > b { a } else { b },
    BinaryOp::Minimum => |a, b| if a.is_nan() || a < b { a } else { b },
    BinaryOp::Eq => |a, b| indicator(a == b),
    BinaryOp::Gt => |a, b| indicator(a > b),
    BinaryOp::Ge => |a, b| indicator(a >= b),
    BinaryOp::Lt => |a, b| indicator(a < b),
    BinaryOp::Le => |a, b| indicator(a <= b),
    BinaryOp::ReluGrad => |a, b| if b > E::zero() { a } else { E::zero() },
    BinaryOp::Pow => |a, b| powf(a, b),
}

/// `erf x`, through `f64` for every element type (libm's `erf`; `f32` rounds its result once).
#[inline(always)]
fn erf<E: Element>(x: E) -> E {
    E::of(libm::erf(x.as_f64()))
}

/// `dst[i] += alpha · src[i]` (the SGD update and gradient accumulation), vectorized for the
/// CPU; the same bits as the scalar loop, as ndarray's `scaled_add` and nalgebra's `axpy` give.
///
/// ```
/// let mut w = [1.0f32, 2.0, 3.0];
/// duograd_cpu::kernel::axpy(&mut w, -0.5, &[2.0, 2.0, 2.0]);
/// assert_eq!(w, [0.0, 1.0, 2.0]);
/// ```
///
/// # Panics
/// If the slices' lengths differ.
pub fn axpy<E: Element>(dst: &mut [E], alpha: E, src: &[E]) {
    assert_eq!(
        dst.len(),
        src.len(),
        "axpy: lengths differ ({} and {})",
        dst.len(),
        src.len()
    );
    with_best_simd(
        #[inline(always)]
        || {
            for (d, &s) in dst.iter_mut().zip(src) {
                *d += alpha * s;
            }
        },
    );
}

impl ReduceKernel for ReduceOp {
    #[inline(always)]
    fn identity<E: Element>(self) -> E {
        match self {
            ReduceOp::Sum => E::zero(),
            ReduceOp::Max => E::neg_infinity(),
            ReduceOp::Min => E::infinity(),
        }
    }

    #[inline(always)]
    fn combine<E: Element>(self, acc: E, x: E) -> E {
        match self {
            ReduceOp::Sum => acc + x,
            ReduceOp::Max => BinaryOp::Maximum.apply(x, acc),
            ReduceOp::Min => BinaryOp::Minimum.apply(x, acc),
        }
    }
}

/// Folds a slice with `LANES` independent accumulators, combined at the end. `f` must be
/// associative and commutative (max and min are, NaN included), so this equals the serial fold
/// while breaking its dependency chain: the loop pipelines and vectorizes.
///
/// ```
/// use duograd_cpu::kernel::fold_slice;
/// let s: Vec<f32> = (0..20).map(|i| i as f32).collect();
/// assert_eq!(fold_slice(&s, f32::NEG_INFINITY, f32::max), 19.0);
/// ```
pub fn fold_slice<E: Element>(s: &[E], init: E, f: impl Fn(E, E) -> E) -> E {
    const LANES: usize = 8;
    let mut acc = [init; LANES];
    let mut chunks = s.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (a, &e) in acc.iter_mut().zip(chunk) {
            *a = f(*a, e);
        }
    }
    let tail = chunks.remainder().iter().fold(init, |a, &e| f(a, e));
    acc.into_iter().fold(tail, f)
}

/// Adds the rows of the row-major block `rows` (each `sums.len()` long) into `sums`, every
/// column in row order: the same additions, in the same order, as one row at a time, but
/// with up to 64 columns' sums held in registers rather than stored back after every row, in a
/// loop compiled for the CPU's widest SIMD (a batch's bias gradient: a few hundred rows of a
/// few dozen columns).
///
/// ```
/// use duograd_cpu::kernel::sum_rows;
/// let mut sums = [0.0f32; 3];
/// sum_rows(&[1.0, 2.0, 3.0, 10.0, 20.0, 30.0], &mut sums);
/// assert_eq!(sums, [11.0, 22.0, 33.0]);
/// ```
///
/// # Panics
/// If `rows` is not a whole number of rows.
pub fn sum_rows<E: Element>(rows: &[E], sums: &mut [E]) {
    let width = sums.len();
    if width == 0 {
        return;
    }
    assert!(
        rows.len().is_multiple_of(width),
        "sum_rows: {} values are not rows of {width}",
        rows.len()
    );
    crate::simd::with_best_simd(
        #[inline(always)]
        || {
            // Columns in groups of 64, 32, …, 1: each group's sums fit in registers.
            let mut start = 0;
            while start < width {
                let left = width - start;
                let group = if left >= 64 { 64 } else { 1 << left.ilog2() };
                let sums = &mut sums[start..start + group];
                match group {
                    64 => sum_columns::<E, 64>(rows, width, start, sums),
                    32 => sum_columns::<E, 32>(rows, width, start, sums),
                    16 => sum_columns::<E, 16>(rows, width, start, sums),
                    8 => sum_columns::<E, 8>(rows, width, start, sums),
                    4 => sum_columns::<E, 4>(rows, width, start, sums),
                    2 => sum_columns::<E, 2>(rows, width, start, sums),
                    _ => sum_columns::<E, 1>(rows, width, start, sums),
                }
                start += group;
            }
        },
    );
}

/// `sums[j] += rows[r][start + j]` for every row `r`, row by row, `W` sums kept in registers.
#[inline(always)]
fn sum_columns<E: Element, const W: usize>(rows: &[E], width: usize, start: usize, sums: &mut [E]) {
    let mut acc: [E; W] = std::array::from_fn(|j| sums[j]);
    for row in rows.chunks_exact(width) {
        let row: &[E; W] = row[start..start + W].try_into().expect("W columns");
        for (a, &x) in acc.iter_mut().zip(row) {
            *a += x;
        }
    }
    sums.copy_from_slice(&acc);
}

#[inline(always)]
fn indicator<E: Element>(b: bool) -> E {
    if b {
        E::one()
    } else {
        E::zero()
    }
}

#[inline(always)]
fn powf<E: Element>(x: E, p: E) -> E {
    // Small integer exponents are exact products, as in PyTorch.
    if p == E::of(2.0) {
        x * x
    } else if p == E::one() {
        x
    } else if p == E::of(3.0) {
        x * x * x
    } else {
        x.powf(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every width up to 70 (each group size and their mixtures), a few row counts, `f32` and
    /// `f64`: bit for bit the sums of adding one row at a time, starting from what `sums` held.
    #[test]
    fn sum_rows_adds_each_column_in_row_order() {
        fn check<E: Element>() {
            for width in 1..=70 {
                for rows in [0, 1, 3, 17] {
                    let values: Vec<E> = (0..width * rows)
                        .map(|i| E::of(((i * 7919) % 1000) as f64 / 7.0 - 60.0))
                        .collect();
                    let start: Vec<E> = (0..width).map(|j| E::of(j as f64 * 0.1)).collect();
                    let mut want = start.clone();
                    for row in values.chunks_exact(width) {
                        for (w, &x) in want.iter_mut().zip(row) {
                            *w += x;
                        }
                    }
                    let mut got = start;
                    sum_rows(&values, &mut got);
                    assert!(
                        got.iter()
                            .zip(&want)
                            .all(|(g, w)| g.as_f64().to_bits() == w.as_f64().to_bits()),
                        "width {width}, {rows} rows: {got:?} vs {want:?}"
                    );
                }
            }
        }
        check::<f32>();
        check::<f64>();
    }

    #[test]
    #[should_panic(expected = "sum_rows: 7 values are not rows of 3")]
    fn sum_rows_refuses_a_partial_row() {
        sum_rows(&[0.0f32; 7], &mut [0.0; 3]);
    }

    #[test]
    fn sigmoid_is_finite_at_extremes() {
        assert_eq!(UnaryOp::Sigmoid.apply(1000.0f64), 1.0);
        assert_eq!(UnaryOp::Sigmoid.apply(-1000.0f64), 0.0);
        assert!((UnaryOp::Sigmoid.apply(0.0f64) - 0.5).abs() < 1e-15);
    }

    #[test]
    fn relu_derivative_at_zero_is_zero() {
        assert_eq!(UnaryOp::StepPositive.apply(0.0f64), 0.0);
        assert_eq!(UnaryOp::StepPositive.apply(1e-300f64), 1.0);
        assert_eq!(BinaryOp::ReluGrad.apply(2.5f64, 0.0), 0.0);
        assert_eq!(BinaryOp::ReluGrad.apply(2.5f64, -0.0), 0.0);
        assert_eq!(BinaryOp::ReluGrad.apply(2.5f64, 1e-300), 2.5);
    }

    /// The fused relu backward passes the gradient where the input is positive and gives 0
    /// elsewhere, whatever the gradient (as PyTorch's `threshold_backward`), and at a NaN input
    /// (as `grad * [x > 0]`).
    #[test]
    fn relu_grad_selects_rather_than_multiplies() {
        let op = BinaryOp::ReluGrad;
        assert_eq!(op.apply(f64::INFINITY, -1.0), 0.0);
        assert_eq!(op.apply(f64::NAN, -1.0), 0.0);
        assert_eq!(op.apply(f64::NAN, 0.0), 0.0);
        assert_eq!(op.apply(-3.0f64, f64::NAN), 0.0);
        assert_eq!(op.apply(f64::NEG_INFINITY, 1.0), f64::NEG_INFINITY);
        assert!(op.apply(f64::NAN, 1.0).is_nan());
    }

    #[test]
    fn maximum_propagates_nan() {
        assert!(BinaryOp::Maximum.apply(f64::NAN, 1.0).is_nan());
        assert!(BinaryOp::Maximum.apply(1.0, f64::NAN).is_nan());
        assert!(ReduceOp::Max.combine(f64::NAN, 1.0).is_nan());
    }

    #[test]
    fn slice_kernels_match_scalar_kernels() {
        let a = [-2.0f64, -0.0, 0.5, 3.0];
        let b = [1.0f64, 0.0, 0.5, -3.0];
        let mut d = [0.0; 4];
        for op in [
            UnaryOp::Relu,
            UnaryOp::Neg,
            UnaryOp::MulScalar(3.0),
            UnaryOp::Exp,
        ] {
            op.apply_slice(&a, &mut d);
            for i in 0..4 {
                assert_eq!(d[i], op.apply(a[i]));
            }
        }
        for op in [
            BinaryOp::Add,
            BinaryOp::Div,
            BinaryOp::Maximum,
            BinaryOp::Ge,
            BinaryOp::ReluGrad,
        ] {
            op.apply_slices(&a, &b, &mut d);
            for i in 0..4 {
                let (x, y) = (d[i], op.apply(a[i], b[i]));
                // 0/0 gives a NaN whose sign bit may differ between vector and scalar code.
                assert!(x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()));
            }
        }
    }
}
