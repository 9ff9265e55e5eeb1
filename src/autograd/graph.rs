//! Reading a recorded graph: a `grad_fn` chain like PyTorch's, a text tree, and DOT export.

use std::collections::HashSet;
use std::fmt::Write;

use crate::autograd::record::Attrs;
use crate::backend::Backend;
use crate::tensor::Tensor;

/// A node of the recorded graph, seen from the tensor it produced (PyTorch's `grad_fn`).
pub struct GradFnInfo<B: Backend> {
    tensor: Tensor<B>,
}

impl<B: Backend> GradFnInfo<B> {
    /// The op's name (`"mul"`, `"matmul"`, …).
    pub fn name(&self) -> &'static str {
        self.tensor.op_name().expect("GradFnInfo of a leaf")
    }

    /// The op's attributes.
    pub fn attrs(&self) -> &Attrs {
        &self
            .tensor
            .node
            .grad_fn
            .as_ref()
            .expect("GradFnInfo of a leaf")
            .attrs
    }

    /// The op's inputs, in order (PyTorch's `next_functions`, but as tensors: a leaf input is
    /// a tensor whose `grad_fn()` is `None`).
    pub fn inputs(&self) -> &[Tensor<B>] {
        &self
            .tensor
            .node
            .grad_fn
            .as_ref()
            .expect("GradFnInfo of a leaf")
            .inputs
    }

    /// The `grad_fn`s of the inputs that were computed by ops (PyTorch's `next_functions`,
    /// without the leaves).
    pub fn next_functions(&self) -> Vec<GradFnInfo<B>> {
        self.inputs().iter().filter_map(Tensor::grad_fn).collect()
    }
}

impl<B: Backend> Tensor<B> {
    /// The op that computed this tensor, or `None` for a leaf or an untracked result.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f32>>::ones(&[2]).requires_grad_(true);
    /// let y = (x.exp() * 2.0).sum();
    /// let f = y.grad_fn().unwrap();
    /// assert_eq!(f.name(), "sum");
    /// assert_eq!(f.next_functions()[0].name(), "mul_scalar");
    /// ```
    pub fn grad_fn(&self) -> Option<GradFnInfo<B>> {
        self.node.grad_fn.as_ref().map(|_| GradFnInfo {
            tensor: self.clone(),
        })
    }

    /// The graph below this tensor as an indented tree, one line per node, shared nodes shown
    /// once (later uses say `(seen)`).
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f32>>::ones(&[2]).requires_grad_(true);
    /// let tree = (x.tanh() + 1.0).sum().graph_tree();
    /// assert!(tree.starts_with("sum [] "));
    /// assert!(tree.contains("tanh [2]"));
    /// ```
    pub fn graph_tree(&self) -> String {
        let mut out = String::new();
        let mut seen = HashSet::new();
        // Explicit stack of (tensor, depth): deep graphs cannot overflow the call stack.
        let mut stack = vec![(self.clone(), 0usize)];
        while let Some((t, depth)) = stack.pop() {
            let pad = "  ".repeat(depth);
            let label = match t.op_name() {
                Some(op) => op.to_string(),
                None if t.requires_grad() => "leaf".to_string(),
                None => "constant".to_string(),
            };
            let first = seen.insert(t.id());
            let _ = writeln!(
                out,
                "{pad}{label} {:?} #{}{}",
                t.shape(),
                t.id(),
                if first { "" } else { " (seen)" }
            );
            if let (true, Some(gf)) = (first, &t.node.grad_fn) {
                for input in gf.inputs.iter().rev() {
                    stack.push((input.clone(), depth + 1));
                }
            }
        }
        out
    }

    /// The graph below this tensor in Graphviz DOT format (`dot -Tsvg graph.dot`).
    pub fn to_dot(&self) -> String {
        let mut out = String::from(
            "digraph duograd {\n  rankdir=BT;\n  node [shape=box, fontname=monospace];\n",
        );
        let mut seen = HashSet::from([self.id()]);
        let mut stack = vec![self.clone()];
        while let Some(t) = stack.pop() {
            let (label, style) = match t.op_name() {
                Some(op) => (op.to_string(), ""),
                None if t.requires_grad() => {
                    ("leaf".to_string(), ", style=filled, fillcolor=lightblue")
                }
                None => ("constant".to_string(), ", style=dashed"),
            };
            let _ = writeln!(
                out,
                "  n{} [label=\"{label}\\n{:?}\"{style}];",
                t.id(),
                t.shape()
            );
            if let Some(gf) = &t.node.grad_fn {
                for (i, input) in gf.inputs.iter().enumerate() {
                    let _ = writeln!(out, "  n{} -> n{} [label=\"{i}\"];", input.id(), t.id());
                    if seen.insert(input.id()) {
                        stack.push(input.clone());
                    }
                }
            }
        }
        out.push_str("}\n");
        out
    }
}
