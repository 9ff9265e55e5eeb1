//! Convolution patches and max pooling on duograd's shared CPU kernels
//! ([`duograd_cpu::window`]), reading the array's buffer in place when it is row-major.

use std::borrow::Cow;

use duograd_backend::window::Window2d;
use duograd_backend::{Element, Layout};
use duograd_cpu::channels::{self, Channels};
use duograd_cpu::conv;
use duograd_cpu::window::{self, Strides4};

use crate::{layout, Storage};

/// The row-major elements of a 4-D array: its own buffer when it is in standard layout, else a
/// copy.
fn row_major<E: Element>(x: &Storage<E>) -> Cow<'_, [E]> {
    match x.as_slice() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(layout::to_vec(x)),
    }
}

pub(crate) fn im2col<E: Element>(x: &Storage<E>, w: &Window2d) -> Storage<E> {
    let data = row_major(x);
    let cols = window::im2col(&data, Strides4::row_major(w.input), w, Layout::RowMajor);
    layout::from_vec(cols, &[w.patch_len(), w.positions()])
}

pub(crate) fn col2im<E: Element>(cols: &Storage<E>, w: &Window2d) -> Storage<E> {
    let data = row_major(cols);
    let image = window::col2im(&data, Layout::RowMajor, w, Strides4::row_major(w.input));
    layout::from_vec(image, &w.input)
}

pub(crate) fn max_pool2d<E: Element>(x: &Storage<E>, w: &Window2d) -> (Storage<E>, Vec<usize>) {
    let data = row_major(x);
    let pooled = w.pooled_shape();
    let (values, indices) = window::max_pool2d(&data, Strides4::row_major(w.input), w);
    (layout::from_vec(values, &pooled), indices)
}

/// The `[N, C, H, W]` (or `[O, C, kH, kW]`) shape of a 4-D array.
fn dims4<E: Element>(x: &Storage<E>) -> [usize; 4] {
    let s = x.shape();
    [s[0], s[1], s[2], s[3]]
}

pub(crate) fn conv2d<E: Element>(
    x: &Storage<E>,
    weight: &Storage<E>,
    bias: Option<&Storage<E>>,
    w: &Window2d,
) -> Storage<E> {
    let (data, wt) = (row_major(x), row_major(weight));
    let bias = bias.map(row_major);
    let o = weight.shape()[0];
    let y = conv::conv2d(
        &data,
        Strides4::row_major(w.input),
        &wt,
        bias.as_deref(),
        o,
        w,
    );
    let [oh, ow] = w.output_size();
    layout::from_vec(y, &[w.input[0], o, oh, ow])
}

pub(crate) fn conv2d_backward_input<E: Element>(
    grad: &Storage<E>,
    weight: &Storage<E>,
    w: &Window2d,
) -> Storage<E> {
    let (g, wt) = (row_major(grad), row_major(weight));
    let gs = Strides4::row_major(dims4(grad));
    let dx = conv::conv2d_backward_input(&g, gs, &wt, weight.shape()[0], w);
    layout::from_vec(dx, &w.input)
}

pub(crate) fn conv2d_backward_weight<E: Element>(
    grad: &Storage<E>,
    x: &Storage<E>,
    w: &Window2d,
) -> Storage<E> {
    let (g, data) = (row_major(grad), row_major(x));
    let o = grad.shape()[1];
    let gs = Strides4::row_major(dims4(grad));
    let dw = conv::conv2d_backward_weight(&g, gs, &data, Strides4::row_major(w.input), o, w);
    layout::from_vec(dw, &[o, w.input[1], w.kernel[0], w.kernel[1]])
}

pub(crate) fn conv2d_backward_weight_and_bias<E: Element>(
    grad: &Storage<E>,
    x: &Storage<E>,
    w: &Window2d,
) -> (Storage<E>, Storage<E>) {
    let (g, data) = (row_major(grad), row_major(x));
    let o = grad.shape()[1];
    let gs = Strides4::row_major(dims4(grad));
    let xs = Strides4::row_major(w.input);
    let (dw, db) = conv::conv2d_backward_weight_and_bias(&g, gs, &data, xs, o, w);
    (
        layout::from_vec(dw, &[o, w.input[1], w.kernel[0], w.kernel[1]]),
        layout::from_vec(db, &[o]),
    )
}

/// The row-major strides of `shape`.
fn row_major_strides(shape: &[usize]) -> Vec<usize> {
    duograd_backend::shape::strides(shape)
}

pub(crate) fn channel_sums<E: Element>(
    a: &Storage<E>,
    b: Option<&Storage<E>>,
) -> (Storage<E>, Storage<E>) {
    let v = Channels::new(a.shape(), &row_major_strides(a.shape()));
    let data = row_major(a);
    let other = b.map(row_major);
    let (s, p) = channels::channel_sums(&data, other.as_deref(), &v);
    let c = a.shape()[1];
    (layout::from_vec(s, &[c]), layout::from_vec(p, &[c]))
}

pub(crate) fn channel_affine<E: Element>(
    a: &Storage<E>,
    alpha: &Storage<E>,
    b: Option<(&Storage<E>, &Storage<E>)>,
    gamma: &Storage<E>,
) -> Storage<E> {
    let v = Channels::new(a.shape(), &row_major_strides(a.shape()));
    let data = row_major(a);
    let (alpha, gamma) = (row_major(alpha), row_major(gamma));
    let other = b.map(|(b, beta)| (row_major(b), row_major(beta)));
    let y = channels::channel_affine(
        &data,
        &alpha,
        other.as_ref().map(|(b, beta)| (&b[..], &beta[..])),
        &gamma,
        &v,
    );
    layout::from_vec(y, a.shape())
}

pub(crate) fn max_pool2d_backward<E: Element>(
    grad: &Storage<E>,
    indices: &[usize],
    w: &Window2d,
) -> Storage<E> {
    let g = row_major(grad);
    layout::from_vec(window::max_pool2d_backward(&g, indices, w), &w.input)
}
