//! The N-d fallback machinery: walking strided views of the matrices' buffers in runs.
//!
//! Where nalgebra has no N-d kernel (N-d broadcasting, rank ≥ 3 permutations, general expands),
//! the output is produced in its own storage order (see `storage_order`; the row-major order
//! for rank ≥ 3, column-major for a matrix) while each source is
//! read through per-axis element strides (0 on broadcast axes). [`for_each_run`] drops size-1
//! axes, merges axes that are contiguous for every source, and calls back once per run along
//! the innermost remaining axis, so the per-element work is a plain loop with a fixed stride
//! (usually 1 or 0: a slice or a repeated value) and the index arithmetic is per run.
//!
//! This is the same walk as duograd's [`strided_indices`](duograd_backend::shape::strided_indices)
//! (which the tests use as the reference), without materializing one index per element.

use duograd_backend::shape::numel;
use duograd_backend::Element;

use crate::storage::{storage_order, NaTensor};

/// Calls `run(offsets, len, steps)` for every run of a row-major walk of `dims`, where source
/// `k` is read at `offsets[k] + t * steps[k]` for `t in 0..len`. Runs come in walk order and
/// their lengths add up to `numel(dims)`. `strides[k]` gives source `k`'s stride for each axis.
pub(crate) fn for_each_run<const K: usize>(
    dims: &[usize],
    strides: [&[usize]; K],
    base: [usize; K],
    mut run: impl FnMut([usize; K], usize, [usize; K]),
) {
    if numel(dims) == 0 {
        return;
    }
    // Drop size-1 axes, then merge axis pairs that are contiguous for every source.
    let mut d: Vec<usize> = Vec::with_capacity(dims.len());
    let mut s: Vec<[usize; K]> = Vec::with_capacity(dims.len());
    for (ax, &n) in dims.iter().enumerate() {
        if n == 1 {
            continue;
        }
        let st: [usize; K] = std::array::from_fn(|k| strides[k][ax]);
        if let (Some(last_n), Some(last_s)) = (d.last_mut(), s.last_mut()) {
            if (0..K).all(|k| last_s[k] == st[k] * n) {
                *last_n *= n;
                *last_s = st;
                continue;
            }
        }
        d.push(n);
        s.push(st);
    }
    let (len, steps) = match (d.pop(), s.pop()) {
        (Some(n), Some(st)) => (n, st),
        _ => (1, [0; K]),
    };
    // Odometer over the outer axes.
    let mut idx = vec![0usize; d.len()];
    let mut pos = base;
    loop {
        run(pos, len, steps);
        let mut ax = d.len();
        loop {
            if ax == 0 {
                return;
            }
            ax -= 1;
            idx[ax] += 1;
            for k in 0..K {
                pos[k] += s[ax][k];
            }
            if idx[ax] < d[ax] {
                break;
            }
            for k in 0..K {
                pos[k] -= s[ax][k] * d[ax];
            }
            idx[ax] = 0;
        }
    }
}

/// A tensor of `out_shape` whose element at multi-index `i` is
/// `src[offset + Σ i[ax]·src_strides[ax]]`, with `src` a tensor's buffer and one stride per
/// *output* axis (0 to repeat). Produced directly in the output's storage order.
pub(crate) fn gather<E: Element>(
    src: &[E],
    out_shape: &[usize],
    src_strides: &[usize],
    offset: usize,
) -> NaTensor<E> {
    let mut data = Vec::with_capacity(numel(out_shape));
    let dims = storage_order(out_shape);
    let st = storage_order(src_strides);
    for_each_run(&dims, [&st], [offset], |[o], len, [step]| match step {
        1 => data.extend_from_slice(&src[o..o + len]),
        0 => data.resize(data.len() + len, src[o]),
        _ => data.extend((0..len).map(|t| src[o + t * step])),
    });
    NaTensor::from_storage(data, out_shape)
}

/// `f(a[i], b[i])` over a row-major walk of `dims` with per-axis strides into the buffers `a`
/// and `b`, collected in walk order.
pub(crate) fn zip_strided<E: Element>(
    dims: &[usize],
    (a, sa): (&[E], &[usize]),
    (b, sb): (&[E], &[usize]),
    f: impl Fn(E, E) -> E,
) -> Vec<E> {
    let mut out = Vec::with_capacity(numel(dims));
    for_each_run(dims, [sa, sb], [0, 0], |[oa, ob], len, steps| match steps {
        [1, 1] => out.extend(
            a[oa..oa + len]
                .iter()
                .zip(&b[ob..ob + len])
                .map(|(&x, &y)| f(x, y)),
        ),
        [1, 0] => {
            let y = b[ob];
            out.extend(a[oa..oa + len].iter().map(|&x| f(x, y)));
        }
        [0, 1] => {
            let x = a[oa];
            out.extend(b[ob..ob + len].iter().map(|&y| f(x, y)));
        }
        [0, 0] => out.resize(out.len() + len, f(a[oa], b[ob])),
        [ta, tb] => out.extend((0..len).map(|t| f(a[oa + t * ta], b[ob + t * tb]))),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use duograd_backend::shape::strided_indices;

    fn offsets(dims: &[usize], strides: &[usize], base: usize) -> Vec<usize> {
        let mut v = Vec::new();
        for_each_run(dims, [strides], [base], |[o], len, [step]| {
            v.extend((0..len).map(|t| o + t * step));
        });
        v
    }

    #[test]
    fn runs_visit_the_same_offsets_as_strided_indices() {
        let cases: [(&[usize], &[usize], usize); 7] = [
            (&[2, 3, 4], &[12, 4, 1], 0),
            (&[4, 2, 3], &[1, 12, 4], 0),
            (&[2, 1, 3], &[3, 7, 1], 5),
            (&[3, 4], &[0, 1], 0),
            (&[3, 4], &[1, 0], 2),
            (&[], &[], 3),
            (&[2, 0, 3], &[0, 3, 1], 0),
        ];
        for (dims, strides, base) in cases {
            assert_eq!(
                offsets(dims, strides, base),
                strided_indices(dims, strides, base),
                "{dims:?} {strides:?}"
            );
        }
    }

    #[test]
    fn contiguous_axes_merge_into_one_run() {
        let mut runs = Vec::new();
        for_each_run(&[2, 3, 4], [&[12, 4, 1]], [0], |o, len, st| {
            runs.push((o, len, st))
        });
        assert_eq!(runs, vec![([0], 24, [1])]);
    }

    #[test]
    fn zip_strided_broadcasts() {
        // (2, 3) walk: a contiguous, b repeated along the last axis.
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [10.0, 20.0];
        let out = zip_strided(&[2, 3], (&a, &[3, 1]), (&b, &[1, 0]), |x, y| x + y);
        assert_eq!(out, vec![11.0, 12.0, 13.0, 24.0, 25.0, 26.0]);
    }
}
