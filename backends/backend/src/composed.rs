//! The default implementations of [`Backend`]'s fused operations, composed from its primitive
//! methods, so that a new backend runs every operation from its first day. A backend with a
//! faster kernel overrides the trait method and may still call these for the inputs its kernel
//! does not take (a strided view, say).

use num_traits::Float;

use crate::fused::{AdamStep, CrossEntropyForward, MomentumStep};
use crate::window::Window2d;
use crate::{Backend, BinaryOp, Element, ReduceOp, Reduction, UnaryOp};

/// The flat row-major index of each row's label in a `(labels.len(), classes)` matrix.
fn label_positions(labels: &[usize], classes: usize) -> Vec<usize> {
    labels
        .iter()
        .enumerate()
        .map(|(row, &label)| row * classes + label)
        .collect()
}

/// [`Backend::argmax_mask`] from primitives: the host [`Backend::argmax`], then a
/// [`Backend::scatter_add`] of ones at those positions.
pub fn argmax_mask<B: Backend>(x: &B::Storage, axis: usize) -> B::Storage {
    let shape = B::shape(x);
    let winners = B::argmax(x, axis);
    let positions = crate::shape::flat_indices_along(&shape, axis, &winners);
    let ones = B::full(&[positions.len()], B::Elem::of(1.0));
    B::scatter_add(&shape, &positions, &ones)
}

/// [`Backend::cross_entropy`] from primitives: the row maximum, `exp(x − max)`, its row sums,
/// `lse = ln(sum) + max`, and `lse − x[label]` per row, then reduced.
pub fn cross_entropy<B: Backend>(
    logits: &B::Storage,
    labels: &[usize],
    reduction: Reduction,
) -> CrossEntropyForward<B::Storage> {
    let shape = B::shape(logits);
    let (batch, classes) = (shape[0], shape[1]);
    let max = B::reduce(logits, &[1], true, ReduceOp::Max);
    let exps = B::unary(&B::binary(logits, &max, BinaryOp::Sub), UnaryOp::Exp);
    let sums = B::reduce(&exps, &[1], false, ReduceOp::Sum);
    let lse = B::binary(
        &B::unary(&sums, UnaryOp::Log),
        &B::reshape(&max, &[batch]),
        BinaryOp::Add,
    );
    let picked = B::take(logits, &label_positions(labels, classes));
    let per_row = B::binary(&lse, &picked, BinaryOp::Sub);
    let loss = match reduction {
        Reduction::None => per_row,
        Reduction::Sum => B::reduce(&per_row, &[0], false, ReduceOp::Sum),
        Reduction::Mean => B::unary(
            &B::reduce(&per_row, &[0], false, ReduceOp::Sum),
            UnaryOp::DivScalar(B::Elem::of(batch as f64)),
        ),
    };
    CrossEntropyForward { loss, exps, sums }
}

/// [`Backend::cross_entropy_backward`] from primitives: `(exps / sums − one_hot(labels))`
/// times the reduction's weight of each row.
pub fn cross_entropy_backward<B: Backend>(
    forward: &CrossEntropyForward<B::Storage>,
    labels: &[usize],
    reduction: Reduction,
    grad: &B::Storage,
) -> B::Storage {
    let shape = B::shape(&forward.exps);
    let (batch, classes) = (shape[0], shape[1]);
    let softmax = B::binary(
        &forward.exps,
        &B::reshape(&forward.sums, &[batch, 1]),
        BinaryOp::Div,
    );
    let ones = B::full(&[batch], B::Elem::of(1.0));
    let one_hot = B::scatter_add(&shape, &label_positions(labels, classes), &ones);
    let diff = B::binary(&softmax, &one_hot, BinaryOp::Sub);
    match reduction {
        Reduction::Mean => B::unary(
            &B::binary(&diff, grad, BinaryOp::Mul),
            UnaryOp::DivScalar(B::Elem::of(batch as f64)),
        ),
        Reduction::Sum => B::binary(&diff, grad, BinaryOp::Mul),
        Reduction::None => B::binary(&diff, &B::reshape(grad, &[batch, 1]), BinaryOp::Mul),
    }
}

/// [`Backend::sgd_momentum_step`] from in-place primitives, one operation per line of
/// [`MomentumStep`]'s formula.
pub fn sgd_momentum_step<B: Backend>(
    param: &mut B::Storage,
    buffer: &mut B::Storage,
    grad: &B::Storage,
    step: &MomentumStep,
) {
    let e = B::Elem::of;
    let (s, d, wd, lr) = (step.sign(), step.dampening, step.weight_decay, step.lr);
    B::unary_in_place(buffer, UnaryOp::MulScalar(e(step.momentum)));
    B::axpy_in_place(buffer, e((1.0 - d) * s), grad);
    if wd != 0.0 {
        B::axpy_in_place(buffer, e((1.0 - d) * wd), param);
    }
    if step.nesterov {
        if wd != 0.0 {
            B::unary_in_place(param, UnaryOp::MulScalar(e(1.0 - lr * wd)));
        }
        B::axpy_in_place(param, e(-lr * s), grad);
        B::axpy_in_place(param, e(-lr * step.momentum), buffer);
    } else {
        B::axpy_in_place(param, e(-lr), buffer);
    }
}

/// [`Backend::adam_step`] from primitives, one operation per term of [`AdamStep`]'s formula.
pub fn adam_step<B: Backend>(
    param: &mut B::Storage,
    exp_avg: &mut B::Storage,
    exp_avg_sq: &mut B::Storage,
    grad: &B::Storage,
    step: &AdamStep,
) {
    let e = B::Elem::of;
    let mut g = grad.clone();
    if step.maximize {
        B::unary_in_place(&mut g, UnaryOp::MulScalar(e(-1.0)));
    }
    if step.weight_decay != 0.0 {
        B::axpy_in_place(&mut g, e(step.weight_decay), param);
    }
    B::unary_in_place(exp_avg, UnaryOp::MulScalar(e(step.beta1)));
    B::axpy_in_place(exp_avg, e(1.0 - step.beta1), &g);
    B::unary_in_place(exp_avg_sq, UnaryOp::MulScalar(e(step.beta2)));
    B::axpy_in_place(
        exp_avg_sq,
        e(1.0 - step.beta2),
        &B::binary(&g, &g, BinaryOp::Mul),
    );
    let mut denom = B::unary(exp_avg_sq, UnaryOp::Sqrt);
    B::unary_in_place(
        &mut denom,
        UnaryOp::MulScalar(e(1.0 / step.bias_correction2.sqrt())),
    );
    B::unary_in_place(&mut denom, UnaryOp::AddScalar(e(step.eps)));
    B::axpy_in_place(
        param,
        e(-step.lr / step.bias_correction1),
        &B::binary(exp_avg, &denom, BinaryOp::Div),
    );
}

/// The row-major flat index, in the input padded by `window.padding` on every side, of each
/// entry of the patch matrix (rows `(c, i, j)`, columns `(n, oy, ox)`, row-major).
fn patch_indices(window: &Window2d) -> Vec<usize> {
    let [n, c, h, w] = window.input;
    let [kh, kw] = window.kernel;
    let [oh, ow] = window.output_size();
    let (hp, wp) = (h + 2 * window.padding[0], w + 2 * window.padding[1]);
    let mut indices = Vec::with_capacity(window.patch_len() * window.positions());
    for ci in 0..c {
        for i in 0..kh {
            for j in 0..kw {
                for ni in 0..n {
                    for oy in 0..oh {
                        let y = oy * window.stride[0] + i * window.dilation[0];
                        for ox in 0..ow {
                            let x = ox * window.stride[1] + j * window.dilation[1];
                            indices.push(((ni * c + ci) * hp + y) * wp + x);
                        }
                    }
                }
            }
        }
    }
    indices
}

/// `x` with `padding` elements of `value` before and after each of its two last axes.
fn pad_spatial<B: Backend>(x: &B::Storage, padding: [usize; 2], value: B::Elem) -> B::Storage {
    let mut padded = x.clone();
    for (axis, pad) in [(2, padding[0]), (3, padding[1])] {
        if pad > 0 {
            let mut shape = B::shape(&padded);
            shape[axis] = pad;
            let fill = B::full(&shape, value);
            padded = B::concat(&[fill.clone(), padded, fill], axis);
        }
    }
    padded
}

/// [`Backend::im2col`] from primitives: the input padded with zeros ([`Backend::concat`]), then
/// one [`Backend::take`] of every patch entry.
pub fn im2col<B: Backend>(x: &B::Storage, window: &Window2d) -> B::Storage {
    let padded = pad_spatial::<B>(x, window.padding, B::Elem::of(0.0));
    let taken = B::take(&padded, &patch_indices(window));
    B::reshape(&taken, &[window.patch_len(), window.positions()])
}

/// [`Backend::col2im`] from primitives: a [`Backend::scatter_add`] of every patch entry into the
/// padded input, then the padding cut off with [`Backend::narrow`].
pub fn col2im<B: Backend>(cols: &B::Storage, window: &Window2d) -> B::Storage {
    let [n, c, h, w] = window.input;
    let padded_shape = [n, c, h + 2 * window.padding[0], w + 2 * window.padding[1]];
    let flat = B::reshape(cols, &[window.patch_len() * window.positions()]);
    let padded = B::scatter_add(&padded_shape, &patch_indices(window), &flat);
    let rows = B::narrow(&padded, 2, window.padding[0], h);
    B::narrow(&rows, 3, window.padding[1], w)
}

/// [`Backend::max_pool2d`] as a loop over the host copy of `x` ([`Backend::to_vec`]): the
/// reference the kernels are checked against. A device backend overrides it.
pub fn max_pool2d<B: Backend>(x: &B::Storage, window: &Window2d) -> (B::Storage, Vec<usize>) {
    let data = B::to_vec(x);
    let [n, c, h, w] = window.input;
    let [kh, kw] = window.kernel;
    let [oh, ow] = window.output_size();
    let mut values = Vec::with_capacity(n * c * oh * ow);
    let mut indices = Vec::with_capacity(n * c * oh * ow);
    for plane in 0..n * c {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut best = B::Elem::neg_infinity();
                let mut best_at = None;
                for i in 0..kh {
                    let y = (oy * window.stride[0] + i * window.dilation[0])
                        .wrapping_sub(window.padding[0]);
                    for j in 0..kw {
                        let xx = (ox * window.stride[1] + j * window.dilation[1])
                            .wrapping_sub(window.padding[1]);
                        if y >= h || xx >= w {
                            continue; // padding: a negative coordinate wraps to a large one
                        }
                        let at = (plane * h + y) * w + xx;
                        let v = data[at];
                        best_at = best_at.or(Some(at));
                        if v > best || v.is_nan() {
                            (best, best_at) = (v, Some(at));
                        }
                    }
                }
                values.push(best);
                indices.push(best_at.expect("a window with an input element"));
            }
        }
    }
    (B::from_vec(values, &window.pooled_shape()), indices)
}

/// The output gradient `grad` `[N, O, outH, outW]` as the `[O, N·outH·outW]` matrix whose
/// columns line up with the patch matrix's.
fn grad_matrix<B: Backend>(grad: &B::Storage, window: &Window2d) -> B::Storage {
    let o = B::shape(grad)[1];
    B::reshape(&B::permute(grad, &[1, 0, 2, 3]), &[o, window.positions()])
}

/// [`Backend::conv2d`] from primitives: the weight `[O, C·kH·kW]` times the patch matrix
/// ([`Backend::im2col`]), plus the bias along the rows, reordered from `[O, N, outH, outW]` to
/// `[N, O, outH, outW]`.
pub fn conv2d<B: Backend>(
    x: &B::Storage,
    weight: &B::Storage,
    bias: Option<&B::Storage>,
    window: &Window2d,
) -> B::Storage {
    let o = B::shape(weight)[0];
    let [oh, ow] = window.output_size();
    let w = B::reshape(weight, &[o, window.patch_len()]);
    let mut product = B::matmul(&w, &B::im2col(x, window), false, false);
    if let Some(bias) = bias {
        product = B::binary(&product, &B::reshape(bias, &[o, 1]), BinaryOp::Add);
    }
    B::permute(
        &B::reshape(&product, &[o, window.input[0], oh, ow]),
        &[1, 0, 2, 3],
    )
}

/// [`Backend::conv2d_backward_input`] from primitives: the transposed weight times the output
/// gradient, summed back into the input by [`Backend::col2im`].
pub fn conv2d_backward_input<B: Backend>(
    grad: &B::Storage,
    weight: &B::Storage,
    window: &Window2d,
) -> B::Storage {
    let o = B::shape(weight)[0];
    let w = B::reshape(weight, &[o, window.patch_len()]);
    let cols = B::matmul(&w, &grad_matrix::<B>(grad, window), true, false);
    B::col2im(&cols, window)
}

/// [`Backend::conv2d_backward_weight`] from primitives: the output gradient times the
/// transposed patch matrix.
pub fn conv2d_backward_weight<B: Backend>(
    grad: &B::Storage,
    x: &B::Storage,
    window: &Window2d,
) -> B::Storage {
    let o = B::shape(grad)[1];
    let product = B::matmul(
        &grad_matrix::<B>(grad, window),
        &B::im2col(x, window),
        false,
        true,
    );
    let [_, c, _, _] = window.input;
    B::reshape(&product, &[o, c, window.kernel[0], window.kernel[1]])
}

/// `[C]` coefficients reshaped to broadcast along axis 1 of an array of rank `rank`.
fn per_channel<B: Backend>(v: &B::Storage, rank: usize) -> B::Storage {
    let mut shape = vec![1; rank];
    shape[1] = B::shape(v)[0];
    B::reshape(v, &shape)
}

/// [`Backend::channel_sums`] from primitives: [`Backend::reduce`] over every axis but 1.
pub fn channel_sums<B: Backend>(
    a: &B::Storage,
    b: Option<&B::Storage>,
) -> (B::Storage, B::Storage) {
    let rank = B::shape(a).len();
    let axes: Vec<usize> = (0..rank).filter(|&i| i != 1).collect();
    let sum = |x: &B::Storage| B::reduce(x, &axes, false, ReduceOp::Sum);
    let product = B::binary(a, b.unwrap_or(a), BinaryOp::Mul);
    (sum(a), sum(&product))
}

/// [`Backend::channel_affine`] from primitives: broadcasting [`Backend::binary`] products and
/// sums.
pub fn channel_affine<B: Backend>(
    a: &B::Storage,
    alpha: &B::Storage,
    b: Option<(&B::Storage, &B::Storage)>,
    gamma: &B::Storage,
) -> B::Storage {
    let rank = B::shape(a).len();
    let mut out = B::binary(a, &per_channel::<B>(alpha, rank), BinaryOp::Mul);
    if let Some((b, beta)) = b {
        let term = B::binary(b, &per_channel::<B>(beta, rank), BinaryOp::Mul);
        out = B::binary(&out, &term, BinaryOp::Add);
    }
    B::binary(&out, &per_channel::<B>(gamma, rank), BinaryOp::Add)
}
