//! Per-channel sums and per-channel affine maps over `[N, C, …]` arrays: the passes of batch
//! normalization, reading and writing each backend's buffer through its strides.

use std::sync::{Mutex, PoisonError};

use duograd_backend::Element;

use crate::threads::{self, pool};
use crate::window::Strides4;

/// Below this many elements a kernel runs on the calling thread.
const PARALLEL_MIN: usize = 1 << 16;

/// An `[N, C, A, B]` array (a 2-D `[N, C]` or 3-D `[N, C, L]` one padded with axes of size 1)
/// inside a buffer of exactly `N·C·A·B` elements, element `(n, c, a, b)` at
/// `strides.0 · (n, c, a, b)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Channels {
    /// `[N, C, A, B]`.
    pub shape: [usize; 4],
    /// Where each element lies.
    pub strides: Strides4,
}

impl Channels {
    /// The array of `shape` (rank 2 to 4, channels on axis 1) with element strides `strides`
    /// (one per axis).
    ///
    /// # Panics
    /// If the rank is not 2 to 4 or the strides do not match it.
    pub fn new(shape: &[usize], strides: &[usize]) -> Self {
        assert!(
            (2..=4).contains(&shape.len()) && strides.len() == shape.len(),
            "Channels: shape {shape:?} with strides {strides:?}"
        );
        let (mut s4, mut st4) = ([1; 4], [0; 4]);
        s4[..shape.len()].copy_from_slice(shape);
        st4[..strides.len()].copy_from_slice(strides);
        Channels {
            shape: s4,
            strides: Strides4(st4),
        }
    }

    fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// Calls `f(offset, len)` for every contiguous run of channel `c` of sample `n` (the
    /// elements `offset..offset + len`), or `None` if that channel's elements are not in
    /// contiguous runs of more than one element.
    #[inline]
    fn runs(&self, n: usize, c: usize, mut f: impl FnMut(usize, usize)) -> Option<()> {
        let [_, _, a, b] = self.shape;
        let [sn, sc, sa, sb] = self.strides.0;
        let base = n * sn + c * sc;
        let (outer, so, inner) = match (sa, sb) {
            (_, 1) if b > 1 && (a == 1 || sa == b) => return Some(f(base, a * b)),
            (_, 1) if b > 1 => (a, sa, b),
            (1, _) if a > 1 => (b, sb, a),
            _ => return None,
        };
        for i in 0..outer {
            f(base + i * so, inner);
        }
        Some(())
    }

    /// Calls `f(offset)` for every element of channel `c` of sample `n`, the axis with the
    /// smaller stride innermost.
    #[inline]
    fn for_each(&self, n: usize, c: usize, mut f: impl FnMut(usize)) {
        let [_, _, a, b] = self.shape;
        let [sn, sc, sa, sb] = self.strides.0;
        let base = n * sn + c * sc;
        let ((outer, so), (inner, si)) = if sb <= sa {
            ((a, sa), (b, sb))
        } else {
            ((b, sb), (a, sa))
        };
        for i in 0..outer {
            let row = base + i * so;
            for j in 0..inner {
                f(row + j * si);
            }
        }
    }
}

/// Per channel, the sum of `a` and the sum of `a · b` (of `a²` without `b`), accumulated in
/// `f64`; `a` and `b` share the layout `v`.
///
/// # Panics
/// If a buffer is shorter than the array.
pub fn channel_sums<E: Element>(a: &[E], b: Option<&[E]>, v: &Channels) -> (Vec<E>, Vec<E>) {
    let len = v.numel();
    assert!(
        a.len() >= len && b.is_none_or(|b| b.len() >= len),
        "channel_sums: buffers shorter than {:?}",
        v.shape
    );
    let [n, c, _, _] = v.shape;
    let sums: Vec<Mutex<(f64, f64)>> = (0..c).map(|_| Mutex::new((0.0, 0.0))).collect();
    let job = |ch: usize| {
        let (mut s, mut p) = (0.0f64, 0.0f64);
        for ni in 0..n {
            let contiguous = v.runs(ni, ch, |start, len| {
                let a = &a[start..start + len];
                let (rs, rp) = match b {
                    None => run_sums(a, a),
                    Some(b) => run_sums(a, &b[start..start + len]),
                };
                s += rs;
                p += rp;
            });
            if contiguous.is_some() {
                continue;
            }
            let to_f64 = |x: E| x.to_f64().unwrap_or(f64::NAN);
            match b {
                None => v.for_each(ni, ch, |i| {
                    s += to_f64(a[i]);
                    p += to_f64(a[i]) * to_f64(a[i]);
                }),
                Some(b) => v.for_each(ni, ch, |i| {
                    s += to_f64(a[i]);
                    p += to_f64(a[i]) * to_f64(b[i]);
                }),
            }
        }
        *sums[ch].lock().unwrap_or_else(PoisonError::into_inner) = (s, p);
    };
    let threads = threads::num_threads();
    if len >= PARALLEL_MIN && threads > 1 && c > 1 {
        pool::run(c, threads, &job);
    } else {
        (0..c).for_each(job);
    }
    sums.into_iter()
        .map(|m| {
            let (s, p) = m.into_inner().unwrap_or_else(PoisonError::into_inner);
            (E::of(s), E::of(p))
        })
        .unzip()
}

/// Lanes of the partial sums of a contiguous run: independent accumulators, so that the loop
/// vectorizes.
const LANES: usize = 16;

/// The sums of `a` and of `a · b` over one contiguous run: in `E`, in [`LANES`] lanes (each
/// adding at most a run's length over `LANES` terms), then the lanes in `f64`.
#[inline]
fn run_sums<E: Element>(a: &[E], b: &[E]) -> (f64, f64) {
    let (mut s, mut p) = ([E::zero(); LANES], [E::zero(); LANES]);
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (a_rest, b_rest) = (a_chunks.remainder(), b_chunks.remainder());
    for (ca, cb) in a_chunks.zip(b_chunks) {
        for k in 0..LANES {
            s[k] += ca[k];
            p[k] += ca[k] * cb[k];
        }
    }
    let to_f64 = |x: E| x.to_f64().unwrap_or(f64::NAN);
    let mut total = (0.0, 0.0);
    for k in 0..LANES {
        total.0 += to_f64(s[k]);
        total.1 += to_f64(p[k]);
    }
    for (&x, &y) in a_rest.iter().zip(b_rest) {
        total.0 += to_f64(x);
        total.1 += to_f64(x) * to_f64(y);
    }
    total
}

/// `a · alpha[c] + b · beta[c] + gamma[c]` for every element (channel `c`), the `b` term only
/// if given; written at the same offsets as the inputs, all of layout `v`.
///
/// # Panics
/// If a buffer is shorter than the array or a coefficient vector is not one per channel.
pub fn channel_affine<E: Element>(
    a: &[E],
    alpha: &[E],
    b: Option<(&[E], &[E])>,
    gamma: &[E],
    v: &Channels,
) -> Vec<E> {
    let len = v.numel();
    let [n, c, _, _] = v.shape;
    assert!(
        a.len() >= len
            && b.is_none_or(|(b, beta)| b.len() >= len && beta.len() == c)
            && alpha.len() == c
            && gamma.len() == c,
        "channel_affine: buffers or coefficients do not fit {:?}",
        v.shape
    );
    let mut out = crate::buffers::take::<E>(len);
    out.resize(len, E::zero());
    let per_sample = len / n.max(1);
    let fill = |samples: std::ops::Range<usize>, out: &mut [E]| {
        let first = samples.start * v.strides.0[0];
        for ni in samples {
            for ch in 0..c {
                let (al, ga) = (alpha[ch], gamma[ch]);
                let contiguous = v.runs(ni, ch, |start, len| {
                    let dst = &mut out[start - first..][..len];
                    let a = &a[start..start + len];
                    match b {
                        None => {
                            for (d, &x) in dst.iter_mut().zip(a) {
                                *d = x * al + ga;
                            }
                        }
                        Some((b, beta)) => {
                            let be = beta[ch];
                            for ((d, &x), &y) in dst.iter_mut().zip(a).zip(&b[start..start + len]) {
                                *d = x * al + y * be + ga;
                            }
                        }
                    }
                });
                if contiguous.is_some() {
                    continue;
                }
                match b {
                    None => v.for_each(ni, ch, |i| out[i - first] = a[i] * al + ga),
                    Some((b, beta)) => {
                        let be = beta[ch];
                        v.for_each(ni, ch, |i| out[i - first] = a[i] * al + b[i] * be + ga)
                    }
                }
            }
        }
    };
    let threads = threads::num_threads();
    // Samples are contiguous blocks only when the sample axis is the outermost.
    if len >= PARALLEL_MIN && threads > 1 && n > 1 && v.strides.0[0] == per_sample {
        let per_share = n.div_ceil(threads);
        let shares: Vec<Mutex<&mut [E]>> = out
            .chunks_mut(per_share * per_sample)
            .map(Mutex::new)
            .collect();
        pool::run(shares.len(), threads, &|i| {
            let mut chunk = shares[i].lock().unwrap_or_else(PoisonError::into_inner);
            let first = i * per_share;
            fill(first..(first + per_share).min(n), &mut chunk);
        });
    } else {
        fill(0..n, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_and_affine_follow_the_channels_in_both_layouts() {
        // [2, 3, 2] row-major, and the same values column-major ([N·C, L] matrix stored by
        // columns: strides (C, 1, N·C)).
        let x: Vec<f64> = (0..12).map(|i| i as f64).collect();
        let rm = Channels::new(&[2, 3, 2], &[6, 2, 1]);
        let (s, p) = channel_sums(&x, None, &rm);
        // Channel 0 holds 0, 1, 6, 7.
        assert_eq!(s[0], 14.0);
        assert_eq!(p[0], 0.0 + 1.0 + 36.0 + 49.0);
        let mut cm = vec![0.0; 12];
        for n in 0..2 {
            for c in 0..3 {
                for l in 0..2 {
                    cm[n * 3 + c + l * 6] = x[n * 6 + c * 2 + l];
                }
            }
        }
        let colmajor = Channels::new(&[2, 3, 2], &[3, 1, 6]);
        assert_eq!(channel_sums(&cm, None, &colmajor), (s, p));
        let y = channel_affine(
            &cm,
            &[1.0, 2.0, 3.0],
            Some((&cm, &[1.0, 0.0, 0.0])),
            &[0.5, 0.0, -1.0],
            &colmajor,
        );
        // Element (1, 2, 1) = 11 → 11·3 − 1, at column-major offset 1·3 + 2 + 6.
        assert_eq!(y[11], 32.0);
        // Element (0, 0, 0) = 0 → 0·1 + 0·1 + 0.5.
        assert_eq!(y[0], 0.5);
    }
}
