//! Per-channel sums and affine maps (batch normalization's passes), on every view of the
//! operands, for ranks 2 to 4, against their definitions.

use crate::{composed, Backend};

use super::support::{assert_close, mixed, numel, store};
use super::views::views;

const SHAPES: [&[usize]; 4] = [&[5, 3], &[2, 3, 4], &[2, 3, 4, 5], &[16, 8, 13, 12]];

/// Finite test data: the suite's mixed values with the special ones replaced.
fn finite<B: Backend>(n: usize, seed: u64) -> Vec<f64> {
    mixed::<B::Elem>(n, seed)
        .into_iter()
        .map(|v| if v.is_finite() { v } else { 0.75 })
        .collect()
}

/// The channel of each row-major element of an array of `shape`.
fn channel_of(shape: &[usize]) -> Vec<usize> {
    let inner: usize = shape[2..].iter().product();
    (0..numel(shape)).map(|i| i / inner % shape[1]).collect()
}

/// `channel_sums` gives each channel's sum of `a` and of `a · b` (or `a²`).
pub fn channel_sums_match_definition<B: Backend>() {
    for (seed, &shape) in SHAPES.iter().enumerate() {
        let c = shape[1];
        let a = finite::<B>(numel(shape), 9500 + seed as u64);
        let b = finite::<B>(numel(shape), 9600 + seed as u64);
        let ch = channel_of(shape);
        for with_b in [false, true] {
            let other = if with_b { &b } else { &a };
            let (mut s, mut p, mut ss, mut ps) =
                (vec![0.0; c], vec![0.0; c], vec![0.0; c], vec![0.0; c]);
            for i in 0..a.len() {
                s[ch[i]] += a[i];
                ss[ch[i]] += a[i].abs();
                p[ch[i]] += a[i] * other[i];
                ps[ch[i]] += (a[i] * other[i]).abs();
            }
            for v in views::<B>(&a, shape) {
                if v.data != a {
                    continue; // an expanded view holds other data
                }
                let bs = store::<B>(other, shape);
                let what = format!("channel_sums of {} {shape:?} (b given: {with_b})", v.kind);
                let (got_s, got_p) = B::channel_sums(&v.x, with_b.then_some(&bs));
                assert_close::<B>(&got_s, &[c], &s, Some(&ss), &what);
                assert_close::<B>(&got_p, &[c], &p, Some(&ps), &what);
                let (got_s, got_p) = composed::channel_sums::<B>(&v.x, with_b.then_some(&bs));
                assert_close::<B>(&got_s, &[c], &s, Some(&ss), format!("composed {what}"));
                assert_close::<B>(&got_p, &[c], &p, Some(&ps), format!("composed {what}"));
            }
        }
    }
}

/// `channel_affine` computes `a · alpha[c] + b · beta[c] + gamma[c]` element by element.
pub fn channel_affine_matches_definition<B: Backend>() {
    for (seed, &shape) in SHAPES.iter().enumerate() {
        let c = shape[1];
        let a = finite::<B>(numel(shape), 9700 + seed as u64);
        let b = finite::<B>(numel(shape), 9800 + seed as u64);
        let coef = finite::<B>(3 * c, 9900 + seed as u64);
        let (alpha, beta, gamma) = (&coef[..c], &coef[c..2 * c], &coef[2 * c..]);
        let ch = channel_of(shape);
        let (al, be, ga) = (
            store::<B>(alpha, &[c]),
            store::<B>(beta, &[c]),
            store::<B>(gamma, &[c]),
        );
        for with_b in [false, true] {
            let mut want = Vec::new();
            let mut scale = Vec::new();
            for i in 0..a.len() {
                let t = [
                    a[i] * alpha[ch[i]],
                    if with_b { b[i] * beta[ch[i]] } else { 0.0 },
                    gamma[ch[i]],
                ];
                want.push(t.iter().sum::<f64>());
                scale.push(t.iter().map(|v| v.abs()).sum::<f64>());
            }
            for v in views::<B>(&a, shape) {
                if v.data != a {
                    continue;
                }
                let bs = store::<B>(&b, shape);
                let what = format!("channel_affine of {} {shape:?} (b given: {with_b})", v.kind);
                let y = B::channel_affine(&v.x, &al, with_b.then_some((&bs, &be)), &ga);
                assert_close::<B>(&y, shape, &want, Some(&scale), &what);
                let y = composed::channel_affine::<B>(&v.x, &al, with_b.then_some((&bs, &be)), &ga);
                assert_close::<B>(&y, shape, &want, Some(&scale), format!("composed {what}"));
            }
        }
    }
}
