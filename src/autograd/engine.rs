//! The backward pass: order the graph, run each node's registered backward once, sum gradients.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use crate::autograd::grad_mode::with_grad_mode;
use crate::autograd::registry::{registry, BackwardArgs};
use crate::backend::Backend;
use crate::error::AutogradError;
use crate::tensor::Tensor;

/// Hashes node ids, which are already unique integers: one multiply instead of SipHash, on the
/// backward pass's hot path.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, _: &[u8]) {
        unreachable!("IdHasher only hashes u64 node ids")
    }
    fn write_u64(&mut self, id: u64) {
        self.0 = id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;
type IdSet = HashSet<u64, BuildHasherDefault<IdHasher>>;

/// Where the gradients that reach the graph's leaves go.
enum Sink<'a> {
    /// Accumulate into each leaf's `.grad` (PyTorch's `backward`).
    LeafGrads,
    /// Return the gradients of these tensors, touching no `.grad` (PyTorch's `autograd.grad`).
    Capture(&'a IdSet),
}

/// Every tensor reachable from `root` through inputs that require grad, in reverse topological
/// order (consumers before producers). Iterative, so graph depth cannot overflow the stack.
fn reverse_topological<B: Backend>(root: &Tensor<B>) -> Vec<Tensor<B>> {
    let mut seen = IdSet::default();
    let mut stack = vec![root.clone()];
    let mut nodes = Vec::new();
    seen.insert(root.id());
    while let Some(t) = stack.pop() {
        if let Some(gf) = &t.node.grad_fn {
            for input in &gf.inputs {
                if input.requires_grad() && seen.insert(input.id()) {
                    stack.push(input.clone());
                }
            }
        }
        nodes.push(t);
    }
    // Ids grow with creation, so every input has a smaller id than the ops that consume it.
    nodes.sort_unstable_by_key(|t| std::cmp::Reverse(t.id()));
    nodes
}

fn check_versions<B: Backend>(t: &Tensor<B>) -> Result<(), AutogradError> {
    let gf = t.node.grad_fn.as_ref().expect("non-leaf without grad_fn");
    let modified = |which: String, saved: u64, now: u64| AutogradError::ModifiedInPlace {
        op: gf.op.to_string(),
        which,
        saved,
        now,
    };
    if t.version() != 0 {
        return Err(modified("output".into(), 0, t.version()));
    }
    for (i, (input, &saved)) in gf.inputs.iter().zip(&gf.input_versions).enumerate() {
        if input.version() != saved {
            return Err(modified(format!("input {i}"), saved, input.version()));
        }
    }
    Ok(())
}

fn accumulate_into_leaf<B: Backend>(leaf: &Tensor<B>, grad: Tensor<B>, create_graph: bool) {
    let mut slot = leaf.node.grad.lock().expect("grad lock poisoned");
    *slot = match slot.take() {
        // A fresh cell, so that later in-place accumulation never writes into a tensor that
        // another leaf's gradient (or the caller) also holds.
        None if grad.requires_grad() => Some(grad),
        None => Some(Tensor::from_storage(grad.storage())),
        Some(old) if create_graph || old.requires_grad() => Some(&old + &grad),
        Some(old) => {
            old.add_(&grad);
            Some(old)
        }
    };
}

fn run<B: Backend>(
    root: &Tensor<B>,
    seed: Tensor<B>,
    create_graph: bool,
    sink: Sink<'_>,
) -> Result<IdMap<Tensor<B>>, AutogradError> {
    if !root.requires_grad() {
        return Err(AutogradError::NoGraph);
    }
    if seed.shape() != root.shape() {
        return Err(AutogradError::GradShape {
            expected: root.shape().to_vec(),
            got: seed.shape().to_vec(),
        });
    }
    let order = reverse_topological(root);
    // Check every saved tensor before touching any gradient, so an error leaves no partial result.
    for t in order.iter().filter(|t| !t.is_leaf()) {
        check_versions(t)?;
    }
    let registry = registry::<B>();
    let mut pending: IdMap<Tensor<B>> = IdMap::default();
    pending.insert(root.id(), seed);
    let mut captured = IdMap::default();
    with_grad_mode(create_graph, || {
        for t in &order {
            // Taking the gradient out frees it as soon as its node has run.
            let Some(grad) = pending.remove(&t.id()) else {
                continue;
            };
            if let Sink::Capture(targets) = sink {
                if targets.contains(&t.id()) {
                    captured.insert(t.id(), grad.clone());
                }
            }
            let Some(gf) = &t.node.grad_fn else {
                if matches!(sink, Sink::LeafGrads) {
                    accumulate_into_leaf(t, grad, create_graph);
                }
                continue;
            };
            let entry = registry
                .get(gf.op)
                .ok_or_else(|| AutogradError::BackwardNotRegistered { op: gf.op.into() })?;
            for (i, input) in gf.inputs.iter().enumerate() {
                if !input.requires_grad() {
                    continue;
                }
                let args = BackwardArgs {
                    grad: &grad,
                    output: t,
                    inputs: &gf.inputs,
                    attrs: &gf.attrs,
                    input: i,
                };
                let backward =
                    entry
                        .backward_for(i)
                        .ok_or_else(|| AutogradError::NotDifferentiable {
                            op: gf.op.into(),
                            input: i,
                        })?;
                let g = backward(&args);
                if g.shape() != input.shape() {
                    return Err(AutogradError::BadBackwardShape {
                        op: gf.op.into(),
                        input: i,
                        expected: input.shape().to_vec(),
                        got: g.shape().to_vec(),
                    });
                }
                let summed = match pending.remove(&input.id()) {
                    Some(prev) => &prev + &g,
                    None => g,
                };
                pending.insert(input.id(), summed);
            }
        }
        Ok(())
    })?;
    Ok(captured)
}

impl<B: Backend> Tensor<B> {
    /// Backpropagates from this one-element tensor: accumulates `d self / d leaf` into the
    /// `.grad` of every leaf that requires grad. Gradients add up over repeated calls until
    /// [`Tensor::zero_grad`].
    ///
    /// # Errors
    /// [`AutogradError::NonScalarOutput`] if the tensor has more than one element (use
    /// [`Tensor::backward_with`]); [`AutogradError::NoGraph`] if it does not require grad; and
    /// the errors of the walk (an op without backward, a saved tensor modified in place).
    pub fn backward(&self) -> Result<(), AutogradError> {
        self.backward_opts(None, false)
    }

    /// Backpropagates with an explicit gradient of the output (same shape as `self`).
    pub fn backward_with(&self, grad: &Tensor<B>) -> Result<(), AutogradError> {
        self.backward_opts(Some(grad), false)
    }

    /// Backpropagates; with `create_graph` the backward pass is itself recorded, so the leaves'
    /// gradients can be differentiated again (PyTorch's `create_graph=True`).
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    ///
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[2.0], &[1]).requires_grad_(true);
    /// x.powf(3.0).sum().backward_opts(None, true).unwrap();
    /// let dx = x.grad().unwrap(); // 3x² = 12
    /// x.zero_grad();
    /// dx.sum().backward().unwrap();
    /// assert_eq!(x.grad().unwrap().to_vec(), vec![12.0]); // 6x = 12
    /// ```
    pub fn backward_opts(
        &self,
        grad: Option<&Tensor<B>>,
        create_graph: bool,
    ) -> Result<(), AutogradError> {
        let seed = match grad {
            Some(g) => g.clone(),
            None if self.numel() == 1 => self.ones_like(),
            None => {
                return Err(AutogradError::NonScalarOutput {
                    shape: self.shape().to_vec(),
                })
            }
        };
        run(self, seed, create_graph, Sink::LeafGrads).map(drop)
    }
}

/// The gradients of a one-element `output` with respect to `inputs`, returned rather than
/// accumulated into `.grad` (PyTorch's `torch.autograd.grad`). An input the output does not
/// depend on gets zeros. With `create_graph`, the results can be differentiated again.
///
/// ```
/// use duograd::{autograd::grad, Tensor};
/// use duograd::backends::NdArray;
///
/// let x = Tensor::<NdArray<f64>>::from_f64(&[3.0], &[1]).requires_grad_(true);
/// let y = (&x * &x).sum();
/// let g = grad(&y, &[&x], true).unwrap();
/// assert_eq!(g[0].to_vec(), vec![6.0]);
/// let h = grad(&g[0].sum(), &[&x], false).unwrap();
/// assert_eq!(h[0].to_vec(), vec![2.0]);
/// assert!(x.grad().is_none());
/// ```
///
/// # Errors
/// As [`Tensor::backward`].
pub fn grad<B: Backend>(
    output: &Tensor<B>,
    inputs: &[&Tensor<B>],
    create_graph: bool,
) -> Result<Vec<Tensor<B>>, AutogradError> {
    if output.numel() != 1 {
        return Err(AutogradError::NonScalarOutput {
            shape: output.shape().to_vec(),
        });
    }
    let targets: IdSet = inputs.iter().map(|t| t.id()).collect();
    let captured = run(
        output,
        output.ones_like(),
        create_graph,
        Sink::Capture(&targets),
    )?;
    Ok(inputs
        .iter()
        .map(|t| {
            captured
                .get(&t.id())
                .cloned()
                .unwrap_or_else(|| t.zeros_like())
        })
        .collect())
}
