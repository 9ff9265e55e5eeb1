//! The in-place updates: `axpy_in_place` and `unary_in_place`, and the copy-on-write rule
//! (an update never shows through another handle of the same data).

use crate::{Backend, Element, UnaryOp};

use super::reference;
use super::support::{assert_close, assert_exact, mixed, numel, round, store, values};
use super::unary::{all_ops, check_unary, to_elem};
use super::views::{view, Kind};

/// Shapes for the in-place tests.
const SHAPES: [&[usize]; 10] = [
    &[],
    &[1],
    &[0, 3],
    &[2, 3],
    &[17],
    &[3, 33],
    &[5, 67],
    &[2, 3, 4, 5],
    &[4, 130],
    &[1000],
];

/// `dst + alpha · src` in the reference, with the scale of its terms.
fn axpy_reference(dst: &[f64], alpha: f64, src: &[f64]) -> (Vec<f64>, Vec<f64>) {
    dst.iter()
        .zip(src)
        .map(|(&d, &s)| (d + alpha * s, d.abs() + (alpha * s).abs()))
        .unzip()
}

/// `axpy_in_place` computes `dst + alpha · src` for every kind of view as `dst` and as `src`
/// (either side strided, or both), with NaN and ±∞ in the data: exactly when `alpha` is a
/// power of two or 0 (one rounding), within the tolerance otherwise; `src` is left unchanged.
pub fn axpy_in_place_matches_definition<B: Backend>() {
    for (seed, shape) in SHAPES.iter().enumerate() {
        let n = numel(shape);
        let dd = mixed::<B::Elem>(n, 700 + 2 * seed as u64);
        let ds = mixed::<B::Elem>(n, 701 + 2 * seed as u64);
        for kd in Kind::ALL {
            for ks in Kind::ALL {
                if !(kd == ks || kd == Kind::Contiguous || ks == Kind::Contiguous) {
                    continue;
                }
                for alpha in [1.0, -1.0, 0.5, -2.0, 0.0, 0.3] {
                    let (Some(mut d), Some(s)) =
                        (view::<B>(kd, &dd, shape), view::<B>(ks, &ds, shape))
                    else {
                        continue;
                    };
                    let a = B::Elem::of(alpha);
                    B::axpy_in_place(&mut d.x, a, &s.x);
                    let (want, scale) = axpy_reference(&d.data, a.as_f64(), &s.data);
                    let what =
                        format!("axpy_in_place (alpha {alpha}) of {kd} dst and {ks} src {shape:?}");
                    if alpha == 0.3 {
                        assert_close::<B>(&d.x, shape, &want, Some(&scale), what);
                    } else {
                        assert_exact::<B>(&d.x, shape, &want, what);
                    }
                    assert_exact::<B>(&s.x, shape, &s.data, "src after axpy_in_place");
                }
            }
        }
    }
}

/// `unary_in_place` gives what `unary` is defined to give, for every op and every kind of
/// view as `dst`.
pub fn unary_in_place_matches_definition<B: Backend>() {
    for (seed, shape) in SHAPES.iter().enumerate() {
        let data = mixed::<B::Elem>(numel(shape), 800 + seed as u64);
        for kind in Kind::ALL {
            for op in all_ops() {
                let Some(mut v) = view::<B>(kind, &data, shape) else {
                    continue;
                };
                B::unary_in_place(&mut v.x, to_elem::<B::Elem>(op));
                check_unary::<B>(
                    &v.x,
                    op,
                    &v.data,
                    shape,
                    &format!("unary_in_place of {kind} dst:"),
                );
            }
        }
    }
}

/// A handle derived from another array's data: how, the array, its shape and its data.
type Derived<S> = (&'static str, S, Vec<usize>, Vec<f64>);

/// The handles of `base`'s data (shape `[4, 6]`) a layout op or a clone can give, each with
/// its shape and row-major data.
fn derived<B: Backend>(base: &B::Storage, data: &[f64]) -> Vec<Derived<B::Storage>> {
    let t = reference::permute(data, &[4, 6], &[1, 0]);
    let rows = data[6..18].to_vec();
    let cols: Vec<f64> = (0..4)
        .flat_map(|r| data[r * 6 + 1..r * 6 + 4].to_vec())
        .collect();
    vec![
        ("clone", base.clone(), vec![4, 6], data.to_vec()),
        (
            "reshape",
            B::reshape(base, &[2, 2, 6]),
            vec![2, 2, 6],
            data.to_vec(),
        ),
        (
            "flat reshape",
            B::reshape(base, &[24]),
            vec![24],
            data.to_vec(),
        ),
        ("permute", B::permute(base, &[1, 0]), vec![6, 4], t),
        ("narrow rows", B::narrow(base, 0, 1, 2), vec![2, 6], rows),
        ("narrow columns", B::narrow(base, 1, 1, 3), vec![4, 3], cols),
        (
            "expand",
            B::expand(base, &[1, 4, 6]),
            vec![1, 4, 6],
            data.to_vec(),
        ),
        (
            "concat of one",
            B::concat(std::slice::from_ref(base), 0),
            vec![4, 6],
            data.to_vec(),
        ),
    ]
}

/// In-place updates copy before writing to data another handle shares: updating a clone or an
/// array a layout op derived (reshape, permute, narrow, expand, concat of one) leaves the
/// original alone, updating the original leaves the derived ones alone, and `dst` may be a
/// clone of `src`.
pub fn in_place_updates_leave_other_handles_alone<B: Backend>() {
    let data = values::<B::Elem>(24, 900);
    let plus1: Vec<f64> = data.iter().map(|v| round::<B::Elem>(v + 1.0)).collect();
    let e = B::Elem::of;
    // Updating each derived handle.
    let base = store::<B>(&data, &[4, 6]);
    for (name, mut d, shape, dd) in derived::<B>(&base, &data) {
        B::unary_in_place(&mut d, UnaryOp::AddScalar(e(1.0)));
        let want: Vec<f64> = dd.iter().map(|v| round::<B::Elem>(v + 1.0)).collect();
        assert_exact::<B>(
            &d,
            &shape,
            &want,
            format_args!("unary_in_place of a {name}"),
        );
        assert_exact::<B>(
            &base,
            &[4, 6],
            &data,
            format_args!("original after unary_in_place of a {name}"),
        );
        let ones = B::full(&shape, e(1.0));
        B::axpy_in_place(&mut d, e(-1.0), &ones);
        let back: Vec<f64> = want.iter().map(|v| round::<B::Elem>(v - 1.0)).collect();
        assert_exact::<B>(&d, &shape, &back, format_args!("axpy_in_place of a {name}"));
        assert_exact::<B>(
            &base,
            &[4, 6],
            &data,
            format_args!("original after axpy_in_place of a {name}"),
        );
    }
    // Updating the original while the derived handles live.
    let mut base = store::<B>(&data, &[4, 6]);
    let handles = derived::<B>(&base, &data);
    B::unary_in_place(&mut base, UnaryOp::AddScalar(e(1.0)));
    assert_exact::<B>(
        &base,
        &[4, 6],
        &plus1,
        "unary_in_place of an array with derived handles",
    );
    let ones = B::full(&[4, 6], e(1.0));
    B::axpy_in_place(&mut base, e(1.0), &ones);
    let plus2: Vec<f64> = plus1.iter().map(|v| v + 1.0).collect();
    assert_exact::<B>(
        &base,
        &[4, 6],
        &plus2,
        "axpy_in_place of an array with derived handles",
    );
    for (name, d, shape, dd) in handles {
        assert_exact::<B>(
            &d,
            &shape,
            &dd,
            format_args!("a {name} after the original was updated"),
        );
    }
    // dst += 2 · dst, through a clone.
    let mut x = store::<B>(&data, &[4, 6]);
    let alias = x.clone();
    B::axpy_in_place(&mut x, e(2.0), &alias);
    let want: Vec<f64> = data.iter().map(|v| v + 2.0 * v).collect();
    assert_exact::<B>(&x, &[4, 6], &want, "axpy_in_place with src a clone of dst");
    assert_exact::<B>(&alias, &[4, 6], &data, "the clone after axpy_in_place");
    // dst += src where src is dst permuted twice (the same values, maybe the same buffer).
    let mut x = store::<B>(&data, &[4, 6]);
    let twice = B::permute(&B::permute(&x, &[1, 0]), &[1, 0]);
    B::axpy_in_place(&mut x, e(-1.0), &twice);
    assert_exact::<B>(
        &x,
        &[4, 6],
        &[0.0; 24],
        "axpy_in_place of x − x through a double permute",
    );
    assert_exact::<B>(
        &twice,
        &[4, 6],
        &data,
        "the permuted handle after axpy_in_place",
    );
}

/// Repeated in-place updates accumulate (each sees the previous one's result), on contiguous
/// and strided `dst` alike.
pub fn in_place_updates_accumulate<B: Backend>() {
    let shape = [5, 33];
    let data = values::<B::Elem>(165, 950);
    let src = values::<B::Elem>(165, 951);
    for kind in Kind::SAME_DATA {
        let Some(mut d) = view::<B>(kind, &data, &shape) else {
            continue;
        };
        let s = store::<B>(&src, &shape);
        let mut want = data.clone();
        for _ in 0..3 {
            B::axpy_in_place(&mut d.x, B::Elem::of(0.5), &s);
            B::unary_in_place(&mut d.x, UnaryOp::MulScalar(B::Elem::of(-2.0)));
            for (w, &s) in want.iter_mut().zip(&src) {
                *w = round::<B::Elem>(*w + 0.5 * s) * -2.0;
            }
        }
        assert_exact::<B>(
            &d.x,
            &shape,
            &want,
            format_args!("three axpy/MulScalar rounds on a {kind} dst"),
        );
    }
}
