//! [`Linear`]: the fully connected layer `y = x·Wᵀ + b`, and its weight [`Init`]ializations.

use super::module::display_module;
use super::{Forward, Module, Parameter};
use crate::backend::Backend;
use crate::tensor::Tensor;

/// How a [`Linear`] layer's parameters are drawn.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Init {
    /// PyTorch's default for `nn.Linear`: weight and bias uniform in `±1/√in_features`
    /// (the weight first, row by row, then the bias, from the caller's RNG).
    #[default]
    Uniform,
    /// Weights from a standard normal `N(0, 1)`, biases zero (the PyTorch course's
    /// hand-written 784-64-10 tanh network).
    StandardNormal,
}

/// A fully connected layer: `y = x·Wᵀ + b` with weight `W` of shape `(out_features,
/// in_features)` and optional bias `b` of shape `(out_features)`, as PyTorch's `nn.Linear`.
///
/// The input may have any number of leading axes: `(…, in_features)` → `(…, out_features)`.
///
/// ```
/// use duograd::nn::{Forward, Linear};
/// use duograd::Tensor;
/// use duograd::backends::NdArray;
/// use rand::SeedableRng;
///
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let layer = Linear::<NdArray<f32>>::new(784, 64, &mut rng);
/// assert_eq!(layer.weight.shape(), &[64, 784]);
/// let y = layer.forward(&Tensor::zeros(&[32, 784]));
/// assert_eq!(y.shape(), &[32, 64]);
/// ```
#[derive(Module)]
#[module(extra_repr = Self::repr_args)]
pub struct Linear<B: Backend> {
    /// The weight, `(out_features, in_features)`.
    pub weight: Parameter<B>,
    /// The bias, `(out_features)`, if the layer has one.
    pub bias: Option<Parameter<B>>,
    training: bool,
}

impl<B: Backend> Linear<B> {
    /// A layer with a bias and PyTorch's default initialization ([`Init::Uniform`]).
    pub fn new(in_features: usize, out_features: usize, rng: &mut impl rand::Rng) -> Self {
        Self::with_options(in_features, out_features, true, Init::Uniform, rng)
    }

    /// A layer with or without a bias, initialized by `init` from `rng`.
    ///
    /// # Panics
    /// If `in_features` is 0 (the uniform bound `1/√in_features` would be infinite).
    #[track_caller]
    pub fn with_options(
        in_features: usize,
        out_features: usize,
        bias: bool,
        init: Init,
        rng: &mut impl rand::Rng,
    ) -> Self {
        assert!(in_features > 0, "Linear: in_features must be at least 1");
        let (w_shape, b_shape) = ([out_features, in_features], [out_features]);
        let (weight, bias) = match init {
            Init::Uniform => {
                let bound = 1.0 / (in_features as f64).sqrt();
                let w = Tensor::rand_uniform(&w_shape, -bound, bound, rng);
                let b = bias.then(|| Tensor::rand_uniform(&b_shape, -bound, bound, rng));
                (w, b)
            }
            Init::StandardNormal => {
                let w = Tensor::randn(&w_shape, 0.0, 1.0, rng);
                (w, bias.then(|| Tensor::zeros(&b_shape)))
            }
        };
        Self::from_tensors(weight, bias)
    }

    /// A layer with the given weight `(out_features, in_features)` and bias `(out_features)`;
    /// both become (new) parameters sharing the tensors' data.
    ///
    /// # Panics
    /// If the weight is not 2-D or the bias's shape is not `(out_features)`.
    #[track_caller]
    pub fn from_tensors(weight: Tensor<B>, bias: Option<Tensor<B>>) -> Self {
        assert!(
            weight.rank() == 2,
            "Linear: the weight must be 2-D (out_features, in_features), got shape {:?}",
            weight.shape()
        );
        if let Some(b) = &bias {
            assert!(
                b.shape() == [weight.shape()[0]],
                "Linear: the bias must have shape [{}] for a weight of shape {:?}, got {:?}",
                weight.shape()[0],
                weight.shape(),
                b.shape()
            );
        }
        Linear {
            weight: Parameter::new(weight),
            bias: bias.map(Parameter::new),
            training: true,
        }
    }

    /// The size of each input row.
    pub fn in_features(&self) -> usize {
        self.weight.shape()[1]
    }

    /// The size of each output row.
    pub fn out_features(&self) -> usize {
        self.weight.shape()[0]
    }

    fn repr_args(&self) -> String {
        format!(
            "in_features={}, out_features={}, bias={}",
            self.in_features(),
            self.out_features(),
            super::py_repr::boolean(self.bias.is_some())
        )
    }
}

impl<B: Backend> Forward<B> for Linear<B> {
    /// `x·Wᵀ + b` for `x` of shape `(…, in_features)`.
    ///
    /// # Panics
    /// If `x`'s last axis is not `in_features` long.
    fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
        let (inp, out) = (self.in_features(), self.out_features());
        assert!(
            x.rank() >= 1 && x.shape()[x.rank() - 1] == inp,
            "Linear::forward: expects input of shape (…, {inp}), got {:?}",
            x.shape()
        );
        let affine =
            |x: &Tensor<B>| super::functional::linear(x, &self.weight, self.bias.as_deref());
        if x.rank() == 2 {
            affine(x)
        } else {
            // Fold the leading axes into one batch axis and unfold them afterwards.
            let lead = &x.shape()[..x.rank() - 1];
            let rows = lead.iter().product();
            let mut out_shape = Vec::from(lead);
            out_shape.push(out);
            affine(&x.reshape_to(&[rows, inp])).reshape_to(&out_shape)
        }
    }
}

display_module!(Linear<B>);
