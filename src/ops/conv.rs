//! 2-D convolution and the patch matrix it is built on.
//!
//! A convolution is three recorded ops, the forward and its gradients with respect to the input
//! and to the weight (each backend method; the CPU backends run them on their matrix kernels);
//! each one's gradients are the others, so every order of derivative is defined. `unfold` and
//! `fold` (PyTorch's names for the patch matrix and its adjoint) are the recorded ops `im2col`
//! and `col2im`, each the other's gradient.

use std::sync::{Arc, Mutex, PoisonError};

use crate::autograd::{is_grad_enabled, Attrs, BackwardArgs, Registry};
use crate::backend::Backend;
use crate::tensor::Tensor;
use duograd_backend::window::Window2d;

/// What a convolution records: its window, and the bias's gradient, computed in the same pass
/// over the output gradient as the weight's ([`Backend::conv2d_backward_weight_and_bias`]) and
/// kept for the output gradient it came from (by tensor id) until the engine asks for it: it
/// asks for the weight's gradient first, one input at a time.
struct ConvSaved<B: Backend> {
    window: Window2d,
    bias_grad: Mutex<Option<(u64, Tensor<B>)>>,
}

/// The settings of a 2-D convolution, as the keyword arguments of PyTorch's `F.conv2d`; every
/// pair is `[height, width]`.
///
/// ```
/// use duograd::Conv2dOptions;
/// let o = Conv2dOptions::new().stride(2).padding(1);
/// assert_eq!((o.stride, o.padding, o.dilation, o.groups), ([2, 2], [1, 1], [1, 1], 1));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Conv2dOptions {
    /// How far the kernel moves between outputs (default 1).
    pub stride: [usize; 2],
    /// Zeros added on both sides of each spatial axis (default 0).
    pub padding: [usize; 2],
    /// The distance between the kernel's taps (default 1).
    pub dilation: [usize; 2],
    /// The number of channel groups convolved separately (default 1).
    pub groups: usize,
}

impl Default for Conv2dOptions {
    fn default() -> Self {
        Conv2dOptions {
            stride: [1, 1],
            padding: [0, 0],
            dilation: [1, 1],
            groups: 1,
        }
    }
}

impl Conv2dOptions {
    /// Stride 1, no padding, no dilation, one group.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same stride along both axes.
    pub fn stride(self, stride: usize) -> Self {
        self.stride_hw([stride, stride])
    }

    /// The same padding on both axes.
    pub fn padding(self, padding: usize) -> Self {
        self.padding_hw([padding, padding])
    }

    /// The same dilation along both axes.
    pub fn dilation(self, dilation: usize) -> Self {
        self.dilation_hw([dilation, dilation])
    }

    /// `[height, width]` strides.
    pub fn stride_hw(self, stride: [usize; 2]) -> Self {
        Conv2dOptions { stride, ..self }
    }

    /// `[height, width]` padding.
    pub fn padding_hw(self, padding: [usize; 2]) -> Self {
        Conv2dOptions { padding, ..self }
    }

    /// `[height, width]` dilation.
    pub fn dilation_hw(self, dilation: [usize; 2]) -> Self {
        Conv2dOptions { dilation, ..self }
    }

    /// The number of channel groups.
    pub fn groups(self, groups: usize) -> Self {
        Conv2dOptions { groups, ..self }
    }

    /// The window of a `kernel` over an input of shape `input`.
    pub(crate) fn window(&self, input: [usize; 4], kernel: [usize; 2]) -> Window2d {
        Window2d::new(input, kernel)
            .stride(self.stride)
            .padding(self.padding)
            .dilation(self.dilation)
    }
}

/// The four axes of an `[N, C, H, W]` input, or a panic naming `op`.
#[track_caller]
pub(crate) fn nchw(op: &str, shape: &[usize]) -> [usize; 4] {
    match *shape {
        [n, c, h, w] => [n, c, h, w],
        _ => panic!("{op}: expects a 4-D input [N, C, H, W], got shape {shape:?}"),
    }
}

/// Panics naming `op`, the input and the parameters unless `window` fits its input.
#[track_caller]
pub(crate) fn check_window(op: &str, window: &Window2d) {
    if let Err(e) = window.check() {
        panic!("{op}: input of shape {:?}: {e}", window.input);
    }
}

impl<B: Backend> Tensor<B> {
    /// The patch matrix `[C·kH·kW, N·outH·outW]` of this `[N, C, H, W]` input under `window`
    /// (see [`Backend::im2col`]).
    #[track_caller]
    pub(crate) fn im2col(&self, window: &Window2d) -> Self {
        debug_assert_eq!(self.shape(), window.input);
        let out = B::im2col(&self.storage(), window);
        Tensor::from_op("im2col", out, &[self], Attrs::Window(*window))
    }

    /// The `[N, C, H, W]` sum of this patch matrix's entries at the positions they came from
    /// (see [`Backend::col2im`]).
    #[track_caller]
    pub(crate) fn col2im(&self, window: &Window2d) -> Self {
        debug_assert_eq!(self.shape(), [window.patch_len(), window.positions()]);
        let out = B::col2im(&self.storage(), window);
        Tensor::from_op("col2im", out, &[self], Attrs::Window(*window))
    }

    /// 2-D convolution (strictly, cross-correlation) as PyTorch's `F.conv2d`: this `[N, C, H, W]`
    /// input with `weight` `[O, C/groups, kH, kW]`, plus `bias` `[O]` if given, giving
    /// `[N, O, outH, outW]` with `out = (size + 2·padding − dilation·(k − 1) − 1) / stride + 1`.
    ///
    /// ```
    /// use duograd::{Conv2dOptions, Tensor};
    /// use duograd::backends::NdArray;
    /// // A 3×3 box filter over a 4×4 image of ones, padded by 1: 4 at the corners, 9 inside.
    /// let x = Tensor::<NdArray<f64>>::ones(&[1, 1, 4, 4]);
    /// let w = Tensor::ones(&[1, 1, 3, 3]);
    /// let y = x.conv2d(&w, None, Conv2dOptions::new().padding(1));
    /// assert_eq!(y.shape(), &[1, 1, 4, 4]);
    /// assert_eq!(y.to_vec()[..4], [4.0, 6.0, 6.0, 4.0]);
    /// assert_eq!(y.to_vec()[5], 9.0);
    /// ```
    ///
    /// # Panics
    /// With a message naming the shapes and the parameter, if the input or the weight is not
    /// 4-D, the groups do not divide both channel counts, the weight's channels are not the
    /// input's divided by the groups, the bias is not `[O]`, a stride, dilation or kernel size is
    /// 0, or the kernel is larger than the padded input.
    #[track_caller]
    pub fn conv2d(
        &self,
        weight: &Tensor<B>,
        bias: Option<&Tensor<B>>,
        options: Conv2dOptions,
    ) -> Self {
        let [n, c, h, w] = nchw("conv2d", self.shape());
        let [o, cg, kh, kw] = match *weight.shape() {
            [o, cg, kh, kw] => [o, cg, kh, kw],
            _ => panic!(
                "conv2d: expects a 4-D weight [out_channels, in_channels/groups, kH, kW], got \
                 shape {:?}",
                weight.shape()
            ),
        };
        let groups = options.groups;
        assert!(
            groups >= 1 && c.is_multiple_of(groups) && o.is_multiple_of(groups),
            "conv2d: groups = {groups} must be at least 1 and divide both the input's {c} \
             channels and the weight's {o} output channels (input {:?}, weight {:?})",
            self.shape(),
            weight.shape()
        );
        assert!(
            cg * groups == c,
            "conv2d: the input has {c} channels but the weight {:?} expects {cg} per group × \
             {groups} group(s) = {} (input {:?})",
            weight.shape(),
            cg * groups,
            self.shape()
        );
        if let Some(b) = bias {
            assert!(
                b.shape() == [o],
                "conv2d: the bias must have shape [{o}] (one per output channel of weight {:?}), \
                 got {:?}",
                weight.shape(),
                b.shape()
            );
        }
        let window = options.window([n, cg, h, w], [kh, kw]);
        check_window("conv2d", &window);
        if groups == 1 {
            return self.conv2d_one_group(weight, bias, &window);
        }
        let og = o / groups;
        let parts: Vec<Tensor<B>> = (0..groups)
            .map(|g| {
                let x = self.narrow(1, g * cg, cg);
                let w = weight.narrow(0, g * og, og);
                let b = bias.map(|b| b.narrow(0, g * og, og));
                x.conv2d_one_group(&w, b.as_ref(), &window)
            })
            .collect();
        Tensor::cat(&parts.iter().collect::<Vec<_>>(), 1)
    }

    /// One group's convolution, a recorded op (see [`Backend::conv2d`]) whose inputs are the
    /// input, the weight and the bias if there is one.
    fn conv2d_one_group(
        &self,
        weight: &Tensor<B>,
        bias: Option<&Tensor<B>>,
        window: &Window2d,
    ) -> Self {
        let storage = bias.map(Tensor::storage);
        let out = B::conv2d(&self.storage(), &weight.storage(), storage.as_ref(), window);
        let inputs: Vec<&Tensor<B>> = [self, weight].into_iter().chain(bias).collect();
        let saved = ConvSaved::<B> {
            window: *window,
            bias_grad: Mutex::new(None),
        };
        Tensor::from_op("conv2d", out, &inputs, Attrs::Custom(Arc::new(saved)))
    }

    /// The gradient of a convolution with respect to its input, for this output gradient (a
    /// recorded op: see [`Backend::conv2d_backward_input`]).
    fn conv2d_backward_input(&self, weight: &Tensor<B>, window: &Window2d) -> Self {
        let out = B::conv2d_backward_input(&self.storage(), &weight.storage(), window);
        Tensor::from_op(
            "conv2d_backward_input",
            out,
            &[self, weight],
            Attrs::Window(*window),
        )
    }

    /// The gradient of a convolution with respect to its weight, for this output gradient and
    /// the input `x` (a recorded op: see [`Backend::conv2d_backward_weight`]).
    fn conv2d_backward_weight(&self, x: &Tensor<B>, window: &Window2d) -> Self {
        let out = B::conv2d_backward_weight(&self.storage(), &x.storage(), window);
        Tensor::from_op(
            "conv2d_backward_weight",
            out,
            &[self, x],
            Attrs::Window(*window),
        )
    }

    /// The sliding patches of this `[N, C, H, W]` input, as PyTorch's `F.unfold`: shape
    /// `[N, C·kH·kW, L]` with `L = outH·outW` window positions, each column one patch (channel
    /// slowest, then kernel row and column), zeros where the window covers the padding.
    ///
    /// ```
    /// use duograd::{Conv2dOptions, Tensor};
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[1., 2., 3., 4., 5., 6.], &[1, 1, 2, 3]);
    /// let p = x.unfold([2, 2], Conv2dOptions::new());
    /// assert_eq!(p.shape(), &[1, 4, 2]);
    /// assert_eq!(p.to_vec(), vec![1., 2., 2., 3., 4., 5., 5., 6.]);
    /// ```
    ///
    /// # Panics
    /// If the input is not 4-D, `options.groups` is not 1, or the window does not fit (see
    /// [`Tensor::conv2d`]).
    #[track_caller]
    pub fn unfold(&self, kernel: [usize; 2], options: Conv2dOptions) -> Self {
        let input = nchw("unfold", self.shape());
        assert!(
            options.groups == 1,
            "unfold: groups must be 1, got {}",
            options.groups
        );
        let window = options.window(input, kernel);
        check_window("unfold", &window);
        let [oh, ow] = window.output_size();
        self.im2col(&window)
            .reshape_to(&[window.patch_len(), input[0], oh * ow])
            .permute(&[1, 0, 2])
    }

    /// The adjoint of [`Tensor::unfold`], as PyTorch's `F.fold`: this `[N, C·kH·kW, L]` tensor of
    /// patches summed into an `[N, C, H, W]` image of `output_size` `[H, W]` (overlapping patches
    /// add up; entries in the padding are dropped).
    ///
    /// ```
    /// use duograd::{Conv2dOptions, Tensor};
    /// use duograd::backends::NdArray;
    /// // Four 2×2 patches of ones over a 3×3 image: the centre is covered four times.
    /// let p = Tensor::<NdArray<f64>>::ones(&[1, 4, 4]);
    /// let y = p.fold([3, 3], [2, 2], Conv2dOptions::new());
    /// assert_eq!(y.to_vec(), vec![1., 2., 1., 2., 4., 2., 1., 2., 1.]);
    /// ```
    ///
    /// # Panics
    /// If the input is not 3-D, its second axis is not a multiple of `kH·kW`, its third is not the
    /// number of window positions over `output_size`, `options.groups` is not 1, or the window
    /// does not fit.
    #[track_caller]
    pub fn fold(
        &self,
        output_size: [usize; 2],
        kernel: [usize; 2],
        options: Conv2dOptions,
    ) -> Self {
        let [n, k, l] = match *self.shape() {
            [n, k, l] => [n, k, l],
            _ => panic!(
                "fold: expects a 3-D input [N, C·kH·kW, L], got shape {:?}",
                self.shape()
            ),
        };
        assert!(
            options.groups == 1,
            "fold: groups must be 1, got {}",
            options.groups
        );
        let taps = kernel[0] * kernel[1];
        assert!(
            taps > 0 && k.is_multiple_of(taps),
            "fold: the input's {k} rows (shape {:?}) are not a multiple of the kernel's {taps} \
             taps (kernel {kernel:?})",
            self.shape()
        );
        let window = options.window([n, k / taps, output_size[0], output_size[1]], kernel);
        check_window("fold", &window);
        let [oh, ow] = window.output_size();
        assert!(
            l == oh * ow,
            "fold: the input has {l} patches (shape {:?}) but a {kernel:?} window over \
             {output_size:?} with {options:?} has {oh}×{ow} = {} positions",
            self.shape(),
            oh * ow
        );
        self.permute(&[1, 0, 2])
            .reshape_to(&[k, n * l])
            .col2im(&window)
    }
}

fn window_of(attrs: &Attrs) -> &Window2d {
    match attrs {
        Attrs::Window(w) => w,
        _ => unreachable!("the convolution ops record their window"),
    }
}

// im2col copies each input element to every patch entry that reads it: the gradient adds the
// entries' gradients back, which is col2im.
fn im2col_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    a.grad.col2im(window_of(a.attrs))
}

// col2im adds each patch entry into one image position: each entry's gradient is that
// position's, which is im2col.
fn col2im_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    a.grad.im2col(window_of(a.attrs))
}

// The three convolution ops are bilinear and each one's gradients are the other two (or
// itself), so every order of derivative stays among them:
// y = conv(x, w) (+ b):           dx = bwd_input(G, w),  dw = bwd_weight(G, x), db = ΣG
// dx = bwd_input(g, w):           dg = conv(G, w),       dw = bwd_weight(g, G)
// dw = bwd_weight(g, x):          dg = conv(x, G),       dx = bwd_input(g, G)
// where G is the gradient arriving at the op's output.

fn conv2d_backward_x<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    let saved: &ConvSaved<B> = a.attrs.custom();
    a.grad.conv2d_backward_input(&a.inputs[1], &saved.window)
}

/// Whether the bias's gradient is a plain sum of the output gradient, not one that must be
/// differentiable (a recorded op).
fn bias_grad_is_plain<B: Backend>(a: &BackwardArgs<'_, B>) -> bool {
    !(is_grad_enabled() && a.grad.requires_grad())
}

fn conv2d_backward_w<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    let saved: &ConvSaved<B> = a.attrs.custom();
    let (g, x) = (a.grad, &a.inputs[0]);
    let wants_bias = a.inputs.get(2).is_some_and(Tensor::requires_grad);
    if !(wants_bias && bias_grad_is_plain(a)) {
        return g.conv2d_backward_weight(x, &saved.window);
    }
    let (dw, db) = B::conv2d_backward_weight_and_bias(&g.storage(), &x.storage(), &saved.window);
    *saved
        .bias_grad
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some((g.id(), Tensor::from_storage(db)));
    // Recorded as `conv2d_backward_weight` is, so that it can be differentiated again.
    Tensor::from_op(
        "conv2d_backward_weight",
        dw,
        &[g, x],
        Attrs::Window(saved.window),
    )
}

// The bias is added to every output of its channel: its gradient sums the output's gradient
// over all but the channel axis (in one pass over it, or in the weight gradient's pass, unless
// the sum must be differentiable).
fn conv2d_backward_b<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    if !bias_grad_is_plain(a) {
        return a.grad.sum_dims(&[0, 2, 3], false);
    }
    let saved: &ConvSaved<B> = a.attrs.custom();
    let cached = saved
        .bias_grad
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    match cached {
        Some((id, db)) if id == a.grad.id() => db,
        _ => Tensor::from_storage(B::channel_sums(&a.grad.storage(), None).0),
    }
}

fn backward_input_backward_g<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    a.grad
        .conv2d_one_group(&a.inputs[1], None, window_of(a.attrs))
}

fn backward_input_backward_w<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    a.inputs[0].conv2d_backward_weight(a.grad, window_of(a.attrs))
}

fn backward_weight_backward_g<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    a.inputs[1].conv2d_one_group(a.grad, None, window_of(a.attrs))
}

fn backward_weight_backward_x<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    a.inputs[0].conv2d_backward_input(a.grad, window_of(a.attrs))
}

pub(crate) fn register<B: Backend>(r: &Registry<B>) {
    r.register_all("im2col", &[im2col_backward]);
    r.register_all("col2im", &[col2im_backward]);
    r.register_all(
        "conv2d",
        &[conv2d_backward_x, conv2d_backward_w, conv2d_backward_b],
    );
    r.register_all(
        "conv2d_backward_input",
        &[backward_input_backward_g, backward_input_backward_w],
    );
    r.register_all(
        "conv2d_backward_weight",
        &[backward_weight_backward_g, backward_weight_backward_x],
    );
}
