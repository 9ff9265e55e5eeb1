//! Creation, row-major round trips and elementwise kernels, with hand-computed expectations.

use duograd_backend::{Backend, BinaryOp, UnaryOp};
#[allow(unused_imports)]
use duograd_cpu::{BinaryKernel, ReduceKernel, UnaryKernel};
use duograd_nalgebra::{matrix_dims, NaTensor, Nalgebra};
use nalgebra::DMatrix;

type B = Nalgebra<f64>;
type S = <B as Backend>::Storage;

fn t(data: &[f64], shape: &[usize]) -> S {
    B::from_vec(data.to_vec(), shape)
}

fn range(n: usize) -> Vec<f64> {
    (0..n).map(|i| i as f64).collect()
}

#[test]
fn name_and_marker_traits() {
    assert_eq!(B::name(), "nalgebra");
    let b = Nalgebra::<f32>::default();
    let c = b;
    assert_eq!(format!("{c:?}"), "Nalgebra");
    fn send_sync<T: Send + Sync + Clone + 'static>() {}
    send_sync::<S>();
    send_sync::<Nalgebra<f32>>();
}

#[test]
fn from_vec_to_vec_round_trip_ranks_0_to_4() {
    let shapes: [&[usize]; 9] = [
        &[],
        &[5],
        &[1],
        &[2, 3],
        &[3, 1],
        &[1, 4],
        &[2, 3, 4],
        &[2, 1, 3, 2],
        &[0, 3],
    ];
    for shape in shapes {
        let n: usize = shape.iter().product();
        let x = t(&range(n), shape);
        assert_eq!(B::shape(&x), shape.to_vec());
        assert_eq!(B::to_vec(&x), range(n), "shape {shape:?}");
        // The matrix layout: (r, c) holds row-major index r·dk + c.
        let (rows, cols) = matrix_dims(shape);
        let m = x.matrix();
        assert_eq!(m.shape(), (rows, cols));
        for r in 0..rows {
            for c in 0..cols {
                assert_eq!(
                    m[(r, c)],
                    (r * cols + c) as f64,
                    "shape {shape:?} at ({r}, {c})"
                );
            }
        }
    }
}

#[test]
fn two_d_tensors_are_their_matrices() {
    let x = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let expected = DMatrix::from_row_slice(2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    assert_eq!(x.matrix(), &expected);
    // Column-major buffer.
    assert_eq!(x.matrix().as_slice(), &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    let y = NaTensor::from_matrix(expected.clone());
    assert_eq!(B::shape(&y), vec![2, 3]);
    assert_eq!(B::to_vec(&y), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    // A rank-3 tensor: leading axes flattened into rows.
    let z = t(&range(24), &[2, 3, 4]);
    assert_eq!(z.matrix().shape(), (6, 4));
    assert_eq!(z.matrix()[(4, 1)], 17.0); // (1, 1, 1) → 12 + 4 + 1
}

#[test]
#[should_panic]
fn from_vec_with_wrong_length_panics() {
    let _ = t(&[1.0, 2.0], &[3]);
}

#[test]
fn full_has_every_element() {
    let x = B::full(&[2, 3], 1.5);
    assert_eq!(B::to_vec(&x), vec![1.5; 6]);
    assert_eq!(B::shape(&B::full(&[], 2.0)), Vec::<usize>::new());
    assert_eq!(B::to_vec(&B::full(&[], 2.0)), vec![2.0]);
    assert!(B::to_vec(&B::full(&[2, 0], 2.0)).is_empty());
}

#[test]
fn unary_matches_the_scalar_kernel_for_every_op() {
    let data = [-2.0, -0.5, 0.0, 0.25, 1.0, 3.0];
    let x = t(&data, &[2, 3]);
    let ops = [
        UnaryOp::Neg,
        UnaryOp::Exp,
        UnaryOp::Log,
        UnaryOp::Sqrt,
        UnaryOp::Tanh,
        UnaryOp::Sigmoid,
        UnaryOp::Relu,
        UnaryOp::Abs,
        UnaryOp::StepPositive,
        UnaryOp::Sign,
        UnaryOp::AddScalar(2.0),
        UnaryOp::MulScalar(-3.0),
        UnaryOp::DivScalar(4.0),
        UnaryOp::RSubScalar(1.0),
        UnaryOp::RDivScalar(1.0),
        UnaryOp::Powf(2.0),
        UnaryOp::ClampMin(0.1),
        UnaryOp::Clamp(-1.0, 1.0),
        UnaryOp::GtScalar(0.0),
        UnaryOp::EqScalar(1.0),
    ];
    for op in ops {
        let y = B::unary(&x, op);
        assert_eq!(B::shape(&y), vec![2, 3]);
        let got = B::to_vec(&y);
        for (g, &d) in got.iter().zip(&data) {
            assert_eq!(g.to_bits(), op.apply(d).to_bits(), "{op:?} at {d}");
        }
    }
    // Hand-checked values.
    assert_eq!(
        B::to_vec(&B::unary(&x, UnaryOp::Relu)),
        vec![0.0, 0.0, 0.0, 0.25, 1.0, 3.0]
    );
    assert_eq!(
        B::to_vec(&B::unary(&x, UnaryOp::AddScalar(1.0))),
        vec![-1.0, 0.5, 1.0, 1.25, 2.0, 4.0]
    );
}

#[test]
fn binary_same_shape() {
    let a = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let b = t(&[6.0, 5.0, 4.0, 3.0, 2.0, 1.0], &[2, 3]);
    let cases = [
        (BinaryOp::Add, [7.0, 7.0, 7.0, 7.0, 7.0, 7.0]),
        (BinaryOp::Sub, [-5.0, -3.0, -1.0, 1.0, 3.0, 5.0]),
        (BinaryOp::Mul, [6.0, 10.0, 12.0, 12.0, 10.0, 6.0]),
        (BinaryOp::Div, [1.0 / 6.0, 0.4, 0.75, 4.0 / 3.0, 2.5, 6.0]),
        (BinaryOp::Maximum, [6.0, 5.0, 4.0, 4.0, 5.0, 6.0]),
        (BinaryOp::Minimum, [1.0, 2.0, 3.0, 3.0, 2.0, 1.0]),
        (BinaryOp::Gt, [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]),
        (BinaryOp::Le, [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]),
    ];
    for (op, expected) in cases {
        assert_eq!(
            B::to_vec(&B::binary(&a, &b, op)),
            expected.to_vec(),
            "{op:?}"
        );
    }
    let nan = t(&[f64::NAN, 1.0], &[2]);
    let one = t(&[1.0, f64::NAN], &[2]);
    let m = B::to_vec(&B::binary(&nan, &one, BinaryOp::Maximum));
    assert!(m[0].is_nan() && m[1].is_nan());
}

#[test]
fn broadcast_column_against_row() {
    // (3, 1) + (4,) → (3, 4)
    let a = t(&[1.0, 2.0, 3.0], &[3, 1]);
    let b = t(&[10.0, 20.0, 30.0, 40.0], &[4]);
    let y = B::binary(&a, &b, BinaryOp::Add);
    assert_eq!(B::shape(&y), vec![3, 4]);
    assert_eq!(
        B::to_vec(&y),
        vec![11.0, 21.0, 31.0, 41.0, 12.0, 22.0, 32.0, 42.0, 13.0, 23.0, 33.0, 43.0]
    );
    let z = B::binary(&b, &a, BinaryOp::Sub); // (4,) - (3, 1)
    assert_eq!(
        B::to_vec(&z),
        vec![9.0, 19.0, 29.0, 39.0, 8.0, 18.0, 28.0, 38.0, 7.0, 17.0, 27.0, 37.0]
    );
}

#[test]
fn broadcast_rank_3_against_column() {
    // (2, 3, 4) * (3, 1): the N-d fallback.
    let a = t(&range(24), &[2, 3, 4]);
    let b = t(&[1.0, 10.0, 100.0], &[3, 1]);
    let y = B::binary(&a, &b, BinaryOp::Mul);
    assert_eq!(B::shape(&y), vec![2, 3, 4]);
    let expected: Vec<f64> = (0..24)
        .map(|i| i as f64 * [1.0, 10.0, 100.0][(i / 4) % 3])
        .collect();
    assert_eq!(B::to_vec(&y), expected);
    // And the other way round, with a non-commutative op.
    let z = B::binary(&b, &a, BinaryOp::Sub);
    let expected: Vec<f64> = (0..24)
        .map(|i| [1.0, 10.0, 100.0][(i / 4) % 3] - i as f64)
        .collect();
    assert_eq!(B::to_vec(&z), expected);
}

#[test]
fn broadcast_scalar_shaped_operands() {
    let s = t(&[2.0], &[]);
    let a = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    assert_eq!(
        B::to_vec(&B::binary(&a, &s, BinaryOp::Div)),
        vec![0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    );
    assert_eq!(
        B::to_vec(&B::binary(&s, &a, BinaryOp::Sub)),
        vec![1.0, 0.0, -1.0, -2.0, -3.0, -4.0]
    );
    let both = B::binary(&s, &t(&[5.0], &[]), BinaryOp::Mul);
    assert_eq!(B::shape(&both), Vec::<usize>::new());
    assert_eq!(B::to_vec(&both), vec![10.0]);
    // [] against (1, 1) and (1,) against (2, 2, 1)
    let y = B::binary(&s, &t(&[3.0], &[1, 1]), BinaryOp::Add);
    assert_eq!((B::shape(&y), B::to_vec(&y)), (vec![1, 1], vec![5.0]));
    let y = B::binary(&t(&[1.0], &[1]), &t(&range(4), &[2, 2, 1]), BinaryOp::Add);
    assert_eq!(
        (B::shape(&y), B::to_vec(&y)),
        (vec![2, 2, 1], vec![1.0, 2.0, 3.0, 4.0])
    );
}

#[test]
fn bias_add_row_vector() {
    // (m, n) + (n,), (m, n) + (1, n) and (n,) + (m, n)
    let x = t(&range(6), &[3, 2]);
    let bias = t(&[100.0, 200.0], &[2]);
    let expected = vec![100.0, 201.0, 102.0, 203.0, 104.0, 205.0];
    assert_eq!(B::to_vec(&B::binary(&x, &bias, BinaryOp::Add)), expected);
    let bias2 = t(&[100.0, 200.0], &[1, 2]);
    assert_eq!(B::to_vec(&B::binary(&x, &bias2, BinaryOp::Add)), expected);
    assert_eq!(B::to_vec(&B::binary(&bias, &x, BinaryOp::Add)), expected);
    // rank 3 with a trailing row vector
    let x3 = t(&range(12), &[2, 3, 2]);
    let y = B::binary(&x3, &bias, BinaryOp::Mul);
    let expected: Vec<f64> = (0..12).map(|i| i as f64 * [100.0, 200.0][i % 2]).collect();
    assert_eq!(B::to_vec(&y), expected);
}

#[test]
fn column_vector_broadcast_and_outer_broadcast() {
    let x = t(&range(6), &[2, 3]);
    let col = t(&[10.0, 20.0], &[2, 1]);
    assert_eq!(
        B::to_vec(&B::binary(&x, &col, BinaryOp::Sub)),
        vec![-10.0, -9.0, -8.0, -17.0, -16.0, -15.0]
    );
    // (1, 3) vs (2, 1): both stretched
    let row = t(&[1.0, 2.0, 3.0], &[1, 3]);
    let y = B::binary(&row, &col, BinaryOp::Mul);
    assert_eq!(B::to_vec(&y), vec![10.0, 20.0, 30.0, 20.0, 40.0, 60.0]);
}

#[test]
fn broadcast_with_empty_axes() {
    let a = B::full(&[0, 3], 1.0);
    let b = t(&[1.0, 2.0, 3.0], &[3]);
    let y = B::binary(&a, &b, BinaryOp::Add);
    assert_eq!(B::shape(&y), vec![0, 3]);
    assert!(B::to_vec(&y).is_empty());
}

#[test]
fn in_place_ops_do_not_affect_clones() {
    let original = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let mut x = original.clone();
    B::unary_in_place(&mut x, UnaryOp::MulScalar(10.0));
    assert_eq!(B::to_vec(&x), vec![10.0, 20.0, 30.0, 40.0, 50.0, 60.0]);
    assert_eq!(B::to_vec(&original), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);

    let mut y = original.clone();
    let src = t(&[1.0, 1.0, 1.0, 2.0, 2.0, 2.0], &[2, 3]);
    B::axpy_in_place(&mut y, -0.5, &src);
    assert_eq!(B::to_vec(&y), vec![0.5, 1.5, 2.5, 3.0, 4.0, 5.0]);
    assert_eq!(B::to_vec(&original), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);

    // x += 2·x with src and dst sharing storage.
    let mut z = original.clone();
    B::axpy_in_place(&mut z, 2.0, &original);
    assert_eq!(B::to_vec(&z), vec![3.0, 6.0, 9.0, 12.0, 15.0, 18.0]);
    assert_eq!(B::to_vec(&original), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
}

#[test]
fn in_place_ops_on_views_sharing_the_matrix_do_not_leak() {
    // reshape / expand / clone share the matrix; in-place updates must copy first.
    let x = t(&range(24), &[2, 3, 4]);
    let mut r = B::reshape(&x, &[6, 4]);
    assert_eq!(r.matrix().as_ptr(), x.matrix().as_ptr());
    B::unary_in_place(&mut r, UnaryOp::Neg);
    assert_eq!(B::to_vec(&x), range(24));
    assert_eq!(
        B::to_vec(&r),
        range(24).iter().map(|v| -v).collect::<Vec<_>>()
    );
    let mut e = B::expand(&x, &[1, 2, 3, 4]);
    assert_eq!(e.matrix().as_ptr(), x.matrix().as_ptr());
    B::axpy_in_place(&mut e, 1.0, &B::full(&[1, 2, 3, 4], 1.0));
    assert_eq!(B::to_vec(&x), range(24));
    assert_eq!(B::to_vec(&e)[23], 24.0);
}

#[test]
fn in_place_ops_on_unshared_storage_do_not_copy() {
    let mut x = t(&[1.0, -2.0, 3.0], &[3]);
    let before = x.matrix().as_ptr();
    B::unary_in_place(&mut x, UnaryOp::Relu);
    B::axpy_in_place(&mut x, 1.0, &t(&[1.0, 1.0, 1.0], &[3]));
    assert_eq!(x.matrix().as_ptr(), before);
    assert_eq!(B::to_vec(&x), vec![2.0, 1.0, 4.0]);
}

#[test]
fn f32_elementwise() {
    type F = Nalgebra<f32>;
    let a = F::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]);
    let b = F::from_vec(vec![0.5, -0.5], &[2]);
    assert_eq!(
        F::to_vec(&F::binary(&a, &b, BinaryOp::Add)),
        vec![1.5, 1.5, 3.5, 3.5]
    );
    assert_eq!(
        F::to_vec(&F::unary(&a, UnaryOp::Neg)),
        vec![-1.0, -2.0, -3.0, -4.0]
    );
}
