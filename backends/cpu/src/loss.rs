//! Cross-entropy on logits over row-major host buffers: the CPU backends' kernels for
//! [`Backend::cross_entropy`] and its backward.

use duograd_backend::{Backend, CrossEntropyForward, Element, Reduction};

use crate::fast_exp::exp_in_place;
use crate::fast_ln::ln_in_place;

/// The rows of a row-major `(batch, classes)` matrix. (`classes` is 0 only when `batch` is too,
/// since no label is below 0; `max(1)` spares `chunks_exact` its panic on a chunk size of 0.)
fn rows_mut<E>(x: &mut [E], classes: usize) -> std::slice::ChunksExactMut<'_, E> {
    x.chunks_exact_mut(classes.max(1))
}

/// The fused forward on the row-major logits `x` (consumed as scratch space): per row `i`,
/// `lse_i = max_i + ln(sum_j exp(x_ij - max_i))` and `loss_i = lse_i - x_i[label_i]`. Returns
/// the `exp(x_ij - max_i)` (in `x`'s buffer), each row's sum of them, and the per-row losses.
///
/// Subtracting the row maximum keeps every `exp` in `[0, 1]`, so logits of ±1e4 neither overflow
/// nor lose the row. The work is a few flat passes rather than one loop per row, so that the
/// `exp`s, most of the op's cost, run as one vectorized sweep (`fast_exp::exp_in_place`).
///
/// ```
/// let (exps, sums, loss) = duograd_cpu::loss::cross_entropy_rows(vec![0.0f64, 0.0], 2, &[1]);
/// assert_eq!((exps, sums), (vec![1.0, 1.0], vec![2.0]));
/// assert!((loss[0] - 2f64.ln()).abs() < 1e-15);
/// ```
///
/// # Panics
/// If `x` does not hold `labels.len()` rows of `classes`, or a label is not below `classes`.
pub fn cross_entropy_rows<E: Element>(
    mut x: Vec<E>,
    classes: usize,
    labels: &[usize],
) -> (Vec<E>, Vec<E>, Vec<E>) {
    assert_eq!(
        x.len(),
        labels.len() * classes,
        "cross_entropy_rows: {} logits for {} rows of {classes}",
        x.len(),
        labels.len()
    );
    // The labelled logits, read before `x` is overwritten.
    let picked: Vec<E> = labels
        .iter()
        .enumerate()
        .map(|(i, &label)| {
            assert!(
                label < classes,
                "cross_entropy_rows: label {label} of row {i}"
            );
            x[i * classes + label]
        })
        .collect();
    // `>` rather than `Float::max`, whose NaN handling costs a comparison per element: a NaN
    // logit is then skipped here, but still makes its row's loss NaN through the sum below.
    let max: Vec<E> = rows_mut(&mut x, classes)
        .map(|r| {
            r.iter()
                .fold(E::neg_infinity(), |m, &v| if v > m { v } else { m })
        })
        .collect();
    for (r, &m) in rows_mut(&mut x, classes).zip(&max) {
        r.iter_mut().for_each(|v| *v -= m);
    }
    exp_in_place(&mut x);
    let sums: Vec<E> = rows_mut(&mut x, classes)
        .map(|r| r.iter().copied().sum::<E>())
        .collect();
    // The logarithms in one vectorized sweep too, then `lse - picked = ln(sum) + max - picked`.
    let mut loss = sums.clone();
    ln_in_place(&mut loss);
    for (l, (&m, &p)) in loss.iter_mut().zip(max.iter().zip(&picked)) {
        *l = (*l + m) - p;
    }
    (x, sums, loss)
}

/// The per-row losses reduced as `reduction` asks: a batch's sum and mean are accumulated in
/// `f64`, so that an `f32` sum does not lose the small losses.
pub fn reduce_losses<E: Element>(loss: Vec<E>, reduction: Reduction) -> Vec<E> {
    let sum = || loss.iter().map(|&l| l.as_f64()).sum::<f64>();
    match reduction {
        Reduction::None => loss,
        Reduction::Sum => vec![E::of(sum())],
        Reduction::Mean => vec![E::of(sum() / loss.len() as f64)],
    }
}

/// The fused backward from the forward's row-major `exps` (consumed, and returned as the
/// gradient): `(exps_ij · (1 / sums_i) - [j = label_i]) · w_i`, where `w_i` is the
/// reduction's weight of row `i` given the gradient `g` of the output (one value for
/// [`Reduction::Mean`] and [`Reduction::Sum`], one per row for [`Reduction::None`]).
///
/// ```
/// use duograd_backend::Reduction;
/// let g = duograd_cpu::loss::cross_entropy_grad_rows(vec![1.0f64, 1.0], &[2.0], &[1], Reduction::Sum, &[1.0]);
/// assert_eq!(g, [0.5, -0.5]);
/// ```
pub fn cross_entropy_grad_rows<E: Element>(
    mut x: Vec<E>,
    sums: &[E],
    labels: &[usize],
    reduction: Reduction,
    g: &[E],
) -> Vec<E> {
    let classes = x.len().checked_div(labels.len()).unwrap_or(0);
    // `x` becomes softmax(x). Subtract the one-hot before scaling, as `(softmax - one_hot) * w`
    // does.
    for ((r, &sum), &label) in rows_mut(&mut x, classes).zip(sums).zip(labels) {
        let inv = E::one() / sum;
        r.iter_mut().for_each(|v| *v *= inv);
        r[label] -= E::one();
    }
    let scale = match reduction {
        Reduction::Mean => g[0] / E::of(labels.len() as f64),
        Reduction::Sum => g[0],
        Reduction::None => {
            for (r, &w) in rows_mut(&mut x, classes).zip(g) {
                r.iter_mut().for_each(|v| *v *= w);
            }
            return x;
        }
    };
    // One weight for every row: a single flat pass.
    x.iter_mut().for_each(|v| *v *= scale);
    x
}

/// [`Backend::cross_entropy`] for a backend whose storage is host memory: the logits copied out
/// row-major once, [`cross_entropy_rows`] on the copy, and the results handed back to the backend.
pub fn cross_entropy<B: Backend>(
    logits: &B::Storage,
    labels: &[usize],
    reduction: Reduction,
) -> CrossEntropyForward<B::Storage> {
    let (batch, classes) = (labels.len(), B::shape(logits)[1]);
    let (exps, sums, loss) = cross_entropy_rows(B::to_vec(logits), classes, labels);
    let loss_shape: &[usize] = match reduction {
        Reduction::None => &[batch],
        Reduction::Sum | Reduction::Mean => &[],
    };
    CrossEntropyForward {
        loss: B::from_vec(reduce_losses(loss, reduction), loss_shape),
        exps: B::from_vec(exps, &[batch, classes]),
        sums: B::from_vec(sums, &[batch]),
    }
}

/// [`Backend::cross_entropy_backward`] for a backend whose storage is host memory, through
/// [`cross_entropy_grad_rows`] on a row-major copy of the forward's `exps` (which stay valid for
/// another backward).
pub fn cross_entropy_backward<B: Backend>(
    forward: &CrossEntropyForward<B::Storage>,
    labels: &[usize],
    reduction: Reduction,
    grad: &B::Storage,
) -> B::Storage {
    let shape = B::shape(&forward.exps);
    let grad = cross_entropy_grad_rows(
        B::to_vec(&forward.exps),
        &B::to_vec(&forward.sums),
        labels,
        reduction,
        &B::to_vec(grad),
    );
    B::from_vec(grad, &shape)
}
