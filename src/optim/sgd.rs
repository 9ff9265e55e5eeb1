//! Stochastic gradient descent with momentum, dampening, weight decay and Nesterov momentum,
//! as `torch.optim.SGD`.

use super::state::{entry_name, snapshot, StateReader};
use super::{OptimError, Optimizer, OptimizerState};
use crate::autograd::no_grad;
use crate::backend::Backend;
use crate::nn::Parameter;
use crate::tensor::Tensor;
use crate::MomentumStep;

/// The name errors give.
const NAME: &str = "Sgd";
/// The kind recorded in a saved state.
const KIND: &str = "sgd";
/// The state's one field per parameter, as PyTorch names it.
const MOMENTUM_BUFFER: &str = "momentum_buffer";

/// Settings of [`Sgd`], with `torch.optim.SGD`'s defaults; set them builder-style.
///
/// ```
/// use duograd::optim::SgdConfig;
/// let config = SgdConfig::new(0.1).momentum(0.9).nesterov(true).weight_decay(5e-4);
/// assert_eq!(config.dampening, 0.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdConfig {
    /// Learning rate (default `1e-3`).
    pub lr: f64,
    /// Momentum factor (default `0`: plain SGD).
    pub momentum: f64,
    /// Dampening of the momentum update (default `0`); not applied on the first step.
    pub dampening: f64,
    /// L2 penalty added to the gradient: `g + weight_decay · p` (default `0`).
    pub weight_decay: f64,
    /// Nesterov momentum (default `false`); needs `momentum > 0` and `dampening == 0`.
    pub nesterov: bool,
    /// Ascend instead of descend (default `false`).
    pub maximize: bool,
}

impl Default for SgdConfig {
    fn default() -> Self {
        SgdConfig {
            lr: 1e-3,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
            maximize: false,
        }
    }
}

impl SgdConfig {
    /// The defaults with learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        SgdConfig {
            lr,
            ..Self::default()
        }
    }

    /// Sets the learning rate.
    pub fn lr(self, lr: f64) -> Self {
        SgdConfig { lr, ..self }
    }

    /// Sets the momentum factor.
    pub fn momentum(self, momentum: f64) -> Self {
        SgdConfig { momentum, ..self }
    }

    /// Sets the dampening.
    pub fn dampening(self, dampening: f64) -> Self {
        SgdConfig { dampening, ..self }
    }

    /// Sets the weight decay (L2 penalty).
    pub fn weight_decay(self, weight_decay: f64) -> Self {
        SgdConfig {
            weight_decay,
            ..self
        }
    }

    /// Turns Nesterov momentum on or off.
    pub fn nesterov(self, nesterov: bool) -> Self {
        SgdConfig { nesterov, ..self }
    }

    /// Maximizes instead of minimizing.
    pub fn maximize(self, maximize: bool) -> Self {
        SgdConfig { maximize, ..self }
    }

    fn validate(&self) -> Result<(), OptimError> {
        let SgdConfig {
            lr,
            momentum,
            dampening,
            weight_decay,
            nesterov,
            ..
        } = *self;
        let invalid = |reason: String| {
            Err(OptimError::InvalidSetting {
                optimizer: NAME,
                reason,
            })
        };
        if lr < 0.0 || lr.is_nan() {
            return invalid(format!("invalid learning rate {lr}"));
        }
        if momentum < 0.0 || momentum.is_nan() {
            return invalid(format!("invalid momentum {momentum}"));
        }
        if weight_decay < 0.0 || weight_decay.is_nan() {
            return invalid(format!("invalid weight_decay {weight_decay}"));
        }
        if nesterov && !(momentum > 0.0 && dampening == 0.0) {
            return invalid(format!(
                "Nesterov momentum requires a momentum and zero dampening \
                 (got momentum {momentum}, dampening {dampening})"
            ));
        }
        Ok(())
    }
}

/// Stochastic gradient descent, with the update of `torch.optim.SGD`:
///
/// ```text
/// g = grad + weight_decay · p                  (−grad when maximizing)
/// b = g                                        on the first step (no dampening)
/// b = momentum · b + (1 − dampening) · g       afterwards
/// p = p − lr · (g + momentum · b)              with Nesterov
/// p = p − lr · b                               without (or p − lr · g when momentum = 0)
/// ```
///
/// The update runs in place, expressed so that it needs no temporary tensor; the momentum
/// buffers are allocated once, at the first step.
///
/// ```
/// use duograd::nn::Parameter;
/// use duograd::optim::{Optimizer, Sgd, SgdConfig};
/// use duograd::Tensor;
/// use duograd::backends::NdArray;
///
/// let p = Parameter::new(Tensor::<NdArray<f64>>::from_f64(&[1.0, -1.0], &[2]));
/// let mut opt = Sgd::new(vec![p.clone()], SgdConfig::new(0.5));
/// p.square().sum().backward().unwrap(); // grad = 2p
/// opt.step();
/// assert_eq!(p.to_vec(), vec![0.0, 0.0]);
/// ```
pub struct Sgd<B: Backend> {
    params: Vec<Parameter<B>>,
    config: SgdConfig,
    momentum_buffers: Vec<Option<Tensor<B>>>,
}

impl<B: Backend> Sgd<B> {
    /// An optimizer for `params` with `config`.
    ///
    /// # Panics
    /// On an invalid setting (negative learning rate, momentum or weight decay; Nesterov
    /// without momentum or with dampening) or an empty parameter list, as PyTorch raises; see
    /// [`Sgd::try_new`] for the same checks as an error.
    #[track_caller]
    pub fn new(params: impl IntoIterator<Item = Parameter<B>>, config: SgdConfig) -> Self {
        Self::try_new(params, config).unwrap_or_else(|e| panic!("{e}"))
    }

    /// An optimizer for `params` with `config`, or why there cannot be one.
    ///
    /// # Errors
    /// [`OptimError::InvalidSetting`] for a setting [`Sgd::new`] rejects;
    /// [`OptimError::NoParameters`] if `params` is empty (a module without parameters).
    ///
    /// ```
    /// use duograd::nn::{Module, ReLU};
    /// use duograd::optim::{OptimError, Sgd, SgdConfig};
    /// use duograd::backends::NdArray;
    ///
    /// let relu = ReLU::new();
    /// let params = Module::<NdArray<f32>>::parameters(&relu);
    /// let err = Sgd::try_new(params, SgdConfig::new(0.1)).err().unwrap();
    /// assert_eq!(err, OptimError::NoParameters { optimizer: "Sgd" });
    /// ```
    pub fn try_new(
        params: impl IntoIterator<Item = Parameter<B>>,
        config: SgdConfig,
    ) -> Result<Self, OptimError> {
        config.validate()?;
        let params: Vec<Parameter<B>> = params.into_iter().collect();
        if params.is_empty() {
            return Err(OptimError::NoParameters { optimizer: NAME });
        }
        let momentum_buffers = vec![None; params.len()];
        Ok(Sgd {
            params,
            config,
            momentum_buffers,
        })
    }

    /// The settings.
    pub fn config(&self) -> &SgdConfig {
        &self.config
    }
}

impl<B: Backend> Optimizer<B> for Sgd<B> {
    fn step(&mut self) {
        let _guard = no_grad();
        let SgdConfig {
            lr,
            momentum,
            dampening,
            weight_decay: wd,
            nesterov,
            maximize,
        } = self.config;
        let step = MomentumStep {
            lr,
            momentum,
            dampening,
            weight_decay: wd,
            nesterov,
            maximize,
        };
        let s = step.sign();
        for (p, slot) in self.params.iter().zip(&mut self.momentum_buffers) {
            let Some(g) = p.grad() else { continue };
            if momentum == 0.0 {
                // p ← p − lr·(s·g + wd·p)
                if wd != 0.0 {
                    p.mul_scalar_(1.0 - lr * wd);
                }
                p.add_scaled_(-lr * s, &g);
                continue;
            }
            if let Some(buf) = slot {
                // b ← momentum·b + (1 − dampening)·(s·g + wd·p), then p, in one backend call.
                let grad = g.storage();
                p.update_in_place("sgd", |p| {
                    buf.update_in_place("sgd", |b| B::sgd_momentum_step(p, b, &grad, &step));
                });
                continue;
            }
            // The first step: b ← s·g + wd·p, a new tensor (the in-place updates copy the data
            // shared with `.grad`).
            let buf = Tensor::from_storage(g.storage());
            if s < 0.0 {
                buf.mul_scalar_(-1.0);
            }
            if wd != 0.0 {
                buf.add_scaled_(wd, p);
            }
            let buf = slot.insert(buf);
            if nesterov {
                // p ← p − lr·(s·g + wd·p + momentum·b), p read before the update.
                if wd != 0.0 {
                    p.mul_scalar_(1.0 - lr * wd);
                }
                p.add_scaled_(-lr * s, &g);
                p.add_scaled_(-lr * momentum, buf);
            } else {
                p.add_scaled_(-lr, buf);
            }
        }
    }

    fn params(&self) -> &[Parameter<B>] {
        &self.params
    }

    fn lr(&self) -> f64 {
        self.config.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.config.lr = lr;
    }

    fn state_dict(&self) -> OptimizerState<B> {
        let entries = self
            .momentum_buffers
            .iter()
            .enumerate()
            .filter_map(|(i, b)| Some((entry_name(i, MOMENTUM_BUFFER), snapshot(b.as_ref()?))))
            .collect();
        OptimizerState {
            optimizer: KIND.to_string(),
            num_params: self.params.len(),
            entries,
        }
    }

    fn load_state_dict(&mut self, state: &OptimizerState<B>) -> Result<(), OptimError> {
        let reader = StateReader::new(state, NAME, KIND, &self.params, &[MOMENTUM_BUFFER])?;
        let buffers = (0..self.params.len())
            .map(|i| {
                reader
                    .has_state(i)
                    .then(|| reader.tensor(i, MOMENTUM_BUFFER))
                    .transpose()
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.momentum_buffers = buffers;
        Ok(())
    }
}
