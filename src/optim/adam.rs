//! Adam, as `torch.optim.Adam` (L2 weight decay added to the gradient, not AdamW's).

use super::state::{counter_entry, entry_name, snapshot, StateReader};
use super::{OptimError, Optimizer, OptimizerState};
use crate::autograd::no_grad;
use crate::backend::Backend;
use crate::nn::Parameter;
use crate::tensor::Tensor;
use crate::AdamStep;

/// The name errors give.
const NAME: &str = "Adam";
/// The kind recorded in a saved state.
const KIND: &str = "adam";
/// The state's fields per parameter, as PyTorch names them.
const EXP_AVG: &str = "exp_avg";
const EXP_AVG_SQ: &str = "exp_avg_sq";
const STEP: &str = "step";
const MAX_EXP_AVG_SQ: &str = "max_exp_avg_sq";

/// Settings of [`Adam`], with `torch.optim.Adam`'s defaults; set them builder-style.
///
/// ```
/// use duograd::optim::AdamConfig;
/// let config = AdamConfig::new(3e-4).betas(0.9, 0.99);
/// assert_eq!(config.eps, 1e-8);
/// assert_eq!(AdamConfig::default().lr, 1e-3);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    /// Learning rate (default `1e-3`).
    pub lr: f64,
    /// Decay rates of the first and second moment estimates (default `(0.9, 0.999)`).
    pub betas: (f64, f64),
    /// Added to the denominator for stability (default `1e-8`).
    pub eps: f64,
    /// L2 penalty added to the gradient: `g + weight_decay · p` (default `0`).
    pub weight_decay: f64,
    /// Ascend instead of descend (default `false`).
    pub maximize: bool,
    /// AMSGrad (Reddi et al.): normalize by the largest second-moment estimate seen so far
    /// instead of the current one.
    pub amsgrad: bool,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            maximize: false,
            amsgrad: false,
        }
    }
}

impl AdamConfig {
    /// The defaults with learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        AdamConfig {
            lr,
            ..Self::default()
        }
    }

    /// Sets the learning rate.
    pub fn lr(self, lr: f64) -> Self {
        AdamConfig { lr, ..self }
    }

    /// Sets the moment decay rates `(β₁, β₂)`.
    pub fn betas(self, beta1: f64, beta2: f64) -> Self {
        AdamConfig {
            betas: (beta1, beta2),
            ..self
        }
    }

    /// Sets ε.
    pub fn eps(self, eps: f64) -> Self {
        AdamConfig { eps, ..self }
    }

    /// Sets the weight decay (L2 penalty).
    pub fn weight_decay(self, weight_decay: f64) -> Self {
        AdamConfig {
            weight_decay,
            ..self
        }
    }

    /// Maximizes instead of minimizing.
    pub fn maximize(self, maximize: bool) -> Self {
        AdamConfig { maximize, ..self }
    }

    /// Turns AMSGrad on or off.
    pub fn amsgrad(self, amsgrad: bool) -> Self {
        AdamConfig { amsgrad, ..self }
    }

    fn validate(&self) -> Result<(), OptimError> {
        let AdamConfig {
            lr,
            betas: (b1, b2),
            eps,
            weight_decay,
            ..
        } = *self;
        // NaN fails every check, as it fails PyTorch's `0.0 <= lr`.
        let at_least_zero = |x: f64| x >= 0.0;
        let reason = if !at_least_zero(lr) {
            format!("invalid learning rate {lr}")
        } else if !at_least_zero(eps) {
            format!("invalid eps {eps}")
        } else if !(0.0..1.0).contains(&b1) {
            format!("invalid beta1 {b1}")
        } else if !(0.0..1.0).contains(&b2) {
            format!("invalid beta2 {b2}")
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

/// One parameter's state: the step count and the moment estimates.
struct AdamState<B: Backend> {
    step: i32,
    exp_avg: Tensor<B>,
    exp_avg_sq: Tensor<B>,
    /// AMSGrad's running maximum of `exp_avg_sq`.
    max_exp_avg_sq: Option<Tensor<B>>,
}

/// Adam, with the update of `torch.optim.Adam` (`amsgrad=False`):
///
/// ```text
/// g = grad + weight_decay · p                    (−grad when maximizing)
/// m = β₁ · m + (1 − β₁) · g
/// v = β₂ · v + (1 − β₂) · g²
/// p = p − lr / (1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)
/// ```
///
/// `m` and `v` are updated in place and allocated once, at a parameter's first step; each step
/// allocates three temporaries per parameter (`g²`, the denominator and the quotient) and a
/// fourth with weight decay or `maximize`, because the core has no in-place product or quotient
/// of two tensors.
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
/// // The first Adam step moves every coordinate by about lr, against its gradient's sign.
/// let v = p.to_vec();
/// assert!((v[0] - 0.9).abs() < 1e-6 && (v[1] + 2.9).abs() < 1e-6);
/// ```
pub struct Adam<B: Backend> {
    params: Vec<Parameter<B>>,
    config: AdamConfig,
    state: Vec<Option<AdamState<B>>>,
}

impl<B: Backend> Adam<B> {
    /// An optimizer for `params` with `config`.
    ///
    /// # Panics
    /// On an invalid setting (negative learning rate, eps or weight decay; a beta outside
    /// `[0, 1)`) or an empty parameter list, as PyTorch raises; see [`Adam::try_new`] for the
    /// same checks as an error.
    #[track_caller]
    pub fn new(params: impl IntoIterator<Item = Parameter<B>>, config: AdamConfig) -> Self {
        Self::try_new(params, config).unwrap_or_else(|e| panic!("{e}"))
    }

    /// An optimizer for `params` with `config`, or why there cannot be one.
    ///
    /// # Errors
    /// [`OptimError::InvalidSetting`] for a setting [`Adam::new`] rejects;
    /// [`OptimError::NoParameters`] if `params` is empty (a module without parameters).
    pub fn try_new(
        params: impl IntoIterator<Item = Parameter<B>>,
        config: AdamConfig,
    ) -> Result<Self, OptimError> {
        config.validate()?;
        let params: Vec<Parameter<B>> = params.into_iter().collect();
        if params.is_empty() {
            return Err(OptimError::NoParameters { optimizer: NAME });
        }
        let state = (0..params.len()).map(|_| None).collect();
        Ok(Adam {
            params,
            config,
            state,
        })
    }

    /// The settings.
    pub fn config(&self) -> &AdamConfig {
        &self.config
    }
}

impl<B: Backend> Optimizer<B> for Adam<B> {
    fn step(&mut self) {
        let _guard = no_grad();
        let AdamConfig {
            lr,
            betas: (b1, b2),
            eps,
            weight_decay: wd,
            maximize,
            amsgrad,
        } = self.config;
        for (p, slot) in self.params.iter().zip(&mut self.state) {
            let Some(grad) = p.grad() else { continue };
            let st = slot.get_or_insert_with(|| AdamState {
                step: 0,
                exp_avg: p.zeros_like(),
                exp_avg_sq: p.zeros_like(),
                max_exp_avg_sq: amsgrad.then(|| p.zeros_like()),
            });
            st.step += 1;
            if let Some(max_sq) = &st.max_exp_avg_sq {
                amsgrad_step(p, st, max_sq, &grad, &self.config);
                continue;
            }
            let step = AdamStep {
                lr,
                beta1: b1,
                beta2: b2,
                eps,
                weight_decay: wd,
                maximize,
                bias_correction1: 1.0 - b1.powi(st.step),
                bias_correction2: 1.0 - b2.powi(st.step),
            };
            let grad = grad.storage();
            p.update_in_place("adam", |p| {
                st.exp_avg.update_in_place("adam", |m| {
                    st.exp_avg_sq
                        .update_in_place("adam", |v| B::adam_step(p, m, v, &grad, &step));
                });
            });
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
        let mut entries = Vec::new();
        for (i, st) in self.state.iter().enumerate() {
            let Some(st) = st else { continue };
            entries.push((entry_name(i, EXP_AVG), snapshot(&st.exp_avg)));
            entries.push((entry_name(i, EXP_AVG_SQ), snapshot(&st.exp_avg_sq)));
            if let Some(max_sq) = &st.max_exp_avg_sq {
                entries.push((entry_name(i, MAX_EXP_AVG_SQ), snapshot(max_sq)));
            }
            entries.push((entry_name(i, STEP), counter_entry(i64::from(st.step))));
        }
        OptimizerState {
            optimizer: KIND.to_string(),
            num_params: self.params.len(),
            entries,
        }
    }

    fn load_state_dict(&mut self, state: &OptimizerState<B>) -> Result<(), OptimError> {
        let reader = StateReader::new(
            state,
            NAME,
            KIND,
            &self.params,
            if self.config.amsgrad {
                &[EXP_AVG, EXP_AVG_SQ, MAX_EXP_AVG_SQ, STEP]
            } else {
                &[EXP_AVG, EXP_AVG_SQ, STEP]
            },
        )?;
        let mut loaded = Vec::with_capacity(self.params.len());
        for i in 0..self.params.len() {
            if !reader.has_state(i) {
                loaded.push(None);
                continue;
            }
            let step = reader.counter(i, STEP)?;
            let step = i32::try_from(step)
                .ok()
                .filter(|s| *s >= 1)
                .ok_or_else(|| OptimError::InvalidValue {
                    optimizer: NAME,
                    name: entry_name(i, STEP),
                    value: step,
                    what: "step count (from 1)",
                })?;
            loaded.push(Some(AdamState {
                step,
                exp_avg: reader.tensor(i, EXP_AVG)?,
                exp_avg_sq: reader.tensor(i, EXP_AVG_SQ)?,
                max_exp_avg_sq: self
                    .config
                    .amsgrad
                    .then(|| reader.tensor(i, MAX_EXP_AVG_SQ))
                    .transpose()?,
            }));
        }
        self.state = loaded;
        Ok(())
    }
}

/// One AMSGrad step of parameter `p` (its step count already advanced), as PyTorch's
/// single-tensor Adam with `amsgrad=True`, in whole-tensor ops: the fused backend step has no
/// running maximum.
fn amsgrad_step<B: Backend>(
    p: &Parameter<B>,
    st: &AdamState<B>,
    max_sq: &Tensor<B>,
    grad: &Tensor<B>,
    config: &AdamConfig,
) {
    let (b1, b2) = config.betas;
    let mut g = if config.maximize {
        grad.neg()
    } else {
        grad.clone()
    };
    if config.weight_decay != 0.0 {
        g = &g + &(&**p * config.weight_decay);
    }
    st.exp_avg.add_scaled_(1.0 - b1, &(&g - &st.exp_avg));
    st.exp_avg_sq.mul_scalar_(b2);
    st.exp_avg_sq.add_scaled_(1.0 - b2, &g.square());
    max_sq.copy_(&max_sq.maximum(&st.exp_avg_sq));
    let bias_correction1 = 1.0 - b1.powi(st.step);
    let bias_correction2 = 1.0 - b2.powi(st.step);
    let denominator = max_sq
        .sqrt()
        .div_scalar(bias_correction2.sqrt())
        .add_scalar(config.eps);
    p.add_scaled_(-config.lr / bias_correction1, &st.exp_avg.div(&denominator));
}
