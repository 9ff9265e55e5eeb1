//! Gradient norms and clipping, as `torch.nn.utils.clip_grad_norm_` and `clip_grad_value_`.

use crate::autograd::no_grad;
use crate::backend::Backend;
use crate::nn::Parameter;
use crate::Element;

/// The 2-norm of `p`'s gradient, or `None` if it has none.
fn grad_norm<B: Backend>(p: &Parameter<B>) -> Option<f64> {
    let _guard = no_grad();
    p.grad().map(|g| g.square().sum().item().as_f64().sqrt())
}

/// The 2-norm of each parameter's gradient, by name, in the given order (e.g. from
/// [`crate::nn::Module::named_parameters`]); parameters without a gradient are left out.
///
/// ```
/// use duograd::nn::{Forward, Linear, Module};
/// use duograd::optim::grad_norms;
/// use duograd::Tensor;
/// use duograd::backends::NdArray;
/// use rand::SeedableRng;
///
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let layer = Linear::<NdArray<f64>>::new(3, 2, &mut rng);
/// layer.forward(&Tensor::ones(&[4, 3])).sum().backward().unwrap();
/// let norms = grad_norms(&layer.named_parameters());
/// assert_eq!(norms[1].0, "bias");
/// assert!((norms[1].1 - 32f64.sqrt()).abs() < 1e-12); // each bias gradient is 4
/// ```
pub fn grad_norms<B: Backend>(named_params: &[(String, Parameter<B>)]) -> Vec<(String, f64)> {
    named_params
        .iter()
        .filter_map(|(name, p)| grad_norm(p).map(|n| (name.clone(), n)))
        .collect()
}

/// The 2-norm of all gradients together (as if concatenated into one vector); parameters
/// without a gradient count as zero.
pub fn total_grad_norm<B: Backend>(params: &[Parameter<B>]) -> f64 {
    params
        .iter()
        .filter_map(grad_norm)
        .map(|n| n * n)
        .sum::<f64>()
        .sqrt()
}

/// Scales all gradients together so that their total 2-norm is at most `max_norm`, as
/// `torch.nn.utils.clip_grad_norm_(params, max_norm)`: when the total norm exceeds
/// `max_norm`, every gradient is multiplied by `max_norm / (total_norm + 1e-6)` (in place).
/// Returns the total norm before clipping. A non-finite total norm leaves the gradients
/// scaled by a non-finite factor, as in PyTorch without `error_if_nonfinite`.
///
/// ```
/// use duograd::nn::Parameter;
/// use duograd::optim::clip_grad_norm;
/// use duograd::Tensor;
/// use duograd::backends::NdArray;
///
/// let p = Parameter::new(Tensor::<NdArray<f64>>::zeros(&[2]));
/// p.set_grad(Some(Tensor::from_f64(&[3.0, 4.0], &[2])));
/// let total = clip_grad_norm(&[p.clone()], 1.0);
/// assert_eq!(total, 5.0);
/// let g = p.grad().unwrap().to_vec();
/// assert!((g[0] - 0.6).abs() < 1e-6 && (g[1] - 0.8).abs() < 1e-6);
/// ```
pub fn clip_grad_norm<B: Backend>(params: &[Parameter<B>], max_norm: f64) -> f64 {
    let total = total_grad_norm(params);
    let coef = max_norm / (total + 1e-6);
    if coef < 1.0 || !total.is_finite() {
        let _guard = no_grad();
        for g in params.iter().filter_map(|p| p.grad()) {
            g.mul_scalar_(coef);
        }
    }
    total
}

/// Clamps every gradient element into `[-clip_value, clip_value]`, in place, as
/// `torch.nn.utils.clip_grad_value_(params, clip_value)`. Parameters without a gradient are
/// skipped; NaN elements stay NaN.
///
/// # Panics
/// If `clip_value` is negative or NaN.
///
/// ```
/// use duograd::nn::Parameter;
/// use duograd::optim::clip_grad_value;
/// use duograd::Tensor;
/// use duograd::backends::NdArray;
///
/// let p = Parameter::new(Tensor::<NdArray<f64>>::zeros(&[3]));
/// p.set_grad(Some(Tensor::from_f64(&[-3.0, 0.25, 4.0], &[3])));
/// clip_grad_value(&[p.clone()], 0.5);
/// assert_eq!(p.grad().unwrap().to_vec_f64(), vec![-0.5, 0.25, 0.5]);
/// ```
#[track_caller]
pub fn clip_grad_value<B: Backend>(params: &[Parameter<B>], clip_value: f64) {
    assert!(
        clip_value >= 0.0,
        "clip_grad_value: clip_value must be non-negative, got {clip_value}"
    );
    let _guard = no_grad();
    for g in params.iter().filter_map(|p| p.grad()) {
        g.copy_(&g.clamp(-clip_value, clip_value));
    }
}
