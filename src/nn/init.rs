//! Parameter initialization, as PyTorch's `torch.nn.init`: each function fills a tensor (or a
//! [`Parameter`](crate::nn::Parameter), which dereferences to one) in place from `rng`, under
//! [`no_grad`](crate::no_grad), bumping its version counter as every in-place update does.
//!
//! Fans and gains follow PyTorch: for a weight of shape `(out, in, k₁, …, kₙ)` (a linear layer's
//! `(out, in)` or a convolution's `(out, in / groups, kH, kW)`), `fan_in = in·k₁⋯kₙ` and
//! `fan_out = out·k₁⋯kₙ`; the gain of each nonlinearity is [`calculate_gain`]'s.
//!
//! ```
//! use duograd::backends::NdArray;
//! use duograd::nn::init::{self, FanMode, Nonlinearity};
//! use duograd::nn::Parameter;
//! use duograd::Tensor;
//! use rand::SeedableRng;
//!
//! let mut rng = rand::rngs::StdRng::seed_from_u64(0);
//! let w = Parameter::new(Tensor::<NdArray<f32>>::zeros(&[64, 32, 3, 3]));
//! init::kaiming_normal_(&w, 0.0, FanMode::FanOut, Nonlinearity::Relu, &mut rng)?;
//! let b = Parameter::new(Tensor::<NdArray<f32>>::ones(&[64]));
//! init::zeros_(&b);
//! assert_eq!(w.version(), 1);
//! assert!(b.to_vec().iter().all(|&v| v == 0.0));
//! # Ok::<(), duograd::nn::init::InitError>(())
//! ```

use thiserror::Error;

use crate::autograd::with_no_grad;
use crate::backend::Backend;
use crate::tensor::Tensor;

/// Why an initialization could not run.
///
/// ```
/// use duograd::nn::init::{fan_in_and_fan_out, InitError};
/// let err = fan_in_and_fan_out(&[10]).unwrap_err();
/// assert!(matches!(err, InitError::FanOfLowRank { ref shape, .. } if shape == &[10]));
/// assert!(err.to_string().contains("fewer than 2 dimensions, got shape [10]"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InitError {
    /// Fans need a weight of at least two dimensions (PyTorch raises the same).
    #[error(
        "{op}: fan in and fan out cannot be computed for a tensor with fewer than 2 \
         dimensions, got shape {shape:?}"
    )]
    FanOfLowRank {
        /// The function that needed the fans.
        op: &'static str,
        /// The tensor's shape.
        shape: Vec<usize>,
    },
}

/// Which fan scales the variance, as PyTorch's `mode=`: `FanIn` keeps the forward pass's
/// variance, `FanOut` the backward pass's.
///
/// ```
/// use duograd::nn::init::{fan, FanMode};
/// assert_eq!(fan(&[8, 3], FanMode::default()), Ok(3));
/// assert_eq!(fan(&[8, 3], FanMode::FanOut), Ok(8));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FanMode {
    /// The number of inputs of each output (the default).
    #[default]
    FanIn,
    /// The number of outputs of each input.
    FanOut,
}

/// A nonlinearity, for [`calculate_gain`] (PyTorch's names).
///
/// ```
/// use duograd::nn::init::{calculate_gain, Nonlinearity};
/// assert_eq!(calculate_gain(Nonlinearity::Selu, None), 0.75);
/// assert_eq!(calculate_gain(Nonlinearity::LeakyRelu, Some(1.0)), 1.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Nonlinearity {
    /// The identity (gain 1).
    Linear,
    /// A 1-d convolution (gain 1).
    Conv1d,
    /// A 2-d convolution (gain 1).
    Conv2d,
    /// A 3-d convolution (gain 1).
    Conv3d,
    /// A 1-d transposed convolution (gain 1).
    ConvTranspose1d,
    /// A 2-d transposed convolution (gain 1).
    ConvTranspose2d,
    /// A 3-d transposed convolution (gain 1).
    ConvTranspose3d,
    /// The logistic sigmoid (gain 1).
    Sigmoid,
    /// `tanh` (gain 5/3).
    Tanh,
    /// `max(x, 0)` (gain √2).
    Relu,
    /// Leaky ReLU with negative slope `param` (gain `√(2 / (1 + slope²))`, slope 0.01 by
    /// default).
    LeakyRelu,
    /// SELU (gain 3/4).
    Selu,
}

/// The recommended gain for `nonlinearity`, as PyTorch's `nn.init.calculate_gain`: the factor
/// that keeps activations' variance stable through the layer. `param` is the negative slope of
/// [`Nonlinearity::LeakyRelu`] (0.01 if `None`) and is ignored by the others.
///
/// ```
/// use duograd::nn::init::{calculate_gain, Nonlinearity};
/// assert_eq!(calculate_gain(Nonlinearity::Relu, None), 2f64.sqrt());
/// assert_eq!(calculate_gain(Nonlinearity::Tanh, None), 5.0 / 3.0);
/// // PyTorch's Linear and Conv2d default: leaky_relu with a = √5, gain √(1/3).
/// let g = calculate_gain(Nonlinearity::LeakyRelu, Some(5f64.sqrt()));
/// assert!((g - (1.0f64 / 3.0).sqrt()).abs() < 1e-15);
/// ```
pub fn calculate_gain(nonlinearity: Nonlinearity, param: Option<f64>) -> f64 {
    use Nonlinearity::*;
    match nonlinearity {
        Linear | Conv1d | Conv2d | Conv3d | ConvTranspose1d | ConvTranspose2d | ConvTranspose3d
        | Sigmoid => 1.0,
        Tanh => 5.0 / 3.0,
        Relu => 2f64.sqrt(),
        LeakyRelu => {
            let slope = param.unwrap_or(0.01);
            (2.0 / (1.0 + slope * slope)).sqrt()
        }
        // PyTorch's value: 3/4 keeps self-normalizing networks' gradients stable.
        Selu => 0.75,
    }
}

/// `(fan_in, fan_out)` of a weight of shape `(out, in, k₁, …, kₙ)`, as PyTorch's
/// `_calculate_fan_in_and_fan_out`: `(in·k₁⋯kₙ, out·k₁⋯kₙ)`.
///
/// ```
/// use duograd::nn::init::fan_in_and_fan_out;
/// assert_eq!(fan_in_and_fan_out(&[10, 4]), Ok((4, 10)));
/// assert_eq!(fan_in_and_fan_out(&[16, 3, 5, 5]), Ok((75, 400)));
/// assert!(fan_in_and_fan_out(&[7]).is_err());
/// ```
///
/// # Errors
/// [`InitError::FanOfLowRank`] for a shape of fewer than 2 dimensions.
pub fn fan_in_and_fan_out(shape: &[usize]) -> Result<(usize, usize), InitError> {
    fans("fan_in_and_fan_out", shape)
}

/// The fan that `mode` selects, as PyTorch's `_calculate_correct_fan`.
///
/// ```
/// use duograd::nn::init::{fan, FanMode};
/// assert_eq!(fan(&[16, 3, 5, 5], FanMode::FanIn), Ok(75));
/// assert_eq!(fan(&[16, 3, 5, 5], FanMode::FanOut), Ok(400));
/// ```
///
/// # Errors
/// [`InitError::FanOfLowRank`] for a shape of fewer than 2 dimensions.
pub fn fan(shape: &[usize], mode: FanMode) -> Result<usize, InitError> {
    mode_fan("fan", shape, mode)
}

fn fans(op: &'static str, shape: &[usize]) -> Result<(usize, usize), InitError> {
    if shape.len() < 2 {
        return Err(InitError::FanOfLowRank {
            op,
            shape: shape.to_vec(),
        });
    }
    let receptive: usize = shape[2..].iter().product();
    Ok((shape[1] * receptive, shape[0] * receptive))
}

fn mode_fan(op: &'static str, shape: &[usize], mode: FanMode) -> Result<usize, InitError> {
    let (fan_in, fan_out) = fans(op, shape)?;
    Ok(match mode {
        FanMode::FanIn => fan_in,
        FanMode::FanOut => fan_out,
    })
}

/// Overwrites `tensor` with `values` under `no_grad`, bumping its version.
fn fill<B: Backend>(tensor: &Tensor<B>, values: Tensor<B>) {
    with_no_grad(|| tensor.copy_(&values));
}

/// Fills `tensor` with values drawn uniformly from `[low, high)`.
///
/// ```
/// use duograd::backends::NdArray;
/// use duograd::nn::init;
/// use duograd::Tensor;
/// use rand::SeedableRng;
/// let t = Tensor::<NdArray<f64>>::zeros(&[100]);
/// init::uniform_(&t, -0.5, 0.5, &mut rand::rngs::StdRng::seed_from_u64(1));
/// assert!(t.to_vec().iter().all(|v| (-0.5..0.5).contains(v)));
/// ```
///
/// # Panics
/// If `low` is not below `high`.
#[track_caller]
pub fn uniform_<B: Backend>(tensor: &Tensor<B>, low: f64, high: f64, rng: &mut impl rand::Rng) {
    assert!(low < high, "uniform_: low {low} must be below high {high}");
    fill(tensor, Tensor::rand_uniform(tensor.shape(), low, high, rng));
}

/// Fills `tensor` with values drawn from the normal distribution `N(mean, std²)`.
///
/// ```
/// use duograd::backends::NdArray;
/// use duograd::nn::init;
/// use duograd::Tensor;
/// use rand::SeedableRng;
/// let t = Tensor::<NdArray<f64>>::zeros(&[10]);
/// init::normal_(&t, 3.0, 0.0, &mut rand::rngs::StdRng::seed_from_u64(1));
/// assert_eq!(t.to_vec(), vec![3.0; 10]);
/// ```
///
/// # Panics
/// If `std` is negative or not finite.
#[track_caller]
pub fn normal_<B: Backend>(tensor: &Tensor<B>, mean: f64, std: f64, rng: &mut impl rand::Rng) {
    fill(tensor, Tensor::randn(tensor.shape(), mean, std, rng));
}

/// Fills `tensor` with `value`.
///
/// ```
/// use duograd::backends::NdArray;
/// use duograd::nn::init;
/// use duograd::Tensor;
/// let t = Tensor::<NdArray<f64>>::zeros(&[3]);
/// init::constant_(&t, 0.25);
/// assert_eq!(t.to_vec(), vec![0.25; 3]);
/// ```
pub fn constant_<B: Backend>(tensor: &Tensor<B>, value: f64) {
    fill(tensor, Tensor::full(tensor.shape(), value));
}

/// Fills `tensor` with zeros.
///
/// ```
/// use duograd::backends::NdArray;
/// use duograd::nn::init;
/// use duograd::Tensor;
/// let t = Tensor::<NdArray<f64>>::ones(&[2]);
/// init::zeros_(&t);
/// assert_eq!(t.to_vec(), vec![0.0; 2]);
/// ```
pub fn zeros_<B: Backend>(tensor: &Tensor<B>) {
    constant_(tensor, 0.0);
}

/// Fills `tensor` with ones.
///
/// ```
/// use duograd::backends::NdArray;
/// use duograd::nn::init;
/// use duograd::Tensor;
/// let t = Tensor::<NdArray<f64>>::zeros(&[2]);
/// init::ones_(&t);
/// assert_eq!(t.to_vec(), vec![1.0; 2]);
/// ```
pub fn ones_<B: Backend>(tensor: &Tensor<B>) {
    constant_(tensor, 1.0);
}

/// He (Kaiming) uniform initialization, as PyTorch's `kaiming_uniform_`: values uniform in
/// `±gain·√(3 / fan)`, with `gain = calculate_gain(nonlinearity, Some(a))` (`a` is the leaky
/// ReLU's negative slope) and `fan` chosen by `mode`. A tensor with no elements is left as it
/// is.
///
/// ```
/// use duograd::backends::NdArray;
/// use duograd::nn::init::{self, FanMode, Nonlinearity};
/// use duograd::Tensor;
/// use rand::SeedableRng;
/// let w = Tensor::<NdArray<f64>>::zeros(&[50, 6]);
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// init::kaiming_uniform_(&w, 0.0, FanMode::FanIn, Nonlinearity::Relu, &mut rng)?;
/// assert!(w.to_vec().iter().all(|v| v.abs() < 1.0)); // bound √2·√(3/6) = 1
/// # Ok::<(), duograd::nn::init::InitError>(())
/// ```
///
/// # Errors
/// [`InitError::FanOfLowRank`] for a tensor of fewer than 2 dimensions.
pub fn kaiming_uniform_<B: Backend>(
    tensor: &Tensor<B>,
    a: f64,
    mode: FanMode,
    nonlinearity: Nonlinearity,
    rng: &mut impl rand::Rng,
) -> Result<(), InitError> {
    let fan = mode_fan("kaiming_uniform_", tensor.shape(), mode)?;
    if tensor.numel() == 0 {
        return Ok(());
    }
    let std = calculate_gain(nonlinearity, Some(a)) / (fan as f64).sqrt();
    let bound = 3f64.sqrt() * std;
    uniform_(tensor, -bound, bound, rng);
    Ok(())
}

/// He (Kaiming) normal initialization, as PyTorch's `kaiming_normal_`: values from
/// `N(0, std²)` with `std = gain / √fan` (see [`kaiming_uniform_`] for `a`, `mode` and
/// `nonlinearity`). A tensor with no elements is left as it is.
///
/// ```
/// use duograd::backends::NdArray;
/// use duograd::nn::init::{self, FanMode, Nonlinearity};
/// use duograd::Tensor;
/// use rand::SeedableRng;
/// let w = Tensor::<NdArray<f64>>::zeros(&[200, 50]);
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// init::kaiming_normal_(&w, 0.0, FanMode::FanIn, Nonlinearity::Relu, &mut rng)?;
/// let var = w.square().mean().item(); // 2 / fan_in = 0.04
/// assert!((var - 0.04).abs() < 0.002);
/// # Ok::<(), duograd::nn::init::InitError>(())
/// ```
///
/// # Errors
/// [`InitError::FanOfLowRank`] for a tensor of fewer than 2 dimensions.
pub fn kaiming_normal_<B: Backend>(
    tensor: &Tensor<B>,
    a: f64,
    mode: FanMode,
    nonlinearity: Nonlinearity,
    rng: &mut impl rand::Rng,
) -> Result<(), InitError> {
    let fan = mode_fan("kaiming_normal_", tensor.shape(), mode)?;
    if tensor.numel() == 0 {
        return Ok(());
    }
    let std = calculate_gain(nonlinearity, Some(a)) / (fan as f64).sqrt();
    normal_(tensor, 0.0, std, rng);
    Ok(())
}

/// Glorot (Xavier) uniform initialization, as PyTorch's `xavier_uniform_`: values uniform in
/// `±gain·√(6 / (fan_in + fan_out))`. A tensor with no elements is left as it is.
///
/// ```
/// use duograd::backends::NdArray;
/// use duograd::nn::init;
/// use duograd::Tensor;
/// use rand::SeedableRng;
/// let w = Tensor::<NdArray<f64>>::zeros(&[4, 2]);
/// init::xavier_uniform_(&w, 1.0, &mut rand::rngs::StdRng::seed_from_u64(0))?;
/// assert!(w.to_vec().iter().all(|v| v.abs() < 1.0)); // bound √(6 / 6)
/// # Ok::<(), duograd::nn::init::InitError>(())
/// ```
///
/// # Errors
/// [`InitError::FanOfLowRank`] for a tensor of fewer than 2 dimensions.
pub fn xavier_uniform_<B: Backend>(
    tensor: &Tensor<B>,
    gain: f64,
    rng: &mut impl rand::Rng,
) -> Result<(), InitError> {
    let (fan_in, fan_out) = fans("xavier_uniform_", tensor.shape())?;
    if tensor.numel() == 0 {
        return Ok(());
    }
    let std = gain * (2.0 / (fan_in + fan_out) as f64).sqrt();
    let bound = 3f64.sqrt() * std;
    uniform_(tensor, -bound, bound, rng);
    Ok(())
}

/// Glorot (Xavier) normal initialization, as PyTorch's `xavier_normal_`: values from
/// `N(0, std²)` with `std = gain·√(2 / (fan_in + fan_out))`. A tensor with no elements is left
/// as it is.
///
/// ```
/// use duograd::backends::NdArray;
/// use duograd::nn::init;
/// use duograd::Tensor;
/// use rand::SeedableRng;
/// let w = Tensor::<NdArray<f64>>::zeros(&[300, 100]);
/// init::xavier_normal_(&w, 2.0, &mut rand::rngs::StdRng::seed_from_u64(0))?;
/// let var = w.square().mean().item(); // 4 · 2 / 400 = 0.02
/// assert!((var - 0.02).abs() < 0.001);
/// # Ok::<(), duograd::nn::init::InitError>(())
/// ```
///
/// # Errors
/// [`InitError::FanOfLowRank`] for a tensor of fewer than 2 dimensions.
pub fn xavier_normal_<B: Backend>(
    tensor: &Tensor<B>,
    gain: f64,
    rng: &mut impl rand::Rng,
) -> Result<(), InitError> {
    let (fan_in, fan_out) = fans("xavier_normal_", tensor.shape())?;
    if tensor.numel() == 0 {
        return Ok(());
    }
    let std = gain * (2.0 / (fan_in + fan_out) as f64).sqrt();
    normal_(tensor, 0.0, std, rng);
    Ok(())
}

/// How many draws in a row [`trunc_normal_`] tries for one value before it gives up: an
/// interval holding less than about 10⁻⁴ of the distribution's mass.
const TRUNC_NORMAL_TRIES: usize = 100_000;

/// Fills `tensor` with values from `N(mean, std²)` truncated to `[a, b]`, as PyTorch's
/// `trunc_normal_` (the same distribution; drawn by rejection: a value outside `[a, b]` is
/// drawn again).
///
/// ```
/// use duograd::backends::NdArray;
/// use duograd::nn::init;
/// use duograd::Tensor;
/// use rand::SeedableRng;
/// let t = Tensor::<NdArray<f64>>::zeros(&[1000]);
/// init::trunc_normal_(&t, 0.0, 1.0, -2.0, 2.0, &mut rand::rngs::StdRng::seed_from_u64(0));
/// assert!(t.to_vec().iter().all(|v| (-2.0..=2.0).contains(v)));
/// ```
///
/// # Panics
/// If `std` is not positive and finite, `a` is not below `b`, or `[a, b]` holds so little of
/// the distribution that no value falls in it after many draws.
#[track_caller]
pub fn trunc_normal_<B: Backend>(
    tensor: &Tensor<B>,
    mean: f64,
    std: f64,
    a: f64,
    b: f64,
    rng: &mut impl rand::Rng,
) {
    let op = "trunc_normal_";
    assert!(
        std > 0.0 && std.is_finite(),
        "{op}: std must be positive and finite, got {std}"
    );
    assert!(a < b, "{op}: the lower bound a = {a} must be below b = {b}");
    let normal = rand_distr::Normal::new(mean, std).expect("a positive, finite std");
    let mut draw = || {
        for _ in 0..TRUNC_NORMAL_TRIES {
            let v: f64 = rand_distr::Distribution::sample(&normal, rng);
            if (a..=b).contains(&v) {
                return v;
            }
        }
        panic!(
            "{op}: no value of N({mean}, {std}²) fell in [{a}, {b}] in {TRUNC_NORMAL_TRIES} \
             draws; the interval holds almost none of the distribution"
        );
    };
    let values: Vec<f64> = (0..tensor.numel()).map(|_| draw()).collect();
    fill(tensor, Tensor::from_f64(&values, tensor.shape()));
}
