//! AdamW, as `torch.optim.AdamW`: Adam with decoupled weight decay.

use super::{Adam, AdamConfig, OptimError, Optimizer, OptimizerState};
use crate::autograd::no_grad;
use crate::backend::Backend;
use crate::nn::Parameter;

/// The optimizer's name in errors.
const NAME: &str = "AdamW";
/// The kind recorded in a saved state.
const KIND: &str = "adamw";

/// Settings of [`AdamW`], with `torch.optim.AdamW`'s defaults: `lr = 1e-3`,
/// `betas = (0.9, 0.999)`, `eps = 1e-8`, `weight_decay = 1e-2`.
///
/// ```
/// use duograd::optim::AdamWConfig;
/// let c = AdamWConfig::new(3e-4).weight_decay(0.05);
/// assert_eq!((c.lr, c.betas, c.weight_decay), (3e-4, (0.9, 0.999), 0.05));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamWConfig {
    /// Learning rate.
    pub lr: f64,
    /// Decay rates of the first and second moment estimates.
    pub betas: (f64, f64),
    /// Added to the denominator for numerical stability.
    pub eps: f64,
    /// Decoupled weight decay: each step first multiplies the parameter by `1 − lr·weight_decay`.
    pub weight_decay: f64,
    /// Maximize the objective instead of minimizing it.
    pub maximize: bool,
    /// AMSGrad: normalize by the largest second-moment estimate seen so far.
    pub amsgrad: bool,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 1e-2,
            maximize: false,
            amsgrad: false,
        }
    }
}

impl AdamWConfig {
    /// The defaults with learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        AdamWConfig {
            lr,
            ..Self::default()
        }
    }

    /// Sets the learning rate.
    pub fn lr(self, lr: f64) -> Self {
        AdamWConfig { lr, ..self }
    }

    /// Sets the moment decay rates.
    pub fn betas(self, beta1: f64, beta2: f64) -> Self {
        AdamWConfig {
            betas: (beta1, beta2),
            ..self
        }
    }

    /// Sets `eps`.
    pub fn eps(self, eps: f64) -> Self {
        AdamWConfig { eps, ..self }
    }

    /// Sets the decoupled weight decay.
    pub fn weight_decay(self, weight_decay: f64) -> Self {
        AdamWConfig {
            weight_decay,
            ..self
        }
    }

    /// Maximizes instead of minimizing.
    pub fn maximize(self, maximize: bool) -> Self {
        AdamWConfig { maximize, ..self }
    }

    /// Turns AMSGrad on or off.
    pub fn amsgrad(self, amsgrad: bool) -> Self {
        AdamWConfig { amsgrad, ..self }
    }

    /// The Adam settings of the update after the decay: the same, without coupled decay.
    fn adam(&self) -> AdamConfig {
        AdamConfig::new(self.lr)
            .betas(self.betas.0, self.betas.1)
            .eps(self.eps)
            .maximize(self.maximize)
            .amsgrad(self.amsgrad)
    }
}

/// AdamW (Loshchilov & Hutter), as `torch.optim.AdamW`: for each parameter
/// with a gradient, `p ← p·(1 − lr·weight_decay)`, then the [`Adam`] update without weight
/// decay. Unlike Adam's `weight_decay`, the decay does not pass through the moment estimates.
///
/// ```
/// use duograd::nn::{Forward, Linear, Module};
/// use duograd::optim::{AdamW, AdamWConfig, Optimizer};
/// use duograd::Tensor;
/// use duograd::backends::NdArray;
/// use rand::SeedableRng;
///
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let layer = Linear::<NdArray<f64>>::new(3, 1, &mut rng);
/// let mut opt = AdamW::new(layer.parameters(), AdamWConfig::new(0.05).weight_decay(1e-4));
/// let x = Tensor::randn(&[16, 3], 0.0, 1.0, &mut rng);
/// let y = x.matmul(&Tensor::from_f64(&[1.0, -2.0, 0.5], &[3, 1]));
/// for _ in 0..300 {
///     opt.zero_grad();
///     layer.forward(&x).mse_loss(&y).backward().unwrap();
///     opt.step();
/// }
/// assert!(layer.forward(&x).mse_loss(&y).item() < 1e-3);
/// ```
pub struct AdamW<B: Backend> {
    adam: Adam<B>,
    config: AdamWConfig,
}

impl<B: Backend> AdamW<B> {
    /// An AdamW optimizer over `params`.
    ///
    /// # Panics
    /// On a negative learning rate, `eps` or weight decay, a beta outside `[0, 1)`, or an empty
    /// parameter list, as PyTorch raises; see [`AdamW::try_new`] for the same checks as an
    /// error.
    #[track_caller]
    pub fn new(params: impl IntoIterator<Item = Parameter<B>>, config: AdamWConfig) -> Self {
        Self::try_new(params, config).unwrap_or_else(|e| panic!("{e}"))
    }

    /// An AdamW optimizer over `params`, or why there cannot be one.
    ///
    /// # Errors
    /// [`OptimError::InvalidSetting`] for a setting [`AdamW::new`] rejects;
    /// [`OptimError::NoParameters`] if `params` is empty (a module without parameters).
    pub fn try_new(
        params: impl IntoIterator<Item = Parameter<B>>,
        config: AdamWConfig,
    ) -> Result<Self, OptimError> {
        // NaN fails the check, as it fails PyTorch's `0.0 <= weight_decay`.
        let non_negative = config.weight_decay >= 0.0;
        if !non_negative {
            return Err(OptimError::InvalidSetting {
                optimizer: NAME,
                reason: format!("invalid weight_decay {}", config.weight_decay),
            });
        }
        let adam = Adam::try_new(params, config.adam()).map_err(|e| match e {
            OptimError::InvalidSetting { reason, .. } => OptimError::InvalidSetting {
                optimizer: NAME,
                reason,
            },
            OptimError::NoParameters { .. } => OptimError::NoParameters { optimizer: NAME },
            other => other,
        })?;
        Ok(AdamW { adam, config })
    }

    /// The settings.
    pub fn config(&self) -> &AdamWConfig {
        &self.config
    }

    /// The Adam optimizer that makes the update after the decay (its moment estimates).
    pub fn adam(&self) -> &Adam<B> {
        &self.adam
    }
}

impl<B: Backend> Optimizer<B> for AdamW<B> {
    fn step(&mut self) {
        let decay = 1.0 - self.config.lr * self.config.weight_decay;
        if decay != 1.0 {
            let _guard = no_grad();
            for p in self.adam.params().iter().filter(|p| p.grad().is_some()) {
                p.mul_scalar_(decay);
            }
        }
        self.adam.step();
    }

    fn params(&self) -> &[Parameter<B>] {
        self.adam.params()
    }

    fn lr(&self) -> f64 {
        self.config.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.config.lr = lr;
        self.adam.set_lr(lr);
    }

    /// Adam's entries (`state.{i}.exp_avg`, `exp_avg_sq`, `step`), recorded as AdamW's.
    fn state_dict(&self) -> OptimizerState<B> {
        OptimizerState {
            optimizer: KIND.to_string(),
            ..self.adam.state_dict()
        }
    }

    fn load_state_dict(&mut self, state: &OptimizerState<B>) -> Result<(), OptimError> {
        if state.optimizer != KIND {
            return Err(OptimError::WrongOptimizer {
                optimizer: NAME,
                found: state.optimizer.clone(),
            });
        }
        let as_adam = OptimizerState {
            optimizer: self.adam.state_dict().optimizer,
            ..state.clone()
        };
        self.adam.load_state_dict(&as_adam)
    }
}
