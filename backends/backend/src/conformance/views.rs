//! The same logical array made in different ways, so that every op is fed strided input as well
//! as contiguous: backends keep fast paths for contiguous buffers and separate strided paths,
//! and a layout op's output (a view, for a backend that has views) must work as input to every
//! other op.

use std::fmt;

use crate::Backend;

use super::reference;
use super::support::{assert_shape, numel, store};

/// How an input array is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `from_vec` of the data.
    Contiguous,
    /// `narrow` along axis 0 of an array with a junk slice on each side: contiguous, but not at
    /// the start of its buffer.
    Offset,
    /// Stored with the axes reversed, then `permute`d back (a transposed view).
    Transposed,
    /// Stored with axes 0 and 1 swapped, then `permute`d back: rank ≥ 3, the last axis still
    /// contiguous.
    Swapped,
    /// Stored with axis 0 last (`[1, 2, …, 0]`), then `permute`d back: rank ≥ 3, the first axis
    /// the contiguous one.
    Rotated,
    /// `narrow` along the last axis of an array with a junk element on each side of every row:
    /// no axis contiguous in memory.
    Padded,
    /// Stored with the axes reversed and padded like [`Kind::Padded`], then `permute`d back.
    PaddedTransposed,
    /// `expand` of a smaller array (a prepended axis and, from rank 3, a stretched one); the
    /// data is then the broadcast of the data's first elements, not the data itself.
    Expanded,
}

impl Kind {
    /// Every kind.
    pub(crate) const ALL: [Kind; 8] = [
        Kind::Contiguous,
        Kind::Offset,
        Kind::Transposed,
        Kind::Swapped,
        Kind::Rotated,
        Kind::Padded,
        Kind::PaddedTransposed,
        Kind::Expanded,
    ];

    /// The kinds that keep the given data (all but [`Kind::Expanded`]).
    pub(crate) const SAME_DATA: [Kind; 7] = [
        Kind::Contiguous,
        Kind::Offset,
        Kind::Transposed,
        Kind::Swapped,
        Kind::Rotated,
        Kind::Padded,
        Kind::PaddedTransposed,
    ];
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Kind::Contiguous => "contiguous",
            Kind::Offset => "offset",
            Kind::Transposed => "transposed",
            Kind::Swapped => "swapped",
            Kind::Rotated => "rotated",
            Kind::Padded => "padded",
            Kind::PaddedTransposed => "padded transposed",
            Kind::Expanded => "expanded",
        };
        f.write_str(name)
    }
}

/// An input array and the row-major data it holds.
pub(crate) struct View<B: Backend> {
    /// How it was made.
    pub(crate) kind: Kind,
    /// The array.
    pub(crate) x: B::Storage,
    /// Its elements, row-major, as the backend stores them.
    pub(crate) data: Vec<f64>,
}

/// Junk around the elements of a view: a kernel that reads outside the view sees a NaN or a
/// huge value and gives itself away.
const JUNK: [f64; 2] = [f64::NAN, 1e30];

/// The array of `shape` holding `data`, made as `kind` says; `None` where the kind does not
/// apply to the shape (no axis to narrow, too few axes to permute, nothing to expand).
pub(crate) fn view<B: Backend>(kind: Kind, data: &[f64], shape: &[usize]) -> Option<View<B>> {
    let rank = shape.len();
    let x = match kind {
        Kind::Contiguous => store::<B>(data, shape),
        Kind::Offset if rank >= 1 => offset::<B>(data, shape),
        Kind::Transposed if rank >= 2 => {
            let reversed: Vec<usize> = (0..rank).rev().collect();
            permuted::<B>(data, shape, &reversed, false)
        }
        Kind::Swapped if rank >= 3 => {
            let mut swapped: Vec<usize> = (0..rank).collect();
            swapped.swap(0, 1);
            permuted::<B>(data, shape, &swapped, false)
        }
        Kind::Rotated if rank >= 3 => {
            let rotated: Vec<usize> = (1..rank).chain([0]).collect();
            permuted::<B>(data, shape, &rotated, false)
        }
        Kind::Padded if rank >= 1 => padded::<B>(data, shape),
        Kind::PaddedTransposed if rank >= 2 => {
            let reversed: Vec<usize> = (0..rank).rev().collect();
            permuted::<B>(data, shape, &reversed, true)
        }
        Kind::Expanded if rank >= 1 && numel(shape) > 0 => {
            let from: Vec<usize> = match rank {
                1 => vec![1],
                2 => shape[1..].to_vec(),
                _ => {
                    let mut from = shape[1..].to_vec();
                    from[0] = 1;
                    from
                }
            };
            let source = &data[..numel(&from)];
            let x = B::expand(&store::<B>(source, &from), shape);
            let data = reference::expand(source, &from, shape);
            return Some(View { kind, x, data });
        }
        _ => return None,
    };
    Some(View {
        kind,
        x,
        data: data.to_vec(),
    })
}

/// Every applicable view of `data` of `shape` (the [`Kind::Expanded`] one holding other data).
pub(crate) fn views<B: Backend>(data: &[f64], shape: &[usize]) -> Vec<View<B>> {
    Kind::ALL
        .iter()
        .filter_map(|&k| view::<B>(k, data, shape))
        .collect()
}

/// Stored with axis `j` of the buffer being axis `order[j]` of the array, then permuted back.
fn permuted<B: Backend>(data: &[f64], shape: &[usize], order: &[usize], pad: bool) -> B::Storage {
    let stored_shape: Vec<usize> = order.iter().map(|&a| shape[a]).collect();
    let stored = reference::permute(data, shape, order);
    let base = if pad {
        padded::<B>(&stored, &stored_shape)
    } else {
        store::<B>(&stored, &stored_shape)
    };
    let inverse = reference::inverse(order);
    let x = B::permute(&base, &inverse);
    assert_shape::<B>(
        &x,
        shape,
        format_args!("permute of {stored_shape:?} by {inverse:?}"),
    );
    x
}

/// Every row (along the last axis) between two junk elements, then narrowed to the rows.
fn padded<B: Backend>(data: &[f64], shape: &[usize]) -> B::Storage {
    let rank = shape.len();
    let row = shape[rank - 1];
    let rows = numel(&shape[..rank - 1]);
    let mut wide = Vec::with_capacity(rows * (row + 2));
    for r in 0..rows {
        wide.push(JUNK[0]);
        wide.extend_from_slice(&data[r * row..(r + 1) * row]);
        wide.push(JUNK[1]);
    }
    let mut wide_shape = shape.to_vec();
    wide_shape[rank - 1] += 2;
    B::narrow(&store::<B>(&wide, &wide_shape), rank - 1, 1, row)
}

/// A junk slice before and after along axis 0, then narrowed to the data.
fn offset<B: Backend>(data: &[f64], shape: &[usize]) -> B::Storage {
    let slice = numel(&shape[1..]);
    let mut big = vec![JUNK[0]; slice];
    big.extend_from_slice(data);
    big.extend(std::iter::repeat_n(JUNK[1], slice));
    let mut big_shape = shape.to_vec();
    big_shape[0] += 2;
    B::narrow(&store::<B>(&big, &big_shape), 0, 1, shape[0])
}
