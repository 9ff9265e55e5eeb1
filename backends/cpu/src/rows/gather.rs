//! Gathering a mini-batch: rows of a data set picked in shuffled order, converted to `f32` and
//! laid out the way the backend stores matrices, shared out over duograd's worker threads.
//!
//! The rows come in random order out of a data set far larger than the caches, so a batch is
//! bound by memory latency (and, for `f32` data, bandwidth), not arithmetic: two threads fetch
//! about twice as much at once, and prefetching the next rows hides part of the wait. A
//! column-major batch of bytes (MNIST) is converted and transposed in registers, 16 rows and 8
//! columns at a time, where the CPU has AVX2 ([`bytes_to_columns`]); otherwise it is gathered
//! row-major a few rows at a time into a buffer that stays in cache and written out transposed
//! from there, 8×8 values at a time with AVX where the CPU has it. Either way the batch itself
//! is written once.
//!
//! The data loader gathers each next batch in the background ([`Features::gather_in_background`]):
//! idle worker threads take it 16 rows at a time between the matrix products of the current
//! step, and whatever they have not done when the batch is needed is done then.

use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::ops::Range;
use std::sync::Arc;

use duograd_backend::Layout;

use super::Features;
use crate::threads::{self, pool};

/// Rows ahead of the one being copied whose memory is requested early: rows come in random
/// order, so the hardware prefetcher cannot guess the next one. Two: far enough ahead that a
/// row's fetch overlaps the copies before it, near enough that it is still in cache when
/// copied.
const PREFETCH_AHEAD: usize = 2;

/// Rows a column-major batch gathers before transposing them: 16 rows of MNIST are 50 KB of
/// `f32`, and each column's 16 values fill one 64-byte cache line of the batch.
const BLOCK_ROWS: usize = 16;

/// Rows per share of a gather handed to the worker threads (a multiple of [`BLOCK_ROWS`]).
const SHARE_ROWS: usize = 4 * BLOCK_ROWS;

/// Batches of fewer values are gathered on the calling thread, and not ahead in the background:
/// handing out shares costs a few microseconds.
pub const PARALLEL_MIN_VALUES: usize = 1 << 15;

/// The batch being written, shared by the threads that gather its rows.
#[derive(Clone, Copy)]
struct BatchPtr(*mut f32);

// SAFETY: the threads gathering one batch write disjoint values (each its own rows), and the
// batch outlives them (`pool::run` returns only when all shares have finished).
unsafe impl Send for BatchPtr {}
// SAFETY: as for `Send`: the threads share the pointer, and each writes only its own rows.
unsafe impl Sync for BatchPtr {}

impl Features {
    /// Appends rows `rows` (each `dim` values long) to `out` as `f32`, in the order given, laid
    /// out in `layout` (column-major: value `j` of row `rows[r]` at `j * rows.len() + r`).
    ///
    /// Every row must be in range (the caller checks, naming the row).
    pub fn gather_rows(&self, rows: &[usize], dim: usize, layout: Layout, out: &mut Vec<f32>) {
        self.gather_rows_on(rows, dim, layout, threads::num_threads(), out);
    }

    /// [`Features::gather_rows`] on up to `threads` threads.
    fn gather_rows_on(
        &self,
        rows: &[usize],
        dim: usize,
        layout: Layout,
        threads: usize,
        out: &mut Vec<f32>,
    ) {
        let (n, start) = (rows.len(), out.len());
        self.assert_rows_stored(rows, dim);
        out.reserve(n * dim);
        let batch = BatchPtr(out.spare_capacity_mut().as_mut_ptr().cast::<f32>());
        let share_rows = SHARE_ROWS.max(n.div_ceil(pool::MAX_PARTS).next_multiple_of(BLOCK_ROWS));
        let shares = n.div_ceil(share_rows);
        let gather_share = |share: usize| {
            let range = part_rows(share, share_rows, n);
            // SAFETY: `batch` has room for `n * dim` values (reserved above), every row index is
            // in range (asserted above), and shares write disjoint rows of the batch.
            unsafe { self.gather_share(rows, range, dim, layout, batch) }
        };
        if threads > 1 && shares > 1 && n * dim >= PARALLEL_MIN_VALUES {
            pool::run(shares, threads, &gather_share);
        } else {
            (0..shares).for_each(gather_share);
        }
        // SAFETY: the shares wrote all `n * dim` values: they cover rows 0..n, and each writes
        // every value of its rows.
        unsafe { out.set_len(start + n * dim) };
    }

    /// Panics if a row lies beyond the stored ones: checked up front, so that a bad row fails
    /// once with a clear message rather than inside a worker's share (and `row * dim` cannot
    /// overflow).
    fn assert_rows_stored(&self, rows: &[usize], dim: usize) {
        let stored_rows = self.len().checked_div(dim).unwrap_or(usize::MAX);
        assert!(
            rows.iter().all(|&r| r < stored_rows),
            "gather_rows: a row lies beyond the {stored_rows} rows stored"
        );
    }

    /// Writes rows `rows[range]` of the `rows.len() × dim` batch at `batch`, in `layout`.
    ///
    /// # Safety
    /// `batch` must have room for `rows.len() * dim` values, no other thread may write these
    /// rows meanwhile, and every row of `rows[range]` must lie inside the features.
    unsafe fn gather_share(
        &self,
        rows: &[usize],
        range: Range<usize>,
        dim: usize,
        layout: Layout,
        batch: BatchPtr,
    ) {
        debug_assert!(range.start <= range.end && range.end <= rows.len());
        debug_assert!(rows[range.clone()]
            .iter()
            .all(|&r| (r + 1) * dim <= self.len()));
        debug_assert!(!batch.0.is_null() && batch.0.is_aligned());
        match layout {
            Layout::RowMajor => {
                // SAFETY: rows `range` of a row-major batch are these values, which no other
                // thread writes.
                let out = unsafe {
                    std::slice::from_raw_parts_mut(
                        batch.0.add(range.start * dim).cast::<MaybeUninit<f32>>(),
                        range.len() * dim,
                    )
                };
                self.gather_into(rows, range, dim, out);
            }
            Layout::ColMajor => {
                let n = rows.len();
                #[cfg(target_arch = "x86_64")]
                if let Features::Bytes { bytes, map } = self {
                    if std::arch::is_x86_feature_detected!("avx2") {
                        // SAFETY: the CPU has AVX2 (checked just above); as the caller
                        // promised otherwise.
                        return unsafe { bytes_to_columns(bytes, *map, rows, range, dim, batch.0) };
                    }
                }
                let mut block = Vec::with_capacity(BLOCK_ROWS.min(range.len()) * dim);
                for r0 in range.clone().step_by(BLOCK_ROWS) {
                    let r1 = (r0 + BLOCK_ROWS).min(range.end);
                    block.clear();
                    self.gather_into(
                        rows,
                        r0..r1,
                        dim,
                        &mut block.spare_capacity_mut()[..(r1 - r0) * dim],
                    );
                    // SAFETY: `gather_into` wrote all these values.
                    unsafe { block.set_len((r1 - r0) * dim) };
                    // SAFETY: rows r0..r1 of column j are at `j * n + r0..j * n + r1`, inside
                    // the batch and written by this share only.
                    unsafe { transpose_into(&block, r1 - r0, dim, batch.0.add(r0), n) };
                }
            }
        }
    }

    /// Writes rows `rows[range]` one after another into `out` (`range.len() * dim` values),
    /// prefetching the rows that follow in `rows`.
    fn gather_into(
        &self,
        rows: &[usize],
        range: Range<usize>,
        dim: usize,
        out: &mut [MaybeUninit<f32>],
    ) {
        let rows_out = out.chunks_exact_mut(dim.max(1));
        match self {
            Features::Floats(v) => {
                for (r, row_out) in range.zip(rows_out) {
                    prefetch_row(v, rows.get(r + PREFETCH_AHEAD), dim);
                    let src = &v[rows[r] * dim..(rows[r] + 1) * dim];
                    for (o, &x) in row_out.iter_mut().zip(src) {
                        o.write(x);
                    }
                }
            }
            Features::Bytes { bytes, map } => {
                let convert = |r: usize, row_out: &mut [MaybeUninit<f32>]| {
                    prefetch_row(bytes, rows.get(r + PREFETCH_AHEAD), dim);
                    let src = &bytes[rows[r] * dim..(rows[r] + 1) * dim];
                    for (o, &b) in row_out.iter_mut().zip(src) {
                        o.write(map.value(b));
                    }
                };
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU has AVX2 (checked just above).
                    return unsafe { for_each_row_avx2(range, rows_out, convert) };
                }
                range
                    .zip(rows_out)
                    .for_each(|(r, row_out)| convert(r, row_out));
            }
        }
    }
}

/// Rows per part of a batch gathered in the background: small, since a product posted
/// meanwhile waits for the worker to finish its part (16 MNIST rows take a few microseconds).
const BACKGROUND_ROWS: usize = BLOCK_ROWS;

/// A batch being gathered by idle worker threads ([`Features::gather_in_background`]).
pub struct PendingGather {
    job: Arc<GatherJob>,
    work: pool::Background,
}

/// What a background gather works on: it owns all of it, so a gather that is dropped unfinished
/// leaves nothing dangling.
struct GatherJob {
    features: Arc<Features>,
    rows: Vec<usize>,
    dim: usize,
    layout: Layout,
    /// The batch, with capacity for `rows.len() * dim` values, taken out only once every part
    /// has finished.
    out: UnsafeCell<Vec<f32>>,
    /// `out`'s buffer, through which the parts write, each its own rows.
    batch: BatchPtr,
}

// SAFETY: the parts write disjoint rows of `out` and nothing else reads it until all have
// finished (`PendingGather::wait`); the other fields are only read.
unsafe impl Sync for GatherJob {}

impl Features {
    /// Starts gathering `rows` (each `dim` values long) as [`Features::gather_rows`] does, on
    /// idle worker threads while the caller goes on.
    ///
    /// # Panics
    /// If a row lies beyond the stored ones.
    pub fn gather_in_background(
        self: &Arc<Self>,
        rows: Vec<usize>,
        dim: usize,
        layout: Layout,
    ) -> PendingGather {
        let n = rows.len();
        self.assert_rows_stored(&rows, dim);
        // The buffer of a batch dropped since, if this thread kept one.
        let mut out = crate::buffers::take(n * dim);
        let batch = BatchPtr(out.as_mut_ptr());
        let job = Arc::new(GatherJob {
            features: Arc::clone(self),
            rows,
            dim,
            layout,
            out: UnsafeCell::new(out),
            batch,
        });
        let shared = Arc::clone(&job);
        let work = pool::background(
            n.div_ceil(BACKGROUND_ROWS),
            threads::num_threads(),
            move |part| {
                let job = &*shared;
                let range = part_rows(part, BACKGROUND_ROWS, n);
                // SAFETY: `batch` has room for `n * dim` values and stays valid while parts run
                // (its `Vec` is taken out only after they have finished), every row is stored
                // (asserted above), and parts write disjoint rows.
                unsafe {
                    job.features
                        .gather_share(&job.rows, range, job.dim, job.layout, job.batch)
                }
            },
        );
        PendingGather { job, work }
    }
}

impl PendingGather {
    /// Finishes the gather on the calling thread (and the workers still on it) and returns the
    /// batch.
    ///
    /// # Panics
    /// If gathering a part panicked.
    pub fn wait(self) -> Vec<f32> {
        self.work.wait();
        let len = self.job.rows.len() * self.job.dim;
        // SAFETY: every part has finished (`wait` returned) and none can start any more, so
        // nothing else touches `out` now; they wrote all `len` values, so it is initialized.
        unsafe {
            let out = &mut *self.job.out.get();
            out.set_len(len);
            std::mem::take(out)
        }
    }
}

impl std::fmt::Debug for PendingGather {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingGather")
            .field("rows", &self.job.rows.len())
            .field("layout", &self.job.layout)
            .finish_non_exhaustive()
    }
}

/// The rows of part `part` of a batch of `n` rows cut into parts of `part_rows`.
fn part_rows(part: usize, part_rows: usize, n: usize) -> Range<usize> {
    part * part_rows..((part + 1) * part_rows).min(n)
}

/// `convert(r, row)` for each row `r` of `range` and its output row, compiled for AVX2: the
/// byte-to-`f32` conversion then runs 8 values at a time instead of 4 (one multiply and one
/// add each, as [`ByteMap::value`](super::ByteMap::value) computes them, so the
/// values are the same to the bit: the tests compare them exactly).
///
/// # Safety
/// The CPU must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn for_each_row_avx2<'a>(
    range: Range<usize>,
    rows_out: impl Iterator<Item = &'a mut [MaybeUninit<f32>]>,
    mut convert: impl FnMut(usize, &'a mut [MaybeUninit<f32>]),
) {
    debug_assert!(std::arch::is_x86_feature_detected!("avx2"));
    for (r, row_out) in range.zip(rows_out) {
        convert(r, row_out);
    }
}

/// Writes the row-major `rows × dim` `block` transposed: value `(r, j)` to `out[j * n + r]`.
///
/// # Safety
/// `out[j * n + r]` must be writable for every `r < rows`, `j < dim`.
unsafe fn transpose_into(block: &[f32], rows: usize, dim: usize, out: *mut f32, n: usize) {
    debug_assert_eq!(block.len(), rows * dim);
    let mut done_rows = 0;
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        done_rows = rows / 8 * 8;
        let done_cols = dim / 8 * 8;
        // Columns outer: a column's values from all the block's rows are written one after
        // another, so each cache line of the batch is filled while it is still in L1.
        for j in (0..done_cols).step_by(8) {
            for r in (0..done_rows).step_by(8) {
                // SAFETY: rows r..r+8 and columns j..j+8 lie inside the block and the batch,
                // and the CPU has AVX.
                unsafe {
                    transpose_8x8(block.as_ptr().add(r * dim + j), dim, out.add(j * n + r), n)
                };
            }
            // The lines the next block writes in these columns, fetched for writing meanwhile.
            for c in j..j + 8 {
                use std::arch::x86_64::{_mm_prefetch, _MM_HINT_ET0};
                // SAFETY: a prefetch never faults or changes memory.
                unsafe { _mm_prefetch::<_MM_HINT_ET0>(out.wrapping_add(c * n + rows).cast()) };
            }
        }
        for j in done_cols..dim {
            for r in 0..done_rows {
                // SAFETY: as the caller promised.
                unsafe { out.add(j * n + r).write(block[r * dim + j]) };
            }
        }
    }
    for r in done_rows..rows {
        for (j, &x) in block[r * dim..(r + 1) * dim].iter().enumerate() {
            // SAFETY: as the caller promised.
            unsafe { out.add(j * n + r).write(x) };
        }
    }
}

/// Rows `rows[range]` of bytes converted and written straight into the column-major
/// `rows.len() × dim` batch at `out`, [`BLOCK_ROWS`] at a time: for each 8 columns, two 8×8 blocks
/// converted in registers and transposed, so that each 64-byte line of a column is written
/// whole, with no row-major copy in between (that copy, 50 KB per 16 MNIST rows, would not fit
/// a 32 KB L1). Rows past the last 8 are written one value at a time.
///
/// # Safety
/// The CPU must have AVX2; every row of `rows[range]` must lie inside `bytes`, and `out` must
/// have room for the batch, whose rows `range` no other thread writes meanwhile.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn bytes_to_columns(
    bytes: &[u8],
    map: super::ByteMap,
    rows: &[usize],
    range: Range<usize>,
    dim: usize,
    out: *mut f32,
) {
    use std::arch::x86_64::*;
    let n = rows.len();
    debug_assert!(is_x86_feature_detected!("avx2"));
    debug_assert!(range.start <= range.end && range.end <= n);
    debug_assert!(rows[range.clone()]
        .iter()
        .all(|&r| (r + 1) * dim <= bytes.len()));
    debug_assert!(!out.is_null() && out.is_aligned());
    let (scale, offset) = (_mm256_set1_ps(map.scale), _mm256_set1_ps(map.offset));
    let cols = dim / 8 * 8;
    let mut r0 = range.start;
    while r0 + 8 <= range.end {
        let group = if r0 + BLOCK_ROWS <= range.end {
            BLOCK_ROWS
        } else {
            8
        };
        for next in rows[(r0 + group).min(range.end)..(r0 + 2 * group).min(range.end)].iter() {
            prefetch_row(bytes, Some(next), dim);
        }
        let src = |i: usize| {
            debug_assert!(i < group);
            // SAFETY: row `rows[r0 + i]` lies inside `bytes` (the caller's promise; `r0 + i <
            // r0 + group ≤ range.end`).
            unsafe { bytes.as_ptr().add(rows[r0 + i] * dim) }
        };
        for j in (0..cols).step_by(8) {
            for half in (0..group).step_by(8) {
                let values = std::array::from_fn(|i| {
                    // SAFETY: row `rows[r0 + half + i]` lies inside `bytes` and `j + 8 ≤ dim`.
                    let b = unsafe { _mm_loadl_epi64(src(half + i).add(j).cast()) };
                    let x = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b));
                    // A multiply and an add, as `ByteMap::value` computes it.
                    _mm256_add_ps(_mm256_mul_ps(x, scale), offset)
                });
                for (c, column) in crate::simd::transpose8(values).into_iter().enumerate() {
                    // SAFETY: column `j + c`, rows `r0 + half ..` of the batch, inside it.
                    unsafe { _mm256_storeu_ps(out.add((j + c) * n + r0 + half), column) };
                }
            }
        }
        for j in cols..dim {
            for i in 0..group {
                // SAFETY: as above.
                unsafe { out.add(j * n + r0 + i).write(map.value(*src(i).add(j))) };
            }
        }
        r0 += group;
    }
    for r in r0..range.end {
        for (j, &b) in bytes[rows[r] * dim..(rows[r] + 1) * dim].iter().enumerate() {
            // SAFETY: as above.
            unsafe { out.add(j * n + r).write(map.value(b)) };
        }
    }
}

/// Transposes the 8×8 block at `src` (rows `src_stride` apart) to `dst` (rows `dst_stride`
/// apart).
///
/// # Safety
/// The CPU must have AVX, and both blocks must lie inside their buffers.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn transpose_8x8(src: *const f32, src_stride: usize, dst: *mut f32, dst_stride: usize) {
    use std::arch::x86_64::{_mm256_loadu_ps, _mm256_storeu_ps};
    debug_assert!(is_x86_feature_detected!("avx"));
    debug_assert!(src.is_aligned() && dst.is_aligned());
    // SAFETY: as the caller promised.
    unsafe {
        let rows = std::array::from_fn(|i| _mm256_loadu_ps(src.add(i * src_stride)));
        for (j, column) in crate::simd::transpose8(rows).into_iter().enumerate() {
            _mm256_storeu_ps(dst.add(j * dst_stride), column);
        }
    }
}

/// Asks the CPU to start loading row `row` of `data` into cache (a hint; no effect on results,
/// and nothing on targets other than x86-64).
#[inline]
fn prefetch_row<T>(data: &[T], row: Option<&usize>, dim: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(row) = data.get(row.map_or(usize::MAX, |&r| r * dim)..) {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        const LINE: usize = 64;
        let bytes = (dim * std::mem::size_of::<T>()).min(std::mem::size_of_val(row));
        let start = row.as_ptr().cast::<i8>();
        for offset in (0..bytes).step_by(LINE) {
            // SAFETY: `offset < bytes ≤ size_of_val(row)`, so the address lies inside `data`;
            // a prefetch never faults or changes memory anyway.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(start.add(offset)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (data, row, dim);
}

#[cfg(test)]
mod tests {
    use super::super::both_storages as both;
    use super::*;

    /// The value `j` of row `rows[r]`, read directly.
    fn expected(features: &Features, rows: &[usize], dim: usize, r: usize, j: usize) -> f32 {
        features.values(rows[r] * dim + j..rows[r] * dim + j + 1)[0]
    }

    #[test]
    fn bytes_and_floats_gather_the_same_rows() {
        let values: Vec<u8> = (0..60).map(|i| (i * 7 % 256) as u8).collect();
        let rows = [4, 0, 4, 9, 2];
        let [floats, bytes] = both(&values);
        let (mut a, mut b) = (vec![9.0], vec![9.0]);
        floats.gather_rows(&rows, 6, Layout::RowMajor, &mut a);
        bytes.gather_rows(&rows, 6, Layout::RowMajor, &mut b);
        assert_eq!(a, b);
        assert_eq!(a.len(), 1 + 5 * 6);
        assert_eq!(a[1..7], floats.values(24..30)[..]);
        assert_eq!(a[0], 9.0, "gather_rows appends");
    }

    /// Both layouts, against direct reads, for sizes around the 8×8 tiles, the 16-row blocks,
    /// the shares and the threshold for threads (with 1 and 2 threads).
    #[test]
    fn every_layout_size_and_thread_count_gathers_the_right_values() {
        for dim in [1, 6, 8, 13, 784] {
            let len = 300;
            let values: Vec<u8> = (0..len * dim).map(|i| (i * 7 % 251) as u8).collect();
            for features in both(&values) {
                for n in [0, 1, 5, 8, 15, 16, 17, 63, 64, 65, 200] {
                    let rows: Vec<usize> = (0..n).map(|r| (r * 37 + 11) % len).collect();
                    for threads in [1, 2] {
                        for layout in [Layout::RowMajor, Layout::ColMajor] {
                            let mut out = vec![7.0];
                            features.gather_rows_on(&rows, dim, layout, threads, &mut out);
                            assert_eq!(out.len(), 1 + n * dim);
                            assert_eq!(out[0], 7.0, "gather_rows appends");
                            for r in 0..n {
                                for j in 0..dim {
                                    let at = match layout {
                                        Layout::RowMajor => r * dim + j,
                                        Layout::ColMajor => j * n + r,
                                    };
                                    assert_eq!(
                                        out[1 + at],
                                        expected(&features, &rows, dim, r, j),
                                        "{layout:?} dim={dim} n={n} threads={threads} r={r} j={j}"
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
