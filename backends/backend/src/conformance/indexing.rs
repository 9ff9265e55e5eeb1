//! Flat row-major indexing: `take` and `scatter_add`. All exact (the scattered values are
//! small integers and halves, whose sums are exact in any order).

use crate::Backend;

use super::reference;
use super::support::{assert_exact, mixed, numel, read, store, ties, who, Lcg};
use super::views::{view, views, Kind};

/// Index lists for an array of `n` elements: empty, one, every index in order and reversed,
/// repeats, and a long random list.
fn index_lists(n: usize, seed: u64) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![Vec::new()];
    }
    let mut g = Lcg::new(seed);
    vec![
        Vec::new(),
        vec![n - 1],
        (0..n).collect(),
        (0..n).rev().collect(),
        vec![0, 0, n - 1, 0, n / 2, n / 2],
        (0..3 * n + 7).map(|_| g.below(n)).collect(),
    ]
}

/// `take` gathers by flat row-major index (repeats allowed) into a 1-D array, from every kind
/// of view of arrays of ranks 0 to 4.
pub fn take_gathers_by_row_major_index<B: Backend>() {
    let shapes: [&[usize]; 9] = [
        &[],
        &[1],
        &[7],
        &[2, 3],
        &[17, 33],
        &[2, 3, 4],
        &[2, 3, 4, 5],
        &[0, 3],
        &[70, 65],
    ];
    for (seed, shape) in shapes.iter().enumerate() {
        let data = mixed::<B::Elem>(numel(shape), 3000 + seed as u64);
        for v in views::<B>(&data, shape) {
            for indices in index_lists(numel(shape), seed as u64) {
                let want: Vec<f64> = indices.iter().map(|&i| v.data[i]).collect();
                let y = B::take(&v.x, &indices);
                assert_exact::<B>(
                    &y,
                    &[indices.len()],
                    &want,
                    format_args!("take of {} {shape:?} at {} indices", v.kind, indices.len()),
                );
            }
            assert_exact::<B>(&v.x, shape, &v.data, "input after take");
        }
    }
}

/// `scatter_add` adds each value of 1-D `src` into a zero array at its flat row-major index,
/// repeated indices accumulating; `src` may be a view (narrowed, or the flattening of a
/// transposed array).
pub fn scatter_add_accumulates<B: Backend>() {
    let shapes: [&[usize]; 8] = [
        &[],
        &[1],
        &[7],
        &[2, 3],
        &[17, 33],
        &[2, 3, 4, 5],
        &[0, 3],
        &[64, 10],
    ];
    for (seed, shape) in shapes.iter().enumerate() {
        let n = numel(shape);
        for indices in index_lists(n, 100 + seed as u64) {
            let k = indices.len();
            let src: Vec<f64> = ties(k, 3100 + seed as u64)
                .iter()
                .map(|v| v * 0.5)
                .collect();
            let mut want = vec![0.0; n];
            for (&i, &s) in indices.iter().zip(&src) {
                want[i] += s;
            }
            let what = format!("scatter_add into {shape:?} of {k} values");
            for kind in [Kind::Contiguous, Kind::Offset, Kind::Padded] {
                let v = view::<B>(kind, &src, &[k]).expect("1-D view");
                let y = B::scatter_add(shape, &indices, &v.x);
                assert_exact::<B>(&y, shape, &want, format_args!("{what} ({kind} src)"));
            }
            // `src` as the flattening of a transposed [2, k/2] array.
            if k % 2 == 0 && k > 0 {
                let t = view::<B>(
                    Kind::Transposed,
                    &reference::permute(&src, &[k / 2, 2], &[1, 0]),
                    &[2, k / 2],
                )
                .expect("2-D view");
                let flat = B::reshape(&B::permute(&t.x, &[1, 0]), &[k]);
                assert_eq!(
                    read::<B>(&flat),
                    src,
                    "{}: src made by permute and reshape",
                    who::<B>()
                );
                let y = B::scatter_add(shape, &indices, &flat);
                assert_exact::<B>(&y, shape, &want, format_args!("{what} (permuted src)"));
            }
        }
    }
}

/// `take` and `scatter_add` are adjoint: `⟨take(x, idx), s⟩ = ⟨x, scatter_add(idx, s)⟩` (exact
/// on small integers), and scattering then taking at distinct indices returns the values.
pub fn take_and_scatter_add_are_adjoint<B: Backend>() {
    let shape = [3, 4];
    let x = ties(12, 3200);
    let idx = [11, 0, 5, 5, 7, 2];
    let s = ties(6, 3201);
    let lhs: f64 = read::<B>(&B::take(&store::<B>(&x, &shape), &idx))
        .iter()
        .zip(&s)
        .map(|(a, b)| a * b)
        .sum();
    let rhs: f64 = x
        .iter()
        .zip(read::<B>(&B::scatter_add(
            &shape,
            &idx,
            &store::<B>(&s, &[6]),
        )))
        .map(|(a, b)| a * b)
        .sum();
    assert_eq!(
        lhs,
        rhs,
        "{}: ⟨take(x, idx), s⟩ vs ⟨x, scatter_add(idx, s)⟩",
        who::<B>()
    );
    let distinct = [9, 3, 0, 11];
    let vals = ties(4, 3202);
    let scattered = B::scatter_add(&shape, &distinct, &store::<B>(&vals, &[4]));
    assert_exact::<B>(
        &B::take(&scattered, &distinct),
        &[4],
        &vals,
        "take after scatter_add at distinct indices",
    );
}
