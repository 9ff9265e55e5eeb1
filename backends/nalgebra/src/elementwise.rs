//! Elementwise kernels: `unary`, `binary` (with broadcasting) and the in-place updates.
//!
//! - Same-shape operands share a layout, so the op runs on the column-major buffers directly,
//!   through duograd's slice kernels ([`UnaryOp::apply_slice`], [`BinaryOp::apply_slices`],
//!   [`axpy`](duograd_cpu::kernel::axpy)): the same arithmetic as nalgebra's `map`, `zip_map` and
//!   `axpy`, vectorized for the CPU at run time where nalgebra's run on the baseline
//!   instruction set.
//! - Broadcasts that keep the matrix structure — each operand being the full `R×C` matrix, one
//!   value per column, one value per row, or a single element — are computed column by column
//!   over nalgebra's column iterator, each column a contiguous slice: no per-element index
//!   arithmetic. For a 2-D output that covers the bias add `(m, n) + (n,)` and `(m, n) * (m, 1)`;
//!   for rank ≥ 3 (whose matrix has the last axis along its rows) `(…, n) + (n,)` and
//!   `(a, b, n) * (a, b, 1)`.
//! - Any other broadcast (e.g. `(2, 3, 4) * (3, 1)`, `(N, C, H, W) * (C, 1, 1)`, or a 2-D operand
//!   against a rank ≥ 3 output of the same elements) falls back to reading both operands
//!   through their broadcast storage strides, run by run, in the output's storage order
//!   (`crate::strided`): for the row-major buffers of rank ≥ 3 these are long contiguous runs.
//!
//! In the broadcasts the op is matched once, outside the loops (`with_binary!`), so every loop
//! body is a monomorphic closure around `BinaryOp::apply`.

use duograd_backend::shape::broadcast_shapes;
use duograd_backend::{BinaryOp, Element, UnaryOp};
use duograd_cpu::kernel::axpy;
use duograd_cpu::{BinaryKernel, UnaryKernel};
use nalgebra::DMatrix;

use crate::storage::{
    broadcast_storage_strides, is_row_major, matrix_dims, storage_order, NaTensor,
};
use crate::strided::zip_strided;

/// Evaluates `$body` with `$f` bound to a closure `Fn(E, E) -> E` computing `$op`, matching on
/// the op once. Each arm's closure calls `apply` on a value of a *known* variant, so the inlined
/// `match` inside `apply` folds away: every loop is monomorphic and the arithmetic stays defined
/// once, in `duograd_cpu::kernel`. `E` must name the element type at the call site.
macro_rules! with_binary {
    ($op:expr, |$f:ident| $body:expr) => {
        with_binary!(@arms $op, $f, $body;
            Add, Sub, Mul, Div, Maximum, Minimum, Eq, Gt, Ge, Lt, Le)
    };
    (@arms $op:expr, $f:ident, $body:expr; $($v:ident),*) => {
        match $op {
            $(BinaryOp::$v => {
                let $f = |x: E, y: E| BinaryOp::$v.apply(x, y);
                $body
            })*
            #[allow(unreachable_patterns)]
            op => {
                let $f = move |x: E, y: E| op.apply(x, y);
                $body
            }
        }
    };
}

/// `op` applied to every element of the buffer (duograd's slice kernel, vectorized for the
/// CPU; nalgebra's `map` runs on the baseline instruction set).
pub(crate) fn unary<E: Element>(x: &NaTensor<E>, op: UnaryOp<E>) -> NaTensor<E> {
    like(
        x.matrix(),
        op.apply_to_vec(x.matrix().as_slice()),
        x.shape(),
    )
}

/// `dst = op(dst)` in place (duograd's slice kernel), copying first if the matrix is shared.
pub(crate) fn unary_in_place<E: Element>(dst: &mut NaTensor<E>, op: UnaryOp<E>) {
    op.apply_in_place(dst.matrix_mut().as_mut_slice());
}

/// A tensor of `shape` whose column-major buffer is `data`, in a matrix of `m`'s dimensions.
fn like<E: Element>(m: &DMatrix<E>, data: Vec<E>, shape: &[usize]) -> NaTensor<E> {
    NaTensor::from_parts(
        DMatrix::from_vec(m.nrows(), m.ncols(), data),
        shape.to_vec(),
    )
}

/// `dst += alpha * src` in place (duograd's vectorized [`axpy`] over the whole buffer: the bits
/// of nalgebra's `axpy`, which runs on the baseline instruction set), copying first if the
/// matrix is shared.
pub(crate) fn axpy_in_place<E: Element>(dst: &mut NaTensor<E>, alpha: E, src: &NaTensor<E>) {
    assert_eq!(
        dst.shape(),
        src.shape(),
        "axpy_in_place: shapes differ ({:?} vs {:?})",
        dst.shape(),
        src.shape()
    );
    axpy(dst.matrix_mut().as_mut_slice(), alpha, src.storage());
}

/// `op(a, b)` with NumPy broadcasting.
pub(crate) fn binary<E: Element>(a: &NaTensor<E>, b: &NaTensor<E>, op: BinaryOp) -> NaTensor<E> {
    if a.shape() == b.shape() {
        let out = op.apply_to_vec(a.matrix().as_slice(), b.matrix().as_slice());
        return like(a.matrix(), out, a.shape());
    }
    let out_shape = broadcast_shapes(a.shape(), b.shape()).unwrap_or_else(|| {
        panic!(
            "binary: shapes {:?} and {:?} do not broadcast",
            a.shape(),
            b.shape()
        )
    });
    let (rows, cols) = matrix_dims(&out_shape);
    let data = match (
        Broadcast::classify(a, &out_shape),
        Broadcast::classify(b, &out_shape),
    ) {
        (Some(ka), Some(kb)) => with_binary!(op, |f| by_columns(&ka, &kb, rows, cols, f)),
        _ => with_binary!(op, |f| gathered(a, b, &out_shape, f)),
    };
    NaTensor::from_storage(data, &out_shape)
}

/// How an operand maps onto the `R×C` matrix of a broadcast output, when that needs no index
/// arithmetic.
#[derive(Debug)]
pub(crate) enum Broadcast<'a, E> {
    /// The operand has the output's shape (up to leading 1s) and its matrix: its own `R×C`
    /// matrix.
    Full(&'a DMatrix<E>),
    /// A single element, repeated everywhere.
    Scalar(E),
    /// One value per output column; `C` values. For a 2-D output the operand varies only along
    /// the last axis (the bias row); for rank ≥ 3 it has size 1 on the last axis and the
    /// output's leading axes.
    Row(&'a [E]),
    /// One value per output row; `R` values. For a 2-D output the operand has size 1 on the
    /// last axis and the output's leading axes (a column); for rank ≥ 3 it varies only along
    /// the last axis.
    Col(&'a [E]),
}

/// What one operand contributes to one output column.
enum Column<'a, E> {
    /// A contiguous column of `R` values.
    Slice(&'a [E]),
    /// One value for the whole column.
    Value(E),
}

impl<'a, E: Element> Broadcast<'a, E> {
    /// Classifies `x` broadcast to `out_shape`, or `None` if it needs the N-d fallback.
    pub(crate) fn classify(x: &'a NaTensor<E>, out_shape: &[usize]) -> Option<Self> {
        let s = x.shape();
        let k = out_shape.len();
        let lead = k - s.len();
        let dim = |i: usize| if i < lead { 1 } else { s[i - lead] };
        if x.numel() == 1 {
            return Some(Broadcast::Scalar(x.storage()[0]));
        }
        if (0..k).all(|i| dim(i) == out_shape[i]) {
            // The same elements; the same matrix unless only one of the two is a 2-D matrix
            // (then the buffer orders differ, e.g. `[3, 4]` against `[1, 3, 4]`).
            let same_order = s.len() == k || (is_row_major(s) && is_row_major(out_shape));
            return (same_order && x.dims() == matrix_dims(out_shape))
                .then(|| Broadcast::Full(x.matrix()));
        }
        // Here k >= 1: a rank-0 output would have made x scalar. In both cases below x's
        // buffer is its row-major order (its matrix has a single row or column).
        let leading = 0..k - 1;
        let last_only = dim(k - 1) == out_shape[k - 1] && leading.clone().all(|i| dim(i) == 1);
        let leading_only = dim(k - 1) == 1 && leading.clone().all(|i| dim(i) == out_shape[i]);
        // A matrix output has the last axis along its columns; a rank >= 3 one along its rows.
        match (last_only, leading_only, k >= 3) {
            (true, _, false) | (_, true, true) => Some(Broadcast::Row(x.storage())),
            (true, _, true) | (_, true, false) => Some(Broadcast::Col(x.storage())),
            _ => None,
        }
    }

    /// The operand's contribution to output column `j`.
    fn column(&self, j: usize) -> Column<'a, E> {
        match *self {
            Broadcast::Full(m) => Column::Slice(m.column(j).data.into_slice()),
            Broadcast::Scalar(v) => Column::Value(v),
            Broadcast::Row(r) => Column::Value(r[j]),
            Broadcast::Col(c) => Column::Slice(c),
        }
    }
}

/// The column-major buffer of `f(a, b)` for operands that keep the matrix structure, built one
/// contiguous column at a time.
fn by_columns<E: Element>(
    a: &Broadcast<'_, E>,
    b: &Broadcast<'_, E>,
    rows: usize,
    cols: usize,
    f: impl Fn(E, E) -> E,
) -> Vec<E> {
    let mut out = duograd_cpu::buffers::take(rows * cols);
    for j in 0..cols {
        match (a.column(j), b.column(j)) {
            (Column::Slice(x), Column::Slice(y)) => {
                out.extend(x.iter().zip(y).map(|(&x, &y)| f(x, y)));
            }
            (Column::Slice(x), Column::Value(y)) => out.extend(x.iter().map(|&x| f(x, y))),
            (Column::Value(x), Column::Slice(y)) => out.extend(y.iter().map(|&y| f(x, y))),
            (Column::Value(x), Column::Value(y)) => out.resize(out.len() + rows, f(x, y)),
        }
    }
    out
}

/// The N-d fallback: both operands read through broadcast strides, in the output's storage
/// order (see `crate::strided`).
fn gathered<E: Element>(
    a: &NaTensor<E>,
    b: &NaTensor<E>,
    out_shape: &[usize],
    f: impl Fn(E, E) -> E,
) -> Vec<E> {
    let sa = storage_order(&broadcast_storage_strides(a.shape(), out_shape));
    let sb = storage_order(&broadcast_storage_strides(b.shape(), out_shape));
    zip_strided(
        &storage_order(out_shape),
        (a.storage(), &sa),
        (b.storage(), &sb),
        f,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(data: &[f64], shape: &[usize]) -> NaTensor<f64> {
        NaTensor::from_row_major(data.to_vec(), shape)
    }

    #[test]
    fn classification_of_common_broadcasts() {
        let out = [3, 4];
        let row = t(&[1.0, 2.0, 3.0, 4.0], &[4]);
        let col = t(&[1.0, 2.0, 3.0], &[3, 1]);
        let full = t(&[0.0; 12], &[1, 3, 4]);
        let one = t(&[7.0], &[1, 1]);
        let odd = t(&[0.0; 2], &[2, 1, 1]);
        assert!(matches!(
            Broadcast::classify(&row, &out),
            Some(Broadcast::Row(_))
        ));
        assert!(matches!(
            Broadcast::classify(&col, &out),
            Some(Broadcast::Col(_))
        ));
        assert!(matches!(
            Broadcast::classify(&full, &[1, 3, 4]),
            Some(Broadcast::Full(_))
        ));
        assert!(matches!(Broadcast::classify(&one, &out), Some(Broadcast::Scalar(v)) if v == 7.0));
        assert!(Broadcast::classify(&odd, &[2, 3, 4]).is_none());
        let mid = t(&[0.0; 3], &[3, 1]);
        assert!(Broadcast::classify(&mid, &[2, 3, 4]).is_none());
        // Rank >= 3 outputs: the last axis runs down the matrix's rows.
        assert!(matches!(
            Broadcast::classify(&row, &[2, 3, 4]),
            Some(Broadcast::Col(_))
        ));
        let lead = t(&[0.0; 6], &[2, 3, 1]);
        assert!(matches!(
            Broadcast::classify(&lead, &[2, 3, 4]),
            Some(Broadcast::Row(_))
        ));
        // The same elements, in a different buffer order.
        let matrix = t(&[0.0; 12], &[3, 4]);
        assert!(Broadcast::classify(&matrix, &[1, 3, 4]).is_none());
    }

    #[test]
    fn fallback_and_column_paths_agree() {
        let cases: [(&[usize], &[usize], &[usize]); 4] = [
            (&[3, 1], &[4], &[3, 4]),
            (&[2, 3, 1], &[4], &[2, 3, 4]),
            (&[2, 3, 4], &[1, 1, 4], &[2, 3, 4]),
            (&[1, 2, 3, 4], &[2, 3, 1], &[1, 2, 3, 4]),
        ];
        for (sa, sb, out) in cases {
            let values = |n: usize, k: f64| (0..n).map(|i| i as f64 * k).collect::<Vec<_>>();
            let a = t(&values(sa.iter().product(), 1.0), sa);
            let b = t(&values(sb.iter().product(), 10.0), sb);
            let ka = Broadcast::classify(&a, out).unwrap();
            let kb = Broadcast::classify(&b, out).unwrap();
            let (rows, cols) = matrix_dims(out);
            let fast = by_columns(&ka, &kb, rows, cols, |x, y| x - y);
            let slow = gathered(&a, &b, out, |x, y| x - y);
            assert_eq!(fast, slow, "{sa:?} - {sb:?}");
        }
    }
}
