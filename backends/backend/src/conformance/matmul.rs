//! Matrix products: `matmul` and `matmul_bias`, in all four transpose combinations, against a
//! naive triple loop (within the tolerance scaled by `Σ_p |a_ip·b_pj|`).

use crate::{Backend, BinaryOp, Element};

use super::reference;
use super::support::{assert_close, assert_exact, assert_same_bits, numel, store, values};
use super::views::{view, Kind};

/// The stored shape of an operand that is `rows × cols` after `op`: transposed when the flag is.
fn stored(rows: usize, cols: usize, transpose: bool) -> [usize; 2] {
    if transpose {
        [cols, rows]
    } else {
        [rows, cols]
    }
}

/// The 2-D kinds of view.
const KINDS_2D: [Kind; 5] = [
    Kind::Contiguous,
    Kind::Offset,
    Kind::Transposed,
    Kind::Padded,
    Kind::PaddedTransposed,
];

/// `op(a) · op(b)` for `m×k · k×n` in all four transpose combinations, each operand made as
/// each of `kinds` (paired as the same kind or one side contiguous), against the reference.
fn check_product<B: Backend>(m: usize, k: usize, n: usize, kinds: &[Kind], seed: u64) {
    for ta in [false, true] {
        for tb in [false, true] {
            let (sa, sb) = (stored(m, k, ta), stored(k, n, tb));
            let da = values::<B::Elem>(numel(&sa), seed);
            let db = values::<B::Elem>(numel(&sb), seed + 1);
            let (want, scale, shape) = reference::matmul(&da, sa, &db, sb, ta, tb);
            for &ka in kinds {
                for &kb in kinds {
                    if !(ka == kb || ka == Kind::Contiguous || kb == Kind::Contiguous) {
                        continue;
                    }
                    let a = view::<B>(ka, &da, &sa).expect("2-D view");
                    let b = view::<B>(kb, &db, &sb).expect("2-D view");
                    let y = B::matmul(&a.x, &b.x, ta, tb);
                    let what = format!("matmul {m}×{k}·{k}×{n} transpose_a={ta} transpose_b={tb} of {ka} and {kb} operands");
                    assert_close::<B>(&y, &shape, &want, Some(&scale), what);
                }
            }
        }
    }
}

/// Small products (1×1×1 to 7×6×9, around the sizes where kernels switch), all four transpose
/// combinations, every kind of 2-D view as either operand.
pub fn matmul_small_every_transpose<B: Backend>() {
    let shapes = [
        (1, 1, 1),
        (2, 3, 4),
        (4, 3, 2),
        (3, 1, 3),
        (2, 2, 2),
        (5, 5, 5),
        (6, 6, 6),
        (5, 6, 6),
        (6, 5, 6),
        (6, 6, 5),
        (7, 6, 9),
        (6, 40, 2),
        (8, 8, 8),
    ];
    for (seed, (m, k, n)) in shapes.into_iter().enumerate() {
        check_product::<B>(m, k, n, &KINDS_2D, 4000 + 2 * seed as u64);
    }
}

/// Products with a side of 1 (a row times a matrix, a matrix times a column, outer products,
/// dot products) and thin ones (a side below 16, the other sides long, as a classifier's
/// `x·Wᵀ`), all four transpose combinations, every kind of 2-D view.
pub fn matmul_vectors_and_thin<B: Backend>() {
    let shapes = [
        (1, 33, 7),
        (7, 33, 1),
        (1, 1, 9),
        (9, 1, 1),
        (1, 17, 1),
        (1, 100, 70),
        (70, 100, 1),
        (5, 100, 3),
        (3, 5, 100),
        (15, 64, 15),
        (17, 33, 9),
        (40, 3, 50),
        (64, 100, 10),
        (33, 64, 15),
        (10, 70, 64),
    ];
    for (seed, (m, k, n)) in shapes.into_iter().enumerate() {
        check_product::<B>(m, k, n, &KINDS_2D, 4100 + 2 * seed as u64);
    }
}

/// Large products (at least 64 on every side, or long and thin enough for the blocked kernels
/// and their threads), all four transpose combinations, contiguous, transposed and padded
/// operands.
pub fn matmul_large<B: Backend>() {
    let shapes = [
        (70, 65, 66),
        (64, 64, 64),
        (65, 130, 67),
        (100, 70, 130),
        (128, 128, 128),
        (512, 64, 10),
        (128, 10, 256),
    ];
    let kinds = [Kind::Contiguous, Kind::Transposed, Kind::Padded];
    for (seed, (m, k, n)) in shapes.into_iter().enumerate() {
        check_product::<B>(m, k, n, &kinds, 4200 + 2 * seed as u64);
    }
}

/// Products with an empty side: `k = 0` gives zeros of shape `m×n`, `m = 0` or `n = 0` an
/// empty array of that shape, in all four transpose combinations; with a bias, `k = 0` gives
/// the bias in every row.
pub fn matmul_empty<B: Backend>() {
    for (m, k, n) in [(0, 3, 4), (3, 0, 4), (3, 4, 0), (0, 0, 0), (2, 0, 70)] {
        check_product::<B>(m, k, n, &[Kind::Contiguous, Kind::Transposed], 4300);
        for ta in [false, true] {
            for tb in [false, true] {
                let a = B::full(&stored(m, k, ta), B::Elem::of(1.0));
                let b = B::full(&stored(k, n, tb), B::Elem::of(1.0));
                let bias: Vec<f64> = (0..n).map(|j| j as f64 - 1.5).collect();
                let y = B::matmul_bias(&a, &b, &store::<B>(&bias, &[n]), ta, tb);
                let want: Vec<f64> = (0..m * n)
                    .map(|f| (k as f64) + bias[f % n.max(1)])
                    .collect();
                assert_exact::<B>(
                    &y,
                    &[m, n],
                    &want,
                    format_args!(
                        "matmul_bias of ones {m}×{k}·{k}×{n} transpose_a={ta} transpose_b={tb}"
                    ),
                );
            }
        }
    }
}

/// NaN and ±∞ in an operand propagate through the sums as IEEE arithmetic has them: a NaN in
/// row `i` of `a` makes row `i` of the product NaN, one in column `j` of `b` column `j`, and an
/// infinity gives ±∞ (or NaN where `∞ − ∞` or `∞·0` occurs).
pub fn matmul_propagates_nan_and_inf<B: Backend>() {
    for (seed, (m, k, n)) in [
        (3, 4, 5),
        (17, 33, 9),
        (70, 65, 66),
        (1, 40, 1),
        (64, 100, 10),
    ]
    .into_iter()
    .enumerate()
    {
        for special in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            for ta in [false, true] {
                for tb in [false, true] {
                    let (sa, sb) = (stored(m, k, ta), stored(k, n, tb));
                    let mut da = values::<B::Elem>(numel(&sa), 4400 + seed as u64);
                    let mut db = values::<B::Elem>(numel(&sb), 4450 + seed as u64);
                    da[numel(&sa) / 2] = special;
                    db[numel(&sb) - 1] = special;
                    db[0] = 0.0;
                    let (want, scale, shape) = reference::matmul(&da, sa, &db, sb, ta, tb);
                    let y = B::matmul(&store::<B>(&da, &sa), &store::<B>(&db, &sb), ta, tb);
                    let what = format!(
                        "matmul {m}×{k}·{k}×{n} transpose_a={ta} transpose_b={tb} with {special}"
                    );
                    assert_close::<B>(&y, &shape, &want, Some(&scale), what);
                }
            }
        }
    }
}

/// A 1-D bias of `n` values made as `kind` (contiguous, offset in its buffer, narrowed from a
/// padded row, or a column of a matrix flattened: stride 3).
fn bias_view<B: Backend>(kind: usize, bias: &[f64]) -> (&'static str, B::Storage) {
    let n = bias.len();
    match kind {
        0 => ("contiguous", store::<B>(bias, &[n])),
        1 => (
            "offset",
            view::<B>(Kind::Offset, bias, &[n]).expect("1-D").x,
        ),
        2 => (
            "padded",
            view::<B>(Kind::Padded, bias, &[n]).expect("1-D").x,
        ),
        _ => {
            let wide: Vec<f64> = bias.iter().flat_map(|&b| [f64::NAN, b, 1e30]).collect();
            let column = B::narrow(&store::<B>(&wide, &[n, 3]), 1, 1, 1);
            ("strided", B::reshape(&column, &[n]))
        }
    }
}

/// `matmul_bias` adds the bias (one value per column) to every row of the product, in all four
/// transpose combinations, for small, thin and large products, operands and bias of every kind
/// of view; each element is the product's element plus the bias rounded once, so it equals
/// `binary(matmul(a, b), bias, Add)` bit for bit.
pub fn matmul_bias_adds_bias_to_every_row<B: Backend>() {
    let shapes = [
        (1, 1, 1),
        (2, 3, 4),
        (5, 5, 5),
        (1, 33, 7),
        (7, 33, 1),
        (17, 33, 9),
        (64, 100, 10),
        (70, 65, 66),
        (512, 64, 10),
        (128, 128, 128),
    ];
    for (seed, (m, k, n)) in shapes.into_iter().enumerate() {
        for ta in [false, true] {
            for tb in [false, true] {
                let (sa, sb) = (stored(m, k, ta), stored(k, n, tb));
                let da = values::<B::Elem>(numel(&sa), 4500 + 3 * seed as u64);
                let db = values::<B::Elem>(numel(&sb), 4501 + 3 * seed as u64);
                let bias = values::<B::Elem>(n, 4502 + 3 * seed as u64);
                let (prod, scale, shape) = reference::matmul(&da, sa, &db, sb, ta, tb);
                let want: Vec<f64> = prod
                    .iter()
                    .enumerate()
                    .map(|(f, p)| p + bias[f % n])
                    .collect();
                let scale: Vec<f64> = scale
                    .iter()
                    .enumerate()
                    .map(|(f, s)| s + bias[f % n].abs())
                    .collect();
                for kind in [Kind::Contiguous, Kind::Transposed, Kind::Padded] {
                    let a = view::<B>(kind, &da, &sa).expect("2-D").x;
                    let b = view::<B>(kind, &db, &sb).expect("2-D").x;
                    for bias_kind in 0..4 {
                        let (bias_name, bv) = bias_view::<B>(bias_kind, &bias);
                        let what = format!("matmul_bias {m}×{k}·{k}×{n} transpose_a={ta} transpose_b={tb} of {kind} operands, {bias_name} bias");
                        let y = B::matmul_bias(&a, &b, &bv, ta, tb);
                        assert_close::<B>(&y, &shape, &want, Some(&scale), &what);
                        let two_passes = B::binary(&B::matmul(&a, &b, ta, tb), &bv, BinaryOp::Add);
                        assert_same_bits::<B>(
                            &y,
                            &two_passes,
                            format_args!("{what} against matmul then binary Add"),
                        );
                    }
                }
            }
        }
    }
}
