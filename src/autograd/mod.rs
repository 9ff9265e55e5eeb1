//! Reverse-mode automatic differentiation: grad mode, the backward registry, the engine, and
//! graph inspection.
//!
//! Every differentiable op records a [`record::Attrs`]-carrying node naming the op; `backward`
//! orders the graph by node id (no recursion), looks each node's backward functions up in the
//! [`registry`], and sums the gradients that reach each tensor.

pub(crate) mod engine;
pub(crate) mod grad_mode;
pub(crate) mod graph;
pub(crate) mod record;
pub(crate) mod registry;

pub use engine::grad;
pub use grad_mode::{
    enable_grad, is_grad_enabled, no_grad, with_grad_mode, with_no_grad, GradModeGuard,
};
pub use graph::GradFnInfo;
pub use record::Attrs;
pub use registry::{register_op, registry, BackwardArgs, BackwardFn, OpEntry, Registry};
