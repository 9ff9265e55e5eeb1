//! Elementwise functions of two arrays, with broadcasting: `binary`.

use crate::{Backend, BinaryOp, Element};

use super::reference;
use super::support::{assert_close, assert_exact, mixed, numel, read, same, store, who, SPECIALS};
use super::views::{view, Kind};

/// Every [`BinaryOp`].
pub(crate) const ALL_OPS: [BinaryOp; 13] = [
    BinaryOp::Add,
    BinaryOp::Sub,
    BinaryOp::Mul,
    BinaryOp::Div,
    BinaryOp::Maximum,
    BinaryOp::Minimum,
    BinaryOp::Eq,
    BinaryOp::Gt,
    BinaryOp::Ge,
    BinaryOp::Lt,
    BinaryOp::Le,
    BinaryOp::ReluGrad,
    BinaryOp::Pow,
];

/// Pairs of broadcast-compatible shapes (each is also tried the other way round): equal
/// shapes, scalars, prepended axes, size-1 axes stretched on one side or both, ranks up to 4,
/// matrices against rank-3 and rank-4 arrays (the same elements, one per channel, whole
/// images), empty axes, and rows long enough for vector loops.
const PAIRS: [(&[usize], &[usize]); 40] = [
    (&[2, 3], &[2, 3]),
    (&[], &[2, 3]),
    (&[], &[]),
    (&[], &[17]),
    (&[4], &[3, 4]),
    (&[17], &[5, 17]),
    (&[33], &[2, 3, 33]),
    (&[100], &[7, 100]),
    (&[3, 1], &[3, 4]),
    (&[1, 4], &[3, 4]),
    (&[2, 1, 4], &[2, 3, 4]),
    (&[5, 1], &[5, 67]),
    (&[3, 1], &[1, 4]),
    (&[2, 1, 5], &[1, 3, 1]),
    (&[4, 1, 17], &[1, 6, 17]),
    (&[1, 70], &[65, 1]),
    (&[3, 1], &[2, 1, 4]),
    (&[3, 1], &[2, 3, 4]),
    (&[5, 1], &[2, 5, 33]),
    (&[3, 1, 5], &[2, 3, 4, 5]),
    (&[2, 1, 1, 5], &[3, 4, 1]),
    (&[1], &[2, 2, 1]),
    (&[1, 1], &[1]),
    (&[1], &[3, 1, 33]),
    (&[0, 3], &[3]),
    (&[0, 3], &[1, 3]),
    (&[2, 0], &[2, 1]),
    (&[2, 0], &[0]),
    (&[0], &[]),
    (&[1, 0], &[3, 1]),
    (&[9, 1, 1], &[1, 1, 1]),
    (&[4, 4], &[1, 4, 4]),
    (&[3, 4], &[1, 3, 4]),
    (&[3, 4], &[2, 3, 4]),
    (&[1, 5], &[1, 1, 5]),
    (&[5, 1], &[1, 5, 1]),
    (&[2, 3, 1], &[2, 3, 4]),
    (&[6, 1], &[2, 6, 5]),
    (&[3, 1, 1], &[2, 3, 4, 5]),
    (&[4, 5], &[2, 3, 4, 5]),
];

/// Two data sets for `a` and `b` that share some values (so that `Eq`, `Ge` and `Le` meet
/// ties) and hold NaN, ±∞ and ±0 here and there.
fn operands<E: Element>(na: usize, nb: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let a = mixed::<E>(na, seed);
    let mut b = mixed::<E>(nb, seed + 1);
    for i in (0..nb.min(na)).step_by(5) {
        b[i] = a[i];
    }
    (a, b)
}

/// Checks `binary(a, b, op)` against the reference, exactly (within the tolerance for `Pow`).
#[allow(clippy::too_many_arguments)]
fn check<B: Backend>(
    a: &B::Storage,
    da: &[f64],
    sa: &[usize],
    b: &B::Storage,
    db: &[f64],
    sb: &[usize],
    op: BinaryOp,
    what: &str,
) {
    let (want, shape) = reference::broadcast_binary(op, da, sa, db, sb).expect("shapes broadcast");
    let y = B::binary(a, b, op);
    let what = format!("{what} {op:?} of {sa:?} and {sb:?}");
    if reference::binary_is_exact(op) {
        assert_exact::<B>(&y, &shape, &want, what);
    } else {
        assert_close::<B>(&y, &shape, &want, None, what);
    }
}

/// `binary` of two arrays of the same shape matches each op's definition exactly, for every
/// shape of the elementwise list and every length from 1 to 70, with NaN, ±∞, ±0 and ties in
/// the data; the operands are left unchanged.
pub fn binary_same_shape_matches_definition<B: Backend>() {
    let lengths: Vec<Vec<usize>> = (1..=70).map(|n| vec![n]).collect();
    let shapes = super::unary::SHAPES
        .iter()
        .map(|s| s.to_vec())
        .chain(lengths);
    for (seed, shape) in shapes.enumerate() {
        let n = numel(&shape);
        let (da, db) = operands::<B::Elem>(n, n, 400 + 2 * seed as u64);
        let (a, b) = (store::<B>(&da, &shape), store::<B>(&db, &shape));
        for op in ALL_OPS {
            check::<B>(&a, &da, &shape, &b, &db, &shape, op, "binary");
        }
        check::<B>(
            &a,
            &da,
            &shape,
            &a,
            &da,
            &shape,
            BinaryOp::Sub,
            "binary of a with itself:",
        );
        assert_exact::<B>(&a, &shape, &da, "left operand after binary");
        assert_exact::<B>(&b, &shape, &db, "right operand after binary");
    }
}

/// `binary` broadcasts as NumPy and PyTorch do, both ways round: scalars, prepended axes,
/// size-1 axes stretched on either side or both, empty axes; the output has the broadcast
/// shape.
pub fn binary_broadcasting<B: Backend>() {
    for (seed, (s1, s2)) in PAIRS.iter().enumerate() {
        for (sa, sb) in [(*s1, *s2), (*s2, *s1)] {
            let (da, db) = operands::<B::Elem>(numel(sa), numel(sb), 500 + 2 * seed as u64);
            let (a, b) = (store::<B>(&da, sa), store::<B>(&db, sb));
            for op in ALL_OPS {
                check::<B>(&a, &da, sa, &b, &db, sb, op, "binary");
            }
        }
    }
}

/// `binary` of every kind of view on either side, or both, of the broadcasting pairs: strided
/// operands, broadcast or not, give row-major results.
pub fn binary_broadcasting_on_views<B: Backend>() {
    for (seed, (s1, s2)) in PAIRS.iter().enumerate() {
        for (sa, sb) in [(*s1, *s2), (*s2, *s1)] {
            let (da, db) = operands::<B::Elem>(numel(sa), numel(sb), 600 + 2 * seed as u64);
            for ka in Kind::ALL {
                for kb in Kind::ALL {
                    if !(ka == kb || ka == Kind::Contiguous || kb == Kind::Contiguous) {
                        continue;
                    }
                    let (Some(a), Some(b)) = (view::<B>(ka, &da, sa), view::<B>(kb, &db, sb))
                    else {
                        continue;
                    };
                    let what = format!("binary of {ka} and {kb} inputs:");
                    for op in ALL_OPS {
                        check::<B>(&a.x, &a.data, sa, &b.x, &b.data, sb, op, &what);
                    }
                }
            }
        }
    }
}

/// The special cases written out by hand: `Maximum` and `Minimum` give NaN when either operand
/// is NaN, comparisons with NaN are false (`NaN == NaN` too), `1/0 = ∞`, `0/0` and `∞ − ∞` are
/// NaN, and `ReluGrad` gives 0 wherever the input is not positive, even for an infinite or NaN
/// gradient or a NaN input.
pub fn binary_special_values<B: Backend>() {
    let (inf, nan) = (f64::INFINITY, f64::NAN);
    let cases: Vec<(BinaryOp, f64, f64, f64)> = vec![
        (BinaryOp::Maximum, nan, 1.0, nan),
        (BinaryOp::Maximum, 1.0, nan, nan),
        (BinaryOp::Maximum, nan, -inf, nan),
        (BinaryOp::Maximum, -inf, nan, nan),
        (BinaryOp::Maximum, -inf, 2.0, 2.0),
        (BinaryOp::Minimum, nan, 1.0, nan),
        (BinaryOp::Minimum, 1.0, nan, nan),
        (BinaryOp::Minimum, inf, nan, nan),
        (BinaryOp::Minimum, inf, 2.0, 2.0),
        (BinaryOp::Eq, nan, nan, 0.0),
        (BinaryOp::Eq, 0.0, -0.0, 1.0),
        (BinaryOp::Eq, inf, inf, 1.0),
        (BinaryOp::Gt, nan, 0.0, 0.0),
        (BinaryOp::Ge, nan, nan, 0.0),
        (BinaryOp::Lt, 0.0, nan, 0.0),
        (BinaryOp::Le, nan, 0.0, 0.0),
        (BinaryOp::Le, -inf, -inf, 1.0),
        (BinaryOp::Div, 1.0, 0.0, inf),
        (BinaryOp::Div, -1.0, 0.0, -inf),
        (BinaryOp::Div, 0.0, 0.0, nan),
        (BinaryOp::Sub, inf, inf, nan),
        (BinaryOp::Add, inf, -inf, nan),
        (BinaryOp::Mul, 0.0, inf, nan),
        (BinaryOp::Add, nan, 1.0, nan),
        (BinaryOp::ReluGrad, 2.5, 1e-30, 2.5),
        (BinaryOp::ReluGrad, 2.5, 0.0, 0.0),
        (BinaryOp::ReluGrad, 2.5, -0.0, 0.0),
        (BinaryOp::ReluGrad, inf, -1.0, 0.0),
        (BinaryOp::ReluGrad, nan, -1.0, 0.0),
        (BinaryOp::ReluGrad, nan, 0.0, 0.0),
        (BinaryOp::ReluGrad, -3.0, nan, 0.0),
        (BinaryOp::ReluGrad, -inf, 1.0, -inf),
        (BinaryOp::ReluGrad, nan, 1.0, nan),
        (BinaryOp::Pow, 2.0, 3.0, 8.0),
        (BinaryOp::Pow, -2.0, 3.0, -8.0),
        (BinaryOp::Pow, -2.0, 0.5, nan),
        (BinaryOp::Pow, 0.0, 0.0, 1.0),
        (BinaryOp::Pow, nan, 0.0, 1.0),
        (BinaryOp::Pow, 0.0, -1.0, inf),
        (BinaryOp::Pow, 4.0, 0.5, 2.0),
    ];
    for (op, x, y, want) in &cases {
        // One pair alone, broadcast against a long row (both sides), and inside long arrays at
        // every position of an 8-lane block.
        let z = B::binary(&store::<B>(&[*x], &[1]), &store::<B>(&[*y], &[1]), *op);
        assert_exact::<B>(
            &z,
            &[1],
            &[*want],
            format_args!("binary {op:?} of {x} and {y}"),
        );
        let row: Vec<f64> = vec![*y; 37];
        let z = B::binary(&store::<B>(&[*x], &[]), &store::<B>(&row, &[37]), *op);
        assert_exact::<B>(
            &z,
            &[37],
            &vec![*want; 37],
            format_args!("binary {op:?} of scalar {x} and {y}s"),
        );
        let row: Vec<f64> = vec![*x; 37];
        let z = B::binary(&store::<B>(&row, &[37]), &store::<B>(&[*y], &[1]), *op);
        assert_exact::<B>(
            &z,
            &[37],
            &vec![*want; 37],
            format_args!("binary {op:?} of {x}s and [{y}]"),
        );
        for pos in 0..9 {
            let (mut a, mut b) = (vec![1.0; 41], vec![2.0; 41]);
            a[32 + pos] = *x;
            b[32 + pos] = *y;
            let z = read::<B>(&B::binary(
                &store::<B>(&a, &[41]),
                &store::<B>(&b, &[41]),
                *op,
            ));
            assert!(
                same::<B::Elem>(z[32 + pos], *want),
                "{}: binary {op:?} of {x} and {y} at {} of 41: got {}, want {want}",
                who::<B>(),
                32 + pos,
                z[32 + pos]
            );
        }
    }
    // Every special against every special, in one array, with the reference.
    let n = SPECIALS.len();
    let da: Vec<f64> = (0..n * n).map(|i| SPECIALS[i / n]).collect();
    let db: Vec<f64> = (0..n * n).map(|i| SPECIALS[i % n]).collect();
    let (a, b) = (store::<B>(&da, &[n, n]), store::<B>(&db, &[n, n]));
    for op in ALL_OPS {
        check::<B>(&a, &da, &[n, n], &b, &db, &[n, n], op, "binary of specials");
    }
}
