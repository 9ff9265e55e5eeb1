//! [`Window2d`]: the geometry of a 2-D sliding window over an `[N, C, H, W]` input, shared by
//! convolution (through [`Backend::im2col`](crate::Backend::im2col)) and pooling.

use std::fmt;

/// A `kernel`-sized window sliding over the spatial axes of an `[N, C, H, W]` input, as
/// PyTorch's `F.conv2d` and `F.max_pool2d` place it: the input is padded by `padding` on each
/// side (zeros for convolution, `-inf` for max pooling), the window's taps are `dilation` apart,
/// and it moves by `stride`. Every pair is `[height, width]`.
///
/// ```
/// use duograd_backend::window::Window2d;
/// let w = Window2d::new([2, 3, 28, 28], [5, 5]).padding([2, 2]);
/// assert_eq!(w.output_size(), [28, 28]);
/// assert_eq!(w.patch_len(), 3 * 25);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window2d {
    /// The input's shape `[N, C, H, W]`.
    pub input: [usize; 4],
    /// The window's size `[kH, kW]`.
    pub kernel: [usize; 2],
    /// How far the window moves per output position.
    pub stride: [usize; 2],
    /// Padding added before and after each spatial axis.
    pub padding: [usize; 2],
    /// The distance between the window's taps (1: adjacent).
    pub dilation: [usize; 2],
}

impl Window2d {
    /// A window of `kernel` over an input of shape `input`, with stride 1, no padding and no
    /// dilation.
    pub fn new(input: [usize; 4], kernel: [usize; 2]) -> Self {
        Window2d {
            input,
            kernel,
            stride: [1, 1],
            padding: [0, 0],
            dilation: [1, 1],
        }
    }

    /// The same window with stride `stride`.
    pub fn stride(self, stride: [usize; 2]) -> Self {
        Window2d { stride, ..self }
    }

    /// The same window with padding `padding`.
    pub fn padding(self, padding: [usize; 2]) -> Self {
        Window2d { padding, ..self }
    }

    /// The same window with dilation `dilation`.
    pub fn dilation(self, dilation: [usize; 2]) -> Self {
        Window2d { dilation, ..self }
    }

    /// The span of the window along axis `i` (0: height, 1: width): `dilation·(k − 1) + 1`.
    pub fn span(&self, i: usize) -> usize {
        self.dilation[i] * (self.kernel[i].max(1) - 1) + 1
    }

    /// The number of window positions `[outH, outW]`:
    /// `(size + 2·padding − span) / stride + 1` per axis (PyTorch's formula, rounding down).
    ///
    /// Precondition: [`Window2d::check`] passed.
    pub fn output_size(&self) -> [usize; 2] {
        let out = |i: usize| {
            (self.input[2 + i] + 2 * self.padding[i] - self.span(i)) / self.stride[i] + 1
        };
        [out(0), out(1)]
    }

    /// The output shape of a pooling `[N, C, outH, outW]`.
    pub fn pooled_shape(&self) -> [usize; 4] {
        let [oh, ow] = self.output_size();
        [self.input[0], self.input[1], oh, ow]
    }

    /// The number of input elements one window covers across all channels: `C·kH·kW`, the rows
    /// of [`Backend::im2col`](crate::Backend::im2col)'s matrix.
    pub fn patch_len(&self) -> usize {
        self.input[1] * self.kernel[0] * self.kernel[1]
    }

    /// The number of window positions over the whole batch: `N·outH·outW`, the columns of
    /// [`Backend::im2col`](crate::Backend::im2col)'s matrix.
    pub fn positions(&self) -> usize {
        let [oh, ow] = self.output_size();
        self.input[0] * oh * ow
    }

    /// Checks that the window fits: positive kernel, stride and dilation, and a padded input at
    /// least as large as the window's span.
    ///
    /// # Errors
    /// A [`WindowError`] naming the parameter and its value.
    pub fn check(&self) -> Result<(), WindowError> {
        for (name, value) in [
            ("kernel size", self.kernel),
            ("stride", self.stride),
            ("dilation", self.dilation),
        ] {
            if value.contains(&0) {
                return Err(WindowError::Zero { name, value });
            }
        }
        for i in 0..2 {
            let padded = self.input[2 + i] + 2 * self.padding[i];
            if padded < self.span(i) {
                return Err(WindowError::TooLarge {
                    window: *self,
                    axis: i,
                });
            }
        }
        Ok(())
    }
}

/// Why a [`Window2d`] does not fit its input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WindowError {
    /// A kernel size, stride or dilation of 0.
    Zero {
        /// Which parameter.
        name: &'static str,
        /// Its value.
        value: [usize; 2],
    },
    /// The window's span is larger than the padded input along `axis`.
    TooLarge {
        /// The window.
        window: Window2d,
        /// 0 for height, 1 for width.
        axis: usize,
    },
}

impl fmt::Display for WindowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WindowError::Zero { name, value } => {
                write!(f, "{name} must be at least 1, got {value:?}")
            }
            WindowError::TooLarge { window, axis } => {
                let what = ["height", "width"][*axis];
                write!(
                    f,
                    "kernel size {:?} (dilation {:?}: {} rows by {} columns) is larger than the \
                     input's {what} {} plus padding 2×{}",
                    window.kernel,
                    window.dilation,
                    window.span(0),
                    window.span(1),
                    window.input[2 + axis],
                    window.padding[*axis]
                )
            }
        }
    }
}

impl std::error::Error for WindowError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_size_follows_pytorch() {
        // nn.Conv2d(1, 6, 5, padding=2) on 28×28 keeps 28×28; a 2×2 pool halves it.
        let conv = Window2d::new([1, 1, 28, 28], [5, 5]).padding([2, 2]);
        assert_eq!(conv.output_size(), [28, 28]);
        let pool = Window2d::new([1, 6, 28, 28], [2, 2]).stride([2, 2]);
        assert_eq!(pool.output_size(), [14, 14]);
        // An odd size rounds down: 7 → 3 for a 2×2 pool.
        assert_eq!(
            Window2d::new([1, 1, 7, 7], [2, 2])
                .stride([2, 2])
                .output_size(),
            [3, 3]
        );
        // Dilation 2 with a 3×3 kernel spans 5.
        let dilated = Window2d::new([1, 1, 7, 6], [3, 3])
            .dilation([2, 2])
            .padding([2, 2]);
        assert_eq!(dilated.output_size(), [7, 6]);
        assert_eq!(
            Window2d::new([1, 1, 7, 6], [3, 3])
                .stride([2, 1])
                .padding([1, 0])
                .output_size(),
            [4, 4]
        );
    }

    #[test]
    fn check_names_the_bad_parameter() {
        let zero = Window2d::new([1, 1, 4, 4], [2, 2]).stride([0, 1]).check();
        assert_eq!(
            zero.unwrap_err().to_string(),
            "stride must be at least 1, got [0, 1]"
        );
        let large = Window2d::new([1, 1, 4, 4], [5, 3])
            .check()
            .unwrap_err()
            .to_string();
        assert!(
            large.contains("larger than the input's height 4"),
            "{large}"
        );
        assert!(Window2d::new([1, 1, 4, 4], [5, 3])
            .padding([1, 0])
            .check()
            .is_ok());
    }
}
