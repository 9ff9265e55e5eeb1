//! The settings and results of the fused operations of [`Backend`](crate::Backend): one
//! optimizer step over a parameter and its state, and cross-entropy on logits.
//!
//! Coefficients are `f64`: each backend rounds them to its element type once per call, so that
//! the composed default ([`crate::composed`]) and a backend's fused kernel use the same values.

/// One step of SGD with momentum on a parameter whose momentum buffer already exists (the
/// first step, which creates the buffer from the gradient, is composed by the optimizer), as
/// `torch.optim.SGD`:
///
/// ```text
/// b ← momentum·b + (1 − dampening)·(s·g + wd·p)
/// p ← p − lr·(s·g + wd·p + momentum·b)   (nesterov)
/// p ← p − lr·b                           (otherwise)
/// ```
///
/// where `s` is `−1` when maximizing, else `1`. Every implementation performs, per element and
/// in this order, the operations of [`crate::composed::sgd_momentum_step`], so that all give
/// the same bits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MomentumStep {
    /// The learning rate.
    pub lr: f64,
    /// The momentum factor (`> 0`).
    pub momentum: f64,
    /// The dampening of the gradient's contribution to the buffer.
    pub dampening: f64,
    /// The L2 penalty `wd` (0 for none).
    pub weight_decay: f64,
    /// Nesterov momentum.
    pub nesterov: bool,
    /// Ascend instead of descend (`s = −1`).
    pub maximize: bool,
}

impl MomentumStep {
    /// `s`: `−1` when maximizing, else `1`.
    pub fn sign(&self) -> f64 {
        sign(self.maximize)
    }
}

/// One Adam step on a parameter `p` with first and second moments `m`, `v`, as `torch.optim.Adam`
/// (`t` is the step number, from 1; `s` is `−1` when maximizing, else `1`):
///
/// ```text
/// g ← s·g + wd·p
/// m ← b1·m + (1 − b1)·g
/// v ← b2·v + (1 − b2)·g²
/// p ← p − lr / bc1 · m / (√v / √bc2 + eps),   bc1 = 1 − b1ᵗ, bc2 = 1 − b2ᵗ
/// ```
///
/// Every implementation performs, per element and in this order, the operations of
/// [`crate::composed::adam_step`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamStep {
    /// The learning rate.
    pub lr: f64,
    /// The first moment's decay `b1`.
    pub beta1: f64,
    /// The second moment's decay `b2`.
    pub beta2: f64,
    /// Added to the denominator.
    pub eps: f64,
    /// The L2 penalty `wd` (0 for none).
    pub weight_decay: f64,
    /// Ascend instead of descend (`s = −1`).
    pub maximize: bool,
    /// `1 − b1ᵗ`.
    pub bias_correction1: f64,
    /// `1 − b2ᵗ`.
    pub bias_correction2: f64,
}

impl AdamStep {
    /// `s`: `−1` when maximizing, else `1`.
    pub fn sign(&self) -> f64 {
        sign(self.maximize)
    }
}

/// What [`Backend::cross_entropy`](crate::Backend::cross_entropy) returns: the loss and what
/// its backward needs, both in the backend's storage (on its device).
#[derive(Clone, Debug)]
pub struct CrossEntropyForward<S> {
    /// The loss: one value per row (shape `[batch]`) for
    /// [`Reduction::None`](crate::Reduction::None), else a scalar (shape `[]`).
    pub loss: S,
    /// `exp(x_ij − max_i)` for every logit (shape `[batch, classes]`), where `max_i` is row
    /// `i`'s largest logit.
    pub exps: S,
    /// Each row's sum of `exps` (shape `[batch]`), so that `softmax(x)_ij = exps_ij / sums_i`.
    pub sums: S,
}

/// `−1` when maximizing, else `1`.
fn sign(maximize: bool) -> f64 {
    if maximize {
        -1.0
    } else {
        1.0
    }
}
