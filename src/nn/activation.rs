//! Activation modules without settings ([`ReLU`], [`SiLU`], [`Tanh`], [`Sigmoid`]),
//! [`Identity`], and the [`Activation`] choice for builders such as [`super::Mlp`].

use std::fmt;

use super::{Forward, Module};
use crate::backend::Backend;
use crate::tensor::Tensor;

macro_rules! activation_module {
    ($(#[$doc:meta])* $name:ident, $method:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Module)]
        pub struct $name {
            training: bool,
        }

        impl $name {
            /// A new module, in training mode.
            pub fn new() -> Self {
                $name { training: true }
            }

            /// Whether the module is in training mode (the same as [`Module::is_training`],
            /// callable without naming a backend).
            pub fn is_training(&self) -> bool {
                self.training
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl<B: Backend> Forward<B> for $name {
            fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
                x.$method()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}()", stringify!($name))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }
    };
}

activation_module!(
    /// `max(x, 0)` elementwise, as PyTorch's `nn.ReLU` (with `relu'(0) = 0`). Holds no state, so
    /// one instance can be applied several times in a forward pass.
    ReLU,
    relu
);
activation_module!(
    /// The input itself, as PyTorch's `nn.Identity` (a placeholder that keeps a model's layout
    /// and names when a layer is switched off).
    Identity,
    clone
);
activation_module!(
    /// `x·σ(x)` elementwise, as PyTorch's `nn.SiLU` (also called swish). See [`Tensor::silu`].
    SiLU,
    silu
);
activation_module!(
    /// `tanh(x)` elementwise, as PyTorch's `nn.Tanh`.
    Tanh,
    tanh
);
activation_module!(
    /// `1 / (1 + e^-x)` elementwise, as PyTorch's `nn.Sigmoid`.
    Sigmoid,
    sigmoid
);

/// An elementwise nonlinearity, chosen by value (for builders such as [`super::Mlp`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Activation {
    /// [`ReLU`].
    #[default]
    Relu,
    /// [`Tanh`].
    Tanh,
    /// [`Sigmoid`].
    Sigmoid,
}

impl Activation {
    /// Applies the function to `x`.
    pub fn apply<B: Backend>(self, x: &Tensor<B>) -> Tensor<B> {
        match self {
            Activation::Relu => x.relu(),
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => x.sigmoid(),
        }
    }

    /// The function as a boxed module.
    pub fn module<B: Backend>(self) -> Box<dyn Forward<B>> {
        match self {
            Activation::Relu => Box::new(ReLU::new()),
            Activation::Tanh => Box::new(Tanh::new()),
            Activation::Sigmoid => Box::new(Sigmoid::new()),
        }
    }
}
