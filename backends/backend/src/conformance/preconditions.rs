//! Broken preconditions: the trait's contract lets kernels assume them, but a kernel "still
//! panics (never returns garbage) if one is broken".

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::{Backend, BinaryOp, Element, ReduceOp, Reduction};

use super::support::{store, values, who};

/// Asserts that `f` panics.
#[track_caller]
fn must_panic<B: Backend>(what: &str, f: impl FnOnce()) {
    let result = catch_unwind(AssertUnwindSafe(f));
    assert!(
        result.is_err(),
        "{}: {what} returned instead of panicking",
        who::<B>()
    );
}

/// Every method panics rather than returning garbage when its documented preconditions are
/// broken: data of the wrong length, indices out of range, shapes that do not broadcast or
/// multiply, out-of-bounds narrows, mismatched concatenations and in-place operands, reduction
/// and argmax axes out of range, labels out of range.
pub fn broken_preconditions_panic<B: Backend>() {
    let e = B::Elem::of;
    let x = store::<B>(&values::<B::Elem>(6, 7000), &[2, 3]);
    let x = &x;
    must_panic::<B>("from_vec of 2 values for shape [3]", || {
        drop(B::from_vec(vec![e(1.0), e(2.0)], &[3]))
    });
    must_panic::<B>("from_vec of 7 values for shape [2, 3]", || {
        drop(B::from_vec(vec![e(1.0); 7], &[2, 3]))
    });
    must_panic::<B>("take at index 6 of 6 elements", || {
        drop(B::take(x, &[0, 6]))
    });
    must_panic::<B>("take at index 100 of 6 elements", || {
        drop(B::take(x, &[100]))
    });
    must_panic::<B>("scatter_add at index 6 of [2, 3]", || {
        drop(B::scatter_add(&[2, 3], &[6], &store::<B>(&[1.0], &[1])))
    });
    must_panic::<B>("scatter_add of 3 values at 2 indices", || {
        drop(B::scatter_add(
            &[2, 3],
            &[0, 1],
            &store::<B>(&[1.0; 3], &[3]),
        ))
    });
    must_panic::<B>("binary of [2, 3] and [3, 2]", || {
        drop(B::binary(x, &B::permute(x, &[1, 0]), BinaryOp::Add))
    });
    must_panic::<B>("binary of [2, 3] and [2]", || {
        drop(B::binary(x, &store::<B>(&[1.0, 2.0], &[2]), BinaryOp::Mul))
    });
    must_panic::<B>("matmul of [2, 3] and [2, 3]", || {
        drop(B::matmul(x, x, false, false))
    });
    must_panic::<B>("matmul of [2, 3]ᵀ and [2, 3]ᵀ", || {
        drop(B::matmul(x, x, true, true))
    });
    must_panic::<B>("matmul of [2, 3] and a 1-D [3]", || {
        drop(B::matmul(x, &store::<B>(&[1.0; 3], &[3]), false, false))
    });
    must_panic::<B>("matmul_bias with 3 bias values for 2 columns", || {
        drop(B::matmul_bias(
            x,
            x,
            &store::<B>(&[1.0; 3], &[3]),
            false,
            true,
        ))
    });
    must_panic::<B>("reshape of 6 elements to [4]", || drop(B::reshape(x, &[4])));
    must_panic::<B>("permute of rank 2 by [0, 1, 2]", || {
        drop(B::permute(x, &[0, 1, 2]))
    });
    must_panic::<B>("expand of [2, 3] to [2, 4]", || drop(B::expand(x, &[2, 4])));
    must_panic::<B>("expand of [2, 3] to [3]", || drop(B::expand(x, &[3])));
    must_panic::<B>("narrow of [2, 3] along 1 from 2 len 2", || {
        drop(B::narrow(x, 1, 2, 2))
    });
    must_panic::<B>("narrow of [2, 3] along 2", || drop(B::narrow(x, 2, 0, 1)));
    must_panic::<B>("concat of [2, 3] and [2, 2] along 0", || {
        drop(B::concat(&[x.clone(), B::narrow(x, 1, 0, 2)], 0))
    });
    must_panic::<B>("concat of nothing", || drop(B::concat(&[], 0)));
    must_panic::<B>("axpy_in_place of [2, 3] and [3, 2]", || {
        let mut d = x.clone();
        B::axpy_in_place(&mut d, e(1.0), &B::permute(x, &[1, 0]));
    });
    must_panic::<B>("reduce of rank 2 over axis 2", || {
        drop(B::reduce(x, &[2], false, ReduceOp::Sum))
    });
    must_panic::<B>("argmax of rank 2 along axis 2", || drop(B::argmax(x, 2)));
    must_panic::<B>("argmax along an empty axis", || {
        drop(B::argmax(&B::full(&[2, 0], e(1.0)), 1))
    });
    must_panic::<B>("cross_entropy with label 3 of 3 classes", || {
        drop(B::cross_entropy(x, &[0, 3], Reduction::Mean))
    });
}
