//! The error policy for misuse of shapes, in one place.
//!
//! Shape errors are programmer errors, like an out-of-bounds slice index: they panic at the
//! caller's line (`#[track_caller]`) with a message naming the op and the shapes, so that
//! arithmetic such as `&a * &b + &c` stays free of `?`. Runtime conditions (I/O, parsing, a
//! backward pass that cannot run) return `Result` instead.

use crate::shape::{broadcast_shapes, resolve_axis};

/// The broadcast shape of `a` and `b`, or a panic naming `op`.
#[track_caller]
pub(crate) fn broadcast(op: &str, a: &[usize], b: &[usize]) -> Vec<usize> {
    broadcast_shapes(a, b)
        .unwrap_or_else(|| panic!("{op}: shapes {a:?} and {b:?} cannot be broadcast together"))
}

/// Panics naming `op` unless the shapes are equal.
#[track_caller]
pub(crate) fn same_shape(op: &str, a: &[usize], b: &[usize]) {
    assert!(a == b, "{op}: shapes {a:?} and {b:?} differ");
}

/// Resolves a possibly negative axis or panics naming `op`.
#[track_caller]
pub(crate) fn axis(op: &str, axis: isize, shape: &[usize]) -> usize {
    resolve_axis(axis, shape.len()).unwrap_or_else(|| {
        panic!(
            "{op}: axis {axis} is out of range for shape {shape:?} (rank {})",
            shape.len()
        )
    })
}

/// Resolves, sorts and de-duplicates axes, or panics naming `op`.
#[track_caller]
pub(crate) fn axes(op: &str, axes: &[isize], shape: &[usize]) -> Vec<usize> {
    let mut out: Vec<usize> = axes.iter().map(|&a| axis(op, a, shape)).collect();
    out.sort_unstable();
    let before = out.len();
    out.dedup();
    assert!(
        out.len() == before,
        "{op}: axes {axes:?} repeat an axis of shape {shape:?}"
    );
    out
}

/// Panics naming `op` unless every index is below `bound`.
#[track_caller]
pub(crate) fn indices_below(op: &str, indices: &[usize], bound: usize, what: &str) {
    if let Some(bad) = indices.iter().find(|&&i| i >= bound) {
        panic!("{op}: index {bad} is out of range for {what} of size {bound}");
    }
}
