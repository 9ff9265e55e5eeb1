//! Cross-entropy on logits over host buffers in either matrix layout: the CPU backends' kernels
//! for [`Backend::cross_entropy`](duograd_backend::Backend::cross_entropy) and its backward.
//!
//! Each backend hands over its own buffer as it is stored (row-major for ndarray, column-major
//! for nalgebra) and takes the results back the same way, so no transpose is made. Both layouts
//! perform the same operations on each element in the same order (each row's maximum, sum and
//! scaling visit its classes first to last), so they give the same bits.

use duograd_backend::{Element, Layout, Reduction};

use crate::fast_exp::exp_in_place;
use crate::fast_ln::ln_in_place;

/// A `(batch, classes)` matrix of logits (or of their `exp`s) in a flat buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Logits {
    /// Rows: one per sample.
    pub batch: usize,
    /// Columns: one per class.
    pub classes: usize,
    /// How the buffer holds the matrix.
    pub layout: Layout,
}

impl Logits {
    /// The buffer index of element `(row, class)`.
    #[inline(always)]
    fn at(self, row: usize, class: usize) -> usize {
        match self.layout {
            Layout::RowMajor => row * self.classes + class,
            Layout::ColMajor => class * self.batch + row,
        }
    }

    /// Runs a pass over every row: `row(&mut per_row[i], values of row i)` on a row-major
    /// buffer, whose rows are contiguous (so a row's reduction stays in a register), or
    /// `element(&mut per_row[i], x_ij)` class by class on a column-major one, whose classes are
    /// contiguous (so the loop runs down a column, over all rows at once). Either way each row
    /// sees its classes in order.
    #[inline(always)]
    fn rows<E, A>(
        self,
        x: &mut [E],
        per_row: &mut [A],
        mut row: impl FnMut(&mut A, &mut [E]),
        mut element: impl FnMut(&mut A, &mut E),
    ) {
        match self.layout {
            Layout::RowMajor => {
                for (values, a) in x.chunks_exact_mut(self.classes.max(1)).zip(per_row) {
                    row(a, values);
                }
            }
            Layout::ColMajor => {
                for column in x.chunks_exact_mut(self.batch.max(1)) {
                    for (v, a) in column.iter_mut().zip(per_row.iter_mut()) {
                        element(a, v);
                    }
                }
            }
        }
    }
}

/// The fused forward on the logits `x` (consumed as scratch space, laid out as `shape` says):
/// per row `i`, `lse_i = max_i + ln(sum_j exp(x_ij - max_i))` and
/// `loss_i = lse_i - x_i[label_i]`. Returns the `exp(x_ij - max_i)` (in `x`'s buffer and
/// layout), each row's sum of them, and the per-row losses.
///
/// Subtracting the row maximum keeps every `exp` in `[0, 1]`, so logits of ±1e4 neither overflow
/// nor lose the row. The work is a few flat passes rather than one loop per row, so that the
/// `exp`s, most of the op's cost, run as one vectorized sweep.
///
/// ```
/// use duograd_backend::Layout;
/// use duograd_cpu::loss::{cross_entropy_rows, Logits};
/// let shape = Logits { batch: 1, classes: 2, layout: Layout::RowMajor };
/// let (exps, sums, loss) = cross_entropy_rows(vec![0.0f64, 0.0], shape, &[1]);
/// assert_eq!((exps, sums), (vec![1.0, 1.0], vec![2.0]));
/// assert!((loss[0] - 2f64.ln()).abs() < 1e-15);
/// ```
///
/// # Panics
/// If `x` does not hold `batch × classes` values, `labels` is not `batch` long, or a label is
/// not below `classes`.
pub fn cross_entropy_rows<E: Element>(
    mut x: Vec<E>,
    shape: Logits,
    labels: &[usize],
) -> (Vec<E>, Vec<E>, Vec<E>) {
    let Logits { batch, classes, .. } = shape;
    assert!(
        x.len() == batch * classes && labels.len() == batch,
        "cross_entropy_rows: {} logits and {} labels for {batch} rows of {classes}",
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
            x[shape.at(i, label)]
        })
        .collect();
    // `>` rather than `Float::max`, whose NaN handling costs a comparison per element: a NaN
    // logit is then skipped here, but still makes its row's loss NaN through the sum below.
    let larger = |m: E, v: E| if v > m { v } else { m };
    let mut max = vec![E::neg_infinity(); batch];
    shape.rows(
        &mut x,
        &mut max,
        |m, r| *m = r.iter().fold(*m, |m, &v| larger(m, v)),
        |m, &mut v| *m = larger(*m, v),
    );
    shape.rows(
        &mut x,
        &mut max,
        |&mut m, r| r.iter_mut().for_each(|v| *v -= m),
        |&mut m, v| *v -= m,
    );
    exp_in_place(&mut x);
    let mut sums = vec![E::zero(); batch];
    shape.rows(
        &mut x,
        &mut sums,
        |s, r| *s = r.iter().fold(*s, |s, &v| s + v),
        |s, &mut v| *s += v,
    );
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

/// The fused backward from the forward's `exps` (consumed, and returned as the gradient, in the
/// same layout): `(exps_ij · (1 / sums_i) - [j = label_i]) · w_i`, where `w_i` is the
/// reduction's weight of row `i` given the gradient `g` of the output (one value for
/// [`Reduction::Mean`] and [`Reduction::Sum`], one per row for [`Reduction::None`]).
///
/// ```
/// use duograd_backend::{Layout, Reduction};
/// use duograd_cpu::loss::{cross_entropy_grad_rows, Logits};
/// let shape = Logits { batch: 1, classes: 2, layout: Layout::ColMajor };
/// let g = cross_entropy_grad_rows(vec![1.0f64, 1.0], shape, &[2.0], &[1], Reduction::Sum, &[1.0]);
/// assert_eq!(g, [0.5, -0.5]);
/// ```
///
/// # Panics
/// If the lengths do not match `shape`.
pub fn cross_entropy_grad_rows<E: Element>(
    mut x: Vec<E>,
    shape: Logits,
    sums: &[E],
    labels: &[usize],
    reduction: Reduction,
    g: &[E],
) -> Vec<E> {
    let Logits { batch, classes, .. } = shape;
    assert!(
        x.len() == batch * classes && sums.len() == batch && labels.len() == batch,
        "cross_entropy_grad_rows: {} exps, {} sums and {} labels for {batch} rows of {classes}",
        x.len(),
        sums.len(),
        labels.len()
    );
    // `x` becomes softmax(x). Subtract the one-hot before scaling, as `(softmax - one_hot) * w`
    // does.
    let scale_row = |&mut k: &mut E, r: &mut [E]| r.iter_mut().for_each(|v| *v *= k);
    match shape.layout {
        // Each row once, while it is in cache.
        Layout::RowMajor => {
            for ((r, &sum), &label) in x.chunks_exact_mut(classes.max(1)).zip(sums).zip(labels) {
                let inv = E::one() / sum;
                r.iter_mut().for_each(|v| *v *= inv);
                r[label] -= E::one();
            }
        }
        Layout::ColMajor => {
            let mut inv: Vec<E> = sums.iter().map(|&s| E::one() / s).collect();
            shape.rows(&mut x, &mut inv, scale_row, |&mut k, v| *v *= k);
            for (i, &label) in labels.iter().enumerate() {
                x[shape.at(i, label)] -= E::one();
            }
        }
    }
    let scale = match reduction {
        Reduction::Mean => g[0] / E::of(batch as f64),
        Reduction::Sum => g[0],
        Reduction::None => {
            let mut w = g.to_vec();
            shape.rows(&mut x, &mut w, scale_row, |&mut k, v| *v *= k);
            return x;
        }
    };
    // One weight for every row: a single flat pass.
    x.iter_mut().for_each(|v| *v *= scale);
    x
}

/// The shape of the loss for `batch` samples reduced as `reduction` asks: one value per sample,
/// or a scalar.
pub fn loss_shape(reduction: Reduction, batch: usize) -> Vec<usize> {
    match reduction {
        Reduction::None => vec![batch],
        Reduction::Sum | Reduction::Mean => vec![],
    }
}
