//! [`Sequential`]: modules applied one after another, named `"0"`, `"1"`, … as in PyTorch.

use std::any::TypeId;

use super::module::display_module;
use super::{Forward, MaxPool2d, Module, ReLU};
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
///
/// A [`ReLU`] directly followed by a [`MaxPool2d`] (each added unboxed, with
/// [`Sequential::push`] or [`Sequential::with`]) is evaluated as the pooling, then the ReLU. The
/// two commute, values and gradients included: ties still go to the first maximum, a NaN still
/// propagates and gets no gradient, and `relu'(0) = 0`. The ReLU then reads a quarter of the
/// elements (for a 2×2 window), and no full-size ReLU output is kept for the backward pass.
#[derive(Module)]
pub struct Sequential<B: Backend> {
    #[module(flatten)]
    layers: Vec<Box<dyn Forward<B>>>,
    /// What [`Forward::forward`] needs to know of each layer, in the same order.
    #[module(skip)]
    kinds: Vec<LayerKind>,
    training: bool,
}

/// The layers [`Sequential`]'s forward reorders; everything else is `Other`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LayerKind {
    Relu,
    MaxPool,
    Other,
}

impl LayerKind {
    fn of<M: 'static>() -> Self {
        let t = TypeId::of::<M>();
        if t == TypeId::of::<ReLU>() {
            LayerKind::Relu
        } else if t == TypeId::of::<MaxPool2d>() {
            LayerKind::MaxPool
        } else {
            LayerKind::Other
        }
    }
}

impl<B: Backend> Sequential<B> {
    /// An empty sequence (its forward is the identity).
    pub fn new() -> Self {
        Sequential {
            layers: Vec::new(),
            kinds: Vec::new(),
            training: true,
        }
    }

    /// The sequence with `module` appended (builder style).
    pub fn with(mut self, module: impl Forward<B> + 'static) -> Self {
        self.push(module);
        self
    }

    /// Appends `module`.
    pub fn push<M: Forward<B> + 'static>(&mut self, module: M) {
        self.layers.push(Box::new(module));
        self.kinds.push(LayerKind::of::<M>());
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
            kinds: vec![LayerKind::Other; layers.len()],
            layers,
            training: true,
        }
    }
}

impl<B: Backend> Forward<B> for Sequential<B> {
    fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
        let mut h = x.clone();
        let mut i = 0;
        while let Some(layer) = self.layers.get(i) {
            if self.kinds[i] == LayerKind::Relu
                && self.kinds.get(i + 1) == Some(&LayerKind::MaxPool)
            {
                h = layer.forward(&self.layers[i + 1].forward(&h));
                i += 2;
            } else {
                h = layer.forward(&h);
                i += 1;
            }
        }
        h
    }
}

display_module!(Sequential<B>);
