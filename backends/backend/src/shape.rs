//! Shape arithmetic shared by the core and the backends: sizes, strides, broadcasting, and the
//! two layouts of a matrix.

/// How a 2-D array is laid out in its buffer: the layout of a backend's own matrices
/// ([`crate::Backend::layout_2d`]), of a matrix product's output and of the mini-batches
/// duograd's data loader gathers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Rows one after another (ndarray's standard layout): element `(i, j)` of an `m×n`
    /// matrix at `i * n + j`.
    RowMajor,
    /// Columns one after another (nalgebra's layout): element `(i, j)` at `j * m + i`.
    ColMajor,
}

/// Number of elements of an array of `shape` (1 for a scalar).
///
/// ```
/// assert_eq!(duograd_backend::shape::numel(&[2, 3, 4]), 24);
/// assert_eq!(duograd_backend::shape::numel(&[]), 1);
/// ```
#[inline]
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Row-major strides, in elements.
///
/// ```
/// assert_eq!(duograd_backend::shape::strides(&[2, 3, 4]), vec![12, 4, 1]);
/// ```
#[inline]
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// The NumPy/PyTorch broadcast of two shapes, or `None` if they are incompatible.
///
/// ```
/// use duograd_backend::shape::broadcast_shapes;
/// assert_eq!(broadcast_shapes(&[3, 1], &[4]), Some(vec![3, 4]));
/// assert_eq!(broadcast_shapes(&[3], &[4]), None);
/// ```
#[inline]
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n {
            a[i + a.len() - n]
        } else {
            1
        };
        let db = if i + b.len() >= n {
            b[i + b.len() - n]
        } else {
            1
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// Whether `from` broadcasts to exactly `to`.
#[inline]
pub fn broadcasts_to(from: &[usize], to: &[usize]) -> bool {
    from.len() <= to.len() && broadcast_shapes(from, to).as_deref() == Some(to)
}

/// The axes of `to` that a broadcast from `from` created or stretched: the prepended axes and the
/// axes where `from` has size 1 but `to` does not. Summing a gradient over these axes (and
/// reshaping to `from`) undoes the broadcast.
///
/// ```
/// assert_eq!(duograd_backend::shape::broadcast_axes(&[3, 1], &[2, 3, 4]), vec![0, 2]);
/// ```
#[inline]
pub fn broadcast_axes(from: &[usize], to: &[usize]) -> Vec<usize> {
    let lead = to.len() - from.len();
    (0..to.len())
        .filter(|&i| i < lead || (from[i - lead] == 1 && to[i] != 1))
        .collect()
}

/// The shape left after reducing `axes` (sorted, distinct), keeping them as 1 when `keepdim`.
///
/// ```
/// use duograd_backend::shape::reduced_shape;
/// assert_eq!(reduced_shape(&[2, 3, 4], &[1], true), vec![2, 1, 4]);
/// assert_eq!(reduced_shape(&[2, 3, 4], &[0, 2], false), vec![3]);
/// ```
#[inline]
pub fn reduced_shape(shape: &[usize], axes: &[usize], keepdim: bool) -> Vec<usize> {
    shape
        .iter()
        .enumerate()
        .filter_map(|(i, &d)| match (axes.contains(&i), keepdim) {
            (false, _) => Some(d),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect()
}

/// For every element of a row-major array of shape `to`, the flat row-major index of the element
/// of an array of shape `from` that broadcasting maps onto it. The N-d fallback for backends
/// without a native broadcast.
///
/// ```
/// assert_eq!(duograd_backend::shape::broadcast_source_indices(&[2, 1], &[2, 3]), vec![0, 0, 0, 1, 1, 1]);
/// ```
pub fn broadcast_source_indices(from: &[usize], to: &[usize]) -> Vec<usize> {
    let lead = to.len() - from.len();
    let from_strides = strides(from);
    // Stride 0 on broadcast axes: moving along them does not move in the source.
    let eff: Vec<usize> = (0..to.len())
        .map(|i| {
            if i < lead || from[i - lead] == 1 {
                0
            } else {
                from_strides[i - lead]
            }
        })
        .collect();
    strided_indices(to, &eff, 0)
}

/// The flat offsets visited by walking `shape` in row-major order with the given element
/// `strides` from `offset`. Used for permutations, slices and broadcasts on flat buffers.
///
/// ```
/// // The transpose of a row-major 2×3 array.
/// assert_eq!(duograd_backend::shape::strided_indices(&[3, 2], &[1, 3], 0), vec![0, 3, 1, 4, 2, 5]);
/// ```
pub fn strided_indices(shape: &[usize], strides: &[usize], offset: usize) -> Vec<usize> {
    let n = numel(shape);
    let mut out = Vec::with_capacity(n);
    if n == 0 {
        return out;
    }
    let rank = shape.len();
    let mut idx = vec![0usize; rank];
    let mut pos = offset;
    for _ in 0..n {
        out.push(pos);
        // Odometer increment, last axis fastest.
        for ax in (0..rank).rev() {
            idx[ax] += 1;
            pos += strides[ax];
            if idx[ax] < shape[ax] {
                break;
            }
            pos -= strides[ax] * shape[ax];
            idx[ax] = 0;
        }
    }
    out
}

/// Resolves a possibly negative axis (`-1` is the last) against `rank`, or `None` if out of range.
#[inline]
pub fn resolve_axis(axis: isize, rank: usize) -> Option<usize> {
    let r = rank as isize;
    let a = if axis < 0 { axis + r } else { axis };
    (0..r).contains(&a).then_some(a as usize)
}

/// Flat row-major indices, in an array of `shape`, of the positions `along[p]` on `axis` for
/// each position `p` (row-major) of the other axes: where an argmax along `axis` points.
///
/// ```
/// // shape (2, 3, 2): the chosen index along the middle axis for each (outer, inner) pair.
/// let idx = duograd_backend::shape::flat_indices_along(&[2, 3, 2], 1, &[0, 2, 1, 1]);
/// assert_eq!(idx, vec![0, 5, 8, 9]);
/// ```
pub fn flat_indices_along(shape: &[usize], axis: usize, along: &[usize]) -> Vec<usize> {
    let inner: usize = shape[axis + 1..].iter().product();
    let n = shape[axis];
    along
        .iter()
        .enumerate()
        .map(|(p, &i)| ((p / inner) * n + i) * inner + p % inner)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_of_scalar_and_matrix() {
        assert_eq!(broadcast_shapes(&[], &[2, 3]), Some(vec![2, 3]));
        assert_eq!(broadcast_axes(&[], &[2, 3]), vec![0, 1]);
        assert_eq!(broadcast_source_indices(&[], &[2, 2]), vec![0; 4]);
    }

    #[test]
    fn permuted_walk_matches_manual_transpose() {
        // 2x3x4 array permuted to (2, 0, 1): strides of the source re-ordered.
        let s = strides(&[2, 3, 4]);
        let idx = strided_indices(&[4, 2, 3], &[s[2], s[0], s[1]], 0);
        assert_eq!(&idx[..4], &[0, 4, 8, 12]);
        assert_eq!(idx.len(), 24);
    }

    #[test]
    fn resolve_axis_handles_negatives() {
        assert_eq!(resolve_axis(-1, 3), Some(2));
        assert_eq!(resolve_axis(3, 3), None);
        assert_eq!(resolve_axis(-4, 3), None);
    }
}
