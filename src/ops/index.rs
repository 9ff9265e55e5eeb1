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
        let flat = flat_indices_along(shape, axis, indices);
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

impl<B: Backend> Tensor<B> {
    /// PyTorch's `index_add(dim, index, source)`: this tensor with slice `k` of `source` along
    /// `dim` added to slice `index[k]` (repeated indices accumulate). `source` has this tensor's
    /// shape except `index.len()` along `dim`. Composed of [`Tensor::scatter_add_flat`] and
    /// `add`, whose gradients it has (this tensor's is the incoming gradient, `source`'s the
    /// incoming gradient's slices at `index`).
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// type T = Tensor<NdArray<f64>>;
    /// let x = T::zeros(&[3, 2]);
    /// let src = T::from_f64(&[1., 2., 3., 4., 5., 6.], &[3, 2]);
    /// let y = x.index_add(0, &[2, 0, 2], &src);
    /// assert_eq!(y.to_vec(), vec![3., 4., 0., 0., 6., 8.]);
    /// ```
    ///
    /// # Panics
    /// If `dim` is out of range, `source` has the wrong shape, or an index is out of range.
    #[track_caller]
    pub fn index_add(&self, dim: isize, index: &[usize], source: &Tensor<B>) -> Self {
        let shape = self.shape();
        let axis = crate::check::axis("index_add", dim, shape);
        let mut want = Vec::from(shape);
        want[axis] = index.len();
        assert!(
            source.shape() == want,
            "index_add: source of shape {:?} for a tensor of shape {shape:?} and {} indices along axis {axis} (expected {want:?})",
            source.shape(),
            index.len()
        );
        crate::check::indices_below(
            "index_add",
            index,
            shape[axis],
            &format!("axis {axis} of shape {shape:?}"),
        );
        let flat = flat_indices_along(shape, axis, index);
        let spread = source
            .reshape_to(&[source.numel()])
            .scatter_add_flat(shape, flat.into());
        self + &spread
    }

    /// PyTorch's `scatter_add(dim, index, src)`: this tensor with `src[p]` added at the position
    /// `p` with its coordinate along `dim` replaced by `index[p]`, for every position `p` of
    /// `index` (row-major, of `index_shape`); repeated targets accumulate. `index` has this
    /// tensor's rank, is no larger than `src` on any axis and no larger than this tensor off
    /// `dim`; only the part of `src` that `index` covers is read. Composed of
    /// [`Tensor::take_flat`], [`Tensor::scatter_add_flat`] and `add`, whose gradients it has.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// type T = Tensor<NdArray<f64>>;
    /// let x = T::zeros(&[2, 3]);
    /// let src = T::from_f64(&[1., 2., 3., 4.], &[2, 2]);
    /// // row 0: src[0][0] → column 2, src[0][1] → column 2; row 1: → columns 0 and 1
    /// let y = x.scatter_add(1, &[2, 2, 0, 1], &[2, 2], &src);
    /// assert_eq!(y.to_vec(), vec![0., 0., 3., 3., 4., 0.]);
    /// ```
    ///
    /// # Panics
    /// If `dim` is out of range, the index shape does not fit this tensor or `src`, or an index
    /// is out of range.
    #[track_caller]
    pub fn scatter_add(
        &self,
        dim: isize,
        index: &[usize],
        index_shape: &[usize],
        src: &Tensor<B>,
    ) -> Self {
        let shape = self.shape();
        let axis = crate::check::axis("scatter_add", dim, shape);
        let fits = index_shape.len() == shape.len()
            && src.rank() == shape.len()
            && index_shape
                .iter()
                .enumerate()
                .all(|(i, &d)| d <= src.shape()[i] && (i == axis || d <= shape[i]));
        assert!(
            fits && numel(index_shape) == index.len(),
            "scatter_add: index of shape {index_shape:?} ({} values) does not fit a tensor of shape {shape:?} and a source of shape {:?} along axis {axis}",
            index.len(),
            src.shape()
        );
        crate::check::indices_below(
            "scatter_add",
            index,
            shape[axis],
            &format!("axis {axis} of shape {shape:?}"),
        );
        let (dst_st, src_st, ist) = (strides(shape), strides(src.shape()), strides(index_shape));
        let coordinate = |p: usize, ax: usize| (p / ist[ax]) % index_shape[ax];
        let target: Vec<usize> = index
            .iter()
            .enumerate()
            .map(|(p, &i)| {
                (0..shape.len())
                    .map(|ax| if ax == axis { i } else { coordinate(p, ax) } * dst_st[ax])
                    .sum()
            })
            .collect();
        let values = if src.shape() == index_shape {
            src.reshape_to(&[src.numel()])
        } else {
            let read: Vec<usize> = (0..index.len())
                .map(|p| {
                    (0..shape.len())
                        .map(|ax| coordinate(p, ax) * src_st[ax])
                        .sum()
                })
                .collect();
            src.take_flat(read.into())
        };
        self + &values.scatter_add_flat(shape, target.into())
    }

    /// One-hot rows, as `F.one_hot(indices, num_classes)` (with this library's element type):
    /// `[indices.len(), num_classes]`, row `k` all 0 but a 1 at column `indices[k]`. Not
    /// recorded.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let y = Tensor::<NdArray<f64>>::one_hot(&[2, 0], 3);
    /// assert_eq!(y.to_vec(), vec![0., 0., 1., 1., 0., 0.]);
    /// ```
    ///
    /// # Panics
    /// If an index is not below `num_classes`.
    #[track_caller]
    pub fn one_hot(indices: &[usize], num_classes: usize) -> Self {
        crate::check::indices_below("one_hot", indices, num_classes, "num_classes");
        let mut data = vec![0.0; indices.len() * num_classes];
        for (row, &i) in indices.iter().enumerate() {
            data[row * num_classes + i] = 1.0;
        }
        Tensor::from_f64(&data, &[indices.len(), num_classes])
    }
}

/// The row-major flat indices, in a tensor of `shape`, of the slices at `indices` along `axis`,
/// in that order: what `index_select` takes and `index_add` adds to.
fn flat_indices_along(shape: &[usize], axis: usize, indices: &[usize]) -> Vec<usize> {
    let outer = numel(&shape[..axis]);
    let inner = numel(&shape[axis + 1..]);
    let n = shape[axis];
    (0..outer)
        .flat_map(|o| {
            indices
                .iter()
                .flat_map(move |&i| (0..inner).map(move |j| (o * n + i) * inner + j))
        })
        .collect()
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
