//! [`Conv2d`]: the 2-D convolution layer.

use super::module::display_module;
use super::{py_repr, Forward, Module, Parameter};
use crate::backend::Backend;
use crate::tensor::Tensor;
use crate::Conv2dOptions;

/// A 2-D convolution over `[N, C, H, W]` images, as PyTorch's `nn.Conv2d`: weight
/// `[out_channels, in_channels / groups, kH, kW]`, optional bias `[out_channels]`, and the
/// stride, padding, dilation and groups of a [`Conv2dOptions`]. Forward is
/// [`Tensor::conv2d`].
///
/// The default initialization is PyTorch's: weight and bias uniform in `±1/√fan_in` with
/// `fan_in = in_channels / groups · kH · kW` (`kaiming_uniform_(a=√5)` for the weight), drawn
/// from the caller's RNG, the weight first, then the bias.
///
/// ```
/// use duograd::nn::{Conv2d, Forward};
/// use duograd::{Conv2dOptions, Tensor};
/// use duograd::backends::NdArray;
/// use rand::SeedableRng;
///
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let conv = Conv2d::<NdArray<f32>>::with_options(
///     1, 6, [5, 5], Conv2dOptions::new().padding(2), true, &mut rng);
/// assert_eq!(conv.weight.shape(), &[6, 1, 5, 5]);
/// assert_eq!(conv.forward(&Tensor::zeros(&[8, 1, 28, 28])).shape(), &[8, 6, 28, 28]);
/// assert_eq!(
///     conv.to_string().lines().next().unwrap(),
///     "Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))  # 156 parameters"
/// );
/// ```
#[derive(Module)]
#[module(extra_repr = Self::repr_args)]
pub struct Conv2d<B: Backend> {
    /// The weight, `[out_channels, in_channels / groups, kH, kW]`.
    pub weight: Parameter<B>,
    /// The bias, `[out_channels]`, if the layer has one.
    pub bias: Option<Parameter<B>>,
    #[module(skip)]
    options: Conv2dOptions,
    training: bool,
}

impl<B: Backend> Conv2d<B> {
    /// A `kernel_size`×`kernel_size` convolution with stride 1, no padding, a bias, and
    /// PyTorch's default initialization.
    ///
    /// # Panics
    /// As [`Conv2d::with_options`].
    #[track_caller]
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel_size: usize,
        rng: &mut impl rand::Rng,
    ) -> Self {
        Self::with_options(
            in_channels,
            out_channels,
            [kernel_size, kernel_size],
            Conv2dOptions::new(),
            true,
            rng,
        )
    }

    /// A convolution with a `[kH, kW]` kernel, the given options, with or without a bias, and
    /// PyTorch's default initialization drawn from `rng` (the weight, then the bias).
    ///
    /// # Panics
    /// If a channel count or kernel size is 0, `options.groups` is 0 or does not divide both
    /// channel counts.
    #[track_caller]
    pub fn with_options(
        in_channels: usize,
        out_channels: usize,
        kernel_size: [usize; 2],
        options: Conv2dOptions,
        bias: bool,
        rng: &mut impl rand::Rng,
    ) -> Self {
        let groups = options.groups;
        assert!(
            in_channels > 0 && out_channels > 0,
            "Conv2d: in_channels and out_channels must be at least 1, got {in_channels} and \
             {out_channels}"
        );
        assert!(
            kernel_size[0] > 0 && kernel_size[1] > 0,
            "Conv2d: kernel_size must be at least 1, got {kernel_size:?}"
        );
        assert!(
            groups > 0 && in_channels.is_multiple_of(groups) && out_channels.is_multiple_of(groups),
            "Conv2d: groups ({groups}) must divide in_channels ({in_channels}) and out_channels \
             ({out_channels})"
        );
        let w_shape = [
            out_channels,
            in_channels / groups,
            kernel_size[0],
            kernel_size[1],
        ];
        let fan_in = w_shape[1..].iter().product::<usize>();
        let bound = 1.0 / (fan_in as f64).sqrt();
        let weight = Tensor::rand_uniform(&w_shape, -bound, bound, rng);
        let bias = bias.then(|| Tensor::rand_uniform(&[out_channels], -bound, bound, rng));
        Self::from_tensors(weight, bias, options)
    }

    /// A convolution with the given weight `[O, C / groups, kH, kW]`, bias `[O]` and options;
    /// both tensors become (new) parameters sharing their data.
    ///
    /// # Panics
    /// If the weight is not 4-D, the bias is not `[O]`, or `options.groups` is 0 or does not
    /// divide `O`.
    #[track_caller]
    pub fn from_tensors(
        weight: Tensor<B>,
        bias: Option<Tensor<B>>,
        options: Conv2dOptions,
    ) -> Self {
        assert!(
            weight.rank() == 4,
            "Conv2d: the weight must be 4-D [out_channels, in_channels / groups, kH, kW], got \
             shape {:?}",
            weight.shape()
        );
        let out_channels = weight.shape()[0];
        assert!(
            options.groups > 0 && out_channels.is_multiple_of(options.groups),
            "Conv2d: groups ({}) must divide out_channels ({out_channels})",
            options.groups
        );
        if let Some(b) = &bias {
            assert!(
                b.shape() == [out_channels],
                "Conv2d: the bias must have shape [{out_channels}] for a weight of shape {:?}, \
                 got {:?}",
                weight.shape(),
                b.shape()
            );
        }
        Conv2d {
            weight: Parameter::new(weight),
            bias: bias.map(Parameter::new),
            options,
            training: true,
        }
    }

    /// The number of input channels.
    pub fn in_channels(&self) -> usize {
        self.weight.shape()[1] * self.options.groups
    }

    /// The number of output channels.
    pub fn out_channels(&self) -> usize {
        self.weight.shape()[0]
    }

    /// The kernel's `[height, width]`.
    pub fn kernel_size(&self) -> [usize; 2] {
        [self.weight.shape()[2], self.weight.shape()[3]]
    }

    /// The stride, padding, dilation and groups.
    pub fn options(&self) -> Conv2dOptions {
        self.options
    }

    /// As PyTorch's: the channels, kernel and stride always; padding, dilation, groups and bias
    /// only when they differ from the defaults.
    fn repr_args(&self) -> String {
        let o = &self.options;
        let mut s = format!(
            "{}, {}, kernel_size={}, stride={}",
            self.in_channels(),
            self.out_channels(),
            py_repr::pair(self.kernel_size()),
            py_repr::pair(o.stride)
        );
        if o.padding != [0, 0] {
            s.push_str(&format!(", padding={}", py_repr::pair(o.padding)));
        }
        if o.dilation != [1, 1] {
            s.push_str(&format!(", dilation={}", py_repr::pair(o.dilation)));
        }
        if o.groups != 1 {
            s.push_str(&format!(", groups={}", o.groups));
        }
        if self.bias.is_none() {
            s.push_str(", bias=False");
        }
        s
    }
}

impl<B: Backend> Forward<B> for Conv2d<B> {
    /// The convolution of an `[N, in_channels, H, W]` batch, or of one `[in_channels, H, W]`
    /// image (PyTorch's unbatched input), giving `[N, out_channels, outH, outW]` or
    /// `[out_channels, outH, outW]`.
    ///
    /// # Panics
    /// If the input is not 3- or 4-D with `in_channels` channels, or the kernel does not fit
    /// the padded input.
    fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
        let c = self.in_channels();
        let shape = x.shape();
        let channels_at = |axis: usize| shape.get(axis) == Some(&c);
        match shape.len() {
            4 if channels_at(1) => x.conv2d(&self.weight, self.bias.as_deref(), self.options),
            3 if channels_at(0) => x
                .unsqueeze(0)
                .conv2d(&self.weight, self.bias.as_deref(), self.options)
                .squeeze(0),
            _ => panic!(
                "Conv2d: expects an input [N, {c}, H, W] or [{c}, H, W], got shape {shape:?}"
            ),
        }
    }
}

display_module!(Conv2d<B>);
