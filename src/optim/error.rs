//! [`OptimError`]: why an optimizer cannot be built or its state loaded.

use thiserror::Error;

/// Why an optimizer could not be built, or a saved state not loaded into it. Each variant names
/// the optimizer and, where there is one, the state entry.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum OptimError {
    /// A setting out of range (a negative learning rate, a beta outside `[0, 1)`, Nesterov
    /// momentum without momentum), as PyTorch rejects it.
    #[error("{optimizer}: {reason}")]
    InvalidSetting {
        /// The optimizer (`"Sgd"`, `"Adam"`).
        optimizer: &'static str,
        /// The setting and its value (`"invalid learning rate -1"`).
        reason: String,
    },
    /// The parameter list is empty: the optimizer would have nothing to update (PyTorch raises
    /// "optimizer got an empty parameter list").
    #[error(
        "{optimizer}: no parameters to optimize (the module has none, or an empty list was \
         given); an optimizer needs at least one parameter"
    )]
    NoParameters {
        /// The optimizer (`"Sgd"`, `"Adam"`).
        optimizer: &'static str,
    },
    /// The state was saved by another kind of optimizer.
    #[error("{optimizer}: the state was saved by {found}, not by {optimizer}")]
    WrongOptimizer {
        /// The optimizer loading the state.
        optimizer: &'static str,
        /// The kind recorded in the state (`"adam"`).
        found: String,
    },
    /// The state was saved for another number of parameters.
    #[error("{optimizer}: the state is for {found} parameters, but the optimizer has {expected}")]
    ParamCount {
        /// The optimizer loading the state.
        optimizer: &'static str,
        /// Parameters of the optimizer.
        expected: usize,
        /// Parameters the state was saved for.
        found: usize,
    },
    /// A state tensor's shape differs from its parameter's.
    #[error(
        "{optimizer}: state entry '{name}' has shape {found:?}, but its parameter has shape \
         {expected:?}"
    )]
    ShapeMismatch {
        /// The optimizer loading the state.
        optimizer: &'static str,
        /// The entry (`"state.0.exp_avg"`).
        name: String,
        /// The parameter's shape.
        expected: Vec<usize>,
        /// The entry's shape.
        found: Vec<usize>,
    },
    /// An entry the optimizer needs is not in the state.
    #[error("{optimizer}: state entry '{name}' is missing")]
    MissingEntry {
        /// The optimizer loading the state.
        optimizer: &'static str,
        /// The entry.
        name: String,
    },
    /// The state holds an entry the optimizer does not know (a field it does not have, or a
    /// parameter index beyond its parameters).
    #[error("{optimizer}: unexpected state entry '{name}'")]
    UnexpectedEntry {
        /// The optimizer loading the state.
        optimizer: &'static str,
        /// The entry.
        name: String,
    },
    /// An entry is a tensor where a counter is expected, or the other way round.
    #[error("{optimizer}: state entry '{name}' should be {expected}")]
    EntryKind {
        /// The optimizer loading the state.
        optimizer: &'static str,
        /// The entry.
        name: String,
        /// What it should be (`"an integer counter"`, `"a tensor"`).
        expected: &'static str,
    },
    /// A counter holds a value out of range (a negative step count).
    #[error("{optimizer}: state entry '{name}' holds {value}, which is not a valid {what}")]
    InvalidValue {
        /// The optimizer loading the state.
        optimizer: &'static str,
        /// The entry.
        name: String,
        /// The value.
        value: i64,
        /// What it should be (`"step count"`).
        what: &'static str,
    },
}
