//! Layout changes: `reshape`, `permute`, `expand`, `concat`, `narrow`, and the 2-D creation in
//! either memory order (`layout_2d`, `from_vec_2d`). All exact.

use crate::shape::Layout;
use crate::{Backend, BinaryOp, Element};

use super::reference;
use super::support::{assert_exact, mixed, numel, store, values, who};
use super::views::{view, views, Kind};

/// `reshape` keeps the row-major order of the elements, from every kind of view, to shapes of
/// other ranks (scalar, size-1 and empty ones included), and back.
pub fn reshape_keeps_row_major_order<B: Backend>() {
    let cases: [(&[usize], &[&[usize]]); 8] = [
        (
            &[2, 3, 4],
            &[
                &[6, 4],
                &[4, 6],
                &[24],
                &[2, 12],
                &[3, 2, 2, 2],
                &[24, 1],
                &[1, 24],
                &[2, 3, 4],
            ],
        ),
        (&[1, 1], &[&[], &[1], &[1, 1, 1]]),
        (&[0, 3], &[&[3, 0], &[0], &[0, 1, 3]]),
        (&[5, 67], &[&[335], &[67, 5], &[5, 1, 67]]),
        (&[3, 33, 2], &[&[99, 2], &[3, 66], &[198]]),
        (&[], &[&[1], &[1, 1]]),
        (
            &[6, 4],
            &[&[2, 3, 2, 2], &[1, 6, 4, 1], &[6, 4, 1, 1], &[4, 6]],
        ),
        (&[4, 4], &[&[1, 4, 4], &[2, 2, 4], &[4, 1, 4], &[4, 4, 1]]),
    ];
    for (seed, (shape, targets)) in cases.iter().enumerate() {
        let data = mixed::<B::Elem>(numel(shape), 2000 + seed as u64);
        for v in views::<B>(&data, shape) {
            for target in targets.iter() {
                let y = B::reshape(&v.x, target);
                assert_exact::<B>(
                    &y,
                    target,
                    &v.data,
                    format_args!("reshape of {} {shape:?} to {target:?}", v.kind),
                );
                let back = B::reshape(&y, shape);
                assert_exact::<B>(
                    &back,
                    shape,
                    &v.data,
                    format_args!("reshape of {} {shape:?} to {target:?} and back", v.kind),
                );
            }
        }
    }
}

/// `permute` by every permutation of ranks 0 to 4 (output axis `i` is input axis `perm[i]`),
/// from every kind of view, and permuting back by the inverse restores the array.
pub fn permute_every_permutation<B: Backend>() {
    let shapes: [&[usize]; 8] = [
        &[],
        &[5],
        &[2, 3],
        &[17, 33],
        &[2, 3, 4],
        &[1, 5, 1],
        &[2, 3, 4, 5],
        &[0, 2, 3],
    ];
    for (seed, shape) in shapes.iter().enumerate() {
        let data = mixed::<B::Elem>(numel(shape), 2100 + seed as u64);
        for v in views::<B>(&data, shape) {
            for perm in reference::permutations(shape.len()) {
                let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
                let want = reference::permute(&v.data, shape, &perm);
                let y = B::permute(&v.x, &perm);
                let what = format!("permute of {} {shape:?} by {perm:?}", v.kind);
                assert_exact::<B>(&y, &out_shape, &want, &what);
                let back = B::permute(&y, &reference::inverse(&perm));
                assert_exact::<B>(&back, shape, &v.data, format_args!("{what} and back"));
                // A permuted array flattened keeps its row-major order.
                let flat = B::reshape(&y, &[numel(shape)]);
                assert_exact::<B>(
                    &flat,
                    &[numel(shape)],
                    &want,
                    format_args!("{what}, flattened"),
                );
            }
        }
    }
}

/// `expand` prepends axes and repeats size-1 axes, from every kind of view, and gives what
/// broadcasting against zeros gives.
pub fn expand_broadcasts<B: Backend>() {
    let cases: [(&[usize], &[usize]); 15] = [
        (&[3], &[2, 3]),
        (&[2, 1], &[2, 3]),
        (&[], &[2, 2]),
        (&[3, 1], &[2, 3, 2]),
        (&[2, 1, 2], &[2, 3, 2]),
        (&[2, 1, 2], &[1, 2, 1, 2]),
        (&[2, 3], &[2, 3]),
        (&[1], &[70]),
        (&[33], &[5, 33]),
        (&[5, 1], &[4, 5, 67]),
        (&[1, 1, 1], &[2, 3, 4]),
        (&[3], &[0, 3]),
        (&[4, 4], &[1, 4, 4]),
        (&[3, 4], &[2, 3, 4]),
        (&[3, 1, 1], &[2, 3, 4, 5]),
    ];
    for (seed, (from, to)) in cases.iter().enumerate() {
        let data = mixed::<B::Elem>(numel(from), 2200 + seed as u64);
        for v in views::<B>(&data, from) {
            let want = reference::expand(&v.data, from, to);
            let y = B::expand(&v.x, to);
            assert_exact::<B>(
                &y,
                to,
                &want,
                format_args!("expand of {} {from:?} to {to:?}", v.kind),
            );
            let zeros = B::full(to, B::Elem::of(0.0));
            let z = B::binary(&v.x, &zeros, BinaryOp::Add);
            let want_sum: Vec<f64> = want.iter().map(|w| w + 0.0).collect();
            assert_exact::<B>(
                &z,
                to,
                &want_sum,
                format_args!("binary Add of {} {from:?} and zeros {to:?}", v.kind),
            );
        }
    }
}

/// `concat` along every axis of ranks 1 to 4 joins the parts in order: parts of different
/// kinds of view, of different lengths along the axis (0 included), one part alone, and many.
pub fn concat_along_every_axis<B: Backend>() {
    let shapes: [&[usize]; 7] = [
        &[5],
        &[2, 3],
        &[3, 17],
        &[2, 3, 4],
        &[4, 33],
        &[2, 0],
        &[2, 3, 2, 5],
    ];
    for (seed, shape) in shapes.iter().enumerate() {
        for axis in 0..shape.len() {
            let lengths = [shape[axis], 1, 0, 2, shape[axis] + 1];
            let parts: Vec<(Vec<f64>, Vec<usize>)> = lengths
                .iter()
                .enumerate()
                .map(|(i, &len)| {
                    let mut s = shape.to_vec();
                    s[axis] = len;
                    (
                        values::<B::Elem>(numel(&s), 2300 + 10 * seed as u64 + i as u64),
                        s,
                    )
                })
                .collect();
            for kind in Kind::SAME_DATA {
                // Part i is made as `kind` when i is even, contiguous otherwise.
                let made: Vec<B::Storage> = parts
                    .iter()
                    .enumerate()
                    .map(|(i, (d, s))| {
                        let k = if i % 2 == 0 { kind } else { Kind::Contiguous };
                        view::<B>(k, d, s)
                            .or_else(|| view::<B>(Kind::Contiguous, d, s))
                            .expect("contiguous")
                            .x
                    })
                    .collect();
                let what = format!(
                    "concat of {} parts ({kind} and contiguous) of {shape:?} along {axis}",
                    made.len()
                );
                let (want, want_shape) = reference::concat(&parts, axis);
                assert_exact::<B>(&B::concat(&made, axis), &want_shape, &want, &what);
                let (want, want_shape) = reference::concat(&parts[..1], axis);
                assert_exact::<B>(
                    &B::concat(&made[..1], axis),
                    &want_shape,
                    &want,
                    format_args!("{what}: the first alone"),
                );
                let (want, want_shape) = reference::concat(&parts[1..3], axis);
                assert_exact::<B>(
                    &B::concat(&made[1..3], axis),
                    &want_shape,
                    &want,
                    format_args!("{what}: two"),
                );
            }
        }
    }
}

/// `narrow` along every axis, at every start and length that fits (0 and the whole axis
/// included), from every kind of view; narrowing the parts of a split and joining them with
/// `concat` restores the array.
pub fn narrow_every_axis<B: Backend>() {
    let shapes: [&[usize]; 6] = [
        &[5],
        &[3, 4],
        &[2, 3, 4],
        &[4, 17],
        &[2, 33, 3],
        &[3, 1, 2, 5],
    ];
    for (seed, shape) in shapes.iter().enumerate() {
        let data = mixed::<B::Elem>(numel(shape), 2400 + seed as u64);
        for v in views::<B>(&data, shape) {
            for axis in 0..shape.len() {
                let len = shape[axis];
                for start in 0..=len {
                    for n in 0..=len - start {
                        if len > 6 && n != 0 && n != 1 && n != len - start && start != 1 {
                            continue; // long axes: the interesting starts and lengths only
                        }
                        let mut s = shape.to_vec();
                        s[axis] = n;
                        let want = reference::narrow(&v.data, shape, axis, start, n);
                        let y = B::narrow(&v.x, axis, start, n);
                        assert_exact::<B>(
                            &y,
                            &s,
                            &want,
                            format_args!(
                                "narrow of {} {shape:?} along {axis} from {start} len {n}",
                                v.kind
                            ),
                        );
                    }
                }
                let cut = len / 2;
                let parts = [
                    B::narrow(&v.x, axis, 0, cut),
                    B::narrow(&v.x, axis, cut, len - cut),
                ];
                let joined = B::concat(&parts, axis);
                assert_exact::<B>(
                    &joined,
                    shape,
                    &v.data,
                    format_args!("concat of the halves of {} {shape:?} along {axis}", v.kind),
                );
            }
        }
    }
}

/// `from_vec_2d` reads row-major data as row-major and column-major data as column-major, for
/// square, thin, empty and long matrices; data in the backend's own `layout_2d` order works too.
pub fn from_vec_2d_reads_both_layouts<B: Backend>() {
    let own = B::layout_2d();
    for (seed, shape) in [
        [2, 3],
        [3, 2],
        [1, 7],
        [7, 1],
        [1, 1],
        [0, 4],
        [4, 0],
        [17, 33],
        [70, 65],
    ]
    .iter()
    .enumerate()
    {
        let [rows, cols] = *shape;
        let data = mixed::<B::Elem>(rows * cols, 2500 + seed as u64);
        let col_major = reference::permute(&data, shape, &[1, 0]);
        for (layout, given) in [(Layout::RowMajor, &data), (Layout::ColMajor, &col_major)] {
            let elems: Vec<B::Elem> = given.iter().map(|&v| B::Elem::of(v)).collect();
            let x = B::from_vec_2d(elems, *shape, layout);
            assert_exact::<B>(
                &x,
                shape,
                &data,
                format_args!("from_vec_2d {shape:?} {layout:?}"),
            );
            // The array works as input: one op of each family.
            let t = B::permute(&x, &[1, 0]);
            assert_exact::<B>(
                &t,
                &[cols, rows],
                &col_major,
                format_args!("permute of from_vec_2d {shape:?} {layout:?}"),
            );
            if rows > 0 && cols > 0 {
                assert_eq!(
                    B::argmax(&x, 1),
                    reference::argmax(&data, shape, 1),
                    "{}: argmax of from_vec_2d {shape:?} {layout:?}",
                    who::<B>()
                );
            }
        }
        let in_own_order = if own == Layout::RowMajor {
            &data
        } else {
            &col_major
        };
        let elems = in_own_order.iter().map(|&v| B::Elem::of(v)).collect();
        assert_exact::<B>(
            &B::from_vec_2d(elems, *shape, own),
            shape,
            &data,
            format_args!("from_vec_2d {shape:?} in layout_2d ({own:?})"),
        );
    }
}

/// Layout ops chained on each other's outputs (narrow of a permute of an expand, …) give what
/// the composed definitions give.
pub fn layout_ops_compose<B: Backend>() {
    let data = values::<B::Elem>(3 * 17, 2600);
    let x = store::<B>(&data, &[3, 17]);
    let e = B::expand(&B::reshape(&x, &[3, 1, 17]), &[3, 4, 17]);
    let de = reference::expand(&data, &[3, 1, 17], &[3, 4, 17]);
    let p = B::permute(&e, &[2, 0, 1]);
    let dp = reference::permute(&de, &[3, 4, 17], &[2, 0, 1]);
    let n = B::narrow(&p, 0, 3, 11);
    let dn = reference::narrow(&dp, &[17, 3, 4], 0, 3, 11);
    assert_exact::<B>(&n, &[11, 3, 4], &dn, "narrow of a permute of an expand");
    let r = B::reshape(&n, &[33, 4]);
    assert_exact::<B>(
        &r,
        &[33, 4],
        &dn,
        "reshape of a narrow of a permute of an expand",
    );
    let c = B::concat(&[r.clone(), B::narrow(&r, 0, 1, 2)], 0);
    let (dc, sc) = reference::concat(
        &[(dn.clone(), vec![33, 4]), (dn[4..12].to_vec(), vec![2, 4])],
        0,
    );
    assert_exact::<B>(&c, &sc, &dc, "concat of a reshape and a narrow of it");
    let t = B::permute(&c, &[1, 0]);
    let k = B::narrow(&t, 1, 30, 5);
    let dk = reference::narrow(&reference::permute(&dc, &sc, &[1, 0]), &[4, 35], 1, 30, 5);
    assert_exact::<B>(&k, &[4, 5], &dk, "narrow of a transpose of a concat");
    if let Some(v) = view::<B>(Kind::PaddedTransposed, &data, &[3, 17]) {
        let r = B::reshape(&B::permute(&v.x, &[1, 0]), &[51]);
        assert_exact::<B>(
            &r,
            &[51],
            &reference::permute(&data, &[3, 17], &[1, 0]),
            "reshape of a permuted padded view",
        );
    }
}
