//! Losses: cross-entropy on logits (one fused op with its own kernels, forward and backward),
//! NLL and MSE (composed).

use std::any::Any;
use std::sync::Arc;

use crate::autograd::{is_grad_enabled, Attrs, BackwardArgs, Registry};
use crate::backend::Backend;
use crate::element::Element;
use crate::tensor::Tensor;

/// How a per-sample loss is reduced, as PyTorch's `reduction=`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Reduction {
    /// The mean over samples (the default).
    #[default]
    Mean,
    /// The sum over samples.
    Sum,
    /// No reduction: one loss per sample.
    None,
}

impl Reduction {
    fn apply<B: Backend>(self, per_sample: Tensor<B>) -> Tensor<B> {
        match self {
            Reduction::Mean => per_sample.mean(),
            Reduction::Sum => per_sample.sum(),
            Reduction::None => per_sample,
        }
    }
}

/// What the fused cross-entropy remembers for its backward.
struct CrossEntropyAttrs<E> {
    labels: Arc<[usize]>,
    reduction: Reduction,
    /// `logsumexp` of each row of the logits, from the forward: the fused backward gets
    /// `softmax(x)_ij = exp(x_ij - lse_i)` with one `exp` per element, without recomputing the
    /// row maxima and sums. Only `batch` values, where keeping the forward's `exp`s would hold a
    /// second copy of the logits until backward. Valid because the engine refuses to run
    /// backward if the logits were modified in place since the forward.
    lse: Vec<E>,
}

/// The rows of a row-major `(batch, classes)` matrix. (`classes` is 0 only when `batch` is too,
/// since no label is below 0; `max(1)` spares `chunks_exact` its panic on a chunk size of 0.)
fn rows_mut<E>(x: &mut [E], classes: usize) -> std::slice::ChunksExactMut<'_, E> {
    x.chunks_exact_mut(classes.max(1))
}

/// The fused forward on the row-major logits `x` (consumed as scratch space): per row `i`,
/// `lse_i = max_i + ln(sum_j exp(x_ij - max_i))` and `loss_i = lse_i - x_i[label_i]`. Returns the
/// per-row `lse` and the per-row losses.
///
/// Subtracting the row maximum keeps every `exp` in `[0, 1]`, so logits of ±1e4 neither
/// overflow nor lose the row; it is the same arithmetic as `Tensor::logsumexp`. The work is a
/// few flat passes rather than one loop per row, so that the `exp`s, most of the op's cost, run
/// as one vectorized sweep ([`exp_in_place`]).
fn cross_entropy_rows<E: Element>(
    mut x: Vec<E>,
    classes: usize,
    labels: &[usize],
) -> (Vec<E>, Vec<E>) {
    // The labelled logits, read before `x` is overwritten.
    let picked: Vec<E> = labels
        .iter()
        .enumerate()
        .map(|(i, &label)| x[i * classes + label])
        .collect();
    // `>` rather than `Float::max`, whose NaN handling costs a comparison per element: a NaN
    // logit is then skipped here, but still makes its row's loss NaN through the sum below.
    let max: Vec<E> = rows_mut(&mut x, classes)
        .map(|r| {
            r.iter()
                .fold(E::neg_infinity(), |m, &v| if v > m { v } else { m })
        })
        .collect();
    for (r, &m) in rows_mut(&mut x, classes).zip(&max) {
        r.iter_mut().for_each(|v| *v -= m);
    }
    exp_in_place(&mut x);
    rows_mut(&mut x, classes)
        .zip(max.iter().zip(&picked))
        .map(|(r, (&m, &p))| {
            let lse = r.iter().copied().sum::<E>().ln() + m;
            (lse, lse - p)
        })
        .unzip()
}

/// The fused backward on the row-major logits `x` (consumed, and returned as the gradient):
/// `(exp(x_ij - lse_i) - [j = label_i]) * w_i`, where `w_i` is the reduction's weight of row `i`
/// given the gradient `g` of the output.
fn cross_entropy_grad_rows<E: Element>(
    mut x: Vec<E>,
    classes: usize,
    ce: &CrossEntropyAttrs<E>,
    g: &[E],
) -> Vec<E> {
    for (r, &lse) in rows_mut(&mut x, classes).zip(ce.lse.iter()) {
        r.iter_mut().for_each(|v| *v -= lse);
    }
    exp_in_place(&mut x);
    // `x` is now softmax(x). Subtract the one-hot before scaling, as `(softmax - one_hot) * w`
    // does.
    for (r, &label) in rows_mut(&mut x, classes).zip(ce.labels.iter()) {
        r[label] -= E::one();
    }
    let scale = match ce.reduction {
        Reduction::Mean => g[0] / E::of(ce.labels.len() as f64),
        Reduction::Sum => g[0],
        Reduction::None => {
            for (r, &w) in rows_mut(&mut x, classes).zip(g) {
                r.iter_mut().for_each(|v| *v *= w);
            }
            return x;
        }
    };
    // One weight for every row: a single flat pass.
    x.iter_mut().for_each(|v| *v *= scale);
    x
}

/// `exp` of every element, in place.
///
/// `f32` and `f64` go through [`exp_f32`] and [`exp_f64`], branch-free functions the compiler
/// inlines and vectorizes: a libm `exp` is an opaque call per element, and at a few nanoseconds
/// each those calls were most of the op's time. Both are within one ulp of the correctly rounded
/// result (see the tests below), so the loss moves only by float rounding. Any other element type
/// uses its own `exp`.
#[allow(clippy::ptr_arg)] // a `Vec` rather than a slice: `Any` downcasts only sized types
fn exp_in_place<E: Element>(v: &mut Vec<E>) {
    if let Some(v) = (v as &mut dyn Any).downcast_mut::<Vec<f32>>() {
        return map_in_place(v, exp_f32);
    }
    if let Some(v) = (v as &mut dyn Any).downcast_mut::<Vec<f64>>() {
        return map_in_place(v, exp_f64);
    }
    v.iter_mut().for_each(|x| *x = x.exp());
}

/// `x = f(x)` for every element, with `f` inlined into the loop. On x86-64 CPUs with AVX2 the
/// loop is compiled a second time for AVX2 and chosen at run time: twice the SIMD lanes of the
/// SSE2 baseline. The arithmetic is the same either way (Rust never fuses a multiply and an add
/// by itself, and FMA is not enabled), so both give identical bits.
#[inline(always)]
fn map_in_place<T: Copy>(v: &mut [T], f: impl Fn(T) -> T + Copy) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        #[target_feature(enable = "avx2")]
        unsafe fn avx2<T: Copy>(v: &mut [T], f: impl Fn(T) -> T) {
            v.iter_mut().for_each(|x| *x = f(*x));
        }
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { avx2(v, f) };
    }
    v.iter_mut().for_each(|x| *x = f(*x));
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
fn exp_f32(x: f32) -> f32 {
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

#[track_caller]
fn check_labels(op: &str, shape: &[usize], labels: &[usize]) {
    assert!(
        shape.len() == 2 && shape[0] == labels.len(),
        "{op}: expects input of shape (batch, classes) and one label per row, got input {shape:?} \
         and {} labels",
        labels.len()
    );
    if let Some((row, &bad)) = labels.iter().enumerate().find(|(_, &l)| l >= shape[1]) {
        panic!(
            "{op}: label {bad} (row {row}) is out of range for {} classes",
            shape[1]
        );
    }
}

/// One-hot rows for `labels` over `classes` (a constant).
fn one_hot<B: Backend>(labels: &[usize], classes: usize) -> Tensor<B> {
    let mut data = vec![0.0; labels.len() * classes];
    for (row, &l) in labels.iter().enumerate() {
        data[row * classes + l] = 1.0;
    }
    Tensor::from_f64(&data, &[labels.len(), classes])
}

impl<B: Backend> Tensor<B> {
    /// Cross-entropy of logits `(batch, classes)` against integer labels, as PyTorch's
    /// `F.cross_entropy`: `logsumexp(x_i) - x_i[label_i]` per row, then reduced (a 0-d tensor for
    /// [`Reduction::Mean`] and [`Reduction::Sum`], one loss per row for [`Reduction::None`]).
    /// Stable for logits of any size (the row maximum is subtracted).
    ///
    /// One fused op: the forward copies the logits out once and computes each row's maximum,
    /// `logsumexp` and loss on that copy (all the `exp`s in one vectorized sweep, each within one
    /// ulp of the correctly rounded result; the batch reduction accumulated in `f64`), and keeps
    /// the per-row `logsumexp` for the backward. The backward, `softmax(x) - one_hot(labels)`
    /// scaled by the reduction, is one more such sweep, with one `exp` per element. When the
    /// backward is itself recorded (`create_graph`), it is instead composed from differentiable
    /// ops, so that second-order gradients flow through it.
    ///
    /// ```
    /// use duograd::{Reduction, Tensor};
    /// use duograd_ndarray::NdArray;
    /// let logits = Tensor::<NdArray<f64>>::from_f64(&[0.0, 0.0, 1e4, 0.0], &[2, 2]);
    /// let loss = logits.cross_entropy(&[0, 0], Reduction::None).to_vec();
    /// assert!((loss[0] - 2f64.ln()).abs() < 1e-12);
    /// assert_eq!(loss[1], 0.0);
    ///
    /// // Gradient of the mean: (softmax - one_hot) / batch.
    /// let x = logits.requires_grad_(true);
    /// x.cross_entropy(&[0, 0], Reduction::Mean).backward().unwrap();
    /// assert_eq!(x.grad().unwrap().to_vec(), vec![-0.25, 0.25, 0.0, 0.0]);
    /// ```
    ///
    /// # Panics
    /// If the input is not 2-D, the number of labels differs from the batch size, or a label is
    /// not below the number of classes (the message names the row and the label).
    #[track_caller]
    pub fn cross_entropy(&self, labels: &[usize], reduction: Reduction) -> Self {
        check_labels("cross_entropy", self.shape(), labels);
        let classes = self.shape()[1];
        // The logits are small (batch × classes): one row-major copy is cheaper than the
        // several allocating composite ops (max, sub, exp, sum, log, index) it replaces.
        let (lse, loss) = cross_entropy_rows(self.to_vec(), classes, labels);
        let out = match reduction {
            Reduction::None => B::from_vec(loss, &[labels.len()]),
            // Accumulated in f64 so that an f32 batch sum does not lose the small losses.
            Reduction::Sum | Reduction::Mean => {
                let sum: f64 = loss.iter().map(|&l| l.as_f64()).sum();
                let value = match reduction {
                    Reduction::Mean => sum / labels.len() as f64,
                    _ => sum,
                };
                B::from_vec(vec![B::Elem::of(value)], &[])
            }
        };
        let attrs = CrossEntropyAttrs {
            labels: labels.into(),
            reduction,
            lse,
        };
        Tensor::from_op(
            "cross_entropy",
            out,
            &[self],
            Attrs::Custom(Arc::new(attrs)),
        )
    }

    /// Negative log-likelihood of log-probabilities `(batch, classes)` (e.g. from
    /// [`Tensor::log_softmax`]) against integer labels, as PyTorch's `F.nll_loss`.
    ///
    /// # Panics
    /// As [`Tensor::cross_entropy`].
    #[track_caller]
    pub fn nll_loss(&self, labels: &[usize], reduction: Reduction) -> Self {
        check_labels("nll_loss", self.shape(), labels);
        let rows: Vec<usize> = (0..labels.len()).collect();
        reduction.apply(self.index(&[&rows, labels]).neg())
    }

    /// Mean squared error `mean((self - target)²)`, as PyTorch's `F.mse_loss`.
    ///
    /// # Panics
    /// If the shapes differ.
    #[track_caller]
    pub fn mse_loss(&self, target: &Tensor<B>) -> Self {
        crate::check::same_shape("mse_loss", self.shape(), target.shape());
        (self - target).square().mean()
    }
}

// d/dx_ij CE = softmax(x)_ij - [j = label_i], times the reduction's weight.
fn cross_entropy_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    let ce: &CrossEntropyAttrs<B::Elem> = a.attrs.custom();
    let x = &a.inputs[0];
    // With `create_graph` the engine runs backward with grad mode on, and the gradient must
    // itself be differentiable (gradgradcheck, Hessian-vector products): compose it from
    // recorded ops. Otherwise nothing would be recorded anyway, so the fused kernel gives the
    // same values without the intermediate tensors.
    if is_grad_enabled() && (x.requires_grad() || a.grad.requires_grad()) {
        let diff = x.softmax(1) - one_hot::<B>(&ce.labels, x.shape()[1]);
        return match ce.reduction {
            Reduction::Mean => a.grad * &diff.div_scalar(ce.labels.len() as f64),
            Reduction::Sum => a.grad * &diff,
            Reduction::None => &a.grad.unsqueeze(1) * &diff,
        };
    }
    let grad = cross_entropy_grad_rows(x.to_vec(), x.shape()[1], ce, &a.grad.to_vec());
    Tensor::from_storage(B::from_vec(grad, x.shape()))
}

pub(crate) fn register<B: Backend>(r: &Registry<B>) {
    r.register_all("cross_entropy", &[cross_entropy_backward]);
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
