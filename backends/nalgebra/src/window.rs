//! Convolution patches, convolutions, max pooling and the per-channel kernels on duograd's
//! shared CPU kernels ([`duograd_cpu::window`], [`duograd_cpu::conv`],
//! [`duograd_cpu::channels`]).
//!
//! A tensor of rank ≥ 3 stores its elements in row-major order, which is what these kernels
//! read and write: images, weights and gradients are handed over as their buffers with
//! row-major strides (the kernels then borrow them without a copy), and the row-major results
//! are wrapped as they are. Only the patch matrix of `im2col` / `col2im` is 2-D, hence
//! column-major.

use duograd_backend::window::Window2d;
use duograd_backend::{Element, Layout};
use duograd_cpu::channels::{self, Channels};
use duograd_cpu::conv;
use duograd_cpu::window::{self, Strides4};

use crate::storage::storage_strides;
use crate::NaTensor;

/// The `[N, C, H, W]` (or `[O, C, kH, kW]`) shape of a 4-D tensor.
fn dims4<E: Element>(x: &NaTensor<E>) -> [usize; 4] {
    let s = x.shape();
    assert_eq!(s.len(), 4, "expected a 4-D tensor, got shape {s:?}");
    [s[0], s[1], s[2], s[3]]
}

pub(crate) fn im2col<E: Element>(x: &NaTensor<E>, w: &Window2d) -> NaTensor<E> {
    // A 2-D tensor is its matrix: the column-major patch matrix is its buffer.
    let strides = Strides4::row_major(w.input);
    let cols = window::im2col(x.storage(), strides, w, Layout::ColMajor);
    NaTensor::from_storage(cols, &[w.patch_len(), w.positions()])
}

pub(crate) fn col2im<E: Element>(cols: &NaTensor<E>, w: &Window2d) -> NaTensor<E> {
    let strides = Strides4::row_major(w.input);
    let image = window::col2im(cols.storage(), Layout::ColMajor, w, strides);
    NaTensor::from_storage(image, &w.input)
}

pub(crate) fn max_pool2d<E: Element>(x: &NaTensor<E>, w: &Window2d) -> (NaTensor<E>, Vec<usize>) {
    let (values, indices) = window::max_pool2d(x.storage(), Strides4::row_major(w.input), w);
    (NaTensor::from_storage(values, &w.pooled_shape()), indices)
}

pub(crate) fn max_pool2d_backward<E: Element>(
    grad: &NaTensor<E>,
    indices: &[usize],
    w: &Window2d,
) -> NaTensor<E> {
    let dx = window::max_pool2d_backward(grad.storage(), indices, w);
    NaTensor::from_storage(dx, &w.input)
}

pub(crate) fn conv2d<E: Element>(
    x: &NaTensor<E>,
    weight: &NaTensor<E>,
    bias: Option<&NaTensor<E>>,
    w: &Window2d,
) -> NaTensor<E> {
    let o = weight.shape()[0];
    // A [O] bias is a 1×O row: its buffer is the O values in order.
    let y = conv::conv2d(
        x.storage(),
        Strides4::row_major(w.input),
        weight.storage(),
        bias.map(NaTensor::storage),
        o,
        w,
    );
    let [oh, ow] = w.output_size();
    NaTensor::from_storage(y, &[w.input[0], o, oh, ow])
}

pub(crate) fn conv2d_backward_input<E: Element>(
    grad: &NaTensor<E>,
    weight: &NaTensor<E>,
    w: &Window2d,
) -> NaTensor<E> {
    let o = weight.shape()[0];
    let gs = Strides4::row_major(dims4(grad));
    let dx = conv::conv2d_backward_input(grad.storage(), gs, weight.storage(), o, w);
    NaTensor::from_storage(dx, &w.input)
}

pub(crate) fn conv2d_backward_weight<E: Element>(
    grad: &NaTensor<E>,
    x: &NaTensor<E>,
    w: &Window2d,
) -> NaTensor<E> {
    let o = grad.shape()[1];
    let dw = conv::conv2d_backward_weight(
        grad.storage(),
        Strides4::row_major(dims4(grad)),
        x.storage(),
        Strides4::row_major(w.input),
        o,
        w,
    );
    NaTensor::from_storage(dw, &[o, w.input[1], w.kernel[0], w.kernel[1]])
}

pub(crate) fn conv2d_backward_weight_and_bias<E: Element>(
    grad: &NaTensor<E>,
    x: &NaTensor<E>,
    w: &Window2d,
) -> (NaTensor<E>, NaTensor<E>) {
    let o = grad.shape()[1];
    let (dw, db) = conv::conv2d_backward_weight_and_bias(
        grad.storage(),
        Strides4::row_major(dims4(grad)),
        x.storage(),
        Strides4::row_major(w.input),
        o,
        w,
    );
    (
        NaTensor::from_storage(dw, &[o, w.input[1], w.kernel[0], w.kernel[1]]),
        NaTensor::from_storage(db, &[o]),
    )
}

/// `a`'s layout for the per-channel kernels: its own buffer, through its storage strides
/// (row-major for rank ≥ 3, column-major for a `[N, C]` matrix).
fn channels_of<E: Element>(a: &NaTensor<E>) -> Channels {
    Channels::new(a.shape(), &storage_strides(a.shape()))
}

pub(crate) fn channel_sums<E: Element>(
    a: &NaTensor<E>,
    b: Option<&NaTensor<E>>,
) -> (NaTensor<E>, NaTensor<E>) {
    let (s, p) = channels::channel_sums(a.storage(), b.map(NaTensor::storage), &channels_of(a));
    let c = a.shape()[1];
    (
        NaTensor::from_storage(s, &[c]),
        NaTensor::from_storage(p, &[c]),
    )
}

pub(crate) fn channel_affine<E: Element>(
    a: &NaTensor<E>,
    alpha: &NaTensor<E>,
    b: Option<(&NaTensor<E>, &NaTensor<E>)>,
    gamma: &NaTensor<E>,
) -> NaTensor<E> {
    // A [C] tensor is a 1×C row: its buffer is the C values in order.
    let y = channels::channel_affine(
        a.storage(),
        alpha.storage(),
        b.map(|(b, beta)| (b.storage(), beta.storage())),
        gamma.storage(),
        &channels_of(a),
    );
    NaTensor::from_storage(y, a.shape())
}
