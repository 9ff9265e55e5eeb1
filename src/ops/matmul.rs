//! Matrix products.

use crate::autograd::{Attrs, BackwardArgs, Registry};
use crate::backend::Backend;
use crate::tensor::Tensor;

impl<B: Backend> Tensor<B> {
    /// The 2-D matrix product `self · other`.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd_ndarray::NdArray;
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
        let (a, b) = (self.shape(), other.shape());
        assert!(
            a.len() == 2 && b.len() == 2,
            "matmul: expects 2-D operands, got shapes {a:?} and {b:?}"
        );
        let inner_a = if transpose_a { a[0] } else { a[1] };
        let inner_b = if transpose_b { b[1] } else { b[0] };
        assert!(
            inner_a == inner_b,
            "matmul: inner sizes differ: {a:?}{} · {b:?}{}",
            if transpose_a { "ᵀ" } else { "" },
            if transpose_b { "ᵀ" } else { "" }
        );
        let out = B::matmul(&self.storage(), &other.storage(), transpose_a, transpose_b);
        let attrs = Attrs::Matmul {
            transpose_a,
            transpose_b,
        };
        Tensor::from_op("matmul", out, &[self, other], attrs)
    }
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

pub(crate) fn register<B: Backend>(r: &Registry<B>) {
    r.register_all("matmul", &[matmul_backward_a, matmul_backward_b]);
}
