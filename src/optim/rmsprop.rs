//! RMSprop, as `torch.optim.RMSprop`.

use super::Optimizer;
use crate::autograd::no_grad;
use crate::backend::Backend;
use crate::nn::Parameter;
use crate::tensor::Tensor;

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

    #[track_caller]
    fn validate(&self) {
        let RMSpropConfig {
            lr,
            alpha,
            eps,
            weight_decay,
            momentum,
            ..
        } = *self;
        assert!(lr >= 0.0, "RMSprop: invalid learning rate {lr}");
        assert!(eps >= 0.0, "RMSprop: invalid eps {eps}");
        assert!(alpha >= 0.0, "RMSprop: invalid alpha {alpha}");
        assert!(momentum >= 0.0, "RMSprop: invalid momentum {momentum}");
        assert!(
            weight_decay >= 0.0,
            "RMSprop: invalid weight_decay {weight_decay}"
        );
    }
}

/// One parameter's running averages, made at its first step.
struct RMSpropState<B: Backend> {
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
/// use duograd::nn::{Linear, Module};
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
    /// On a negative learning rate, `alpha`, `eps`, momentum or weight decay.
    #[track_caller]
    pub fn new(params: impl IntoIterator<Item = Parameter<B>>, config: RMSpropConfig) -> Self {
        config.validate();
        let params: Vec<Parameter<B>> = params.into_iter().collect();
        let state = (0..params.len()).map(|_| None).collect();
        RMSprop {
            params,
            config,
            state,
        }
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
                square_avg: p.zeros_like(),
                grad_avg: centered.then(|| p.zeros_like()),
                momentum_buffer: (momentum > 0.0).then(|| p.zeros_like()),
            });
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
}
