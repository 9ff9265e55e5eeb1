//! A data set's feature rows as the data loader keeps them, and the gathering of a mini-batch
//! from them ([`Features::gather_rows`], [`Features::gather_in_background`]).
//!
//! How duograd's `Dataset` stores its feature values: one `f32` each, or one byte
//! each read through an affine map, the way image data sets such as MNIST arrive.
//!
//! Bytes take a quarter of the memory, and, more to the point, a quarter of the memory traffic
//! when a mini-batch gathers rows in random order (`gather.rs`): on the machine of BENCHMARKS.md
//! gathering an epoch of shuffled MNIST batches took ~30 ms from `f32` rows and ~12 ms from bytes
//! (with prefetching), against a training epoch of ~170 ms.

use std::borrow::Cow;
use std::ops::Range;

mod gather;

pub use gather::{PendingGather, PARALLEL_MIN_VALUES};

/// Feature values, row-major.
#[derive(Debug, Clone, PartialEq)]
pub enum Features {
    /// One `f32` per value.
    Floats(Vec<f32>),
    /// One byte per value, standing for `map.value(byte)`.
    Bytes {
        /// The stored bytes, row-major.
        bytes: Vec<u8>,
        /// What value each byte stands for.
        map: ByteMap,
    },
}

/// The value a byte stands for: `byte · scale + offset`, computed in `f32` (a multiply and an
/// add, so that converting a batch vectorizes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ByteMap {
    /// The factor applied to the byte.
    pub scale: f32,
    /// The value of byte 0.
    pub offset: f32,
}

impl ByteMap {
    /// The value `byte` stands for.
    pub fn value(self, byte: u8) -> f32 {
        f32::from(byte) * self.scale + self.offset
    }
}

impl Features {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Features::Floats(v) => v.len(),
            Features::Bytes { bytes, .. } => bytes.len(),
        }
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values in `range`: borrowed when stored as `f32`, converted when stored as bytes.
    pub fn values(&self, range: Range<usize>) -> Cow<'_, [f32]> {
        match self {
            Features::Floats(v) => Cow::Borrowed(&v[range]),
            Features::Bytes { bytes, map } => {
                Cow::Owned(bytes[range].iter().map(|&b| map.value(b)).collect())
            }
        }
    }

    /// Splits off the values from `at` on.
    pub fn split_off(&mut self, at: usize) -> Features {
        match self {
            Features::Floats(v) => Features::Floats(v.split_off(at)),
            Features::Bytes { bytes, map } => Features::Bytes {
                bytes: bytes.split_off(at),
                map: *map,
            },
        }
    }

    /// The rows `rows`, in that order, stored as these are.
    pub fn subset(&self, rows: &[usize], dim: usize) -> Features {
        fn pick<T: Copy>(v: &[T], rows: &[usize], dim: usize) -> Vec<T> {
            let mut out = Vec::with_capacity(rows.len() * dim);
            for &row in rows {
                out.extend_from_slice(&v[row * dim..(row + 1) * dim]);
            }
            out
        }
        match self {
            Features::Floats(v) => Features::Floats(pick(v, rows, dim)),
            Features::Bytes { bytes, map } => Features::Bytes {
                bytes: pick(bytes, rows, dim),
                map: *map,
            },
        }
    }

    /// Maps every value `x` to `(x − mean) / std`. For bytes only the map changes: the new
    /// scale and offset are composed in `f64` and rounded once.
    pub fn standardize(&mut self, mean: f64, std: f64) {
        match self {
            Features::Floats(v) => {
                let inv_std = 1.0 / std;
                for x in v {
                    *x = ((f64::from(*x) - mean) * inv_std) as f32;
                }
            }
            Features::Bytes { map, .. } => {
                *map = ByteMap {
                    scale: (f64::from(map.scale) / std) as f32,
                    offset: ((f64::from(map.offset) - mean) / std) as f32,
                };
            }
        }
    }

    /// The mean and the population variance of all values (in `f64`, two passes), or `None`
    /// when there are none.
    pub fn mean_and_variance(&self) -> Option<(f64, f64)> {
        let n = self.len() as f64;
        if n == 0.0 {
            return None;
        }
        Some(match self {
            Features::Floats(v) => {
                let mean = lane_sum(v, |x| x) / n;
                (mean, lane_sum(v, |x| (x - mean) * (x - mean)) / n)
            }
            Features::Bytes { bytes, map } => {
                let counts = histogram(bytes);
                let weighted = |f: &dyn Fn(f64) -> f64| -> f64 {
                    (0..=u8::MAX)
                        .zip(&counts)
                        .map(|(b, &count)| count as f64 * f(f64::from(map.value(b))))
                        .sum()
                };
                let mean = weighted(&|x| x) / n;
                (mean, weighted(&|x| (x - mean) * (x - mean)) / n)
            }
        })
    }

    /// All values as `f32`.
    pub fn into_floats(self) -> Vec<f32> {
        match self {
            Features::Floats(v) => v,
            Features::Bytes { bytes, map } => bytes.iter().map(|&b| map.value(b)).collect(),
        }
    }
}

/// How many times each byte value occurs (256 possible values: the statistics count them once,
/// then weigh each).
fn histogram(bytes: &[u8]) -> [u64; 256] {
    // Four tables: runs of one value (MNIST is mostly 0) would otherwise wait on the previous
    // increment of the same counter.
    const TABLES: usize = 4;
    let mut counts = [[0u32; 256]; TABLES];
    let mut total = [0u64; 256];
    // u32 counters, flushed before they could overflow.
    for part in bytes.chunks(TABLES * (u32::MAX as usize / 2)) {
        let quads = part.chunks_exact(TABLES);
        for &b in quads.remainder() {
            counts[0][usize::from(b)] += 1;
        }
        for quad in quads {
            for (table, &b) in counts.iter_mut().zip(quad) {
                table[usize::from(b)] += 1;
            }
        }
        for table in &mut counts {
            for (t, c) in total.iter_mut().zip(table.iter_mut()) {
                *t += u64::from(std::mem::take(c));
            }
        }
    }
    total
}

/// `Σ f(x)` in `f64` with eight independent accumulators (vectorizes, and loses less precision
/// than one long running sum).
fn lane_sum(xs: &[f32], f: impl Fn(f64) -> f64) -> f64 {
    const LANES: usize = 8;
    let mut acc = [0.0f64; LANES];
    let chunks = xs.chunks_exact(LANES);
    let tail: f64 = chunks.remainder().iter().map(|&x| f(f64::from(x))).sum();
    for chunk in chunks {
        for (a, &x) in acc.iter_mut().zip(chunk) {
            *a += f(f64::from(x));
        }
    }
    acc.iter().sum::<f64>() + tail
}

/// For tests: the same values stored both ways, as `f32` and as bytes (under `0.5 · b − 1`).
#[cfg(test)]
pub(crate) fn both_storages(values: &[u8]) -> [Features; 2] {
    let map = ByteMap {
        scale: 0.5,
        offset: -1.0,
    };
    [
        Features::Floats(values.iter().map(|&b| map.value(b)).collect()),
        Features::Bytes {
            bytes: values.to_vec(),
            map,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::both_storages as both;

    #[test]
    fn standardizing_bytes_changes_the_map_like_the_values() {
        let values: Vec<u8> = (0..=255).collect();
        let [mut floats, mut bytes] = both(&values);
        floats.standardize(3.0, 7.0);
        bytes.standardize(3.0, 7.0);
        let (f, b) = (floats.into_floats(), bytes.into_floats());
        for (x, y) in f.iter().zip(&b) {
            assert!(
                (x - y).abs() <= 4.0 * f32::EPSILON * x.abs().max(1.0),
                "{x} vs {y}"
            );
        }
    }

    #[test]
    fn histogram_counts_every_byte() {
        let bytes: Vec<u8> = (0..1003).map(|i| (i * i % 7) as u8).collect();
        let counts = histogram(&bytes);
        for value in 0..=255u8 {
            let expected = bytes.iter().filter(|&&b| b == value).count() as u64;
            assert_eq!(counts[usize::from(value)], expected, "value {value}");
        }
    }

    #[test]
    fn byte_statistics_count_every_value() {
        // Values -1, 0.5, 0.5, 126.5, 4, 0.5: mean 131/6.
        let [floats, bytes] = both(&[0u8, 3, 3, 255, 10, 3]);
        let (m1, v1) = floats.mean_and_variance().unwrap();
        let (m2, v2) = bytes.mean_and_variance().unwrap();
        assert!((m2 - 131.0 / 6.0).abs() < 1e-12, "{m2}");
        assert!(
            (m1 - m2).abs() < 1e-12 && (v1 - v2).abs() < 1e-9,
            "{m1} {m2} {v1} {v2}"
        );
        let direct = [-1.0, 0.5, 0.5, 126.5, 4.0, 0.5].map(|x: f64| (x - m2) * (x - m2));
        assert!((v2 - direct.iter().sum::<f64>() / 6.0).abs() < 1e-9);
        let [_, empty] = both(&[]);
        assert_eq!(empty.mean_and_variance(), None);
    }
}
