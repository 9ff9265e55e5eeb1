//! Learning-rate schedulers, as `torch.optim.lr_scheduler`: objects that give the learning
//! rate step by step and set it on any [`Optimizer`].
//!
//! A scheduler starts at its step 0 (PyTorch's `last_epoch = 0` right after construction) with
//! the rate [`LrScheduler::lr`] gives; each [`LrScheduler::step`] (PyTorch's
//! `scheduler.step()`, called after `optimizer.step()`) advances it by one. The rates are
//! PyTorch's, computed the way PyTorch computes them (its recursive forms where it uses them),
//! so a run gives PyTorch's numbers. [`ReduceLROnPlateau`] takes a metric at each step instead
//! and is not an [`LrScheduler`].
//!
//! ```
//! use duograd::nn::{Forward, Linear, Module};
//! use duograd::optim::lr_scheduler::{CosineAnnealingLR, LrScheduler};
//! use duograd::optim::{Optimizer, Sgd, SgdConfig};
//! use duograd::backends::NdArray;
//! use duograd::Tensor;
//! use rand::SeedableRng;
//!
//! let mut rng = rand::rngs::StdRng::seed_from_u64(0);
//! let layer = Linear::<NdArray<f64>>::new(3, 1, &mut rng);
//! let mut opt = Sgd::new(layer.parameters(), SgdConfig::new(0.1));
//! // Five steps of linear warm-up from 0.01, then a cosine down to 0 over 95 steps.
//! let mut schedule = CosineAnnealingLR::new(opt.lr(), 95, 0.0).with_warmup(5, 0.1);
//! schedule.apply_to(&mut opt);
//! assert!((opt.lr() - 0.01).abs() < 1e-15);
//! let x = Tensor::ones(&[4, 3]);
//! for _ in 0..100 {
//!     opt.zero_grad();
//!     layer.forward(&x).sum().backward().unwrap();
//!     opt.step();
//!     schedule.step_optimizer(&mut opt);
//! }
//! assert!(opt.lr() < 1e-12);
//! ```

mod cosine;
mod linear;
mod one_cycle;
mod plateau;
mod sequential;
mod step;

pub use cosine::CosineAnnealingLR;
pub use linear::LinearLR;
pub use one_cycle::{Anneal, OneCycleLR};
pub use plateau::{PlateauMode, ReduceLROnPlateau, ThresholdMode};
pub use sequential::SequentialLR;
pub use step::{ExponentialLR, MultiStepLR, StepLR};

use super::Optimizer;
use crate::backend::Backend;

/// A learning rate that changes step by step (PyTorch's `LRScheduler`).
pub trait LrScheduler {
    /// The learning rate at the current step (PyTorch's `get_last_lr()[0]`).
    fn lr(&self) -> f64;

    /// Advances one step (PyTorch's `scheduler.step()`) and returns the new rate.
    fn step(&mut self) -> f64;

    /// The number of steps taken (PyTorch's `last_epoch`).
    fn steps_taken(&self) -> usize;

    /// Goes back to step 0, as just constructed.
    fn restart(&mut self);

    /// Restarts and takes `steps` steps: the state of a scheduler that has taken them, which is
    /// all a checkpoint needs to record of it ([`LrScheduler::steps_taken`]).
    fn fast_forward(&mut self, steps: usize) {
        self.restart();
        for _ in 0..steps {
            self.step();
        }
    }

    /// Sets `optimizer`'s learning rate to the current one (once after construction: PyTorch's
    /// constructors set it on the optimizer they are given).
    fn apply_to<B: Backend, O: Optimizer<B> + ?Sized>(&self, optimizer: &mut O)
    where
        Self: Sized,
    {
        optimizer.set_lr(self.lr());
    }

    /// [`LrScheduler::step`], then sets `optimizer`'s learning rate to the new one.
    fn step_optimizer<B: Backend, O: Optimizer<B> + ?Sized>(&mut self, optimizer: &mut O)
    where
        Self: Sized,
    {
        let lr = self.step();
        optimizer.set_lr(lr);
    }
}

#[track_caller]
fn check_rate(scheduler: &str, what: &str, value: f64) {
    assert!(
        value.is_finite() && value >= 0.0,
        "{scheduler}: {what} must be finite and non-negative, got {value}"
    );
}
