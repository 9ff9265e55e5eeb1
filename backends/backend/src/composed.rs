//! The default implementations of [`Backend`]'s fused operations, composed from its primitive
//! methods, so that a new backend runs every operation from its first day. A backend with a
//! faster kernel overrides the trait method and may still call these for the inputs its kernel
//! does not take (a strided view, say).

use crate::fused::{AdamStep, CrossEntropyForward, MomentumStep};
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
