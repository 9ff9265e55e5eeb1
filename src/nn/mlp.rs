//! [`Mlp`]: a multi-layer perceptron built from layer sizes, laid out as PyTorch's
//! `nn.Sequential(Linear, act, Linear, act, …, Linear)`.

use super::module::display_module;
use super::{Activation, Forward, Init, Linear, Module, Sequential};
use crate::backend::Backend;
use crate::tensor::Tensor;

/// A multi-layer perceptron: `Linear(sizes[0], sizes[1])`, activation, …,
/// `Linear(sizes[n-2], sizes[n-1])`, with no activation after the last layer.
///
/// Its submodules are named like the equivalent `nn.Sequential` (`"0"` the first linear layer,
/// `"1"` its activation, `"2"` the next linear layer, …), so its parameter names (`0.weight`,
/// `0.bias`, `2.weight`, …) match a PyTorch `state_dict` of that `Sequential`.
///
/// ```
/// use duograd::nn::{Activation, Mlp, Module};
/// use duograd::backends::NdArray;
/// use rand::SeedableRng;
///
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let mlp = Mlp::<NdArray<f32>>::new(&[784, 64, 64, 10], Activation::Relu, &mut rng);
/// let names: Vec<String> = mlp.named_parameters().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]);
/// assert_eq!(mlp.num_parameters(), 784 * 64 + 64 + 64 * 64 + 64 + 64 * 10 + 10);
/// ```
pub struct Mlp<B: Backend> {
    linears: Vec<Linear<B>>,
    activations: Vec<Box<dyn Forward<B>>>,
    training: bool,
}

impl<B: Backend> Mlp<B> {
    /// An MLP with layer sizes `sizes` (input, hidden…, output), `activation` between layers,
    /// and PyTorch's default initialization ([`Init::Uniform`]), drawn layer by layer from `rng`.
    ///
    /// # Panics
    /// If `sizes` has fewer than two entries or an input size is 0.
    #[track_caller]
    pub fn new(sizes: &[usize], activation: Activation, rng: &mut impl rand::Rng) -> Self {
        Self::with_init(sizes, activation, Init::Uniform, rng)
    }

    /// As [`Mlp::new`], with the given initialization for every layer.
    ///
    /// # Panics
    /// If `sizes` has fewer than two entries or an input size is 0.
    #[track_caller]
    pub fn with_init(
        sizes: &[usize],
        activation: Activation,
        init: Init,
        rng: &mut impl rand::Rng,
    ) -> Self {
        assert!(
            sizes.len() >= 2,
            "Mlp: needs at least an input and an output size, got {sizes:?}"
        );
        let linears: Vec<Linear<B>> = sizes
            .windows(2)
            .map(|w| Linear::with_options(w[0], w[1], true, init, rng))
            .collect();
        let activations = (1..linears.len()).map(|_| activation.module()).collect();
        Mlp {
            linears,
            activations,
            training: true,
        }
    }

    /// The linear layers, in order.
    pub fn linears(&self) -> &[Linear<B>] {
        &self.linears
    }

    /// The same layers as a [`Sequential`] (same parameters, same names).
    pub fn into_sequential(self) -> Sequential<B> {
        let mut seq = Sequential::new();
        let mut activations = self.activations.into_iter();
        for linear in self.linears {
            seq.push(linear);
            if let Some(act) = activations.next() {
                seq.push(act);
            }
        }
        seq.train(self.training);
        seq
    }
}

impl<B: Backend> Forward<B> for Mlp<B> {
    fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
        let mut h = self.linears[0].forward(x);
        for (act, linear) in self.activations.iter().zip(&self.linears[1..]) {
            h = linear.forward(&act.forward(&h));
        }
        h
    }
}

// Written by hand, not derived: the children interleave two lists (linear layers and
// activations) under one numbering (`0`, `1`, `2`, …), as the equivalent `nn.Sequential` names
// them, while `linears()` keeps the linear layers typed.
impl<B: Backend> Module<B> for Mlp<B> {
    fn is_training(&self) -> bool {
        self.training
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    fn children(&self) -> Vec<(String, &dyn Module<B>)> {
        let mut out: Vec<(String, &dyn Module<B>)> = Vec::new();
        for (i, linear) in self.linears.iter().enumerate() {
            out.push(((2 * i).to_string(), linear));
            if let Some(act) = self.activations.get(i) {
                out.push(((2 * i + 1).to_string(), &**act));
            }
        }
        out
    }

    fn children_mut(&mut self) -> Vec<&mut dyn Module<B>> {
        let mut out: Vec<&mut dyn Module<B>> = Vec::new();
        let mut activations = self.activations.iter_mut();
        for linear in &mut self.linears {
            out.push(linear);
            if let Some(act) = activations.next() {
                out.push(&mut **act);
            }
        }
        out
    }
}

display_module!(Mlp<B>);
