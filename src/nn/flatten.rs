//! [`Flatten`]: merges a range of axes into one.

use super::py_repr::display_layer;
use super::{Forward, Module};
use crate::backend::Backend;
use crate::tensor::Tensor;

/// Merges axes `start_dim..=end_dim` into one, as PyTorch's `nn.Flatten` (by default every
/// axis after the batch axis: `[N, C, H, W]` → `[N, C·H·W]`). Negative dims count from the
/// end. Forward is [`Tensor::flatten`].
///
/// ```
/// use duograd::nn::{Flatten, Forward};
/// use duograd::Tensor;
/// use duograd::backends::NdArray;
///
/// let x = Tensor::<NdArray<f32>>::zeros(&[8, 16, 5, 5]);
/// assert_eq!(Flatten::new().forward(&x).shape(), &[8, 400]);
/// assert_eq!(Flatten::with_dims(2, 3).forward(&x).shape(), &[8, 16, 25]);
/// assert_eq!(Flatten::new().to_string(), "Flatten(start_dim=1, end_dim=-1)");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Module)]
#[module(extra_repr = Self::repr_args)]
pub struct Flatten {
    #[module(skip)]
    start_dim: isize,
    #[module(skip)]
    end_dim: isize,
    training: bool,
}

impl Flatten {
    /// Flattens every axis but the first: `start_dim = 1`, `end_dim = -1`.
    pub fn new() -> Self {
        Self::with_dims(1, -1)
    }

    /// Flattens axes `start_dim..=end_dim`.
    pub fn with_dims(start_dim: isize, end_dim: isize) -> Self {
        Flatten {
            start_dim,
            end_dim,
            training: true,
        }
    }

    /// The first axis merged.
    pub fn start_dim(&self) -> isize {
        self.start_dim
    }

    /// The last axis merged.
    pub fn end_dim(&self) -> isize {
        self.end_dim
    }

    /// Whether the module is in training mode (the same as [`Module::is_training`], callable
    /// without naming a backend).
    pub fn is_training(&self) -> bool {
        self.training
    }

    fn repr_args(&self) -> String {
        format!("start_dim={}, end_dim={}", self.start_dim, self.end_dim)
    }
}

impl Default for Flatten {
    fn default() -> Self {
        Self::new()
    }
}

impl<B: Backend> Forward<B> for Flatten {
    /// # Panics
    /// If a dim is out of range for the input or `start_dim` comes after `end_dim`.
    fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
        x.flatten(self.start_dim, self.end_dim)
    }
}

display_layer!(Flatten);
