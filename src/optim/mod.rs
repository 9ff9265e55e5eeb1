//! Optimizers ([`Sgd`], [`Adam`], [`AdamW`], [`RMSprop`]) with the update rules of
//! `torch.optim`, learning-rate schedulers ([`lr_scheduler`]), and gradient utilities
//! ([`grad_norms`], [`clip_grad_norm`], [`clip_grad_value`]).
//!
//! An optimizer holds handles to the parameters it updates (the same tensors the model owns)
//! and updates them in place under [`crate::no_grad`]; its state buffers (momentum, Adam's
//! moments) are allocated once, at the first step, as in PyTorch. That state can be exported
//! and loaded again ([`Optimizer::state_dict`], [`Optimizer::load_state_dict`]), so that a run
//! saved to a checkpoint continues exactly.
//!
//! ```
//! use duograd::nn::{Forward, Linear, Module};
//! use duograd::optim::{Adam, AdamConfig, Optimizer};
//! use duograd::Tensor;
//! use duograd::backends::NdArray;
//! use rand::SeedableRng;
//!
//! let mut rng = rand::rngs::StdRng::seed_from_u64(0);
//! let layer = Linear::<NdArray<f64>>::new(3, 1, &mut rng);
//! let mut opt = Adam::new(layer.parameters(), AdamConfig::new(0.05));
//! let x = Tensor::randn(&[16, 3], 0.0, 1.0, &mut rng);
//! let y = x.matmul(&Tensor::from_f64(&[1.0, -2.0, 0.5], &[3, 1]));
//! for _ in 0..300 {
//!     opt.zero_grad();
//!     layer.forward(&x).mse_loss(&y).backward().unwrap();
//!     opt.step();
//! }
//! assert!(layer.forward(&x).mse_loss(&y).item() < 1e-4);
//! ```

mod adam;
mod adamw;
mod clip;
mod error;
pub mod lr_scheduler;
mod rmsprop;
mod sgd;
mod state;

pub use adam::{Adam, AdamConfig};
pub use adamw::{AdamW, AdamWConfig};
pub use clip::{clip_grad_norm, clip_grad_value, grad_norms, total_grad_norm};
pub use error::OptimError;
pub use rmsprop::{RMSprop, RMSpropConfig};
pub use sgd::{Sgd, SgdConfig};
pub use state::OptimizerState;

use crate::backend::Backend;
use crate::nn::Parameter;

/// Updates parameters from their gradients.
///
/// `step` reads each parameter's `.grad()` (parameters without a gradient are skipped, as in
/// PyTorch) and updates the parameter in place; `zero_grad` clears the gradients before the
/// next backward pass.
pub trait Optimizer<B: Backend> {
    /// Performs one update of every parameter that has a gradient.
    fn step(&mut self);

    /// The parameters this optimizer updates, in the order it was given them.
    fn params(&self) -> &[Parameter<B>];

    /// The current learning rate.
    fn lr(&self) -> f64;

    /// Changes the learning rate (for schedules); the state buffers are kept.
    fn set_lr(&mut self, lr: f64);

    /// The state carried between steps (momentum, moment estimates, step counts), as named
    /// snapshots: see [`OptimizerState`].
    fn state_dict(&self) -> OptimizerState<B>;

    /// Replaces the state with `state`, saved by an optimizer of the same kind for parameters
    /// of the same shapes: the next [`step`](Optimizer::step) is the one the saving optimizer
    /// would have taken. Nothing changes unless the whole state fits.
    ///
    /// # Errors
    /// [`OptimError::WrongOptimizer`], [`OptimError::ParamCount`],
    /// [`OptimError::ShapeMismatch`], [`OptimError::MissingEntry`],
    /// [`OptimError::UnexpectedEntry`], [`OptimError::EntryKind`] or
    /// [`OptimError::InvalidValue`], naming the entry.
    fn load_state_dict(&mut self, state: &OptimizerState<B>) -> Result<(), OptimError>;

    /// Clears every parameter's gradient (PyTorch's `zero_grad(set_to_none=True)`).
    fn zero_grad(&self) {
        for p in self.params() {
            p.zero_grad();
        }
    }
}
