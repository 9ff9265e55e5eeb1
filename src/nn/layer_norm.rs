//! [`LayerNorm`]: normalization over each sample's last axes, as PyTorch's `nn.LayerNorm`.

use super::module::display_module;
use super::{Forward, Module, Parameter};
use crate::backend::Backend;
use crate::tensor::Tensor;

/// Layer normalization over the trailing axes `normalized_shape`, as PyTorch's
/// `nn.LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=True, bias=True)`: see
/// [`Tensor::layer_norm`]. The affine `weight` starts at ones and `bias` at zeros; both have
/// shape `normalized_shape` and PyTorch's names.
///
/// ```
/// use duograd::nn::{Forward, LayerNorm, Module};
/// use duograd::Tensor;
/// use duograd::backends::NdArray;
///
/// let ln = LayerNorm::<NdArray<f64>>::new(&[4]);
/// let y = ln.forward(&Tensor::from_f64(&[1., 2., 3., 4.], &[1, 4]));
/// assert!(y.mean().item().abs() < 1e-12);
/// let names: Vec<String> = ln.named_parameters().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["weight", "bias"]);
/// assert!(ln.to_string().starts_with("LayerNorm((4,), eps=1e-05, elementwise_affine=True)"));
/// ```
#[derive(Module)]
#[module(extra_repr = Self::repr_args)]
pub struct LayerNorm<B: Backend> {
    /// The scale, `normalized_shape` (absent without `elementwise_affine`).
    pub weight: Option<Parameter<B>>,
    /// The shift, `normalized_shape` (absent without `elementwise_affine` or `bias`).
    pub bias: Option<Parameter<B>>,
    #[module(skip)]
    normalized_shape: Vec<usize>,
    #[module(skip)]
    eps: f64,
    training: bool,
}

impl<B: Backend> LayerNorm<B> {
    /// With PyTorch's defaults: `eps = 1e-5`, a weight and a bias.
    pub fn new(normalized_shape: &[usize]) -> Self {
        Self::with_options(normalized_shape, 1e-5, true, true)
    }

    /// With every option: `elementwise_affine` adds the weight (and the bias, if `bias`).
    ///
    /// # Panics
    /// If `normalized_shape` is empty or `eps` is negative.
    #[track_caller]
    pub fn with_options(
        normalized_shape: &[usize],
        eps: f64,
        elementwise_affine: bool,
        bias: bool,
    ) -> Self {
        assert!(
            !normalized_shape.is_empty(),
            "LayerNorm: normalized_shape must have at least one axis"
        );
        assert!(eps >= 0.0, "LayerNorm: eps must be non-negative, got {eps}");
        LayerNorm {
            weight: elementwise_affine.then(|| Parameter::new(Tensor::ones(normalized_shape))),
            bias: (elementwise_affine && bias)
                .then(|| Parameter::new(Tensor::zeros(normalized_shape))),
            normalized_shape: normalized_shape.to_vec(),
            eps,
            training: true,
        }
    }

    /// The trailing axes normalized over.
    pub fn normalized_shape(&self) -> &[usize] {
        &self.normalized_shape
    }

    fn repr_args(&self) -> String {
        let dims: Vec<String> = self
            .normalized_shape
            .iter()
            .map(|d| d.to_string())
            .collect();
        let tuple = if dims.len() == 1 {
            format!("({},)", dims[0])
        } else {
            format!("({})", dims.join(", "))
        };
        format!(
            "{tuple}, eps={}, elementwise_affine={}",
            super::py_repr::float(self.eps),
            super::py_repr::boolean(self.weight.is_some())
        )
    }
}

impl<B: Backend> Forward<B> for LayerNorm<B> {
    fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
        x.layer_norm(
            &self.normalized_shape,
            self.weight.as_deref(),
            self.bias.as_deref(),
            self.eps,
        )
    }
}

display_module!(LayerNorm<B>);
