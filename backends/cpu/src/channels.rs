//! Per-channel sums and per-channel affine maps over `[N, C, …]` arrays: the passes of batch
//! normalization, reading and writing each backend's buffer through its strides.

use std::mem::MaybeUninit;
use std::ops::Range;
use std::sync::{Mutex, PoisonError};

use duograd_backend::Element;

use crate::simd::as_f32;
use crate::threads::{self, pool};
use crate::window::Strides4;

/// Below this many elements a kernel runs on the calling thread.
const PARALLEL_MIN: usize = 1 << 16;

/// An `[N, C, A, B]` array (a 2-D `[N, C]` or 3-D `[N, C, L]` one padded with axes of size 1)
/// inside a buffer of exactly `N·C·A·B` elements, element `(n, c, a, b)` at
/// `strides.0 · (n, c, a, b)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Channels {
    /// `[N, C, A, B]`.
    pub shape: [usize; 4],
    /// Where each element lies.
    pub strides: Strides4,
}

impl Channels {
    /// The array of `shape` (rank 2 to 4, channels on axis 1) with element strides `strides`
    /// (one per axis).
    ///
    /// # Panics
    /// If the rank is not 2 to 4 or the strides do not match it.
    pub fn new(shape: &[usize], strides: &[usize]) -> Self {
        assert!(
            (2..=4).contains(&shape.len()) && strides.len() == shape.len(),
            "Channels: shape {shape:?} with strides {strides:?}"
        );
        let (mut s4, mut st4) = ([1; 4], [0; 4]);
        s4[..shape.len()].copy_from_slice(shape);
        st4[..strides.len()].copy_from_slice(strides);
        Channels {
            shape: s4,
            strides: Strides4(st4),
        }
    }

    fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether every element has its own offset and the offsets are `0..numel`: the strides
    /// of the axes longer than 1, smallest first, are 1 and the products of the sizes before.
    fn is_dense(&self) -> bool {
        let mut axes: Vec<(usize, usize)> = (0..4)
            .filter(|&a| self.shape[a] > 1)
            .map(|a| (self.strides.0[a], self.shape[a]))
            .collect();
        axes.sort_unstable();
        let mut expected = 1;
        axes.iter().all(|&(stride, size)| {
            let fits = stride == expected;
            expected *= size;
            fits
        })
    }

    /// The buffer in storage order: the axes of size above 1 from the largest stride to the
    /// smallest, as `(axis, size, stride)`, the innermost merged with the ones outside it
    /// while they are contiguous.
    fn walk(&self) -> Walk {
        let mut axes: Vec<(usize, usize, usize)> = (0..4)
            .filter(|&a| self.shape[a] > 1)
            .map(|a| (a, self.shape[a], self.strides.0[a]))
            .collect();
        axes.sort_by_key(|a| std::cmp::Reverse(a.2));
        // The innermost run: the last axis if its stride is 1, grown outwards while the next
        // axis continues it (and is not the channel axis, whose value must stay fixed in a run).
        let mut run = 1;
        while let Some(&(axis, size, stride)) = axes.last() {
            let continues = stride == run && (axis != 1 || run == 1 && size == 1);
            if !continues || axis == 1 {
                break;
            }
            run *= size;
            axes.pop();
        }
        Walk { outer: axes, run }
    }
}

/// A loop nest over a [`Channels`] buffer in storage order: `outer` axes (slowest first), then
/// runs of `run` contiguous elements that all belong to one channel.
struct Walk {
    outer: Vec<(usize, usize, usize)>,
    run: usize,
}

impl Walk {
    /// Calls `f(channel, offset)` for every run whose slowest coordinate lies in `range`, in
    /// storage order.
    fn for_each_run(&self, range: Range<usize>, mut f: impl FnMut(usize, usize)) {
        let Some((&(first_axis, _, first_stride), rest)) = self.outer.split_first() else {
            // A single run (or nothing but size-1 axes): channel 0 unless C > 1, which
            // cannot be with every axis merged into the run.
            if !range.is_empty() {
                f(0, 0);
            }
            return;
        };
        let mut index = vec![0usize; rest.len()];
        for i in range {
            let base = i * first_stride;
            let channel0 = if first_axis == 1 { i } else { 0 };
            loop {
                let mut offset = base;
                let mut channel = channel0;
                for (k, &(axis, _, stride)) in rest.iter().enumerate() {
                    offset += index[k] * stride;
                    if axis == 1 {
                        channel = index[k];
                    }
                }
                f(channel, offset);
                // The odometer over the inner outer axes.
                let mut k = rest.len();
                loop {
                    if k == 0 {
                        break;
                    }
                    k -= 1;
                    index[k] += 1;
                    if index[k] < rest[k].1 {
                        break;
                    }
                    index[k] = 0;
                    if k == 0 {
                        k = usize::MAX;
                        break;
                    }
                }
                if k == usize::MAX || rest.is_empty() {
                    break;
                }
            }
        }
    }

    /// The size of the slowest axis (what shares split), 1 if there is none.
    fn slowest(&self) -> usize {
        self.outer.first().map_or(1, |a| a.1)
    }

    /// The elements under one index of the slowest axis.
    fn block(&self, numel: usize) -> usize {
        numel / self.slowest()
    }
}

/// Shares of the slowest axis for `threads` threads: at most one per thread, none empty.
fn shares(slowest: usize, threads: usize) -> Vec<Range<usize>> {
    let per = slowest.div_ceil(threads.max(1)).max(1);
    (0..slowest)
        .step_by(per)
        .map(|a| a..(a + per).min(slowest))
        .collect()
}

/// Lanes of the partial sums of a contiguous run: independent accumulators, so that the loop
/// vectorizes.
const LANES: usize = 16;

/// The sums of `a` and of `a · b` over one contiguous run: in `E`, in [`LANES`] lanes (each
/// adding at most a run's length over `LANES` terms), then the lanes in `f64`.
#[inline]
pub(crate) fn run_sums<E: Element>(a: &[E], b: &[E]) -> (f64, f64) {
    #[cfg(target_arch = "x86_64")]
    if let (Some(a), Some(b)) = (as_f32(a), as_f32(b)) {
        if a.len() >= LANES && b.len() >= a.len() && std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above; `b` is at least as long as `a`.
            return unsafe { run_sums_f32_avx2(a, b) };
        }
    }
    run_sums_generic(a, b)
}

/// [`run_sums`] for any element type, as plain loops.
#[inline(always)]
fn run_sums_generic<E: Element>(a: &[E], b: &[E]) -> (f64, f64) {
    let to_f64 = |x: E| x.to_f64().unwrap_or(f64::NAN);
    if a.len() < LANES {
        return a.iter().zip(b).fold((0.0, 0.0), |(s, p), (&x, &y)| {
            (s + to_f64(x), p + to_f64(x) * to_f64(y))
        });
    }
    let (mut s, mut p) = ([E::zero(); LANES], [E::zero(); LANES]);
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (a_rest, b_rest) = (a_chunks.remainder(), b_chunks.remainder());
    for (ca, cb) in a_chunks.zip(b_chunks) {
        for k in 0..LANES {
            s[k] += ca[k];
            p[k] += ca[k] * cb[k];
        }
    }
    lanes_and_rest(&s, &p, a_rest, b_rest, to_f64)
}

/// The lanes' sums, then the run's last values, added in `f64`.
#[inline(always)]
fn lanes_and_rest<E: Copy>(
    s: &[E; LANES],
    p: &[E; LANES],
    a_rest: &[E],
    b_rest: &[E],
    to_f64: impl Fn(E) -> f64,
) -> (f64, f64) {
    let mut total = (0.0, 0.0);
    for k in 0..LANES {
        total.0 += to_f64(s[k]);
        total.1 += to_f64(p[k]);
    }
    for (&x, &y) in a_rest.iter().zip(b_rest) {
        total.0 += to_f64(x);
        total.1 += to_f64(x) * to_f64(y);
    }
    total
}

/// [`run_sums`] for `f32` in AVX2 registers, the 16 lanes as two 8-lane halves: the same
/// additions in the same order, so the same bits. (LLVM turns the generic loop into scalar
/// multiplies and shuffles, which leaves the sums bound by instructions, not by memory.)
///
/// # Safety
/// The CPU must have AVX2; `a.len() <= b.len()`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn run_sums_f32_avx2(a: &[f32], b: &[f32]) -> (f64, f64) {
    use std::arch::x86_64::*;
    debug_assert!(a.len() <= b.len());
    let (mut s0, mut s1, mut p0, mut p1) = (
        _mm256_setzero_ps(),
        _mm256_setzero_ps(),
        _mm256_setzero_ps(),
        _mm256_setzero_ps(),
    );
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (a_rest, b_rest) = (a_chunks.remainder(), b_chunks.remainder());
    for (ca, cb) in a_chunks.zip(b_chunks) {
        // SAFETY: each chunk holds `LANES` = 16 values, read as two unaligned 8-value loads.
        let (x0, x1, y0, y1) = unsafe {
            (
                _mm256_loadu_ps(ca.as_ptr()),
                _mm256_loadu_ps(ca.as_ptr().add(8)),
                _mm256_loadu_ps(cb.as_ptr()),
                _mm256_loadu_ps(cb.as_ptr().add(8)),
            )
        };
        s0 = _mm256_add_ps(s0, x0);
        s1 = _mm256_add_ps(s1, x1);
        // A multiply, then an add (no FMA): the generic loop's rounding.
        p0 = _mm256_add_ps(p0, _mm256_mul_ps(x0, y0));
        p1 = _mm256_add_ps(p1, _mm256_mul_ps(x1, y1));
    }
    let (mut s, mut p) = ([0.0f32; LANES], [0.0f32; LANES]);
    // SAFETY: each array holds 16 values, written as two unaligned 8-value stores.
    unsafe {
        _mm256_storeu_ps(s.as_mut_ptr(), s0);
        _mm256_storeu_ps(s.as_mut_ptr().add(8), s1);
        _mm256_storeu_ps(p.as_mut_ptr(), p0);
        _mm256_storeu_ps(p.as_mut_ptr().add(8), p1);
    }
    lanes_and_rest(&s, &p, a_rest, b_rest, f64::from)
}

/// Per channel, the sum of `a` and the sum of `a · b` (of `a²` without `b`), accumulated in
/// `f64`; `a` and `b` share the layout `v`. One pass over the buffer in storage order, in
/// shares of its slowest axis on the worker pool when it is large.
///
/// # Panics
/// If a buffer is shorter than the array.
pub fn channel_sums<E: Element>(a: &[E], b: Option<&[E]>, v: &Channels) -> (Vec<E>, Vec<E>) {
    let len = v.numel();
    assert!(
        a.len() >= len && b.is_none_or(|b| b.len() >= len),
        "channel_sums: buffers shorter than {:?}",
        v.shape
    );
    let c = v.shape[1];
    let walk = v.walk();
    let b = b.unwrap_or(a);
    let threads = if len >= PARALLEL_MIN {
        threads::num_threads()
    } else {
        1
    };
    let parts = shares(walk.slowest(), threads);
    let partials: Vec<Mutex<Vec<(f64, f64)>>> =
        parts.iter().map(|_| Mutex::new(Vec::new())).collect();
    let job = |i: usize| {
        let mut sums = vec![(0.0f64, 0.0f64); c];
        walk.for_each_run(parts[i].clone(), |ch, start| {
            let (s, p) = run_sums(&a[start..start + walk.run], &b[start..start + walk.run]);
            sums[ch].0 += s;
            sums[ch].1 += p;
        });
        *partials[i].lock().unwrap_or_else(PoisonError::into_inner) = sums;
    };
    if parts.len() > 1 {
        pool::run(parts.len(), threads, &job);
    } else {
        (0..parts.len()).for_each(job);
    }
    let mut total = vec![(0.0f64, 0.0f64); c];
    for part in partials {
        for (t, (s, p)) in total
            .iter_mut()
            .zip(part.into_inner().unwrap_or_else(PoisonError::into_inner))
        {
            t.0 += s;
            t.1 += p;
        }
    }
    total.into_iter().map(|(s, p)| (E::of(s), E::of(p))).unzip()
}

/// `a · alpha[c] + b · beta[c] + gamma[c]` for every element (channel `c`), the `b` term only
/// if given; written at the same offsets as the inputs, all of layout `v`. One pass in storage
/// order, in shares of the slowest axis on the worker pool when it is large.
///
/// # Panics
/// If a buffer is shorter than the array or a coefficient vector is not one per channel.
pub fn channel_affine<E: Element>(
    a: &[E],
    alpha: &[E],
    b: Option<(&[E], &[E])>,
    gamma: &[E],
    v: &Channels,
) -> Vec<E> {
    let len = v.numel();
    let c = v.shape[1];
    assert!(
        a.len() >= len
            && b.is_none_or(|(b, beta)| b.len() >= len && beta.len() == c)
            && alpha.len() == c
            && gamma.len() == c,
        "channel_affine: buffers or coefficients do not fit {:?}",
        v.shape
    );
    // The output is written at the inputs' offsets: they must cover it once each.
    assert!(
        v.is_dense(),
        "channel_affine: {:?} with strides {:?} is not a dense layout",
        v.shape,
        v.strides.0
    );
    let mut out = crate::buffers::take::<E>(len);
    if len == 0 {
        return out;
    }
    let walk = v.walk();
    let block = walk.block(len);
    let threads = if len >= PARALLEL_MIN {
        threads::num_threads()
    } else {
        1
    };
    let parts = shares(walk.slowest(), threads);
    // Every element lies in exactly one run, so the runs of all shares write all of `out`.
    let fill = |range: Range<usize>, out: &mut [MaybeUninit<E>]| {
        let first = range.start * block;
        let run = walk.run;
        walk.for_each_run(range, |ch, start| {
            let (al, ga) = (alpha[ch], gamma[ch]);
            let dst = &mut out[start - first..][..run];
            let src = &a[start..start + run];
            match b {
                None => {
                    for (d, &x) in dst.iter_mut().zip(src) {
                        d.write(x * al + ga);
                    }
                }
                Some((b, beta)) => {
                    let be = beta[ch];
                    for ((d, &x), &y) in dst.iter_mut().zip(src).zip(&b[start..start + run]) {
                        d.write(x * al + y * be + ga);
                    }
                }
            }
        });
    };
    let dst = &mut out.spare_capacity_mut()[..len];
    if parts.len() > 1 {
        let chunks: Vec<Mutex<&mut [MaybeUninit<E>]>> = parts
            .iter()
            .scan(dst, |rest, r| {
                let (head, tail) = std::mem::take(rest).split_at_mut(r.len() * block);
                *rest = tail;
                Some(Mutex::new(head))
            })
            .collect();
        pool::run(parts.len(), threads, &|i| {
            let mut chunk = chunks[i].lock().unwrap_or_else(PoisonError::into_inner);
            fill(parts[i].clone(), &mut chunk);
        });
    } else {
        fill(0..walk.slowest(), dst);
    }
    // SAFETY: the shares cover the slowest axis, so `fill` wrote all `len` elements.
    unsafe { out.set_len(len) };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn f32_run_sums_in_avx2_equal_the_plain_loops_bit_for_bit() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            return;
        }
        // Values of mixed signs and magnitudes, so that any change in the order of the
        // additions changes the rounded sums.
        let values = |seed: u32, len: usize| -> Vec<f32> {
            (0..len as u32)
                .map(|i| {
                    let h = (i.wrapping_mul(2654435761) ^ seed).wrapping_mul(40503);
                    (h % 20011) as f32 / 97.0 - 103.0
                })
                .collect()
        };
        for len in [16, 17, 31, 48, 49, 196, 784, 1001] {
            let (a, b) = (values(1, len), values(2, len));
            // SAFETY: the CPU has AVX2, checked above; `a` and `b` have the same length.
            let fast = unsafe { run_sums_f32_avx2(&a, &b) };
            let plain = run_sums_generic(&a, &b);
            assert_eq!(fast.0.to_bits(), plain.0.to_bits(), "sum of a run of {len}");
            assert_eq!(
                fast.1.to_bits(),
                plain.1.to_bits(),
                "sum of products, run of {len}"
            );
            let exact: f64 = a.iter().map(|&x| f64::from(x)).sum();
            assert!(
                (fast.0 - exact).abs() <= 1e-3 * exact.abs().max(1.0),
                "{len}: {fast:?} vs {exact}"
            );
        }
    }

    #[test]
    fn sums_and_affine_follow_the_channels_in_both_layouts() {
        // [2, 3, 2] row-major, and the same values column-major ([N·C, L] matrix stored by
        // columns: strides (C, 1, N·C)).
        let x: Vec<f64> = (0..12).map(|i| i as f64).collect();
        let rm = Channels::new(&[2, 3, 2], &[6, 2, 1]);
        let (s, p) = channel_sums(&x, None, &rm);
        // Channel 0 holds 0, 1, 6, 7.
        assert_eq!(s[0], 14.0);
        assert_eq!(p[0], 0.0 + 1.0 + 36.0 + 49.0);
        let mut cm = vec![0.0; 12];
        for n in 0..2 {
            for c in 0..3 {
                for l in 0..2 {
                    cm[n * 3 + c + l * 6] = x[n * 6 + c * 2 + l];
                }
            }
        }
        let colmajor = Channels::new(&[2, 3, 2], &[3, 1, 6]);
        assert_eq!(channel_sums(&cm, None, &colmajor), (s, p));
        let y = channel_affine(
            &cm,
            &[1.0, 2.0, 3.0],
            Some((&cm, &[1.0, 0.0, 0.0])),
            &[0.5, 0.0, -1.0],
            &colmajor,
        );
        // Element (1, 2, 1) = 11 → 11·3 − 1, at column-major offset 1·3 + 2 + 6.
        assert_eq!(y[11], 32.0);
        // Element (0, 0, 0) = 0 → 0·1 + 0·1 + 0.5.
        assert_eq!(y[0], 0.5);
    }

    #[test]
    #[should_panic(
        expected = "channel_affine: [2, 3, 1, 1] with strides [1, 0, 0, 0] is not a dense"
    )]
    fn affine_rejects_a_layout_that_repeats_offsets() {
        let broadcast = Channels::new(&[2, 3], &[1, 0]);
        channel_affine(&[1.0; 6], &[1.0; 3], None, &[0.0; 3], &broadcast);
    }
}
