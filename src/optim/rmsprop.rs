//! RMSprop, as `torch.optim.RMSprop`.

use super::state::{counter_entry, entry_name, snapshot, StateReader};
use super::{OptimError, Optimizer, OptimizerState};
use crate::autograd::no_grad;
use crate::backend::Backend;
use crate::nn::Parameter;
use crate::tensor::Tensor;

/// The optimizer's name in errors.
const NAME: &str = "RMSprop";
/// The kind recorded in a saved state.
const KIND: &str = "rmsprop";
// PyTorch's names of the state entries.
const SQUARE_AVG: &str = "square_avg";
const GRAD_AVG: &str = "grad_avg";
const MOMENTUM_BUFFER: &str = "momentum_buffer";
const STEP: &str = "step";

/// Settings of [`RMSprop`], with `torch.optim.RMSprop`'s defaults: `lr = 1e-2`,
/// `alpha = 0.99`, `eps = 1e-8`, no weight decay, no momentum, not centered.
///
/// ```
/// use duograd::optim::RMSpropConfig;
/// let c = RMSpropConfig::new(1e-3).momentum(0.9).centered(true);
/// assert_eq!((c.alpha, c.momentum, c.centered), (0.99, 0.9, true));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RMSpropConfig {
    /// Learning rate.
    pub lr: f64,
    /// Smoothing constant of the running average of squared gradients.
    pub alpha: f64,
    /// Added to the denominator for numerical stability.
    pub eps: f64,
    /// L2 penalty, added to the gradient (`g + weight_decay·p`).
    pub weight_decay: f64,
    /// Momentum of the update (0: none).
    pub momentum: f64,
    /// Normalize by the estimated variance of the gradient (the average of squares minus the
    /// square of the running average) instead of the average of squares.
    pub centered: bool,
    /// Maximize the objective instead of minimizing it.
    pub maximize: bool,
}

impl Default for RMSpropConfig {
    fn default() -> Self {
        RMSpropConfig {
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
            maximize: false,
        }
    }
}

impl RMSpropConfig {
    /// The defaults with learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        RMSpropConfig {
            lr,
            ..Self::default()
        }
    }

    /// Sets the learning rate.
    pub fn lr(self, lr: f64) -> Self {
        RMSpropConfig { lr, ..self }
    }

    /// Sets the smoothing constant.
    pub fn alpha(self, alpha: f64) -> Self {
        RMSpropConfig { alpha, ..self }
    }

    /// Sets `eps`.
    pub fn eps(self, eps: f64) -> Self {
        RMSpropConfig { eps, ..self }
    }

    /// Sets the L2 weight decay.
    pub fn weight_decay(self, weight_decay: f64) -> Self {
        RMSpropConfig {
            weight_decay,
            ..self
        }
    }

    /// Sets the momentum.
    pub fn momentum(self, momentum: f64) -> Self {
        RMSpropConfig { momentum, ..self }
    }

    /// Centered RMSprop.
    pub fn centered(self, centered: bool) -> Self {
        RMSpropConfig { centered, ..self }
    }

    /// Maximizes instead of minimizing.
    pub fn maximize(self, maximize: bool) -> Self {
        RMSpropConfig { maximize, ..self }
    }

    fn validate(&self) -> Result<(), OptimError> {
        let RMSpropConfig {
            lr,
            alpha,
            eps,
            weight_decay,
            momentum,
            ..
        } = *self;
        // NaN fails every check, as it fails PyTorch's `0.0 <= lr`.
        let at_least_zero = |x: f64| x >= 0.0;
        let reason = if !at_least_zero(lr) {
            format!("invalid learning rate {lr}")
        } else if !at_least_zero(eps) {
            format!("invalid eps {eps}")
        } else if !at_least_zero(alpha) {
            format!("invalid alpha {alpha}")
        } else if !at_least_zero(momentum) {
            format!("invalid momentum {momentum}")
        } else if !at_least_zero(weight_decay) {
            format!("invalid weight_decay {weight_decay}")
        } else {
            return Ok(());
        };
        Err(OptimError::InvalidSetting {
            optimizer: NAME,
            reason,
        })
    }
}

/// One parameter's running averages, made at its first step.
struct RMSpropState<B: Backend> {
    step: i64,
    square_avg: Tensor<B>,
    grad_avg: Option<Tensor<B>>,
    momentum_buffer: Option<Tensor<B>>,
}

/// RMSprop (Hinton), as `torch.optim.RMSprop`. With `g` the gradient (negated under
/// `maximize`, plus `weight_decay·p`):
///
/// - `v ← alpha·v + (1 − alpha)·g²`;
/// - centered: `m ← m + (1 − alpha)·(g − m)` and `d = √(v − m²) + eps`, else `d = √v + eps`;
/// - with momentum: `b ← momentum·b + g/d` and `p ← p − lr·b`, else `p ← p − lr·g/d`.
///
/// ```
/// use duograd::nn::{Forward, Linear, Module};
/// use duograd::optim::{Optimizer, RMSprop, RMSpropConfig};
/// use duograd::Tensor;
/// use duograd::backends::NdArray;
/// use rand::SeedableRng;
///
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let layer = Linear::<NdArray<f64>>::new(3, 1, &mut rng);
/// let mut opt = RMSprop::new(layer.parameters(), RMSpropConfig::new(0.01));
/// let x = Tensor::randn(&[16, 3], 0.0, 1.0, &mut rng);
/// let y = x.matmul(&Tensor::from_f64(&[1.0, -2.0, 0.5], &[3, 1]));
/// let before = layer.forward(&x).mse_loss(&y).item();
/// for _ in 0..200 {
///     opt.zero_grad();
///     layer.forward(&x).mse_loss(&y).backward().unwrap();
///     opt.step();
/// }
/// assert!(layer.forward(&x).mse_loss(&y).item() < 0.01 * before);
/// ```
pub struct RMSprop<B: Backend> {
    params: Vec<Parameter<B>>,
    config: RMSpropConfig,
    state: Vec<Option<RMSpropState<B>>>,
}

impl<B: Backend> RMSprop<B> {
    /// An RMSprop optimizer over `params`.
    ///
    /// # Panics
    /// On a negative learning rate, `alpha`, `eps`, momentum or weight decay, or an empty
    /// parameter list, as PyTorch raises; see [`RMSprop::try_new`] for the same checks as an
    /// error.
    #[track_caller]
    pub fn new(params: impl IntoIterator<Item = Parameter<B>>, config: RMSpropConfig) -> Self {
        Self::try_new(params, config).unwrap_or_else(|e| panic!("{e}"))
    }

    /// An RMSprop optimizer over `params`, or why there cannot be one.
    ///
    /// # Errors
    /// [`OptimError::InvalidSetting`] for a setting [`RMSprop::new`] rejects;
    /// [`OptimError::NoParameters`] if `params` is empty (a module without parameters).
    pub fn try_new(
        params: impl IntoIterator<Item = Parameter<B>>,
        config: RMSpropConfig,
    ) -> Result<Self, OptimError> {
        config.validate()?;
        let params: Vec<Parameter<B>> = params.into_iter().collect();
        if params.is_empty() {
            return Err(OptimError::NoParameters { optimizer: NAME });
        }
        let state = (0..params.len()).map(|_| None).collect();
        Ok(RMSprop {
            params,
            config,
            state,
        })
    }

    /// The settings.
    pub fn config(&self) -> &RMSpropConfig {
        &self.config
    }
}

impl<B: Backend> Optimizer<B> for RMSprop<B> {
    fn step(&mut self) {
        let _guard = no_grad();
        let RMSpropConfig {
            lr,
            alpha,
            eps,
            weight_decay,
            momentum,
            centered,
            maximize,
        } = self.config;
        for (p, slot) in self.params.iter().zip(&mut self.state) {
            let Some(mut g) = p.grad() else { continue };
            if maximize {
                g = g.neg();
            }
            if weight_decay != 0.0 {
                g = &g + &(&**p * weight_decay);
            }
            let st = slot.get_or_insert_with(|| RMSpropState {
                step: 0,
                square_avg: p.zeros_like(),
                grad_avg: centered.then(|| p.zeros_like()),
                momentum_buffer: (momentum > 0.0).then(|| p.zeros_like()),
            });
            st.step += 1;
            st.square_avg.mul_scalar_(alpha);
            st.square_avg.add_scaled_(1.0 - alpha, &g.square());
            let denominator = match &st.grad_avg {
                Some(m) => {
                    m.add_scaled_(1.0 - alpha, &(&g - m));
                    (&st.square_avg - &m.square()).sqrt()
                }
                None => st.square_avg.sqrt(),
            }
            .add_scalar(eps);
            let update = g.div(&denominator);
            match &st.momentum_buffer {
                Some(b) => {
                    b.mul_scalar_(momentum);
                    b.add_(&update);
                    p.add_scaled_(-lr, b);
                }
                None => p.add_scaled_(-lr, &update),
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

    /// PyTorch's entries: `state.{i}.step`, `square_avg`, and `grad_avg` (centered) and
    /// `momentum_buffer` (with momentum).
    fn state_dict(&self) -> OptimizerState<B> {
        let mut entries = Vec::new();
        for (i, st) in self.state.iter().enumerate() {
            let Some(st) = st else { continue };
            entries.push((entry_name(i, STEP), counter_entry(st.step)));
            entries.push((entry_name(i, SQUARE_AVG), snapshot(&st.square_avg)));
            if let Some(m) = &st.grad_avg {
                entries.push((entry_name(i, GRAD_AVG), snapshot(m)));
            }
            if let Some(b) = &st.momentum_buffer {
                entries.push((entry_name(i, MOMENTUM_BUFFER), snapshot(b)));
            }
        }
        OptimizerState {
            optimizer: KIND.to_string(),
            num_params: self.params.len(),
            entries,
        }
    }

    fn load_state_dict(&mut self, state: &OptimizerState<B>) -> Result<(), OptimError> {
        let RMSpropConfig {
            centered, momentum, ..
        } = self.config;
        let mut fields = vec![STEP, SQUARE_AVG];
        if centered {
            fields.push(GRAD_AVG);
        }
        if momentum > 0.0 {
            fields.push(MOMENTUM_BUFFER);
        }
        let reader = StateReader::new(state, NAME, KIND, &self.params, &fields)?;
        let mut loaded = Vec::with_capacity(self.params.len());
        for i in 0..self.params.len() {
            if !reader.has_state(i) {
                loaded.push(None);
                continue;
            }
            loaded.push(Some(RMSpropState {
                step: reader.counter(i, STEP)?,
                square_avg: reader.tensor(i, SQUARE_AVG)?,
                grad_avg: centered.then(|| reader.tensor(i, GRAD_AVG)).transpose()?,
                momentum_buffer: (momentum > 0.0)
                    .then(|| reader.tensor(i, MOMENTUM_BUFFER))
                    .transpose()?,
            }));
        }
        self.state = loaded;
        Ok(())
    }
}
