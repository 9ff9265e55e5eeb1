//! What only this backend has: each tensor is a real nalgebra `DMatrix` (a 2-D tensor is its
//! matrix; rank ≥ 3 has the last axis down the rows and the leading axes flattened into the
//! columns, so that its column-major buffer is row-major), shared between handles until an
//! in-place update copies it. The behaviour every backend shares is checked by the conformance
//! suite (`conformance.rs`).

use duograd_backend::{Backend, UnaryOp};
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

/// Up to rank 2, element `(r, c)` of the matrix is the one at row-major flat index `r·cols + c`;
/// from rank 3 on, the one at `c·rows + r` (`rows` being the last axis), so that the matrix's
/// column-major buffer is the row-major data.
#[test]
fn the_matrix_holds_the_row_major_elements() {
    let shapes: [&[usize]; 10] = [
        &[],
        &[5],
        &[1],
        &[2, 3],
        &[3, 1],
        &[1, 4],
        &[2, 3, 4],
        &[2, 1, 3, 2],
        &[0, 3],
        &[2, 0, 3],
    ];
    for shape in shapes {
        let n: usize = shape.iter().product();
        let x = t(&range(n), shape);
        let (rows, cols) = matrix_dims(shape);
        let m = x.matrix();
        assert_eq!(m.shape(), (rows, cols));
        for r in 0..rows {
            for c in 0..cols {
                let flat = if shape.len() >= 3 {
                    c * rows + r
                } else {
                    r * cols + c
                };
                assert_eq!(m[(r, c)], flat as f64, "shape {shape:?} at ({r}, {c})");
            }
        }
        if shape.len() >= 3 {
            assert_eq!(m.as_slice(), &range(n)[..], "shape {shape:?}");
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
    // A rank-3 tensor: the last axis down the rows, the leading axes flattened into columns.
    let z = t(&range(24), &[2, 3, 4]);
    assert_eq!(z.matrix().shape(), (4, 6));
    assert_eq!(z.matrix()[(1, 4)], 17.0); // (1, 1, 1) → 12 + 4 + 1
    assert_eq!(z.matrix().as_slice(), &range(24)[..]);
    // A 2-D permute is nalgebra's transpose.
    assert_eq!(B::permute(&x, &[1, 0]).matrix(), &x.matrix().transpose());
}

#[test]
fn reshape_of_a_permuted_tensor_lays_out_its_rows() {
    let x3 = t(&range(24), &[2, 3, 4]);
    let p = B::permute(&x3, &[2, 0, 1]); // (4, 2, 3)
    let r = B::reshape(&p, &[4, 6]);
    assert_eq!(r.matrix()[(1, 0)], 1.0); // out[1][0][0] = x[0][0][1]
    assert_eq!(r.matrix()[(2, 5)], 22.0); // out[2][1][2] = x[1][2][2]
                                          // And back to rank 4: a row-major buffer again.
    let back = B::reshape(&r, &[4, 2, 3, 1]);
    assert_eq!(back.matrix().as_slice(), &B::to_vec(&p)[..]);
}

#[test]
fn in_place_ops_on_views_sharing_the_matrix_copy_first() {
    // reshape / expand / clone share the matrix; in-place updates must copy first.
    let x = t(&range(24), &[2, 3, 4]);
    let mut r = B::reshape(&x, &[6, 1, 4]);
    assert_eq!(r.matrix().as_ptr(), x.matrix().as_ptr());
    B::unary_in_place(&mut r, UnaryOp::Neg);
    assert_ne!(r.matrix().as_ptr(), x.matrix().as_ptr());
    assert_eq!(B::to_vec(&x), range(24));
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
fn a_product_is_a_plain_matrix() {
    let a = t(&range(12), &[3, 4]);
    let b = t(&range(8), &[4, 2]);
    let c = B::matmul(&a, &b, false, false);
    assert_eq!(c.matrix(), &(a.matrix() * b.matrix()));
}
