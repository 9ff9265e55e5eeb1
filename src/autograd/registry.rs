//! The backward registry: the single place where an op name maps to its backward functions.
//!
//! Each op is registered once with one backward function per input position, as in the ARENA
//! framework's `BackwardFuncLookup`. The engine looks every node's backward up here; there is no
//! other dispatch. Built-in ops register themselves (see `crate::ops::register_builtins`), and a
//! user can add their own with [`register_op`].

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use crate::autograd::record::Attrs;
use crate::backend::Backend;
use crate::tensor::Tensor;

/// What a backward function receives.
pub struct BackwardArgs<'a, B: Backend> {
    /// Gradient of the loss with respect to the op's output.
    pub grad: &'a Tensor<B>,
    /// The op's output (with its graph, so that backward can be differentiated again).
    pub output: &'a Tensor<B>,
    /// The op's inputs, in order.
    pub inputs: &'a [Tensor<B>],
    /// The op's attributes.
    pub attrs: &'a Attrs,
    /// The position of the input whose gradient is asked for.
    pub input: usize,
}

/// A backward function for one input position: maps `(grad_out, out, inputs, attrs)` to the
/// gradient with respect to that input (same shape as the input). Written with tensor ops, so
/// that a backward pass with `create_graph` can itself be differentiated.
pub type BackwardFn<B> = fn(&BackwardArgs<'_, B>) -> Tensor<B>;

/// An op as the registry knows it.
pub struct OpEntry<B: Backend> {
    /// The op's name, as passed to [`Tensor::from_op`].
    pub name: &'static str,
    /// One entry per input position; `None` where the op is not differentiable in that input.
    pub backward: Vec<Option<BackwardFn<B>>>,
    /// Whether the op takes any number of inputs, all served by the one backward function.
    pub variadic: bool,
}

impl<B: Backend> OpEntry<B> {
    /// The backward function for input position `input`, if the op is differentiable there.
    pub fn backward_for(&self, input: usize) -> Option<BackwardFn<B>> {
        match self.variadic {
            true => self.backward.first().copied().flatten(),
            false => self.backward.get(input).copied().flatten(),
        }
    }
}

/// All ops known for backend `B`.
pub struct Registry<B: Backend> {
    ops: RwLock<HashMap<&'static str, Arc<OpEntry<B>>>>,
}

impl<B: Backend> Registry<B> {
    fn with_builtins() -> Self {
        let registry = Registry {
            ops: RwLock::new(HashMap::new()),
        };
        crate::ops::register_builtins(&registry);
        registry
    }

    /// Registers (or replaces) an op.
    pub fn register(&self, name: &'static str, backward: Vec<Option<BackwardFn<B>>>) {
        self.insert(OpEntry {
            name,
            backward,
            variadic: false,
        });
    }

    /// Registers an op with any number of inputs, all differentiated by `backward` (which
    /// reads [`BackwardArgs::input`] to know which one).
    pub fn register_variadic(&self, name: &'static str, backward: BackwardFn<B>) {
        self.insert(OpEntry {
            name,
            backward: vec![Some(backward)],
            variadic: true,
        });
    }

    fn insert(&self, entry: OpEntry<B>) {
        self.ops
            .write()
            .expect("registry lock poisoned")
            .insert(entry.name, Arc::new(entry));
    }

    /// Registers an op whose inputs are all differentiable.
    pub fn register_all(&self, name: &'static str, backward: &[BackwardFn<B>]) {
        self.register(name, backward.iter().copied().map(Some).collect());
    }

    /// The entry for `name`, if registered.
    pub fn get(&self, name: &str) -> Option<Arc<OpEntry<B>>> {
        self.ops
            .read()
            .expect("registry lock poisoned")
            .get(name)
            .cloned()
    }

    /// Names of every registered op, sorted.
    pub fn names(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self
            .ops
            .read()
            .expect("registry lock poisoned")
            .keys()
            .copied()
            .collect();
        names.sort_unstable();
        names
    }
}

type AnyRegistry = &'static (dyn Any + Send + Sync);

/// The registry for backend `B`, created with every built-in op on first use.
pub fn registry<B: Backend>() -> &'static Registry<B> {
    static REGISTRIES: OnceLock<RwLock<HashMap<TypeId, AnyRegistry>>> = OnceLock::new();
    let all = REGISTRIES.get_or_init(Default::default);
    let key = TypeId::of::<B>();
    let found = all
        .read()
        .expect("registry lock poisoned")
        .get(&key)
        .copied();
    let any = match found {
        Some(r) => r,
        None => {
            let mut map = all.write().expect("registry lock poisoned");
            *map.entry(key).or_insert_with(|| {
                // Leaked once per backend type: registries live for the whole process.
                let leaked: &'static Registry<B> =
                    Box::leak(Box::new(Registry::<B>::with_builtins()));
                leaked
            })
        }
    };
    any.downcast_ref::<Registry<B>>()
        .expect("registry of the wrong type")
}

/// Registers a user-defined op for backend `B`: its name and one backward function per input
/// (`None` for inputs it is not differentiable in). Registering a name again replaces it.
///
/// Build the op's output with [`Tensor::from_op`] under the same name.
///
/// ```
/// use duograd::autograd::{register_op, BackwardArgs};
/// use duograd::{Backend, Tensor, UnaryOp, Attrs};
/// use duograd::backends::NdArray;
///
/// /// softplus(x) = ln(1 + e^x)
/// fn softplus<B: Backend>(x: &Tensor<B>) -> Tensor<B> {
///     let out = (x.exp() + 1.0).log().storage();
///     Tensor::from_op("softplus", out, &[x], Attrs::None)
/// }
/// // d/dx softplus(x) = sigmoid(x)
/// fn softplus_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
///     a.grad * &a.inputs[0].sigmoid()
/// }
///
/// type B = NdArray<f64>;
/// register_op::<B>("softplus", vec![Some(softplus_backward::<B>)]);
/// let x = Tensor::<B>::from_f64(&[0.0, 1.0], &[2]).requires_grad_(true);
/// softplus(&x).sum().backward().unwrap();
/// let g = x.grad().unwrap().to_vec();
/// assert!((g[0] - 0.5).abs() < 1e-12);
/// ```
pub fn register_op<B: Backend>(name: &'static str, backward: Vec<Option<BackwardFn<B>>>) {
    registry::<B>().register(name, backward);
}
