//! Property tests of `Nalgebra` against naive row-major implementations built on duograd's shape
//! helpers. Shapes are drawn so that every code path is hit: full / row / column / scalar
//! broadcasts and the N-d fallback, contiguous and interleaved reductions, 2-D and N-d
//! permutations, and matrices with one row or one column (where storage order is row-major).

use duograd_backend::shape::{
    broadcast_shapes, broadcast_source_indices, numel, reduced_shape, strided_indices, strides,
};
use duograd_backend::{Backend, BinaryOp, ReduceOp};
#[allow(unused_imports)]
use duograd_cpu::{BinaryKernel, ReduceKernel, UnaryKernel};
use duograd_nalgebra::Nalgebra;
use proptest::prelude::*;

type B = Nalgebra<f64>;

const BINARY_OPS: [BinaryOp; 11] = [
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
];

/// A shape of rank 0–4 with small axes (including 1s and the occasional longer last axis).
fn shape() -> impl Strategy<Value = Vec<usize>> {
    (
        prop::collection::vec(1usize..=3, 0..=3),
        prop::option::of(prop::sample::select(vec![1usize, 2, 3, 7])),
    )
        .prop_map(|(mut lead, last)| {
            lead.extend(last);
            lead
        })
}

/// A shape that broadcasts to `out`: some leading axes dropped, some axes set to 1.
fn operand_shape(out: Vec<usize>) -> impl Strategy<Value = Vec<usize>> {
    let rank = out.len();
    (0..=rank, prop::collection::vec(any::<bool>(), rank)).prop_map(move |(drop, ones)| {
        out[drop..]
            .iter()
            .zip(&ones[drop..])
            .map(|(&d, &one)| if one { 1 } else { d })
            .collect()
    })
}

/// Values with frequent ties (small integers), some non-integers and the occasional NaN.
fn values(n: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(
        prop_oneof![
            6 => (-3i32..=3).prop_map(f64::from),
            6 => -10.0f64..10.0,
            1 => Just(f64::NAN),
        ],
        n,
    )
}

/// Two broadcast-compatible operand shapes (either may be the larger) with their data.
fn binary_case() -> impl Strategy<Value = (Vec<usize>, Vec<f64>, Vec<usize>, Vec<f64>, bool)> {
    shape()
        .prop_flat_map(|out| (operand_shape(out.clone()), Just(out), any::<bool>()))
        .prop_flat_map(|(small, out, swap)| {
            let (na, nb) = (numel(&small), numel(&out));
            (Just(small), values(na), Just(out), values(nb), Just(swap))
        })
}

/// A shape with data, a set of axes (sorted, distinct) and keepdim.
fn reduce_case() -> impl Strategy<Value = (Vec<usize>, Vec<f64>, Vec<usize>, bool)> {
    shape().prop_flat_map(|s| {
        let rank = s.len();
        let n = numel(&s);
        (
            Just(s),
            values(n),
            prop::collection::vec(any::<bool>(), rank),
            any::<bool>(),
        )
            .prop_map(|(s, v, mask, keepdim)| {
                let axes = (0..s.len()).filter(|&i| mask[i]).collect();
                (s, v, axes, keepdim)
            })
    })
}

/// A shape with data and a permutation of its axes.
fn permute_case() -> impl Strategy<Value = (Vec<usize>, Vec<f64>, Vec<usize>)> {
    shape().prop_flat_map(|s| {
        let n = numel(&s);
        let perm = Just((0..s.len()).collect::<Vec<_>>()).prop_shuffle();
        (Just(s), values(n), perm)
    })
}

/// Bitwise equality, NaN equal to NaN.
fn same(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
}

/// Approximate equality for sums (different summation orders), NaN equal to NaN.
fn close(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            (x.is_nan() && y.is_nan()) || x == y || (x - y).abs() <= 1e-9 * (1.0 + y.abs())
        })
}

/// The naive reduction: every element folded into the row-major output slot it maps to.
fn naive_reduce(s: &[usize], v: &[f64], axes: &[usize], op: ReduceOp) -> Vec<f64> {
    let kept = reduced_shape(s, axes, true);
    let ks = strides(&kept);
    let out_strides: Vec<usize> = (0..s.len())
        .map(|i| if axes.contains(&i) { 0 } else { ks[i] })
        .collect();
    let mut out = vec![op.identity::<f64>(); numel(&kept)];
    for (&o, &x) in strided_indices(s, &out_strides, 0).iter().zip(v) {
        out[o] = op.combine(out[o], x);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(384))]

    #[test]
    fn binary_broadcasting_matches_naive((small, va, out, vb, swap) in binary_case()) {
        let (sa, a, sb, b) = if swap {
            (out.clone(), vb, small, va)
        } else {
            (small, va, out.clone(), vb)
        };
        let ta = B::from_vec(a.clone(), &sa);
        let tb = B::from_vec(b.clone(), &sb);
        let target = broadcast_shapes(&sa, &sb).unwrap();
        prop_assert_eq!(&target, &out);
        let ia = broadcast_source_indices(&sa, &target);
        let ib = broadcast_source_indices(&sb, &target);
        for op in BINARY_OPS {
            let y = B::binary(&ta, &tb, op);
            prop_assert_eq!(B::shape(&y), target.clone());
            let expected: Vec<f64> =
                ia.iter().zip(&ib).map(|(&i, &j)| op.apply(a[i], b[j])).collect();
            prop_assert!(same(&B::to_vec(&y), &expected), "{:?} {:?} {:?}", op, sa, sb);
        }
        // expand agrees with the same index map.
        let e = B::expand(&ta, &target);
        let expected: Vec<f64> = ia.iter().map(|&i| a[i]).collect();
        prop_assert!(same(&B::to_vec(&e), &expected));
    }

    #[test]
    fn reduce_matches_naive((s, v, axes, keepdim) in reduce_case()) {
        let x = B::from_vec(v.clone(), &s);
        for op in [ReduceOp::Sum, ReduceOp::Max, ReduceOp::Min] {
            let y = B::reduce(&x, &axes, keepdim, op);
            let expected_shape = if axes.is_empty() {
                s.clone()
            } else {
                reduced_shape(&s, &axes, keepdim)
            };
            prop_assert_eq!(B::shape(&y), expected_shape);
            let expected = if axes.is_empty() { v.clone() } else { naive_reduce(&s, &v, &axes, op) };
            let got = B::to_vec(&y);
            if op == ReduceOp::Sum {
                prop_assert!(close(&got, &expected), "{:?} {:?}: {:?} vs {:?}", s, axes, got, expected);
            } else {
                prop_assert!(same(&got, &expected), "{:?} {:?} {:?}: {:?} vs {:?}", op, s, axes, got, expected);
            }
        }
    }

    #[test]
    fn argmax_matches_naive((s, v, perm) in permute_case()) {
        prop_assume!(!s.is_empty());
        let axis = perm[0];
        prop_assume!(s[axis] > 0);
        let x = B::from_vec(v.clone(), &s);
        let st = strides(&s);
        let rest: Vec<usize> = (0..s.len()).filter(|&i| i != axis).collect();
        let rest_shape: Vec<usize> = rest.iter().map(|&i| s[i]).collect();
        let rest_strides: Vec<usize> = rest.iter().map(|&i| st[i]).collect();
        let expected: Vec<usize> = strided_indices(&rest_shape, &rest_strides, 0)
            .into_iter()
            .map(|base| {
                let mut best = 0;
                for t in 1..s[axis] {
                    let (b, c) = (v[base + best * st[axis]], v[base + t * st[axis]]);
                    if !b.is_nan() && (c.is_nan() || c > b) {
                        best = t;
                    }
                }
                best
            })
            .collect();
        prop_assert_eq!(B::argmax(&x, axis), expected);
    }

    #[test]
    fn permute_matches_strided_indices((s, v, perm) in permute_case()) {
        let x = B::from_vec(v.clone(), &s);
        let y = B::permute(&x, &perm);
        let out_shape: Vec<usize> = perm.iter().map(|&p| s[p]).collect();
        prop_assert_eq!(B::shape(&y), out_shape.clone());
        let st = strides(&s);
        let src: Vec<usize> = perm.iter().map(|&p| st[p]).collect();
        let expected: Vec<f64> = strided_indices(&out_shape, &src, 0).iter().map(|&i| v[i]).collect();
        prop_assert!(same(&B::to_vec(&y), &expected));
        // Reshaping the permuted tensor keeps its row-major order.
        let flat = B::reshape(&y, &[numel(&out_shape)]);
        prop_assert!(same(&B::to_vec(&flat), &expected));
    }

    #[test]
    fn narrow_and_concat_round_trip((s, v, perm) in permute_case()) {
        prop_assume!(!s.is_empty());
        let axis = perm[0];
        let len = s[axis];
        prop_assume!(len >= 2);
        let x = B::from_vec(v.clone(), &s);
        let cut = len / 2;
        let parts = [B::narrow(&x, axis, 0, cut), B::narrow(&x, axis, cut, len - cut)];
        // Each part against a naive strided gather.
        let st = strides(&s);
        for (part, start, plen) in [(&parts[0], 0, cut), (&parts[1], cut, len - cut)] {
            let mut ps = s.clone();
            ps[axis] = plen;
            let expected: Vec<f64> = strided_indices(&ps, &st, start * st[axis])
                .iter()
                .map(|&i| v[i])
                .collect();
            prop_assert!(same(&B::to_vec(part), &expected));
        }
        prop_assert!(same(&B::to_vec(&B::concat(&parts, axis)), &v));
    }
}
