//! Errors of the autograd engine.

use thiserror::Error;

/// Why a backward pass could not run. Nothing is written to any gradient when one is returned
/// before the walk starts; errors found during the walk name the op where it stopped.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AutogradError {
    /// `backward()` was called on a tensor with more than one element.
    #[error(
        "backward() needs a one-element output, but the output has shape {shape:?}; \
         pass the output gradient explicitly with backward_with(grad)"
    )]
    NonScalarOutput {
        /// Shape of the tensor `backward()` was called on.
        shape: Vec<usize>,
    },
    /// The tensor does not require grad, so there is no graph to walk.
    #[error(
        "backward() on a tensor that does not require grad: no input of it requires grad, \
         or it was computed under no_grad"
    )]
    NoGraph,
    /// The gradient given to `backward_with` has the wrong shape.
    #[error("backward_with: gradient of shape {got:?} for an output of shape {expected:?}")]
    GradShape {
        /// The output's shape.
        expected: Vec<usize>,
        /// The given gradient's shape.
        got: Vec<usize>,
    },
    /// A gradient has to flow through an op with no backward in the registry.
    #[error(
        "op '{op}' has no backward registered for this backend; register one with \
         duograd::autograd::register_op before calling backward"
    )]
    BackwardNotRegistered {
        /// Name of the op.
        op: String,
    },
    /// The op is registered, but not differentiable with respect to this input.
    #[error("op '{op}' is not differentiable with respect to its input {input}")]
    NotDifferentiable {
        /// Name of the op.
        op: String,
        /// Position of the input.
        input: usize,
    },
    /// A tensor saved for backward was modified in place after the op used it.
    #[error(
        "a tensor needed by the backward of '{op}' ({which}) was modified in place after the \
         forward pass (its version is {now}, expected {saved}); compute the graph again after \
         the in-place update, or update a copy"
    )]
    ModifiedInPlace {
        /// Name of the op whose saved tensor changed.
        op: String,
        /// Which tensor: `input N` or `output`.
        which: String,
        /// Version when the op was recorded.
        saved: u64,
        /// Version now.
        now: u64,
    },
    /// A backward function returned a gradient whose shape differs from its input's.
    #[error(
        "the backward of '{op}' returned a gradient of shape {got:?} for input {input} of \
         shape {expected:?}"
    )]
    BadBackwardShape {
        /// Name of the op.
        op: String,
        /// Position of the input.
        input: usize,
        /// The input's shape.
        expected: Vec<usize>,
        /// The returned gradient's shape.
        got: Vec<usize>,
    },
}
