//! [`Tensor`]: an N-d array on a backend that records the operations applied to it.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use crate::autograd::grad_mode::is_grad_enabled;
use crate::autograd::record::{Attrs, GradFn};
use crate::backend::Backend;
use crate::shape::numel;
use crate::shape::Layout;
use crate::Element;

/// The source of node ids. Ids only grow, so every op's id is larger than its inputs' ids, and
/// sorting by id descending is a reverse topological order (dfdx's scheme: no recursion).
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// Storage shared by a tensor and its detached aliases, with a version counter that every
/// in-place update bumps (so backward can tell when a saved tensor has changed).
pub(crate) struct DataCell<B: Backend> {
    /// `None` only once `drop` has taken it out to hand it to [`Backend::recycle`].
    pub(crate) storage: RwLock<Option<B::Storage>>,
    pub(crate) version: AtomicU64,
}

impl<B: Backend> Drop for DataCell<B> {
    fn drop(&mut self) {
        let storage = self
            .storage
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(storage) = storage.take() {
            B::recycle(storage);
        }
    }
}

pub(crate) struct Node<B: Backend> {
    pub(crate) id: u64,
    pub(crate) data: Arc<DataCell<B>>,
    pub(crate) shape: Vec<usize>,
    pub(crate) requires_grad: bool,
    /// Accumulated gradient; kept only on leaves that require grad.
    pub(crate) grad: Mutex<Option<Tensor<B>>>,
    /// How this tensor was computed; `None` for leaves and for untracked results.
    pub(crate) grad_fn: Option<GradFn<B>>,
}

impl<B: Backend> Drop for Node<B> {
    /// Dismantles the graph below this node iteratively: the default recursive drop of a
    /// 100,000-op chain would overflow the stack.
    fn drop(&mut self) {
        let Some(gf) = self.grad_fn.as_mut() else {
            return;
        };
        let mut orphans = std::mem::take(&mut gf.inputs);
        while let Some(t) = orphans.pop() {
            // Only nodes this graph owns alone are taken apart; shared ones stay alive.
            if let Ok(mut node) = Arc::try_unwrap(t.node) {
                if let Some(gf) = node.grad_fn.as_mut() {
                    orphans.append(&mut gf.inputs);
                }
            }
        }
    }
}

/// An N-d array of `B::Elem` on backend `B`, with reverse-mode autograd.
///
/// Cloning is cheap: clones are handles to the same tensor (same data, same gradient).
/// Operations on tensors that require grad record the graph that [`Tensor::backward`] walks.
///
/// ```
/// use duograd::Tensor;
/// use duograd::backends::NdArray;
///
/// let x = Tensor::<NdArray<f64>>::from_f64(&[1.0, 2.0, 3.0], &[3]).requires_grad_(true);
/// let y = (&x * &x).sum();
/// y.backward().unwrap();
/// assert_eq!(x.grad().unwrap().to_vec(), vec![2.0, 4.0, 6.0]);
/// ```
pub struct Tensor<B: Backend> {
    pub(crate) node: Arc<Node<B>>,
}

impl<B: Backend> Clone for Tensor<B> {
    fn clone(&self) -> Self {
        Tensor {
            node: Arc::clone(&self.node),
        }
    }
}

impl<B: Backend> Tensor<B> {
    fn build(
        data: Arc<DataCell<B>>,
        shape: Vec<usize>,
        requires_grad: bool,
        grad_fn: Option<GradFn<B>>,
    ) -> Self {
        Tensor {
            node: Arc::new(Node {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                data,
                shape,
                requires_grad,
                grad: Mutex::new(None),
                grad_fn,
            }),
        }
    }

    fn new_cell(storage: B::Storage) -> Arc<DataCell<B>> {
        Arc::new(DataCell {
            storage: RwLock::new(Some(storage)),
            version: AtomicU64::new(0),
        })
    }

    // ----- construction -----

    /// Wraps backend storage as a leaf tensor that does not require grad.
    pub fn from_storage(storage: B::Storage) -> Self {
        let shape = B::shape(&storage);
        Self::build(Self::new_cell(storage), shape, false, None)
    }

    /// A leaf tensor of `shape` from row-major `data`.
    ///
    /// # Panics
    /// If `data.len()` is not the product of `shape`.
    #[track_caller]
    pub fn from_vec(data: Vec<B::Elem>, shape: &[usize]) -> Self {
        assert!(
            data.len() == numel(shape),
            "from_vec: {} values cannot fill shape {:?} ({} elements)",
            data.len(),
            shape,
            numel(shape)
        );
        Self::from_storage(B::from_vec(data, shape))
    }

    /// A 2-D leaf tensor of `shape` from `data` laid out in `layout`: with the backend's own
    /// layout ([`Backend::layout_2d`]) the buffer is taken as it is, otherwise transposed.
    ///
    /// # Panics
    /// If `data.len()` is not `shape[0] * shape[1]`.
    ///
    /// ```
    /// use duograd::Layout;
    /// use duograd::Tensor;
    /// use duograd::backends::Nalgebra;
    /// use duograd::backends::NdArray;
    /// let col_major = vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]; // [[1, 2, 3], [4, 5, 6]]
    /// let a = Tensor::<NdArray<f64>>::from_vec_2d(col_major.clone(), [2, 3], Layout::ColMajor);
    /// let b = Tensor::<Nalgebra<f64>>::from_vec_2d(col_major, [2, 3], Layout::ColMajor);
    /// assert_eq!(a.to_vec(), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    /// assert_eq!(a.to_vec(), b.to_vec());
    /// ```
    #[track_caller]
    pub fn from_vec_2d(data: Vec<B::Elem>, shape: [usize; 2], layout: Layout) -> Self {
        assert!(
            data.len() == shape[0] * shape[1],
            "from_vec_2d: {} values cannot fill shape {shape:?} ({} elements)",
            data.len(),
            shape[0] * shape[1]
        );
        Self::from_storage(B::from_vec_2d(data, shape, layout))
    }

    /// A leaf tensor of `shape` from `f64` values (converted to `B::Elem`).
    ///
    /// # Panics
    /// If `data.len()` is not the product of `shape`.
    #[track_caller]
    pub fn from_f64(data: &[f64], shape: &[usize]) -> Self {
        Self::from_vec(data.iter().map(|&x| B::Elem::of(x)).collect(), shape)
    }

    /// A 0-d tensor holding `value`.
    pub fn scalar(value: f64) -> Self {
        Self::full(&[], value)
    }

    /// A tensor of `shape` filled with `value`.
    pub fn full(shape: &[usize], value: f64) -> Self {
        Self::from_storage(B::full(shape, B::Elem::of(value)))
    }

    /// A tensor of zeros.
    pub fn zeros(shape: &[usize]) -> Self {
        Self::full(shape, 0.0)
    }

    /// A tensor of ones.
    pub fn ones(shape: &[usize]) -> Self {
        Self::full(shape, 1.0)
    }

    /// Zeros of this tensor's shape (not tracked).
    pub fn zeros_like(&self) -> Self {
        Self::zeros(self.shape())
    }

    /// Ones of this tensor's shape (not tracked).
    pub fn ones_like(&self) -> Self {
        Self::ones(self.shape())
    }

    /// Values drawn uniformly from `[low, high)` with `rng`; the same seed gives the same values
    /// on every backend.
    pub fn rand_uniform(shape: &[usize], low: f64, high: f64, rng: &mut impl rand::Rng) -> Self {
        let data = (0..numel(shape))
            .map(|_| B::Elem::of(rng.random_range(low..high)))
            .collect();
        Self::from_vec(data, shape)
    }

    /// Values drawn from a normal distribution with `rng`; the same seed gives the same values on
    /// every backend.
    ///
    /// # Panics
    /// If `std` is negative or not finite.
    #[track_caller]
    pub fn randn(shape: &[usize], mean: f64, std: f64, rng: &mut impl rand::Rng) -> Self {
        let normal = rand_distr::Normal::new(mean, std)
            .unwrap_or_else(|e| panic!("randn: invalid std {std}: {e}"));
        let data = (0..numel(shape))
            .map(|_| B::Elem::of(rand_distr::Distribution::sample(&normal, rng)))
            .collect();
        Self::from_vec(data, shape)
    }

    /// Returns a leaf that shares this tensor's data and requires grad (or not).
    ///
    /// # Panics
    /// If called on a non-leaf (a tensor computed from tensors that require grad): detach it
    /// first, as in PyTorch.
    #[track_caller]
    pub fn requires_grad_(self, requires_grad: bool) -> Self {
        assert!(
            self.node.grad_fn.is_none(),
            "requires_grad_: only leaf tensors can be flagged; this one was computed by '{}' \
             (call detach() first)",
            self.op_name().unwrap_or("?")
        );
        Self::build(
            Arc::clone(&self.node.data),
            self.node.shape.clone(),
            requires_grad,
            None,
        )
    }

    /// A tensor sharing this one's data (and version counter) but cut from the graph.
    pub fn detach(&self) -> Self {
        Self::build(
            Arc::clone(&self.node.data),
            self.node.shape.clone(),
            false,
            None,
        )
    }

    /// The result of an op: wraps `output` and, when grad mode is on and an input requires grad,
    /// records `op` with its inputs and attributes so that backward can look its backward
    /// function up in the registry. This is how every built-in op is made, and how a user's own
    /// op joins the graph (see [`crate::autograd::register_op`]).
    pub fn from_op(
        op: &'static str,
        output: B::Storage,
        inputs: &[&Tensor<B>],
        attrs: Attrs,
    ) -> Self {
        let track = is_grad_enabled() && inputs.iter().any(|t| t.requires_grad());
        let shape = B::shape(&output);
        let grad_fn = track.then(|| GradFn::new(op, inputs, attrs));
        Self::build(Self::new_cell(output), shape, track, grad_fn)
    }

    // ----- inspection -----

    /// The shape (row-major).
    pub fn shape(&self) -> &[usize] {
        &self.node.shape
    }

    /// The number of axes.
    pub fn rank(&self) -> usize {
        self.node.shape.len()
    }

    /// The number of elements.
    pub fn numel(&self) -> usize {
        numel(&self.node.shape)
    }

    /// A handle to the backend storage (cheap).
    pub fn storage(&self) -> B::Storage {
        self.node
            .data
            .storage
            .read()
            .expect("tensor storage lock poisoned")
            .as_ref()
            .expect("a live tensor has storage")
            .clone()
    }

    /// The elements in row-major order.
    pub fn to_vec(&self) -> Vec<B::Elem> {
        B::to_vec(&self.storage())
    }

    /// The elements in row-major order, widened to `f64`.
    pub fn to_vec_f64(&self) -> Vec<f64> {
        self.to_vec().into_iter().map(Element::as_f64).collect()
    }

    /// The value of a one-element tensor.
    ///
    /// # Panics
    /// If the tensor has more than one element.
    #[track_caller]
    pub fn item(&self) -> B::Elem {
        assert!(
            self.numel() == 1,
            "item: tensor of shape {:?} has {} elements, not 1",
            self.shape(),
            self.numel()
        );
        self.to_vec()[0]
    }

    /// Whether gradients flow to this tensor.
    pub fn requires_grad(&self) -> bool {
        self.node.requires_grad
    }

    /// Whether this is a leaf: made by the user rather than computed from tensors requiring grad.
    pub fn is_leaf(&self) -> bool {
        self.node.grad_fn.is_none()
    }

    /// The gradient accumulated by backward passes (leaves that require grad only).
    pub fn grad(&self) -> Option<Tensor<B>> {
        self.node.grad.lock().expect("grad lock poisoned").clone()
    }

    /// Replaces the accumulated gradient.
    pub fn set_grad(&self, grad: Option<Tensor<B>>) {
        *self.node.grad.lock().expect("grad lock poisoned") = grad;
    }

    /// Clears the accumulated gradient (PyTorch's `zero_grad(set_to_none=True)`).
    pub fn zero_grad(&self) {
        self.set_grad(None);
    }

    /// The name of the op that computed this tensor, or `None` for a leaf.
    pub fn op_name(&self) -> Option<&'static str> {
        self.node.grad_fn.as_ref().map(|g| g.op)
    }

    /// A process-unique id; later tensors have larger ids.
    pub fn id(&self) -> u64 {
        self.node.id
    }

    /// How many times the data was updated in place.
    pub fn version(&self) -> u64 {
        self.node.data.version.load(Ordering::Acquire)
    }

    /// Whether both handles are the same tensor.
    pub fn same_as(&self, other: &Tensor<B>) -> bool {
        Arc::ptr_eq(&self.node, &other.node)
    }

    // ----- in-place updates (for optimizers) -----

    /// Replaces the data through `f`, bumping the version counter.
    #[track_caller]
    pub(crate) fn update_in_place(&self, op: &str, f: impl FnOnce(&mut B::Storage)) {
        assert!(
            !(self.requires_grad() && crate::autograd::is_grad_enabled()),
            "{op}: in-place update of a tensor that requires grad while grad mode is on; \
             do it under no_grad() (as optimizers do) or on a detached copy"
        );
        let mut guard = self
            .node
            .data
            .storage
            .write()
            .expect("tensor storage lock poisoned");
        f(guard.as_mut().expect("a live tensor has storage"));
        self.node.data.version.fetch_add(1, Ordering::AcqRel);
    }

    /// `self += alpha * other`, in place. Shapes must be equal.
    ///
    /// # Panics
    /// On a shape mismatch, or on a tensor that requires grad while grad mode is on.
    #[track_caller]
    pub fn add_scaled_(&self, alpha: f64, other: &Tensor<B>) {
        crate::check::same_shape("add_scaled_", self.shape(), other.shape());
        let src = other.storage();
        self.update_in_place("add_scaled_", |s| {
            B::axpy_in_place(s, B::Elem::of(alpha), &src)
        });
    }

    /// `self += other`, in place. Shapes must be equal.
    #[track_caller]
    pub fn add_(&self, other: &Tensor<B>) {
        self.add_scaled_(1.0, other);
    }

    /// `self -= other`, in place. Shapes must be equal.
    #[track_caller]
    pub fn sub_(&self, other: &Tensor<B>) {
        self.add_scaled_(-1.0, other);
    }

    /// `self *= c`, in place.
    #[track_caller]
    pub fn mul_scalar_(&self, c: f64) {
        self.update_in_place("mul_scalar_", |s| {
            B::unary_in_place(s, crate::UnaryOp::MulScalar(B::Elem::of(c)))
        });
    }

    /// `self += c`, in place.
    #[track_caller]
    pub fn add_scalar_(&self, c: f64) {
        self.update_in_place("add_scalar_", |s| {
            B::unary_in_place(s, crate::UnaryOp::AddScalar(B::Elem::of(c)))
        });
    }

    /// Overwrites the data with `other`'s (same shape), in place.
    #[track_caller]
    pub fn copy_(&self, other: &Tensor<B>) {
        crate::check::same_shape("copy_", self.shape(), other.shape());
        let src = other.storage();
        self.update_in_place("copy_", |s| *s = src);
    }
}

impl<B: Backend> fmt::Debug for Tensor<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl<B: Backend> fmt::Display for Tensor<B> {
    /// Shape, backend, the first values, and how the tensor was made.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 8;
        let values = self.to_vec();
        let head: Vec<String> = values
            .iter()
            .take(SHOWN)
            .map(|v| format!("{v:.4}"))
            .collect();
        let more = if values.len() > SHOWN { ", …" } else { "" };
        write!(
            f,
            "Tensor<{}<{}>>(shape {:?}, [{}{}]",
            B::name(),
            B::Elem::NAME,
            self.shape(),
            head.join(", "),
            more
        )?;
        match self.op_name() {
            Some(op) => write!(f, ", grad_fn={op})"),
            None if self.requires_grad() => write!(f, ", requires_grad)"),
            None => write!(f, ")"),
        }
    }
}
