//! 2-D pooling: max pooling (one recorded op, whose gradient is a scatter-add of the output's
//! gradient to the positions it took), average pooling (a mean over the patch matrix) and
//! adaptive average pooling (means over PyTorch's cells).

use std::sync::Arc;

use crate::autograd::{Attrs, BackwardArgs, Registry};
use crate::backend::Backend;
use crate::tensor::Tensor;
use duograd_backend::window::Window2d;

use super::conv::{check_window, nchw};

/// The settings of a 2-D pooling, as PyTorch's `F.max_pool2d` / `F.avg_pool2d` take them: the
/// window's size, its stride (by default the kernel size, so windows tile the input) and the
/// padding on each side. Every pair is `[height, width]`.
///
/// ```
/// use duograd::Pool2dOptions;
/// let p = Pool2dOptions::new(3).stride(2).padding(1);
/// assert_eq!((p.kernel, p.stride, p.padding), ([3, 3], [2, 2], [1, 1]));
/// assert_eq!(Pool2dOptions::new(2).stride, [2, 2]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Pool2dOptions {
    /// The window's size.
    pub kernel: [usize; 2],
    /// How far the window moves between outputs.
    pub stride: [usize; 2],
    /// Padding on both sides of each spatial axis (at most half the kernel).
    pub padding: [usize; 2],
}

impl Pool2dOptions {
    /// A `kernel`×`kernel` window with stride `kernel` and no padding.
    pub fn new(kernel: usize) -> Self {
        Self::new_hw([kernel, kernel])
    }

    /// A `[kH, kW]` window with stride `[kH, kW]` and no padding.
    pub fn new_hw(kernel: [usize; 2]) -> Self {
        Pool2dOptions {
            kernel,
            stride: kernel,
            padding: [0, 0],
        }
    }

    /// The same stride along both axes.
    pub fn stride(self, stride: usize) -> Self {
        self.stride_hw([stride, stride])
    }

    /// The same padding on both axes.
    pub fn padding(self, padding: usize) -> Self {
        self.padding_hw([padding, padding])
    }

    /// `[height, width]` strides.
    pub fn stride_hw(self, stride: [usize; 2]) -> Self {
        Pool2dOptions { stride, ..self }
    }

    /// `[height, width]` padding.
    pub fn padding_hw(self, padding: [usize; 2]) -> Self {
        Pool2dOptions { padding, ..self }
    }

    /// The window over `input`, checked as PyTorch checks it, or a panic naming `op`.
    #[track_caller]
    fn window(&self, op: &str, input: [usize; 4]) -> Window2d {
        let window = Window2d::new(input, self.kernel)
            .stride(self.stride)
            .padding(self.padding);
        check_window(op, &window);
        for i in 0..2 {
            assert!(
                2 * self.padding[i] <= self.kernel[i],
                "{op}: padding {:?} must be at most half the kernel size {:?}",
                self.padding,
                self.kernel
            );
        }
        window
    }
}

impl<B: Backend> Tensor<B> {
    /// Max pooling of this `[N, C, H, W]` input, as PyTorch's `F.max_pool2d`: the largest value
    /// of each window (padding never wins; of tied values the first in row-major order, which
    /// gets the gradient; a NaN propagates).
    ///
    /// ```
    /// use duograd::{Pool2dOptions, Tensor};
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[1., 5., 2., 0., 3., 4., 7., 1.], &[1, 1, 2, 4]);
    /// assert_eq!(x.max_pool2d(Pool2dOptions::new(2)).to_vec(), vec![5., 7.]);
    /// ```
    ///
    /// # Panics
    /// If the input is not 4-D, a kernel size or stride is 0, the padding is more than half the
    /// kernel, or the kernel is larger than the padded input.
    #[track_caller]
    pub fn max_pool2d(&self, options: Pool2dOptions) -> Self {
        let window = options.window("max_pool2d", nchw("max_pool2d", self.shape()));
        let (out, indices) = B::max_pool2d(&self.storage(), &window);
        let attrs = PoolAttrs { indices, window };
        Tensor::from_op("max_pool2d", out, &[self], Attrs::Custom(Arc::new(attrs)))
    }

    /// Average pooling of this `[N, C, H, W]` input, as PyTorch's `F.avg_pool2d` with its
    /// defaults (`count_include_pad=True`, `ceil_mode=False`): the mean of each window, the
    /// padding counting as zeros.
    ///
    /// ```
    /// use duograd::{Pool2dOptions, Tensor};
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[1., 5., 2., 0., 3., 4., 7., 1.], &[1, 1, 2, 4]);
    /// assert_eq!(x.avg_pool2d(Pool2dOptions::new(2)).to_vec(), vec![3.25, 2.5]);
    /// ```
    ///
    /// # Panics
    /// As [`Tensor::max_pool2d`].
    #[track_caller]
    pub fn avg_pool2d(&self, options: Pool2dOptions) -> Self {
        let [n, c, h, w] = nchw("avg_pool2d", self.shape());
        // Each channel pooled as its own image: the patch matrix has one row per tap.
        let window = options.window("avg_pool2d", [n * c, 1, h, w]);
        let [oh, ow] = window.output_size();
        self.reshape_to(&window.input)
            .im2col(&window)
            .mean_dim(0, false)
            .reshape_to(&[n, c, oh, ow])
    }

    /// Adaptive average pooling, as PyTorch's `F.adaptive_avg_pool2d`: output cell `(i, j)` of
    /// `output_size` `[outH, outW]` is the mean of input rows `⌊i·H/outH⌋..⌈(i+1)·H/outH⌉` and
    /// the columns likewise. `[1, 1]` is global average pooling.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[1., 2., 3., 4., 5., 6.], &[1, 2, 1, 3]);
    /// let y = x.adaptive_avg_pool2d([1, 1]);
    /// assert_eq!(y.shape(), &[1, 2, 1, 1]);
    /// assert_eq!(y.to_vec(), vec![2., 5.]);
    /// ```
    ///
    /// # Panics
    /// If the input is not 4-D, or an output size is 0 or larger than the input's.
    #[track_caller]
    pub fn adaptive_avg_pool2d(&self, output_size: [usize; 2]) -> Self {
        let [_, _, h, w] = nchw("adaptive_avg_pool2d", self.shape());
        for (i, (&out, size)) in output_size.iter().zip([h, w]).enumerate() {
            assert!(
                out >= 1 && out <= size,
                "adaptive_avg_pool2d: output size {output_size:?} must be between 1 and the \
                 input's {} ({size}) on each axis (input {:?})",
                ["height", "width"][i],
                self.shape()
            );
        }
        if output_size == [1, 1] {
            return self.mean_dims(&[2, 3], true);
        }
        // Means over PyTorch's cells, one axis after the other (a mean over a rectangle is the
        // mean of its rows' means).
        let mut y = self.clone();
        for (axis, (&out, size)) in output_size.iter().zip([h, w]).enumerate() {
            let axis = axis + 2;
            if out == size {
                continue;
            }
            let cells: Vec<Tensor<B>> = (0..out)
                .map(|i| {
                    let (start, end) = (i * size / out, ((i + 1) * size).div_ceil(out));
                    y.narrow(axis as isize, start, end - start)
                        .mean_dim(axis as isize, true)
                })
                .collect();
            y = Tensor::cat(&cells.iter().collect::<Vec<_>>(), axis as isize);
        }
        y
    }
}

/// What max pooling keeps for its gradient: the window and the input position each output took.
struct PoolAttrs {
    indices: Vec<usize>,
    window: Window2d,
}

// The indices are as large as the pooled activation: handing their buffer back to the CPU
// kernels' cache spares the next step fresh pages for them.
impl Drop for PoolAttrs {
    fn drop(&mut self) {
        duograd_cpu::buffers::recycle(std::mem::take(&mut self.indices));
    }
}

impl<B: Backend> Tensor<B> {
    /// Max pooling's gradient for this output gradient: zeros of the input's shape with each
    /// element added where its output's maximum was (a recorded op, whose own gradient takes
    /// those positions back).
    fn max_unpool2d(&self, attrs: &Arc<PoolAttrs>) -> Self {
        let out = B::max_pool2d_backward(&self.storage(), &attrs.indices, &attrs.window);
        Tensor::from_op(
            "max_unpool2d",
            out,
            &[self],
            Attrs::Custom(Arc::clone(attrs) as _),
        )
    }
}

fn pool_attrs(attrs: &Attrs) -> Arc<PoolAttrs> {
    match attrs {
        Attrs::Custom(any) => Arc::clone(any)
            .downcast::<PoolAttrs>()
            .unwrap_or_else(|_| unreachable!("max pooling records its PoolAttrs")),
        _ => unreachable!("max pooling records its PoolAttrs"),
    }
}

// Each output took one input element: its gradient goes back there, adding up where windows
// overlap and took the same element.
fn max_pool2d_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    a.grad.max_unpool2d(&pool_attrs(a.attrs))
}

// The unpooled gradient put each element at one position: its own gradient takes them back.
fn max_unpool2d_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    let attrs = pool_attrs(a.attrs);
    a.grad
        .take_flat(Arc::from(attrs.indices.as_slice()))
        .reshape_to(&attrs.window.pooled_shape())
}

pub(crate) fn register<B: Backend>(r: &Registry<B>) {
    r.register_all("max_pool2d", &[max_pool2d_backward]);
    r.register_all("max_unpool2d", &[max_unpool2d_backward]);
}
