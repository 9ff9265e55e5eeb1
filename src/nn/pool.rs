//! Pooling layers: [`MaxPool2d`], [`AvgPool2d`] and [`AdaptiveAvgPool2d`].

use super::py_repr::{self, display_layer};
use super::{Forward, Module};
use crate::backend::Backend;
use crate::tensor::Tensor;
use crate::Pool2dOptions;

/// Applies `pool` to an `[N, C, H, W]` batch, or to one `[C, H, W]` image as PyTorch's
/// unbatched input, or panics naming `layer`.
#[track_caller]
fn pool_2d<B: Backend>(
    layer: &str,
    x: &Tensor<B>,
    pool: impl Fn(&Tensor<B>) -> Tensor<B>,
) -> Tensor<B> {
    match x.rank() {
        4 => pool(x),
        3 => pool(&x.unsqueeze(0)).squeeze(0),
        _ => panic!(
            "{layer}: expects an input [N, C, H, W] or [C, H, W], got shape {:?}",
            x.shape()
        ),
    }
}

/// Implements `Forward` for a pooling layer from its `pool` method.
macro_rules! pooling_module {
    ($ty:ident) => {
        impl<B: Backend> Forward<B> for $ty {
            /// Pools an `[N, C, H, W]` batch, or one `[C, H, W]` image.
            ///
            /// # Panics
            /// If the input is not 3- or 4-D, or the window does not fit it.
            fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
                pool_2d(stringify!($ty), x, |x| self.pool(x))
            }
        }

        display_layer!($ty);

        impl $ty {
            /// Whether the module is in training mode (the same as [`Module::is_training`],
            /// callable without naming a backend).
            pub fn is_training(&self) -> bool {
                self.training
            }
        }
    };
}

/// Max pooling over 2-D windows, as PyTorch's `nn.MaxPool2d` (dilation 1, `ceil_mode=False`).
/// Forward is [`Tensor::max_pool2d`].
///
/// ```
/// use duograd::nn::{Forward, MaxPool2d};
/// use duograd::Tensor;
/// use duograd::backends::NdArray;
///
/// let pool = MaxPool2d::new(2);
/// let x = Tensor::<NdArray<f32>>::zeros(&[8, 6, 28, 28]);
/// assert_eq!(pool.forward(&x).shape(), &[8, 6, 14, 14]);
/// assert_eq!(
///     pool.to_string(),
///     "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
/// );
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Module)]
#[module(extra_repr = Self::repr_args)]
pub struct MaxPool2d {
    #[module(skip)]
    options: Pool2dOptions,
    training: bool,
}

impl MaxPool2d {
    /// A `kernel_size`×`kernel_size` window with stride `kernel_size` and no padding.
    pub fn new(kernel_size: usize) -> Self {
        Self::with_options(Pool2dOptions::new(kernel_size))
    }

    /// Pooling with the given window, stride and padding.
    pub fn with_options(options: Pool2dOptions) -> Self {
        MaxPool2d {
            options,
            training: true,
        }
    }

    /// The window, stride and padding.
    pub fn options(&self) -> Pool2dOptions {
        self.options
    }

    fn pool<B: Backend>(&self, x: &Tensor<B>) -> Tensor<B> {
        x.max_pool2d(self.options)
    }

    fn repr_args(&self) -> String {
        let o = &self.options;
        format!(
            "kernel_size={}, stride={}, padding={}, dilation=1, ceil_mode=False",
            py_repr::size(o.kernel),
            py_repr::size(o.stride),
            py_repr::size(o.padding)
        )
    }
}

pooling_module!(MaxPool2d);

/// Average pooling over 2-D windows, as PyTorch's `nn.AvgPool2d` with its defaults
/// (`count_include_pad=True`, `ceil_mode=False`). Forward is [`Tensor::avg_pool2d`].
///
/// ```
/// use duograd::nn::{AvgPool2d, Forward};
/// use duograd::{Pool2dOptions, Tensor};
/// use duograd::backends::NdArray;
///
/// let pool = AvgPool2d::with_options(Pool2dOptions::new(3).stride(2).padding(1));
/// let x = Tensor::<NdArray<f32>>::zeros(&[1, 4, 8, 8]);
/// assert_eq!(pool.forward(&x).shape(), &[1, 4, 4, 4]);
/// assert_eq!(pool.to_string(), "AvgPool2d(kernel_size=3, stride=2, padding=1)");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Module)]
#[module(extra_repr = Self::repr_args)]
pub struct AvgPool2d {
    #[module(skip)]
    options: Pool2dOptions,
    training: bool,
}

impl AvgPool2d {
    /// A `kernel_size`×`kernel_size` window with stride `kernel_size` and no padding.
    pub fn new(kernel_size: usize) -> Self {
        Self::with_options(Pool2dOptions::new(kernel_size))
    }

    /// Pooling with the given window, stride and padding.
    pub fn with_options(options: Pool2dOptions) -> Self {
        AvgPool2d {
            options,
            training: true,
        }
    }

    /// The window, stride and padding.
    pub fn options(&self) -> Pool2dOptions {
        self.options
    }

    fn pool<B: Backend>(&self, x: &Tensor<B>) -> Tensor<B> {
        x.avg_pool2d(self.options)
    }

    fn repr_args(&self) -> String {
        let o = &self.options;
        format!(
            "kernel_size={}, stride={}, padding={}",
            py_repr::size(o.kernel),
            py_repr::size(o.stride),
            py_repr::size(o.padding)
        )
    }
}

pooling_module!(AvgPool2d);

/// Average pooling to a fixed output size whatever the input's, as PyTorch's
/// `nn.AdaptiveAvgPool2d`; `AdaptiveAvgPool2d::new(1)` is global average pooling. Forward is
/// [`Tensor::adaptive_avg_pool2d`].
///
/// ```
/// use duograd::nn::{AdaptiveAvgPool2d, Forward};
/// use duograd::Tensor;
/// use duograd::backends::NdArray;
///
/// let pool = AdaptiveAvgPool2d::new(1);
/// let x = Tensor::<NdArray<f32>>::ones(&[2, 16, 7, 5]);
/// assert_eq!(pool.forward(&x).shape(), &[2, 16, 1, 1]);
/// assert_eq!(pool.to_string(), "AdaptiveAvgPool2d(output_size=1)");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Module)]
#[module(extra_repr = Self::repr_args)]
pub struct AdaptiveAvgPool2d {
    #[module(skip)]
    output_size: [usize; 2],
    training: bool,
}

impl AdaptiveAvgPool2d {
    /// Pooling to `output_size`×`output_size`.
    pub fn new(output_size: usize) -> Self {
        Self::new_hw([output_size, output_size])
    }

    /// Pooling to `[outH, outW]`.
    pub fn new_hw(output_size: [usize; 2]) -> Self {
        AdaptiveAvgPool2d {
            output_size,
            training: true,
        }
    }

    /// The output's `[height, width]`.
    pub fn output_size(&self) -> [usize; 2] {
        self.output_size
    }

    fn pool<B: Backend>(&self, x: &Tensor<B>) -> Tensor<B> {
        x.adaptive_avg_pool2d(self.output_size)
    }

    fn repr_args(&self) -> String {
        format!("output_size={}", py_repr::size(self.output_size))
    }
}

pooling_module!(AdaptiveAvgPool2d);
