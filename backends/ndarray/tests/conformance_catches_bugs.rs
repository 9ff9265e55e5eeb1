//! The conformance suite can fail: `Broken<BUG>` delegates every method to `NdArray<f64>`
//! except one, broken on purpose the way a real kernel goes wrong (a flat-index broadcast, a
//! dropped tail element, an ignored flag, a NaN skipped, …), and the suite function covering
//! that method must panic on it. Without a bug the wrapper passes the same functions.

use std::panic::catch_unwind;

use duograd_backend::shape::{broadcast_shapes, numel, strided_indices, strides};
use duograd_backend::{
    conformance, AdamStep, Backend, BinaryOp, CrossEntropyForward, Layout, MomentumStep, ReduceOp,
    Reduction, UnaryOp,
};
use duograd_ndarray::NdArray;

type N = NdArray<f64>;
type S = <N as Backend>::Storage;

/// `NdArray<f64>` with the bug numbered `BUG` (0: none).
#[derive(Clone, Copy, Debug, Default)]
struct Broken<const BUG: u8>;

const NONE: u8 = 0;
/// `binary` broadcasts by flat index modulo the smaller operand's length: right for prepended
/// axes, wrong for stretched size-1 axes.
const FLAT_BROADCAST: u8 = 1;
/// A sum over the last axis drops the lane's last element when the lane is not a whole number
/// of 8-lane blocks (a vector loop's forgotten tail).
const SUM_DROPS_TAIL: u8 = 2;
/// `matmul` ignores `transpose_b` when `b` is square (the shapes still fit).
const MATMUL_IGNORES_TRANSPOSE_B: u8 = 3;
/// `argmax` gives ties to the last index.
const ARGMAX_LAST_TIE: u8 = 4;
/// `sgd_momentum_step` does not multiply the buffer by the momentum factor.
const SGD_SKIPS_MOMENTUM: u8 = 5;
/// `unary` of a non-standard array maps its buffer in memory order, as if it were row-major.
const UNARY_MEMORY_ORDER: u8 = 6;
/// A Max reduction skips NaN (as `f64::max` does).
const MAX_SKIPS_NAN: u8 = 7;
/// `Maximum` returns `a` when `b` is NaN.
const MAXIMUM_SKIPS_NAN: u8 = 8;
/// `scatter_add` overwrites at repeated indices instead of accumulating.
const SCATTER_OVERWRITES: u8 = 9;
/// `cross_entropy` without subtracting the row maximum: `exp` overflows for large logits.
const CROSS_ENTROPY_UNSTABLE: u8 = 10;
/// `adam_step` forgets the second moment's bias correction.
const ADAM_SKIPS_BIAS_CORRECTION2: u8 = 11;
/// `matmul_bias` adds the bias along the rows of a square product.
const BIAS_ALONG_ROWS: u8 = 12;
/// `narrow` along the last axis ignores `start`.
const NARROW_IGNORES_START: u8 = 13;
/// `permute` applies the inverse permutation (right for swaps, wrong for 3-cycles).
const PERMUTE_INVERTED: u8 = 14;

impl<const BUG: u8> Backend for Broken<BUG> {
    type Elem = f64;
    type Storage = S;

    fn name() -> &'static str {
        [
            "ndarray",
            "flat-broadcast",
            "sum-drops-tail",
            "matmul-ignores-tb",
            "argmax-last-tie",
            "sgd-skips-momentum",
            "unary-memory-order",
            "max-skips-nan",
            "maximum-skips-nan",
            "scatter-overwrites",
            "cross-entropy-unstable",
            "adam-skips-bc2",
            "bias-along-rows",
            "narrow-ignores-start",
            "permute-inverted",
        ][BUG as usize]
    }

    fn from_vec(data: Vec<f64>, shape: &[usize]) -> S {
        N::from_vec(data, shape)
    }

    fn layout_2d() -> Layout {
        N::layout_2d()
    }

    fn from_vec_2d(data: Vec<f64>, shape: [usize; 2], layout: Layout) -> S {
        N::from_vec_2d(data, shape, layout)
    }

    fn full(shape: &[usize], value: f64) -> S {
        N::full(shape, value)
    }

    fn shape(x: &S) -> Vec<usize> {
        N::shape(x)
    }

    fn to_vec(x: &S) -> Vec<f64> {
        N::to_vec(x)
    }

    fn recycle(x: S) {
        N::recycle(x)
    }

    fn unary(x: &S, op: UnaryOp<f64>) -> S {
        if BUG == UNARY_MEMORY_ORDER && !x.is_standard_layout() {
            if let Some(buffer) = x.as_slice_memory_order() {
                return N::unary(&N::from_vec(buffer.to_vec(), x.shape()), op);
            }
        }
        N::unary(x, op)
    }

    fn binary(a: &S, b: &S, op: BinaryOp) -> S {
        let (sa, sb) = (N::shape(a), N::shape(b));
        if BUG == FLAT_BROADCAST && sa != sb {
            if let Some(out) = broadcast_shapes(&sa, &sb) {
                let (va, vb) = (N::to_vec(a), N::to_vec(b));
                let n = numel(&out);
                if n > 0 && !va.is_empty() && !vb.is_empty() {
                    let tile =
                        |v: &[f64]| N::from_vec((0..n).map(|i| v[i % v.len()]).collect(), &out);
                    return N::binary(&tile(&va), &tile(&vb), op);
                }
            }
        }
        if BUG == MAXIMUM_SKIPS_NAN && op == BinaryOp::Maximum {
            let vb: Vec<f64> = N::to_vec(b)
                .into_iter()
                .map(|v| if v.is_nan() { f64::NEG_INFINITY } else { v })
                .collect();
            return N::binary(a, &N::from_vec(vb, &sb), op);
        }
        N::binary(a, b, op)
    }

    fn axpy_in_place(dst: &mut S, alpha: f64, src: &S) {
        N::axpy_in_place(dst, alpha, src)
    }

    fn unary_in_place(dst: &mut S, op: UnaryOp<f64>) {
        N::unary_in_place(dst, op)
    }

    fn reduce(x: &S, axes: &[usize], keepdim: bool, op: ReduceOp) -> S {
        let shape = N::shape(x);
        let last = shape.len().wrapping_sub(1);
        if BUG == SUM_DROPS_TAIL
            && op == ReduceOp::Sum
            && axes.contains(&last)
            && shape[last] > 8
            && !shape[last].is_multiple_of(8)
        {
            return N::reduce(&N::narrow(x, last, 0, shape[last] - 1), axes, keepdim, op);
        }
        if BUG == MAX_SKIPS_NAN && op == ReduceOp::Max {
            let v: Vec<f64> = N::to_vec(x)
                .into_iter()
                .map(|v| if v.is_nan() { f64::NEG_INFINITY } else { v })
                .collect();
            return N::reduce(&N::from_vec(v, &shape), axes, keepdim, op);
        }
        N::reduce(x, axes, keepdim, op)
    }

    fn argmax(x: &S, axis: usize) -> Vec<usize> {
        if BUG != ARGMAX_LAST_TIE {
            return N::argmax(x, axis);
        }
        let (shape, data) = (N::shape(x), N::to_vec(x));
        let st = strides(&shape);
        let mut rest = shape.clone();
        rest[axis] = 1;
        strided_indices(&rest, &st, 0)
            .into_iter()
            .map(|base| {
                (0..shape[axis]).fold(0, |best, i| {
                    if data[base + i * st[axis]] >= data[base + best * st[axis]] {
                        i
                    } else {
                        best
                    }
                })
            })
            .collect()
    }

    fn reshape(x: &S, shape: &[usize]) -> S {
        N::reshape(x, shape)
    }

    fn permute(x: &S, perm: &[usize]) -> S {
        if BUG == PERMUTE_INVERTED && perm.len() == N::shape(x).len() {
            let mut inverse = vec![0; perm.len()];
            for (i, &p) in perm.iter().enumerate() {
                inverse[p] = i;
            }
            return N::permute(x, &inverse);
        }
        N::permute(x, perm)
    }

    fn expand(x: &S, shape: &[usize]) -> S {
        N::expand(x, shape)
    }

    fn concat(xs: &[S], axis: usize) -> S {
        N::concat(xs, axis)
    }

    fn narrow(x: &S, axis: usize, start: usize, len: usize) -> S {
        if BUG == NARROW_IGNORES_START && axis + 1 == N::shape(x).len() {
            return N::narrow(x, axis, 0, len);
        }
        N::narrow(x, axis, start, len)
    }

    fn take(x: &S, indices: &[usize]) -> S {
        N::take(x, indices)
    }

    fn scatter_add(shape: &[usize], indices: &[usize], src: &S) -> S {
        if BUG == SCATTER_OVERWRITES {
            let mut out = vec![0.0; numel(shape)];
            for (&i, v) in indices.iter().zip(N::to_vec(src)) {
                out[i] = v;
            }
            return N::from_vec(out, shape);
        }
        N::scatter_add(shape, indices, src)
    }

    fn matmul(a: &S, b: &S, transpose_a: bool, transpose_b: bool) -> S {
        let sb = N::shape(b);
        if BUG == MATMUL_IGNORES_TRANSPOSE_B && transpose_b && sb.len() == 2 && sb[0] == sb[1] {
            return N::matmul(a, b, transpose_a, false);
        }
        N::matmul(a, b, transpose_a, transpose_b)
    }

    fn matmul_bias(a: &S, b: &S, bias: &S, transpose_a: bool, transpose_b: bool) -> S {
        let product = N::matmul(a, b, transpose_a, transpose_b);
        let shape = N::shape(&product);
        if BUG == BIAS_ALONG_ROWS && shape[0] == shape[1] {
            return N::binary(&product, &N::reshape(bias, &[shape[0], 1]), BinaryOp::Add);
        }
        N::matmul_bias(a, b, bias, transpose_a, transpose_b)
    }

    fn cross_entropy(logits: &S, labels: &[usize], reduction: Reduction) -> CrossEntropyForward<S> {
        if BUG != CROSS_ENTROPY_UNSTABLE {
            return N::cross_entropy(logits, labels, reduction);
        }
        let classes = N::shape(logits)[1];
        let exps = N::unary(logits, UnaryOp::Exp);
        let sums = N::reduce(&exps, &[1], false, ReduceOp::Sum);
        let positions: Vec<usize> = labels
            .iter()
            .enumerate()
            .map(|(i, &l)| i * classes + l)
            .collect();
        let per_row = N::binary(
            &N::unary(&sums, UnaryOp::Log),
            &N::take(logits, &positions),
            BinaryOp::Sub,
        );
        let loss = match reduction {
            Reduction::None => per_row,
            Reduction::Sum => N::reduce(&per_row, &[0], false, ReduceOp::Sum),
            Reduction::Mean => N::unary(
                &N::reduce(&per_row, &[0], false, ReduceOp::Sum),
                UnaryOp::DivScalar(labels.len() as f64),
            ),
        };
        CrossEntropyForward { loss, exps, sums }
    }

    fn cross_entropy_backward(
        forward: &CrossEntropyForward<S>,
        labels: &[usize],
        reduction: Reduction,
        grad: &S,
    ) -> S {
        N::cross_entropy_backward(forward, labels, reduction, grad)
    }

    fn sgd_momentum_step(param: &mut S, buffer: &mut S, grad: &S, step: &MomentumStep) {
        if BUG == SGD_SKIPS_MOMENTUM {
            // b ← b + (1 − d)·(s·g + wd·p): the factor on the old buffer left out.
            let skipped = MomentumStep {
                momentum: 1.0,
                ..*step
            };
            return N::sgd_momentum_step(param, buffer, grad, &skipped);
        }
        N::sgd_momentum_step(param, buffer, grad, step)
    }

    fn adam_step(param: &mut S, exp_avg: &mut S, exp_avg_sq: &mut S, grad: &S, step: &AdamStep) {
        if BUG == ADAM_SKIPS_BIAS_CORRECTION2 {
            let skipped = AdamStep {
                bias_correction2: 1.0,
                ..*step
            };
            return N::adam_step(param, exp_avg, exp_avg_sq, grad, &skipped);
        }
        N::adam_step(param, exp_avg, exp_avg_sq, grad, step)
    }
}

/// Asserts that the suite function panics on the broken backend.
fn caught(suite_fn: fn(), bug: &str) {
    assert!(
        catch_unwind(suite_fn).is_err(),
        "the conformance suite missed the bug: {bug}"
    );
}

#[test]
fn the_wrapper_without_a_bug_passes() {
    type B = Broken<NONE>;
    conformance::binary_broadcasting::<B>();
    conformance::binary_special_values::<B>();
    conformance::unary_on_views::<B>();
    conformance::reduce_long_lanes_and_low_ranks::<B>();
    conformance::reduce_propagates_nan_and_inf::<B>();
    conformance::argmax_first_of_ties::<B>();
    conformance::matmul_small_every_transpose::<B>();
    conformance::matmul_bias_adds_bias_to_every_row::<B>();
    conformance::scatter_add_accumulates::<B>();
    conformance::narrow_every_axis::<B>();
    conformance::permute_every_permutation::<B>();
    conformance::cross_entropy_is_stable_for_large_logits::<B>();
    conformance::sgd_momentum_step_matches_definition::<B>();
    conformance::adam_step_matches_definition::<B>();
}

#[test]
fn a_flat_index_broadcast_is_caught() {
    caught(
        conformance::binary_broadcasting::<Broken<FLAT_BROADCAST>>,
        "flat-index broadcast",
    );
}

#[test]
fn a_sum_dropping_the_tail_is_caught() {
    caught(
        conformance::reduce_long_lanes_and_low_ranks::<Broken<SUM_DROPS_TAIL>>,
        "sum drops the tail",
    );
}

#[test]
fn a_matmul_ignoring_transpose_b_is_caught() {
    caught(
        conformance::matmul_small_every_transpose::<Broken<MATMUL_IGNORES_TRANSPOSE_B>>,
        "matmul ignores transpose_b",
    );
}

#[test]
fn an_argmax_giving_ties_to_the_last_is_caught() {
    caught(
        conformance::argmax_first_of_ties::<Broken<ARGMAX_LAST_TIE>>,
        "argmax last tie",
    );
}

#[test]
fn sgd_skipping_the_momentum_factor_is_caught() {
    caught(
        conformance::sgd_momentum_step_matches_definition::<Broken<SGD_SKIPS_MOMENTUM>>,
        "SGD skips momentum",
    );
}

#[test]
fn a_unary_reading_strided_input_in_memory_order_is_caught() {
    caught(
        conformance::unary_on_views::<Broken<UNARY_MEMORY_ORDER>>,
        "unary in memory order",
    );
}

#[test]
fn a_max_reduction_skipping_nan_is_caught() {
    caught(
        conformance::reduce_propagates_nan_and_inf::<Broken<MAX_SKIPS_NAN>>,
        "Max skips NaN",
    );
}

#[test]
fn a_maximum_skipping_nan_is_caught() {
    caught(
        conformance::binary_special_values::<Broken<MAXIMUM_SKIPS_NAN>>,
        "Maximum skips NaN",
    );
}

#[test]
fn a_scatter_add_overwriting_is_caught() {
    caught(
        conformance::scatter_add_accumulates::<Broken<SCATTER_OVERWRITES>>,
        "scatter_add overwrites",
    );
}

#[test]
fn an_unstable_cross_entropy_is_caught() {
    caught(
        conformance::cross_entropy_is_stable_for_large_logits::<Broken<CROSS_ENTROPY_UNSTABLE>>,
        "cross-entropy overflows",
    );
    caught(
        conformance::cross_entropy_matches_definition::<Broken<CROSS_ENTROPY_UNSTABLE>>,
        "cross-entropy exps not shifted",
    );
}

#[test]
fn adam_skipping_a_bias_correction_is_caught() {
    caught(
        conformance::adam_step_matches_definition::<Broken<ADAM_SKIPS_BIAS_CORRECTION2>>,
        "Adam skips bias_correction2",
    );
}

#[test]
fn a_bias_added_along_rows_is_caught() {
    caught(
        conformance::matmul_bias_adds_bias_to_every_row::<Broken<BIAS_ALONG_ROWS>>,
        "bias along rows",
    );
}

#[test]
fn a_narrow_ignoring_start_is_caught() {
    caught(
        conformance::narrow_every_axis::<Broken<NARROW_IGNORES_START>>,
        "narrow ignores start",
    );
}

#[test]
fn an_inverted_permute_is_caught() {
    caught(
        conformance::permute_every_permutation::<Broken<PERMUTE_INVERTED>>,
        "permute inverted",
    );
}
