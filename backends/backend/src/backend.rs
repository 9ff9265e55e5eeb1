//! The [`Backend`] trait: array storage and the primitive kernels the autograd is built on.

use std::fmt::Debug;

use crate::fused::{AdamStep, CrossEntropyForward, MomentumStep};
use crate::shape::Layout;
use crate::window::Window2d;
use crate::{composed, BinaryOp, Element, ReduceOp, Reduction, UnaryOp};

/// Array storage and kernels. Implemented by `duograd-ndarray` (`NdArray<E>`) and
/// `duograd-nalgebra` (`Nalgebra<E>`), re-exported as `duograd::backends::{NdArray, Nalgebra}`.
///
/// The trait is small: each required method is a primitive kernel, and everything else
/// (softmax, layers, most losses) is composed from them in `duograd`. A few operations are
/// *fused* (cross-entropy on logits, the SGD and Adam updates): each has a default
/// implementation composed from the primitives ([`crate::composed`]), so a new backend runs
/// everything once the required methods are written, and a backend overrides the fused ones
/// with faster kernels where it has them.
///
/// # Contract
/// - Shapes are row-major (C order) N-d shapes, `&[]` being a scalar. Every method that takes or
///   returns flat data (`from_vec`, `to_vec`, flat indices) uses row-major order, whatever the
///   backend's own layout.
/// - The caller (duograd's `Tensor`) validates shapes, axes and indices before it calls a
///   kernel, so kernels may assume their documented preconditions; a kernel still panics (never
///   returns garbage) if one is broken.
/// - `Storage` is an immutable value that is cheap to clone (a shared handle), except through the
///   in-place methods, which may copy first if the buffer is shared.
/// - NaN and infinities propagate as IEEE arithmetic and PyTorch propagate them (a NaN in a
///   `Max` reduction gives NaN; `Maximum` with a NaN operand gives NaN).
///
/// # Where data lives (for a device backend)
/// The forward ops, every backward, cross-entropy and the optimizer updates go through the
/// methods below, and the state they keep (the cross-entropy's saved `exps`, optimizer moments
/// and momentum buffers) is `Storage` too: duograd reads no tensor's elements on the host to
/// compute a step. A backend whose storage lives on a device therefore keeps it there; data
/// crosses only where it enters or leaves the library:
/// - [`Backend::from_vec`], [`Backend::from_vec_2d`] (inputs, a batch from the data loader) and
///   [`Backend::to_vec`] (saving weights, printing, tests);
/// - [`Backend::argmax`], whose result is a host `Vec<usize>` because its users are host code
///   (accuracy, predictions); the backward of `max_dim` uses [`Backend::argmax_mask`] instead,
///   which stays in storage;
/// - index arrays: [`Backend::take`], [`Backend::scatter_add`] and the cross-entropy labels
///   take `&[usize]` from the host. They are made on the host (a batch's labels, a user's
///   index lists) and are small beside the data they index (one per row of logits), so a
///   device backend uploads them per call rather than the trait carrying a device index type;
/// - scalars the API hands to its caller: the loss a training loop reports (`Tensor::item`),
///   `clip_grad_norm`'s total norm.
///
/// No method hands out a slice of the storage: a CPU backend that has one uses it inside its
/// own kernels.
pub trait Backend: Clone + Copy + Debug + Default + Send + Sync + 'static {
    /// The scalar type stored.
    type Elem: Element;
    /// An N-d array of `Elem`; clones are cheap (reference counted).
    type Storage: Clone + Debug + Send + Sync + 'static;

    /// A short name for reports (`"ndarray"`, `"nalgebra"`).
    fn name() -> &'static str;

    // ----- creation and inspection -----

    /// Builds an array of `shape` from row-major `data`.
    ///
    /// Precondition: `data.len()` equals the product of `shape`.
    fn from_vec(data: Vec<Self::Elem>, shape: &[usize]) -> Self::Storage;

    /// The order in which this backend stores the elements of a 2-D array. Producers of large
    /// inputs (the training loop's batches) write them in this order and hand them over with
    /// [`Backend::from_vec_2d`], which then needs no transpose. The default is row-major.
    fn layout_2d() -> Layout {
        Layout::RowMajor
    }

    /// Builds a 2-D array of `shape` from `data` laid out in `layout`.
    ///
    /// The default takes row-major data as it is ([`Backend::from_vec`]) and reads column-major
    /// data as the row-major transpose it is, then [`Backend::permute`]s it back; a backend
    /// stored column-major takes that as it is instead.
    ///
    /// Precondition: `data.len() == shape[0] * shape[1]`.
    fn from_vec_2d(data: Vec<Self::Elem>, shape: [usize; 2], layout: Layout) -> Self::Storage {
        match layout {
            Layout::RowMajor => Self::from_vec(data, &shape),
            Layout::ColMajor => {
                Self::permute(&Self::from_vec(data, &[shape[1], shape[0]]), &[1, 0])
            }
        }
    }

    /// An array of `shape` with every element equal to `value`.
    fn full(shape: &[usize], value: Self::Elem) -> Self::Storage;

    /// The array's shape.
    fn shape(x: &Self::Storage) -> Vec<usize>;

    /// The elements in row-major order.
    fn to_vec(x: &Self::Storage) -> Vec<Self::Elem>;

    /// Disposes of the storage of a tensor that is being dropped. A backend that keeps freed
    /// buffers for reuse (the CPU backends give theirs to `duograd_cpu::buffers::recycle` when
    /// no other handle shares them, so that the next large output of that length reuses it)
    /// takes it here. The default just drops the storage.
    fn recycle(x: Self::Storage) {
        drop(x);
    }

    // ----- elementwise -----

    /// Applies `op` to every element. Returns an array of the same shape.
    fn unary(x: &Self::Storage, op: UnaryOp<Self::Elem>) -> Self::Storage;

    /// Applies `op` to pairs of elements with NumPy/PyTorch broadcasting.
    ///
    /// Precondition: the shapes are broadcast-compatible. Returns an array of the broadcast shape.
    fn binary(a: &Self::Storage, b: &Self::Storage, op: BinaryOp) -> Self::Storage;

    /// `dst += alpha * src`, in place (copying first if `dst` is shared).
    ///
    /// Precondition: equal shapes. Used for gradient accumulation and optimizer updates.
    fn axpy_in_place(dst: &mut Self::Storage, alpha: Self::Elem, src: &Self::Storage);

    /// `dst = op(dst)`, in place (copying first if `dst` is shared).
    fn unary_in_place(dst: &mut Self::Storage, op: UnaryOp<Self::Elem>);

    // ----- reductions -----

    /// Reduces over `axes` (sorted, distinct, each `< rank`).
    ///
    /// Returns the reduced shape with the reduced axes kept as size 1 when `keepdim`, removed
    /// otherwise. Reducing over no axes returns the input unchanged; reducing over an empty axis
    /// gives the operation's identity (0 for `Sum`, −∞ for `Max`, +∞ for `Min`).
    fn reduce(x: &Self::Storage, axes: &[usize], keepdim: bool, op: ReduceOp) -> Self::Storage;

    /// For each position of the shape with `axis` removed (row-major order), the index along
    /// `axis` of the largest element; ties go to the first, and NaN counts as larger than every
    /// number (the first NaN wins), as in PyTorch. Precondition: `axis < rank` and the axis has
    /// length at least 1.
    fn argmax(x: &Self::Storage, axis: usize) -> Vec<usize>;

    /// An array of `x`'s shape with a one at the position [`Backend::argmax`] picks in each lane
    /// along `axis` (the first of tied maxima, or the first NaN) and zeros elsewhere: where the
    /// gradient of `max_dim` goes, without the indices leaving the backend's memory.
    ///
    /// Precondition: as for [`Backend::argmax`]. The default ([`composed::argmax_mask`]) reads
    /// the indices on the host and scatters ones there.
    fn argmax_mask(x: &Self::Storage, axis: usize) -> Self::Storage {
        composed::argmax_mask::<Self>(x, axis)
    }

    // ----- layout -----

    /// The same elements (row-major order) under a new shape of equal size.
    fn reshape(x: &Self::Storage, shape: &[usize]) -> Self::Storage;

    /// Reorders the axes: output axis `i` is input axis `perm[i]`.
    /// Precondition: `perm` is a permutation of `0..rank`.
    fn permute(x: &Self::Storage, perm: &[usize]) -> Self::Storage;

    /// Broadcasts to `shape` (prepending axes and repeating size-1 axes).
    /// Precondition: `x`'s shape broadcasts to `shape`.
    fn expand(x: &Self::Storage, shape: &[usize]) -> Self::Storage;

    /// Joins arrays along an existing `axis`. Precondition: at least one array, all with the
    /// same rank and the same size on every other axis.
    fn concat(xs: &[Self::Storage], axis: usize) -> Self::Storage;

    /// The sub-array `start..start + len` along `axis`. Precondition: in bounds.
    fn narrow(x: &Self::Storage, axis: usize, start: usize, len: usize) -> Self::Storage;

    // ----- indexing -----

    /// Gathers elements by flat row-major index into a 1-D array of `indices.len()` elements.
    /// Precondition: every index `< numel`.
    fn take(x: &Self::Storage, indices: &[usize]) -> Self::Storage;

    /// A zero array of `shape` into which the elements of 1-D `src` are added at flat row-major
    /// `indices`; repeated indices accumulate. Precondition: `src` has `indices.len()` elements,
    /// every index `< product(shape)`.
    fn scatter_add(shape: &[usize], indices: &[usize], src: &Self::Storage) -> Self::Storage;

    // ----- linear algebra -----

    /// 2-D matrix product `op(a) · op(b)`, where `op` transposes its operand when the flag is set
    /// (without materializing the transpose where the backend can).
    ///
    /// Precondition: both operands are 2-D and the inner sizes agree.
    fn matmul(
        a: &Self::Storage,
        b: &Self::Storage,
        transpose_a: bool,
        transpose_b: bool,
    ) -> Self::Storage;

    /// `op(a) · op(b) + bias`: [`Backend::matmul`] with the 1-D `bias` (one value per column of
    /// the product) added to every row, as a linear layer computes `x·Wᵀ + b`. The default adds
    /// it in a separate pass; a backend overrides it to add the bias while writing the product.
    /// Either way each element must equal the product's plus the bias, rounded once.
    ///
    /// Precondition: as for `matmul`, and `bias` has one value per column of the product.
    fn matmul_bias(
        a: &Self::Storage,
        b: &Self::Storage,
        bias: &Self::Storage,
        transpose_a: bool,
        transpose_b: bool,
    ) -> Self::Storage {
        Self::binary(
            &Self::matmul(a, b, transpose_a, transpose_b),
            bias,
            BinaryOp::Add,
        )
    }

    // ----- sliding windows (composed defaults in `crate::composed`) -----

    /// The patch matrix of a convolution ("im2col"): for the `[N, C, H, W]` input `x` and
    /// `window`, the 2-D `[C·kH·kW, N·outH·outW]` array whose entry `(row, col)`, with
    /// `row = (c·kH + i)·kW + j` and `col = (n·outH + oy)·outW + ox`, is
    /// `x[n, c, oy·sH + i·dH − pH, ox·sW + j·dW − pW]`, or 0 where that lies in the padding.
    /// A convolution is then one matrix product with the `[O, C·kH·kW]` weight.
    ///
    /// Precondition: `x` has shape `window.input` and the window fits
    /// ([`Window2d::check`]).
    fn im2col(x: &Self::Storage, window: &Window2d) -> Self::Storage {
        composed::im2col::<Self>(x, window)
    }

    /// The adjoint of [`Backend::im2col`] ("col2im"): the `[N, C, H, W]` array in which every
    /// entry of the patch matrix `cols` is added to the input position it was read from (entries
    /// from the padding are dropped). It is the gradient of `im2col`, and `im2col` is its.
    ///
    /// Precondition: `cols` is `[C·kH·kW, N·outH·outW]` for `window`, which fits.
    fn col2im(cols: &Self::Storage, window: &Window2d) -> Self::Storage {
        composed::col2im::<Self>(cols, window)
    }

    /// 2-D convolution (cross-correlation, as PyTorch's `F.conv2d` without groups): the
    /// `[N, C, H, W]` input `x` with `weight` `[O, C, kH, kW]` under `window`, giving
    /// `[N, O, outH, outW]` whose element `(n, o, oy, ox)` is `bias[o]` (if given) plus the sum
    /// over `c, i, j` of `weight[o, c, i, j] · x[n, c, oy·sH + i·dH − pH, ox·sW + j·dW − pW]`
    /// (0 in the padding).
    ///
    /// Precondition: `x` has shape `window.input`, `weight` has `window`'s channels and kernel,
    /// `bias` is `[O]`, and the window fits.
    fn conv2d(
        x: &Self::Storage,
        weight: &Self::Storage,
        bias: Option<&Self::Storage>,
        window: &Window2d,
    ) -> Self::Storage {
        composed::conv2d::<Self>(x, weight, bias, window)
    }

    /// The gradient of [`Backend::conv2d`] with respect to its input, for the output gradient
    /// `grad` (`[N, O, outH, outW]`): `[N, C, H, W]`, each input position receiving
    /// `weight[o, c, i, j] · grad[n, o, oy, ox]` from every output whose tap `(i, j)` read it
    /// (a transposed convolution).
    ///
    /// Precondition: as for `conv2d`, `grad` having the output's shape.
    fn conv2d_backward_input(
        grad: &Self::Storage,
        weight: &Self::Storage,
        window: &Window2d,
    ) -> Self::Storage {
        composed::conv2d_backward_input::<Self>(grad, weight, window)
    }

    /// The gradient of [`Backend::conv2d`] with respect to its weight, for the output gradient
    /// `grad` and the input `x`: `[O, C, kH, kW]`, element `(o, c, i, j)` the sum over
    /// `n, oy, ox` of `grad[n, o, oy, ox] · x[n, c, oy·sH + i·dH − pH, ox·sW + j·dW − pW]`.
    ///
    /// Precondition: as for `conv2d`, `grad` having the output's shape.
    fn conv2d_backward_weight(
        grad: &Self::Storage,
        x: &Self::Storage,
        window: &Window2d,
    ) -> Self::Storage {
        composed::conv2d_backward_weight::<Self>(grad, x, window)
    }

    /// The gradients of [`Backend::conv2d`] with respect to its weight
    /// ([`Backend::conv2d_backward_weight`]) and to its bias (`[O]`: `grad` summed over all but
    /// the channel axis), in one pass over `grad` where the backend can.
    ///
    /// Precondition: as for `conv2d_backward_weight`.
    fn conv2d_backward_weight_and_bias(
        grad: &Self::Storage,
        x: &Self::Storage,
        window: &Window2d,
    ) -> (Self::Storage, Self::Storage) {
        (
            Self::conv2d_backward_weight(grad, x, window),
            Self::channel_sums(grad, None).0,
        )
    }

    /// Max pooling as PyTorch's `F.max_pool2d`: the `[N, C, outH, outW]` maxima of each window
    /// of `x` (the padding never wins; scanning each window in row-major order, a value replaces
    /// the maximum so far only if it is larger or NaN, so ties go to the first and a NaN
    /// propagates), and for each output, in row-major order, the row-major flat index into `x`
    /// of the element it took (host memory, like every index array of this trait).
    ///
    /// Precondition: `x` has shape `window.input`, the window fits, and no window lies
    /// entirely in the padding (padding at most half the kernel, as PyTorch requires).
    fn max_pool2d(x: &Self::Storage, window: &Window2d) -> (Self::Storage, Vec<usize>) {
        composed::max_pool2d::<Self>(x, window)
    }

    /// The gradient of [`Backend::max_pool2d`] with respect to its input: an `[N, C, H, W]` array
    /// of zeros with `grad`'s elements (`[N, C, outH, outW]`, taken in row-major order) added at
    /// the row-major flat `indices` `max_pool2d` returned (a [`Backend::scatter_add`] whose
    /// indices stay inside each output's plane).
    ///
    /// Precondition: `grad` has `window`'s pooled shape and `indices` are `max_pool2d`'s for
    /// `window`.
    fn max_pool2d_backward(
        grad: &Self::Storage,
        indices: &[usize],
        window: &Window2d,
    ) -> Self::Storage {
        let flat = Self::reshape(grad, &[indices.len()]);
        Self::scatter_add(&window.input, indices, &flat)
    }

    // ----- per-channel passes (batch normalization; composed defaults in `crate::composed`) -----

    /// Per-channel sums of an `[N, C]`, `[N, C, L]` or `[N, C, H, W]` array: over every axis
    /// but 1, the sum of `a` and the sum of `a · b` (of `a²` when `b` is `None`), each `[C]`.
    ///
    /// Precondition: `a` has rank 2 to 4 and `b`, if given, the same shape.
    fn channel_sums(
        a: &Self::Storage,
        b: Option<&Self::Storage>,
    ) -> (Self::Storage, Self::Storage) {
        composed::channel_sums::<Self>(a, b)
    }

    /// A per-channel affine map of an `[N, C, …]` array (rank 2 to 4):
    /// `a · alpha[c] + b · beta[c] + gamma[c]` for every element of channel `c`, the `b` term
    /// only if `b = Some((b, beta))` is given. `alpha`, `beta` and `gamma` are `[C]`.
    ///
    /// Precondition: `a` has rank 2 to 4, `b` the same shape, the coefficients one per channel.
    fn channel_affine(
        a: &Self::Storage,
        alpha: &Self::Storage,
        b: Option<(&Self::Storage, &Self::Storage)>,
        gamma: &Self::Storage,
    ) -> Self::Storage {
        composed::channel_affine::<Self>(a, alpha, b, gamma)
    }

    // ----- fused operations (composed defaults in `crate::composed`) -----

    /// Cross-entropy of `logits` `(batch, classes)` against one label per row, as PyTorch's
    /// `F.cross_entropy`: per row `ln(sum_j exp(x_ij)) − x_i[label_i]`, computed with the row
    /// maximum subtracted (stable for logits of any size), then reduced by `reduction`.
    ///
    /// # Arguments
    /// - `logits`: 2-D, `(batch, classes)`.
    /// - `labels`: `batch` class indices, each `< classes` (checked by the caller).
    ///
    /// # Returns
    /// The loss (`[batch]` for [`Reduction::None`], else a scalar) and the `exps` and `sums`
    /// that [`Backend::cross_entropy_backward`] takes (see [`CrossEntropyForward`]).
    fn cross_entropy(
        logits: &Self::Storage,
        labels: &[usize],
        reduction: Reduction,
    ) -> CrossEntropyForward<Self::Storage> {
        composed::cross_entropy::<Self>(logits, labels, reduction)
    }

    /// The gradient of [`Backend::cross_entropy`] with respect to the logits:
    /// `(softmax(x) − one_hot(labels)) · w_i`, where `w_i` is `grad / batch` for
    /// [`Reduction::Mean`], `grad` for [`Reduction::Sum`] (both scalars) and `grad[i]` for
    /// [`Reduction::None`].
    ///
    /// # Arguments
    /// - `forward`: what the forward returned (only `exps` and `sums` are read).
    /// - `grad`: the gradient of the loss, of the loss's shape.
    ///
    /// # Returns
    /// A `(batch, classes)` array.
    fn cross_entropy_backward(
        forward: &CrossEntropyForward<Self::Storage>,
        labels: &[usize],
        reduction: Reduction,
        grad: &Self::Storage,
    ) -> Self::Storage {
        composed::cross_entropy_backward::<Self>(forward, labels, reduction, grad)
    }

    /// One SGD-with-momentum step, in place: updates `buffer`, then `param` (see
    /// [`MomentumStep`] for the formula). Every implementation gives the bits of
    /// [`composed::sgd_momentum_step`].
    ///
    /// Precondition: `param`, `buffer` and `grad` have the same shape.
    fn sgd_momentum_step(
        param: &mut Self::Storage,
        buffer: &mut Self::Storage,
        grad: &Self::Storage,
        step: &MomentumStep,
    ) {
        composed::sgd_momentum_step::<Self>(param, buffer, grad, step);
    }

    /// One Adam step, in place: updates both moments, then `param` (see [`AdamStep`] for the
    /// formula). Every implementation gives the bits of [`composed::adam_step`].
    ///
    /// Precondition: all four arrays have the same shape.
    fn adam_step(
        param: &mut Self::Storage,
        exp_avg: &mut Self::Storage,
        exp_avg_sq: &mut Self::Storage,
        grad: &Self::Storage,
        step: &AdamStep,
    ) {
        composed::adam_step::<Self>(param, exp_avg, exp_avg_sq, grad, step);
    }
}
