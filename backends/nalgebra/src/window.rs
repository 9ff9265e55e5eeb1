//! Convolution patches and max pooling on duograd's shared CPU kernels
//! ([`duograd_cpu::window`]), reading and writing the matrices' column-major buffers directly.

use duograd_backend::window::Window2d;
use duograd_backend::{Element, Layout};
use duograd_cpu::channels::{self, Channels};
use duograd_cpu::conv;
use duograd_cpu::window::{self, Strides4};

use crate::NaTensor;

/// Where element `(n, c, y, x)` of an `[N, C, H, W]` tensor lies in its buffer: the tensor is
/// the `(N·C·H) × W` column-major matrix, so `x` is the slowest axis.
fn storage_strides([n, c, h, _]: [usize; 4]) -> Strides4 {
    Strides4([c * h, h, 1, n * c * h])
}

pub(crate) fn im2col<E: Element>(x: &NaTensor<E>, w: &Window2d) -> NaTensor<E> {
    // A 2-D tensor is its matrix: the column-major patch matrix is its buffer.
    let cols = window::im2col(x.storage(), storage_strides(w.input), w, Layout::ColMajor);
    NaTensor::from_storage(cols, &[w.patch_len(), w.positions()])
}

pub(crate) fn col2im<E: Element>(cols: &NaTensor<E>, w: &Window2d) -> NaTensor<E> {
    let image = window::col2im(
        cols.storage(),
        Layout::ColMajor,
        w,
        storage_strides(w.input),
    );
    NaTensor::from_storage(image, &w.input)
}

pub(crate) fn max_pool2d<E: Element>(x: &NaTensor<E>, w: &Window2d) -> (NaTensor<E>, Vec<usize>) {
    let pooled = w.pooled_shape();
    let (values, indices) = window::max_pool2d(x.storage(), storage_strides(w.input), w);
    (NaTensor::from_row_major(values, &pooled), indices)
}

/// The `[N, C, H, W]` (or `[O, C, kH, kW]`) shape of a 4-D tensor.
fn dims4<E: Element>(x: &NaTensor<E>) -> [usize; 4] {
    let s = x.shape();
    [s[0], s[1], s[2], s[3]]
}

// The kernels read the column-major buffers through their strides and write row-major
// results, which `from_row_major` lays out as matrices.

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
        storage_strides(w.input),
        &weight.to_row_major(),
        bias.map(NaTensor::storage),
        o,
        w,
    );
    let [oh, ow] = w.output_size();
    NaTensor::from_row_major(y, &[w.input[0], o, oh, ow])
}

pub(crate) fn conv2d_backward_input<E: Element>(
    grad: &NaTensor<E>,
    weight: &NaTensor<E>,
    w: &Window2d,
) -> NaTensor<E> {
    let o = weight.shape()[0];
    let gs = storage_strides(dims4(grad));
    let dx = conv::conv2d_backward_input(grad.storage(), gs, &weight.to_row_major(), o, w);
    NaTensor::from_row_major(dx, &w.input)
}

pub(crate) fn conv2d_backward_weight<E: Element>(
    grad: &NaTensor<E>,
    x: &NaTensor<E>,
    w: &Window2d,
) -> NaTensor<E> {
    let o = grad.shape()[1];
    let gs = storage_strides(dims4(grad));
    let dw = conv::conv2d_backward_weight(
        grad.storage(),
        gs,
        x.storage(),
        storage_strides(w.input),
        o,
        w,
    );
    NaTensor::from_row_major(dw, &[o, w.input[1], w.kernel[0], w.kernel[1]])
}

/// `a`'s layout for the per-channel kernels: its own buffer, through its storage strides.
fn channels_of<E: Element>(a: &NaTensor<E>) -> Channels {
    Channels::new(a.shape(), &crate::storage::storage_strides(a.shape()))
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

pub(crate) fn max_pool2d_backward<E: Element>(
    grad: &NaTensor<E>,
    indices: &[usize],
    w: &Window2d,
) -> NaTensor<E> {
    let g = grad.to_row_major();
    NaTensor::from_row_major(window::max_pool2d_backward(&g, indices, w), &w.input)
}
