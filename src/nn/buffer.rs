//! [`Buffer`]: a module's non-trainable state (running statistics, step counters), saved in its
//! `state_dict` next to the parameters.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use crate::backend::Backend;
use crate::tensor::Tensor;

/// A module's non-trainable state, as a PyTorch buffer (`register_buffer`): saved and loaded
/// with the parameters, but never seen by an optimizer.
///
/// A buffer is a handle, like [`Tensor`] and [`super::Parameter`]: clones share the data, so the
/// module that owns a buffer and a caller holding it from [`super::Module::named_buffers`] see
/// the same values.
///
/// ```
/// use duograd::nn::{Buffer, Counter};
/// use duograd::Tensor;
/// use duograd::backends::NdArray;
///
/// type B = NdArray<f32>;
/// let running_mean = Buffer::<B>::from(Tensor::zeros(&[3]));
/// assert_eq!((running_mean.dtype(), running_mean.shape()), ("F32", &[3][..]));
/// let steps = Counter::new(0);
/// let num_batches_tracked = Buffer::<B>::from(steps.clone());
/// steps.increment();
/// assert_eq!(num_batches_tracked.dtype(), "I64");
/// assert_eq!(num_batches_tracked.to_vec_f64(), [1.0]);
/// ```
pub enum Buffer<B: Backend> {
    /// A tensor in the backend's element type (`running_mean`, `running_var`), saved as `F32`
    /// or `F64` like the parameters.
    Tensor(Tensor<B>),
    /// A 64-bit integer scalar (`num_batches_tracked`), saved as an `I64` tensor of shape `[]`
    /// as PyTorch saves its `long` buffers.
    Counter(Counter),
}

impl<B: Backend> Buffer<B> {
    /// The shape: the tensor's, or `[]` for a counter.
    pub fn shape(&self) -> &[usize] {
        match self {
            Buffer::Tensor(t) => t.shape(),
            Buffer::Counter(_) => &[],
        }
    }

    /// The element type as safetensors names it: `"F32"` or `"F64"` for a tensor (the
    /// backend's element type), `"I64"` for a counter.
    pub fn dtype(&self) -> &'static str {
        match self {
            Buffer::Tensor(_) if <B::Elem as crate::Element>::NAME == "f32" => "F32",
            Buffer::Tensor(_) => "F64",
            Buffer::Counter(_) => "I64",
        }
    }

    /// The values as `f64`, row-major (a counter gives its one value).
    pub fn to_vec_f64(&self) -> Vec<f64> {
        match self {
            Buffer::Tensor(t) => t.to_vec_f64(),
            Buffer::Counter(c) => vec![c.get() as f64],
        }
    }

    /// The tensor, if this is a tensor buffer.
    pub fn as_tensor(&self) -> Option<&Tensor<B>> {
        match self {
            Buffer::Tensor(t) => Some(t),
            Buffer::Counter(_) => None,
        }
    }

    /// The counter, if this is a counter buffer.
    pub fn as_counter(&self) -> Option<&Counter> {
        match self {
            Buffer::Tensor(_) => None,
            Buffer::Counter(c) => Some(c),
        }
    }

    /// An identity for deduplication: equal for clones of one buffer.
    pub(crate) fn key(&self) -> (bool, u64) {
        match self {
            Buffer::Tensor(t) => (false, t.id()),
            Buffer::Counter(c) => (true, c.id()),
        }
    }

    /// Whether both handles refer to the same data.
    pub fn same_as(&self, other: &Buffer<B>) -> bool {
        match (self, other) {
            (Buffer::Tensor(a), Buffer::Tensor(b)) => a.same_as(b),
            (Buffer::Counter(a), Buffer::Counter(b)) => a.same_as(b),
            _ => false,
        }
    }
}

impl<B: Backend> Clone for Buffer<B> {
    fn clone(&self) -> Self {
        match self {
            Buffer::Tensor(t) => Buffer::Tensor(t.clone()),
            Buffer::Counter(c) => Buffer::Counter(c.clone()),
        }
    }
}

impl<B: Backend> From<Tensor<B>> for Buffer<B> {
    fn from(tensor: Tensor<B>) -> Self {
        Buffer::Tensor(tensor)
    }
}

impl<B: Backend> From<Counter> for Buffer<B> {
    fn from(counter: Counter) -> Self {
        Buffer::Counter(counter)
    }
}

impl<B: Backend> fmt::Debug for Buffer<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Buffer::Tensor(t) => write!(f, "Buffer({t})"),
            Buffer::Counter(c) => write!(f, "Buffer({c:?})"),
        }
    }
}

/// A shared 64-bit integer, such as batch norm's `num_batches_tracked`: clones share the value,
/// and it can be changed through a shared reference (a module's `forward` takes `&self`).
///
/// ```
/// use duograd::nn::Counter;
///
/// let steps = Counter::new(0);
/// let alias = steps.clone();
/// steps.increment();
/// assert_eq!(alias.get(), 1);
/// ```
#[derive(Clone, Default)]
pub struct Counter(Arc<AtomicI64>);

impl Counter {
    /// A counter holding `value`.
    pub fn new(value: i64) -> Self {
        Counter(Arc::new(AtomicI64::new(value)))
    }

    /// The current value.
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Acquire)
    }

    /// Replaces the value.
    pub fn set(&self, value: i64) {
        self.0.store(value, Ordering::Release);
    }

    /// Adds one and returns the new value.
    pub fn increment(&self) -> i64 {
        self.0.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// Whether both handles share one value.
    pub fn same_as(&self, other: &Counter) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// An identity for deduplication: equal for clones of one counter.
    pub(crate) fn id(&self) -> u64 {
        Arc::as_ptr(&self.0) as usize as u64
    }
}

impl fmt::Debug for Counter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Counter({})", self.get())
    }
}
