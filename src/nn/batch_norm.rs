//! Batch normalization layers: [`BatchNorm1d`] and [`BatchNorm2d`], one implementation
//! ([`BatchNorm`]) for both.

use std::fmt;

use super::{py_repr, Buffer, Counter, Forward, Module, Parameter};
use crate::backend::Backend;
use crate::tensor::Tensor;

/// Batch normalization over `[N, C]` or `[N, C, L]` inputs, as PyTorch's `nn.BatchNorm1d`.
///
/// ```
/// use duograd::nn::{BatchNorm1d, Forward};
/// use duograd::Tensor;
/// use duograd::backends::NdArray;
///
/// let bn = BatchNorm1d::<NdArray<f64>>::new(2);
/// let x = Tensor::from_f64(&[1.0, 2.0, 3.0, 6.0], &[2, 2]);
/// let y = bn.forward(&x); // training mode: the batch's statistics
/// assert!((y.to_vec()[0] + 1.0).abs() < 1e-4);
/// // The running statistics moved by momentum 0.1 towards the batch's (variance unbiased).
/// assert_eq!(bn.running_mean().unwrap().to_vec(), [0.2, 0.4]);
/// let var = bn.running_var().unwrap().to_vec();
/// assert!((var[0] - 1.1).abs() < 1e-12 && (var[1] - 1.7).abs() < 1e-12);
/// assert_eq!(bn.num_batches_tracked().unwrap().get(), 1);
/// assert!(bn.to_string().starts_with(
///     "BatchNorm1d(2, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"
/// ));
/// ```
pub type BatchNorm1d<B> = BatchNorm<B, 1>;

/// Batch normalization over `[N, C, H, W]` inputs, as PyTorch's `nn.BatchNorm2d`.
///
/// ```
/// use duograd::nn::{BatchNorm2d, Forward, Module};
/// use duograd::Tensor;
/// use duograd::backends::NdArray;
/// use rand::SeedableRng;
///
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let mut bn = BatchNorm2d::<NdArray<f64>>::new(3).momentum(0.2).eps(1e-3);
/// let x = Tensor::randn(&[4, 3, 5, 5], 2.0, 3.0, &mut rng);
/// let y = bn.forward(&x);
/// // Per channel, the output has mean 0 and (biased) variance close to 1.
/// let mean = y.mean_dims(&[0, 2, 3], false).to_vec();
/// assert!(mean.iter().all(|m| m.abs() < 1e-12));
/// bn.eval(); // from now on, the running statistics
/// assert_eq!(bn.forward(&x).shape(), &[4, 3, 5, 5]);
/// let names: Vec<String> = bn.named_buffers().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["running_mean", "running_var", "num_batches_tracked"]);
/// ```
pub type BatchNorm2d<B> = BatchNorm<B, 2>;

/// Batch normalization over the channel axis (axis 1) of a `D`-dimensional batch, as PyTorch's
/// `nn.BatchNorm1d` (`D = 1`) and `nn.BatchNorm2d` (`D = 2`); use the aliases [`BatchNorm1d`]
/// and [`BatchNorm2d`]. Forward is [`Tensor::batch_norm`].
///
/// - Parameters (with `affine`, the default): `weight` (ones) and `bias` (zeros), `[C]`.
/// - Buffers (with `track_running_stats`, the default): `running_mean` (zeros) and
///   `running_var` (ones), `[C]`, and `num_batches_tracked` (0), saved as PyTorch names them.
/// - Training mode normalizes with the batch's statistics, moves the running ones towards them
///   by `momentum` (default 0.1) and counts the batch; evaluation mode normalizes with the
///   running statistics. `eps` (default 1e-5) is added to the variance.
#[derive(Module)]
#[module(extra_repr = Self::repr_args, type_name = Self::name)]
pub struct BatchNorm<B: Backend, const D: usize> {
    /// The scale γ, `[num_features]`, if the layer is affine.
    pub weight: Option<Parameter<B>>,
    /// The shift β, `[num_features]`, if the layer is affine.
    pub bias: Option<Parameter<B>>,
    // Always tensor buffers: the accessors below rely on it.
    running_mean: Option<Buffer<B>>,
    running_var: Option<Buffer<B>>,
    num_batches_tracked: Option<Counter>,
    #[module(skip)]
    num_features: usize,
    /// The value added to the variance before its square root (default 1e-5).
    #[module(skip)]
    pub eps: f64,
    /// The running statistics' update factor (default 0.1), or `None` for a cumulative average
    /// (see [`BatchNorm::cumulative_average`]).
    #[module(skip)]
    pub momentum: Option<f64>,
    training: bool,
}

impl<B: Backend, const D: usize> BatchNorm<B, D> {
    /// Normalization of `num_features` channels with PyTorch's defaults: eps 1e-5, momentum
    /// 0.1, affine, tracking running statistics.
    ///
    /// # Panics
    /// If `num_features` is 0.
    #[track_caller]
    pub fn new(num_features: usize) -> Self {
        const { assert!(D == 1 || D == 2, "BatchNorm: D must be 1 or 2") };
        assert!(
            num_features > 0,
            "BatchNorm{D}d: num_features must be at least 1"
        );
        BatchNorm {
            weight: Some(Parameter::new(Tensor::ones(&[num_features]))),
            bias: Some(Parameter::new(Tensor::zeros(&[num_features]))),
            running_mean: Some(Tensor::zeros(&[num_features]).into()),
            running_var: Some(Tensor::ones(&[num_features]).into()),
            num_batches_tracked: Some(Counter::new(0)),
            num_features,
            eps: 1e-5,
            momentum: Some(0.1),
            training: true,
        }
    }

    /// The layer with `eps` added to the variance (builder style).
    pub fn eps(self, eps: f64) -> Self {
        BatchNorm { eps, ..self }
    }

    /// The layer with running statistics updated as `(1 − momentum)·running +
    /// momentum·batch` (builder style).
    pub fn momentum(self, momentum: f64) -> Self {
        BatchNorm {
            momentum: Some(momentum),
            ..self
        }
    }

    /// The layer with running statistics that are the plain average of every batch's, as
    /// PyTorch's `momentum=None`: the update factor is `1 / num_batches_tracked` (builder
    /// style).
    pub fn cumulative_average(self) -> Self {
        BatchNorm {
            momentum: None,
            ..self
        }
    }

    /// The layer with (`true`: new ones and zeros) or without a learnable `weight` and `bias`
    /// (builder style).
    pub fn affine(self, affine: bool) -> Self {
        let n = self.num_features;
        BatchNorm {
            weight: affine.then(|| Parameter::new(Tensor::ones(&[n]))),
            bias: affine.then(|| Parameter::new(Tensor::zeros(&[n]))),
            ..self
        }
    }

    /// The layer with (`true`: fresh ones) or without running statistics; without them, both
    /// modes normalize with the batch's statistics (builder style).
    pub fn track_running_stats(self, track: bool) -> Self {
        let n = self.num_features;
        BatchNorm {
            running_mean: track.then(|| Tensor::zeros(&[n]).into()),
            running_var: track.then(|| Tensor::ones(&[n]).into()),
            num_batches_tracked: track.then(|| Counter::new(0)),
            ..self
        }
    }

    /// The number of channels `C`.
    pub fn num_features(&self) -> usize {
        self.num_features
    }

    /// The running mean `[C]`, if the layer tracks running statistics.
    pub fn running_mean(&self) -> Option<&Tensor<B>> {
        self.running_mean.as_ref().and_then(Buffer::as_tensor)
    }

    /// The running (unbiased) variance `[C]`, if the layer tracks running statistics.
    pub fn running_var(&self) -> Option<&Tensor<B>> {
        self.running_var.as_ref().and_then(Buffer::as_tensor)
    }

    /// The number of batches seen in training mode, if the layer tracks running statistics.
    pub fn num_batches_tracked(&self) -> Option<&Counter> {
        self.num_batches_tracked.as_ref()
    }

    /// Resets the running statistics to zeros (mean) and ones (variance) and the batch count to
    /// 0, in place, as PyTorch's `reset_running_stats()`.
    pub fn reset_running_stats(&self) {
        crate::autograd::with_no_grad(|| {
            if let (Some(mean), Some(var)) = (self.running_mean(), self.running_var()) {
                mean.copy_(&mean.zeros_like());
                var.copy_(&var.ones_like());
            }
        });
        if let Some(count) = &self.num_batches_tracked {
            count.set(0);
        }
    }

    /// PyTorch's class name: `BatchNorm1d` or `BatchNorm2d`.
    fn name(&self) -> String {
        format!("BatchNorm{D}d")
    }

    fn repr_args(&self) -> String {
        let momentum = self.momentum.map_or("None".into(), py_repr::float);
        format!(
            "{}, eps={}, momentum={momentum}, affine={}, track_running_stats={}",
            self.num_features,
            py_repr::float(self.eps),
            py_repr::boolean(self.weight.is_some()),
            py_repr::boolean(self.running_mean.is_some())
        )
    }

    /// Panics unless `shape` is an input this layer takes.
    #[track_caller]
    fn check_input(&self, shape: &[usize]) {
        let c = self.num_features;
        let (ranks, expected): (&[usize], String) = if D == 1 {
            (&[2, 3], format!("[N, {c}] or [N, {c}, L]"))
        } else {
            (&[4], format!("[N, {c}, H, W]"))
        };
        assert!(
            ranks.contains(&shape.len()) && shape[1] == c,
            "BatchNorm{D}d({c}): expects an input {expected}, got shape {shape:?}"
        );
    }
}

impl<B: Backend, const D: usize> Forward<B> for BatchNorm<B, D> {
    /// Normalizes each channel, as PyTorch's `_BatchNorm.forward`: in training mode with the
    /// batch's statistics (updating the running ones, if tracked, and counting the batch), in
    /// evaluation mode with the running statistics (or the batch's, if none are tracked).
    ///
    /// # Panics
    /// If the input is not `[N, C]` or `[N, C, L]` (`BatchNorm1d`) or `[N, C, H, W]`
    /// (`BatchNorm2d`) with `C = num_features`, or, in training, a channel has a single value.
    fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
        self.check_input(x.shape());
        let mut factor = self.momentum.unwrap_or(0.0);
        let count = self.num_batches_tracked.as_ref().filter(|_| self.training);
        if let Some(count) = count {
            if self.momentum.is_none() {
                factor = 1.0 / (count.get() + 1) as f64;
            }
        }
        let batch_stats = self.training || self.running_mean.is_none();
        let y = x.batch_norm(
            self.running_mean(),
            self.running_var(),
            self.weight.as_deref(),
            self.bias.as_deref(),
            batch_stats,
            factor,
            self.eps,
        );
        if let Some(count) = count {
            count.increment();
        }
        y
    }
}

impl<B: Backend, const D: usize> fmt::Display for BatchNorm<B, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        super::module::fmt_module::<B>(self, f)
    }
}

impl<B: Backend, const D: usize> fmt::Debug for BatchNorm<B, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
