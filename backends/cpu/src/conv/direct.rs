//! Convolutions of a single input channel (an image network's first layer) at stride and
//! dilation 1, computed directly rather than through a patch matrix. With one channel the patch
//! matrix has only `kH·kW` rows: building it (`kH·kW` copies of the image) costs more than the
//! multiply-adds it feeds, and a product that thin runs far below the matrix kernel's speed.
//!
//! Both kernels read `kW` shifted copies of each sample's zero-padded plane ([`shifted_planes`]),
//! `outW` columns wide: in copy `j`, the input that output position `p` (row-major over
//! `outH × outW`) reads through tap `(i, j)` is at `p + i·outW`. The output positions then run
//! in blocks of [`LANES`] that need not stop at the end of a row, with the accumulators of
//! [`CHANNELS`] output channels in registers.

use std::mem::MaybeUninit;
use std::ops::Range;

use duograd_backend::window::Window2d;
use duograd_backend::Element;

use super::{samples, Sums};
use crate::simd::{as_f32, with_best_simd};
use crate::window::Strides4;

/// Output positions computed together: one AVX-512 vector of `f32`.
const LANES: usize = 16;

/// Output channels computed together.
const CHANNELS: usize = 4;

/// Blocks of [`LANES`] output positions (forward) or taps (weight gradient) computed together:
/// `BLOCKS · CHANNELS` = 8 independent accumulators, enough to keep two FMA units busy through
/// an FMA's 4-cycle latency, and each weight (forward) or gradient (weight gradient) vector
/// loaded once for both blocks.
const BLOCKS: usize = 2;

/// Whether the direct kernels compute the convolution under `window`: one input channel,
/// stride 1, dilation 1.
pub(super) fn applies(window: &Window2d) -> bool {
    window.input[1] == 1 && window.stride == [1, 1] && window.dilation == [1, 1]
}

/// The sizes the kernels share.
#[derive(Clone, Copy)]
struct Plan {
    kernel: [usize; 2],
    out: [usize; 2],
    /// Output positions per channel, `outH·outW`.
    positions: usize,
    /// The distance between two shifted copies of the plane: its `(H + 2·pH)·outW` values,
    /// then `BLOCKS · LANES` zeros, so that the last step of positions reads inside the copy.
    copy_len: usize,
    /// Output channels rounded up to whole groups of [`CHANNELS`].
    channels: usize,
}

impl Plan {
    fn new(window: &Window2d, out_channels: usize) -> Self {
        debug_assert!(applies(window));
        let [oh, ow] = window.output_size();
        let kh = window.kernel[0];
        Plan {
            kernel: window.kernel,
            out: [oh, ow],
            positions: oh * ow,
            copy_len: (oh + kh - 1) * ow + BLOCKS * LANES,
            channels: out_channels.next_multiple_of(CHANNELS),
        }
    }

    fn taps(&self) -> usize {
        self.kernel[0] * self.kernel[1]
    }
}

/// The `kW` shifted copies of the zero-padded plane of the single-channel row-major sample
/// `image`, into `buf`: copy `j` holds, at `j·copy_len + y·outW + x`, the padded input at row
/// `y`, column `x + j` (`y < H + 2·pH`, `x < outW`).
fn shifted_planes<E: Element>(image: &[E], window: &Window2d, plan: &Plan, buf: &mut Vec<E>) {
    let [_, _, h, w] = window.input;
    let [ph, pw] = window.padding;
    let [_, ow] = plan.out;
    let rows = h + 2 * ph;
    buf.clear();
    buf.resize(plan.kernel[1] * plan.copy_len, E::zero());
    for (j, copy) in buf.chunks_exact_mut(plan.copy_len).enumerate() {
        // Columns `lo..hi` of each row read the image (from its column `lo + j − pW`); the
        // others read the padding, already zero.
        let lo = pw.saturating_sub(j).min(ow);
        let hi = (w + pw).saturating_sub(j).min(ow).max(lo);
        for y in ph..rows - ph {
            let src = &image[(y - ph) * w..][..w];
            copy[y * ow + lo..y * ow + hi].copy_from_slice(&src[lo + j - pw..hi + j - pw]);
        }
    }
}

/// `weight` (`[O, kH·kW]`) in groups of [`CHANNELS`] output channels, each group tap by tap
/// (`[O / CHANNELS, kH·kW, CHANNELS]`), with zero channels appended up to [`Plan::channels`].
fn grouped_weight<E: Element>(weight: &[E], plan: &Plan) -> Vec<E> {
    let taps = plan.taps();
    let mut w = vec![E::zero(); plan.channels * taps];
    for (o, row) in weight.chunks_exact(taps).enumerate() {
        let (group, c) = (o / CHANNELS, o % CHANNELS);
        for (t, &v) in row.iter().enumerate() {
            w[(group * taps + t) * CHANNELS + c] = v;
        }
    }
    w
}

/// `LANES` values from `s[at..]`.
#[inline(always)]
fn lanes<E: Element>(s: &[E], at: usize) -> [E; LANES] {
    *s[at..]
        .first_chunk::<LANES>()
        .expect("a block of LANES values")
}

/// The convolution of samples `first..` (as many as `out` holds) of the single-channel
/// `[N, 1, H, W]` input `x` (strides `xs`) with `weight` (`[O, kH·kW]`), into `out` (row-major
/// `[count, O, outH, outW]`, every value written), `bias[o]` (if given) added to channel `o`.
#[allow(clippy::too_many_arguments)]
pub(super) fn forward<E: Element>(
    x: &[E],
    xs: Strides4,
    weight: &[E],
    bias: Option<&[E]>,
    out_channels: usize,
    window: &Window2d,
    first: usize,
    out: &mut [MaybeUninit<E>],
) {
    let plan = Plan::new(window, out_channels);
    let per_sample = out_channels * plan.positions;
    if per_sample == 0 {
        return;
    }
    let weight = grouped_weight(weight, &plan);
    let mut copies = Vec::new();
    for (s, dst) in out.chunks_exact_mut(per_sample).enumerate() {
        let image = samples(x, xs, window.input, first + s, 1);
        shifted_planes(&image, window, &plan, &mut copies);
        with_best_simd(
            #[inline(always)]
            || forward_sample(&copies, &weight, bias, out_channels, &plan, dst),
        );
    }
}

/// One sample's output from its [`shifted_planes`] and [`grouped_weight`].
#[inline(always)]
fn forward_sample<E: Element>(
    copies: &[E],
    weight: &[E],
    bias: Option<&[E]>,
    out_channels: usize,
    plan: &Plan,
    out: &mut [MaybeUninit<E>],
) {
    let ([kh, kw], [_, ow], taps, positions) = (plan.kernel, plan.out, plan.taps(), plan.positions);
    for o0 in (0..out_channels).step_by(CHANNELS) {
        let w = &weight[o0 * taps..][..CHANNELS * taps];
        let group = CHANNELS.min(out_channels - o0);
        for p0 in (0..positions).step_by(BLOCKS * LANES) {
            let mut acc = [[[E::zero(); LANES]; CHANNELS]; BLOCKS];
            for j in 0..kw {
                let copy = &copies[j * plan.copy_len + p0..][..(kh - 1) * ow + BLOCKS * LANES];
                for i in 0..kh {
                    let wt: &[E; CHANNELS] = w[(i * kw + j) * CHANNELS..]
                        .first_chunk()
                        .expect("CHANNELS weights");
                    for (block, acc) in acc.iter_mut().enumerate() {
                        let v = lanes(copy, i * ow + block * LANES);
                        for (acc, &wv) in acc.iter_mut().zip(wt) {
                            for (a, &v) in acc.iter_mut().zip(&v) {
                                *a = wv.mul_add(v, *a);
                            }
                        }
                    }
                }
            }
            for (block, acc) in acc.iter().enumerate() {
                let start = p0 + block * LANES;
                if start >= positions {
                    break;
                }
                let cols = LANES.min(positions - start);
                for (c, acc) in acc.iter().enumerate().take(group) {
                    let b = bias.map_or(E::zero(), |b| b[o0 + c]);
                    let mut values = [E::zero(); LANES];
                    for (d, &a) in values.iter_mut().zip(acc) {
                        *d = a + b;
                    }
                    let dst = &mut out[(o0 + c) * positions + start..];
                    // A whole block as one vector store; only the last of a channel is partial.
                    match dst.first_chunk_mut::<LANES>() {
                        Some(dst) if cols == LANES => {
                            for (d, &v) in dst.iter_mut().zip(&values) {
                                d.write(v);
                            }
                        }
                        _ => {
                            for (d, &v) in dst[..cols].iter_mut().zip(&values) {
                                d.write(v);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Adds to `sums` the gradient with respect to the weight (`[O, kH·kW]`, row-major) of the
/// convolution of the single-channel `x` (strides `xs`), and with respect to the bias if
/// `sums` wants it, summed over `range`, for the output gradient `grad` (`[N, O, outH, outW]`,
/// strides `gs`).
#[allow(clippy::too_many_arguments)]
pub(super) fn weight_gradient<E: Element>(
    grad: &[E],
    gs: Strides4,
    x: &[E],
    xs: Strides4,
    out_channels: usize,
    window: &Window2d,
    range: Range<usize>,
    sums: &mut Sums<E>,
) {
    let plan = Plan::new(window, out_channels);
    let [oh, ow] = plan.out;
    let taps = plan.taps();
    let grad_shape = [window.input[0], out_channels, oh, ow];
    // Per (channel, tap): the sum so far over whole blocks of positions, in LANES lanes, and
    // over the positions after the last whole block.
    let mut lanes_sums = vec![[E::zero(); LANES]; plan.channels * taps];
    let mut tail_sums = vec![E::zero(); plan.channels * taps];
    let (mut copies, mut padded) = (Vec::new(), Vec::new());
    for n in range {
        let image = samples(x, xs, window.input, n, 1);
        shifted_planes(&image, window, &plan, &mut copies);
        // The sample's gradient, with zero channels up to a whole group.
        let mut g = samples(grad, gs, grad_shape, n, 1);
        sums.add_bias(&g, plan.positions);
        if plan.channels != out_channels {
            padded.clear();
            padded.extend_from_slice(&g);
            padded.resize(plan.channels * plan.positions, E::zero());
            g = std::borrow::Cow::Borrowed(&padded[..]);
        }
        with_best_simd(
            #[inline(always)]
            || weight_gradient_sample(&copies, &g, &plan, &mut lanes_sums, &mut tail_sums),
        );
    }
    let totals = lanes_sums.iter().zip(&tail_sums).take(out_channels * taps);
    for (acc, (lanes, &tail)) in sums.weight.iter_mut().zip(totals) {
        *acc += lanes.iter().fold(E::zero(), |s, &v| s + v) + tail;
    }
}

/// Adds one sample's weight gradient into `lanes_sums` and `tail_sums` (see
/// [`weight_gradient`]), from its [`shifted_planes`] and its gradient `g` (`[channels,
/// positions]`, zero channels included).
#[inline(always)]
fn weight_gradient_sample<E: Element>(
    copies: &[E],
    g: &[E],
    plan: &Plan,
    lanes_sums: &mut [[E; LANES]],
    tail_sums: &mut [E],
) {
    let (taps, positions) = (plan.taps(), plan.positions);
    for o0 in (0..plan.channels).step_by(CHANNELS) {
        let g = &g[o0 * positions..][..CHANNELS * positions];
        let mut tap = 0;
        while tap + BLOCKS <= taps {
            tap_sums::<E, BLOCKS>(copies, g, plan, o0, tap, lanes_sums, tail_sums);
            tap += BLOCKS;
        }
        if tap < taps {
            tap_sums::<E, 1>(copies, g, plan, o0, tap, lanes_sums, tail_sums);
        }
    }
}

/// The part of [`weight_gradient_sample`] for output channels `o0..o0 + CHANNELS` (their
/// gradient `g`) and the `TAPS` taps from `first`: each block of the gradient is loaded once
/// for all of them.
#[inline(always)]
fn tap_sums<E: Element, const TAPS: usize>(
    copies: &[E],
    g: &[E],
    plan: &Plan,
    o0: usize,
    first: usize,
    lanes_sums: &mut [[E; LANES]],
    tail_sums: &mut [E],
) {
    let ([_, kw], [_, ow], taps, positions) = (plan.kernel, plan.out, plan.taps(), plan.positions);
    let whole = positions - positions % LANES;
    let copy: [&[E]; TAPS] = std::array::from_fn(|b| {
        let (i, j) = ((first + b) / kw, (first + b) % kw);
        &copies[j * plan.copy_len + i * ow..][..positions + LANES]
    });
    let acc = tap_lanes(copy, g, positions, whole);
    for (b, (acc, copy)) in acc.iter().zip(&copy).enumerate() {
        for (c, acc) in acc.iter().enumerate() {
            let t = (o0 + c) * taps + first + b;
            for (s, &a) in lanes_sums[t].iter_mut().zip(acc) {
                *s += a;
            }
            for p in whole..positions {
                tail_sums[t] += g[c * positions + p] * copy[p];
            }
        }
    }
}

/// Per tap and output channel, the `LANES` lane sums of `g · copy` over the whole blocks of
/// positions (`..whole`): plain loops, or for `f32` on a CPU with AVX-512F
/// [`tap_lanes_f32_avx512`] (the same fused multiply-adds in the same order, so the same bits).
#[inline(always)]
fn tap_lanes<E: Element, const TAPS: usize>(
    copy: [&[E]; TAPS],
    g: &[E],
    positions: usize,
    whole: usize,
) -> [[[E; LANES]; CHANNELS]; TAPS] {
    #[cfg(target_arch = "x86_64")]
    if let (Some(g), true) = (as_f32(g), std::arch::is_x86_feature_detected!("avx512f")) {
        let copy = copy.map(|c| as_f32(c).expect("the same element type as `g`"));
        // SAFETY: the CPU has AVX-512F, checked above.
        let sums = unsafe { tap_lanes_f32_avx512(copy, g, positions, whole) };
        return sums
            .map(|per_tap| per_tap.map(|lane| lane.map(|v| E::from_f32(v).unwrap_or(E::nan()))));
    }
    let mut acc = [[[E::zero(); LANES]; CHANNELS]; TAPS];
    for p0 in (0..whole).step_by(LANES) {
        let mut gv = [[E::zero(); LANES]; CHANNELS];
        for (c, gv) in gv.iter_mut().enumerate() {
            *gv = lanes(g, c * positions + p0);
        }
        for b in 0..TAPS {
            let v = lanes(copy[b], p0);
            for c in 0..CHANNELS {
                for l in 0..LANES {
                    acc[b][c][l] = gv[c][l].mul_add(v[l], acc[b][c][l]);
                }
            }
        }
    }
    acc
}

/// [`tap_lanes`] for `f32` with the sums in AVX-512 registers. (LLVM keeps the generic loops'
/// `TAPS · CHANNELS · LANES` sums in memory and stores every multiply-add's result, so the
/// arithmetic waits on the stores.)
///
/// # Safety
/// The CPU must have AVX-512F; `whole` is a multiple of `LANES` at most `positions`, `g` holds
/// `CHANNELS · positions` values and each `copy` at least `whole`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn tap_lanes_f32_avx512<const TAPS: usize>(
    copy: [&[f32]; TAPS],
    g: &[f32],
    positions: usize,
    whole: usize,
) -> [[[f32; LANES]; CHANNELS]; TAPS] {
    use std::arch::x86_64::*;
    debug_assert!(whole.is_multiple_of(LANES) && whole <= positions);
    debug_assert!(g.len() >= CHANNELS * positions && copy.iter().all(|c| c.len() >= whole));
    let mut acc = [[_mm512_setzero_ps(); CHANNELS]; TAPS];
    let mut gv = [_mm512_setzero_ps(); CHANNELS];
    for p0 in (0..whole).step_by(LANES) {
        for (c, gv) in gv.iter_mut().enumerate() {
            // SAFETY: `p0 + LANES <= whole <= positions`, so the 16 values lie in channel
            // `c`'s row of `g`.
            *gv = unsafe { _mm512_loadu_ps(g.as_ptr().add(c * positions + p0)) };
        }
        for (acc, copy) in acc.iter_mut().zip(&copy) {
            // SAFETY: `p0 + LANES <= whole <= copy.len()`.
            let v = unsafe { _mm512_loadu_ps(copy.as_ptr().add(p0)) };
            for (a, &gv) in acc.iter_mut().zip(&gv) {
                *a = _mm512_fmadd_ps(gv, v, *a);
            }
        }
    }
    let mut sums = [[[0.0f32; LANES]; CHANNELS]; TAPS];
    for (sums, acc) in sums.iter_mut().zip(&acc) {
        for (sum, &a) in sums.iter_mut().zip(acc) {
            // SAFETY: `sum` holds the 16 values of one vector.
            unsafe { _mm512_storeu_ps(sum.as_mut_ptr(), a) };
        }
    }
    sums
}
