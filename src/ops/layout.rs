//! Shape and layout: reshape, permute/transpose, expand, concatenation, narrowing, stacking.

use crate::autograd::{Attrs, BackwardArgs, Registry};
use crate::backend::Backend;
use crate::shape::{broadcasts_to, numel};
use crate::tensor::Tensor;

impl<B: Backend> Tensor<B> {
    /// The same elements under a new shape with the same number of elements.
    ///
    /// # Panics
    /// If the sizes differ.
    #[track_caller]
    pub fn reshape_to(&self, shape: &[usize]) -> Self {
        assert!(
            numel(shape) == self.numel(),
            "reshape: cannot reshape {:?} ({} elements) to {:?} ({} elements)",
            self.shape(),
            self.numel(),
            shape,
            numel(shape)
        );
        if shape == self.shape() {
            return self.clone();
        }
        Tensor::from_op(
            "reshape",
            B::reshape(&self.storage(), shape),
            &[self],
            Attrs::None,
        )
    }

    /// Reshape where one dim may be `-1` (inferred), as in PyTorch.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f32>>::zeros(&[2, 3, 4]);
    /// assert_eq!(x.reshape(&[-1, 4]).shape(), &[6, 4]);
    /// ```
    ///
    /// # Panics
    /// If more than one dim is `-1`, a dim is otherwise negative, or the sizes differ.
    #[track_caller]
    pub fn reshape(&self, shape: &[isize]) -> Self {
        let inferred: Vec<usize> = shape
            .iter()
            .enumerate()
            .filter(|(_, &d)| d == -1)
            .map(|(i, _)| i)
            .collect();
        assert!(
            inferred.len() <= 1 && shape.iter().all(|&d| d >= -1),
            "reshape: invalid target shape {shape:?} for {:?} (at most one -1, no other negatives)",
            self.shape()
        );
        let known: usize = shape
            .iter()
            .filter(|&&d| d >= 0)
            .map(|&d| d as usize)
            .product();
        let mut out: Vec<usize> = shape.iter().map(|&d| d.max(0) as usize).collect();
        if let Some(&i) = inferred.first() {
            assert!(
                known > 0 && self.numel().is_multiple_of(known),
                "reshape: cannot infer -1 in {shape:?} for {:?} ({} elements)",
                self.shape(),
                self.numel()
            );
            out[i] = self.numel() / known;
        }
        self.reshape_to(&out)
    }

    /// Merges axes `start_dim..=end_dim` into one, as `torch.flatten` (negative dims count from
    /// the end; `flatten(0, -1)` makes a 1-D tensor, and a 0-D tensor becomes `[1]`).
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f32>>::zeros(&[2, 3, 4, 5]);
    /// assert_eq!(x.flatten(1, -1).shape(), &[2, 60]);
    /// assert_eq!(x.flatten(0, 1).shape(), &[6, 4, 5]);
    /// assert_eq!(x.flatten(0, -1).shape(), &[120]);
    /// ```
    ///
    /// # Panics
    /// If a dim is out of range or `start_dim` comes after `end_dim`.
    #[track_caller]
    pub fn flatten(&self, start_dim: isize, end_dim: isize) -> Self {
        if self.rank() == 0 {
            return self.reshape_to(&[1]);
        }
        let start = crate::check::axis("flatten", start_dim, self.shape());
        let end = crate::check::axis("flatten", end_dim, self.shape());
        assert!(
            start <= end,
            "flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape {:?}",
            self.shape()
        );
        let shape = self.shape();
        let mut out = shape[..start].to_vec();
        out.push(shape[start..=end].iter().product());
        out.extend(&shape[end + 1..]);
        self.reshape_to(&out)
    }

    /// Removes axis `dim` if its size is 1, as `torch.squeeze(x, dim)`; a tensor whose axis
    /// `dim` is larger is returned unchanged.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f32>>::zeros(&[2, 1, 3]);
    /// assert_eq!(x.squeeze(1).shape(), &[2, 3]);
    /// assert_eq!(x.squeeze(-1).shape(), &[2, 1, 3]);
    /// ```
    ///
    /// # Panics
    /// If `dim` is out of range.
    #[track_caller]
    pub fn squeeze(&self, dim: isize) -> Self {
        let axis = crate::check::axis("squeeze", dim, self.shape());
        if self.shape()[axis] != 1 {
            return self.clone();
        }
        let mut shape = Vec::from(self.shape());
        shape.remove(axis);
        self.reshape_to(&shape)
    }

    /// Inserts a size-1 axis at `dim` (`-1` appends; any dim from `-(rank + 1)` to `rank`),
    /// as `torch.unsqueeze`.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f32>>::zeros(&[2, 3]);
    /// assert_eq!(x.unsqueeze(0).shape(), &[1, 2, 3]);
    /// assert_eq!(x.unsqueeze(-1).shape(), &[2, 3, 1]);
    /// assert_eq!(x.unsqueeze(-3).shape(), &[1, 2, 3]);
    /// ```
    ///
    /// # Panics
    /// If `dim` is out of range.
    #[track_caller]
    pub fn unsqueeze(&self, dim: isize) -> Self {
        let mut shape = Vec::from(self.shape());
        let axis = crate::shape::resolve_axis(dim, shape.len() + 1)
            .unwrap_or_else(|| panic!("unsqueeze: dim {dim} out of range for shape {shape:?}"));
        shape.insert(axis, 1);
        self.reshape_to(&shape)
    }

    /// Reorders the axes: output axis `i` is input axis `perm[i]`.
    ///
    /// # Panics
    /// If `perm` is not a permutation of the axes.
    #[track_caller]
    pub fn permute(&self, perm: &[usize]) -> Self {
        let mut sorted = Vec::from(perm);
        sorted.sort_unstable();
        assert!(
            sorted.iter().copied().eq(0..self.rank()),
            "permute: {perm:?} is not a permutation of the axes of shape {:?}",
            self.shape()
        );
        if sorted == perm {
            return self.clone();
        }
        Tensor::from_op(
            "permute",
            B::permute(&self.storage(), perm),
            &[self],
            Attrs::Perm(Vec::from(perm)),
        )
    }

    /// Swaps two axes.
    #[track_caller]
    pub fn transpose(&self, dim0: isize, dim1: isize) -> Self {
        let a = crate::check::axis("transpose", dim0, self.shape());
        let b = crate::check::axis("transpose", dim1, self.shape());
        let mut perm: Vec<usize> = (0..self.rank()).collect();
        perm.swap(a, b);
        self.permute(&perm)
    }

    /// The transpose of a 2-D tensor.
    ///
    /// # Panics
    /// If the tensor is not 2-D.
    #[track_caller]
    pub fn t(&self) -> Self {
        assert!(
            self.rank() == 2,
            "t: expects a 2-D tensor, got shape {:?}",
            self.shape()
        );
        self.permute(&[1, 0])
    }

    /// Broadcasts to `shape` (prepends axes and repeats size-1 axes), as PyTorch's `expand`.
    ///
    /// # Panics
    /// If the shape does not broadcast to `shape`.
    #[track_caller]
    pub fn expand(&self, shape: &[usize]) -> Self {
        assert!(
            broadcasts_to(self.shape(), shape),
            "expand: shape {:?} cannot be expanded to {shape:?}",
            self.shape()
        );
        if shape == self.shape() {
            return self.clone();
        }
        Tensor::from_op(
            "expand",
            B::expand(&self.storage(), shape),
            &[self],
            Attrs::None,
        )
    }

    /// Joins tensors along an existing `dim`.
    ///
    /// # Panics
    /// If `tensors` is empty, or ranks or the sizes of the other axes differ.
    #[track_caller]
    pub fn cat(tensors: &[&Tensor<B>], dim: isize) -> Self {
        assert!(!tensors.is_empty(), "cat: no tensors to concatenate");
        let first = tensors[0].shape();
        let axis = crate::check::axis("cat", dim, first);
        for t in tensors {
            let ok = t.rank() == first.len()
                && t.shape()
                    .iter()
                    .zip(first)
                    .enumerate()
                    .all(|(i, (a, b))| i == axis || a == b);
            assert!(
                ok,
                "cat: shapes {first:?} and {:?} differ outside axis {axis}",
                t.shape()
            );
        }
        let storages: Vec<B::Storage> = tensors.iter().map(|t| t.storage()).collect();
        Tensor::from_op(
            "concat",
            B::concat(&storages, axis),
            tensors,
            Attrs::Concat { axis },
        )
    }

    /// Stacks equal-shaped tensors along a new `dim`.
    ///
    /// # Panics
    /// If `tensors` is empty or the shapes differ.
    #[track_caller]
    pub fn stack(tensors: &[&Tensor<B>], dim: isize) -> Self {
        assert!(!tensors.is_empty(), "stack: no tensors to stack");
        for t in tensors {
            crate::check::same_shape("stack", tensors[0].shape(), t.shape());
        }
        let expanded: Vec<Tensor<B>> = tensors.iter().map(|t| t.unsqueeze(dim)).collect();
        let axis =
            crate::shape::resolve_axis(dim, tensors[0].rank() + 1).expect("checked by unsqueeze");
        Tensor::cat(&expanded.iter().collect::<Vec<_>>(), axis as isize)
    }

    /// The slice `start..start + len` along `dim`.
    ///
    /// # Panics
    /// If the slice is out of bounds.
    #[track_caller]
    pub fn narrow(&self, dim: isize, start: usize, len: usize) -> Self {
        let axis = crate::check::axis("narrow", dim, self.shape());
        assert!(
            start + len <= self.shape()[axis],
            "narrow: {start}..{} is out of bounds for axis {axis} of shape {:?}",
            start + len,
            self.shape()
        );
        let out = B::narrow(&self.storage(), axis, start, len);
        Tensor::from_op("narrow", out, &[self], Attrs::Narrow { axis, start, len })
    }
}

// reshape is a bijection of positions: reshape the gradient back.
fn reshape_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    a.grad.reshape_to(a.inputs[0].shape())
}

// permute moves elements: apply the inverse permutation.
fn permute_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    let Attrs::Perm(perm) = a.attrs else {
        unreachable!("permute records its permutation")
    };
    let mut inverse = vec![0; perm.len()];
    for (i, &p) in perm.iter().enumerate() {
        inverse[p] = i;
    }
    a.grad.permute(&inverse)
}

// expand copies elements: sum the copies.
fn expand_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    a.grad.sum_to_shape(a.inputs[0].shape())
}

// Each input of a concatenation gets its own slice of the gradient.
fn concat_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    let input = a.input;
    let Attrs::Concat { axis } = *a.attrs else {
        unreachable!("concat records its axis")
    };
    let start: usize = a.inputs[..input].iter().map(|t| t.shape()[axis]).sum();
    a.grad
        .narrow(axis as isize, start, a.inputs[input].shape()[axis])
}

// narrow keeps a slice: its gradient sits between zeros.
fn narrow_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    let Attrs::Narrow { axis, start, len } = *a.attrs else {
        unreachable!("narrow records its slice")
    };
    let full = a.inputs[0].shape();
    let zeros_of = |n: usize| {
        let mut s = Vec::from(full);
        s[axis] = n;
        Tensor::zeros(&s)
    };
    let (before, after) = (zeros_of(start), zeros_of(full[axis] - start - len));
    Tensor::cat(&[&before, a.grad, &after], axis as isize)
}

pub(crate) fn register<B: Backend>(r: &Registry<B>) {
    r.register_all("reshape", &[reshape_backward]);
    r.register_all("permute", &[permute_backward]);
    r.register_all("expand", &[expand_backward]);
    r.register_variadic("concat", concat_backward);
    r.register_all("narrow", &[narrow_backward]);
}
