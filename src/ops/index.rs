//! Integer-array indexing: gathering elements by index and its adjoint, scatter-add.
//!
//! Two primitives, `take` and `scatter_add`, are each other's gradient; `index`, `index_select`
//! and `gather` compute flat indices and are built on them.

use std::sync::Arc;

use crate::autograd::{Attrs, BackwardArgs, Registry};
use crate::backend::Backend;
use crate::shape::{numel, strides};
use crate::tensor::Tensor;

impl<B: Backend> Tensor<B> {
    /// The elements at flat row-major `indices`, as a 1-D tensor (repeats allowed).
    ///
    /// # Panics
    /// If an index is out of range.
    #[track_caller]
    pub fn take_flat(&self, indices: Arc<[usize]>) -> Self {
        crate::check::indices_below(
            "take",
            &indices,
            self.numel(),
            "a tensor of that many elements",
        );
        let out = B::take(&self.storage(), &indices);
        let attrs = Attrs::Indices {
            indices,
            shape: Vec::from(self.shape()),
        };
        Tensor::from_op("take", out, &[self], attrs)
    }

    /// A zero tensor of `shape` with this 1-D tensor's elements added at flat `indices`;
    /// repeated indices accumulate.
    ///
    /// # Panics
    /// If `self` is not 1-D with one element per index, or an index is out of range.
    #[track_caller]
    pub fn scatter_add_flat(&self, shape: &[usize], indices: Arc<[usize]>) -> Self {
        assert!(
            self.shape() == [indices.len()],
            "scatter_add: source of shape {:?} for {} indices",
            self.shape(),
            indices.len()
        );
        crate::check::indices_below("scatter_add", &indices, numel(shape), "the target");
        let out = B::scatter_add(shape, &indices, &self.storage());
        let attrs = Attrs::Indices {
            indices,
            shape: Vec::from(shape),
        };
        Tensor::from_op("scatter_add", out, &[self], attrs)
    }

    /// Integer-array indexing, PyTorch's `x[rows, cols]`: one index array per leading axis,
    /// all of the same length `n`; returns shape `[n, remaining axes…]`. Repeated coordinates
    /// are allowed, and their gradients add up.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[0., 1., 2., 3., 4., 5.], &[2, 3]);
    /// let picked = x.index(&[&[1, 0, 1], &[2, 0, 2]]);
    /// assert_eq!(picked.to_vec(), vec![5.0, 0.0, 5.0]);
    /// ```
    ///
    /// # Panics
    /// If there are more index arrays than axes, their lengths differ, or an index is out of
    /// range for its axis.
    #[track_caller]
    pub fn index(&self, index_arrays: &[&[usize]]) -> Self {
        let shape = self.shape();
        let k = index_arrays.len();
        assert!(
            k >= 1 && k <= shape.len(),
            "index: {k} index arrays for a tensor of shape {shape:?}"
        );
        let n = index_arrays[0].len();
        for (axis, idx) in index_arrays.iter().enumerate() {
            assert!(
                idx.len() == n,
                "index: index arrays have lengths {n} and {}",
                idx.len()
            );
            crate::check::indices_below(
                "index",
                idx,
                shape[axis],
                &format!("axis {axis} of shape {shape:?}"),
            );
        }
        let st = strides(shape);
        let rest = numel(&shape[k..]);
        let flat: Vec<usize> = (0..n)
            .flat_map(|p| {
                let base: usize = index_arrays
                    .iter()
                    .zip(&st)
                    .map(|(idx, s)| idx[p] * s)
                    .sum();
                base..base + rest
            })
            .collect();
        let mut out_shape = vec![n];
        out_shape.extend_from_slice(&shape[k..]);
        self.take_flat(flat.into()).reshape_to(&out_shape)
    }

    /// The slices at `indices` along `dim`, in that order (repeats allowed), as PyTorch's
    /// `index_select`.
    ///
    /// # Panics
    /// If `dim` or an index is out of range.
    #[track_caller]
    pub fn index_select(&self, dim: isize, indices: &[usize]) -> Self {
        let shape = self.shape();
        let axis = crate::check::axis("index_select", dim, shape);
        crate::check::indices_below(
            "index_select",
            indices,
            shape[axis],
            &format!("axis {axis} of shape {shape:?}"),
        );
        let outer = numel(&shape[..axis]);
        let inner = numel(&shape[axis + 1..]);
        let n = shape[axis];
        let flat: Vec<usize> = (0..outer)
            .flat_map(|o| {
                indices
                    .iter()
                    .flat_map(move |&i| (0..inner).map(move |j| (o * n + i) * inner + j))
            })
            .collect();
        let mut out_shape = Vec::from(shape);
        out_shape[axis] = indices.len();
        self.take_flat(flat.into()).reshape_to(&out_shape)
    }

    /// PyTorch's `gather(dim, index)`: `out[..., j, ...] = x[..., index[..., j, ...], ...]` along
    /// `dim`, where `index` (row-major, of `index_shape`) has this tensor's rank and is no larger
    /// than it on the other axes.
    ///
    /// # Panics
    /// If the index shape does not fit or an index is out of range.
    #[track_caller]
    pub fn gather(&self, dim: isize, index: &[usize], index_shape: &[usize]) -> Self {
        let shape = self.shape();
        let axis = crate::check::axis("gather", dim, shape);
        let fits = index_shape.len() == shape.len()
            && index_shape
                .iter()
                .zip(shape)
                .enumerate()
                .all(|(i, (a, b))| i == axis || a <= b);
        assert!(
            fits && numel(index_shape) == index.len(),
            "gather: index of shape {index_shape:?} ({} values) does not fit a tensor of shape {shape:?} along axis {axis}",
            index.len()
        );
        crate::check::indices_below(
            "gather",
            index,
            shape[axis],
            &format!("axis {axis} of shape {shape:?}"),
        );
        let src = strides(shape);
        let ist = strides(index_shape);
        let flat: Vec<usize> = index
            .iter()
            .enumerate()
            .map(|(p, &i)| {
                (0..shape.len())
                    .map(|ax| {
                        if ax == axis {
                            i * src[ax]
                        } else {
                            (p / ist[ax]) % index_shape[ax] * src[ax]
                        }
                    })
                    .sum()
            })
            .collect();
        self.take_flat(flat.into()).reshape_to(index_shape)
    }
}

fn indices_of(attrs: &Attrs) -> (&Arc<[usize]>, &[usize]) {
    match attrs {
        Attrs::Indices { indices, shape } => (indices, shape),
        _ => unreachable!("take and scatter_add record their indices"),
    }
}

// take copies x[i] to out[k]: gradients of repeated indices add up (scatter-add, not write).
fn take_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    let (indices, shape) = indices_of(a.attrs);
    a.grad.scatter_add_flat(shape, Arc::clone(indices))
}

// scatter_add adds src[k] into out[i]: each source element's gradient is out's at i.
fn scatter_add_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    let (indices, _) = indices_of(a.attrs);
    a.grad.take_flat(Arc::clone(indices))
}

pub(crate) fn register<B: Backend>(r: &Registry<B>) {
    r.register_all("take", &[take_backward]);
    r.register_all("scatter_add", &[scatter_add_backward]);
}
