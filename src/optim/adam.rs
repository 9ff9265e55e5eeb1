//! Adam, as `torch.optim.Adam` (L2 weight decay added to the gradient, not AdamW's).

use super::{sign, Optimizer};
use crate::autograd::no_grad;
use crate::backend::Backend;
use crate::nn::Parameter;
use crate::tensor::Tensor;
use crate::threads::pool;
use crate::Element;

use std::sync::{Mutex, PoisonError};

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
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            maximize: false,
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

    #[track_caller]
    fn validate(&self) {
        let AdamConfig {
            lr,
            betas: (b1, b2),
            eps,
            weight_decay,
            ..
        } = *self;
        assert!(lr >= 0.0, "Adam: invalid learning rate {lr}");
        assert!(eps >= 0.0, "Adam: invalid eps {eps}");
        assert!((0.0..1.0).contains(&b1), "Adam: invalid beta1 {b1}");
        assert!((0.0..1.0).contains(&b2), "Adam: invalid beta2 {b2}");
        assert!(
            weight_decay >= 0.0,
            "Adam: invalid weight_decay {weight_decay}"
        );
    }
}

/// One parameter's state: the step count and the moment estimates.
struct AdamState<B: Backend> {
    step: i32,
    exp_avg: Tensor<B>,
    exp_avg_sq: Tensor<B>,
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
/// use duograd_ndarray::NdArray;
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
    /// `[0, 1)`), as PyTorch raises.
    #[track_caller]
    pub fn new(params: impl IntoIterator<Item = Parameter<B>>, config: AdamConfig) -> Self {
        config.validate();
        let params: Vec<Parameter<B>> = params.into_iter().collect();
        let state = (0..params.len()).map(|_| None).collect();
        Adam {
            params,
            config,
            state,
        }
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
        } = self.config;
        let s = sign(maximize);
        for (p, slot) in self.params.iter().zip(&mut self.state) {
            let Some(grad) = p.grad() else { continue };
            let st = slot.get_or_insert_with(|| AdamState {
                step: 0,
                exp_avg: p.zeros_like(),
                exp_avg_sq: p.zeros_like(),
            });
            st.step += 1;
            let update = AdamUpdate {
                sign: s,
                weight_decay: wd,
                b1,
                b2,
                eps,
                bias_correction1: 1.0 - b1.powi(st.step),
                bias_correction2: 1.0 - b2.powi(st.step),
                lr,
            };
            if !update.fused(p, &grad, st) {
                update.composed(p, &grad, st);
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

/// Values of a parameter from which its update is shared out over threads (fewer are not
/// worth the hand-off: a few microseconds).
const PARALLEL_MIN: usize = 1 << 16;

/// Values per share of a parallel update.
const SHARE: usize = 1 << 14;

/// The per-element constants of [`AdamUpdate::fused`], by value.
#[derive(Clone, Copy)]
struct AdamConstants<E> {
    sign: E,
    wd: E,
    b1: E,
    one_minus_b1: E,
    b2: E,
    one_minus_b2: E,
    inv_sqrt_bc2: E,
    eps: E,
    step: E,
}

impl<E: Element> AdamConstants<E> {
    /// The update over equal-length slices. The constants are locals and the slices are indexed
    /// up to a length checked once, so that the loop vectorizes: written with the constants
    /// behind references and the settings tested per element, it ran one element at a time
    /// (a third of the `default` preset's training time).
    ///
    /// Parameters of [`PARALLEL_MIN`] values or more are updated in shares on duograd's worker
    /// pool ([`crate::threads`]): each value's update is independent of the others', so the
    /// result is the same.
    fn apply<const NEGATE: bool, const DECAY: bool>(
        self,
        p: &mut [E],
        m: &mut [E],
        v: &mut [E],
        g: &[E],
    ) {
        let n = p.len();
        assert!(
            m.len() == n && v.len() == n && g.len() == n,
            "Adam: a parameter, its gradient and its moments differ in length"
        );
        let threads = crate::threads::num_threads();
        if n < PARALLEL_MIN || threads == 1 {
            return self.apply_share::<NEGATE, DECAY>((p, m, v, g));
        }
        let shares: Vec<_> = p
            .chunks_mut(SHARE)
            .zip(m.chunks_mut(SHARE))
            .zip(v.chunks_mut(SHARE))
            .zip(g.chunks(SHARE))
            .map(|(((p, m), v), g)| Mutex::new((p, m, v, g)))
            .collect();
        pool::run(shares.len(), threads, &|i| {
            let mut share = shares[i].lock().unwrap_or_else(PoisonError::into_inner);
            let (p, m, v, g) = &mut *share;
            self.apply_share::<NEGATE, DECAY>((p, m, v, g));
        });
    }

    /// [`AdamConstants::apply`] on one thread, for a parameter, its two moments and its
    /// gradient of equal lengths.
    #[inline]
    fn apply_share<const NEGATE: bool, const DECAY: bool>(
        self,
        (p, m, v, g): (&mut [E], &mut [E], &mut [E], &[E]),
    ) {
        let n = p.len();
        let (p, m, v, g) = (&mut p[..n], &mut m[..n], &mut v[..n], &g[..n]);
        for i in 0..n {
            let mut gi = if NEGATE { g[i] * self.sign } else { g[i] };
            if DECAY {
                gi += self.wd * p[i];
            }
            m[i] = m[i] * self.b1 + self.one_minus_b1 * gi;
            v[i] = v[i] * self.b2 + self.one_minus_b2 * (gi * gi);
            let denom = num_traits::Float::sqrt(v[i]) * self.inv_sqrt_bc2 + self.eps;
            p[i] += self.step * (m[i] / denom);
        }
    }
}

/// One step's constants for one parameter.
struct AdamUpdate {
    sign: f64,
    weight_decay: f64,
    b1: f64,
    b2: f64,
    eps: f64,
    bias_correction1: f64,
    bias_correction2: f64,
    lr: f64,
}

impl AdamUpdate {
    /// The whole update in one pass over the four buffers, with no temporaries; `false` (and
    /// nothing changed) if a buffer is not a plain slice. Same operations, in the same order
    /// and precision, as [`AdamUpdate::composed`].
    fn fused<B: Backend>(&self, p: &Tensor<B>, grad: &Tensor<B>, st: &AdamState<B>) -> bool {
        let e = B::Elem::of;
        let (b1, one_minus_b1) = (e(self.b1), e(1.0 - self.b1));
        let (b2, one_minus_b2) = (e(self.b2), e(1.0 - self.b2));
        let (sign, wd, eps) = (e(self.sign), e(self.weight_decay), e(self.eps));
        let inv_sqrt_bc2 = e(1.0 / self.bias_correction2.sqrt());
        let step = e(-self.lr / self.bias_correction1);
        let (negate, decay) = (self.sign < 0.0, self.weight_decay != 0.0);

        let grad = grad.storage();
        let Some(g) = B::as_slice(&grad) else {
            return false;
        };
        let mut done = false;
        p.update_in_place("adam", |p| {
            st.exp_avg.update_in_place("adam", |m| {
                st.exp_avg_sq.update_in_place("adam", |v| {
                    let (Some(p), Some(m), Some(v)) =
                        (B::as_slice_mut(p), B::as_slice_mut(m), B::as_slice_mut(v))
                    else {
                        return;
                    };
                    let k = AdamConstants {
                        sign,
                        wd,
                        b1,
                        one_minus_b1,
                        b2,
                        one_minus_b2,
                        inv_sqrt_bc2,
                        eps,
                        step,
                    };
                    // One loop per setting, so that no branch is left inside it and it
                    // vectorizes.
                    match (negate, decay) {
                        (false, false) => k.apply::<false, false>(p, m, v, g),
                        (false, true) => k.apply::<false, true>(p, m, v, g),
                        (true, false) => k.apply::<true, false>(p, m, v, g),
                        (true, true) => k.apply::<true, true>(p, m, v, g),
                    }
                    done = true;
                });
            });
        });
        done
    }

    /// The update from whole-tensor operations (for storage that is not a plain slice).
    fn composed<B: Backend>(&self, p: &Tensor<B>, grad: &Tensor<B>, st: &AdamState<B>) {
        let g = if self.sign < 0.0 || self.weight_decay != 0.0 {
            // A new tensor: the in-place updates copy the data shared with `.grad`.
            let g = Tensor::from_storage(grad.storage());
            if self.sign < 0.0 {
                g.mul_scalar_(-1.0);
            }
            if self.weight_decay != 0.0 {
                g.add_scaled_(self.weight_decay, p);
            }
            g
        } else {
            grad.clone()
        };
        st.exp_avg.mul_scalar_(self.b1);
        st.exp_avg.add_scaled_(1.0 - self.b1, &g);
        st.exp_avg_sq.mul_scalar_(self.b2);
        st.exp_avg_sq.add_scaled_(1.0 - self.b2, &g.square());
        let denom = st.exp_avg_sq.sqrt();
        denom.mul_scalar_(1.0 / self.bias_correction2.sqrt());
        denom.add_scalar_(self.eps);
        p.add_scaled_(-self.lr / self.bias_correction1, &st.exp_avg.div(&denom));
    }
}
