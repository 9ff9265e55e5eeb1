//! duograd's own `f32` product for x86-64, blocked the way BLIS does it; the innermost loop is a
//! [`Microkernel`] for one instruction set ([`super::avx2`], [`super::avx512`]).
//!
//! The output is cut into `MR × NR` tiles, each held in registers while the microkernel runs
//! along `k`. Around it, `k` is cut into blocks of equal length, at most the kernel's `KC`, so
//! that an `NR`-column panel of `b` stays in L1 while the panels of `a` stream from L2.
//!
//! A row-major `a` is read in place (a column-major one too, in short or narrow products:
//! [`a_cols_in_place`]), as are the full panels of a row-major `b` whose rows
//! spread over the L1 cache's sets ([`b_fits_in_place`]) or that only a few rows of `a` read
//! ([`b_read_in_place`]); anything else is copied ("packed") into the order the microkernel
//! reads it, from any strides (8×8 register transposes for a column-major `b`), its last panel
//! zero-padded. A partial last panel of rows runs a kernel with that many rows, a partial last
//! panel of columns goes through a small buffer. The output is row-major (the caller gets a
//! column-major one by transposing the product: `(a·b)ᵀ = bᵀ·aᵀ`) and is never zeroed: the
//! first `k` block stores each tile, the later ones add to it.
//!
//! With several threads the output is cut into bands of rows (or of columns, when it is
//! wider than tall), which the threads claim one at a time; each band packs what it needs, so
//! the threads never wait for each other. What every band reads whole (`b` for bands of rows),
//! if it is packed and small, each thread packs once for all its bands. Bands that pack
//! nothing of their own shrink as the work runs out; the others are two per thread.

use std::arch::x86_64::*;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use super::StridedMatrix;
use crate::simd::transpose8;
use crate::threads::pool;

/// Columns of `b` packed at once: at most `KC · NC · 4` bytes (3.3 MB at `KC = 400`), read from
/// L3.
const NC: usize = 2048;
/// The most values a tile may hold (`MR · NR` of every kernel).
const MAX_TILE: usize = 384;

/// One instruction set's register tile: `c[0..mr, 0..NR] += a · b` along one `k` block.
pub(super) trait Microkernel {
    /// Rows of a tile.
    const MR: usize;
    /// Columns of a tile, a multiple of 8.
    const NR: usize;
    /// Longest `k` block.
    const KC: usize;
    /// Rows of `a` packed at once (their `MC · KC · 4` bytes should sit in L2).
    const MC: usize;

    /// Whether this CPU can run the kernel.
    fn available() -> bool;

    /// `c[0..mr, 0..NR] = a · b` (or `+=`, see [`Panels::overwrite`]) for an `mr × kc` panel
    /// `a` (`1 ≤ mr ≤ MR`) and a `kc × NR` panel `b`.
    ///
    /// # Safety
    /// The CPU must have the kernel's instructions ([`Microkernel::available`]), and the
    /// pointers of `p` must address what [`Panels`] says.
    unsafe fn tile(mr: usize, p: Panels);

    /// [`Microkernel::tile`] down a column of `mc` rows: tile `t` reads `a` from `p.a` plus
    /// `t · a_step` and writes rows `t · MR ..` of `p.c` (and of a row bias), all `NR` wide.
    ///
    /// # Safety
    /// As for [`Microkernel::tile`], for every tile of the column.
    unsafe fn tiles(mc: usize, a_step: usize, p: Panels);
}

/// Where a tile's operands and output are: `a`'s element `(i, q)` is `a[i * lda + q]` if
/// `a_rows`, else `a[i + q * lda]` (`lda = MR` for a packed panel); `b`'s `(q, j)` is
/// `b[q * ldb + j]`; `c`'s `(i, j)` is `c[i * ldc + j]`.
#[derive(Clone, Copy)]
pub(super) struct Panels {
    /// The length of the `k` block.
    pub kc: usize,
    pub a: *const f32,
    pub lda: usize,
    pub a_rows: bool,
    pub b: *const f32,
    pub ldb: usize,
    pub c: *mut f32,
    pub ldc: usize,
    /// Whether the tile is written (`c` uninitialized: the first `k` block) or added to.
    pub overwrite: bool,
    /// What is added to the tile as it is stored (on the last `k` block only).
    pub bias: TileBias,
}

/// A bias added to a product's output: one value per column of the row-major product the kernel
/// computes, or one per row (a column-major product's bias, once it is computed transposed).
#[derive(Clone, Copy, Debug)]
pub(super) enum Bias<'a> {
    PerColumn(&'a [f32]),
    PerRow(&'a [f32]),
}

impl Bias<'_> {
    /// The same bias for the transposed product.
    pub(super) fn transposed(self) -> Self {
        match self {
            Bias::PerColumn(v) => Bias::PerRow(v),
            Bias::PerRow(v) => Bias::PerColumn(v),
        }
    }
}

/// [`Bias`] as one tile sees it: a pointer to the values of its first column (`NR` of them)
/// or its first row (`mr`).
#[derive(Clone, Copy)]
pub(super) enum TileBias {
    None,
    Columns(*const f32),
    Rows(*const f32),
}

/// One instruction set's `f32` vector: what [`kernel`] needs of it. Every method is
/// `#[inline(always)]` and is compiled inside the caller's `#[target_feature]` function.
pub(super) trait Lanes: Copy {
    /// Values per vector.
    const WIDTH: usize;
    /// A vector of zeros.
    ///
    /// # Safety
    /// The CPU must have the instruction set.
    unsafe fn zero() -> Self;
    /// The `WIDTH` values from `p` on (no alignment needed beyond `f32`'s).
    ///
    /// # Safety
    /// The CPU must have the instruction set, and `p` must address `WIDTH` readable values.
    unsafe fn load(p: *const f32) -> Self;
    /// The value at `p` in every lane.
    ///
    /// # Safety
    /// The CPU must have the instruction set, and `p` must address a readable value.
    unsafe fn splat(p: *const f32) -> Self;
    /// `a · b + c`, fused.
    ///
    /// # Safety
    /// The CPU must have the instruction set.
    unsafe fn mul_add(a: Self, b: Self, c: Self) -> Self;
    /// `a + b`.
    ///
    /// # Safety
    /// The CPU must have the instruction set.
    unsafe fn add(a: Self, b: Self) -> Self;
    /// Writes the `WIDTH` values of `v` from `p` on.
    ///
    /// # Safety
    /// The CPU must have the instruction set, and `p` must address `WIDTH` writable values.
    unsafe fn store(p: *mut f32, v: Self);
}

/// [`Microkernel::tile`] for `R` rows of two vectors `V` each (`NR = 2 · V::WIDTH`): a partial
/// last panel of rows is computed as it is, neither padded nor copied. Per step along `k` it
/// loads a row of `b`, broadcasts `R` values of `a` and issues `2R` FMAs. The `k` loop is not
/// unrolled by hand: unrolled, LLVM hoists the broadcasts of several steps and spills them to
/// the stack.
///
/// # Safety
/// As for [`Microkernel::tile`]; the caller must be compiled for `V`'s instruction set (this
/// is inlined into it).
#[inline(always)]
pub(super) unsafe fn kernel<V: Lanes, const A_ROWS: bool, const R: usize>(p: Panels) {
    let Panels {
        kc,
        a,
        lda,
        b,
        ldb,
        c,
        ldc,
        overwrite,
        bias,
        ..
    } = p;
    let w = V::WIDTH;
    debug_assert!(
        R >= 1 && R * 2 * w <= MAX_TILE,
        "kernel: {R} rows of {} values",
        2 * w
    );
    debug_assert!(!a.is_null() && !b.is_null() && !c.is_null());
    debug_assert!(a.is_aligned() && b.is_aligned() && c.is_aligned());
    // SAFETY: the CPU has `V`'s instruction set (the caller's promise).
    let mut acc = [[unsafe { V::zero() }; 2]; R];
    let (step, spacing) = if A_ROWS { (1, lda) } else { (lda, 1) };
    let (mut a, mut b) = (a, b);
    for i in 0..R {
        // SAFETY: a prefetch never faults or changes memory, and row `i < R` of the tile, `NR
        // = 2 · WIDTH` values from `c + i · ldc`, lies inside the output (the caller's promise).
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(c.add(i * ldc).cast());
            _mm_prefetch::<_MM_HINT_T0>(c.add(i * ldc + 2 * w - 1).cast());
        }
    }
    for _ in 0..kc {
        // `b`'s row 8 steps ahead: a row-major `b` read in place comes from memory (the MNIST
        // batch in the weight gradient), two lines per row, a stride the hardware does not
        // fetch ahead in time. A packed panel is in L1, where the prefetch costs nothing. On the
        // last 8 steps the address lies past the panel, maybe past `b`: it is computed with
        // `wrapping_add`, since a prefetch may name any address but `add` may not leave `b`.
        // SAFETY: a prefetch never faults or changes memory.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(b.wrapping_add(8 * ldb).cast());
            _mm_prefetch::<_MM_HINT_T0>(b.wrapping_add(8 * ldb + 2 * w - 1).cast());
        }
        // SAFETY: at this step along `k`, `b` addresses the row of `b`'s panel (`NR = 2 ·
        // WIDTH` values) and `a + i · spacing` the value of row `i < R` of `a`'s panel, inside
        // the operands (the caller's promise); the CPU has `V`'s instruction set.
        unsafe {
            let (b0, b1) = (V::load(b), V::load(b.add(w)));
            for (i, row) in acc.iter_mut().enumerate() {
                let ai = V::splat(a.add(i * spacing));
                row[0] = V::mul_add(ai, b0, row[0]);
                row[1] = V::mul_add(ai, b1, row[1]);
            }
        }
        // Wrapping: after the last step these point one step past the panels, past the end of
        // `a` or `b` where a panel is read in place from the last rows or columns.
        a = a.wrapping_add(step);
        b = b.wrapping_add(ldb);
    }
    // Added last, as a separate addition after the product would be. One store loop per kind
    // of bias: with the `match` inside one loop, LLVM keeps `acc` in memory, and in
    // `column_of_tiles` stores every FMA's result to it, which costs as much as the FMAs.
    // SAFETY: the tile's `R` rows of `NR` values from `c`, `ldc` apart, lie inside the output,
    // and a column bias holds `NR` values, a row bias `R` (the caller's promise); the CPU has
    // `V`'s instruction set.
    unsafe {
        match bias {
            TileBias::None => store_rows(&acc, c, ldc, overwrite, |_, left, right| (left, right)),
            TileBias::Columns(values) => {
                let (bias_left, bias_right) = (V::load(values), V::load(values.add(w)));
                store_rows(&acc, c, ldc, overwrite, |_, left, right| {
                    (V::add(left, bias_left), V::add(right, bias_right))
                })
            }
            TileBias::Rows(values) => store_rows(&acc, c, ldc, overwrite, |i, left, right| {
                let value = V::splat(values.add(i));
                (V::add(left, value), V::add(right, value))
            }),
        }
    }
}

/// Stores [`kernel`]'s finished rows to `c` (added to what is there unless `overwrite`), each
/// passed through `bias(row, left, right)` last.
///
/// # Safety
/// As for [`kernel`].
#[inline(always)]
unsafe fn store_rows<V: Lanes, const R: usize>(
    acc: &[[V; 2]; R],
    c: *mut f32,
    ldc: usize,
    overwrite: bool,
    bias: impl Fn(usize, V, V) -> (V, V),
) {
    let w = V::WIDTH;
    for (i, &[mut left, mut right]) in acc.iter().enumerate() {
        // SAFETY: row `i < R` of the tile, `2 · WIDTH` values from `c + i · ldc`, lies inside
        // the output, and the CPU has `V`'s instruction set (the caller's promise).
        unsafe {
            let c = c.add(i * ldc);
            if !overwrite {
                left = V::add(V::load(c), left);
                right = V::add(V::load(c.add(w)), right);
            }
            let (left, right) = bias(i, left, right);
            V::store(c, left);
            V::store(c.add(w), right);
        }
    }
}

/// The body of a [`Microkernel::tiles`]: the full tiles of the column with `R = MR` rows,
/// inlined into one loop, then the rest with `tile`. Called per tile instead, a product short
/// along `k` would spend much of its time between the tiles: the call, the dispatch on the row
/// count, each tile's operands built anew.
///
/// # Safety
/// As for [`Microkernel::tiles`]; the caller must be compiled for `V`'s instruction set.
#[inline(always)]
pub(super) unsafe fn column_of_tiles<V: Lanes, const R: usize>(
    mc: usize,
    a_step: usize,
    mut p: Panels,
    tile: impl Fn(usize, Panels),
) {
    let full = mc / R;
    // `a` and `c` wrapping: after the last full tile they point one tile further down, which
    // may lie past the end of `a` and of the output (their rows are `a_step` and `ldc` apart).
    let next = |p: &mut Panels| {
        p.a = p.a.wrapping_add(a_step);
        p.c = p.c.wrapping_add(R * p.ldc);
        if let TileBias::Rows(values) = p.bias {
            // SAFETY: the tile's row bias holds its `R` values, so this is at most one past
            // them.
            p.bias = TileBias::Rows(unsafe { values.add(R) });
        }
    };
    if p.a_rows {
        for _ in 0..full {
            // SAFETY: one of the column's `mc / R` full tiles, whose operands and output the
            // caller promised; the caller has `V`'s instruction set.
            unsafe { kernel::<V, true, R>(p) };
            next(&mut p);
        }
    } else {
        for _ in 0..full {
            // SAFETY: as above.
            unsafe { kernel::<V, false, R>(p) };
            next(&mut p);
        }
    }
    if mc > full * R {
        tile(mc - full * R, p);
    }
}

/// The body of a [`Microkernel::tile`]: `kernel::<$lanes, _, mr>(p)` for each row count
/// listed (from `MR` down to 1), so that each is compiled with a constant number of rows.
macro_rules! tile_for_rows {
    ($lanes:ty, $mr:expr, $p:expr, $($r:literal)*) => {
        match $mr {
            // SAFETY: `$r` is the tile's row count, and the caller (a `Microkernel::tile`
            // compiled for `$lanes`' instruction set) promised the CPU has it and that the
            // panels address what `Panels` says.
            $($r => unsafe {
                if $p.a_rows {
                    super::blocked::kernel::<$lanes, true, $r>($p)
                } else {
                    super::blocked::kernel::<$lanes, false, $r>($p)
                }
            },)*
            mr => unreachable!("tile: {mr} rows"),
        }
    };
}
pub(super) use tile_for_rows;

/// `impl Lanes for $v` from its intrinsics: the values per vector, then `setzero`, `loadu`,
/// `set1`, `fmadd`, `add` and `storeu`.
macro_rules! impl_lanes {
    ($v:ty, $width:expr, $zero:ident, $load:ident, $set1:ident, $fmadd:ident, $add:ident, $store:ident) => {
        impl super::blocked::Lanes for $v {
            const WIDTH: usize = $width;
            #[inline(always)]
            unsafe fn zero() -> Self {
                // SAFETY: the CPU has the instruction set (the caller's promise).
                unsafe { $zero() }
            }
            #[inline(always)]
            unsafe fn load(p: *const f32) -> Self {
                // SAFETY: the CPU has the instruction set and `p` addresses `WIDTH` values (the
                // caller's promise); the load needs no alignment.
                unsafe { $load(p) }
            }
            #[inline(always)]
            unsafe fn splat(p: *const f32) -> Self {
                // SAFETY: the CPU has the instruction set and `p` addresses a value (the
                // caller's promise).
                unsafe { $set1(*p) }
            }
            #[inline(always)]
            unsafe fn mul_add(a: Self, b: Self, c: Self) -> Self {
                // SAFETY: the CPU has the instruction set (the caller's promise).
                unsafe { $fmadd(a, b, c) }
            }
            #[inline(always)]
            unsafe fn add(a: Self, b: Self) -> Self {
                // SAFETY: the CPU has the instruction set (the caller's promise).
                unsafe { $add(a, b) }
            }
            #[inline(always)]
            unsafe fn store(p: *mut f32, v: Self) {
                // SAFETY: the CPU has the instruction set and `p` addresses `WIDTH` writable
                // values (the caller's promise); the store needs no alignment.
                unsafe { $store(p, v) }
            }
        }
    };
}
pub(super) use impl_lanes;

/// A pointer to the output that the threads share; each writes only its own band (here and in
/// `narrow.rs`).
#[derive(Clone, Copy)]
pub(super) struct Out(pub(super) *mut f32);

// SAFETY: the bands the threads write are disjoint (see `matmul`, and `narrow::matmul`).
unsafe impl Send for Out {}
// SAFETY: as for `Send`: the threads share the pointer, never an element behind it.
unsafe impl Sync for Out {}

/// `a · b` with kernel `K`, as a fresh row-major `a.rows() × b.cols()` buffer, on up to
/// `threads` threads.
///
/// # Panics
/// If the CPU cannot run `K`, `k` is 0 (the caller returns zeros then), or the bias is short.
pub(super) fn matmul<K: Microkernel>(
    a: StridedMatrix<'_, f32>,
    b: StridedMatrix<'_, f32>,
    bias: Option<Bias<'_>>,
    threads: usize,
) -> Vec<f32> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert!(
        K::available(),
        "blocked::matmul: the CPU lacks the kernel's instructions"
    );
    assert!(K::MR * K::NR <= MAX_TILE && K::NR % 8 == 0);
    assert!(k > 0, "blocked::matmul: k = 0");
    // The tiles read the bias through pointers: a short one would be read past its end.
    assert!(
        bias.is_none_or(|bias| match bias {
            Bias::PerColumn(v) => v.len() >= n,
            Bias::PerRow(v) => v.len() >= m,
        }),
        "blocked::matmul: a bias shorter than the product's side"
    );
    let threads = pool::usable(threads);
    let by_rows = m >= n;
    let (len, step) = if by_rows { (m, K::MR) } else { (n, K::NR) };
    let tiles = len.div_ceil(step);
    // Every band reads all of the other operand. Where that is packed and small, each thread
    // packs it once, for all the bands it claims, rather than each band again. Not once for all
    // threads: each band would then read half of it from the other core's cache.
    let (other_len, other_width) = if by_rows { (n, K::NR) } else { (m, K::MR) };
    let other_packed = if by_rows {
        !b_read_in_place::<K>(b, m)
    } else {
        a.col_stride != 1 && !a_cols_in_place(a, n)
    };
    let whole_fits = other_len.next_multiple_of(other_width) * k <= WHOLE_MAX_VALUES;
    // Bands whole tiles wide, claimed one at a time, so that they even out a thread that
    // started late or runs slower. Where a band packs nothing of its own, they shrink as the
    // work runs out (each a `1 / (2 · threads)` of what is left, but none under 2¹⁸
    // multiply-adds unless two per thread are smaller), so that the last to finish waits
    // little for the others. Else two per thread: enough to even out a late start, few enough
    // that not many bands pack their own `b`.
    let band_packs = other_packed && !whole_fits;
    let min_tiles = (1usize << 18).div_ceil(step * other_len * k);
    let two_per_thread = tiles.div_ceil(2 * threads);
    let mut bounds = vec![0];
    while let Some(&done) = bounds.last().filter(|&&done| done < tiles) {
        let size = if threads == 1 {
            tiles
        } else if band_packs {
            two_per_thread
        } else {
            (tiles - done)
                .div_ceil(2 * threads)
                .max(min_tiles)
                .min(two_per_thread)
        };
        bounds.push((done + size).min(tiles));
    }
    assert!(bounds.len() <= pool::MAX_PARTS + 1);
    let parts = bounds.len() - 1;
    let once_per_thread = (parts > 1 && other_packed && whole_fits).then(|| PackOnce {
        product: NEXT_PRODUCT.fetch_add(1, Ordering::Relaxed),
        by_rows,
    });
    // Not zeroed: the first `k` block of every tile overwrites it.
    let mut product = crate::buffers::take::<f32>(m * n);
    let out = Out(product.as_mut_ptr());
    pool::run(parts, threads, &|part| {
        let (start, end) = (bounds[part] * step, (bounds[part + 1] * step).min(len));
        let (rows, cols) = if by_rows {
            (start..end, 0..n)
        } else {
            (0..m, start..end)
        };
        // SAFETY: the CPU can run `K` (asserted above); `product` has room for m·n elements and
        // this share writes only rows `rows` × columns `cols` of it, disjoint from every other
        // share's.
        unsafe { band_product::<K>(a, b, bias, once_per_thread, out, n, rows, cols) }
    });
    // SAFETY: the bands cover all m·n elements, and each band's first `k` block (k > 0) wrote
    // every element of it.
    unsafe { product.set_len(m * n) };
    product
}

/// Whether the full panels of a row-major `b` (`kc × nr` values, rows `ldb` apart) are read in
/// place: only if their rows spread over enough sets of the L1 cache (assumed 64 sets of 64-byte
/// lines, 8 ways) to stay there as a packed panel does. Rows 1024 values apart all fall into
/// the same few sets and evict each other; 784 apart they spread over all 64.
fn b_fits_in_place(ldb: usize, kc: usize, nr: usize) -> bool {
    const LINE: usize = 16; // f32 values per cache line
    const SETS: usize = 64;
    const WAYS: usize = 8;
    let lines_per_row = nr.div_ceil(LINE);
    if !ldb.is_multiple_of(LINE) {
        return true; // the rows start at shifting offsets within their lines
    }
    let stride = (ldb / LINE) % SETS;
    let gcd = |mut x: usize, mut y: usize| {
        while y != 0 {
            (x, y) = (y, x % y);
        }
        x
    };
    let sets = (SETS / gcd(stride, SETS).max(1) * lines_per_row).min(SETS);
    kc * lines_per_row <= sets * WAYS
}

/// The most values of an operand packed whole once per thread (1 MB: half an L2).
const WHOLE_MAX_VALUES: usize = 1 << 18;

/// The number of the next product that packs an operand once per thread (0: none yet).
static NEXT_PRODUCT: AtomicU64 = AtomicU64::new(1);

/// A thread's packing buffers, kept between products.
#[derive(Default)]
struct Buffers {
    /// Blocks of `a` and `b` packed for one band at a time.
    a: Vec<f32>,
    b: Vec<f32>,
    /// An operand packed whole for all the bands of one product this thread runs, and that
    /// product's number.
    whole: Vec<f32>,
    whole_of: u64,
}

thread_local! {
    static BUFFERS: RefCell<Buffers> = RefCell::new(Buffers::default());
}

/// Which product's operand a band packs whole, once per thread (see [`Whole`]).
#[derive(Clone, Copy)]
struct PackOnce {
    /// The product's number, from [`NEXT_PRODUCT`].
    product: u64,
    /// Whether the bands are rows of the output (so that `b` is packed), or columns (`a`).
    by_rows: bool,
}

/// The operand that every band of a product reads whole (`b` when the bands are rows of the
/// output, `a` when they are columns), where it was packed once per thread: panels of `NR`
/// columns of `b` (or `MR` rows of `a`), each along the whole of `k`.
#[derive(Clone, Copy)]
enum Whole {
    /// Each band reads its operands in place or packs them block by block itself.
    None,
    A(*const f32),
    B(*const f32),
}

/// Packs all of `b` (`by_rows`) or of `a` into `buf` as [`Whole`] describes it.
///
/// # Safety
/// The CPU must have AVX2.
unsafe fn pack_whole<K: Microkernel>(
    a: StridedMatrix<'_, f32>,
    b: StridedMatrix<'_, f32>,
    by_rows: bool,
    buf: &mut Vec<f32>,
) -> Whole {
    let k = a.cols;
    let (len, width) = if by_rows {
        (b.cols, K::NR)
    } else {
        (a.rows, K::MR)
    };
    debug_assert_eq!(a.cols, b.rows);
    debug_assert!(is_x86_feature_detected!("avx2"));
    let values = len.next_multiple_of(width) * k;
    if buf.len() < values {
        buf.resize(values, 0.0);
    }
    if by_rows {
        // SAFETY: the CPU has AVX2 (the caller's promise), the block is all of `b`, and `buf`
        // holds its `k · len` values rounded up to whole panels (resized above).
        unsafe { pack_b::<K>(b, 0, k, 0, len, buf) };
        Whole::B(buf.as_ptr())
    } else {
        // SAFETY: the block is all of `a`, and `buf` holds its `len · k` values rounded up to
        // whole panels (resized above).
        unsafe { pack_a::<K>(a, 0, len, 0, k, buf) };
        Whole::A(buf.as_ptr())
    }
}

/// The length of a `k` block: equal blocks of at most `K::KC` (784 → 4 × 196, not
/// 3 × 256 + 16: fewer passes over the output tiles).
fn k_block<K: Microkernel>(k: usize) -> usize {
    k.div_ceil(k.div_ceil(K::KC))
}

/// Whether `band_product` reads the full panels of `b` in place: where their rows spread over
/// the L1 cache's sets ([`b_fits_in_place`]), and also where `b` fits in 256 KB (half of a
/// 512 KB L2) and at most [`FEW_ROWS`] rows of `a` read it. Each panel is then read from L2 by
/// a few tiles only, which costs less than copying it; read by more rows, a panel is worth
/// copying into L1 once.
fn b_read_in_place<K: Microkernel>(b: StridedMatrix<'_, f32>, m: usize) -> bool {
    b.col_stride == 1
        && (b_fits_in_place(b.row_stride, k_block::<K>(b.rows), K::NR)
            || (m <= FEW_ROWS && b.rows * b.cols <= FEW_ROWS_B_MAX_VALUES))
}

/// See [`b_read_in_place`].
const FEW_ROWS: usize = 64;

/// See [`b_read_in_place`] (256 KB).
const FEW_ROWS_B_MAX_VALUES: usize = 1 << 16;

/// Whether a column-major `a` is read in place, a tile's `MR` values of each column side by
/// side: where the product is at most [`FEW_COLUMNS`] wide (each panel of `a` is then read by
/// a few panels of `b` only, fewer than pay for copying it) or at most [`FEW_A_ROWS`] tall
/// (`a` is one or two panels), as in the weight gradients of an MLP's narrow layers. In wider
/// products each panel of `a` is read often enough that a copy pays for itself.
fn a_cols_in_place(a: StridedMatrix<'_, f32>, n: usize) -> bool {
    a.row_stride == 1 && (n <= FEW_COLUMNS || a.rows <= FEW_A_ROWS)
}

/// See [`a_cols_in_place`].
const FEW_COLUMNS: usize = 64;
/// See [`a_cols_in_place`].
const FEW_A_ROWS: usize = 12;

/// `out[rows, cols] = a[rows, :] · b[:, cols]`, `out` row-major with `ldc` columns; with
/// `once_per_thread`, the operand read whole (`rows` or `cols` must then be all of it) is
/// packed only by the first band of that product this thread runs.
///
/// # Safety
/// `k > 0`; the CPU must be able to run `K` (it has AVX2 then too), and `out` must hold the
/// `rows × cols` block at row stride `ldc`, written by no other thread meanwhile.
#[allow(clippy::too_many_arguments)]
unsafe fn band_product<K: Microkernel>(
    a: StridedMatrix<'_, f32>,
    b: StridedMatrix<'_, f32>,
    bias: Option<Bias<'_>>,
    once_per_thread: Option<PackOnce>,
    out: Out,
    ldc: usize,
    rows: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
) {
    let (mr_max, nr_max) = (K::MR, K::NR);
    let k = a.cols;
    debug_assert!(k > 0 && k == b.rows && K::available());
    debug_assert!(rows.end <= a.rows && cols.end <= b.cols && cols.end <= ldc);
    debug_assert!(bias.is_none_or(|bias| match bias {
        Bias::PerColumn(v) => v.len() >= b.cols,
        Bias::PerRow(v) => v.len() >= a.rows,
    }));
    debug_assert!(once_per_thread.is_none_or(|once| if once.by_rows {
        cols == (0..b.cols)
    } else {
        rows == (0..a.rows)
    }));
    // A row-major `a` is read in place, `MR` rows side by side: copying it would cost a share of
    // the arithmetic that grows as the product narrows (each value of `a` is used `n` times).
    // A column-major `a` is read in place only in short or narrow products
    // ([`a_cols_in_place`]): elsewhere its tiles would use a few bytes of each 64-byte line they
    // load, and crowd `b`'s panel out of L1. Any other `a` is packed.
    let (rs, cs) = (a.row_stride, a.col_stride);
    let a_in_place = cs == 1;
    let a_cols = !a_in_place && a_cols_in_place(a, b.cols);
    let kc_max = k_block::<K>(k);
    // Likewise the full panels of a row-major `b`, where the cache allows: in a weight gradient
    // `b` is the batch, each of whose values is used only `m` (the layer's width) times.
    let b_in_place = b_read_in_place::<K>(b, a.rows);
    BUFFERS.with_borrow_mut(|bufs| {
        let whole = match once_per_thread {
            Some(PackOnce { product, by_rows }) => {
                if bufs.whole_of != product {
                    // SAFETY: the CPU can run `K`, so it has AVX2 (the caller's promise).
                    unsafe { pack_whole::<K>(a, b, by_rows, &mut bufs.whole) };
                    bufs.whole_of = product;
                }
                if by_rows {
                    Whole::B(bufs.whole.as_ptr())
                } else {
                    Whole::A(bufs.whole.as_ptr())
                }
            }
            None => Whole::None,
        };
        // Whether this band packs blocks of `a` and of `b` itself.
        let pack_a_blocks = !a_in_place && !a_cols && !matches!(whole, Whole::A(_));
        let pack_b_blocks = !matches!(whole, Whole::B(_));
        let Buffers { a: pa, b: pb, .. } = bufs;
        let nc_max = cols.len().min(NC).div_ceil(nr_max) * nr_max;
        let mc_max = rows.len().min(K::MC).div_ceil(mr_max) * mr_max;
        let pb_len = if b_in_place { nr_max } else { nc_max };
        if pack_b_blocks && pb.len() < kc_max * pb_len {
            pb.resize(kc_max * pb_len, 0.0);
        }
        if pack_a_blocks && pa.len() < kc_max * mc_max {
            pa.resize(kc_max * mc_max, 0.0);
        }
        for jc in cols.clone().step_by(NC) {
            let nc = (cols.end - jc).min(NC);
            // Panels `0..in_place_cols` of this block are read from `b`, the rest packed.
            let in_place_cols = if b_in_place { nc / nr_max * nr_max } else { 0 };
            for pc in (0..k).step_by(kc_max) {
                let kc = (k - pc).min(kc_max);
                if pack_b_blocks && in_place_cols < nc {
                    // SAFETY: the CPU has AVX2 (it can run `K`); rows `pc..pc + kc ≤ k` and
                    // columns `jc + in_place_cols..jc + nc ≤ cols.end ≤ b.cols` lie inside `b`,
                    // and `pb` holds `kc_max · pb_len` values (resized above), at least these.
                    unsafe { pack_b::<K>(b, pc, kc, jc + in_place_cols, nc - in_place_cols, pb) };
                }
                for ic in rows.clone().step_by(K::MC) {
                    let mc = (rows.end - ic).min(K::MC);
                    if pack_a_blocks {
                        // SAFETY: rows `ic..ic + mc ≤ rows.end ≤ a.rows` and columns
                        // `pc..pc + kc ≤ k` lie inside `a`, and `pa` holds `kc_max · mc_max`
                        // values (resized above), at least these.
                        unsafe { pack_a::<K>(a, ic, mc, pc, kc, pa) };
                    }
                    // B's panel (in L1) outside, A's panels (in L2) inside.
                    for jr in (0..nc).step_by(nr_max) {
                        // SAFETY: each is where this panel's `k` block starts, inside its buffer:
                        // `whole` holds all of `b`'s panels along all of `k`, `b` the full
                        // panels read in place (row `pc < k`, column `jc + jr < b.cols`), `pb`
                        // the packed panels of this block.
                        let (bp, ldb) = unsafe {
                            if let Whole::B(packed) = whole {
                                (packed.add((jc + jr) * k + pc * nr_max), nr_max)
                            } else if jr < in_place_cols {
                                (
                                    b.data.as_ptr().add(pc * b.row_stride + jc + jr),
                                    b.row_stride,
                                )
                            } else {
                                (pb.as_ptr().add((jr - in_place_cols) * kc), nr_max)
                            }
                        };
                        // The tile from row `ic + ir` of this block and panel: its operands,
                        // and how far `a`'s panel moves from one tile down to the next.
                        let tile_at = |ir: usize| {
                            debug_assert!(ir < mc);
                            // SAFETY: as for `bp`, for row `ic + ir < rows.end ≤ a.rows`: `whole`
                            // holds all of `a`'s panels along all of `k`, `a` itself the rows
                            // (or columns) read in place, `pa` the packed panels of this block.
                            let (ap, a_rows, lda, a_step) = unsafe {
                                if let Whole::A(packed) = whole {
                                    let at = packed.add((ic + ir) * k + pc * mr_max);
                                    (at, false, mr_max, mr_max * k)
                                } else if a_in_place {
                                    let at = a.data.as_ptr().add((ic + ir) * rs + pc);
                                    (at, true, rs, mr_max * rs)
                                } else if a_cols {
                                    (a.data.as_ptr().add(ic + ir + pc * cs), false, cs, mr_max)
                                } else {
                                    (pa.as_ptr().add(ir * kc), false, mr_max, mr_max * kc)
                                }
                            };
                            // SAFETY: a bias has a value per column (`jc + jr < b.cols`) or per
                            // row (`ic + ir < a.rows`) of the product (asserted above).
                            let bias = unsafe {
                                match bias {
                                    _ if pc + kc < k => TileBias::None,
                                    None => TileBias::None,
                                    Some(Bias::PerColumn(v)) => {
                                        TileBias::Columns(v.as_ptr().add(jc + jr))
                                    }
                                    Some(Bias::PerRow(v)) => {
                                        TileBias::Rows(v.as_ptr().add(ic + ir))
                                    }
                                }
                            };
                            // SAFETY: value `(ic + ir, jc + jr)` lies inside this band of `out`
                            // (the caller's promise).
                            let c = unsafe { out.0.add((ic + ir) * ldc + jc + jr) };
                            let panels = Panels {
                                kc,
                                a: ap,
                                lda,
                                a_rows,
                                b: bp,
                                ldb,
                                c,
                                ldc,
                                overwrite: pc == 0,
                                bias,
                            };
                            (panels, a_step)
                        };
                        let nr = (nc - jr).min(nr_max);
                        if nr == nr_max {
                            // Full width: the kernel steps down the column itself.
                            let (panels, a_step) = tile_at(0);
                            // SAFETY: the CPU can run `K` (the caller's promise); the column's
                            // `mc` rows of full-width tiles lie inside the operands' panels and
                            // this band of `out`, and `a_step` moves `a`'s panel down one tile.
                            unsafe { K::tiles(mc, a_step, panels) };
                        } else {
                            for ir in (0..mc).step_by(mr_max) {
                                let mr = (mc - ir).min(mr_max);
                                // SAFETY: as above, for the `mr × nr` tile at row `ir`: `b`'s
                                // panel is zero-padded to `NR` columns, `out` holds `nr`.
                                unsafe { tile_of_width::<K>(mr, nr, tile_at(ir).0) };
                            }
                        }
                    }
                }
            }
        }
    });
}

/// [`Microkernel::tile`] for a tile only `nr ≤ NR` columns wide: a partial one is computed into
/// a full-width buffer and its first `nr` columns written (or added) to `p.c`, a row at a time
/// by loops LLVM vectorizes. (The buffer is not zeroed, and the bias is matched once per row,
/// not per value: in a product only a few columns wide every tile goes through here.)
///
/// # Safety
/// As for [`Microkernel::tile`], except that `p.c` need hold only `mr × nr` values.
unsafe fn tile_of_width<K: Microkernel>(mr: usize, nr: usize, p: Panels) {
    debug_assert!((1..=K::MR).contains(&mr) && (1..=K::NR).contains(&nr));
    debug_assert!(K::MR * K::NR <= MAX_TILE);
    if nr == K::NR {
        // SAFETY: a full-width tile: the caller's promise is `tile`'s.
        return unsafe { K::tile(mr, p) };
    }
    // Not zeroed: the kernel overwrites the `mr × NR` values read below.
    let mut tile = std::mem::MaybeUninit::<[f32; MAX_TILE]>::uninit();
    let tile = tile.as_mut_ptr().cast::<f32>();
    // SAFETY: the operands are the caller's, and the output is the buffer, which holds `MR ·
    // NR ≤ MAX_TILE` values.
    unsafe {
        K::tile(
            mr,
            Panels {
                c: tile,
                ldc: K::NR,
                overwrite: true,
                bias: TileBias::None,
                ..p
            },
        )
    };
    for i in 0..mr {
        // SAFETY: row `i` of the buffer was written by the kernel, and row `i` of `p.c` holds
        // `nr` values (the caller's promise); they do not overlap.
        let (c, t) = unsafe {
            (
                std::slice::from_raw_parts_mut(p.c.add(i * p.ldc), nr),
                std::slice::from_raw_parts(tile.add(i * K::NR), nr),
            )
        };
        if p.overwrite {
            c.copy_from_slice(t);
        } else {
            c.iter_mut().zip(t).for_each(|(c, t)| *c += t);
        }
        // Added last, as in the kernel.
        match p.bias {
            TileBias::None => {}
            TileBias::Columns(values) => {
                // SAFETY: a tile's column bias holds a value for each of its `nr` columns.
                let values = unsafe { std::slice::from_raw_parts(values, nr) };
                c.iter_mut().zip(values).for_each(|(c, b)| *c += b)
            }
            TileBias::Rows(values) => {
                // SAFETY: a tile's row bias holds a value for each of its `mr` rows (`i < mr`).
                let b = unsafe { *values.add(i) };
                c.iter_mut().for_each(|c| *c += b);
            }
        }
    }
}

/// Copies `b[pc..pc+kc, jc..jc+nc]` into `dst` as panels of `K::NR` columns, each `kc` rows of
/// `K::NR` values, the last panel padded with zeros. (Generic over the kernel so that the panel
/// width is a constant: with a variable one, each row's copy would be a call to `memcpy`.)
///
/// # Safety
/// The CPU must have AVX2; the block must lie inside `b`, and `dst` hold `kc · nc` rounded up to
/// whole panels.
#[target_feature(enable = "avx2,fma")]
unsafe fn pack_b<K: Microkernel>(
    b: StridedMatrix<'_, f32>,
    pc: usize,
    kc: usize,
    jc: usize,
    nc: usize,
    dst: &mut [f32],
) {
    let nr_max = K::NR;
    let (rs, cs) = (b.row_stride, b.col_stride);
    debug_assert!(is_x86_feature_detected!("avx2") && nr_max.is_multiple_of(8));
    debug_assert!(pc + kc <= b.rows && jc + nc <= b.cols);
    debug_assert!(dst.len() >= kc * nc.div_ceil(nr_max) * nr_max);
    for (panel, j0) in (0..nc).step_by(nr_max).enumerate() {
        // SAFETY: panel `panel` of `dst`, `kc · NR` values, lies inside it (the caller's
        // promise), and value `(pc, jc + j0)` inside `b` (`j0 < nc`).
        let (dst, src) = unsafe {
            (
                dst.as_mut_ptr().add(panel * kc * nr_max),
                b.data.as_ptr().add(pc * rs + (jc + j0) * cs),
            )
        };
        let w = (nc - j0).min(nr_max);
        let mut p0 = 0;
        if w == nr_max && cs == 1 {
            // Rows are contiguous: copy them 8 values at a time.
            for p in 0..kc {
                // SAFETY: row `pc + p` of `b` holds the panel's `NR` values from column
                // `jc + j0` on, contiguous (`cs == 1`), and the panel's row `p` of `dst` has
                // room for them.
                unsafe {
                    let (s, d) = (src.add(p * rs), dst.add(p * nr_max));
                    for j in (0..nr_max).step_by(8) {
                        _mm256_storeu_ps(d.add(j), _mm256_loadu_ps(s.add(j)));
                    }
                }
            }
            p0 = kc;
        } else if w == nr_max && rs == 1 {
            // Columns are contiguous: transpose 8×8 blocks.
            while p0 + 8 <= kc {
                for j8 in (0..nr_max).step_by(8) {
                    // SAFETY: column `jc + j0 + j8 + j` of `b` holds rows `pc + p0..pc + p0 + 8
                    // ≤ pc + kc`, contiguous (`rs == 1`).
                    let col = |j: usize| unsafe { _mm256_loadu_ps(src.add((j8 + j) * cs + p0)) };
                    let cols = [
                        col(0),
                        col(1),
                        col(2),
                        col(3),
                        col(4),
                        col(5),
                        col(6),
                        col(7),
                    ];
                    let rows = transpose8(cols);
                    for (q, &row) in rows.iter().enumerate() {
                        // SAFETY: values `j8..j8 + 8 ≤ NR` of the panel's row `p0 + q < kc`.
                        unsafe { _mm256_storeu_ps(dst.add((p0 + q) * nr_max + j8), row) };
                    }
                }
                p0 += 8;
            }
        }
        // What is left (any strides, an edge panel, or the last rows), one value at a time.
        for p in p0..kc {
            for j in 0..nr_max {
                // SAFETY: value `j < NR` of the panel's row `p < kc`, and for `j < w`, value
                // `(pc + p, jc + j0 + j)` of `b`, inside the block.
                unsafe {
                    *dst.add(p * nr_max + j) = if j < w {
                        *src.add(p * rs + j * cs)
                    } else {
                        0.0
                    };
                }
            }
        }
    }
}

/// Copies `a[ic..ic+mc, pc..pc+kc]` into `dst` as panels of `K::MR` rows, each `kc` columns of
/// `K::MR` values, the last panel padded with zeros.
///
/// # Safety
/// The block must lie inside `a`, and `dst` hold `mc · kc` rounded up to whole panels.
unsafe fn pack_a<K: Microkernel>(
    a: StridedMatrix<'_, f32>,
    ic: usize,
    mc: usize,
    pc: usize,
    kc: usize,
    dst: &mut [f32],
) {
    let mr_max = K::MR;
    let (rs, cs) = (a.row_stride, a.col_stride);
    debug_assert!(ic + mc <= a.rows && pc + kc <= a.cols);
    debug_assert!(dst.len() >= kc * mc.div_ceil(mr_max) * mr_max);
    for (panel, i0) in (0..mc).step_by(mr_max).enumerate() {
        // SAFETY: panel `panel` of `dst`, `kc · MR` values, lies inside it (the caller's
        // promise), and value `(ic + i0, pc)` inside `a` (`i0 < mc`).
        let (dst, src) = unsafe {
            (
                dst.as_mut_ptr().add(panel * kc * mr_max),
                a.data.as_ptr().add((ic + i0) * rs + pc * cs),
            )
        };
        let h = (mc - i0).min(mr_max);
        if h == mr_max && rs == 1 {
            // Columns are contiguous: `mr_max` values per column.
            for p in 0..kc {
                // SAFETY: column `pc + p` of `a` holds the panel's `MR` rows, contiguous
                // (`rs == 1`), and the panel's column `p` of `dst` has room for them; `dst`
                // is not `a`.
                unsafe {
                    std::ptr::copy_nonoverlapping(src.add(p * cs), dst.add(p * mr_max), mr_max)
                };
            }
            continue;
        }
        for p in 0..kc {
            for i in 0..mr_max {
                // SAFETY: value `i < MR` of the panel's column `p < kc`, and for `i < h`, value
                // `(ic + i0 + i, pc + p)` of `a`, inside the block.
                unsafe {
                    *dst.add(p * mr_max + i) = if i < h {
                        *src.add(i * rs + p * cs)
                    } else {
                        0.0
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::b_fits_in_place;

    /// Rows 784 apart (MNIST's batch) spread over all of L1's sets and are read in place; rows
    /// 1024 or 512 apart fall into a few sets and are packed; short panels fit either way.
    #[test]
    fn b_is_read_in_place_only_where_its_rows_spread_over_the_cache() {
        assert!(b_fits_in_place(784, 256, 32));
        assert!(b_fits_in_place(784, 392, 16));
        assert!(b_fits_in_place(100, 256, 32));
        assert!(!b_fits_in_place(1024, 256, 32));
        assert!(!b_fits_in_place(512, 256, 32));
        assert!(!b_fits_in_place(1024, 392, 16));
        assert!(b_fits_in_place(64, 64, 32));
        assert!(b_fits_in_place(1024, 8, 32));
    }
}
