//! The fused cross-entropy: `cross_entropy` and `cross_entropy_backward`, against its
//! definition (PyTorch's `F.cross_entropy` on logits) and against the composed default
//! [`crate::composed`], which is its specification.

use crate::{composed, Backend, CrossEntropyForward, Reduction};

use super::support::{assert_close, check_values, read, round, store, values, who, Lcg};
use super::views::{view, Kind};

/// The reference forward: per row the maximum, `exp(x − max)`, the sums, the loss, and the
/// scales their errors are measured against (see [`super::support::near`]).
struct Forward {
    exps: Vec<f64>,
    exps_scale: Vec<f64>,
    sums: Vec<f64>,
    sums_scale: Vec<f64>,
    loss: Vec<f64>,
    loss_scale: Vec<f64>,
}

/// The loss of each row, `ln(Σ_j exp(x_ij − max_i)) + max_i − x_i[label_i]`, and what goes
/// into it. The scale of `exp(x − max)` grows with `|x − max|`, which the exponential turns
/// from an absolute error of the subtraction into a relative one.
fn forward(x: &[f64], classes: usize, labels: &[usize]) -> Forward {
    let mut f = Forward {
        exps: vec![],
        exps_scale: vec![],
        sums: vec![],
        sums_scale: vec![],
        loss: vec![],
        loss_scale: vec![],
    };
    for (i, &label) in labels.iter().enumerate() {
        let row = &x[i * classes..(i + 1) * classes];
        let max = if row.iter().any(|v| v.is_nan()) {
            f64::NAN
        } else {
            row.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        };
        let (mut sum, mut sum_scale) = (0.0, 0.0);
        for &v in row {
            let e = (v - max).exp();
            let s = if e == 0.0 {
                0.0
            } else {
                e * (1.0 + (v - max).abs())
            };
            f.exps.push(e);
            f.exps_scale.push(s);
            sum += e;
            sum_scale += s;
        }
        let picked = row[label];
        f.loss.push(sum.ln() + max - picked);
        f.loss_scale
            .push(sum.ln().abs() + max.abs() + picked.abs() + sum_scale / sum);
        f.sums.push(sum);
        f.sums_scale.push(sum_scale);
    }
    f
}

/// The loss reduced as `reduction` says, with its scale.
fn reduced(f: &Forward, reduction: Reduction) -> (Vec<f64>, Vec<f64>, Vec<usize>) {
    let batch = f.loss.len();
    let (total, scale) = (f.loss.iter().sum::<f64>(), f.loss_scale.iter().sum::<f64>());
    match reduction {
        Reduction::None => (f.loss.clone(), f.loss_scale.clone(), vec![batch]),
        Reduction::Sum => (vec![total], vec![scale], vec![]),
        Reduction::Mean => (
            vec![total / batch as f64],
            vec![scale / batch as f64],
            vec![],
        ),
    }
}

/// `(softmax(x) − one_hot(labels)) · w_i` with its scale.
fn backward(
    f: &Forward,
    classes: usize,
    labels: &[usize],
    reduction: Reduction,
    grad: &[f64],
) -> (Vec<f64>, Vec<f64>) {
    let batch = labels.len();
    let mut out = (vec![], vec![]);
    for (i, &label) in labels.iter().enumerate() {
        let w = match reduction {
            Reduction::Mean => grad[0] / batch as f64,
            Reduction::Sum => grad[0],
            Reduction::None => grad[i],
        };
        for j in 0..classes {
            let p = f.exps[i * classes + j] / f.sums[i];
            let hot = if j == label { 1.0 } else { 0.0 };
            out.0.push((p - hot) * w);
            let p_scale =
                f.exps_scale[i * classes + j] / f.sums[i] + p * f.sums_scale[i] / f.sums[i];
            out.1.push((p_scale + hot) * w.abs());
        }
    }
    out
}

/// `batch` labels below `classes`, the first 0 and the last `classes − 1`.
fn labels(batch: usize, classes: usize, seed: u64) -> Vec<usize> {
    let mut g = Lcg::new(seed);
    let mut l: Vec<usize> = (0..batch).map(|_| g.below(classes)).collect();
    if batch > 1 {
        l[0] = 0;
        l[batch - 1] = classes - 1;
    }
    l
}

/// The gradient of the loss fed to the backward: a scalar, or one value per row.
fn grad_of(reduction: Reduction, batch: usize, seed: u64) -> (Vec<f64>, Vec<usize>) {
    match reduction {
        Reduction::None => (values::<f64>(batch, seed), vec![batch]),
        _ => (vec![-0.75], vec![]),
    }
}

/// Checks the backend's forward and backward on `logits` against the reference and against the
/// composed default.
fn check<B: Backend>(
    logits: &B::Storage,
    x: &[f64],
    [batch, classes]: [usize; 2],
    labels: &[usize],
    reduction: Reduction,
    what: &str,
) {
    let what = format!("{what} cross_entropy {batch}×{classes} {reduction:?}");
    let f = forward(x, classes, labels);
    let got = B::cross_entropy(logits, labels, reduction);
    let (loss, loss_scale, loss_shape) = reduced(&f, reduction);
    assert_close::<B>(
        &got.loss,
        &loss_shape,
        &loss,
        Some(&loss_scale),
        format!("{what}: loss"),
    );
    assert_close::<B>(
        &got.exps,
        &[batch, classes],
        &f.exps,
        Some(&f.exps_scale),
        format!("{what}: exps"),
    );
    assert_close::<B>(
        &got.sums,
        &[batch],
        &f.sums,
        Some(&f.sums_scale),
        format!("{what}: sums"),
    );
    let spec: CrossEntropyForward<B::Storage> =
        composed::cross_entropy::<B>(logits, labels, reduction);
    check_values::<B>(
        &read::<B>(&got.loss),
        &read::<B>(&spec.loss),
        Some(&loss_scale),
        format!("{what}: loss against the composed default"),
    );

    let (g, g_shape) = grad_of(reduction, batch, 5000 + batch as u64);
    let gs = store::<B>(&g, &g_shape);
    let (want, scale) = backward(&f, classes, labels, reduction, &read::<B>(&gs));
    let dx = B::cross_entropy_backward(&got, labels, reduction, &gs);
    assert_close::<B>(
        &dx,
        &[batch, classes],
        &want,
        Some(&scale),
        format!("{what}: backward"),
    );
    let spec_dx = composed::cross_entropy_backward::<B>(&spec, labels, reduction, &gs);
    check_values::<B>(
        &read::<B>(&dx),
        &read::<B>(&spec_dx),
        Some(&scale),
        format!("{what}: backward against the composed default"),
    );
    // The forward's saved values serve a second backward.
    let again = B::cross_entropy_backward(&got, labels, reduction, &gs);
    assert_close::<B>(
        &again,
        &[batch, classes],
        &want,
        Some(&scale),
        format!("{what}: second backward"),
    );
}

const REDUCTIONS: [Reduction; 3] = [Reduction::Mean, Reduction::Sum, Reduction::None];

/// `cross_entropy` and its backward match the definition (loss, saved `exps` and `sums`,
/// gradient) and the composed default, for every reduction, batches of 1 to 64 rows of 1 to
/// 1000 classes, and logits as every kind of 2-D view; an empty batch has a zero sum.
pub fn cross_entropy_matches_definition<B: Backend>() {
    let shapes = [
        [1, 1],
        [1, 2],
        [2, 3],
        [5, 10],
        [17, 33],
        [64, 10],
        [3, 100],
        [8, 130],
        [1, 1000],
    ];
    for (seed, [batch, classes]) in shapes.into_iter().enumerate() {
        let x = values::<B::Elem>(batch * classes, 5100 + seed as u64)
            .iter()
            .map(|v| round::<B::Elem>(v * 3.0))
            .collect::<Vec<f64>>();
        let l = labels(batch, classes, seed as u64);
        for kind in [
            Kind::Contiguous,
            Kind::Offset,
            Kind::Transposed,
            Kind::Padded,
            Kind::PaddedTransposed,
        ] {
            let v = view::<B>(kind, &x, &[batch, classes]).expect("2-D view");
            for reduction in REDUCTIONS {
                check::<B>(
                    &v.x,
                    &x,
                    [batch, classes],
                    &l,
                    reduction,
                    &format!("{kind} logits:"),
                );
            }
        }
    }
    // An empty batch: the sum is 0, the per-row loss empty.
    let empty = store::<B>(&[], &[0, 5]);
    for reduction in [Reduction::Sum, Reduction::None] {
        check::<B>(&empty, &[], [0, 5], &[], reduction, "empty");
    }
}

/// Logits of magnitude 1e4 (as in PyTorch, no overflow: the row maximum is subtracted) give
/// finite, correct losses; `−∞` logits away from the label count as probability 0, and at
/// the label give an infinite loss.
pub fn cross_entropy_is_stable_for_large_logits<B: Backend>() {
    let (batch, classes) = (6, 33);
    let mut x: Vec<f64> = values::<B::Elem>(batch * classes, 5200)
        .iter()
        .map(|v| round::<B::Elem>((v * 10.0).round() + if *v > 0.0 { 1e4 } else { -1e4 }))
        .collect();
    let l = labels(batch, classes, 7);
    // Row 3: −∞ everywhere but the label and one other class; row 4: −∞ at the label.
    for j in 0..classes {
        if j != l[3] && j != (l[3] + 1) % classes {
            x[3 * classes + j] = f64::NEG_INFINITY;
        }
    }
    x[4 * classes + l[4]] = f64::NEG_INFINITY;
    let logits = store::<B>(&x, &[batch, classes]);
    for reduction in REDUCTIONS {
        let f = forward(&x, classes, &l);
        let got = B::cross_entropy(&logits, &l, reduction);
        let (loss, scale, shape) = reduced(&f, reduction);
        assert_close::<B>(
            &got.loss,
            &shape,
            &loss,
            Some(&scale),
            format!("cross_entropy of ±1e4 and −∞ logits {reduction:?}"),
        );
        let per_row = read::<B>(&B::cross_entropy(&logits, &l, Reduction::None).loss);
        for (i, v) in per_row.iter().enumerate() {
            assert_eq!(
                v.is_finite(),
                i != 4,
                "{}: cross_entropy of large logits, row {i}: {v}",
                who::<B>()
            );
        }
    }
    // Large logits alone (no −∞): the gradient too.
    let x: Vec<f64> = values::<B::Elem>(batch * classes, 5201)
        .iter()
        .map(|v| round::<B::Elem>((v * 10.0).round() + 1e4))
        .collect();
    check::<B>(
        &store::<B>(&x, &[batch, classes]),
        &x,
        [batch, classes],
        &l,
        Reduction::Mean,
        "±1e4 logits:",
    );
}

/// A NaN logit makes its row's loss NaN (and a reduced loss NaN), leaving the other rows'
/// losses as they are.
pub fn cross_entropy_nan_logit_gives_nan_loss<B: Backend>() {
    let (batch, classes) = (4, 17);
    let x0 = values::<B::Elem>(batch * classes, 5300);
    let l = labels(batch, classes, 9);
    for pos in [0, 5, classes - 1] {
        let mut x = x0.clone();
        x[classes + pos] = f64::NAN;
        x[2 * classes + l[2]] = f64::NAN;
        let logits = store::<B>(&x, &[batch, classes]);
        let f = forward(&x, classes, &l);
        let got = read::<B>(&B::cross_entropy(&logits, &l, Reduction::None).loss);
        check_values::<B>(
            &got,
            &f.loss,
            Some(&f.loss_scale),
            format_args!("cross_entropy with NaN logits at {pos} and a NaN label logit"),
        );
        assert!(
            got[1].is_nan() && got[2].is_nan() && !got[0].is_nan(),
            "{}: NaN rows",
            who::<B>()
        );
        for reduction in [Reduction::Mean, Reduction::Sum] {
            let loss = read::<B>(&B::cross_entropy(&logits, &l, reduction).loss);
            assert!(
                loss.len() == 1 && loss[0].is_nan(),
                "{}: {reduction:?} cross_entropy with a NaN logit: {loss:?}",
                who::<B>()
            );
        }
    }
}
