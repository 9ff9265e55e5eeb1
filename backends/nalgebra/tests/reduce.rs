//! Reductions and argmax, with hand-computed expectations.

use duograd_backend::{Backend, ReduceOp};
#[allow(unused_imports)]
use duograd_cpu::{BinaryKernel, ReduceKernel, UnaryKernel};
use duograd_nalgebra::Nalgebra;

type B = Nalgebra<f64>;
type S = <B as Backend>::Storage;

fn t(data: &[f64], shape: &[usize]) -> S {
    B::from_vec(data.to_vec(), shape)
}

fn range(n: usize) -> Vec<f64> {
    (0..n).map(|i| i as f64).collect()
}

fn check(x: &S, axes: &[usize], keepdim: bool, op: ReduceOp, shape: &[usize], data: &[f64]) {
    let y = B::reduce(x, axes, keepdim, op);
    assert_eq!(
        B::shape(&y),
        shape,
        "axes {axes:?} keepdim {keepdim} {op:?}"
    );
    assert_eq!(
        B::to_vec(&y),
        data,
        "axes {axes:?} keepdim {keepdim} {op:?}"
    );
}

#[test]
fn two_d_sums_over_each_axis() {
    // [[0, 1, 2], [3, 4, 5]]
    let x = t(&range(6), &[2, 3]);
    check(&x, &[0], false, ReduceOp::Sum, &[3], &[3.0, 5.0, 7.0]);
    check(&x, &[0], true, ReduceOp::Sum, &[1, 3], &[3.0, 5.0, 7.0]);
    check(&x, &[1], false, ReduceOp::Sum, &[2], &[3.0, 12.0]);
    check(&x, &[1], true, ReduceOp::Sum, &[2, 1], &[3.0, 12.0]);
    check(&x, &[0, 1], false, ReduceOp::Sum, &[], &[15.0]);
    check(&x, &[0, 1], true, ReduceOp::Sum, &[1, 1], &[15.0]);
}

#[test]
fn two_d_max_and_min() {
    // [[3, -1, 2], [0, 5, -4]]
    let x = t(&[3.0, -1.0, 2.0, 0.0, 5.0, -4.0], &[2, 3]);
    check(&x, &[0], false, ReduceOp::Max, &[3], &[3.0, 5.0, 2.0]);
    check(&x, &[1], false, ReduceOp::Max, &[2], &[3.0, 5.0]);
    check(&x, &[0], true, ReduceOp::Min, &[1, 3], &[0.0, -1.0, -4.0]);
    check(&x, &[1], true, ReduceOp::Min, &[2, 1], &[-1.0, -4.0]);
    check(&x, &[0, 1], false, ReduceOp::Max, &[], &[5.0]);
    check(&x, &[0, 1], false, ReduceOp::Min, &[], &[-4.0]);
}

#[test]
fn three_d_reductions() {
    // x[i][j][k] = 12i + 4j + k
    let x = t(&range(24), &[2, 3, 4]);
    // over axis 0: 12i summed → (j, k): (4j + k)·2 + 12
    let over0: Vec<f64> = (0..12).map(|r| 2.0 * r as f64 + 12.0).collect();
    check(&x, &[0], false, ReduceOp::Sum, &[3, 4], &over0);
    check(&x, &[0], true, ReduceOp::Sum, &[1, 3, 4], &over0);
    // over axis 1: (i, k): 3·(12i + k) + 4·(0 + 1 + 2)
    let over1: Vec<f64> = (0..8)
        .map(|r| 3.0 * (12 * (r / 4) + r % 4) as f64 + 12.0)
        .collect();
    check(&x, &[1], false, ReduceOp::Sum, &[2, 4], &over1);
    // over axis 2: (i, j): 4·(12i + 4j) + 6
    let over2: Vec<f64> = (0..6).map(|r| 16.0 * r as f64 + 6.0).collect();
    check(&x, &[2], false, ReduceOp::Sum, &[2, 3], &over2);
    check(&x, &[2], true, ReduceOp::Sum, &[2, 3, 1], &over2);
    // over {0, 2}: j: Σ_i Σ_k (12i + 4j + k) = 4·12 + 8·4j + 2·6
    check(
        &x,
        &[0, 2],
        false,
        ReduceOp::Sum,
        &[3],
        &[60.0, 92.0, 124.0],
    );
    check(
        &x,
        &[0, 2],
        true,
        ReduceOp::Sum,
        &[1, 3, 1],
        &[60.0, 92.0, 124.0],
    );
    check(&x, &[0, 2], false, ReduceOp::Max, &[3], &[15.0, 19.0, 23.0]);
    check(&x, &[0, 2], false, ReduceOp::Min, &[3], &[0.0, 4.0, 8.0]);
    // over {1, 2}, {0, 1}
    check(&x, &[1, 2], false, ReduceOp::Max, &[2], &[11.0, 23.0]);
    check(
        &x,
        &[0, 1],
        false,
        ReduceOp::Min,
        &[4],
        &[0.0, 1.0, 2.0, 3.0],
    );
    // all axes
    check(&x, &[0, 1, 2], false, ReduceOp::Sum, &[], &[276.0]);
    check(&x, &[0, 1, 2], true, ReduceOp::Max, &[1, 1, 1], &[23.0]);
}

#[test]
fn reduce_over_no_axes_is_identity() {
    let x = t(&range(6), &[2, 3]);
    check(&x, &[], false, ReduceOp::Sum, &[2, 3], &range(6));
    check(&x, &[], true, ReduceOp::Max, &[2, 3], &range(6));
}

#[test]
fn reduce_rank_0_and_1() {
    let s = t(&[4.0], &[]);
    check(&s, &[], false, ReduceOp::Sum, &[], &[4.0]);
    let v = t(&[1.0, -2.0, 5.0], &[3]);
    check(&v, &[0], false, ReduceOp::Sum, &[], &[4.0]);
    check(&v, &[0], true, ReduceOp::Max, &[1], &[5.0]);
    check(&v, &[0], false, ReduceOp::Min, &[], &[-2.0]);
}

#[test]
fn max_and_min_propagate_nan() {
    let nan = f64::NAN;
    let x = t(&[1.0, nan, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    for op in [ReduceOp::Max, ReduceOp::Min] {
        let cols = B::to_vec(&B::reduce(&x, &[0], false, op));
        assert!(
            !cols[0].is_nan() && cols[1].is_nan() && !cols[2].is_nan(),
            "{op:?}"
        );
        let rows = B::to_vec(&B::reduce(&x, &[1], false, op));
        assert!(rows[0].is_nan() && !rows[1].is_nan(), "{op:?}");
        assert!(B::to_vec(&B::reduce(&x, &[0, 1], false, op))[0].is_nan());
    }
    assert_eq!(
        B::to_vec(&B::reduce(&x, &[1], false, ReduceOp::Max))[1],
        6.0
    );
    // NaN in the first position of a 3-D fallback reduction.
    let y = t(&[nan, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], &[2, 2, 2]);
    let r = B::to_vec(&B::reduce(&y, &[0, 2], false, ReduceOp::Max));
    assert!(r[0].is_nan());
    assert_eq!(r[1], 7.0);
}

#[test]
fn reduce_over_empty_axis_gives_the_identity() {
    let x = B::full(&[0, 3], 1.0);
    check(&x, &[0], false, ReduceOp::Sum, &[3], &[0.0, 0.0, 0.0]);
    let m = B::to_vec(&B::reduce(&x, &[0], false, ReduceOp::Max));
    assert_eq!(m, vec![f64::NEG_INFINITY; 3]);
    check(&x, &[1], false, ReduceOp::Sum, &[0], &[]);
}

#[test]
fn argmax_ties_go_to_the_first() {
    // [[1, 3, 3], [2, 2, 0]]
    let x = t(&[1.0, 3.0, 3.0, 2.0, 2.0, 0.0], &[2, 3]);
    assert_eq!(B::argmax(&x, 1), vec![1, 0]);
    assert_eq!(B::argmax(&x, 0), vec![1, 0, 0]);
    let all_equal = t(&[7.0; 4], &[4]);
    assert_eq!(B::argmax(&all_equal, 0), vec![0]);
}

#[test]
fn argmax_treats_nan_as_the_maximum() {
    let nan = f64::NAN;
    // [[1, nan, 5, nan], [nan, 0, 0, 9]]
    let x = t(&[1.0, nan, 5.0, nan, nan, 0.0, 0.0, 9.0], &[2, 4]);
    assert_eq!(B::argmax(&x, 1), vec![1, 0]);
    assert_eq!(B::argmax(&x, 0), vec![1, 0, 0, 0]);
}

#[test]
fn argmax_three_d_every_axis() {
    // x[i][j][k] = v[(12i + 4j + k)] with a few planted maxima
    let mut data = vec![0.0; 24];
    data[5] = 9.0; // (0, 1, 1)
    data[14] = 9.0; // (1, 0, 2)
    data[23] = 1.0; // (1, 2, 3)
    let x = t(&data, &[2, 3, 4]);
    // axis 2: (i, j) → k of the max
    assert_eq!(B::argmax(&x, 2), vec![0, 1, 0, 2, 0, 3]);
    // axis 1: (i, k) → j
    assert_eq!(B::argmax(&x, 1), vec![0, 1, 0, 0, 0, 0, 0, 2]);
    // axis 0: (j, k) → i
    assert_eq!(B::argmax(&x, 0), vec![0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
}

#[test]
fn argmax_of_a_column_and_a_scalar_axis() {
    let x = t(&[1.0, 4.0, 2.0], &[3, 1]);
    assert_eq!(B::argmax(&x, 0), vec![1]);
    assert_eq!(B::argmax(&x, 1), vec![0, 0, 0]);
}

#[test]
fn f32_reduce() {
    type F = Nalgebra<f32>;
    let x = F::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]);
    assert_eq!(
        F::to_vec(&F::reduce(&x, &[0], false, ReduceOp::Sum)),
        vec![4.0, 6.0]
    );
    assert_eq!(F::argmax(&x, 1), vec![1, 1]);
}
