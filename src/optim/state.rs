//! [`OptimizerState`]: an optimizer's state as named entries, like PyTorch's
//! `optimizer.state_dict()`, to save with a checkpoint and load into a new optimizer.

use std::collections::HashMap;

use super::OptimError;
use crate::autograd::with_no_grad;
use crate::backend::Backend;
use crate::nn::{Buffer, Counter, Parameter};
use crate::tensor::Tensor;

/// What an optimizer carries from one step to the next, as named entries.
///
/// Entries follow PyTorch's `state_dict()["state"]`: `state.{i}.{field}` for the `i`-th
/// parameter (in the order the optimizer was given them), e.g. `state.0.momentum_buffer` for
/// SGD, `state.3.exp_avg`, `state.3.exp_avg_sq` and `state.3.step` for Adam. A parameter that
/// has not been stepped yet has no entries. Tensors are snapshots: stepping the optimizer
/// afterwards does not change them. Counters (Adam's step) are [`Buffer::Counter`]s.
///
/// The hyperparameters (PyTorch's `param_groups`) are not part of it: they are the
/// optimizer's configuration, which a run records separately.
///
/// ```
/// use duograd::nn::Parameter;
/// use duograd::optim::{Adam, AdamConfig, Optimizer};
/// use duograd::Tensor;
/// use duograd::backends::NdArray;
///
/// let p = Parameter::new(Tensor::<NdArray<f64>>::from_f64(&[1.0, -3.0], &[2]));
/// let mut opt = Adam::new(vec![p.clone()], AdamConfig::new(0.1));
/// p.square().sum().backward().unwrap();
/// opt.step();
/// let state = opt.state_dict();
/// let names: Vec<&str> = state.entries.iter().map(|(n, _)| n.as_str()).collect();
/// assert_eq!(names, ["state.0.exp_avg", "state.0.exp_avg_sq", "state.0.step"]);
///
/// // A fresh optimizer for the same parameters continues where this one stands.
/// let mut copy = Adam::new(vec![p.clone()], AdamConfig::new(0.1));
/// copy.load_state_dict(&state)?;
/// # Ok::<(), duograd::optim::OptimError>(())
/// ```
pub struct OptimizerState<B: Backend> {
    /// The optimizer's kind: `"sgd"` or `"adam"`.
    pub optimizer: String,
    /// How many parameters the optimizer updates.
    pub num_params: usize,
    /// The entries, parameter by parameter.
    pub entries: Vec<(String, Buffer<B>)>,
}

impl<B: Backend> Clone for OptimizerState<B> {
    fn clone(&self) -> Self {
        OptimizerState {
            optimizer: self.optimizer.clone(),
            num_params: self.num_params,
            entries: self.entries.clone(),
        }
    }
}

impl<B: Backend> std::fmt::Debug for OptimizerState<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OptimizerState")
            .field("optimizer", &self.optimizer)
            .field("num_params", &self.num_params)
            .field("entries", &self.entries)
            .finish()
    }
}

/// The name of parameter `i`'s `field`.
pub(crate) fn entry_name(i: usize, field: &str) -> String {
    format!("state.{i}.{field}")
}

/// A snapshot of `t`: the storage is shared until either side is updated in place, which
/// copies it first.
pub(crate) fn snapshot<B: Backend>(t: &Tensor<B>) -> Buffer<B> {
    Buffer::Tensor(Tensor::from_storage(t.storage()))
}

/// A state checked against an optimizer's kind and parameters, its entries grouped by
/// parameter.
pub(crate) struct StateReader<'a, B: Backend> {
    optimizer: &'static str,
    params: &'a [Parameter<B>],
    by_param: Vec<HashMap<&'a str, &'a Buffer<B>>>,
}

impl<'a, B: Backend> StateReader<'a, B> {
    /// Checks the kind, the parameter count and every entry's name (`state.{i}.{field}` with
    /// `i` a parameter and `field` one of `fields`).
    pub(crate) fn new(
        state: &'a OptimizerState<B>,
        optimizer: &'static str,
        kind: &str,
        params: &'a [Parameter<B>],
        fields: &[&str],
    ) -> Result<Self, OptimError> {
        if state.optimizer != kind {
            return Err(OptimError::WrongOptimizer {
                optimizer,
                found: state.optimizer.clone(),
            });
        }
        if state.num_params != params.len() {
            return Err(OptimError::ParamCount {
                optimizer,
                expected: params.len(),
                found: state.num_params,
            });
        }
        let mut by_param: Vec<HashMap<&str, &Buffer<B>>> = vec![HashMap::new(); params.len()];
        for (name, entry) in &state.entries {
            let parsed = name
                .strip_prefix("state.")
                .and_then(|rest| rest.split_once('.'))
                .and_then(|(i, field)| Some((i.parse::<usize>().ok()?, field)))
                .filter(|(i, field)| *i < params.len() && fields.contains(field));
            let Some((i, field)) = parsed else {
                return Err(OptimError::UnexpectedEntry {
                    optimizer,
                    name: name.clone(),
                });
            };
            by_param[i].insert(field, entry);
        }
        Ok(StateReader {
            optimizer,
            params,
            by_param,
        })
    }

    /// Whether parameter `i` has any entry.
    pub(crate) fn has_state(&self, i: usize) -> bool {
        !self.by_param[i].is_empty()
    }

    fn entry(&self, i: usize, field: &str) -> Result<&'a Buffer<B>, OptimError> {
        self.by_param[i]
            .get(field)
            .copied()
            .ok_or_else(|| OptimError::MissingEntry {
                optimizer: self.optimizer,
                name: entry_name(i, field),
            })
    }

    /// Parameter `i`'s tensor `field`, checked against the parameter's shape, as a new tensor
    /// laid out like the parameter.
    pub(crate) fn tensor(&self, i: usize, field: &str) -> Result<Tensor<B>, OptimError> {
        let Buffer::Tensor(value) = self.entry(i, field)? else {
            return Err(OptimError::EntryKind {
                optimizer: self.optimizer,
                name: entry_name(i, field),
                expected: "a tensor",
            });
        };
        let param = &self.params[i];
        if value.shape() != param.shape() {
            return Err(OptimError::ShapeMismatch {
                optimizer: self.optimizer,
                name: entry_name(i, field),
                expected: param.shape().to_vec(),
                found: value.shape().to_vec(),
            });
        }
        // Allocated as the optimizer allocates its own state, then filled.
        let tensor = param.zeros_like();
        with_no_grad(|| tensor.copy_(value));
        Ok(tensor)
    }

    /// Parameter `i`'s counter `field`.
    pub(crate) fn counter(&self, i: usize, field: &str) -> Result<i64, OptimError> {
        match self.entry(i, field)? {
            Buffer::Counter(c) => Ok(c.get()),
            Buffer::Tensor(_) => Err(OptimError::EntryKind {
                optimizer: self.optimizer,
                name: entry_name(i, field),
                expected: "an integer counter",
            }),
        }
    }
}

/// A counter entry holding `value`.
pub(crate) fn counter_entry<B: Backend>(value: i64) -> Buffer<B> {
    Buffer::Counter(Counter::new(value))
}
