//! Layout and indexing kernels, with hand-computed expectations.

use duograd_backend::{Backend, BinaryOp};
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

fn f(v: &[usize]) -> Vec<f64> {
    v.iter().map(|&i| i as f64).collect()
}

#[test]
fn reshape_keeps_row_major_order() {
    let x = t(&range(24), &[2, 3, 4]);
    for shape in [
        &[6, 4][..],
        &[4, 6],
        &[24],
        &[2, 12],
        &[3, 2, 2, 2],
        &[24, 1],
        &[1, 24],
    ] {
        let y = B::reshape(&x, shape);
        assert_eq!(B::shape(&y), shape.to_vec());
        assert_eq!(B::to_vec(&y), range(24), "{shape:?}");
        // and back
        assert_eq!(B::to_vec(&B::reshape(&y, &[2, 3, 4])), range(24));
    }
    let s = B::reshape(&t(&[7.0], &[1, 1]), &[]);
    assert_eq!((B::shape(&s), B::to_vec(&s)), (vec![], vec![7.0]));
}

#[test]
fn permute_two_d_is_the_transpose() {
    // [[0, 1, 2], [3, 4, 5]]ᵀ
    let x = t(&range(6), &[2, 3]);
    let y = B::permute(&x, &[1, 0]);
    assert_eq!(B::shape(&y), vec![3, 2]);
    assert_eq!(B::to_vec(&y), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    assert_eq!(y.matrix(), &x.matrix().transpose());
    assert_eq!(B::to_vec(&B::permute(&x, &[0, 1])), range(6));
}

#[test]
fn permute_three_d() {
    // x[i][j][k] = 12i + 4j + k, shape (2, 3, 4)
    let x = t(&range(24), &[2, 3, 4]);
    // (2, 0, 1): out[k][i][j] = x[i][j][k]
    let y = B::permute(&x, &[2, 0, 1]);
    assert_eq!(B::shape(&y), vec![4, 2, 3]);
    let mut expected = Vec::new();
    for k in 0..4 {
        for i in 0..2 {
            for j in 0..3 {
                expected.push(12 * i + 4 * j + k);
            }
        }
    }
    assert_eq!(B::to_vec(&y), f(&expected));
    // (1, 0, 2): out[j][i][k]
    let z = B::permute(&x, &[1, 0, 2]);
    assert_eq!(B::shape(&z), vec![3, 2, 4]);
    assert_eq!(
        B::to_vec(&z),
        f(
            &[
                0, 1, 2, 3, 12, 13, 14, 15, 4, 5, 6, 7, 16, 17, 18, 19, 8, 9, 10, 11, 20, 21, 22,
                23
            ]
        )
    );
    // (2, 1, 0) then back with the inverse permutation (2, 1, 0).
    let w = B::permute(&B::permute(&x, &[2, 1, 0]), &[2, 1, 0]);
    assert_eq!(B::to_vec(&w), range(24));
}

#[test]
fn reshape_of_a_permuted_tensor() {
    let x = t(&range(6), &[2, 3]);
    let y = B::reshape(&B::permute(&x, &[1, 0]), &[6]);
    assert_eq!(B::to_vec(&y), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    let x3 = t(&range(24), &[2, 3, 4]);
    let p = B::permute(&x3, &[2, 0, 1]); // (4, 2, 3)
    let r = B::reshape(&p, &[4, 6]);
    let expected = B::to_vec(&p);
    assert_eq!(B::to_vec(&r), expected);
    assert_eq!(r.matrix()[(1, 0)], 1.0); // out[1][0][0] = x[0][0][1]
    assert_eq!(r.matrix()[(2, 5)], 22.0); // out[2][1][2] = x[1][2][2]
}

#[test]
fn expand_rows_columns_scalars_and_n_d() {
    let row = t(&[1.0, 2.0, 3.0], &[3]);
    let y = B::expand(&row, &[2, 3]);
    assert_eq!(B::to_vec(&y), vec![1.0, 2.0, 3.0, 1.0, 2.0, 3.0]);
    let col = t(&[1.0, 2.0], &[2, 1]);
    let y = B::expand(&col, &[2, 3]);
    assert_eq!(B::to_vec(&y), vec![1.0, 1.0, 1.0, 2.0, 2.0, 2.0]);
    let s = t(&[5.0], &[]);
    let y = B::expand(&s, &[2, 2]);
    assert_eq!((B::shape(&y), B::to_vec(&y)), (vec![2, 2], vec![5.0; 4]));
    // (3, 1) → (2, 3, 2): the N-d fallback
    let m = t(&[1.0, 2.0, 3.0], &[3, 1]);
    let y = B::expand(&m, &[2, 3, 2]);
    assert_eq!(
        B::to_vec(&y),
        vec![1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0]
    );
    // (2, 1, 2) → (2, 3, 2)
    let z = t(&[1.0, 2.0, 3.0, 4.0], &[2, 1, 2]);
    let y = B::expand(&z, &[2, 3, 2]);
    assert_eq!(
        B::to_vec(&y),
        vec![1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 4.0, 3.0, 4.0]
    );
    // Same shape and added leading axes only.
    assert_eq!(
        B::to_vec(&B::expand(&z, &[1, 2, 1, 2])),
        vec![1.0, 2.0, 3.0, 4.0]
    );
    // Agrees with broadcasting against zeros.
    let zeros = B::full(&[2, 3, 2], 0.0);
    assert_eq!(
        B::to_vec(&B::binary(&z, &zeros, BinaryOp::Add)),
        B::to_vec(&y)
    );
}

#[test]
fn concat_three_d_along_each_axis() {
    let a = t(&range(12), &[2, 3, 2]); // a[i][j][k] = 6i + 2j + k
    let b = t(&f(&[100, 101, 102, 103, 104, 105]), &[1, 3, 2]);
    let y = B::concat(&[a.clone(), b], 0);
    assert_eq!(B::shape(&y), vec![3, 3, 2]);
    let mut expected = range(12);
    expected.extend(f(&[100, 101, 102, 103, 104, 105]));
    assert_eq!(B::to_vec(&y), expected);

    let c = t(&f(&[100, 101, 102, 103]), &[2, 1, 2]);
    let y = B::concat(&[a.clone(), c], 1);
    assert_eq!(B::shape(&y), vec![2, 4, 2]);
    assert_eq!(
        B::to_vec(&y),
        f(&[0, 1, 2, 3, 4, 5, 100, 101, 6, 7, 8, 9, 10, 11, 102, 103])
    );

    let d = t(&f(&[100, 101, 102, 103, 104, 105]), &[2, 3, 1]);
    let y = B::concat(&[a.clone(), d, a.clone()], 2);
    assert_eq!(B::shape(&y), vec![2, 3, 5]);
    assert_eq!(
        B::to_vec(&y),
        f(&[
            0, 1, 100, 0, 1, 2, 3, 101, 2, 3, 4, 5, 102, 4, 5, 6, 7, 103, 6, 7, 8, 9, 104, 8, 9,
            10, 11, 105, 10, 11
        ])
    );
    assert_eq!(B::to_vec(&B::concat(&[a], 1)), range(12));
}

#[test]
fn concat_two_d_and_one_d() {
    let a = t(&range(4), &[2, 2]);
    let b = t(&[9.0, 8.0], &[1, 2]);
    assert_eq!(
        B::to_vec(&B::concat(&[a.clone(), b], 0)),
        vec![0.0, 1.0, 2.0, 3.0, 9.0, 8.0]
    );
    let c = t(&[9.0, 8.0], &[2, 1]);
    assert_eq!(
        B::to_vec(&B::concat(&[a, c], 1)),
        vec![0.0, 1.0, 9.0, 2.0, 3.0, 8.0]
    );
    let v = B::concat(&[t(&[1.0], &[1]), t(&[2.0, 3.0], &[2])], 0);
    assert_eq!(
        (B::shape(&v), B::to_vec(&v)),
        (vec![3], vec![1.0, 2.0, 3.0])
    );
}

#[test]
fn narrow_three_d_along_each_axis() {
    let x = t(&range(24), &[2, 3, 4]);
    let y = B::narrow(&x, 0, 1, 1);
    assert_eq!(
        (B::shape(&y), B::to_vec(&y)),
        (vec![1, 3, 4], f(&(12..24).collect::<Vec<_>>()))
    );
    let y = B::narrow(&x, 1, 1, 2);
    assert_eq!(B::shape(&y), vec![2, 2, 4]);
    assert_eq!(
        B::to_vec(&y),
        f(&[4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19, 20, 21, 22, 23])
    );
    let y = B::narrow(&x, 2, 1, 2);
    assert_eq!(B::shape(&y), vec![2, 3, 2]);
    assert_eq!(
        B::to_vec(&y),
        f(&[1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22])
    );
    assert_eq!(B::to_vec(&B::narrow(&x, 1, 0, 3)), range(24));
    assert!(B::to_vec(&B::narrow(&x, 2, 4, 0)).is_empty());
}

#[test]
fn narrow_two_d_and_one_d() {
    let x = t(&range(12), &[3, 4]);
    assert_eq!(
        B::to_vec(&B::narrow(&x, 0, 1, 2)),
        f(&[4, 5, 6, 7, 8, 9, 10, 11])
    );
    assert_eq!(B::to_vec(&B::narrow(&x, 1, 2, 2)), f(&[2, 3, 6, 7, 10, 11]));
    let v = t(&range(5), &[5]);
    assert_eq!(B::to_vec(&B::narrow(&v, 0, 1, 3)), f(&[1, 2, 3]));
}

#[test]
fn concat_undoes_narrow() {
    let x = t(&range(60), &[3, 4, 5]);
    for axis in 0..3 {
        let len = B::shape(&x)[axis];
        let parts = [B::narrow(&x, axis, 0, 1), B::narrow(&x, axis, 1, len - 1)];
        assert_eq!(
            B::to_vec(&B::concat(&parts, axis)),
            range(60),
            "axis {axis}"
        );
    }
}

#[test]
fn take_by_row_major_index() {
    // [[0, 1, 2], [3, 4, 5]]
    let x = t(&range(6), &[2, 3]);
    let y = B::take(&x, &[5, 1, 3, 3, 0]);
    assert_eq!(B::shape(&y), vec![5]);
    assert_eq!(B::to_vec(&y), vec![5.0, 1.0, 3.0, 3.0, 0.0]);
    let v = t(&[10.0, 20.0, 30.0], &[3]);
    assert_eq!(B::to_vec(&B::take(&v, &[2, 2])), vec![30.0, 30.0]);
    assert!(B::to_vec(&B::take(&v, &[])).is_empty());
}

#[test]
#[should_panic]
fn take_out_of_range_panics() {
    // Index 6 would land on a valid buffer offset in the column-major storage; it must panic.
    let _ = B::take(&t(&range(6), &[2, 3]), &[6]);
}

#[test]
fn scatter_add_accumulates_repeated_indices() {
    let src = t(&[1.0, 2.0, 3.0, 4.0, 5.0], &[5]);
    let y = B::scatter_add(&[2, 3], &[4, 0, 4, 5, 4], &src);
    assert_eq!(B::shape(&y), vec![2, 3]);
    assert_eq!(B::to_vec(&y), vec![2.0, 0.0, 0.0, 0.0, 9.0, 4.0]);
    let z = B::scatter_add(&[3], &[1, 1], &t(&[0.5, 0.25], &[2]));
    assert_eq!(B::to_vec(&z), vec![0.0, 0.75, 0.0]);
}

#[test]
fn take_and_scatter_add_are_adjoint() {
    // <take(x, idx), s> == <x, scatter_add(idx, s)>
    let x = t(&range(12), &[3, 4]);
    let idx = [11, 0, 5, 5, 7, 2];
    let s = t(&[1.0, -1.0, 2.0, 0.5, 3.0, -2.0], &[6]);
    let lhs: f64 = B::to_vec(&B::take(&x, &idx))
        .iter()
        .zip(B::to_vec(&s))
        .map(|(a, b)| a * b)
        .sum();
    let rhs: f64 = B::to_vec(&x)
        .iter()
        .zip(B::to_vec(&B::scatter_add(&[3, 4], &idx, &s)))
        .map(|(a, b)| a * b)
        .sum();
    assert_eq!(lhs, rhs);
}
