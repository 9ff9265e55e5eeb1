//! Convolution patches and max pooling on duograd's shared CPU kernels
//! ([`duograd_cpu::window`]), reading and writing the matrices' column-major buffers directly.

use duograd_backend::window::Window2d;
use duograd_backend::{Element, Layout};
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
    let (values, indices) = window::max_pool2d(
        x.storage(),
        storage_strides(w.input),
        w,
        storage_strides(pooled),
    );
    (NaTensor::from_storage(values, &pooled), indices)
}
