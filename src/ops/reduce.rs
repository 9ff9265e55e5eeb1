//! Reductions: sum, mean and max over all elements or chosen axes, and argmax.

use crate::autograd::{is_grad_enabled, Attrs, BackwardArgs, Registry};
use crate::backend::Backend;
use crate::shape::reduced_shape;
use crate::tensor::Tensor;
use crate::{BinaryOp, ReduceOp};

impl<B: Backend> Tensor<B> {
    /// Sum over resolved, sorted axes (the internal form of [`Tensor::sum_dims`]).
    pub(crate) fn sum_axes(&self, axes: &[usize], keepdim: bool) -> Self {
        if axes.is_empty() {
            return self.clone();
        }
        let out = B::reduce(&self.storage(), axes, keepdim, ReduceOp::Sum);
        Tensor::from_op(
            "sum",
            out,
            &[self],
            Attrs::Axes {
                axes: Vec::from(axes),
                keepdim,
            },
        )
    }

    fn all_axes(&self) -> Vec<usize> {
        (0..self.rank()).collect()
    }

    /// Sum of all elements, as a 0-d tensor.
    pub fn sum(&self) -> Self {
        self.sum_axes(&self.all_axes(), false)
    }

    /// Sum over `dims` (negative counts from the end), keeping them as size 1 if `keepdim`.
    /// An empty `dims` returns the tensor unchanged.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[1., 2., 3., 4., 5., 6.], &[2, 3]);
    /// assert_eq!(x.sum_dims(&[-1], false).to_vec(), vec![6.0, 15.0]);
    /// assert_eq!(x.sum_dims(&[0], true).shape(), &[1, 3]);
    /// ```
    ///
    /// # Panics
    /// If an axis is out of range or repeated.
    #[track_caller]
    pub fn sum_dims(&self, dims: &[isize], keepdim: bool) -> Self {
        self.sum_axes(&crate::check::axes("sum", dims, self.shape()), keepdim)
    }

    /// Sum over one dim.
    #[track_caller]
    pub fn sum_dim(&self, dim: isize, keepdim: bool) -> Self {
        self.sum_dims(&[dim], keepdim)
    }

    /// Mean of all elements, as a 0-d tensor.
    pub fn mean(&self) -> Self {
        self.sum().div_scalar(self.numel() as f64)
    }

    /// Mean over `dims`, keeping them as size 1 if `keepdim`.
    #[track_caller]
    pub fn mean_dims(&self, dims: &[isize], keepdim: bool) -> Self {
        let axes = crate::check::axes("mean", dims, self.shape());
        let count: usize = axes.iter().map(|&a| self.shape()[a]).product();
        self.sum_axes(&axes, keepdim).div_scalar(count as f64)
    }

    /// Mean over one dim.
    #[track_caller]
    pub fn mean_dim(&self, dim: isize, keepdim: bool) -> Self {
        self.mean_dims(&[dim], keepdim)
    }

    /// Largest value along `dim`. The gradient goes to the single index [`Tensor::argmax_dim`]
    /// returns (the first of tied maxima), as PyTorch's `max(dim)`.
    ///
    /// # Panics
    /// If `dim` is out of range or has length 0.
    #[track_caller]
    pub fn max_dim(&self, dim: isize, keepdim: bool) -> Self {
        let axis = crate::check::axis("max_dim", dim, self.shape());
        assert!(
            self.shape()[axis] > 0,
            "max_dim: axis {axis} of shape {:?} is empty",
            self.shape()
        );
        let out = B::reduce(&self.storage(), &[axis], keepdim, ReduceOp::Max);
        Tensor::from_op("max_dim", out, &[self], Attrs::Axis { axis, keepdim })
    }

    /// The largest values along `dim` and their indices (the first of ties, as
    /// [`Tensor::argmax_dim`]), as PyTorch's `max(dim)` returns both. The values are
    /// [`Tensor::max_dim`]'s; the indices are never recorded.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[1., 5., 5., 7., 0., 2.], &[2, 3]);
    /// let (values, indices) = x.max_dim_with_indices(1, false);
    /// assert_eq!(values.to_vec(), vec![5.0, 7.0]);
    /// assert_eq!(indices.to_vec(), vec![1.0, 0.0]);
    /// ```
    ///
    /// # Panics
    /// If `dim` is out of range or has length 0.
    #[track_caller]
    pub fn max_dim_with_indices(&self, dim: isize, keepdim: bool) -> (Self, Self) {
        (self.max_dim(dim, keepdim), self.argmax_dim(dim, keepdim))
    }

    /// Smallest value along `dim`. The gradient goes to the single index
    /// [`Tensor::argmin_dim`] returns (the first of tied minima), as PyTorch's `min(dim)`; a NaN
    /// is the minimum wherever there is one. Composed as `-max_dim(-x)`, whose gradient it has.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[1., 0., 0., 7., 3., 2.], &[2, 3]);
    /// assert_eq!(x.min_dim(1, false).to_vec(), vec![0.0, 2.0]);
    /// ```
    ///
    /// # Panics
    /// If `dim` is out of range or has length 0.
    #[track_caller]
    pub fn min_dim(&self, dim: isize, keepdim: bool) -> Self {
        let axis = crate::check::axis("min_dim", dim, self.shape());
        assert!(
            self.shape()[axis] > 0,
            "min_dim: axis {axis} of shape {:?} is empty",
            self.shape()
        );
        self.neg().max_dim(dim, keepdim).neg()
    }

    /// The smallest values along `dim` and their indices (the first of ties), as PyTorch's
    /// `min(dim)` returns both; see [`Tensor::min_dim`].
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[1., 0., 0., 7., 3., 2.], &[2, 3]);
    /// let (values, indices) = x.min_dim_with_indices(1, true);
    /// assert_eq!(values.to_vec(), vec![0.0, 2.0]);
    /// assert_eq!(indices.to_vec(), vec![1.0, 2.0]);
    /// assert_eq!(indices.shape(), &[2, 1]);
    /// ```
    ///
    /// # Panics
    /// If `dim` is out of range or has length 0.
    #[track_caller]
    pub fn min_dim_with_indices(&self, dim: isize, keepdim: bool) -> (Self, Self) {
        (self.min_dim(dim, keepdim), self.argmin_dim(dim, keepdim))
    }

    /// Smallest element, as a 0-d tensor. Tied minima share the gradient evenly, as PyTorch's
    /// `min()`. Composed as `-max(-x)`, whose gradient it has.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[3., -1., 2.], &[3]);
    /// assert_eq!(x.min().item(), -1.0);
    /// ```
    ///
    /// # Panics
    /// If the tensor is empty.
    #[track_caller]
    pub fn min(&self) -> Self {
        assert!(
            self.numel() > 0,
            "min: the tensor of shape {:?} is empty",
            self.shape()
        );
        self.neg().max().neg()
    }

    /// Indices of the smallest values along `dim` (the first of ties; a NaN counts as smaller
    /// than every number), one per position of the other axes in row-major order.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[1., 0., 0., 7., 3., 2.], &[2, 3]);
    /// assert_eq!(x.argmin_indices(1), vec![1, 2]);
    /// ```
    ///
    /// # Panics
    /// If `dim` is out of range or has length 0.
    #[track_caller]
    pub fn argmin_indices(&self, dim: isize) -> Vec<usize> {
        let axis = crate::check::axis("argmin", dim, self.shape());
        assert!(
            self.shape()[axis] > 0,
            "argmin: axis {axis} of shape {:?} is empty",
            self.shape()
        );
        // Negation is exact and keeps NaN a NaN, so the first maximum of `-x` is the first
        // minimum of `x`.
        B::argmax(&B::unary(&self.storage(), crate::UnaryOp::Neg), axis)
    }

    /// Indices of the smallest values along `dim` (the first of ties, as PyTorch's `argmin`),
    /// as a tensor of index values. Not differentiable: never recorded.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f32>>::from_f64(&[1., 0., 0., 7., 3., 2.], &[2, 3]);
    /// assert_eq!(x.argmin_dim(1, false).to_vec(), vec![1.0, 2.0]);
    /// ```
    ///
    /// # Panics
    /// If `dim` is out of range or has length 0.
    #[track_caller]
    pub fn argmin_dim(&self, dim: isize, keepdim: bool) -> Self {
        let axis = crate::check::axis("argmin", dim, self.shape());
        let values: Vec<f64> = self
            .argmin_indices(dim)
            .into_iter()
            .map(|i| i as f64)
            .collect();
        Tensor::from_f64(&values, &reduced_shape(self.shape(), &[axis], keepdim))
    }

    /// Largest element, as a 0-d tensor. Tied maxima share the gradient evenly, as PyTorch's
    /// `max()`.
    ///
    /// # Panics
    /// If the tensor is empty.
    #[track_caller]
    pub fn max(&self) -> Self {
        assert!(
            self.numel() > 0,
            "max: the tensor of shape {:?} is empty",
            self.shape()
        );
        let out = B::reduce(&self.storage(), &self.all_axes(), false, ReduceOp::Max);
        Tensor::from_op("max_all", out, &[self], Attrs::None)
    }

    /// Indices of the largest values along `dim` (first of ties), one per position of the
    /// other axes in row-major order.
    #[track_caller]
    pub fn argmax_indices(&self, dim: isize) -> Vec<usize> {
        let axis = crate::check::axis("argmax", dim, self.shape());
        assert!(
            self.shape()[axis] > 0,
            "argmax: axis {axis} of shape {:?} is empty",
            self.shape()
        );
        B::argmax(&self.storage(), axis)
    }

    /// Indices of the largest values along `dim`, as a tensor of index values. Not
    /// differentiable: never recorded.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f32>>::from_f64(&[1., 5., 5., 7., 0., 2.], &[2, 3]);
    /// assert_eq!(x.argmax_dim(1, false).to_vec(), vec![1.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn argmax_dim(&self, dim: isize, keepdim: bool) -> Self {
        let axis = crate::check::axis("argmax", dim, self.shape());
        let values: Vec<f64> = self
            .argmax_indices(dim)
            .into_iter()
            .map(|i| i as f64)
            .collect();
        Tensor::from_f64(&values, &reduced_shape(self.shape(), &[axis], keepdim))
    }
}

// d/dx_i Σx = 1: the gradient is broadcast back over the reduced axes.
fn sum_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    let Attrs::Axes { axes, .. } = a.attrs else {
        unreachable!("sum records its axes")
    };
    let input_shape = a.inputs[0].shape();
    a.grad
        .reshape_to(&reduced_shape(input_shape, axes, true))
        .expand(input_shape)
}

// d/dx_i max_dim x = 1 at the argmax, 0 elsewhere.
fn max_dim_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    let Attrs::Axis { axis, .. } = *a.attrs else {
        unreachable!("max_dim records its axis")
    };
    let x = &a.inputs[0];
    let mask = Tensor::from_storage(B::argmax_mask(&x.storage(), axis));
    let grad = a.grad.reshape_to(&reduced_shape(x.shape(), &[axis], true));
    // With `create_graph` the gradient must be differentiable in `grad`: a recorded product
    // with the (constant) mask. Otherwise one pass that selects `grad` where the mask is set,
    // so that an infinite gradient gives 0, not NaN, off the argmax (as scattering it does).
    if is_grad_enabled() && a.grad.requires_grad() {
        return &grad * &mask;
    }
    Tensor::from_storage(B::binary(
        &grad.storage(),
        &mask.storage(),
        BinaryOp::ReluGrad,
    ))
}

// d/dx_i max x = [x_i = max] / #ties
fn max_all_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    let x = &a.inputs[0];
    let ties = x.eq(&a.output.detach());
    let count = ties.sum();
    a.grad * &(&ties / &count)
}

pub(crate) fn register<B: Backend>(r: &Registry<B>) {
    r.register_all("sum", &[sum_backward]);
    r.register_all("max_dim", &[max_dim_backward]);
    r.register_all("max_all", &[max_all_backward]);
}

#[cfg(test)]
mod tests {

    #[test]
    fn numel_of_reduced() {
        assert_eq!(
            crate::shape::numel(&super::reduced_shape(&[2, 3], &[0, 1], false)),
            1
        );
    }
}
