//! Property tests of `NdArray` against naive implementations built on duograd's shape helpers.

use duograd_backend::shape::{broadcast_shapes, numel, reduced_shape, strided_indices, strides};
use duograd_backend::{Backend, BinaryOp, ReduceOp, UnaryOp};
#[allow(unused_imports)]
use duograd_cpu::{BinaryKernel, ReduceKernel, UnaryKernel};
use duograd_ndarray::NdArray;
use proptest::prelude::*;

type B = NdArray<f64>;
type S = <B as Backend>::Storage;

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

/// An output shape: up to three short leading axes and an optional last axis that may be long
/// enough for the lane-by-lane path.
fn out_shape() -> impl Strategy<Value = Vec<usize>> {
    (
        prop::collection::vec(1usize..=3, 0..=3),
        prop::option::of(prop::sample::select(vec![1usize, 2, 3, 17, 20])),
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

/// Values with frequent ties (small integers) and some non-integers.
fn values(n: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(
        prop_oneof![(-3i32..=3).prop_map(f64::from), -10.0f64..10.0],
        n,
    )
}

/// An axis permutation of `rank`.
fn permutation(rank: usize) -> impl Strategy<Value = Vec<usize>> {
    Just((0..rank).collect::<Vec<_>>()).prop_shuffle()
}

/// Shape, row-major values and a storage permutation for one operand.
fn operand(out: Vec<usize>) -> impl Strategy<Value = (Vec<usize>, Vec<f64>, Vec<usize>)> {
    operand_shape(out).prop_flat_map(|shape| {
        let n = numel(&shape);
        let rank = shape.len();
        (Just(shape), values(n), permutation(rank))
    })
}

/// Builds an array with the given logical row-major `vals`, stored with its axes permuted by
/// `p` (stored axis `j` is logical axis `p[j]`) and then permuted back: same values, non-standard
/// strides whenever `p` is not the identity. With `padded`, every stored row also sits between
/// two junk elements that a `narrow` cuts off, so no axis is contiguous in memory.
fn stored(vals: &[f64], shape: &[usize], p: &[usize], padded: bool) -> S {
    let st = strides(shape);
    let stored_shape: Vec<usize> = p.iter().map(|&a| shape[a]).collect();
    let stored_strides: Vec<usize> = p.iter().map(|&a| st[a]).collect();
    let data: Vec<f64> = strided_indices(&stored_shape, &stored_strides, 0)
        .into_iter()
        .map(|i| vals[i])
        .collect();
    let rank = shape.len();
    let x = if padded && rank > 0 && !data.is_empty() {
        let row = stored_shape[rank - 1];
        let mut wide_shape = stored_shape.clone();
        wide_shape[rank - 1] += 2;
        let wide: Vec<f64> = data
            .chunks(row)
            .flat_map(|r| {
                std::iter::once(1e300)
                    .chain(r.iter().copied())
                    .chain([-1e300])
            })
            .collect();
        B::narrow(&B::from_vec(wide, &wide_shape), rank - 1, 1, row)
    } else {
        B::from_vec(data, &stored_shape)
    };
    let mut inverse = vec![0; p.len()];
    for (j, &a) in p.iter().enumerate() {
        inverse[a] = j;
    }
    let x = B::permute(&x, &inverse);
    assert_eq!(B::shape(&x), shape);
    x
}

fn same_bits(got: &[f64], want: &[f64]) -> bool {
    got.len() == want.len()
        && got
            .iter()
            .zip(want)
            .all(|(g, w)| g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn binary_broadcasting_matches_naive(
        (out, (sa, va, pa), (sb, vb, pb)) in out_shape().prop_flat_map(|out| {
            (Just(out.clone()), operand(out.clone()), operand(out))
        }),
        op in prop::sample::select(BINARY_OPS.to_vec()),
        permuted in any::<bool>(),
        padded in any::<bool>(),
    ) {
        let shape = broadcast_shapes(&sa, &sb).expect("operands broadcast by construction");
        let (a, b) = if permuted {
            (stored(&va, &sa, &pa, padded), stored(&vb, &sb, &pb, !padded))
        } else {
            (B::from_vec(va.clone(), &sa), B::from_vec(vb.clone(), &sb))
        };
        let ia = duograd_backend::shape::broadcast_source_indices(&sa, &shape);
        let ib = duograd_backend::shape::broadcast_source_indices(&sb, &shape);
        let want: Vec<f64> = ia.iter().zip(&ib).map(|(&i, &j)| op.apply(va[i], vb[j])).collect();
        let c = B::binary(&a, &b, op);
        prop_assert_eq!(B::shape(&c), shape.clone());
        prop_assert!(same_bits(&B::to_vec(&c), &want), "{:?} {:?} {:?}", op, sa, sb);
        // The output shape can be smaller than `out` when every operand dropped an axis.
        prop_assert!(shape.len() <= out.len());
    }

    #[test]
    fn permute_then_to_vec_matches_strided_indices(
        (shape, perm) in prop::collection::vec(1usize..=4, 0..=5)
            .prop_flat_map(|s| { let r = s.len(); (Just(s), permutation(r)) }),
    ) {
        let n = numel(&shape);
        let vals: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let x = B::from_vec(vals.clone(), &shape);
        let p = B::permute(&x, &perm);
        let st = strides(&shape);
        let new_shape: Vec<usize> = perm.iter().map(|&a| shape[a]).collect();
        let new_strides: Vec<usize> = perm.iter().map(|&a| st[a]).collect();
        let want: Vec<f64> = strided_indices(&new_shape, &new_strides, 0)
            .into_iter()
            .map(|i| vals[i])
            .collect();
        prop_assert_eq!(B::shape(&p), new_shape);
        prop_assert_eq!(B::to_vec(&p), want.clone());
        // Reshaping the permuted array keeps the row-major order.
        prop_assert_eq!(B::to_vec(&B::reshape(&p, &[n])), want.clone());
        // Elementwise results of a permuted array are in row-major order too.
        let u = B::unary(&p, UnaryOp::AddScalar(1.0));
        let want1: Vec<f64> = want.iter().map(|v| v + 1.0).collect();
        prop_assert_eq!(B::to_vec(&u), want1);
    }

    #[test]
    fn reduce_matches_naive(
        (shape, vals, perm, axes) in prop::collection::vec(1usize..=4, 1..=4).prop_flat_map(|s| {
            let r = s.len();
            let n = numel(&s);
            (Just(s), values(n), permutation(r), prop::collection::vec(any::<bool>(), r))
        }),
        keepdim in any::<bool>(),
        op in prop::sample::select(vec![ReduceOp::Sum, ReduceOp::Max, ReduceOp::Min]),
    ) {
        let axes: Vec<usize> = axes.iter().enumerate().filter(|(_, &on)| on).map(|(i, _)| i).collect();
        let x = stored(&vals, &shape, &perm, keepdim);
        let out_shape = reduced_shape(&shape, &axes, keepdim);
        // Naive: fold every element into the output position it reduces to.
        let kept = reduced_shape(&shape, &axes, true);
        let mut want = vec![op.identity::<f64>(); numel(&kept)];
        let kept_strides = strides(&kept);
        let st = strides(&shape);
        for (flat, &v) in vals.iter().enumerate() {
            let pos: usize = (0..shape.len())
                .map(|d| if kept[d] == 1 { 0 } else { (flat / st[d]) % shape[d] * kept_strides[d] })
                .sum();
            want[pos] = op.combine(want[pos], v);
        }
        let r = B::reduce(&x, &axes, keepdim, op);
        prop_assert_eq!(B::shape(&r), if axes.is_empty() { shape.clone() } else { out_shape });
        let got = B::to_vec(&r);
        prop_assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            prop_assert!((g - w).abs() <= 1e-9 * (1.0 + w.abs()), "{:?} over {:?}: {} vs {}", op, axes, g, w);
        }
    }

    #[test]
    fn argmax_matches_naive(
        (shape, vals, perm, axis) in prop::collection::vec(1usize..=12, 1..=3).prop_flat_map(|s| {
            let r = s.len();
            let n = numel(&s);
            let v = prop::collection::vec(
                prop_oneof![8 => (-3i32..=3).prop_map(f64::from), 1 => Just(f64::NAN)],
                n,
            );
            (Just(s), v, permutation(r), 0..r)
        }),
        padded in any::<bool>(),
    ) {
        let x = stored(&vals, &shape, &perm, padded);
        let st = strides(&shape);
        let mut outer = shape.clone();
        outer.remove(axis);
        let mut outer_st = st.clone();
        outer_st.remove(axis);
        // Serial scan: strictly greater wins, the first NaN wins over everything.
        let want: Vec<usize> = strided_indices(&outer, &outer_st, 0)
            .into_iter()
            .map(|base| {
                let mut best = 0;
                for i in 0..shape[axis] {
                    let v = vals[base + i * st[axis]];
                    let b = vals[base + best * st[axis]];
                    if b.is_nan() {
                        break;
                    }
                    if v.is_nan() || v > b {
                        best = i;
                    }
                }
                best
            })
            .collect();
        prop_assert_eq!(B::argmax(&x, axis), want);
    }
}
