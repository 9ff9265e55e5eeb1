//! Selection by a mask: `where_`, `masked_fill`, and the comparisons that make masks.
//!
//! A mask is a tensor of the same element type holding `1` where the condition holds and `0`
//! elsewhere (PyTorch uses a `bool` tensor; duograd keeps one element type per backend). The
//! comparisons ([`Tensor::eq`], [`Tensor::lt_scalar`], …) give such masks; they are never
//! recorded, so a mask never requires grad, and a mask can be combined with arithmetic
//! (`&m1 * &m2` is "and"). [`Tensor::where_`] and [`Tensor::masked_fill`] select where the
//! mask is positive, so a mask must hold only 0 and 1 for them to mean what PyTorch's do.

use crate::autograd::{Attrs, BackwardArgs, Registry};
use crate::backend::Backend;
use crate::tensor::Tensor;
use crate::{BinaryOp, Element, UnaryOp};

impl<B: Backend> Tensor<B> {
    /// `a` where `cond` is 1, `b` where it is 0, broadcasting all three, as `torch.where`.
    /// The gradient of each branch is the incoming gradient where that branch was chosen and
    /// 0 elsewhere (an infinite or NaN value in the branch not chosen does not leak into the
    /// output or the gradient). `cond` is a mask (see the module docs) and gets no gradient.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// type T = Tensor<NdArray<f64>>;
    /// let x = T::from_f64(&[-1.0, 2.0, -3.0], &[3]);
    /// let positive = x.gt_scalar(0.0);
    /// assert_eq!(T::where_(&positive, &x, &T::scalar(0.0)).to_vec(), vec![0.0, 2.0, 0.0]);
    /// ```
    ///
    /// # Panics
    /// If the three shapes cannot be broadcast together (the message names them).
    #[track_caller]
    pub fn where_(cond: &Tensor<B>, a: &Tensor<B>, b: &Tensor<B>) -> Self {
        let ab = crate::shape::broadcast_shapes(a.shape(), b.shape());
        let all = ab
            .as_deref()
            .and_then(|s| crate::shape::broadcast_shapes(cond.shape(), s));
        assert!(
            all.is_some(),
            "where: condition of shape {:?}, a of shape {:?} and b of shape {:?} cannot be broadcast together",
            cond.shape(),
            a.shape(),
            b.shape()
        );
        let c = cond.storage();
        let not_c = B::unary(&c, UnaryOp::RSubScalar(B::Elem::of(1.0)));
        // Each branch keeps its values where its mask is positive and 0 elsewhere (whatever
        // the value there), and exactly one of the two is non-zero at each position.
        let from_a = B::binary(&a.storage(), &c, BinaryOp::ReluGrad);
        let from_b = B::binary(&b.storage(), &not_c, BinaryOp::ReluGrad);
        let out = B::binary(&from_a, &from_b, BinaryOp::Add);
        Tensor::from_op("where", out, &[cond, a, b], Attrs::None)
    }

    /// `value` where `mask` is 1, this tensor's element elsewhere, as PyTorch's
    /// `masked_fill`. `mask` (see the module docs) broadcasts to this tensor's shape; the
    /// gradient is the incoming one where the mask is 0. Composed of [`Tensor::where_`],
    /// whose gradient it has.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// type T = Tensor<NdArray<f64>>;
    /// let x = T::from_f64(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    /// let first_column = T::from_f64(&[1.0, 0.0], &[2]);
    /// assert_eq!(x.masked_fill(&first_column, -9.0).to_vec(), vec![-9.0, 2.0, -9.0, 4.0]);
    /// ```
    ///
    /// # Panics
    /// If the mask's shape does not broadcast to this tensor's.
    #[track_caller]
    pub fn masked_fill(&self, mask: &Tensor<B>, value: f64) -> Self {
        assert!(
            crate::shape::broadcasts_to(mask.shape(), self.shape()),
            "masked_fill: mask of shape {:?} does not broadcast to the tensor's shape {:?}",
            mask.shape(),
            self.shape()
        );
        Tensor::where_(mask, &Tensor::scalar(value), self)
    }

    /// `1` where `a != b` (NaN is unequal to everything), else `0`, broadcasting. Never
    /// recorded.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// type T = Tensor<NdArray<f64>>;
    /// let a = T::from_f64(&[1.0, 2.0, f64::NAN], &[3]);
    /// assert_eq!(a.ne(&T::from_f64(&[1.0, 3.0, f64::NAN], &[3])).to_vec(), vec![0.0, 1.0, 1.0]);
    /// ```
    ///
    /// # Panics
    /// If the shapes cannot be broadcast together.
    #[track_caller]
    pub fn ne(&self, other: &Tensor<B>) -> Self {
        crate::check::broadcast("ne", self.shape(), other.shape());
        self.eq(other)
            .map_untracked(UnaryOp::RSubScalar(B::Elem::of(1.0)))
    }

    /// `1` where `x != c`, else `0`. Never recorded.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[1.0, 2.0], &[2]);
    /// assert_eq!(x.ne_scalar(2.0).to_vec(), vec![1.0, 0.0]);
    /// ```
    pub fn ne_scalar(&self, c: f64) -> Self {
        self.eq_scalar(c)
            .map_untracked(UnaryOp::RSubScalar(B::Elem::of(1.0)))
    }

    /// `1` where `x < c`, else `0`. Never recorded.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[1.0, 2.0], &[2]);
    /// assert_eq!(x.lt_scalar(2.0).to_vec(), vec![1.0, 0.0]);
    /// ```
    pub fn lt_scalar(&self, c: f64) -> Self {
        self.lt(&Tensor::scalar(c))
    }

    /// `1` where `x <= c`, else `0`. Never recorded.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[1.0, 2.0, 3.0], &[3]);
    /// assert_eq!(x.le_scalar(2.0).to_vec(), vec![1.0, 1.0, 0.0]);
    /// ```
    pub fn le_scalar(&self, c: f64) -> Self {
        self.le(&Tensor::scalar(c))
    }

    /// `1` where `x >= c`, else `0`. Never recorded.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[1.0, 2.0, 3.0], &[3]);
    /// assert_eq!(x.ge_scalar(2.0).to_vec(), vec![0.0, 1.0, 1.0]);
    /// ```
    pub fn ge_scalar(&self, c: f64) -> Self {
        self.ge(&Tensor::scalar(c))
    }
}

// d/da where(c, a, b) = c, d/db = 1 - c: the gradient where each was chosen (itself a
// recorded `where`, so that it can be differentiated again).
fn where_backward_a<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    let chosen = Tensor::where_(&a.inputs[0], a.grad, &Tensor::scalar(0.0));
    chosen.sum_to_shape(a.inputs[1].shape())
}
fn where_backward_b<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    let chosen = Tensor::where_(&a.inputs[0], &Tensor::scalar(0.0), a.grad);
    chosen.sum_to_shape(a.inputs[2].shape())
}

pub(crate) fn register<B: Backend>(r: &Registry<B>) {
    r.register(
        "where",
        vec![None, Some(where_backward_a), Some(where_backward_b)],
    );
}
