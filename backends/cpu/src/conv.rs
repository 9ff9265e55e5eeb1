//! 2-D convolution, its gradient with respect to the input and to the weight, a few samples at
//! a time: their patch matrix (`[C·kH·kW, m·outH·outW]`, a few hundred kilobytes) is
//! built in a buffer each thread reuses, multiplied by the weight with duograd's matrix kernel,
//! and overwritten by the next group's. The samples are
//! shared among the worker pool's threads, each product running on one thread.
//!
//! Compared with one product over the whole batch's patch matrix, this writes the output
//! straight in `[N, O, outH, outW]` order (no transpose of the result, nor of its gradient) and
//! never holds the batch's patch matrix, which for a 3×3 kernel is nine times the input.
//!
//! A convolution of a single input channel at stride and dilation 1 (an image network's first
//! layer) has no patch matrix: `conv/direct.rs` computes its output and weight gradient.
//!
//! Inputs are read through [`Strides4`], so a backend passes its own buffer whatever its layout;
//! outputs are row-major.

use std::borrow::Cow;
use std::mem::MaybeUninit;
use std::ops::Range;
use std::sync::{Mutex, PoisonError};

use duograd_backend::window::Window2d;
use duograd_backend::{Element, Layout};

use crate::gemm::{matmul_with_threads, StridedMatrix};
use crate::simd::{with_best_simd, zeroed};
use crate::threads::{self, pool};
use crate::window::{add_patches, tap_row, Strides4};

mod direct;

/// A convolution's sizes: the window over one group's input, and the output channels.
#[derive(Clone, Copy, Debug)]
struct Geometry {
    /// The window over the whole `[N, C, H, W]` input.
    batch: Window2d,
    /// Output channels.
    out_channels: usize,
    /// Taps per window, `C·kH·kW`.
    taps: usize,
    /// Window positions per sample, `outH·outW`.
    positions: usize,
}

impl Geometry {
    fn new(window: &Window2d, out_channels: usize) -> Self {
        let [oh, ow] = window.output_size();
        Geometry {
            batch: *window,
            out_channels,
            taps: window.patch_len(),
            positions: oh * ow,
        }
    }

    /// Panics, naming `op`, unless `weight` holds `O·C·kH·kW` values.
    fn check_weight<E>(&self, op: &str, weight: &[E]) {
        assert_eq!(
            weight.len(),
            self.out_channels * self.taps,
            "{op}: weight of {} elements for [{}, {}]",
            weight.len(),
            self.out_channels,
            self.taps
        );
    }

    fn input_len(&self) -> usize {
        let [_, c, h, w] = self.batch.input;
        c * h * w
    }

    fn output_len(&self) -> usize {
        self.out_channels * self.positions
    }
}

/// How many samples one product takes: enough that it is at least [`MIN_PRODUCT_COLS`] wide
/// (a narrow product spends much of its time packing its operands and setting up its tiles),
/// at least one.
fn group_size(g: &Geometry) -> usize {
    MIN_PRODUCT_COLS.div_ceil(g.positions.max(1)).max(1)
}

/// The width below which a product is made of several samples' patch matrices side by side
/// (see BENCHMARKS.md for the widths measured).
const MIN_PRODUCT_COLS: usize = 640;

/// Samples `first..first + count` of a strided `[N, C, H, W]` (or `[N, O, outH, outW]`) array as
/// one row-major slice: borrowed when the array is row-major, else gathered.
fn samples<'a, E: Element>(
    x: &'a [E],
    s: Strides4,
    shape: [usize; 4],
    first: usize,
    count: usize,
) -> Cow<'a, [E]> {
    let len = shape[1] * shape[2] * shape[3];
    if s == Strides4::row_major(shape) {
        return Cow::Borrowed(&x[first * len..][..count * len]);
    }
    let [_, c, h, w] = shape;
    let [sn, sc, sy, sx] = s.0;
    let mut out = Vec::with_capacity(count * len);
    for n in first..first + count {
        for ci in 0..c {
            for y in 0..h {
                let base = n * sn + ci * sc + y * sy;
                out.extend((0..w).map(|xx| x[base + xx * sx]));
            }
        }
    }
    Cow::Owned(out)
}

/// The window over `count` samples.
fn over(g: &Geometry, count: usize) -> Window2d {
    let [_, c, h, w] = g.batch.input;
    Window2d {
        input: [count, c, h, w],
        ..g.batch
    }
}

/// The patch matrix `[C·kH·kW, count·outH·outW]` (row-major) of `count` row-major samples, into
/// `cols`.
fn patches<E: Element>(x: &[E], g: &Geometry, count: usize, cols: &mut Vec<E>) {
    let window = over(g, count);
    let width = count * g.positions;
    // `tap_row` writes every entry (zeros too): the buffer's old contents need no clearing.
    cols.resize(g.taps * width, E::zero());
    let strides = Strides4::row_major(window.input);
    with_best_simd(
        #[inline(always)]
        || {
            for (row, out) in cols.chunks_mut(width.max(1)).enumerate() {
                tap_row(x, strides, &window, row, out);
            }
        },
    );
}

/// `[count, O, L]` (row-major, per sample) as `[O, count·L]`: `x` itself for one sample, else
/// reordered into `out`.
fn samples_to_channels<'a, E: Element>(
    x: &'a [E],
    o: usize,
    l: usize,
    count: usize,
    out: &'a mut Vec<E>,
) -> &'a [E] {
    if count == 1 {
        return x;
    }
    out.clear();
    out.resize(o * count * l, E::zero());
    for s in 0..count {
        for c in 0..o {
            out[(c * count + s) * l..][..l].copy_from_slice(&x[(s * o + c) * l..][..l]);
        }
    }
    out
}

/// The inverse of [`samples_to_channels`], into the uninitialized `out` (every value written),
/// with `bias[c]` (if given) added to channel `c`.
fn channels_to_samples<E: Element>(
    x: &[E],
    o: usize,
    l: usize,
    count: usize,
    bias: Option<&[E]>,
    out: &mut [MaybeUninit<E>],
) {
    debug_assert_eq!(out.len(), count * o * l);
    for s in 0..count {
        for c in 0..o {
            let dst = &mut out[(s * o + c) * l..][..l];
            let src = &x[(c * count + s) * l..][..l];
            match bias {
                Some(bias) => {
                    let b = bias[c];
                    dst.iter_mut().zip(src).for_each(|(d, &v)| {
                        d.write(v + b);
                    });
                }
                None => {
                    dst.iter_mut().zip(src).for_each(|(d, &v)| {
                        d.write(v);
                    });
                }
            }
        }
    }
}

/// Runs `job(first sample, output chunk)` over shares of the samples, each share writing its
/// samples' `per_sample` output elements, on the worker pool when there is enough work.
fn for_each_share<T: Send>(
    out: &mut [T],
    samples: usize,
    per_sample: usize,
    work_per_sample: usize,
    job: impl Fn(usize, &mut [T]) + Sync,
) {
    let threads = threads::num_threads();
    // Below ~2 MFLOP in all, handing shares to the pool costs more than it saves.
    if threads == 1 || samples < 2 || samples * work_per_sample < 1 << 21 || per_sample == 0 {
        return job(0, out);
    }
    let per_share = samples.div_ceil(threads);
    let shares: Vec<Mutex<&mut [T]>> = out
        .chunks_mut(per_share * per_sample)
        .map(Mutex::new)
        .collect();
    pool::run(shares.len(), threads, &|i| {
        let mut chunk = shares[i].lock().unwrap_or_else(PoisonError::into_inner);
        job(i * per_share, &mut chunk);
    });
}

/// The groups of at most `size` samples that cover `first..first + count`.
fn groups(first: usize, count: usize, size: usize) -> impl Iterator<Item = (usize, usize)> {
    (first..first + count)
        .step_by(size)
        .map(move |a| (a, size.min(first + count - a)))
}

/// The convolution of `x` (`[N, C, H, W]` through `xs`) with `weight` (`[O, C·kH·kW]`,
/// row-major) under `window`: the row-major `[N, O, outH, outW]` result, where output `(n, o,
/// oy, ox)` is `bias[o]` (if given) plus the sum over the window's taps of weight times input
/// (padding reading 0). The bias is added while the result is copied out of each product.
///
/// # Panics
/// If `x` is too short for its strides, `weight` is not `O·C·kH·kW` long or `bias` not `O`.
pub fn conv2d<E: Element>(
    x: &[E],
    xs: Strides4,
    weight: &[E],
    bias: Option<&[E]>,
    out_channels: usize,
    window: &Window2d,
) -> Vec<E> {
    let g = Geometry::new(window, out_channels);
    g.check_weight("conv2d", weight);
    assert!(
        bias.is_none_or(|b| b.len() == out_channels),
        "conv2d: a bias of {} values for {out_channels} output channels",
        bias.map_or(0, <[E]>::len)
    );
    let n = window.input[0];
    let len = n * g.output_len();
    let mut out = crate::buffers::take::<E>(len);
    let w = StridedMatrix::row_major(weight, out_channels, g.taps);
    let work = 2 * g.output_len() * g.taps;
    let dst = &mut out.spare_capacity_mut()[..len];
    for_each_share(dst, n, g.output_len(), work, |first, chunk| {
        if direct::applies(window) {
            return direct::forward(x, xs, weight, bias, out_channels, window, first, chunk);
        }
        let count = chunk.len() / g.output_len().max(1);
        let mut cols = Vec::new();
        for (a, m) in groups(first, count, group_size(&g)) {
            patches(&samples(x, xs, window.input, a, m), &g, m, &mut cols);
            let cols = StridedMatrix::row_major(&cols, g.taps, m * g.positions);
            let product = matmul_with_threads(w, cols, Layout::RowMajor, 1);
            let dst = &mut chunk[(a - first) * g.output_len()..][..m * g.output_len()];
            channels_to_samples(&product, out_channels, g.positions, m, bias, dst);
        }
    });
    // SAFETY: the groups cover every sample, and `channels_to_samples` wrote each one's
    // `output_len` values.
    unsafe { out.set_len(len) };
    out
}

/// The gradient of [`conv2d`] with respect to its input: `grad` (`[N, O, outH, outW]` through
/// `gs`) through the transposed weight, each sample's `[C·kH·kW, outH·outW]` result added back
/// to the input positions it reads (col2im). Row-major `[N, C, H, W]`.
///
/// # Panics
/// If `grad` is too short for its strides or `weight` is not `O·C·kH·kW` long.
pub fn conv2d_backward_input<E: Element>(
    grad: &[E],
    gs: Strides4,
    weight: &[E],
    out_channels: usize,
    window: &Window2d,
) -> Vec<E> {
    let g = Geometry::new(window, out_channels);
    g.check_weight("conv2d_backward_input", weight);
    let n = window.input[0];
    let [oh, ow] = window.output_size();
    let grad_shape = [n, out_channels, oh, ow];
    let len = n * g.input_len();
    let mut out = crate::buffers::take::<E>(len);
    let w_t = StridedMatrix::row_major(weight, out_channels, g.taps).t();
    let work = 2 * g.output_len() * g.taps;
    let dst = &mut out.spare_capacity_mut()[..len];
    for_each_share(dst, n, g.input_len(), work, |first, chunk| {
        let count = chunk.len() / g.input_len().max(1);
        let mut grads = Vec::new();
        for (a, m) in groups(first, count, group_size(&g)) {
            let gn = samples(grad, gs, grad_shape, a, m);
            let grads = samples_to_channels(&gn, out_channels, g.positions, m, &mut grads);
            let grads = StridedMatrix::row_major(grads, out_channels, m * g.positions);
            let cols = matmul_with_threads(w_t, grads, Layout::RowMajor, 1);
            let window = over(&g, m);
            // Zeroed here, while the product is in cache, rather than all at once beforehand.
            let dx = zeroed(&mut chunk[(a - first) * g.input_len()..][..m * g.input_len()]);
            let strides = Strides4::row_major(window.input);
            add_patches(&cols, Layout::RowMajor, &window, 0..m, dx, strides);
        }
    });
    // SAFETY: the groups cover every sample, and each group's `dx` was zeroed before the
    // gradient was added into it.
    unsafe { out.set_len(len) };
    out
}

/// The gradient of [`conv2d`] with respect to its weight: the sum over samples of `grad`'s
/// `[O, outH·outW]` times the transposed patch matrix. Row-major `[O, C·kH·kW]`.
///
/// # Panics
/// If `grad` or `x` is too short for its strides.
pub fn conv2d_backward_weight<E: Element>(
    grad: &[E],
    gs: Strides4,
    x: &[E],
    xs: Strides4,
    out_channels: usize,
    window: &Window2d,
) -> Vec<E> {
    weight_gradients(grad, gs, x, xs, out_channels, window, false).0
}

/// [`conv2d_backward_weight`], and the gradient with respect to the bias (`grad` summed per
/// output channel, in `f64`), added up while each group's gradient is in cache.
///
/// # Panics
/// If `grad` or `x` is too short for its strides.
pub fn conv2d_backward_weight_and_bias<E: Element>(
    grad: &[E],
    gs: Strides4,
    x: &[E],
    xs: Strides4,
    out_channels: usize,
    window: &Window2d,
) -> (Vec<E>, Vec<E>) {
    let (dw, db) = weight_gradients(grad, gs, x, xs, out_channels, window, true);
    (dw, db.into_iter().map(E::of).collect())
}

/// The weight gradient and, `with_bias`, the bias gradient (else empty).
fn weight_gradients<E: Element>(
    grad: &[E],
    gs: Strides4,
    x: &[E],
    xs: Strides4,
    out_channels: usize,
    window: &Window2d,
    with_bias: bool,
) -> (Vec<E>, Vec<f64>) {
    let g = Geometry::new(window, out_channels);
    let n = window.input[0];
    let len = out_channels * g.taps;
    let bias_len = if with_bias { out_channels } else { 0 };
    // One partial sum per share of the samples, added in share order: the result depends on the
    // thread count only through that split.
    let threads = threads::num_threads();
    let parallel = threads > 1 && n >= 2 && n * 2 * g.output_len() * g.taps >= 1 << 21;
    let shares = if parallel { threads.min(n) } else { 1 };
    let per_share = n.div_ceil(shares);
    let partials: Vec<Mutex<Sums<E>>> = (0..shares).map(|_| Mutex::default()).collect();
    let job = |i: usize| {
        let (first, end) = (i * per_share, ((i + 1) * per_share).min(n));
        let mut sums = Sums::zeros(len, bias_len);
        let range = first..end.max(first);
        if direct::applies(window) {
            direct::weight_gradient(grad, gs, x, xs, out_channels, window, range, &mut sums);
        } else {
            weight_gradient_by_patches(grad, gs, x, xs, &g, range, &mut sums);
        }
        *partials[i].lock().unwrap_or_else(PoisonError::into_inner) = sums;
    };
    if shares > 1 {
        pool::run(shares, threads, &job);
    } else {
        job(0);
    }
    let mut total = Sums::zeros(len, bias_len);
    for part in partials {
        let part = part.into_inner().unwrap_or_else(PoisonError::into_inner);
        for (acc, p) in total.weight.iter_mut().zip(&part.weight) {
            *acc += *p;
        }
        for (acc, p) in total.bias.iter_mut().zip(&part.bias) {
            *acc += *p;
        }
    }
    (total.weight, total.bias)
}

/// One share's sums: the weight gradient (`[O, C·kH·kW]`), and the bias gradient if it is
/// wanted (`[O]`, else empty).
#[derive(Default)]
struct Sums<E> {
    weight: Vec<E>,
    bias: Vec<f64>,
}

impl<E: Element> Sums<E> {
    fn zeros(weight: usize, bias: usize) -> Self {
        Sums {
            weight: vec![E::zero(); weight],
            bias: vec![0.0; bias],
        }
    }

    /// Adds the per-channel sums of one sample's or group's output gradient `[O, L]` (row-major,
    /// `L` long rows) to the bias gradient, if it is wanted.
    fn add_bias(&mut self, grads: &[E], l: usize) {
        for (acc, row) in self.bias.iter_mut().zip(grads.chunks_exact(l.max(1))) {
            *acc += crate::channels::run_sums(row, row).0;
        }
    }
}

/// The weight gradient of [`conv2d_backward_weight`] summed over `range`, through each group's
/// patch matrix.
fn weight_gradient_by_patches<E: Element>(
    grad: &[E],
    gs: Strides4,
    x: &[E],
    xs: Strides4,
    g: &Geometry,
    range: Range<usize>,
    sums: &mut Sums<E>,
) {
    let window = &g.batch;
    let [oh, ow] = window.output_size();
    let out_channels = g.out_channels;
    let grad_shape = [window.input[0], out_channels, oh, ow];
    let (mut cols, mut grads) = (Vec::new(), Vec::new());
    for (a, m) in groups(range.start, range.len(), group_size(g)) {
        patches(&samples(x, xs, window.input, a, m), g, m, &mut cols);
        let gn = samples(grad, gs, grad_shape, a, m);
        let grads = samples_to_channels(&gn, out_channels, g.positions, m, &mut grads);
        let width = m * g.positions;
        sums.add_bias(grads, width);
        let product = matmul_with_threads(
            StridedMatrix::row_major(grads, out_channels, width),
            StridedMatrix::row_major(&cols, g.taps, width).t(),
            Layout::RowMajor,
            1,
        );
        for (acc, p) in sums.weight.iter_mut().zip(&product) {
            *acc += *p;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, in f64.
    fn naive(x: &[f64], w: &[f64], o: usize, win: &Window2d) -> Vec<f64> {
        let [n, c, h, wd] = win.input;
        let [kh, kw] = win.kernel;
        let [oh, ow] = win.output_size();
        let mut out = vec![0.0; n * o * oh * ow];
        for ni in 0..n {
            for oi in 0..o {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut s = 0.0;
                        for ci in 0..c {
                            for i in 0..kh {
                                for j in 0..kw {
                                    let y = (oy * win.stride[0] + i * win.dilation[0]) as isize
                                        - win.padding[0] as isize;
                                    let xx = (ox * win.stride[1] + j * win.dilation[1]) as isize
                                        - win.padding[1] as isize;
                                    if y >= 0 && xx >= 0 && (y as usize) < h && (xx as usize) < wd {
                                        s += x[((ni * c + ci) * h + y as usize) * wd + xx as usize]
                                            * w[((oi * c + ci) * kh + i) * kw + j];
                                    }
                                }
                            }
                        }
                        out[((ni * o + oi) * oh + oy) * ow + ox] = s;
                    }
                }
            }
        }
        out
    }

    #[test]
    fn forward_and_both_gradients_match_the_definition() {
        // Samples grouped three to a product, then (at least MIN_PRODUCT_COLS positions each)
        // one by one.
        let small = Window2d::new([3, 2, 6, 5], [3, 2])
            .stride([2, 1])
            .padding([1, 1])
            .dilation([1, 2]);
        let large = Window2d::new([3, 2, 26, 25], [3, 3]).padding([1, 1]);
        assert_eq!(group_size(&Geometry::new(&large, 4)), 1);
        for win in [small, large] {
            check_against_the_definition(&win, 4);
        }
    }

    #[test]
    fn one_input_channel_computed_directly_matches_the_definition() {
        // Rows narrower than a block of 16 output columns, wider than one (a partial last
        // block), kernels wider than the padding and not square, and channel counts that
        // leave a partial group of 4.
        let windows = [
            Window2d::new([3, 1, 6, 5], [3, 3]).padding([1, 1]),
            Window2d::new([3, 1, 21, 35], [5, 5]).padding([2, 2]),
            Window2d::new([3, 1, 9, 18], [2, 3]),
            Window2d::new([3, 1, 7, 7], [3, 1]).padding([2, 0]),
        ];
        for win in windows {
            assert!(direct::applies(&win));
            for o in [1, 4, 6] {
                check_against_the_definition(&win, o);
            }
        }
        assert!(!direct::applies(&windows[0].stride([2, 1])));
        assert!(!direct::applies(&windows[0].dilation([1, 2])));
    }

    #[test]
    fn one_input_channel_in_f32_equals_f64() {
        // The f32 kernels (vectorized by hand where the CPU allows) against the f64 ones, on
        // small integers, whose sums both compute exactly: 25 taps (pairs and a last single
        // one) and 6 taps, rows of positions with and without a partial block of 16.
        let windows = [
            Window2d::new([3, 1, 28, 28], [5, 5]).padding([2, 2]),
            Window2d::new([2, 1, 9, 18], [2, 3]),
            Window2d::new([2, 1, 13, 11], [3, 3]).padding([1, 1]),
        ];
        for win in windows {
            for o in [1, 4, 6, 9] {
                let n: usize = win.input.iter().product();
                let x: Vec<f64> = (0..n).map(|i| ((i * 7) % 11) as f64 - 5.0).collect();
                let w: Vec<f64> = (0..o * win.patch_len())
                    .map(|i| ((i * 5) % 7) as f64 - 3.0)
                    .collect();
                let b: Vec<f64> = (0..o).map(|i| i as f64 - 2.0).collect();
                let [oh, ow] = win.output_size();
                let gshape = [win.input[0], o, oh, ow];
                let gr: Vec<f64> = (0..gshape.iter().product::<usize>())
                    .map(|i| ((i * 3) % 5) as f64 - 2.0)
                    .collect();
                let f32s = |v: &[f64]| v.iter().map(|&v| v as f32).collect::<Vec<f32>>();
                let f64s = |v: &[f32]| v.iter().map(|&v| f64::from(v)).collect::<Vec<f64>>();
                let (xs, gs) = (Strides4::row_major(win.input), Strides4::row_major(gshape));
                let y = conv2d(&x, xs, &w, Some(&b), o, &win);
                let y32 = conv2d(&f32s(&x), xs, &f32s(&w), Some(&f32s(&b)), o, &win);
                assert_eq!(f64s(&y32), y, "forward, {win:?}, {o} channels");
                let (dw, db) = conv2d_backward_weight_and_bias(&gr, gs, &x, xs, o, &win);
                let (dw32, db32) =
                    conv2d_backward_weight_and_bias(&f32s(&gr), gs, &f32s(&x), xs, o, &win);
                assert_eq!(f64s(&dw32), dw, "weight gradient, {win:?}, {o} channels");
                assert_eq!(f64s(&db32), db, "bias gradient, {win:?}, {o} channels");
            }
        }
    }

    fn check_against_the_definition(win: &Window2d, o: usize) {
        let win = *win;
        let x: Vec<f64> = (0..win.input.iter().product())
            .map(|i| ((i * 7) % 11) as f64 - 5.0)
            .collect();
        let w: Vec<f64> = (0..o * win.patch_len())
            .map(|i| ((i * 5) % 7) as f64 - 3.0)
            .collect();
        let xs = Strides4::row_major(win.input);
        assert_eq!(conv2d(&x, xs, &w, None, o, &win), naive(&x, &w, o, &win));
        // <conv(x, w), g> is bilinear: its gradients are the adjoints.
        let [oh, ow] = win.output_size();
        let gshape = [3, o, oh, ow];
        let gr: Vec<f64> = (0..gshape.iter().product::<usize>())
            .map(|i| ((i * 3) % 5) as f64 - 2.0)
            .collect();
        let gs = Strides4::row_major(gshape);
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>();
        let y = naive(&x, &w, o, &win);
        let dx = conv2d_backward_input(&gr, gs, &w, o, &win);
        assert_eq!(dot(&dx, &x), dot(&y, &gr));
        let dw = conv2d_backward_weight(&gr, gs, &x, xs, o, &win);
        assert_eq!(dot(&dw, &w), dot(&y, &gr));
        // The bias's gradient sums the output gradient per channel.
        let (dw_too, db) = conv2d_backward_weight_and_bias(&gr, gs, &x, xs, o, &win);
        assert_eq!(dw_too, dw);
        let per_channel: Vec<f64> = (0..o)
            .map(|c| {
                let plane = oh * ow;
                (0..3)
                    .map(|s| gr[(s * o + c) * plane..][..plane].iter().sum::<f64>())
                    .sum()
            })
            .collect();
        assert_eq!(db, per_channel);
    }
}
