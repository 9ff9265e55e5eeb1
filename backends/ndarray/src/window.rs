//! Convolution patches and max pooling on duograd's shared CPU kernels
//! ([`duograd_cpu::window`]), reading the array's buffer in place when it is row-major.

use std::borrow::Cow;

use duograd_backend::window::Window2d;
use duograd_backend::{Element, Layout};
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

pub(crate) fn conv2d<E: Element>(x: &Storage<E>, weight: &Storage<E>, w: &Window2d) -> Storage<E> {
    let (data, wt) = (row_major(x), row_major(weight));
    let o = weight.shape()[0];
    let y = conv::conv2d(&data, Strides4::row_major(w.input), &wt, o, w);
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
