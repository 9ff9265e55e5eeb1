//! # duograd-nalgebra
//!
//! The [nalgebra](https://nalgebra.org) backend for duograd: [`Nalgebra<E>`] implements
//! [`duograd_backend::Backend`] for `E = f32` or `f64`, storing every tensor in a real nalgebra
//! [`DMatrix`] behind an `Arc` ([`NaTensor`]), so clones are cheap and the
//! storage is `Send + Sync`.
//!
//! ## Layout
//!
//! Up to rank 2, a tensor is the obvious matrix ([`matrix_dims`]): a scalar `[]` is `1×1`, a
//! rank-1 tensor `[n]` is a `1×n` row, and **a 2-D tensor `[r, c]` is exactly its `r×c`
//! matrix**: `matmul` is a matrix product on nalgebra's column-major buffers, a transpose is
//! nalgebra's `transpose`, and [`NaTensor::matrix`] / [`NaTensor::from_matrix`] interoperate with
//! ordinary nalgebra code.
//!
//! A tensor of rank ≥ 3, `[d0, …, dk]`, is the `DMatrix` with `dk` rows and `d0·…·d(k-1)`
//! columns: tensor element `(i0, …, ik)` is matrix element `(ik, c)` where `c` is the row-major
//! index of `(i0, …, i(k-1))` in `[d0, …, d(k-1)]`. Since nalgebra is column-major, the matrix's
//! buffer is then exactly the tensor's row-major order, the one the image kernels (convolution,
//! pooling, batch norm) and duograd's flat data use: `from_vec` / `to_vec` of an `[N, C, H, W]`
//! batch copy nothing, and the kernels read and write the buffers as they are.
//!
//! So only 2-D tensors with several rows and columns hold their elements in another order than
//! row-major: their `from_vec` / `to_vec` transpose (a 16×16-tiled copy), and a `reshape`
//! between a matrix and a tensor of another shape goes through one such transpose (two between
//! two matrices of different dimensions). A `reshape` among row-major layouts (rank ≥ 3, rank
//! ≤ 1, or matrices with one row or column) reuses the buffer, sharing the matrix when its
//! dimensions do not change (e.g. `[2, 3, 4]` ↔ `[6, 1, 4]`).
//!
//! ## Kernels
//!
//! | method | nalgebra kernel | own kernel / N-d fallback |
//! | --- | --- | --- |
//! | `unary`, `unary_in_place` | `map`, `apply` | — |
//! | `binary`, same shape | `+`, `-`, `zip_map` | — |
//! | `binary`, broadcast | column iteration for full / per-column / per-row / scalar operands (the bias add) | strided runs (`(2, 3, 4) * (3, 1)`, `(N, C, H, W) + (C, 1, 1)`, …) |
//! | `axpy_in_place` | `axpy` on the whole buffer | — |
//! | `reduce` | `column_sum` (2-D, axis 1) | 8-lane sums of contiguous columns (axis 0, all axes); contiguous loops on the storage-order view (row-major for rank ≥ 3); an index walk for interleaved axes |
//! | `argmax` | — | contiguous loops on the storage-order view |
//! | `permute` | — | tiled transpose (2-D); strided gather (rank ≥ 3) |
//! | `reshape` | `reshape_generic` (between row-major layouts) | shared matrix when the matrix is unchanged; one tiled transpose to or from a matrix |
//! | `expand` | — | column fills; strided gather |
//! | `concat`, `narrow` | — | contiguous block copies |
//! | `take`, `scatter_add` | — | flat row-major index → buffer offset (the same but for matrices) |
//! | `conv2d` and its gradients, `max_pool2d`, `im2col`, `col2im`, `channel_sums`, `channel_affine` | — | duograd's shared kernels ([`duograd_cpu::conv`], [`duograd_cpu::window`], [`duograd_cpu::channels`]) on the row-major buffers |
//! | `matmul` | — | duograd's shared kernel ([`duograd_cpu::gemm`]) on the column-major buffer (see below) |
//!
//! Where an nalgebra kernel exists but is not used, it walks or folds one element at a time,
//! where the same 2-D operation can use the caches or the SIMD lanes: `transpose` and
//! `from_row_slice` (element-by-element walks; replaced by a 16×16-tiled copy for `from_vec`,
//! `to_vec` and 2-D `permute`), and `row_sum` / `sum` (sequential folds; replaced by an
//! 8-accumulator sum).
//!
//! `matmul` hands the column-major buffers to duograd's shared kernel with their strides
//! (swapped for a transposed operand), so `Aᵀ·B`, `A·Bᵀ` and `Aᵀ·Bᵀ` copy nothing. nalgebra's
//! `gemm` (matrixmultiply for large products, a per-column `gemv` below 6 rows or columns that
//! misreads strided left operands) and its `tr_mul` / `gemm_tr` (one dot product per output
//! element, with no blocking for the caches) are not used.
//!
//! Max/Min reductions and `BinaryOp::Maximum`/`Minimum` propagate NaN; `argmax` gives ties to
//! the first index and treats NaN as the maximum. In-place methods copy the matrix only if it
//! is shared (`Arc::make_mut`).
//!
//! ## Example
//!
//! ```
//! use duograd_backend::{Backend, BinaryOp, ReduceOp};
//! use duograd_nalgebra::Nalgebra;
//!
//! type B = Nalgebra<f64>;
//! let x = B::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
//! let bias = B::from_vec(vec![10.0, 20.0, 30.0], &[3]);
//! let y = B::binary(&x, &bias, BinaryOp::Add); // (2, 3) + (3,)
//! assert_eq!(B::to_vec(&y), vec![11.0, 22.0, 33.0, 14.0, 25.0, 36.0]);
//!
//! // The storage is the nalgebra matrix itself.
//! assert_eq!(y.matrix()[(1, 0)], 14.0);
//!
//! // From rank 3 on, the matrix's column-major buffer is the row-major data.
//! let z = B::from_vec((0..24).map(f64::from).collect(), &[2, 3, 4]);
//! assert_eq!(z.matrix().shape(), (4, 6));
//! assert_eq!(z.matrix()[(1, 4)], 17.0); // element (1, 1, 1)
//! assert_eq!(z.matrix().as_slice(), B::to_vec(&z).as_slice());
//!
//! // xᵀ · x without materializing the transpose.
//! let g = B::matmul(&x, &x, true, false);
//! assert_eq!(B::shape(&g), vec![3, 3]);
//! assert_eq!(B::to_vec(&g)[0], 1.0 * 1.0 + 4.0 * 4.0);
//!
//! let col_sums = B::reduce(&y, &[0], false, ReduceOp::Sum);
//! assert_eq!(B::to_vec(&col_sums), vec![25.0, 47.0, 69.0]);
//! ```
#![warn(missing_docs)]

use std::fmt;
use std::marker::PhantomData;

use duograd_backend::window::Window2d;
use duograd_backend::{
    AdamStep, Backend, BinaryOp, CrossEntropyForward, Element, Layout, MomentumStep, ReduceOp,
    Reduction, UnaryOp,
};
use duograd_cpu::loss::{self, Logits};
use nalgebra::DMatrix;

mod elementwise;
mod layout;
mod matmul;
mod reduce;
mod storage;
mod strided;
mod window;

pub use storage::{matrix_dims, NaTensor};

/// The nalgebra backend: a zero-sized marker type implementing [`Backend`] with
/// [`NaTensor<E>`] storage.
///
/// ```
/// use duograd_backend::Backend;
/// use duograd_nalgebra::Nalgebra;
/// assert_eq!(Nalgebra::<f32>::name(), "nalgebra");
/// ```
pub struct Nalgebra<E>(PhantomData<E>);

// Manual impls: derives would require `E: Clone` etc. of the marker's parameter.
impl<E> Clone for Nalgebra<E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E> Copy for Nalgebra<E> {}

impl<E> Default for Nalgebra<E> {
    fn default() -> Self {
        Nalgebra(PhantomData)
    }
}

impl<E> fmt::Debug for Nalgebra<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Nalgebra")
    }
}

impl<E: Element> Backend for Nalgebra<E> {
    type Elem = E;
    type Storage = NaTensor<E>;

    fn name() -> &'static str {
        "nalgebra"
    }

    fn from_vec(data: Vec<E>, shape: &[usize]) -> NaTensor<E> {
        NaTensor::from_row_major(data, shape)
    }

    fn layout_2d() -> Layout {
        Layout::ColMajor
    }

    fn from_vec_2d(data: Vec<E>, shape: [usize; 2], layout: Layout) -> NaTensor<E> {
        match layout {
            Layout::RowMajor => NaTensor::from_row_major(data, &shape),
            Layout::ColMajor => NaTensor::from_storage(data, &shape),
        }
    }

    fn full(shape: &[usize], value: E) -> NaTensor<E> {
        let (rows, cols) = matrix_dims(shape);
        NaTensor::from_storage(vec![value; rows * cols], shape)
    }

    fn shape(x: &NaTensor<E>) -> Vec<usize> {
        x.shape().to_vec()
    }

    fn to_vec(x: &NaTensor<E>) -> Vec<E> {
        x.to_row_major()
    }

    fn recycle(x: NaTensor<E>) {
        if let Some(buffer) = x.into_buffer() {
            duograd_cpu::buffers::recycle(buffer);
        }
    }

    fn unary(x: &NaTensor<E>, op: UnaryOp<E>) -> NaTensor<E> {
        elementwise::unary(x, op)
    }

    fn binary(a: &NaTensor<E>, b: &NaTensor<E>, op: BinaryOp) -> NaTensor<E> {
        elementwise::binary(a, b, op)
    }

    fn axpy_in_place(dst: &mut NaTensor<E>, alpha: E, src: &NaTensor<E>) {
        elementwise::axpy_in_place(dst, alpha, src)
    }

    fn unary_in_place(dst: &mut NaTensor<E>, op: UnaryOp<E>) {
        elementwise::unary_in_place(dst, op)
    }

    fn im2col(x: &NaTensor<E>, w: &Window2d) -> NaTensor<E> {
        window::im2col(x, w)
    }

    fn col2im(cols: &NaTensor<E>, w: &Window2d) -> NaTensor<E> {
        window::col2im(cols, w)
    }

    fn conv2d(
        x: &NaTensor<E>,
        weight: &NaTensor<E>,
        bias: Option<&NaTensor<E>>,
        w: &Window2d,
    ) -> NaTensor<E> {
        window::conv2d(x, weight, bias, w)
    }

    fn conv2d_backward_input(
        grad: &NaTensor<E>,
        weight: &NaTensor<E>,
        w: &Window2d,
    ) -> NaTensor<E> {
        window::conv2d_backward_input(grad, weight, w)
    }

    fn conv2d_backward_weight(grad: &NaTensor<E>, x: &NaTensor<E>, w: &Window2d) -> NaTensor<E> {
        window::conv2d_backward_weight(grad, x, w)
    }

    fn conv2d_backward_weight_and_bias(
        grad: &NaTensor<E>,
        x: &NaTensor<E>,
        w: &Window2d,
    ) -> (NaTensor<E>, NaTensor<E>) {
        window::conv2d_backward_weight_and_bias(grad, x, w)
    }

    fn channel_sums(a: &NaTensor<E>, b: Option<&NaTensor<E>>) -> (NaTensor<E>, NaTensor<E>) {
        window::channel_sums(a, b)
    }

    fn channel_affine(
        a: &NaTensor<E>,
        alpha: &NaTensor<E>,
        b: Option<(&NaTensor<E>, &NaTensor<E>)>,
        gamma: &NaTensor<E>,
    ) -> NaTensor<E> {
        window::channel_affine(a, alpha, b, gamma)
    }

    fn max_pool2d_backward(grad: &NaTensor<E>, indices: &[usize], w: &Window2d) -> NaTensor<E> {
        window::max_pool2d_backward(grad, indices, w)
    }

    fn max_pool2d(x: &NaTensor<E>, w: &Window2d) -> (NaTensor<E>, Vec<usize>) {
        window::max_pool2d(x, w)
    }

    // The logits' matrix is `batch × classes`, column-major: the kernels work on that buffer as
    // it is, and the `exps` and the gradient come back in it, with no transpose.
    fn cross_entropy(
        logits: &NaTensor<E>,
        labels: &[usize],
        reduction: Reduction,
    ) -> CrossEntropyForward<NaTensor<E>> {
        let (batch, classes) = (labels.len(), logits.shape()[1]);
        let shape = Logits {
            batch,
            classes,
            layout: Layout::ColMajor,
        };
        let buffer = logits.matrix().as_slice().to_vec();
        let (exps, sums, loss) = loss::cross_entropy_rows(buffer, shape, labels);
        CrossEntropyForward {
            // One row each: the same order in both layouts.
            loss: NaTensor::from_row_major(
                loss::reduce_losses(loss, reduction),
                &loss::loss_shape(reduction, batch),
            ),
            exps: NaTensor::from_matrix(DMatrix::from_vec(batch, classes, exps)),
            sums: NaTensor::from_row_major(sums, &[batch]),
        }
    }

    fn cross_entropy_backward(
        forward: &CrossEntropyForward<NaTensor<E>>,
        labels: &[usize],
        reduction: Reduction,
        grad: &NaTensor<E>,
    ) -> NaTensor<E> {
        let (batch, classes) = (labels.len(), forward.exps.shape()[1]);
        let shape = Logits {
            batch,
            classes,
            layout: Layout::ColMajor,
        };
        // A copy of the `exps`: they stay valid for another backward. `sums` and `grad` are
        // vectors or scalars, whose buffers are in row-major order.
        let grad = loss::cross_entropy_grad_rows(
            forward.exps.matrix().as_slice().to_vec(),
            shape,
            forward.sums.matrix().as_slice(),
            labels,
            reduction,
            grad.matrix().as_slice(),
        );
        NaTensor::from_matrix(DMatrix::from_vec(batch, classes, grad))
    }

    // Every tensor of a given shape stores its elements in the same (column-major) order, so
    // the fused loops may zip the buffers.
    fn sgd_momentum_step(
        param: &mut NaTensor<E>,
        buffer: &mut NaTensor<E>,
        grad: &NaTensor<E>,
        step: &MomentumStep,
    ) {
        duograd_cpu::optim::sgd_momentum(
            param.matrix_mut().as_mut_slice(),
            buffer.matrix_mut().as_mut_slice(),
            grad.matrix().as_slice(),
            step,
        );
    }

    fn adam_step(
        param: &mut NaTensor<E>,
        exp_avg: &mut NaTensor<E>,
        exp_avg_sq: &mut NaTensor<E>,
        grad: &NaTensor<E>,
        step: &AdamStep,
    ) {
        duograd_cpu::optim::adam(
            param.matrix_mut().as_mut_slice(),
            exp_avg.matrix_mut().as_mut_slice(),
            exp_avg_sq.matrix_mut().as_mut_slice(),
            grad.matrix().as_slice(),
            step,
        );
    }

    fn reduce(x: &NaTensor<E>, axes: &[usize], keepdim: bool, op: ReduceOp) -> NaTensor<E> {
        reduce::reduce(x, axes, keepdim, op)
    }

    fn argmax(x: &NaTensor<E>, axis: usize) -> Vec<usize> {
        reduce::argmax(x, axis)
    }

    fn reshape(x: &NaTensor<E>, shape: &[usize]) -> NaTensor<E> {
        layout::reshape(x, shape)
    }

    fn permute(x: &NaTensor<E>, perm: &[usize]) -> NaTensor<E> {
        layout::permute(x, perm)
    }

    fn expand(x: &NaTensor<E>, shape: &[usize]) -> NaTensor<E> {
        layout::expand(x, shape)
    }

    fn concat(xs: &[NaTensor<E>], axis: usize) -> NaTensor<E> {
        layout::concat(xs, axis)
    }

    fn narrow(x: &NaTensor<E>, axis: usize, start: usize, len: usize) -> NaTensor<E> {
        layout::narrow(x, axis, start, len)
    }

    fn take(x: &NaTensor<E>, indices: &[usize]) -> NaTensor<E> {
        layout::take(x, indices)
    }

    fn scatter_add(shape: &[usize], indices: &[usize], src: &NaTensor<E>) -> NaTensor<E> {
        layout::scatter_add(shape, indices, src)
    }

    fn matmul(
        a: &NaTensor<E>,
        b: &NaTensor<E>,
        transpose_a: bool,
        transpose_b: bool,
    ) -> NaTensor<E> {
        matmul::matmul(a, b, transpose_a, transpose_b)
    }

    fn matmul_bias(
        a: &NaTensor<E>,
        b: &NaTensor<E>,
        bias: &NaTensor<E>,
        transpose_a: bool,
        transpose_b: bool,
    ) -> NaTensor<E> {
        // A 1-D tensor is a 1×n matrix: its buffer is its values in order.
        let values = bias.matrix().as_slice();
        matmul::product(a, b, Some(values), transpose_a, transpose_b)
    }
}
