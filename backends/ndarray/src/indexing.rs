//! Flat row-major indexing: `take` (gather) and `scatter_add`.

use duograd_backend::shape::numel;
use duograd_backend::Element;
use ndarray::{ArcArray, IxDyn};

use crate::Storage;

/// The elements at flat row-major `indices`, as a 1-D array.
pub(crate) fn take<E: Element>(x: &Storage<E>, indices: &[usize]) -> Storage<E> {
    // A view when `x` is already row-major; one copy into row-major order otherwise.
    let standard = x.as_standard_layout();
    let data = standard.as_slice().expect("standard layout");
    let out: Vec<E> = indices
        .iter()
        .map(|&i| match data.get(i) {
            Some(&v) => v,
            None => panic!("take: index {i} out of range for {} elements", data.len()),
        })
        .collect();
    ArcArray::from_vec(out).into_dyn()
}

/// A zero array of `shape` with the elements of `src` (read in row-major order) added at flat
/// `indices`; repeated indices accumulate.
pub(crate) fn scatter_add<E: Element>(
    shape: &[usize],
    indices: &[usize],
    src: &Storage<E>,
) -> Storage<E> {
    assert_eq!(
        src.len(),
        indices.len(),
        "scatter_add: {} source elements for {} indices",
        src.len(),
        indices.len()
    );
    let n = numel(shape);
    // A recycled buffer: a large zeroed one would otherwise be fresh pages, faulted in one by one.
    let mut out = duograd_cpu::buffers::take::<E>(n);
    out.resize(n, E::zero());
    let mut add = |i: usize, v: E| match out.get_mut(i) {
        Some(o) => *o += v,
        None => panic!("scatter_add: index {i} out of range for {n} elements"),
    };
    match src.as_slice() {
        Some(s) => indices.iter().zip(s).for_each(|(&i, &v)| add(i, v)),
        None => indices
            .iter()
            .zip(src.iter())
            .for_each(|(&i, &v)| add(i, v)),
    }
    ArcArray::from_shape_vec(IxDyn(shape), out).expect("length matches shape")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{from_vec, permute, to_vec};

    #[test]
    fn take_gathers_by_flat_index_with_repeats() {
        let x = from_vec(vec![10.0, 11.0, 12.0, 13.0, 14.0, 15.0], &[2, 3]);
        let t = take(&x, &[5, 0, 5, 3]);
        assert_eq!(t.shape(), &[4]);
        assert_eq!(to_vec(&t), vec![15.0, 10.0, 15.0, 13.0]);
        assert_eq!(take(&x, &[]).shape(), &[0]);
    }

    #[test]
    fn take_uses_row_major_indices_of_a_permuted_array() {
        // The transpose of [[10, 11, 12], [13, 14, 15]] is [[10, 13], [11, 14], [12, 15]].
        let x = from_vec(vec![10.0, 11.0, 12.0, 13.0, 14.0, 15.0], &[2, 3]);
        let t = permute(&x, &[1, 0]);
        assert_eq!(to_vec(&take(&t, &[1, 2, 5])), vec![13.0, 11.0, 15.0]);
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn take_out_of_range_panics() {
        take(&from_vec(vec![1.0f64, 2.0], &[2]), &[2]);
    }

    #[test]
    fn scatter_add_accumulates_repeated_indices() {
        let src = from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0], &[5]);
        let s = scatter_add(&[2, 3], &[4, 0, 4, 1, 4], &src);
        assert_eq!(s.shape(), &[2, 3]);
        // Index 4 gets 1 + 3 + 5 = 9, index 0 gets 2, index 1 gets 4.
        assert_eq!(to_vec(&s), vec![2.0, 4.0, 0.0, 0.0, 9.0, 0.0]);
        let empty = scatter_add(&[3], &[], &from_vec(Vec::<f32>::new(), &[0]));
        assert_eq!(to_vec(&empty), vec![0.0; 3]);
    }

    #[test]
    fn scatter_add_undoes_take() {
        let x = from_vec((0..6).map(f64::from).collect(), &[3, 2]);
        let idx = [1, 1, 4];
        let g = scatter_add(&[3, 2], &idx, &take(&x, &idx));
        assert_eq!(to_vec(&g), vec![0.0, 2.0, 0.0, 0.0, 4.0, 0.0]);
    }

    #[test]
    fn scatter_add_reads_a_strided_source_in_order() {
        // Row 0 of the transpose of [[1, 2], [3, 4]] is [1, 3], not contiguous.
        let t = permute(&from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]), &[1, 0]);
        let col = crate::layout::narrow(&t, 0, 0, 1);
        let flat = crate::layout::reshape(&col, &[2]);
        let s = scatter_add(&[2], &[1, 0], &flat);
        assert_eq!(to_vec(&s), vec![3.0, 1.0]);
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn scatter_add_out_of_range_panics() {
        scatter_add(&[2], &[2], &from_vec(vec![1.0f64], &[1]));
    }
}
