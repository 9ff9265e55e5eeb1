//! The [ndarray] backend for duograd.
//!
//! [`NdArray<E>`] implements [`duograd_backend::Backend`] with
//! [`ArcArray<E, IxDyn>`](ndarray::ArcArray) storage: clones share the buffer, layout changes
//! (`permute`, `narrow`, most `reshape`s) are views that copy nothing, and the in-place methods
//! copy a buffer only while it is shared. The scalar arithmetic comes from duograd's
//! [`kernel`](duograd_cpu::kernel) module; this crate only decides how to walk the arrays.
//!
//! ```
//! use duograd_backend::{Backend, BinaryOp, ReduceOp};
//! use duograd_ndarray::NdArray;
//!
//! type B = NdArray<f64>;
//! let x = B::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
//! let bias = B::from_vec(vec![10.0, 20.0, 30.0], &[3]);
//! let y = B::binary(&x, &bias, BinaryOp::Add); // broadcast over the rows
//! assert_eq!(B::to_vec(&y), vec![11.0, 22.0, 33.0, 14.0, 25.0, 36.0]);
//!
//! let row_sums = B::reduce(&y, &[1], false, ReduceOp::Sum);
//! assert_eq!(B::shape(&row_sums), vec![2]);
//! assert_eq!(B::to_vec(&row_sums), vec![66.0, 75.0]);
//!
//! // x · xᵀ without materializing the transpose.
//! let gram = B::matmul(&x, &x, false, true);
//! assert_eq!(B::to_vec(&gram), vec![14.0, 32.0, 32.0, 77.0]);
//! ```
//!
//! Matrix products go to duograd's shared kernel ([`duograd_cpu::gemm`]) on the arrays' own
//! buffers and strides; large ones use [`duograd_cpu::threads::num_threads`] threads
//! (`DUOGRAD_THREADS`).
#![warn(missing_docs)]

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use duograd_backend::window::Window2d;
use duograd_backend::{
    composed, AdamStep, Backend, BinaryOp, CrossEntropyForward, Element, Layout, MomentumStep,
    ReduceOp, Reduction, UnaryOp,
};
use duograd_cpu::loss::{self, Logits};
use ndarray::{ArcArray, IxDyn, LinalgScalar};

mod elementwise;
mod indexing;
mod layout;
mod matmul;
mod rank;
mod reduce;
mod strided;
mod window;

/// The storage of [`NdArray<E>`]: a reference-counted, dynamically ranked ndarray.
pub type Storage<E> = ArcArray<E, IxDyn>;

/// The ndarray backend: a zero-sized marker type implementing [`Backend`] for `f32` and `f64`.
pub struct NdArray<E> {
    _elem: PhantomData<E>,
}

// Manual impls: derives would require `E: Clone`/`E: Default`/... for a zero-sized marker.
impl<E> Clone for NdArray<E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E> Copy for NdArray<E> {}

impl<E> Default for NdArray<E> {
    fn default() -> Self {
        NdArray { _elem: PhantomData }
    }
}

impl<E: Element> fmt::Debug for NdArray<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NdArray<{}>", E::NAME)
    }
}

impl<E: Element + LinalgScalar> Backend for NdArray<E> {
    type Elem = E;
    type Storage = Storage<E>;

    fn name() -> &'static str {
        "ndarray"
    }

    fn from_vec(data: Vec<E>, shape: &[usize]) -> Storage<E> {
        layout::from_vec(data, shape)
    }

    fn full(shape: &[usize], value: E) -> Storage<E> {
        layout::full(shape, value)
    }

    fn shape(x: &Storage<E>) -> Vec<usize> {
        x.shape().to_vec()
    }

    fn to_vec(x: &Storage<E>) -> Vec<E> {
        layout::to_vec(x)
    }

    fn recycle(x: Storage<E>) {
        // Only a buffer no other array shares (a clone or a view of it) is kept.
        if let Ok(owned) = x.try_into_owned_nocopy() {
            duograd_cpu::buffers::recycle(owned.into_raw_vec_and_offset().0);
        }
    }

    fn unary(x: &Storage<E>, op: UnaryOp<E>) -> Storage<E> {
        elementwise::unary(x, op)
    }

    fn binary(a: &Storage<E>, b: &Storage<E>, op: BinaryOp) -> Storage<E> {
        elementwise::binary(a, b, op)
    }

    fn axpy_in_place(dst: &mut Storage<E>, alpha: E, src: &Storage<E>) {
        elementwise::axpy_in_place(dst, alpha, src)
    }

    fn unary_in_place(dst: &mut Storage<E>, op: UnaryOp<E>) {
        elementwise::unary_in_place(dst, op)
    }

    fn reduce(x: &Storage<E>, axes: &[usize], keepdim: bool, op: ReduceOp) -> Storage<E> {
        reduce::reduce(x, axes, keepdim, op)
    }

    fn argmax(x: &Storage<E>, axis: usize) -> Vec<usize> {
        reduce::argmax(x, axis)
    }

    fn reshape(x: &Storage<E>, shape: &[usize]) -> Storage<E> {
        layout::reshape(x, shape)
    }

    fn permute(x: &Storage<E>, perm: &[usize]) -> Storage<E> {
        layout::permute(x, perm)
    }

    fn expand(x: &Storage<E>, shape: &[usize]) -> Storage<E> {
        layout::expand(x, shape)
    }

    fn concat(xs: &[Storage<E>], axis: usize) -> Storage<E> {
        layout::concat(xs, axis)
    }

    fn narrow(x: &Storage<E>, axis: usize, start: usize, len: usize) -> Storage<E> {
        layout::narrow(x, axis, start, len)
    }

    fn take(x: &Storage<E>, indices: &[usize]) -> Storage<E> {
        indexing::take(x, indices)
    }

    fn scatter_add(shape: &[usize], indices: &[usize], src: &Storage<E>) -> Storage<E> {
        indexing::scatter_add(shape, indices, src)
    }

    fn matmul(a: &Storage<E>, b: &Storage<E>, transpose_a: bool, transpose_b: bool) -> Storage<E> {
        matmul::matmul(a, b, transpose_a, transpose_b)
    }

    fn matmul_bias(
        a: &Storage<E>,
        b: &Storage<E>,
        bias: &Storage<E>,
        transpose_a: bool,
        transpose_b: bool,
    ) -> Storage<E> {
        // A bias that is not contiguous (a strided view) is copied: it is one row long.
        let values = bias
            .as_slice()
            .map_or_else(|| Cow::Owned(bias.iter().copied().collect()), Cow::Borrowed);
        matmul::product(a, b, Some(&values), transpose_a, transpose_b)
    }

    fn im2col(x: &Storage<E>, w: &Window2d) -> Storage<E> {
        window::im2col(x, w)
    }

    fn col2im(cols: &Storage<E>, w: &Window2d) -> Storage<E> {
        window::col2im(cols, w)
    }

    fn conv2d(
        x: &Storage<E>,
        weight: &Storage<E>,
        bias: Option<&Storage<E>>,
        w: &Window2d,
    ) -> Storage<E> {
        window::conv2d(x, weight, bias, w)
    }

    fn conv2d_backward_input(grad: &Storage<E>, weight: &Storage<E>, w: &Window2d) -> Storage<E> {
        window::conv2d_backward_input(grad, weight, w)
    }

    fn conv2d_backward_weight(grad: &Storage<E>, x: &Storage<E>, w: &Window2d) -> Storage<E> {
        window::conv2d_backward_weight(grad, x, w)
    }

    fn conv2d_backward_weight_and_bias(
        grad: &Storage<E>,
        x: &Storage<E>,
        w: &Window2d,
    ) -> (Storage<E>, Storage<E>) {
        window::conv2d_backward_weight_and_bias(grad, x, w)
    }

    fn channel_sums(a: &Storage<E>, b: Option<&Storage<E>>) -> (Storage<E>, Storage<E>) {
        window::channel_sums(a, b)
    }

    fn channel_affine(
        a: &Storage<E>,
        alpha: &Storage<E>,
        b: Option<(&Storage<E>, &Storage<E>)>,
        gamma: &Storage<E>,
    ) -> Storage<E> {
        window::channel_affine(a, alpha, b, gamma)
    }

    fn max_pool2d_backward(grad: &Storage<E>, indices: &[usize], w: &Window2d) -> Storage<E> {
        window::max_pool2d_backward(grad, indices, w)
    }

    fn max_pool2d(x: &Storage<E>, w: &Window2d) -> (Storage<E>, Vec<usize>) {
        window::max_pool2d(x, w)
    }

    fn cross_entropy(
        logits: &Storage<E>,
        labels: &[usize],
        reduction: Reduction,
    ) -> CrossEntropyForward<Storage<E>> {
        let (batch, classes) = (labels.len(), logits.shape()[1]);
        let shape = Logits {
            batch,
            classes,
            layout: Layout::RowMajor,
        };
        let (exps, sums, loss) = loss::cross_entropy_rows(layout::to_vec(logits), shape, labels);
        CrossEntropyForward {
            loss: layout::from_vec(
                loss::reduce_losses(loss, reduction),
                &loss::loss_shape(reduction, batch),
            ),
            exps: layout::from_vec(exps, &[batch, classes]),
            sums: layout::from_vec(sums, &[batch]),
        }
    }

    fn cross_entropy_backward(
        forward: &CrossEntropyForward<Storage<E>>,
        labels: &[usize],
        reduction: Reduction,
        grad: &Storage<E>,
    ) -> Storage<E> {
        let (batch, classes) = (labels.len(), forward.exps.shape()[1]);
        let shape = Logits {
            batch,
            classes,
            layout: Layout::RowMajor,
        };
        // A copy of the `exps`: they stay valid for another backward.
        let grad = loss::cross_entropy_grad_rows(
            layout::to_vec(&forward.exps),
            shape,
            &values(&forward.sums),
            labels,
            reduction,
            &values(grad),
        );
        layout::from_vec(grad, &[batch, classes])
    }

    fn sgd_momentum_step(
        param: &mut Storage<E>,
        buffer: &mut Storage<E>,
        grad: &Storage<E>,
        step: &MomentumStep,
    ) {
        // The fused loop zips the buffers, so all three must list their elements in the same
        // (standard) order; other layouts take the composed steps.
        if let (Some(p), Some(b), Some(g)) =
            (standard_mut(param), standard_mut(buffer), grad.as_slice())
        {
            return duograd_cpu::optim::sgd_momentum(p, b, g, step);
        }
        composed::sgd_momentum_step::<Self>(param, buffer, grad, step);
    }

    fn adam_step(
        param: &mut Storage<E>,
        exp_avg: &mut Storage<E>,
        exp_avg_sq: &mut Storage<E>,
        grad: &Storage<E>,
        step: &AdamStep,
    ) {
        if let (Some(p), Some(m), Some(v), Some(g)) = (
            standard_mut(param),
            standard_mut(exp_avg),
            standard_mut(exp_avg_sq),
            grad.as_slice(),
        ) {
            return duograd_cpu::optim::adam(p, m, v, g, step);
        }
        composed::adam_step::<Self>(param, exp_avg, exp_avg_sq, grad, step);
    }
}

/// The elements in row-major order: borrowed when the array is stored that way, else copied.
fn values<E: Element>(x: &Storage<E>) -> Cow<'_, [E]> {
    x.as_slice()
        .map_or_else(|| Cow::Owned(layout::to_vec(x)), Cow::Borrowed)
}

/// The elements of an array in standard (row-major) layout as one slice, made unique first if
/// the buffer is shared; `None` for any other layout.
fn standard_mut<E: Clone>(x: &mut Storage<E>) -> Option<&mut [E]> {
    if !x.is_standard_layout() {
        return None;
    }
    x.as_slice_mut()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_backend<B: Backend>() {}

    #[test]
    fn marker_traits_hold_for_both_element_types() {
        assert_backend::<NdArray<f32>>();
        assert_backend::<NdArray<f64>>();
        assert_eq!(std::mem::size_of::<NdArray<f64>>(), 0);
        assert_eq!(format!("{:?}", NdArray::<f32>::default()), "NdArray<f32>");
        assert_eq!(<NdArray<f32> as Backend>::name(), "ndarray");
    }

    #[test]
    fn shape_of_scalar_is_empty() {
        let s = <NdArray<f64> as Backend>::full(&[], 2.5);
        assert_eq!(<NdArray<f64> as Backend>::shape(&s), Vec::<usize>::new());
        assert_eq!(<NdArray<f64> as Backend>::to_vec(&s), vec![2.5]);
    }
}
