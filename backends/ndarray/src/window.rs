//! Convolution patches and max pooling on duograd's shared CPU kernels
//! ([`duograd_cpu::window`]), reading the array's buffer in place when it is row-major.

use std::borrow::Cow;

use duograd_backend::window::Window2d;
use duograd_backend::{Element, Layout};
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
    let (values, indices) = window::max_pool2d(
        &data,
        Strides4::row_major(w.input),
        w,
        Strides4::row_major(pooled),
    );
    (layout::from_vec(values, &pooled), indices)
}
