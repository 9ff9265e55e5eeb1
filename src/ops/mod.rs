//! The built-in ops, one family per file, each op's forward beside its backward.
//!
//! Adding an op: write its forward (a `Tensor` method ending in [`Tensor::from_op`]) and its
//! backward in the family's file, add one `register` line there, and add a case to the test
//! tables (`tests/common/cases.rs`); the registry-completeness test fails until that is done.
//! Composite ops (softmax, mean, index_select, …) need no backward of their own.

mod activation;
mod binary;
pub(crate) mod conv;
mod dropout;
mod einsum;
mod elementwise;
mod index;
mod layer_norm;
mod layout;
pub(crate) mod loss;
mod matmul;
mod norm;
mod overload;
pub(crate) mod pool;
mod reduce;
mod select;
mod slice;
mod softmax;
mod statistics;

use crate::autograd::Registry;
use crate::backend::Backend;
#[allow(unused_imports)] // for the doc link above
use crate::tensor::Tensor;

/// Registers every built-in op's backward functions for backend `B`.
pub(crate) fn register_builtins<B: Backend>(r: &Registry<B>) {
    elementwise::register(r);
    binary::register(r);
    reduce::register(r);
    layout::register(r);
    index::register(r);
    matmul::register(r);
    loss::register(r);
    conv::register(r);
    pool::register(r);
    norm::register(r);
    select::register(r);
}
