//! The fused optimizer steps: `sgd_momentum_step` and `adam_step`, against their formulas (in
//! `f64`, within the tolerance) and against the composed defaults of [`crate::composed`] (bit
//! for bit, as the trait's docs promise).

use crate::{composed, AdamStep, Backend, MomentumStep};

use super::reference;
use super::support::{
    assert_close, assert_exact, assert_same_bits, numel, read, store, values, who,
};
use super::views::{view, Kind};

/// Shapes for the optimizer tests: scalar, short, not multiples of 8, empty, a layer's weight,
/// and one large enough that a CPU backend shares its update out over threads.
const SHAPES: [&[usize]; 9] = [
    &[],
    &[1],
    &[7],
    &[33],
    &[5, 17],
    &[0, 3],
    &[70, 65],
    &[2, 3, 4],
    &[130, 131],
];

/// Every combination of dampening, weight decay, Nesterov and maximize.
fn momentum_settings() -> Vec<MomentumStep> {
    let mut out = Vec::new();
    for dampening in [0.0, 0.1] {
        for weight_decay in [0.0, 0.01] {
            for nesterov in [false, true] {
                for maximize in [false, true] {
                    out.push(MomentumStep {
                        lr: 0.1,
                        momentum: 0.9,
                        dampening,
                        weight_decay,
                        nesterov,
                        maximize,
                    });
                }
            }
        }
    }
    out
}

/// Adam settings: first and later steps, weight decay, maximize, a large and a small `eps`.
fn adam_settings() -> Vec<AdamStep> {
    let adam = |lr: f64, t: i32, eps: f64, weight_decay: f64, maximize: bool| {
        let (beta1, beta2) = (0.9, 0.999);
        AdamStep {
            lr,
            beta1,
            beta2,
            eps,
            weight_decay,
            maximize,
            bias_correction1: 1.0 - beta1.powi(t),
            bias_correction2: 1.0 - beta2.powi(t),
        }
    };
    vec![
        adam(1e-3, 1, 1e-8, 0.0, false),
        adam(0.1, 10, 1e-8, 0.01, true),
        adam(0.01, 3, 1e-3, 0.1, false),
        adam(0.5, 1000, 1e-8, 0.0, true),
    ]
}

/// SGD with momentum in `f64`, per element: the new parameter and buffer and their scales.
fn momentum_reference(p: &[f64], b: &[f64], g: &[f64], s: &MomentumStep) -> [Vec<f64>; 4] {
    let mut out: [Vec<f64>; 4] = Default::default();
    let (m, d, wd, lr, sign) = (s.momentum, s.dampening, s.weight_decay, s.lr, s.sign());
    for i in 0..p.len() {
        let nb = m * b[i] + (1.0 - d) * (sign * g[i] + wd * p[i]);
        let nb_scale = (m * b[i]).abs() + (1.0 - d) * (g[i].abs() + (wd * p[i]).abs());
        let (np, np_scale) = if s.nesterov {
            (
                p[i] - lr * (sign * g[i] + wd * p[i] + m * nb),
                p[i].abs() + lr * (g[i].abs() + (wd * p[i]).abs() + m * nb_scale),
            )
        } else {
            (p[i] - lr * nb, p[i].abs() + lr * nb_scale)
        };
        out[0].push(np);
        out[1].push(np_scale);
        out[2].push(nb);
        out[3].push(nb_scale);
    }
    out
}

/// `sgd_momentum_step` updates the buffer (`b ← momentum·b + (1 − dampening)·(s·g + wd·p)`) and
/// then the parameter as [`MomentumStep`] defines, for every combination of settings, over two
/// steps, with the parameter, buffer and gradient each as every kind of view; and it gives the
/// bits of `composed::sgd_momentum_step`.
pub fn sgd_momentum_step_matches_definition<B: Backend>() {
    for (seed, shape) in SHAPES.iter().enumerate() {
        let n = numel(shape);
        let seed = 6000 + 4 * seed as u64;
        let (dp, db, dg) = (
            values::<B::Elem>(n, seed),
            values::<B::Elem>(n, seed + 1),
            values::<B::Elem>(n, seed + 2),
        );
        for step in momentum_settings() {
            for (kp, kb, kg) in kind_triples() {
                let made = |k: Kind, d: &[f64]| view::<B>(k, d, shape).map(|v| v.x);
                let (Some(mut p), Some(mut b), Some(g)) =
                    (made(kp, &dp), made(kb, &db), made(kg, &dg))
                else {
                    continue;
                };
                let (mut sp, mut sb) = (store::<B>(&dp, shape), store::<B>(&db, shape));
                let what = format!(
                    "sgd_momentum_step {step:?} of {shape:?} ({kp} param, {kb} buffer, {kg} grad)"
                );
                let (mut rp, mut rb) = (dp.clone(), db.clone());
                for round in 0..2 {
                    B::sgd_momentum_step(&mut p, &mut b, &g, &step);
                    composed::sgd_momentum_step::<B>(&mut sp, &mut sb, &g, &step);
                    let [np, np_scale, nb, nb_scale] = momentum_reference(&rp, &rb, &dg, &step);
                    assert_close::<B>(
                        &b,
                        shape,
                        &nb,
                        Some(&nb_scale),
                        format!("{what}, step {round}: buffer"),
                    );
                    assert_close::<B>(
                        &p,
                        shape,
                        &np,
                        Some(&np_scale),
                        format!("{what}, step {round}: param"),
                    );
                    assert_same_bits::<B>(
                        &b,
                        &sb,
                        format!("{what}, step {round}: buffer against the composed default"),
                    );
                    assert_same_bits::<B>(
                        &p,
                        &sp,
                        format!("{what}, step {round}: param against the composed default"),
                    );
                    (rp, rb) = (read::<B>(&p), read::<B>(&b));
                }
                assert_exact::<B>(
                    &g,
                    shape,
                    &dg,
                    format!("{what}: the gradient after the steps"),
                );
            }
        }
    }
}

/// Adam in `f64`, per element: the new parameter and moments and their scales.
fn adam_reference(p: &[f64], m: &[f64], v: &[f64], g: &[f64], s: &AdamStep) -> [Vec<f64>; 6] {
    let mut out: [Vec<f64>; 6] = Default::default();
    for i in 0..p.len() {
        let gi = s.sign() * g[i] + s.weight_decay * p[i];
        let gi_scale = g[i].abs() + (s.weight_decay * p[i]).abs();
        let nm = s.beta1 * m[i] + (1.0 - s.beta1) * gi;
        let nv = s.beta2 * v[i] + (1.0 - s.beta2) * gi * gi;
        let nm_scale = (s.beta1 * m[i]).abs() + (1.0 - s.beta1) * gi_scale;
        let denom = nv.sqrt() / s.bias_correction2.sqrt() + s.eps;
        let step = s.lr / s.bias_correction1 * nm / denom;
        out[0].push(p[i] - step);
        // The step's error is relative to the terms of `m`, which may cancel.
        out[1].push(p[i].abs() + s.lr / s.bias_correction1 * nm_scale / denom);
        out[2].push(nm);
        out[3].push(nm_scale);
        out[4].push(nv);
        out[5].push(s.beta2 * v[i] + (1.0 - s.beta2) * gi_scale * gi_scale);
    }
    out
}

/// The kinds of the three (or four) inputs of a step: all the same kind, or one of them a view
/// and the others contiguous.
fn kind_triples() -> Vec<(Kind, Kind, Kind)> {
    let c = Kind::Contiguous;
    let mut out = Vec::new();
    for k in Kind::SAME_DATA {
        out.push((k, k, k));
        if k != c {
            out.extend([(k, c, c), (c, k, c), (c, c, k)]);
        }
    }
    out
}

/// `adam_step` updates both moments and then the parameter as [`AdamStep`] defines (first and
/// later steps, weight decay, maximize), over two steps, with the inputs as every kind of view
/// and a parameter large enough to be split over threads; and it gives the bits of
/// `composed::adam_step`.
pub fn adam_step_matches_definition<B: Backend>() {
    let shapes = SHAPES.iter().map(|s| s.to_vec()).chain([vec![300, 300]]);
    for (seed, shape) in shapes.enumerate() {
        let n = numel(&shape);
        let seed = 6100 + 4 * seed as u64;
        let dp = values::<B::Elem>(n, seed);
        let dm = values::<B::Elem>(n, seed + 1)
            .iter()
            .map(|x| x * 0.25)
            .collect::<Vec<_>>();
        let dv = values::<B::Elem>(n, seed + 2)
            .iter()
            .map(|x| x * x)
            .collect::<Vec<_>>();
        let dg = values::<B::Elem>(n, seed + 3);
        let (dm, dv) = (
            read::<B>(&store::<B>(&dm, &shape)),
            read::<B>(&store::<B>(&dv, &shape)),
        );
        let triples = if n > 10_000 {
            vec![(Kind::Contiguous, Kind::Contiguous, Kind::Contiguous)]
        } else {
            kind_triples()
        };
        for step in adam_settings() {
            for &(kp, km, kg) in &triples {
                let made = |k: Kind, d: &[f64]| view::<B>(k, d, &shape).map(|v| v.x);
                let (Some(mut p), Some(mut m), Some(mut v), Some(g)) =
                    (made(kp, &dp), made(km, &dm), made(km, &dv), made(kg, &dg))
                else {
                    continue;
                };
                let (mut sp, mut sm, mut sv) = (
                    store::<B>(&dp, &shape),
                    store::<B>(&dm, &shape),
                    store::<B>(&dv, &shape),
                );
                let what = format!(
                    "adam_step {step:?} of {shape:?} ({kp} param, {km} moments, {kg} grad)"
                );
                let (mut rp, mut rm, mut rv) = (dp.clone(), dm.clone(), dv.clone());
                for round in 0..2 {
                    B::adam_step(&mut p, &mut m, &mut v, &g, &step);
                    composed::adam_step::<B>(&mut sp, &mut sm, &mut sv, &g, &step);
                    let [np, np_scale, nm, nm_scale, nv, nv_scale] =
                        adam_reference(&rp, &rm, &rv, &dg, &step);
                    assert_close::<B>(
                        &m,
                        &shape,
                        &nm,
                        Some(&nm_scale),
                        format!("{what}, step {round}: exp_avg"),
                    );
                    assert_close::<B>(
                        &v,
                        &shape,
                        &nv,
                        Some(&nv_scale),
                        format!("{what}, step {round}: exp_avg_sq"),
                    );
                    assert_close::<B>(
                        &p,
                        &shape,
                        &np,
                        Some(&np_scale),
                        format!("{what}, step {round}: param"),
                    );
                    assert_same_bits::<B>(
                        &m,
                        &sm,
                        format!("{what}, step {round}: exp_avg against the composed default"),
                    );
                    assert_same_bits::<B>(
                        &v,
                        &sv,
                        format!("{what}, step {round}: exp_avg_sq against the composed default"),
                    );
                    assert_same_bits::<B>(
                        &p,
                        &sp,
                        format!("{what}, step {round}: param against the composed default"),
                    );
                    (rp, rm, rv) = (read::<B>(&p), read::<B>(&m), read::<B>(&v));
                }
                assert_exact::<B>(
                    &g,
                    &shape,
                    &dg,
                    format!("{what}: the gradient after the steps"),
                );
            }
        }
    }
}

/// The optimizer steps update only the arrays they are given: clones of the parameter and its
/// state taken before a step (and arrays a layout op derived from them) keep their values.
pub fn optimizer_steps_leave_other_handles_alone<B: Backend>() {
    let shape = [5, 17];
    let (dp, db, dg) = (
        values::<B::Elem>(85, 6200),
        values::<B::Elem>(85, 6201),
        values::<B::Elem>(85, 6202),
    );
    let (mut p, mut b, g) = (
        store::<B>(&dp, &shape),
        store::<B>(&db, &shape),
        store::<B>(&dg, &shape),
    );
    let (p0, b0, pr) = (p.clone(), b.clone(), B::reshape(&p, &[85]));
    B::sgd_momentum_step(&mut p, &mut b, &g, &momentum_settings()[5]);
    assert_exact::<B>(
        &p0,
        &shape,
        &dp,
        "a clone of the parameter after sgd_momentum_step",
    );
    assert_exact::<B>(
        &b0,
        &shape,
        &db,
        "a clone of the buffer after sgd_momentum_step",
    );
    assert_exact::<B>(
        &pr,
        &[85],
        &dp,
        "a reshape of the parameter after sgd_momentum_step",
    );
    assert_ne!(
        read::<B>(&p),
        dp,
        "{}: sgd_momentum_step left the parameter as it was",
        who::<B>()
    );

    let dm = vec![0.0; 85];
    let (mut p, mut m, mut v) = (
        store::<B>(&dp, &shape),
        store::<B>(&dm, &shape),
        store::<B>(&dm, &shape),
    );
    let (p0, m0, v0, pt) = (p.clone(), m.clone(), v.clone(), B::permute(&p, &[1, 0]));
    B::adam_step(&mut p, &mut m, &mut v, &g, &adam_settings()[1]);
    assert_exact::<B>(&p0, &shape, &dp, "a clone of the parameter after adam_step");
    assert_exact::<B>(&m0, &shape, &dm, "a clone of exp_avg after adam_step");
    assert_exact::<B>(&v0, &shape, &dm, "a clone of exp_avg_sq after adam_step");
    let t = reference::permute(&dp, &shape, &[1, 0]);
    assert_exact::<B>(
        &pt,
        &[17, 5],
        &t,
        "a permute of the parameter after adam_step",
    );
    assert_ne!(
        read::<B>(&p),
        dp,
        "{}: adam_step left the parameter as it was",
        who::<B>()
    );
}
