//! The argmax both backends run along an axis: the index of each lane's largest value, the
//! first of ties, and the first NaN if there is one (NaN counts as larger than anything), as in
//! PyTorch.
//!
//! A batch of logits has many short lanes (512 rows of 10 classes). Found one lane at a time,
//! each new maximum is a mispredicted branch; here 8 lanes are compared side by side, one
//! element of each at a time, with selects that vectorize and no branch to mispredict. Long
//! contiguous lanes are still scanned one at a time: a vectorized max, then the first element
//! equal to it.

use duograd_backend::ReduceOp;

use crate::kernel::{fold_slice, ReduceKernel};
use crate::simd::with_best_simd;
use duograd_backend::Element;

/// Lanes compared side by side (a vector of `f32` with AVX2).
const GROUP: usize = 8;

/// Contiguous lanes longer than this are scanned one at a time.
const SCAN_MIN_LEN: usize = 32;

/// Whether `v` takes the place of `best`, a lane's largest value so far: it is larger, or it is
/// the lane's first NaN. (`&` and `|` rather than `&&` and `||`, so that it compiles to selects.)
#[inline(always)]
fn beats<E: Element>(v: E, best: E) -> bool {
    !best.is_nan() & (v.is_nan() | (v > best))
}

/// Appends to `out` the argmax of each of `lanes` lanes of `len` values, in lane order: element
/// `t` of lane `l` is `data[l * lane_stride + t * step]`.
///
/// ```
/// use duograd_cpu::argmax::argmax_lanes;
/// let rows = [1.0, 5.0, 5.0, 7.0, f32::NAN, 2.0]; // row-major 2×3
/// let mut out = Vec::new();
/// argmax_lanes(&rows, 2, 3, 3, 1, &mut out); // along each row
/// assert_eq!(out, [1, 1]); // the first of the tied 5s; the NaN
/// out.clear();
/// argmax_lanes(&rows, 3, 2, 1, 3, &mut out); // along each column
/// assert_eq!(out, [1, 1, 0]);
/// ```
///
/// # Panics
/// If `len` is 0 or above `u32::MAX`, or the last element lies beyond `data`.
pub fn argmax_lanes<E: Element>(
    data: &[E],
    lanes: usize,
    len: usize,
    lane_stride: usize,
    step: usize,
    out: &mut Vec<usize>,
) {
    assert!(len > 0, "argmax_lanes: lanes of length 0");
    let Some(last_lane) = lanes.checked_sub(1) else {
        return;
    };
    let last = last_lane * lane_stride + (len - 1) * step;
    assert!(
        last < data.len(),
        "argmax_lanes: {lanes} lanes of {len} (strides {lane_stride}, {step}) reach element \
         {last} of a slice of {}",
        data.len()
    );
    let len = u32::try_from(len).expect("argmax_lanes: lanes longer than u32::MAX");
    out.reserve(lanes);
    if step == 1 && len as usize > SCAN_MIN_LEN {
        let lane = |l: usize| &data[l * lane_stride..l * lane_stride + len as usize];
        return out.extend((0..lanes).map(|l| argmax_scan(lane(l))));
    }
    with_best_simd(
        #[inline(always)]
        || {
            let groups = lanes / GROUP * GROUP;
            for first in (0..groups).step_by(GROUP) {
                let start = first * lane_stride;
                // Held in registers: fixed-size arrays, every lane's select written unconditionally.
                let mut best = gather(data, start, lane_stride);
                let mut index = [0u32; GROUP];
                for t in 1..len {
                    let values = gather(data, start + t as usize * step, lane_stride);
                    for j in 0..GROUP {
                        let take = beats(values[j], best[j]);
                        best[j] = if take { values[j] } else { best[j] };
                        index[j] = if take { t } else { index[j] };
                    }
                }
                out.extend(index.map(|i| i as usize));
            }
            for l in groups..lanes {
                let lane = (0..len as usize).map(|t| data[l * lane_stride + t * step]);
                out.push(argmax_of(lane));
            }
        },
    );
}

/// The argmax of one non-empty lane given value by value, one at a time: for lanes in no
/// layout [`argmax_lanes`] can read (and the lanes left over from its groups).
///
/// ```
/// use duograd_cpu::argmax::argmax_of;
/// assert_eq!(argmax_of([3.0, 7.0, 7.0, f64::NAN, 9.0].into_iter()), 3);
/// ```
///
/// # Panics
/// If the lane is empty.
pub fn argmax_of<E: Element>(mut lane: impl Iterator<Item = E>) -> usize {
    let mut best = lane.next().expect("argmax_of: an empty lane");
    let mut index = 0;
    for (t, v) in lane.enumerate() {
        if beats(v, best) {
            (best, index) = (v, t + 1);
        }
    }
    index
}

/// `[data[start], data[start + stride], …]`, [`GROUP`] values.
#[inline(always)]
fn gather<E: Copy>(data: &[E], start: usize, stride: usize) -> [E; GROUP] {
    if stride == 1 {
        data[start..start + GROUP].try_into().expect("GROUP values")
    } else {
        let data = &data[start..=start + (GROUP - 1) * stride];
        std::array::from_fn(|j| data[j * stride])
    }
}

/// The argmax of one non-empty contiguous lane. Two simple passes beat one branchy pass: the
/// max (NaN if any, [`fold_slice`]), then the first element equal to it (or the first NaN).
fn argmax_scan<E: Element>(s: &[E]) -> usize {
    let max = fold_slice(s, ReduceOp::Max.identity(), |a, e| {
        ReduceOp::Max.combine(a, e)
    });
    let found = if max.is_nan() {
        s.iter().position(|v| v.is_nan())
    } else {
        s.iter().position(|&v| v == max)
    };
    found.expect("the max is one of the elements")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The argmax of every lane, one lane at a time with branches: the reference.
    fn reference(
        data: &[f32],
        lanes: usize,
        len: usize,
        lane_stride: usize,
        step: usize,
    ) -> Vec<usize> {
        (0..lanes)
            .map(|l| {
                let at = |t: usize| data[l * lane_stride + t * step];
                let mut best = 0;
                for t in 0..len {
                    if at(t).is_nan() {
                        return t;
                    }
                    if at(t) > at(best) {
                        best = t;
                    }
                }
                best
            })
            .collect()
    }

    /// Short and long lanes, along rows and columns, with more lanes than a block, ties
    /// (values from a small set), NaNs and infinities, against the one-at-a-time reference.
    #[test]
    fn agrees_with_a_lane_at_a_time_in_both_directions() {
        let mut state = 7u32;
        let mut next = || {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            state >> 8
        };
        for &(rows, cols) in &[(1, 1), (3, 1), (1, 40), (130, 10), (70, 33), (5, 200)] {
            let data: Vec<f32> = (0..rows * cols)
                .map(|_| match next() % 50 {
                    0 => f32::NAN,
                    1 => f32::INFINITY,
                    2 => f32::NEG_INFINITY,
                    r => (r % 7) as f32 - 3.0,
                })
                .collect();
            for (lanes, len, lane_stride, step) in [(rows, cols, cols, 1), (cols, rows, 1, cols)] {
                let mut out = Vec::new();
                argmax_lanes(&data, lanes, len, lane_stride, step, &mut out);
                assert_eq!(
                    out,
                    reference(&data, lanes, len, lane_stride, step),
                    "{lanes} lanes of {len}, strides ({lane_stride}, {step})"
                );
            }
        }
    }

    #[test]
    fn a_nan_wins_and_stays() {
        let x = [1.0f32, f32::NAN, 9.0, f32::NAN];
        let mut out = Vec::new();
        argmax_lanes(&x, 1, 4, 4, 1, &mut out);
        argmax_lanes(&x, 1, 4, 0, 1, &mut out);
        assert_eq!(out, [1, 1]);
    }

    #[test]
    #[should_panic(expected = "reach element 6 of a slice of 6")]
    fn lanes_beyond_the_data_are_refused() {
        argmax_lanes(&[0.0f32; 6], 2, 3, 4, 1, &mut Vec::new());
    }
}
