//! [`Dropout`]: zeroes random elements in training, with its own seeded generator.

use super::py_repr::{self, display_layer};
use super::{Forward, Generator, Module};
use crate::backend::Backend;
use crate::tensor::Tensor;

/// Dropout, as PyTorch's `nn.Dropout`: in training mode each element is zeroed with
/// probability `p` and the others are scaled by `1 / (1 − p)`; in evaluation mode it is the
/// identity. Forward is [`Tensor::dropout`].
///
/// The layer draws its masks from a generator of its own, seeded when it is built, so a run
/// is reproducible from its seeds alone and the masks do not depend on what else draws random
/// numbers. The generator is a [`Generator`]: its position can be saved and restored through
/// [`Dropout::generator`], so a resumed run draws the masks the uninterrupted run would have.
///
/// ```
/// use duograd::nn::{Dropout, Forward};
/// use duograd::Tensor;
/// use duograd::backends::NdArray;
///
/// let mut dropout = Dropout::new(0.5, 42);
/// let x = Tensor::<NdArray<f64>>::ones(&[1000]);
/// let y = dropout.forward(&x).to_vec();
/// assert!(y.iter().all(|&v| v == 0.0 || v == 2.0));
/// // The same seed gives the same mask.
/// assert_eq!(Dropout::new(0.5, 42).forward(&x).to_vec(), y);
///
/// dropout.eval();
/// assert_eq!(dropout.forward(&x).to_vec(), x.to_vec());
/// assert_eq!(dropout.to_string(), "Dropout(p=0.5, inplace=False)");
/// ```
#[derive(Module)]
#[module(extra_repr = Self::repr_args)]
pub struct Dropout {
    #[module(skip)]
    p: f64,
    #[module(skip)]
    generator: Generator,
    training: bool,
}

impl Dropout {
    /// Dropout with probability `p`, its masks drawn from a generator seeded with `seed`.
    ///
    /// # Panics
    /// If `p` is not between 0 and 1.
    #[track_caller]
    pub fn new(p: f64, seed: u64) -> Self {
        Self::with_generator(p, Generator::new(seed))
    }

    /// Dropout with probability `p`, its masks drawn from `generator` (shared with whoever
    /// holds a clone of it).
    ///
    /// # Panics
    /// If `p` is not between 0 and 1.
    #[track_caller]
    pub fn with_generator(p: f64, generator: Generator) -> Self {
        assert!(
            (0.0..=1.0).contains(&p),
            "Dropout: p must be between 0 and 1, got {p}"
        );
        Dropout {
            p,
            generator,
            training: true,
        }
    }

    /// The probability of zeroing an element.
    pub fn p(&self) -> f64 {
        self.p
    }

    /// Restarts the mask generator from `seed`, as if the layer had just been built with it.
    pub fn manual_seed(&self, seed: u64) {
        self.generator.manual_seed(seed);
    }

    /// A handle to the mask generator (its state can be read and set through it).
    pub fn generator(&self) -> Generator {
        self.generator.clone()
    }

    /// Whether the module is in training mode (the same as [`Module::is_training`], callable
    /// without naming a backend).
    pub fn is_training(&self) -> bool {
        self.training
    }

    /// Sets training mode (`true`) or evaluation mode (the same as [`Module::train`], callable
    /// without naming a backend).
    pub fn train(&mut self, training: bool) {
        self.training = training;
    }

    /// Evaluation mode: `train(false)`.
    pub fn eval(&mut self) {
        self.train(false);
    }

    fn repr_args(&self) -> String {
        format!("p={}, inplace=False", py_repr::float(self.p))
    }
}

impl<B: Backend> Forward<B> for Dropout {
    fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
        if !self.training {
            return x.clone();
        }
        self.generator.with_rng(|rng| x.dropout(self.p, true, rng))
    }
}

display_layer!(Dropout);
