//! What a recorded op remembers for its backward: its name, inputs, their versions, attributes.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use crate::backend::Backend;
use crate::tensor::Tensor;

/// Non-tensor arguments of an op that its backward needs (axes, shapes, constants, indices).
#[derive(Clone, Default)]
pub enum Attrs {
    /// No attributes.
    #[default]
    None,
    /// A scalar constant (the `c` of `x * c`, the exponent of `x^p`).
    Scalar(f64),
    /// Reduction axes (sorted) and whether they were kept.
    Axes {
        /// The reduced axes, sorted and distinct.
        axes: Vec<usize>,
        /// Whether reduced axes were kept as size 1.
        keepdim: bool,
    },
    /// A single axis (e.g. `max` along a dim) and whether it was kept.
    Axis {
        /// The axis.
        axis: usize,
        /// Whether it was kept as size 1.
        keepdim: bool,
    },
    /// An axis permutation.
    Perm(Vec<usize>),
    /// Flat row-major indices into an array of `shape` (gather and scatter-add).
    Indices {
        /// The flat indices.
        indices: Arc<[usize]>,
        /// Shape of the indexed (or scattered-into) array.
        shape: Vec<usize>,
    },
    /// A slice `start..start+len` along `axis`, of an input whose size there was `size`.
    Narrow {
        /// The axis.
        axis: usize,
        /// First index.
        start: usize,
        /// Number of indices.
        len: usize,
    },
    /// Concatenation along `axis`.
    Concat {
        /// The axis.
        axis: usize,
    },
    /// Transpose flags of a matrix product.
    Matmul {
        /// The left operand is used transposed.
        transpose_a: bool,
        /// The right operand is used transposed.
        transpose_b: bool,
    },
    /// The sliding window of a convolution's patch matrix (`im2col`, `col2im`).
    Window(duograd_backend::window::Window2d),
    /// Anything else, for user-defined ops.
    Custom(Arc<dyn Any + Send + Sync>),
}

impl fmt::Debug for Attrs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Attrs::None => write!(f, "-"),
            Attrs::Scalar(c) => write!(f, "{c}"),
            Attrs::Axes { axes, keepdim } => write!(f, "axes={axes:?} keepdim={keepdim}"),
            Attrs::Axis { axis, keepdim } => write!(f, "axis={axis} keepdim={keepdim}"),
            Attrs::Perm(p) => write!(f, "perm={p:?}"),
            Attrs::Indices { indices, shape } => {
                write!(f, "{} indices into {shape:?}", indices.len())
            }
            Attrs::Narrow { axis, start, len } => write!(f, "axis={axis} {start}..{}", start + len),
            Attrs::Concat { axis } => write!(f, "axis={axis}"),
            Attrs::Matmul {
                transpose_a,
                transpose_b,
            } => write!(f, "transpose_a={transpose_a} transpose_b={transpose_b}"),
            Attrs::Window(w) => write!(
                f,
                "kernel={:?} stride={:?} padding={:?} dilation={:?}",
                w.kernel, w.stride, w.padding, w.dilation
            ),
            Attrs::Custom(_) => write!(f, "custom"),
        }
    }
}

impl Attrs {
    /// The scalar constant.
    ///
    /// # Panics
    /// If the attributes are not [`Attrs::Scalar`] (a bug in an op's forward).
    #[track_caller]
    pub fn scalar(&self) -> f64 {
        match self {
            Attrs::Scalar(c) => *c,
            other => panic!("expected a scalar attribute, found {other:?}"),
        }
    }

    /// The user-defined attribute of type `T`.
    ///
    /// # Panics
    /// If the attributes are not [`Attrs::Custom`] holding a `T`.
    #[track_caller]
    pub fn custom<T: 'static>(&self) -> &T {
        match self {
            Attrs::Custom(any) => any.downcast_ref::<T>().unwrap_or_else(|| {
                panic!("custom attribute is not a {}", std::any::type_name::<T>())
            }),
            other => panic!("expected a custom attribute, found {other:?}"),
        }
    }
}

/// The record of the op that produced a tensor.
pub(crate) struct GradFn<B: Backend> {
    pub(crate) op: &'static str,
    pub(crate) inputs: Vec<Tensor<B>>,
    /// Data versions of the inputs when the op ran; backward refuses to run if they changed.
    pub(crate) input_versions: Vec<u64>,
    pub(crate) attrs: Attrs,
}

impl<B: Backend> GradFn<B> {
    pub(crate) fn new(op: &'static str, inputs: &[&Tensor<B>], attrs: Attrs) -> Self {
        GradFn {
            op,
            inputs: inputs.iter().map(|&t| t.clone()).collect(),
            input_versions: inputs.iter().map(|t| t.version()).collect(),
            attrs,
        }
    }
}
