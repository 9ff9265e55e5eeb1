//! Matrix products in all four transpose combinations against a naive triple loop.

use duograd_backend::Backend;
#[allow(unused_imports)]
use duograd_cpu::{BinaryKernel, ReduceKernel, UnaryKernel};
use duograd_nalgebra::Nalgebra;

type B = Nalgebra<f64>;
type S = <B as Backend>::Storage;

/// Deterministic, non-symmetric values.
fn values(n: usize, seed: u64) -> Vec<f64> {
    (0..n as u64)
        .map(|i| {
            let h = (i + 1)
                .wrapping_mul(6364136223846793005)
                .wrapping_add(seed * 1442695040888963407);
            ((h >> 33) % 2001) as f64 / 1000.0 - 1.0
        })
        .collect()
}

/// Row-major `m×n` product of row-major `a` (`m×k`) and `b` (`k×n`).
fn naive(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
    let mut c = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            for p in 0..k {
                c[i * n + j] += a[i * k + p] * b[p * n + j];
            }
        }
    }
    c
}

/// Row-major transpose of a row-major `r×c` array.
fn transpose(x: &[f64], r: usize, c: usize) -> Vec<f64> {
    (0..c * r).map(|i| x[(i % r) * c + i / r]).collect()
}

fn check(m: usize, k: usize, n: usize) {
    let a = values(m * k, 1);
    let b = values(k * n, 2);
    let expected = naive(&a, &b, m, k, n);
    for ta in [false, true] {
        for tb in [false, true] {
            // Store the operands so that op(stored) is a (m×k) and b (k×n).
            let sa: S = if ta {
                B::from_vec(transpose(&a, m, k), &[k, m])
            } else {
                B::from_vec(a.clone(), &[m, k])
            };
            let sb: S = if tb {
                B::from_vec(transpose(&b, k, n), &[n, k])
            } else {
                B::from_vec(b.clone(), &[k, n])
            };
            let c = B::matmul(&sa, &sb, ta, tb);
            assert_eq!(B::shape(&c), vec![m, n], "{m}×{k}×{n} ta={ta} tb={tb}");
            for (i, (x, y)) in B::to_vec(&c).iter().zip(&expected).enumerate() {
                assert!(
                    (x - y).abs() <= 1e-12,
                    "{m}×{k}×{n} ta={ta} tb={tb} at {i}: {x} vs {y}"
                );
            }
        }
    }
}

#[test]
fn hand_computed_product() {
    // [[1, 2], [3, 4], [5, 6]] · [[1, 0, 2], [0, 1, 3]]
    let a = B::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]);
    let b = B::from_vec(vec![1.0, 0.0, 2.0, 0.0, 1.0, 3.0], &[2, 3]);
    let c = B::matmul(&a, &b, false, false);
    assert_eq!(B::shape(&c), vec![3, 3]);
    assert_eq!(
        B::to_vec(&c),
        vec![1.0, 2.0, 8.0, 3.0, 4.0, 18.0, 5.0, 6.0, 28.0]
    );
    // aᵀ·a = [[35, 44], [44, 56]]
    assert_eq!(
        B::to_vec(&B::matmul(&a, &a, true, false)),
        vec![35.0, 44.0, 44.0, 56.0]
    );
    // a·aᵀ
    assert_eq!(
        B::to_vec(&B::matmul(&a, &a, false, true)),
        vec![5.0, 11.0, 17.0, 11.0, 25.0, 39.0, 17.0, 39.0, 61.0]
    );
    // bᵀ·aᵀ = (a·b)ᵀ
    let ct = B::matmul(&b, &a, true, true);
    assert_eq!(
        B::to_vec(&ct),
        vec![1.0, 3.0, 5.0, 2.0, 4.0, 6.0, 8.0, 18.0, 28.0]
    );
}

#[test]
fn small_products_all_transposes() {
    for (m, k, n) in [
        (1, 1, 1),
        (2, 3, 4),
        (4, 3, 2),
        (1, 5, 1),
        (3, 1, 3),
        (5, 5, 5),
    ] {
        check(m, k, n);
    }
}

#[test]
fn products_around_nalgebras_small_size_threshold() {
    // nalgebra switches from its gemv loop to matrixmultiply when all of m, n, k exceed 5.
    for (m, k, n) in [
        (6, 6, 6),
        (5, 6, 6),
        (6, 5, 6),
        (6, 6, 5),
        (7, 6, 9),
        (6, 40, 2),
    ] {
        check(m, k, n);
    }
}

#[test]
fn larger_products_all_transposes() {
    for (m, k, n) in [
        (17, 33, 9),
        (64, 31, 48),
        (1, 100, 70),
        (70, 100, 1),
        (40, 3, 50),
    ] {
        check(m, k, n);
    }
}

#[test]
fn empty_products() {
    for (m, k, n) in [(0, 3, 4), (3, 0, 4), (3, 4, 0)] {
        check(m, k, n);
    }
    // k = 0 gives zeros.
    let a = B::full(&[2, 0], 1.0);
    let b = B::full(&[0, 3], 1.0);
    assert_eq!(B::to_vec(&B::matmul(&a, &b, false, false)), vec![0.0; 6]);
}

#[test]
fn f32_product_matches() {
    type F = Nalgebra<f32>;
    let (m, k, n) = (9, 13, 7);
    let a: Vec<f32> = values(m * k, 3).iter().map(|&x| x as f32).collect();
    let b: Vec<f32> = values(k * n, 4).iter().map(|&x| x as f32).collect();
    let a64: Vec<f64> = a.iter().map(|&x| f64::from(x)).collect();
    let b64: Vec<f64> = b.iter().map(|&x| f64::from(x)).collect();
    let expected = naive(&a64, &b64, m, k, n);
    let sa = F::from_vec(a, &[m, k]);
    let sbt = F::from_vec(
        transpose(&b64, k, n).iter().map(|&x| x as f32).collect(),
        &[n, k],
    );
    let c = F::to_vec(&F::matmul(&sa, &sbt, false, true));
    for (x, y) in c.iter().zip(&expected) {
        assert!((f64::from(*x) - y).abs() < 1e-4);
    }
    // Aᵀ·B on matrices large enough for matrixmultiply.
    let at = F::from_vec(
        transpose(&a64, m, k).iter().map(|&x| x as f32).collect(),
        &[k, m],
    );
    let sb = F::from_vec(b64.iter().map(|&x| x as f32).collect(), &[k, n]);
    let c = F::to_vec(&F::matmul(&at, &sb, true, false));
    for (x, y) in c.iter().zip(&expected) {
        assert!((f64::from(*x) - y).abs() < 1e-4);
    }
}

#[test]
fn product_result_is_a_plain_matrix() {
    let a = B::from_vec(values(12, 5), &[3, 4]);
    let b = B::from_vec(values(8, 6), &[4, 2]);
    let c = B::matmul(&a, &b, false, false);
    let direct = a.matrix() * b.matrix();
    for (x, y) in c.matrix().iter().zip(direct.iter()) {
        assert!((x - y).abs() <= 1e-12);
    }
}
