//! Sliding-window kernels over `[N, C, H, W]` inputs: the patch matrix of a convolution
//! ([`im2col`]) and its adjoint ([`col2im`]), and max pooling ([`max_pool2d`]).
//!
//! Inputs are read through element strides, so a backend passes its own buffer whatever its
//! layout (both backends store `[N, C, H, W]` arrays row-major; other strides take slower,
//! general paths). The patch matrix is written in either [`Layout`]: row-major
//! `[C·kH·kW, N·outH·outW]` (one row per tap, so each row is a run of contiguous writes) or
//! column-major (one patch per column), which is what nalgebra stores for a 2-D tensor.

use std::mem::MaybeUninit;
use std::ops::Range;
use std::sync::{Mutex, PoisonError};

use duograd_backend::window::Window2d;
use duograd_backend::{Element, Layout};

use crate::simd::{as_f32, as_f32_out, with_best_simd, zeroed};
use crate::threads::{self, pool};

/// Below this many output elements a kernel runs on the calling thread.
const PARALLEL_MIN: usize = 1 << 13;

/// Where element `(n, c, y, x)` of an `[N, C, H, W]` array lies in a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Strides4(pub [usize; 4]);

impl Strides4 {
    /// The strides of a row-major (contiguous) array of `shape`.
    pub fn row_major(shape: [usize; 4]) -> Self {
        let [_, c, h, w] = shape;
        Strides4([c * h * w, h * w, w, 1])
    }

    #[inline]
    fn at(&self, n: usize, c: usize, y: usize, x: usize) -> usize {
        let [sn, sc, sy, sx] = self.0;
        n * sn + c * sc + y * sy + x * sx
    }

    /// One past the largest offset of an array of `shape` (0 when it is empty).
    fn extent(&self, shape: [usize; 4]) -> usize {
        if shape.contains(&0) {
            return 0;
        }
        self.at(shape[0] - 1, shape[1] - 1, shape[2] - 1, shape[3] - 1) + 1
    }
}

/// The output positions `o` (of `0..out`) whose tap at `offset` lands inside `0..size`, for
/// input coordinate `o·stride + offset − padding`.
#[inline]
fn valid_range(
    out: usize,
    stride: usize,
    offset: usize,
    padding: usize,
    size: usize,
) -> Range<usize> {
    // o·stride + offset ≥ padding  ⇔  o ≥ ceil((padding − offset) / stride)
    let lo = padding.saturating_sub(offset).div_ceil(stride);
    // o·stride + offset < size + padding  ⇔  o < ceil((size + padding − offset) / stride)
    let hi = (size + padding).saturating_sub(offset).div_ceil(stride);
    lo.min(out)..hi.min(out).max(lo.min(out))
}

/// Runs `job` over `parts` shares of `out` (chunks of `chunk` elements), on the worker pool when
/// the output is large.
fn for_each_chunk<E: Element>(out: &mut [E], chunk: usize, job: impl Fn(usize, &mut [E]) + Sync) {
    let threads = threads::num_threads();
    if out.len() < PARALLEL_MIN || threads == 1 || chunk == 0 || out.len() <= chunk {
        for (i, part) in out.chunks_mut(chunk.max(1)).enumerate() {
            job(i, part);
        }
        return;
    }
    let shares: Vec<Mutex<&mut [E]>> = out.chunks_mut(chunk).map(Mutex::new).collect();
    pool::run(shares.len(), threads, &|i| {
        let mut share = shares[i].lock().unwrap_or_else(PoisonError::into_inner);
        job(i, &mut share);
    });
}

/// How many units of `unit` elements make one share of a parallel kernel: about `2 · threads`
/// shares in all, so that an uneven split still keeps every thread busy.
fn units_per_share(units: usize) -> usize {
    units.div_ceil(2 * threads::num_threads()).max(1)
}

/// The patch matrix of `x` under `window`: entry `(row, col)` with `row = (c·kH + i)·kW + j`
/// and `col = (n·outH + oy)·outW + ox` is `x[n, c, oy·sH + i·dH − pH, ox·sW + j·dW − pW]`, or 0
/// where that falls in the padding. The matrix is `[C·kH·kW, N·outH·outW]`, written in `layout`.
///
/// # Panics
/// If `x` is too short for `strides` and the window's input shape.
pub fn im2col<E: Element>(x: &[E], strides: Strides4, window: &Window2d, layout: Layout) -> Vec<E> {
    assert!(
        strides.extent(window.input) <= x.len(),
        "im2col: a buffer of {} elements does not hold {:?} with strides {:?}",
        x.len(),
        window.input,
        strides.0
    );
    let (rows, cols) = (window.patch_len(), window.positions());
    let mut out = crate::buffers::take::<E>(rows * cols);
    out.resize(rows * cols, E::zero());
    match layout {
        Layout::RowMajor => {
            let per_share = units_per_share(rows);
            for_each_chunk(&mut out, per_share * cols, |share, part| {
                let first = share * per_share;
                with_best_simd(
                    #[inline(always)]
                    || {
                        for (k, row) in part.chunks_mut(cols).enumerate() {
                            tap_row(x, strides, window, first + k, row);
                        }
                    },
                );
            });
        }
        Layout::ColMajor => {
            let per_share = units_per_share(cols);
            for_each_chunk(&mut out, per_share * rows, |share, part| {
                let first = share * per_share;
                for (k, patch) in part.chunks_mut(rows).enumerate() {
                    patch_column(x, strides, window, first + k, patch);
                }
            });
        }
    }
    out
}

/// Splits a patch-matrix row into its channel and kernel offsets `(c, i, j)`.
#[inline]
fn tap(window: &Window2d, row: usize) -> (usize, usize, usize) {
    let [kh, kw] = window.kernel;
    (row / (kh * kw), row / kw % kh, row % kw)
}

/// Writes row `row` of the patch matrix (one tap of every window, over the whole batch) into
/// `out` (`N·outH·outW` long), zeros included: `out` need not be zeroed first. Inlined so that
/// a caller inside [`with_best_simd`] moves [`short_line`]'s blocks in the widest registers.
#[inline(always)]
pub(crate) fn tap_row<E: Element>(x: &[E], s: Strides4, w: &Window2d, row: usize, out: &mut [E]) {
    let [n_count, _, h, wd] = w.input;
    let [oh, ow] = w.output_size();
    let (c, i, j) = tap(w, row);
    let (oi, oj) = (i * w.dilation[0], j * w.dilation[1]);
    let ys = valid_range(oh, w.stride[0], oi, w.padding[0], h);
    let xs = valid_range(ow, w.stride[1], oj, w.padding[1], wd);
    let contiguous = w.stride[1] == 1 && s.0[3] == 1;
    for n in 0..n_count {
        let first = n * oh * ow;
        // Rows of the window that fall in the padding read zeros.
        out[first..][..ys.start * ow].fill(E::zero());
        for oy in ys.clone() {
            let y = oy * w.stride[0] + oi - w.padding[0];
            let start = first + oy * ow;
            let base = s.at(n, c, y, 0);
            let x0 = xs.start * w.stride[1] + oj - w.padding[1];
            if contiguous && short_line(x, base + x0, out, start, xs.clone(), ow) {
                continue;
            }
            let line = &mut out[start..][..ow];
            line[..xs.start].fill(E::zero());
            line[xs.end..].fill(E::zero());
            if contiguous {
                let len = xs.len();
                line[xs.clone()].copy_from_slice(&x[base + x0..][..len]);
            } else {
                for (k, ox) in xs.clone().enumerate() {
                    line[ox] = x[base + (x0 + k * w.stride[1]) * s.0[3]];
                }
            }
        }
        out[first + ys.end * ow..][..(oh - ys.end) * ow].fill(E::zero());
    }
}

/// The longest patch-matrix line [`short_line`] writes; also its block size.
const SHORT_LINE: usize = 2 * BLOCK;
const BLOCK: usize = 16;

/// Writes the line `out[start..start + ow]` of a patch-matrix row, `x[src..]` at positions `xs`
/// and zeros around them, if it is short (at most [`SHORT_LINE`] values) and not at the end of
/// `out` or `x`; returns whether it did. It writes blocks of [`BLOCK`] elements whose size the
/// compiler knows (a few vector moves each) instead of the `memcpy`/`memset` calls that runs
/// this short (a LeNet line is 10 to 28 values) would cost. A block may run past the line's end
/// into the lines after it, which the caller writes later (lines are written in order; the rows
/// after the last valid line are filled afterwards).
#[inline(always)]
fn short_line<E: Element>(
    x: &[E],
    src: usize,
    out: &mut [E],
    start: usize,
    xs: Range<usize>,
    ow: usize,
) -> bool {
    debug_assert!(xs.end <= ow);
    let (zero, len) = ([E::zero(); BLOCK], xs.len());
    let fits = ow <= SHORT_LINE
        && len > 0
        && xs.start <= BLOCK
        && ow - xs.end <= BLOCK
        && start + ow + BLOCK <= out.len()
        && src + len.div_ceil(BLOCK) * BLOCK <= x.len();
    if !fits {
        return false;
    }
    let mut block = |at: usize, values: &[E; BLOCK]| {
        let dst: &mut [E; BLOCK] = (&mut out[at..at + BLOCK]).try_into().expect("a block");
        *dst = *values;
    };
    // Left padding (then overwritten from `xs.start` on), the values, right padding (after
    // them, so that it wins over the blocks' overrun).
    if xs.start > 0 {
        block(start, &zero);
    }
    let from =
        |k: usize| -> &[E; BLOCK] { x[src + k..src + k + BLOCK].try_into().expect("a block") };
    block(start + xs.start, from(0));
    if len > BLOCK {
        block(start + xs.start + BLOCK, from(BLOCK));
    }
    if xs.end < ow {
        block(start + xs.end, &zero);
    }
    true
}

/// Writes column `col` of the patch matrix (the whole window at one position) into `out`
/// (zeroed, `C·kH·kW` long).
fn patch_column<E: Element>(x: &[E], s: Strides4, w: &Window2d, col: usize, out: &mut [E]) {
    let [_, channels, h, wd] = w.input;
    let [oh, ow] = w.output_size();
    let [kh, kw] = w.kernel;
    let (n, oy, ox) = (col / (oh * ow), col / ow % oh, col % ow);
    for c in 0..channels {
        for i in 0..kh {
            let y = (oy * w.stride[0] + i * w.dilation[0]).wrapping_sub(w.padding[0]);
            if y >= h {
                continue; // padding (a negative coordinate wraps to a large one)
            }
            for j in 0..kw {
                let xx = (ox * w.stride[1] + j * w.dilation[1]).wrapping_sub(w.padding[1]);
                if xx < wd {
                    out[(c * kh + i) * kw + j] = x[s.at(n, c, y, xx)];
                }
            }
        }
    }
}

/// The adjoint of [`im2col`]: every entry of the patch matrix `cols` (in `layout`) added back
/// into the input position it was read from. Returns a buffer holding an `[N, C, H, W]` array
/// with strides `out` (which must address every position of a buffer of `N·C·H·W` elements
/// exactly once: a permutation of row-major order).
///
/// # Panics
/// If `cols` does not have `C·kH·kW · N·outH·outW` elements.
pub fn col2im<E: Element>(cols: &[E], layout: Layout, window: &Window2d, out: Strides4) -> Vec<E> {
    let (rows, positions) = (window.patch_len(), window.positions());
    assert_eq!(
        cols.len(),
        rows * positions,
        "col2im: {} elements for a {rows}×{positions} patch matrix",
        cols.len()
    );
    let [n_count, c, h, w] = window.input;
    let len = n_count * c * h * w;
    debug_assert!(out.extent(window.input) <= len);
    let mut image = crate::buffers::take::<E>(len);
    image.resize(len, E::zero());
    let sample = c * h * w;
    if out.0[0] == sample && sample > 0 {
        // Samples are contiguous blocks: one share per group of samples.
        let per_share = units_per_share(n_count);
        for_each_chunk(&mut image, per_share * sample, |share, part| {
            let first = share * per_share;
            let samples = first..first + part.len() / sample;
            add_patches(cols, layout, window, samples, part, out);
        });
    } else {
        add_patches(cols, layout, window, 0..n_count, &mut image, out);
    }
    image
}

/// [`col2im`] for the samples `samples`, whose first one starts at offset 0 of `image`.
pub(crate) fn add_patches<E: Element>(
    cols: &[E],
    layout: Layout,
    w: &Window2d,
    samples: Range<usize>,
    image: &mut [E],
    s: Strides4,
) {
    let [_, channels, h, wd] = w.input;
    let [oh, ow] = w.output_size();
    let (rows, positions) = (w.patch_len(), w.positions());
    let at = |row: usize, col: usize| match layout {
        Layout::RowMajor => row * positions + col,
        Layout::ColMajor => col * rows + row,
    };
    let first = samples.start;
    // Row-major patches into a row-major image with unit horizontal stride: each run of a row
    // of patches adds to a contiguous run of an image row.
    let runs = layout == Layout::RowMajor && s.0[3] == 1 && w.stride[1] == 1;
    // Each tap's channel, offsets and output rows and columns inside the image, the same for
    // every sample: computed once, not once per sample (their divisions cost as much as the
    // short additions they bound).
    let taps: Vec<_> = (0..rows)
        .filter_map(|row| {
            let (c, i, j) = tap(w, row);
            debug_assert!(c < channels);
            let (oi, oj) = (i * w.dilation[0], j * w.dilation[1]);
            let ys = valid_range(oh, w.stride[0], oi, w.padding[0], h);
            let xs = valid_range(ow, w.stride[1], oj, w.padding[1], wd);
            (!xs.is_empty() && !ys.is_empty()).then_some((row, c, [oi, oj], ys, xs))
        })
        .collect();
    for n in samples {
        for (row, c, [oi, oj], ys, xs) in &taps {
            let (row, c) = (*row, *c);
            for oy in ys.clone() {
                let y = oy * w.stride[0] + oi - w.padding[0];
                let col0 = (n * oh + oy) * ow;
                let x0 = xs.start * w.stride[1] + oj - w.padding[1];
                if runs {
                    let src = &cols[row * positions + col0..][xs.clone()];
                    let dst = &mut image[s.at(n - first, c, y, x0)..][..src.len()];
                    for (d, v) in dst.iter_mut().zip(src) {
                        *d += *v;
                    }
                } else {
                    for ox in xs.clone() {
                        let x = ox * w.stride[1] + oj - w.padding[1];
                        image[s.at(n - first, c, y, x)] += cols[at(row, col0 + ox)];
                    }
                }
            }
        }
    }
}

/// Max pooling of `x` (read through `strides`) under `window`, as PyTorch's CPU kernel: each
/// output is the largest value of its window, scanned in row-major order, where a later value
/// wins only if it is larger or NaN (so ties go to the first, and a NaN propagates); padding
/// never wins. Returns the row-major `[N, C, outH, outW]` values and, for each, the row-major
/// flat index into `x`'s shape of the element it took.
///
/// # Panics
/// If `x` is too short for `strides` and the window's input shape.
pub fn max_pool2d<E: Element>(
    x: &[E],
    strides: Strides4,
    window: &Window2d,
) -> (Vec<E>, Vec<usize>) {
    assert!(
        strides.extent(window.input) <= x.len(),
        "max_pool2d: a buffer of {} elements does not hold {:?} with strides {:?}",
        x.len(),
        window.input,
        strides.0
    );
    let pooled = window.pooled_shape();
    let len: usize = pooled.iter().product();
    let mut values = crate::buffers::take::<E>(len);
    let mut indices = crate::buffers::take::<usize>(len);
    let plane = pooled[2] * pooled[3];
    if plane == 0 {
        values.resize(len, E::zero());
        indices.resize(len, 0);
        return (values, indices);
    }
    let planes = pooled[0] * pooled[1];
    let per_share = units_per_share(planes);
    type Share<'a, E> = (&'a mut [MaybeUninit<E>], &'a mut [MaybeUninit<usize>]);
    let shares: Vec<Mutex<Share<'_, E>>> = values.spare_capacity_mut()[..len]
        .chunks_mut(per_share * plane)
        .zip(indices.spare_capacity_mut()[..len].chunks_mut(per_share * plane))
        .map(Mutex::new)
        .collect();
    let job = |i: usize| {
        let mut share = shares[i].lock().unwrap_or_else(PoisonError::into_inner);
        let (values, indices) = &mut *share;
        for (k, (v, at)) in values
            .chunks_mut(plane)
            .zip(indices.chunks_mut(plane))
            .enumerate()
        {
            let p = i * per_share + k;
            pool_plane(x, strides, window, p / pooled[1], p % pooled[1], v, at);
        }
    };
    let threads = threads::num_threads();
    if len >= PARALLEL_MIN && threads > 1 && shares.len() > 1 {
        pool::run(shares.len(), threads, &job);
    } else {
        (0..shares.len()).for_each(job);
    }
    drop(shares);
    // SAFETY: the shares cover all `planes · plane = len` outputs, and `pool_plane` wrote every
    // value and index of each plane.
    unsafe {
        values.set_len(len);
        indices.set_len(len);
    }
    (values, indices)
}

/// The gradient of [`max_pool2d`] with respect to its input: a row-major `[N, C, H, W]` array
/// of zeros with each element of `grad` (row-major `[N, C, outH, outW]`) added at its index
/// from `indices`. Every index lies in its output's own plane, so the planes are filled in
/// shares on the worker pool.
///
/// # Panics
/// If `grad` and `indices` are not one per pooled output, or an index lies outside its plane.
pub fn max_pool2d_backward<E: Element>(grad: &[E], indices: &[usize], window: &Window2d) -> Vec<E> {
    let pooled = window.pooled_shape();
    let outputs: usize = pooled.iter().product();
    assert!(
        grad.len() == outputs && indices.len() == outputs,
        "max_pool2d_backward: {} gradients and {} indices for {outputs} outputs",
        grad.len(),
        indices.len()
    );
    let [_, _, h, w] = window.input;
    let len: usize = window.input.iter().product();
    let mut image = crate::buffers::take::<E>(len);
    let (plane_in, plane_out) = (h * w, pooled[2] * pooled[3]);
    if plane_in == 0 || plane_out == 0 {
        image.resize(len, E::zero());
        return image;
    }
    let planes = pooled[0] * pooled[1];
    let per_share = units_per_share(planes);
    // Each plane is zeroed just before its gradients are added, while it is in cache (and on
    // the share's own thread), rather than the whole image in one pass first.
    let fill = |first: usize, part: &mut [MaybeUninit<E>]| {
        for (k, plane) in part.chunks_mut(plane_in).enumerate() {
            let plane = zeroed(plane);
            let p = first + k;
            let base = p * plane_in;
            let range = p * plane_out..(p + 1) * plane_out;
            for (&g, &at) in grad[range.clone()].iter().zip(&indices[range]) {
                plane[at - base] += g;
            }
        }
    };
    let threads = threads::num_threads();
    let dst = &mut image.spare_capacity_mut()[..len];
    if len >= PARALLEL_MIN && threads > 1 && planes > 1 {
        let shares: Vec<Mutex<&mut [MaybeUninit<E>]>> = dst
            .chunks_mut(per_share * plane_in)
            .map(Mutex::new)
            .collect();
        pool::run(shares.len(), threads, &|i| {
            let mut part = shares[i].lock().unwrap_or_else(PoisonError::into_inner);
            fill(i * per_share, &mut part);
        });
    } else {
        fill(0, dst);
    }
    // SAFETY: the shares cover all `planes · plane_in = len` elements, and `fill` wrote each
    // plane whole.
    unsafe { image.set_len(len) };
    image
}

/// Pools plane `(n, c)` into the row-major `values` and `indices` of its outputs, writing every
/// one of them.
fn pool_plane<E: Element>(
    x: &[E],
    s: Strides4,
    w: &Window2d,
    n: usize,
    c: usize,
    values: &mut [MaybeUninit<E>],
    indices: &mut [MaybeUninit<usize>],
) {
    let [_, channels, h, wd] = w.input;
    let [oh, ow] = w.output_size();
    let [kh, kw] = w.kernel;
    let index_base = (n * channels + c) * h * wd;
    let base = s.at(n, c, 0, 0);
    let [_, _, sy, sx] = s.0;
    let plain =
        w.stride == [2, 2] && w.kernel == [2, 2] && w.padding == [0, 0] && w.dilation == [1, 1];
    #[cfg(target_arch = "x86_64")]
    if plain && sx == 1 && std::arch::is_x86_feature_detected!("avx512f") {
        let plane = &x[base..][..(2 * oh).saturating_sub(1) * sy + 2 * ow];
        if let (Some(plane), Some(values)) = (as_f32(plane), as_f32_out(values)) {
            // SAFETY: the CPU has AVX-512F (checked above); `plane` holds the `2·oh` input
            // rows, `sy` apart, of `2·ow` values each.
            unsafe {
                pool_plane_2x2_f32_avx512(plane, sy, [oh, ow], index_base, wd, values, indices)
            };
            return;
        }
    }
    if plain && sx == 1 {
        // The common 2×2 pooling of a row-major plane, without branches so that it vectorizes.
        with_best_simd(
            #[inline(always)]
            || {
                for oy in 0..oh {
                    let (r0, r1) = (base + 2 * oy * sy, base + (2 * oy + 1) * sy);
                    let (row0, row1) = (&x[r0..r0 + 2 * ow], &x[r1..r1 + 2 * ow]);
                    let top = index_base + 2 * oy * wd;
                    let outputs = values[oy * ow..][..ow]
                        .iter_mut()
                        .zip(&mut indices[oy * ow..][..ow]);
                    let windows = row0.chunks_exact(2).zip(row1.chunks_exact(2));
                    for (ox, ((v, at), (upper, lower))) in outputs.zip(windows).enumerate() {
                        let (best, offset) =
                            first_max([upper[0], upper[1], lower[0], lower[1]], [0, 1, wd, wd + 1]);
                        v.write(best);
                        at.write(top + 2 * ox + offset);
                    }
                }
            },
        );
        return;
    }
    if plain {
        // The same through any strides (a plane not stored row by row), column by column.
        for ox in 0..ow {
            let (c0, c1) = (base + 2 * ox * sx, base + (2 * ox + 1) * sx);
            for oy in 0..oh {
                let (y0, y1) = (2 * oy * sy, (2 * oy + 1) * sy);
                let (v, offset) = first_max(
                    [x[c0 + y0], x[c1 + y0], x[c0 + y1], x[c1 + y1]],
                    [0, 1, wd, wd + 1],
                );
                values[oy * ow + ox].write(v);
                indices[oy * ow + ox].write(index_base + 2 * oy * wd + 2 * ox + offset);
            }
        }
        return;
    }
    for oy in 0..oh {
        let rows = valid_range_taps(oy, w.stride[0], w.dilation[0], w.padding[0], kh, h);
        for ox in 0..ow {
            let cols = valid_range_taps(ox, w.stride[1], w.dilation[1], w.padding[1], kw, wd);
            // PyTorch starts from -inf at the first in-bounds tap.
            let mut best = E::neg_infinity();
            let mut best_at = usize::MAX;
            for i in rows.clone() {
                let y = oy * w.stride[0] + i * w.dilation[0] - w.padding[0];
                for j in cols.clone() {
                    let xx = ox * w.stride[1] + j * w.dilation[1] - w.padding[1];
                    let v = x[base + y * sy + xx * sx];
                    let flat = y * wd + xx;
                    if best_at == usize::MAX {
                        best_at = flat;
                    }
                    if v > best || v.is_nan() {
                        best = v;
                        best_at = flat;
                    }
                }
            }
            debug_assert!(best_at != usize::MAX, "a window entirely in the padding");
            values[oy * ow + ox].write(best);
            indices[oy * ow + ox].write(index_base + best_at);
        }
    }
}

/// A 2×2, stride-2 max pooling of an `f32` plane, 16 outputs of a row per step, as
/// [`first_max`] picks (a later tap wins only if it is larger or NaN): the `oh` pairs of input
/// rows of `plane` (`2·ow` values each, rows `sy` apart) into the row-major `values` and
/// `indices` (`oh·ow` each), the index of `plane[0]` being `top` and the input `wd` wide. (LLVM
/// does not vectorize the generic loop over pairs of values well.) A row shorter than 16
/// outputs is one masked step.
///
/// # Safety
/// The CPU must have AVX-512F; `plane` holds `(2·oh − 1)·sy + 2·ow` values, and `values` and
/// `indices` `oh·ow` each.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn pool_plane_2x2_f32_avx512(
    plane: &[f32],
    sy: usize,
    [oh, ow]: [usize; 2],
    top: usize,
    wd: usize,
    values: &mut [MaybeUninit<f32>],
    indices: &mut [MaybeUninit<usize>],
) {
    use std::arch::x86_64::*;
    debug_assert!(oh == 0 || plane.len() >= (2 * oh - 1) * sy + 2 * ow);
    debug_assert!(values.len() == oh * ow && indices.len() == oh * ow);
    debug_assert!(std::mem::size_of::<usize>() == 8 && u32::try_from(wd + 1).is_ok());
    // Lanes 0, 2, …, 30 and 1, 3, …, 31 of two vectors: the left and right taps of 16 windows.
    let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    let odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    let (one, wd32) = (_mm512_set1_epi32(1), _mm512_set1_epi32(wd as i32));
    let lane_offsets = [
        _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14),
        _mm512_setr_epi64(16, 18, 20, 22, 24, 26, 28, 30),
    ];
    for oy in 0..oh {
        let (row0, row1) = (
            &plane[2 * oy * sy..][..2 * ow],
            &plane[(2 * oy + 1) * sy..][..2 * ow],
        );
        let top = top + 2 * oy * wd;
        for ox in (0..ow).step_by(16) {
            let out = oy * ow + ox;
            let count = (ow - ox).min(16);
            // The lowest `n` of 16 lanes.
            let lowest = |n: usize| -> __mmask16 { ((1u32 << n.min(16)) - 1) as u16 };
            let outputs = lowest(count);
            // The `2·count` inputs of each row: the first 16 (fewer, masked) and the rest.
            let (first, second) = (lowest(2 * count), lowest((2 * count).saturating_sub(16)));
            let zero = _mm512_setzero_ps();
            // SAFETY: masked loads read only the lanes their mask selects, `2·count` values
            // from `2·ox`, inside each row; the second pointers are formed only when the rows
            // hold values past `2·ox + 16`.
            let ((a0, a1), (b0, b1)) = unsafe {
                let (r0, r1) = (row0.as_ptr().add(2 * ox), row1.as_ptr().add(2 * ox));
                let (a0, b0) = (
                    _mm512_maskz_loadu_ps(first, r0),
                    _mm512_maskz_loadu_ps(first, r1),
                );
                if count > 8 {
                    let a1 = _mm512_maskz_loadu_ps(second, r0.add(16));
                    ((a0, a1), (b0, _mm512_maskz_loadu_ps(second, r1.add(16))))
                } else {
                    ((a0, zero), (b0, zero))
                }
            };
            let taps = [
                _mm512_permutex2var_ps(a0, even, a1),
                _mm512_permutex2var_ps(a0, odd, a1),
                _mm512_permutex2var_ps(b0, even, b1),
                _mm512_permutex2var_ps(b0, odd, b1),
            ];
            let (mut best, mut tap) = (taps[0], _mm512_setzero_si512());
            for (k, &v) in taps.iter().enumerate().skip(1) {
                let take = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(v, best)
                    | _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(v, v);
                best = _mm512_mask_blend_ps(take, best, v);
                tap = _mm512_mask_blend_epi32(take, tap, _mm512_set1_epi32(k as i32));
            }
            // Tap k sits at (k & 1) + (k >> 1)·wd from the window's top-left input.
            let offset = _mm512_add_epi32(
                _mm512_and_si512(tap, one),
                _mm512_mullo_epi32(_mm512_srli_epi32::<1>(tap), wd32),
            );
            let halves = [
                _mm512_cvtepu32_epi64(_mm512_castsi512_si256(offset)),
                _mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64::<1>(offset)),
            ];
            let start = _mm512_set1_epi64((top + 2 * ox) as i64);
            // SAFETY: the stores write only the `count` lanes of `outputs`, outputs `ox..ox +
            // count` of `values` and `indices` (a `usize` is 8 bytes here, asserted above); the
            // pointer of the upper half of the indices is formed only when there are more than 8.
            unsafe {
                _mm512_mask_storeu_ps(values.as_mut_ptr().add(out).cast(), outputs, best);
                let at = indices.as_mut_ptr().add(out).cast::<i64>();
                let low = _mm512_add_epi64(_mm512_add_epi64(start, lane_offsets[0]), halves[0]);
                _mm512_mask_storeu_epi64(at, outputs as u8, low);
                if count > 8 {
                    let high =
                        _mm512_add_epi64(_mm512_add_epi64(start, lane_offsets[1]), halves[1]);
                    _mm512_mask_storeu_epi64(at.add(8), (outputs >> 8) as u8, high);
                }
            }
        }
    }
}

/// The largest of four taps in scan order and the offset (from `offsets`) of the one it took,
/// as PyTorch's kernel picks it: a later tap wins only if it is larger or NaN. Selects instead
/// of branches, so that a loop over windows vectorizes.
#[inline(always)]
fn first_max<E: Element>(taps: [E; 4], offsets: [usize; 4]) -> (E, usize) {
    let (mut best, mut offset) = (taps[0], offsets[0]);
    for t in 1..4 {
        let take = taps[t] > best || taps[t].is_nan();
        best = if take { taps[t] } else { best };
        offset = if take { offsets[t] } else { offset };
    }
    (best, offset)
}

/// The taps `t` (of `0..kernel`) of the window at output `o` whose input coordinate
/// `o·stride + t·dilation − padding` lies in `0..size`.
#[inline]
fn valid_range_taps(
    o: usize,
    stride: usize,
    dilation: usize,
    padding: usize,
    kernel: usize,
    size: usize,
) -> Range<usize> {
    let start = o * stride;
    // start + t·dilation ≥ padding
    let lo = padding.saturating_sub(start).div_ceil(dilation);
    // start + t·dilation < size + padding
    let hi = (size + padding).saturating_sub(start).div_ceil(dilation);
    lo.min(kernel)..hi.min(kernel).max(lo.min(kernel))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_range_keeps_taps_inside_the_input() {
        // 5 outputs, stride 1, padding 2, tap offset 0: input coordinate o − 2 must be in 0..5.
        assert_eq!(valid_range(5, 1, 0, 2, 5), 2..5);
        // Tap offset 4 (the last of a 5-wide kernel): o + 2 in 0..5.
        assert_eq!(valid_range(5, 1, 4, 2, 5), 0..3);
        // Stride 2, padding 1, offset 0: 2o − 1 in 0..6 for o in 1..3 (o = 3 gives 5).
        assert_eq!(valid_range(4, 2, 0, 1, 6), 1..4);
        // A tap that never lands inside gives an empty range.
        assert!(valid_range(2, 1, 9, 0, 3).is_empty());
    }

    #[test]
    fn im2col_layouts_hold_the_same_matrix_and_col2im_is_its_adjoint() {
        let window = Window2d::new([2, 2, 4, 5], [2, 3])
            .stride([2, 1])
            .padding([1, 1]);
        let x: Vec<f64> = (0..80).map(|v| v as f64).collect();
        let s = Strides4::row_major(window.input);
        let rm = im2col(&x, s, &window, Layout::RowMajor);
        let cm = im2col(&x, s, &window, Layout::ColMajor);
        let (rows, cols) = (window.patch_len(), window.positions());
        for r in 0..rows {
            for c in 0..cols {
                assert_eq!(rm[r * cols + c], cm[c * rows + r]);
            }
        }
        // <im2col(x), y> = <x, col2im(y)> for any y.
        let y: Vec<f64> = (0..rows * cols).map(|v| (v % 7) as f64 - 3.0).collect();
        let lhs: f64 = rm.iter().zip(&y).map(|(a, b)| a * b).sum();
        let back = col2im(&y, Layout::RowMajor, &window, s);
        let rhs: f64 = x.iter().zip(&back).map(|(a, b)| a * b).sum();
        assert_eq!(lhs, rhs);
    }

    /// `tap_row` over a buffer of NaNs (what a reused buffer may hold) equals the column-major
    /// patch matrix `patch_column` builds, for lines short enough for `short_line` and longer,
    /// with and without padding, dilation and stride, in both element types.
    #[test]
    fn patch_rows_overwrite_every_entry() {
        fn check<E: Element + std::fmt::Debug>(window: Window2d, value: impl Fn(usize) -> E) {
            let x: Vec<E> = (0..window.input.iter().product()).map(value).collect();
            let s = Strides4::row_major(window.input);
            let cm = im2col(&x, s, &window, Layout::ColMajor);
            let (rows, cols) = (window.patch_len(), window.positions());
            let mut out = vec![E::nan(); rows * cols];
            for (r, line) in out.chunks_mut(cols).enumerate() {
                tap_row(&x, s, &window, r, line);
            }
            for r in 0..rows {
                for c in 0..cols {
                    assert_eq!(out[r * cols + c], cm[c * rows + r], "{window:?} ({r}, {c})");
                }
            }
        }
        for (size, kernel, padding, dilation, stride) in [
            ([3, 1, 28, 28], 5, 2, 1, 1),
            ([3, 6, 14, 14], 5, 0, 1, 1),
            ([2, 3, 7, 7], 3, 1, 1, 1),
            ([2, 2, 9, 20], 3, 1, 2, 1),
            ([2, 2, 6, 40], 3, 2, 1, 1),
            ([2, 2, 8, 33], 4, 3, 1, 2),
            ([1, 1, 5, 3], 3, 4, 1, 1),
        ] {
            let window = Window2d::new(size, [kernel, kernel])
                .padding([padding, padding])
                .dilation([dilation, dilation])
                .stride([stride, stride]);
            check::<f32>(window, |v| v as f32 + 1.0);
            check::<f64>(window, |v| v as f64 - 7.5);
        }
    }

    #[test]
    fn max_pool_ties_go_to_the_first_and_nan_propagates() {
        let window = Window2d::new([1, 1, 2, 4], [2, 2]).stride([2, 2]);
        let x = [1.0, 3.0, f64::NAN, 0.0, 3.0, 2.0, 5.0, 5.0];
        let (v, i) = max_pool2d(&x, Strides4::row_major(window.input), &window);
        assert_eq!(v[0], 3.0);
        assert_eq!(i[0], 1);
        assert!(v[1].is_nan());
        assert_eq!(i[1], 2);
        // The same plane stored column by column takes the strided path: the same choices.
        let columns = [1.0, 3.0, 3.0, 2.0, f64::NAN, 5.0, 0.0, 5.0];
        let (vc, ic) = max_pool2d(&columns, Strides4([8, 8, 1, 2]), &window);
        assert_eq!((vc[0], ic[0]), (3.0, 1));
        assert!(vc[1].is_nan());
        assert_eq!(ic[1], 2);
    }
}
