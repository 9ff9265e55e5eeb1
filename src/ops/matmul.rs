//! Matrix products.

use crate::autograd::{Attrs, BackwardArgs, Registry};
use crate::backend::Backend;
use crate::tensor::Tensor;

impl<B: Backend> Tensor<B> {
    /// The 2-D matrix product `self · other`.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let a = Tensor::<NdArray<f64>>::from_f64(&[1., 2., 3., 4.], &[2, 2]);
    /// let i = Tensor::from_f64(&[1., 0., 0., 1.], &[2, 2]);
    /// assert_eq!(a.matmul(&i).to_vec(), a.to_vec());
    /// ```
    ///
    /// # Panics
    /// If either operand is not 2-D or the inner sizes differ.
    #[track_caller]
    pub fn matmul(&self, other: &Tensor<B>) -> Self {
        self.matmul_t(other, false, false)
    }

    /// `op(self) · op(other)` where `op` transposes the operand whose flag is set, without
    /// materializing the transpose (e.g. `x · Wᵀ` for a linear layer with weight `(out, in)`).
    ///
    /// # Panics
    /// If either operand is not 2-D or the inner sizes differ.
    #[track_caller]
    pub fn matmul_t(&self, other: &Tensor<B>, transpose_a: bool, transpose_b: bool) -> Self {
        check_shapes("matmul", self, other, transpose_a, transpose_b);
        let out = B::matmul(&self.storage(), &other.storage(), transpose_a, transpose_b);
        let attrs = Attrs::Matmul {
            transpose_a,
            transpose_b,
        };
        Tensor::from_op("matmul", out, &[self, other], attrs)
    }

    /// `op(self) · op(other) + bias`, the 1-D `bias` (one value per column of the product)
    /// added to every row, as one op whose kernel adds the bias while it writes the product
    /// (PyTorch's `addmm`; a linear layer's `x·Wᵀ + b` is `x.matmul_bias(w, b, false, true)`).
    /// The result equals [`Tensor::matmul_t`] followed by `+ bias`, element for element.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[1., 2., 3., 4.], &[2, 2]);
    /// let w = Tensor::from_f64(&[1., 0., 0., 1., 1., 1.], &[3, 2]); // (out, in)
    /// let b = Tensor::from_f64(&[0.5, 0., -1.], &[3]);
    /// let y = x.matmul_bias(&w, &b, false, true);
    /// assert_eq!(y.to_vec(), vec![1.5, 2., 2., 3.5, 4., 6.]);
    /// ```
    ///
    /// # Panics
    /// If either operand is not 2-D, the inner sizes differ, or `bias` is not 1-D with one value
    /// per column of the product.
    #[track_caller]
    pub fn matmul_bias(
        &self,
        other: &Tensor<B>,
        bias: &Tensor<B>,
        transpose_a: bool,
        transpose_b: bool,
    ) -> Self {
        check_shapes("matmul_bias", self, other, transpose_a, transpose_b);
        let cols = other.shape()[if transpose_b { 0 } else { 1 }];
        assert!(
            bias.shape() == [cols],
            "matmul_bias: the bias must have shape [{cols}] (the product's columns), got {:?}",
            bias.shape()
        );
        let out = B::matmul_bias(
            &self.storage(),
            &other.storage(),
            &bias.storage(),
            transpose_a,
            transpose_b,
        );
        let attrs = Attrs::Matmul {
            transpose_a,
            transpose_b,
        };
        Tensor::from_op("matmul_bias", out, &[self, other, bias], attrs)
    }
}

/// Panics, naming `op` and both shapes, unless `op(a) · op(b)` is a product of 2-D operands.
#[track_caller]
fn check_shapes<B: Backend>(
    op: &str,
    a: &Tensor<B>,
    b: &Tensor<B>,
    transpose_a: bool,
    transpose_b: bool,
) {
    let (a, b) = (a.shape(), b.shape());
    assert!(
        a.len() == 2 && b.len() == 2,
        "{op}: expects 2-D operands, got shapes {a:?} and {b:?}"
    );
    let inner_a = if transpose_a { a[0] } else { a[1] };
    let inner_b = if transpose_b { b[1] } else { b[0] };
    assert!(
        inner_a == inner_b,
        "{op}: inner sizes differ: {a:?}{} · {b:?}{}",
        if transpose_a { "ᵀ" } else { "" },
        if transpose_b { "ᵀ" } else { "" }
    );
}

fn flags(attrs: &Attrs) -> (bool, bool) {
    match *attrs {
        Attrs::Matmul {
            transpose_a,
            transpose_b,
        } => (transpose_a, transpose_b),
        _ => unreachable!("matmul records its transpose flags"),
    }
}

// C = op(A)·op(B): dop(A) = G·op(B)ᵀ, so dA = G·op(B)ᵀ, or its transpose op(B)·Gᵀ when A was
// used transposed. Expressed with transpose flags, so no transpose is materialized.
fn matmul_backward_a<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    let (ta, tb) = flags(a.attrs);
    let (g, rhs) = (a.grad, &a.inputs[1]);
    match ta {
        false => g.matmul_t(rhs, false, !tb),
        true => rhs.matmul_t(g, tb, true),
    }
}

// dop(B) = op(A)ᵀ·G, so dB = op(A)ᵀ·G, or Gᵀ·op(A) when B was used transposed.
fn matmul_backward_b<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    let (ta, tb) = flags(a.attrs);
    let (g, lhs) = (a.grad, &a.inputs[0]);
    match tb {
        false => lhs.matmul_t(g, !ta, false),
        true => g.matmul_t(lhs, true, ta),
    }
}

// The bias was added to every row: its gradient is the sum of the rows of G.
fn bias_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    a.grad.sum_dim(0, false)
}

pub(crate) fn register<B: Backend>(r: &Registry<B>) {
    r.register_all("matmul", &[matmul_backward_a, matmul_backward_b]);
    // `op(A)·op(B) + bias` differentiates in A and B as the product alone does.
    r.register_all(
        "matmul_bias",
        &[matmul_backward_a, matmul_backward_b, bias_backward],
    );
}
