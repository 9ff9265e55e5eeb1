//! [`Sequential`]: modules applied one after another, named `"0"`, `"1"`, … as in PyTorch.

use super::module::display_module;
use super::{Forward, Module};
use crate::backend::Backend;
use crate::tensor::Tensor;

/// Modules applied in order, each to the previous one's output, as PyTorch's `nn.Sequential`.
/// The submodules are named by position, so parameter names are `"0.weight"`, `"2.bias"`, ….
///
/// ```
/// use duograd::nn::{Forward, Linear, Module, ReLU, Sequential};
/// use duograd::Tensor;
/// use duograd::backends::NdArray;
/// use rand::SeedableRng;
///
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let model = Sequential::<NdArray<f64>>::new()
///     .with(Linear::new(4, 3, &mut rng))
///     .with(ReLU::new())
///     .with(Linear::new(3, 2, &mut rng));
/// let names: Vec<String> = model.named_parameters().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["0.weight", "0.bias", "2.weight", "2.bias"]);
/// assert_eq!(model.forward(&Tensor::zeros(&[5, 4])).shape(), &[5, 2]);
/// ```
#[derive(Module)]
pub struct Sequential<B: Backend> {
    #[module(flatten)]
    layers: Vec<Box<dyn Forward<B>>>,
    training: bool,
}

impl<B: Backend> Sequential<B> {
    /// An empty sequence (its forward is the identity).
    pub fn new() -> Self {
        Sequential {
            layers: Vec::new(),
            training: true,
        }
    }

    /// The sequence with `module` appended (builder style).
    pub fn with(mut self, module: impl Forward<B> + 'static) -> Self {
        self.push(module);
        self
    }

    /// Appends `module`.
    pub fn push(&mut self, module: impl Forward<B> + 'static) {
        self.layers.push(Box::new(module));
    }

    /// The number of modules.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether the sequence is empty.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// The module at `index`, if any.
    pub fn get(&self, index: usize) -> Option<&dyn Forward<B>> {
        self.layers.get(index).map(|m| &**m)
    }

    /// The modules, in order.
    pub fn layers(&self) -> &[Box<dyn Forward<B>>] {
        &self.layers
    }
}

impl<B: Backend> Default for Sequential<B> {
    fn default() -> Self {
        Self::new()
    }
}

impl<B: Backend> From<Vec<Box<dyn Forward<B>>>> for Sequential<B> {
    fn from(layers: Vec<Box<dyn Forward<B>>>) -> Self {
        Sequential {
            layers,
            training: true,
        }
    }
}

impl<B: Backend> Forward<B> for Sequential<B> {
    fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
        let mut h = x.clone();
        for layer in &self.layers {
            h = layer.forward(&h);
        }
        h
    }
}

display_module!(Sequential<B>);
