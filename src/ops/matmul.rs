//! Matrix products.

use crate::autograd::{Attrs, BackwardArgs, Registry};
use crate::backend::Backend;
use crate::shape::numel;
use crate::tensor::Tensor;

impl<B: Backend> Tensor<B> {
    /// The matrix product with PyTorch's `torch.matmul` semantics: 2-D · 2-D is the matrix
    /// product; a 1-D operand is a row (on the left) or a column (on the right) vector whose
    /// axis is removed from the result (1-D · 1-D is the dot product); with more dimensions the
    /// last two are the matrices and the leading (batch) ones broadcast, so `[b, n, k] · [b, k,
    /// m]` is `[b, n, m]` and `[b, n, k] · [k, m]` multiplies every matrix of the batch by the
    /// same one.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let a = Tensor::<NdArray<f64>>::from_f64(&[1., 2., 3., 4.], &[2, 2]);
    /// let i = Tensor::from_f64(&[1., 0., 0., 1.], &[2, 2]);
    /// assert_eq!(a.matmul(&i).to_vec(), a.to_vec());
    ///
    /// let batch = Tensor::<NdArray<f64>>::ones(&[3, 2, 4]);
    /// let w = Tensor::ones(&[4, 5]);
    /// assert_eq!(batch.matmul(&w).shape(), &[3, 2, 5]);
    /// let v = Tensor::<NdArray<f64>>::ones(&[4]);
    /// assert_eq!(batch.matmul(&v).shape(), &[3, 2]);
    /// ```
    ///
    /// # Panics
    /// If an operand is 0-D, the inner sizes differ, or the batch axes do not broadcast.
    #[track_caller]
    pub fn matmul(&self, other: &Tensor<B>) -> Self {
        if self.rank() == 2 && other.rank() == 2 {
            return self.matmul_t(other, false, false);
        }
        let (ra, rb) = (self.rank(), other.rank());
        assert!(
            ra >= 1 && rb >= 1,
            "matmul: both operands need at least one dimension, got shapes {:?} and {:?}",
            self.shape(),
            other.shape()
        );
        let a = if ra == 1 {
            self.unsqueeze(0)
        } else {
            self.clone()
        };
        let b = if rb == 1 {
            other.unsqueeze(-1)
        } else {
            other.clone()
        };
        let (sa, sb) = (a.shape().to_vec(), b.shape().to_vec());
        let ([n, k], [k2, m]) = (
            [sa[sa.len() - 2], sa[sa.len() - 1]],
            [sb[sb.len() - 2], sb[sb.len() - 1]],
        );
        assert!(
            k == k2,
            "matmul: inner sizes differ: {:?} · {:?} ({k} against {k2})",
            self.shape(),
            other.shape()
        );
        let (batch_a, batch_b) = (&sa[..sa.len() - 2], &sb[..sb.len() - 2]);
        let batch = crate::check::broadcast("matmul", batch_a, batch_b);
        let out_shape: Vec<usize> = batch.iter().copied().chain([n, m]).collect();
        let out = if batch_b.is_empty() {
            // [..., n, k] · [k, m]: one product of all the rows stacked.
            a.reshape_to(&[numel(batch_a) * n, k])
                .matmul_t(&b, false, false)
                .reshape_to(&out_shape)
        } else {
            let count = numel(&batch);
            let with = |dims: [usize; 2]| batch.iter().copied().chain(dims).collect::<Vec<_>>();
            let a3 = a.expand(&with([n, k])).reshape_to(&[count, n, k]);
            let b3 = b.expand(&with([k, m])).reshape_to(&[count, k, m]);
            let products: Vec<Tensor<B>> = (0..count)
                .map(|i| {
                    let ai = a3.narrow(0, i, 1).reshape_to(&[n, k]);
                    ai.matmul_t(&b3.narrow(0, i, 1).reshape_to(&[k, m]), false, false)
                })
                .collect();
            match count {
                0 => Tensor::zeros(&out_shape),
                _ => Tensor::stack(&products.iter().collect::<Vec<_>>(), 0).reshape_to(&out_shape),
            }
        };
        // Drop the axes that stood in for 1-D operands.
        let mut shape = out_shape;
        if rb == 1 {
            shape.pop();
        }
        if ra == 1 {
            shape.remove(shape.len() - if rb == 1 { 1 } else { 2 });
        }
        out.reshape_to(&shape)
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
