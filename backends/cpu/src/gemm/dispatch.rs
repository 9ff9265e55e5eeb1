//! Which kernel computes a product: [`route`], a pure function of the product's shape, the
//! operands' strides, the output layout, the element type, the thread count and the CPU's
//! kernels, so that tests can ask it about any machine.

use super::{as_row_major, Layout};

/// One of duograd's own register-tiled `f32` microkernels (`blocked.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// 12×32 tiles in 24 `zmm` accumulators (`avx512.rs`); needs AVX-512F, AVX2 and FMA.
    Avx512,
    /// 6×16 tiles in 12 `ymm` accumulators (`avx2.rs`); needs AVX2 and FMA.
    Avx2,
}

/// The kernel that computes a product, as [`route`] chooses it and
/// [`matmul_with_route`](super::matmul_with_route) runs it.
///
/// Every route reads the operands in place through their strides and can write either output
/// layout; "the row-major product" below is `a · b` itself for a row-major output and
/// `bᵀ · aᵀ` for a column-major one (the same values in the same order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Route {
    /// `m`, `k` or `n` is 0: the output is zeros (plus the bias), nothing is multiplied.
    Empty,
    /// A side of 1 (a batch of one sample: a row times a matrix, an outer product, a matrix
    /// times a column) whose loop can run along contiguous memory (`thin.rs`): one vectorized
    /// pass over the operands, on the calling thread, in any element type. A packed kernel
    /// would spend more time copying such an operand than multiplying it.
    Thin,
    /// `f32` products no more than 15 columns wide (in the row-major product), `k` at least 8,
    /// whose `a` rows and `b` columns are contiguous: a classifier's `x · Wᵀ` with `W` stored
    /// `(out, in)`. Each output is one dot product along `k`, 8 lanes at a time (`narrow.rs`),
    /// so no multiply-add is spent on the columns a 16- or 32-wide tile would pad; with a
    /// shorter `k` the lanes would be mostly empty. Needs AVX2 and FMA.
    Narrow,
    /// [`Route::Narrow`] for a single row of more than 15 dot products, run as the column
    /// `bᵀ · aᵀ` (the same values in the same buffers): a batch-1 `x · Wᵀ`. Needs AVX2 and FMA.
    NarrowTransposed,
    /// duograd's BLIS-style blocked `f32` product around a register-tiled [`Kernel`]
    /// (`blocked.rs`), the bias added as each tile is stored: every other `f32` product on a
    /// CPU with AVX2 and FMA, small ones included, that [`Route::Thin`] does not take (its
    /// packing is specialised for `f32` and runs the same tiles as the large products, where
    /// the fallback adapts general code to each shape). [`Kernel::Avx512`] where the CPU has it,
    /// for large products (see [`threads_for`]) at least 32 columns wide; narrower ones would
    /// be mostly padding in its 32-wide tiles, and small ones lose more in partial tiles than
    /// its wider registers gain: those take the 16-wide [`Kernel::Avx2`].
    Blocked(Kernel),
    /// `matrixmultiply`'s packed product (`sgemm`/`dgemm`), one call on the calling thread:
    /// `f64` products that [`Route::Thin`] does not take, and `f32` ones on CPUs without AVX2
    /// and FMA (or not x86-64). That crate adapts to any strides and to the CPU (SSE2 to
    /// AVX-512, NEON), which is what a fallback needs.
    Fallback,
    /// [`Route::Fallback`] cut into one band of rows (or of columns, for a wider than tall
    /// output) per thread, each band one single-threaded `matrixmultiply` call on duograd's
    /// pool: products whose every side is at least [`PACKED_MIN_SIDE`] and whose operands
    /// hold at least 2¹⁴ values per band, with more than one thread ([`threads_for`]). That is
    /// where `matrixmultiply`'s own threading, which these bands replace, split products: below
    /// it, handing a band to another thread costs about what the band saves. Bands are a
    /// multiple of 8 long, so that only the last one has partial tiles; each band packs the
    /// other operand whole.
    FallbackBands,
}

/// What [`route`] needs of an operand besides its shape: element `(i, j)` is at
/// `i * row + j * col` in its buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Strides {
    /// The distance between rows.
    pub row: usize,
    /// The distance between columns.
    pub col: usize,
}

impl Strides {
    /// A row-major matrix `cols` wide.
    pub fn row_major(cols: usize) -> Self {
        Strides { row: cols, col: 1 }
    }

    /// A column-major matrix `rows` tall.
    pub fn col_major(rows: usize) -> Self {
        Strides { row: 1, col: rows }
    }

    /// The transpose's strides.
    pub fn t(self) -> Self {
        Strides {
            row: self.col,
            col: self.row,
        }
    }
}

/// The element type of a product.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ElemKind {
    /// `f32`: every route.
    F32,
    /// `f64`: [`Route::Thin`] and the fallbacks.
    F64,
}

impl ElemKind {
    /// `E`'s kind, if it is `f32` or `f64`.
    pub fn of<E: 'static>() -> Option<Self> {
        use std::any::TypeId;
        if TypeId::of::<E>() == TypeId::of::<f32>() {
            Some(ElemKind::F32)
        } else if TypeId::of::<E>() == TypeId::of::<f64>() {
            Some(ElemKind::F64)
        } else {
            None
        }
    }
}

/// Which of duograd's kernels a CPU can run (what [`route`] reads of the machine).
///
/// ```
/// use duograd_cpu::gemm::CpuFeatures;
/// let cpu = CpuFeatures::detect();
/// assert!(!cpu.avx512 || cpu.avx2_fma); // AVX-512 is only counted along with AVX2 and FMA
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct CpuFeatures {
    /// AVX2 and FMA: [`Kernel::Avx2`], [`Route::Narrow`] and [`Route::NarrowTransposed`].
    pub avx2_fma: bool,
    /// AVX-512F as well as AVX2 and FMA: [`Kernel::Avx512`].
    pub avx512: bool,
}

impl CpuFeatures {
    /// A CPU that runs none of duograd's kernels (not x86-64, or older than AVX2).
    pub const NONE: Self = CpuFeatures {
        avx2_fma: false,
        avx512: false,
    };
    /// An x86-64 CPU with AVX2 and FMA but no AVX-512.
    pub const AVX2: Self = CpuFeatures {
        avx2_fma: true,
        avx512: false,
    };
    /// An x86-64 CPU with AVX-512F, AVX2 and FMA.
    pub const AVX512: Self = CpuFeatures {
        avx2_fma: true,
        avx512: true,
    };

    /// What this CPU can run.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            let avx2_fma = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
            CpuFeatures {
                avx2_fma,
                avx512: avx2_fma && is_x86_feature_detected!("avx512f"),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        CpuFeatures::NONE
    }

    /// What [`matmul`](super::matmul) dispatches on: [`CpuFeatures::detect`], without AVX-512
    /// if [`NO_AVX512_ENV_VAR`](super::NO_AVX512_ENV_VAR) is set to anything but `0` (read
    /// once).
    pub fn current() -> Self {
        static CURRENT: std::sync::OnceLock<CpuFeatures> = std::sync::OnceLock::new();
        *CURRENT.get_or_init(|| {
            let no_avx512 = std::env::var_os(super::NO_AVX512_ENV_VAR).is_some_and(|v| v != "0");
            let cpu = CpuFeatures::detect();
            CpuFeatures {
                avx512: cpu.avx512 && !no_avx512,
                ..cpu
            }
        })
    }

    /// Whether a CPU with these features can run `kernel`.
    pub fn runs(self, kernel: Kernel) -> bool {
        match kernel {
            Kernel::Avx512 => self.avx512 && self.avx2_fma,
            Kernel::Avx2 => self.avx2_fma,
        }
    }
}

/// The smallest side (`m`, `n` and `k`) for which every product counts as large: `f32` ones
/// on duograd's kernels use every thread ([`threads_for`]), the others may be cut into bands
/// ([`Route::FallbackBands`]).
pub const PACKED_MIN_SIDE: usize = 32;

/// The widest row-major product [`Route::Narrow`] takes: one column less than the AVX2 tile.
pub(super) const NARROW_MAX_COLS: usize = 15;

/// [`Kernel::Avx512`]'s tile width: narrower products take [`Kernel::Avx2`].
const AVX512_TILE_COLS: usize = 32;

/// An operand's shape and strides: element `(i, j)` at `i * row_stride + j * col_stride`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Form {
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl Form {
    pub(super) fn new(rows: usize, cols: usize, strides: Strides) -> Self {
        Form {
            rows,
            cols,
            row_stride: strides.row,
            col_stride: strides.col,
        }
    }

    pub(super) fn t(self) -> Self {
        Form {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }
}

/// The kernel for the `m×k · k×n` product of operands with strides `a` and `b`, in element
/// type `elem`, laid out as `out`, with up to `threads` threads, on a CPU with `cpu`'s
/// kernels. A pure function: [`matmul`](super::matmul) calls it with
/// [`CpuFeatures::current`] and [`crate::threads::num_threads`], tests with any profile.
/// Each [`Route`]'s documentation says when and why it is taken; in order:
///
/// 1. [`Route::Empty`] if a side is 0;
/// 2. for `f32` with AVX2 and FMA, `k` at least 8: [`Route::Narrow`] or
///    [`Route::NarrowTransposed`] if the operands are laid out for them;
/// 3. with a side of 1, [`Route::Thin`] if its loop runs along contiguous memory;
/// 4. for `f32` with AVX2 and FMA, [`Route::Blocked`]: [`Kernel::Avx512`] for large products
///    (see [`threads_for`]) at least 32 columns wide on CPUs that have it, else
///    [`Kernel::Avx2`];
/// 5. else [`Route::FallbackBands`] with more than one thread, every side at least
///    [`PACKED_MIN_SIDE`] and 2¹⁵ values in the operands, else [`Route::Fallback`].
///
/// ```
/// use duograd_cpu::gemm::{route, CpuFeatures, ElemKind, Kernel, Layout, Route, Strides};
/// let (x, w_t) = (Strides::row_major(784), Strides::row_major(784).t()); // x · Wᵀ
/// let forward = |cpu| route((512, 784, 64), x, w_t, Layout::RowMajor, ElemKind::F32, 2, cpu);
/// assert_eq!(forward(CpuFeatures::AVX512), Route::Blocked(Kernel::Avx512));
/// assert_eq!(forward(CpuFeatures::AVX2), Route::Blocked(Kernel::Avx2));
/// assert_eq!(forward(CpuFeatures::NONE), Route::FallbackBands);
/// ```
pub fn route(
    (m, k, n): (usize, usize, usize),
    a: Strides,
    b: Strides,
    out: Layout,
    elem: ElemKind,
    threads: usize,
    cpu: CpuFeatures,
) -> Route {
    if m == 0 || k == 0 || n == 0 {
        return Route::Empty;
    }
    let (a, b) = as_row_major(Form::new(m, k, a), Form::new(k, n, b), out);
    let own = elem == ElemKind::F32 && cpu.avx2_fma;
    if own && k >= 8 {
        if let Some(narrow) = narrow_route(a, b) {
            return narrow;
        }
    }
    if m.min(k).min(n) == 1 && super::thin::plan(a, b).is_some() {
        return Route::Thin;
    }
    if own {
        let wide = cpu.runs(Kernel::Avx512) && b.cols >= AVX512_TILE_COLS;
        return Route::Blocked(if wide && large(m, k, n) {
            Kernel::Avx512
        } else {
            Kernel::Avx2
        });
    }
    if m.min(k).min(n) >= PACKED_MIN_SIDE && bands(m, k, n, threads) > 1 {
        Route::FallbackBands
    } else {
        Route::Fallback
    }
}

/// How many of `threads` threads [`matmul`](super::matmul) lets `route` use for an `m×k · k×n`
/// product: one per 2¹⁴ values of the operands for [`Route::FallbackBands`], and all of them
/// for [`Route::Narrow`],
/// [`Route::NarrowTransposed`] and [`Route::Blocked`] when the product is large (every side at
/// least [`PACKED_MIN_SIDE`], or thin with enough work, `large`) and more than a single row or
/// column; else 1, the calling thread: handing shares of a small product to the pool costs
/// more than it saves. A pure function, like [`route`].
///
/// ```
/// use duograd_cpu::gemm::{threads_for, Kernel, Route};
/// assert_eq!(threads_for(Route::Blocked(Kernel::Avx2), (512, 784, 64), 2), 2);
/// assert_eq!(threads_for(Route::Blocked(Kernel::Avx2), (16, 16, 16), 2), 1);
/// assert_eq!(threads_for(Route::Fallback, (512, 784, 64), 2), 1);
/// ```
pub fn threads_for(route: Route, (m, k, n): (usize, usize, usize), threads: usize) -> usize {
    match route {
        Route::Empty | Route::Thin | Route::Fallback => 1,
        Route::FallbackBands => bands(m, k, n, threads).max(1),
        Route::Narrow | Route::NarrowTransposed | Route::Blocked(_) => {
            if m.min(n) > 1 && large(m, k, n) {
                threads
            } else {
                1
            }
        }
    }
}

/// [`Route::Narrow`] or [`Route::NarrowTransposed`] if the row-major product `a · b` is laid out
/// for one (the CPU aside).
fn narrow_route(a: Form, b: Form) -> Option<Route> {
    if narrow_fits(a, b) {
        Some(Route::Narrow)
    } else if a.rows == 1 && narrow_fits(b.t(), a.t()) {
        Some(Route::NarrowTransposed)
    } else {
        None
    }
}

/// Whether `narrow.rs` takes the row-major product `a · b` (`narrow::applies` without its CPU
/// check): at most [`NARROW_MAX_COLS`] wide, `a`'s rows and `b`'s columns contiguous.
pub(super) fn narrow_fits(a: Form, b: Form) -> bool {
    b.cols <= NARROW_MAX_COLS
        && (a.col_stride == 1 || a.cols == 1)
        && (b.row_stride == 1 || b.rows == 1)
}

/// The bands [`Route::FallbackBands`] cuts an `m×k · k×n` product into: one per 2¹⁴ values of
/// the operands, at most one per thread.
fn bands(m: usize, k: usize, n: usize, threads: usize) -> usize {
    threads.min((m * k + k * n) >> 14)
}

/// Whether an `m×k · k×n` `f32` product is large enough for the worker pool and for the
/// AVX-512 kernel's wide tiles: every side at least [`PACKED_MIN_SIDE`], or
/// - a classifier's outputs (10, say) computed from a long `k`: at least 8 rows and columns,
///   `k` at least [`PACKED_MIN_SIDE`] and 2¹⁸ multiply-adds;
/// - or the gradient flowing back through such a layer: `k` from 8, an output of at least
///   32×32 and 2¹⁴ values.
fn large(m: usize, k: usize, n: usize) -> bool {
    m.min(k).min(n) >= PACKED_MIN_SIDE
        || (m.min(n) >= 8 && k >= PACKED_MIN_SIDE && m * n * k >= 1 << 18)
        || (k >= 8 && m.min(n) >= PACKED_MIN_SIDE && m * n >= 1 << 14)
}

/// The dispatch policy, case by case: which route each product takes on each kind of CPU.
#[cfg(test)]
mod tests {
    use super::*;
    use CpuFeatures as Cpu;
    use ElemKind::{F32, F64};
    use Layout::{ColMajor, RowMajor};

    const AVX512: Route = Route::Blocked(Kernel::Avx512);
    const AVX2: Route = Route::Blocked(Kernel::Avx2);
    const PROFILES: [CpuFeatures; 3] = [Cpu::AVX512, Cpu::AVX2, Cpu::NONE];

    /// A row-major `rows × cols` operand's strides, and its transpose's.
    fn rm(cols: usize) -> Strides {
        Strides::row_major(cols)
    }
    fn cm(rows: usize) -> Strides {
        Strides::col_major(rows)
    }

    /// `want[i]` is the route on `PROFILES[i]`, for 1 and 2 threads unless `threads` says.
    #[track_caller]
    fn expect(
        shape: (usize, usize, usize),
        (a, b, out): (Strides, Strides, Layout),
        elem: ElemKind,
        threads: usize,
        want: [Route; 3],
    ) {
        for (cpu, want) in PROFILES.into_iter().zip(want) {
            let got = route(shape, a, b, out, elem, threads, cpu);
            assert_eq!(
                got, want,
                "{shape:?} {a:?} {b:?} {out:?} {elem:?} threads {threads} on {cpu:?}"
            );
        }
    }

    /// The MNIST MLP's products at batch 512 on ndarray (row-major, `W` stored `(out, in)`):
    /// the large ones to the widest kernel the CPU has, the classifier's `x · Wᵀ` to the dot
    /// products, everything to the fallback on a CPU without AVX2; in `f64`, bands.
    #[test]
    fn mlp_products_on_ndarray() {
        let forward = |k: usize| (rm(k), rm(k).t(), RowMajor);
        expect(
            (512, 784, 64),
            forward(784),
            F32,
            2,
            [AVX512, AVX2, Route::FallbackBands],
        );
        expect(
            (512, 784, 64),
            forward(784),
            F32,
            1,
            [AVX512, AVX2, Route::Fallback],
        );
        let bands = [Route::FallbackBands; 3];
        expect((512, 784, 64), forward(784), F64, 2, bands);
        expect((512, 784, 64), forward(784), F64, 1, [Route::Fallback; 3]);
        // The classifier: 10 outputs, dot products of contiguous runs of 64.
        let narrow = [Route::Narrow, Route::Narrow, Route::Fallback];
        expect((512, 64, 10), forward(64), F32, 2, narrow);
        expect((512, 64, 10), forward(64), F64, 2, [Route::Fallback; 3]);
        // Its gradients: 10 columns of `g` times `W` (row-major), and `gᵀ · h`.
        let thin_k = (rm(10), rm(64), RowMajor);
        expect(
            (512, 10, 64),
            thin_k,
            F32,
            2,
            [AVX512, AVX2, Route::Fallback],
        );
        let wgrad = (rm(10).t(), rm(64), RowMajor);
        expect(
            (10, 512, 64),
            wgrad,
            F32,
            2,
            [AVX512, AVX2, Route::Fallback],
        );
        // Weight gradient of the first layer: `gᵀ · x`, 64×512 · 512×784.
        let wgrad = (rm(64).t(), rm(784), RowMajor);
        expect(
            (64, 512, 784),
            wgrad,
            F32,
            2,
            [AVX512, AVX2, Route::FallbackBands],
        );
    }

    /// The same on nalgebra (column-major, column-major outputs): the classifier's `x · Wᵀ` is
    /// then `W · xᵀ` in the row-major form, whose columns are not contiguous runs along `k`.
    #[test]
    fn mlp_products_on_nalgebra() {
        let forward = |m: usize, n: usize| (cm(m), cm(n).t(), ColMajor);
        expect(
            (512, 784, 64),
            forward(512, 64),
            F32,
            2,
            [AVX512, AVX2, Route::FallbackBands],
        );
        expect(
            (512, 64, 10),
            forward(512, 10),
            F32,
            2,
            [AVX512, AVX2, Route::Fallback],
        );
    }

    /// Batch 1: dot products where the operands allow them (`f32`, AVX2), else one pass.
    #[test]
    fn batch_one() {
        // ndarray's `x · Wᵀ`: a row of 64 dot products, as a column of them.
        let ndarray = (rm(784), rm(784).t(), RowMajor);
        let transposed = [
            Route::NarrowTransposed,
            Route::NarrowTransposed,
            Route::Thin,
        ];
        expect((1, 784, 64), ndarray, F32, 2, transposed);
        expect((1, 784, 64), ndarray, F64, 2, [Route::Thin; 3]);
        // nalgebra's: `W`'s columns are not contiguous, `x`'s are: a matrix times a column.
        let nalgebra = (cm(1), cm(64).t(), ColMajor);
        expect((1, 784, 64), nalgebra, F32, 2, [Route::Thin; 3]);
        // nalgebra's `g · W` (1×64 · 64×784): 784 dot products of contiguous columns.
        let g_w = (cm(1), cm(64), ColMajor);
        let narrow = [Route::Narrow, Route::Narrow, Route::Thin];
        expect((1, 64, 784), g_w, F32, 2, narrow);
        // The weight gradient, an outer product.
        let outer = (cm(64), rm(784), RowMajor);
        expect((64, 1, 784), outer, F32, 2, [Route::Thin; 3]);
        expect((64, 1, 784), outer, F64, 2, [Route::Thin; 3]);
    }

    /// A thin product whose operands are not contiguous in any direction: packed instead.
    #[test]
    fn thin_but_scattered() {
        let scattered = (
            Strides { row: 100, col: 2 },
            Strides { row: 80, col: 2 },
            RowMajor,
        );
        expect(
            (1, 50, 40),
            scattered,
            F32,
            2,
            [AVX2, AVX2, Route::Fallback],
        );
        expect((1, 50, 40), scattered, F64, 2, [Route::Fallback; 3]);
    }

    /// Small `f32` products go to duograd's AVX2 kernel (not the AVX-512 one, whose tiles they
    /// would leave mostly empty), and dot products need a `k` of 8 or more.
    #[test]
    fn small_products() {
        let plain = |k: usize, n: usize| (rm(k), rm(n), RowMajor);
        expect(
            (16, 16, 16),
            plain(16, 16),
            F32,
            2,
            [AVX2, AVX2, Route::Fallback],
        );
        expect(
            (20, 30, 40),
            plain(30, 40),
            F32,
            2,
            [AVX2, AVX2, Route::Fallback],
        );
        expect(
            (5, 3, 4),
            plain(3, 4),
            F32,
            2,
            [AVX2, AVX2, Route::Fallback],
        );
        // Every side from 32 counts as large for duograd's kernels, whatever the work; the
        // fallback's bands need 2¹⁴ values of the operands each.
        let large = [AVX512, AVX2, Route::Fallback];
        expect((40, 40, 40), plain(40, 40), F32, 2, large);
        // Narrow outputs: dot products from k = 8, the AVX2 kernel below.
        let classifier = |k: usize| (rm(k), rm(k).t(), RowMajor);
        let narrow = [Route::Narrow, Route::Narrow, Route::Fallback];
        expect((64, 8, 10), classifier(8), F32, 2, narrow);
        expect(
            (512, 4, 10),
            classifier(4),
            F32,
            2,
            [AVX2, AVX2, Route::Fallback],
        );
        // 16 columns: one AVX2 tile, half an AVX-512 one.
        expect(
            (512, 64, 16),
            classifier(64),
            F32,
            2,
            [AVX2, AVX2, Route::Fallback],
        );
        // f64: bands with two threads, every side from 32 and 2¹⁵ values in the operands.
        let bands = [Route::FallbackBands; 3];
        expect((128, 128, 128), plain(128, 128), F64, 2, bands);
        expect(
            (128, 128, 128),
            plain(128, 128),
            F64,
            1,
            [Route::Fallback; 3],
        );
        expect((64, 64, 64), plain(64, 64), F64, 2, [Route::Fallback; 3]);
        expect(
            (31, 512, 512),
            plain(512, 512),
            F64,
            2,
            [Route::Fallback; 3],
        );
    }

    #[test]
    fn empty_products() {
        for shape in [(0, 5, 3), (3, 0, 5), (3, 5, 0)] {
            let (m, k, n) = shape;
            for elem in [F32, F64] {
                expect(shape, (rm(k), rm(n), RowMajor), elem, 2, [Route::Empty; 3]);
                expect(shape, (cm(m), cm(k), ColMajor), elem, 1, [Route::Empty; 3]);
            }
        }
    }

    /// Only large products, more than one row or column, use the pool.
    #[test]
    fn thread_counts() {
        for route in [Route::Empty, Route::Thin, Route::Fallback] {
            assert_eq!(threads_for(route, (512, 784, 64), 4), 1, "{route:?}");
        }
        assert_eq!(threads_for(Route::FallbackBands, (512, 784, 64), 3), 3);
        assert_eq!(threads_for(Route::FallbackBands, (128, 128, 128), 4), 2);
        assert_eq!(threads_for(Route::FallbackBands, (64, 64, 64), 2), 1);
        for route in [AVX512, AVX2, Route::Narrow] {
            assert_eq!(threads_for(route, (512, 784, 64), 2), 2, "{route:?}");
            assert_eq!(threads_for(route, (512, 64, 10), 2), 2, "{route:?}");
            assert_eq!(threads_for(route, (128, 10, 256), 2), 2, "{route:?}");
            assert_eq!(threads_for(route, (64, 64, 10), 2), 1, "{route:?}");
            assert_eq!(threads_for(route, (31, 31, 31), 2), 1, "{route:?}");
            assert_eq!(threads_for(route, (32, 32, 32), 2), 2, "{route:?}");
        }
        assert_eq!(threads_for(Route::NarrowTransposed, (1, 784, 64), 2), 1);
        assert_eq!(threads_for(Route::Narrow, (1, 64, 784), 2), 1);
        assert_eq!(threads_for(AVX2, (784, 1, 64), 2), 1);
    }

    /// What `route` says of narrow operands agrees with `narrow.rs` itself.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn narrow_fits_agrees_with_the_kernel() {
        use super::super::{narrow, StridedMatrix};
        if !CpuFeatures::detect().avx2_fma {
            eprintln!("skipped: this CPU lacks AVX2 or FMA, so narrow.rs takes nothing");
            return;
        }
        let data = [0.0f32; 4096];
        // An r×c matrix row-major, column-major, or with both strides above 1.
        let storages = |r: usize, c: usize| [(c, 1), (1, r), (2 * c, 2)];
        for (rows, cols) in [(1, 1), (1, 20), (20, 1), (7, 15), (7, 16), (3, 40)] {
            for (rs_a, cs_a) in storages(rows, 9) {
                for (rs_b, cs_b) in storages(9, cols) {
                    let a = StridedMatrix::new(&data, rows, 9, rs_a, cs_a);
                    let b = StridedMatrix::new(&data, 9, cols, rs_b, cs_b);
                    assert_eq!(
                        narrow_fits(a.form(), b.form()),
                        narrow::applies(a, b),
                        "{a:?} {b:?}"
                    );
                }
            }
        }
    }
}
