//! The matrix product both backends call, reading each operand in place through its strides.
//!
//! [`route`] chooses the kernel of a product from its shape, the operands' strides, the output
//! layout, the element type, the thread count and the CPU's kernels: a pure function, whose
//! [`Route`]s document when each is taken and why; [`threads_for`] how many threads it gets.
//! [`matmul`] and [`matmul_bias`] run the route it chooses for this machine
//! ([`chosen_route`]), [`matmul_with_route`] any route the CPU can run. The kernels:
//! - `thin.rs`: products with a side of 1 (a batch of one sample), one vectorized pass, in any
//!   element type ([`Route::Thin`]);
//! - `narrow.rs`: `f32` products at most 15 columns wide whose every output is a dot product
//!   of contiguous runs (a classifier's `x · Wᵀ`), with AVX2 and FMA ([`Route::Narrow`],
//!   [`Route::NarrowTransposed`]);
//! - `blocked.rs`: every other `f32` product, with AVX2 and FMA: duograd's BLIS-style product
//!   around a 12×32 AVX-512 microkernel (`avx512.rs`) or a 6×16 AVX2 one (`avx2.rs`)
//!   ([`Route::Blocked`]);
//! - `fallback.rs`: everything else (`f64` products, `f32` ones on CPUs without AVX2 and FMA
//!   or other architectures) through `matrixmultiply`, one single-threaded call per band
//!   ([`Route::Fallback`], [`Route::FallbackBands`]).
//!
//! The measurements behind these choices are in BENCHMARKS.md.
//!
//! ndarray's and nalgebra's own products both go to `matrixmultiply` with none of this
//! dispatch (nalgebra only above 5×5, and through a copying `gemv` below), so sharing the
//! kernel is also what makes the two backends equally fast. A transposed operand is the same
//! buffer with its strides swapped ([`StridedMatrix::t`]): no transpose is ever copied.
//!
//! Threads: every route that uses more than the calling thread runs on duograd's worker pool
//! ([`crate::threads`]), the calling thread working too; no other thread pool is started.
//! `DUOGRAD_THREADS=1` (or [`crate::threads::set_num_threads`]`(1)`) keeps every product on
//! the calling thread; above 1, products use up to that many threads, at most one per CPU.

use duograd_backend::Element;

/// How a product's output is laid out.
pub use duograd_backend::Layout;

pub use dispatch::{
    route, threads_for, CpuFeatures, ElemKind, Kernel, Route, Strides, PACKED_MIN_SIDE,
};

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(target_arch = "x86_64")]
mod blocked;
mod dispatch;
mod fallback;
#[cfg(target_arch = "x86_64")]
mod narrow;
#[cfg(test)]
mod route_tests;
mod thin;

/// A read-only `rows × cols` matrix inside a slice: element `(i, j)` is
/// `data[i * row_stride + j * col_stride]`.
///
/// ```
/// use duograd_cpu::gemm::StridedMatrix;
/// let data = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
/// let a = StridedMatrix::row_major(&data, 2, 3);
/// assert_eq!(a.get(1, 0), 4.0);
/// assert_eq!(a.t().get(0, 1), 4.0); // the transpose reads the same buffer
/// ```
#[derive(Clone, Copy, Debug)]
pub struct StridedMatrix<'a, E> {
    data: &'a [E],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a, E: Copy> StridedMatrix<'a, E> {
    /// The matrix whose element `(i, j)` is `data[i * row_stride + j * col_stride]`.
    ///
    /// # Panics
    /// If the last element lies beyond `data` (the message gives the sizes and strides).
    pub fn new(
        data: &'a [E],
        rows: usize,
        cols: usize,
        row_stride: usize,
        col_stride: usize,
    ) -> Self {
        if rows > 0 && cols > 0 {
            let last = (rows - 1) * row_stride + (cols - 1) * col_stride;
            assert!(
                last < data.len(),
                "StridedMatrix: a {rows}x{cols} matrix with strides ({row_stride}, {col_stride}) \
                 reaches element {last} of a slice of {}",
                data.len()
            );
        }
        StridedMatrix {
            data,
            rows,
            cols,
            row_stride,
            col_stride,
        }
    }

    /// `data` read as a row-major `rows × cols` matrix.
    pub fn row_major(data: &'a [E], rows: usize, cols: usize) -> Self {
        Self::new(data, rows, cols, cols, 1)
    }

    /// `data` read as a column-major `rows × cols` matrix.
    pub fn col_major(data: &'a [E], rows: usize, cols: usize) -> Self {
        Self::new(data, rows, cols, 1, rows)
    }

    /// The transpose, reading the same elements.
    pub fn t(self) -> Self {
        StridedMatrix {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    /// The number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Element `(i, j)`.
    ///
    /// # Panics
    /// If `i` or `j` is out of range.
    pub fn get(&self, i: usize, j: usize) -> E {
        assert!(
            i < self.rows && j < self.cols,
            "StridedMatrix::get: ({i}, {j}) is outside a {}x{} matrix",
            self.rows,
            self.cols
        );
        self.data[i * self.row_stride + j * self.col_stride]
    }
}

impl<E> StridedMatrix<'_, E> {
    /// The strides, as [`route`] reads them.
    pub fn strides(&self) -> Strides {
        Strides {
            row: self.row_stride,
            col: self.col_stride,
        }
    }

    /// The shape and strides.
    fn form(&self) -> dispatch::Form {
        dispatch::Form::new(self.rows, self.cols, self.strides())
    }
}

/// The environment variable that, set to anything but `0`, keeps products off the AVX-512
/// kernel (to compare the kernels, or to reproduce an AVX2 machine's results bit for bit): see
/// [`CpuFeatures::current`].
pub const NO_AVX512_ENV_VAR: &str = "DUOGRAD_NO_AVX512";

/// `a · b` as a fresh `a.rows() × b.cols()` buffer in `layout`, on the route [`chosen_route`]
/// gives.
///
/// ```
/// use duograd_cpu::gemm::{matmul, Layout, StridedMatrix};
/// let a = [1.0, 2.0, 3.0, 4.0]; // [[1, 2], [3, 4]]
/// let b = [5.0, 6.0, 7.0, 8.0]; // [[5, 6], [7, 8]]
/// let (a, b) = (StridedMatrix::row_major(&a, 2, 2), StridedMatrix::row_major(&b, 2, 2));
/// assert_eq!(matmul(a, b, Layout::RowMajor), [19.0, 22.0, 43.0, 50.0]);
/// assert_eq!(matmul(a.t(), b, Layout::RowMajor), [26.0, 30.0, 38.0, 44.0]);
/// assert_eq!(matmul(a, b, Layout::ColMajor), [19.0, 43.0, 22.0, 50.0]);
/// ```
///
/// # Panics
/// If the inner sizes differ (`a.cols() != b.rows()`); the message gives both shapes.
pub fn matmul<E: Element>(
    a: StridedMatrix<'_, E>,
    b: StridedMatrix<'_, E>,
    layout: Layout,
) -> Vec<E> {
    product(a, b, None, layout)
}

/// `a · b + bias`, `bias[j]` added to every element of column `j` (a linear layer's `x·Wᵀ + b`),
/// as a fresh `a.rows() × b.cols()` buffer in `layout`. [`Route::Narrow`] and
/// [`Route::Blocked`] add the bias as they store each output, so the output is written once;
/// the other routes add it in a second pass. Either way each element is `(a·b)[i, j] + bias[j]`,
/// rounded as [`matmul`] followed by the addition would round it.
///
/// ```
/// use duograd_cpu::gemm::{matmul_bias, Layout, StridedMatrix};
/// let a = [1.0, 2.0, 3.0, 4.0]; // [[1, 2], [3, 4]]
/// let b = [5.0, 6.0, 7.0, 8.0]; // [[5, 6], [7, 8]]
/// let (a, b) = (StridedMatrix::row_major(&a, 2, 2), StridedMatrix::row_major(&b, 2, 2));
/// let bias = [0.5, -1.0];
/// assert_eq!(matmul_bias(a, b, &bias, Layout::RowMajor), [19.5, 21.0, 43.5, 49.0]);
/// assert_eq!(matmul_bias(a, b, &bias, Layout::ColMajor), [19.5, 43.5, 21.0, 49.0]);
/// ```
///
/// # Panics
/// If the inner sizes differ, or `bias` does not hold one value per column of the product
/// (the messages give the shapes).
pub fn matmul_bias<E: Element>(
    a: StridedMatrix<'_, E>,
    b: StridedMatrix<'_, E>,
    bias: &[E],
    layout: Layout,
) -> Vec<E> {
    check_bias(a, b, Some(bias));
    product(a, b, Some(bias), layout)
}

/// [`matmul`] on at most `threads` threads (the route chosen for that many): for a kernel that
/// runs many small products at once, each on one thread of its own.
///
/// # Panics
/// As [`matmul`].
pub fn matmul_with_threads<E: Element>(
    a: StridedMatrix<'_, E>,
    b: StridedMatrix<'_, E>,
    layout: Layout,
    threads: usize,
) -> Vec<E> {
    product_on(a, b, None, layout, threads.max(1))
}

/// The route [`matmul`] takes for `a · b` laid out as `layout`: [`route`] for this CPU
/// ([`CpuFeatures::current`]) and [`crate::threads::num_threads`].
///
/// # Panics
/// If `E` is neither `f32` nor `f64`.
pub fn chosen_route<E: Element>(
    a: StridedMatrix<'_, E>,
    b: StridedMatrix<'_, E>,
    layout: Layout,
) -> Route {
    route(
        (a.rows, a.cols, b.cols),
        a.strides(),
        b.strides(),
        layout,
        elem_kind::<E>(),
        crate::threads::num_threads(),
        CpuFeatures::current(),
    )
}

/// `a · b` (plus `bias` along the columns, if given) as a fresh `a.rows() × b.cols()` buffer
/// in `layout`, computed by `route` on up to `threads` threads ([`Route::Thin`] and
/// [`Route::Fallback`] use the calling thread only). For tests and measurements: [`matmul`]
/// and [`matmul_bias`] take the route [`chosen_route`] gives, on [`threads_for`] threads. An
/// empty product (a side of 0) is zeros plus the bias on every route but [`Route::Empty`],
/// which takes nothing else.
///
/// ```
/// use duograd_cpu::gemm::{matmul_with_route, Layout, Route, StridedMatrix};
/// let a = [1.0f64, 2.0, 3.0, 4.0]; // [[1, 2], [3, 4]]
/// let a = StridedMatrix::row_major(&a, 2, 2);
/// let product = matmul_with_route(a, a, None, Layout::RowMajor, Route::Fallback, 1);
/// assert_eq!(product, [7.0, 10.0, 15.0, 22.0]);
/// ```
///
/// # Panics
/// If the inner sizes differ or `bias` has the wrong length, or if `route` cannot run here:
/// [`Route::Narrow`], [`Route::NarrowTransposed`] and [`Route::Blocked`] on anything but `f32`
/// or on a CPU without their instructions ([`CpuFeatures::detect`]), a route given operands
/// it cannot read (such as [`Route::Thin`] without a side of 1), or an element type other
/// than `f32` and `f64` off [`Route::Thin`]. The message names the route and the reason.
pub fn matmul_with_route<E: Element>(
    a: StridedMatrix<'_, E>,
    b: StridedMatrix<'_, E>,
    bias: Option<&[E]>,
    layout: Layout,
    route: Route,
    threads: usize,
) -> Vec<E> {
    check_bias(a, b, bias);
    check_inner_sizes(a, b);
    check_route::<E>(a, b, layout, route);
    run(a, b, bias, layout, route, threads.max(1))
}

/// Panics unless `bias`, if given, holds one value per column of `a · b`.
fn check_bias<E>(a: StridedMatrix<'_, E>, b: StridedMatrix<'_, E>, bias: Option<&[E]>) {
    if let Some(bias) = bias {
        assert_eq!(
            bias.len(),
            b.cols,
            "matmul_bias: {} bias values for a {}x{} product",
            bias.len(),
            a.rows,
            b.cols
        );
    }
}

/// Panics unless `a · b` is defined.
fn check_inner_sizes<E>(a: StridedMatrix<'_, E>, b: StridedMatrix<'_, E>) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(
        k, b.rows,
        "matmul: inner sizes differ ({m}x{k} times {}x{n})",
        b.rows
    );
}

/// `E`'s [`ElemKind`].
///
/// # Panics
/// If `E` is neither `f32` nor `f64`.
fn elem_kind<E: Element>() -> ElemKind {
    ElemKind::of::<E>().unwrap_or_else(|| {
        panic!(
            "duograd_cpu::gemm: no matrix product for {} (f32 and f64 only)",
            E::NAME
        )
    })
}

/// Panics, naming `route` and the reason, if it cannot compute `a · b` laid out as `layout` in
/// `E` on this CPU.
fn check_route<E: Element>(
    a: StridedMatrix<'_, E>,
    b: StridedMatrix<'_, E>,
    layout: Layout,
    route: Route,
) {
    if let Some(why) = why_not(a, b, layout, route) {
        let (m, k, n) = (a.rows, a.cols, b.cols);
        panic!("matmul_with_route: {route:?} cannot compute this {m}x{k}x{n} product: {why}");
    }
}

/// Why `route` cannot compute `a · b` laid out as `layout` in `E` on this CPU, if it cannot.
fn why_not<E: Element>(
    a: StridedMatrix<'_, E>,
    b: StridedMatrix<'_, E>,
    layout: Layout,
    route: Route,
) -> Option<String> {
    let empty = a.rows == 0 || a.cols == 0 || b.cols == 0;
    let f32_only = || {
        (ElemKind::of::<E>() != Some(ElemKind::F32))
            .then(|| format!("it computes f32 products only, not {}", E::NAME))
    };
    let needs = |kernel| {
        (!cfg!(target_arch = "x86_64") || !CpuFeatures::detect().runs(kernel)).then(|| {
            match kernel {
                Kernel::Avx512 => "this CPU lacks AVX-512F, AVX2 or FMA",
                Kernel::Avx2 => "this CPU lacks AVX2 or FMA",
            }
            .to_string()
        })
    };
    match route {
        Route::Empty => (!empty).then(|| "it is not empty".to_string()),
        _ if empty => None,
        Route::Thin => {
            let (a, b) = as_row_major(a.form(), b.form(), layout);
            thin::plan(a, b).is_none().then(|| {
                "it needs a side of 1 and operands read along contiguous memory".to_string()
            })
        }
        Route::Narrow | Route::NarrowTransposed => {
            f32_only().or_else(|| needs(Kernel::Avx2)).or_else(|| {
                #[cfg(target_arch = "x86_64")]
                let fits = {
                    let (a, b) = as_row_major(a, b, layout);
                    match route {
                        Route::Narrow => narrow::applies(a, b),
                        _ => narrow::applies_transposed(a, b),
                    }
                };
                #[cfg(not(target_arch = "x86_64"))]
                let fits = false;
                let why = "it needs at most 15 columns (or one row), a's rows and b's columns \
                           contiguous";
                (!fits).then(|| why.to_string())
            })
        }
        Route::Blocked(kernel) => f32_only().or_else(|| needs(kernel)),
        Route::Fallback | Route::FallbackBands => ElemKind::of::<E>()
            .is_none()
            .then(|| format!("it computes f32 and f64 products only, not {}", E::NAME)),
    }
}

/// [`matmul`], plus `bias` along the columns where given (its length checked by the caller).
fn product<E: Element>(
    a: StridedMatrix<'_, E>,
    b: StridedMatrix<'_, E>,
    bias: Option<&[E]>,
    layout: Layout,
) -> Vec<E> {
    product_on(a, b, bias, layout, crate::threads::num_threads())
}

/// [`product`] on the route chosen for at most `threads` threads.
fn product_on<E: Element>(
    a: StridedMatrix<'_, E>,
    b: StridedMatrix<'_, E>,
    bias: Option<&[E]>,
    layout: Layout,
    threads: usize,
) -> Vec<E> {
    check_inner_sizes(a, b);
    let shape = (a.rows, a.cols, b.cols);
    let route = route(
        shape,
        a.strides(),
        b.strides(),
        layout,
        elem_kind::<E>(),
        threads,
        CpuFeatures::current(),
    );
    let threads = threads_for(route, shape, threads);
    run(a, b, bias, layout, route, threads)
}

/// `a · b` (plus `bias`) laid out as `layout` by `route`, which [`check_route`] accepts (or
/// [`route`] chose), on up to `threads` threads.
fn run<E: Element>(
    a: StridedMatrix<'_, E>,
    b: StridedMatrix<'_, E>,
    bias: Option<&[E]>,
    layout: Layout,
    route: Route,
    threads: usize,
) -> Vec<E> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if m == 0 || n == 0 || k == 0 {
        // An empty sum is 0.
        return with_bias(vec![E::zero(); m * n], bias, m, layout);
    }
    match route {
        Route::Empty => unreachable!("Route::Empty for a {m}x{k}x{n} product"),
        Route::Thin => {
            let product = thin::matmul(a, b, layout)
                .unwrap_or_else(|| unreachable!("Route::Thin for a {m}x{k}x{n} product"));
            with_bias(product, bias, m, layout)
        }
        Route::Narrow | Route::NarrowTransposed | Route::Blocked(_) => {
            own_f32(a, b, bias, layout, route, threads)
        }
        Route::Fallback => with_bias(fallback::matmul(a, b, layout, 1), bias, m, layout),
        Route::FallbackBands => with_bias(fallback::matmul(a, b, layout, threads), bias, m, layout),
    }
}

/// `product` (`m` rows, laid out as `layout`) with `bias[j]` added to each element of column
/// `j`, if there is a bias.
fn with_bias<E: Element>(
    mut product: Vec<E>,
    bias: Option<&[E]>,
    m: usize,
    layout: Layout,
) -> Vec<E> {
    let Some(bias) = bias.filter(|b| !b.is_empty()) else {
        return product;
    };
    match layout {
        Layout::RowMajor => {
            for row in product.chunks_exact_mut(bias.len()) {
                for (x, &b) in row.iter_mut().zip(bias) {
                    *x += b;
                }
            }
        }
        Layout::ColMajor if m > 0 => {
            for (col, &b) in product.chunks_exact_mut(m).zip(bias) {
                for x in col {
                    *x += b;
                }
            }
        }
        Layout::ColMajor => {}
    }
    product
}

/// The operands of the row-major product that is `a · b` laid out as `layout`: a column-major
/// `a·b` is the row-major `bᵀ·aᵀ`.
fn as_row_major<T: Transposable>(a: T, b: T, layout: Layout) -> (T, T) {
    match layout {
        Layout::RowMajor => (a, b),
        Layout::ColMajor => (b.t(), a.t()),
    }
}

/// A matrix or its description, which [`as_row_major`] transposes.
trait Transposable: Copy {
    fn t(self) -> Self;
}

impl<E: Copy> Transposable for StridedMatrix<'_, E> {
    fn t(self) -> Self {
        StridedMatrix::t(self)
    }
}

impl Transposable for dispatch::Form {
    fn t(self) -> Self {
        dispatch::Form::t(self)
    }
}

/// `a · b` by [`Route::Narrow`], [`Route::NarrowTransposed`] or [`Route::Blocked`], laid out as
/// `layout`; `E` is `f32` and the CPU runs the route ([`check_route`]).
#[cfg(target_arch = "x86_64")]
fn own_f32<E: Element>(
    a: StridedMatrix<'_, E>,
    b: StridedMatrix<'_, E>,
    bias: Option<&[E]>,
    layout: Layout,
    route: Route,
    threads: usize,
) -> Vec<E> {
    assert_eq!(ElemKind::of::<E>(), Some(ElemKind::F32));
    // SAFETY: `E` is `f32` (asserted just above), so these are the same slices retyped.
    let retype = |m: StridedMatrix<'_, E>| StridedMatrix {
        // SAFETY: as above.
        data: unsafe { std::slice::from_raw_parts(m.data.as_ptr().cast::<f32>(), m.data.len()) },
        rows: m.rows,
        cols: m.cols,
        row_stride: m.row_stride,
        col_stride: m.col_stride,
    };
    let (a, b) = as_row_major(retype(a), retype(b), layout);
    // The bias runs along the columns of `a·b`: those of the row-major product computed, or,
    // for a column-major one, the rows of its transpose.
    let bias = bias.map(|v| {
        // SAFETY: as above.
        let v = unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<f32>(), v.len()) };
        match layout {
            Layout::RowMajor => blocked::Bias::PerColumn(v),
            Layout::ColMajor => blocked::Bias::PerRow(v),
        }
    });
    let product = match route {
        Route::Narrow => narrow::matmul(a, b, bias, threads),
        Route::NarrowTransposed => {
            narrow::matmul(b.t(), a.t(), bias.map(blocked::Bias::transposed), threads)
        }
        Route::Blocked(Kernel::Avx512) => blocked::matmul::<avx512::Avx512>(a, b, bias, threads),
        Route::Blocked(Kernel::Avx2) => blocked::matmul::<avx2::Avx2>(a, b, bias, threads),
        _ => unreachable!("own_f32: {route:?}"),
    };
    // SAFETY: `E` is `f32`, so this is the same allocation, length and capacity retyped.
    let mut product = std::mem::ManuallyDrop::new(product);
    // SAFETY: as above.
    unsafe {
        Vec::from_raw_parts(
            product.as_mut_ptr().cast::<E>(),
            product.len(),
            product.capacity(),
        )
    }
}

/// duograd's own kernels are x86-64 only; [`check_route`] refuses their routes elsewhere.
#[cfg(not(target_arch = "x86_64"))]
fn own_f32<E: Element>(
    _: StridedMatrix<'_, E>,
    _: StridedMatrix<'_, E>,
    _: Option<&[E]>,
    _: Layout,
    route: Route,
    _: usize,
) -> Vec<E> {
    unreachable!("{route:?} on a CPU other than x86-64")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `a · b` by the textbook triple loop.
    fn naive(a: StridedMatrix<'_, f64>, b: StridedMatrix<'_, f64>) -> Vec<f64> {
        let (m, k, n) = (a.rows(), a.cols(), b.cols());
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| a.get(i, p) * b.get(p, j)).sum();
            }
        }
        c
    }

    /// Every kernel (small, large and thin-but-long shapes), every transpose combination, both
    /// layouts, 1 and 2 threads, against the triple loop.
    #[test]
    fn every_kernel_and_layout_matches_the_triple_loop() {
        let values = |n: usize, seed: usize| -> Vec<f64> {
            (0..n)
                .map(|i| (((i * 7919 + seed * 104_729) % 1000) as f64) / 500.0 - 1.0)
                .collect()
        };
        let before = crate::threads::num_threads();
        for threads in [1, 2] {
            crate::threads::set_num_threads(threads);
            for (m, k, n) in [
                (1, 784, 64),
                // Thin, with column blocks (`thin::row_times`) and a partial one.
                (1, 200, 130),
                (130, 200, 1),
                (64, 1, 70),
                (33, 17, 1),
                (1, 1, 5),
                (5, 3, 4),
                (40, 33, 50),
                (70, 64, 33),
                // Thin but long: to duograd's kernel (`own_kernel_pays`).
                (512, 64, 10),
                (10, 512, 64),
                (512, 10, 64),
            ] {
                let (a_data, b_data) = (values(m * k, 1), values(k * n, 2));
                for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                    // Store op(a) as `a` or as the transpose of a k×m array, likewise b.
                    let a = if ta {
                        StridedMatrix::row_major(&a_data, k, m).t()
                    } else {
                        StridedMatrix::row_major(&a_data, m, k)
                    };
                    let b = if tb {
                        StridedMatrix::row_major(&b_data, n, k).t()
                    } else {
                        StridedMatrix::row_major(&b_data, k, n)
                    };
                    let want = naive(a, b);
                    let row_major = matmul(a, b, Layout::RowMajor);
                    let col_major = matmul(a, b, Layout::ColMajor);
                    // With a bias: the same product plus the bias, bit for bit.
                    let bias: Vec<f64> = (0..n).map(|j| j as f64 - 2.5).collect();
                    let biased = [
                        (matmul_bias(a, b, &bias, Layout::RowMajor), &row_major, n),
                        (matmul_bias(a, b, &bias, Layout::ColMajor), &col_major, 0),
                    ];
                    for (got, plain, row_len) in &biased {
                        for (index, (g, p)) in got.iter().zip(plain.iter()).enumerate() {
                            let j = if *row_len > 0 { index % n } else { index / m };
                            assert_eq!(*g, p + bias[j], "{m}x{k}x{n} with bias, element {index}");
                        }
                    }
                    for i in 0..m {
                        for j in 0..n {
                            let w = want[i * n + j];
                            let (r, c) = (row_major[i * n + j], col_major[j * m + i]);
                            assert!(
                                (r - w).abs() < 1e-12 && (c - w).abs() < 1e-12,
                                "{m}x{k}x{n} ta={ta} tb={tb} threads={threads} ({i},{j}): \
                                 {r} / {c} vs {w}"
                            );
                        }
                    }
                }
            }
        }
        crate::threads::set_num_threads(before);
    }

    /// The AVX2 kernel on its own and through `matmul`.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_kernel_matches_the_triple_loop() {
        kernel_matches_the_triple_loop::<avx2::Avx2>();
    }

    /// The AVX-512 kernel on its own and through `matmul`.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx512_kernel_matches_the_triple_loop() {
        kernel_matches_the_triple_loop::<avx512::Avx512>();
    }

    /// Kernel `K` on its own and through `matmul`: edge sizes around the 6×16 and 12×32 tiles and
    /// the `k` blocks, operands stored row-major, column-major or with both strides above 1,
    /// both layouts, 1 to 3 threads, against the triple loop.
    #[cfg(target_arch = "x86_64")]
    fn kernel_matches_the_triple_loop<K: blocked::Microkernel>() {
        if !K::available() {
            eprintln!("skipped: this CPU cannot run the kernel");
            return;
        }
        // A small deterministic generator (xorshift), values in [-1, 1).
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        };
        // op(x) for an r×c matrix stored as `storage`: 0 row-major, 1 column-major, 2 inside a
        // larger array with both strides above 1.
        let store = |r: usize, c: usize, storage: usize, next: &mut dyn FnMut() -> f32| {
            let (len, rs, cs) = match storage {
                0 => (r * c, c, 1),
                1 => (r * c, 1, r),
                _ => ((r * 2 + 1) * (c + 3) + 2, 2 * (c + 3), 2),
            };
            ((0..len).map(|_| next()).collect::<Vec<f32>>(), rs, cs)
        };
        let sizes = [1, 5, 6, 7, 12, 13, 15, 16, 17, 31, 33, 100];
        let before = crate::threads::num_threads();
        let mut case = 0usize;
        for &m in &sizes {
            for &n in &sizes {
                // k crosses the blocks (at most 192 or 400 long) for a few cases, to keep the
                // test quick.
                let k = [1, 7, 17, 64, 300, 513][case % 6];
                case += 1;
                let storage = (case % 3, (case / 3) % 3);
                let (a_data, rsa, csa) = store(m, k, storage.0, &mut next);
                let (b_data, rsb, csb) = store(k, n, storage.1, &mut next);
                let a = StridedMatrix::new(&a_data, m, k, rsa, csa);
                let b = StridedMatrix::new(&b_data, k, n, rsb, csb);
                let to64 = |x: StridedMatrix<'_, f32>| {
                    let d: Vec<f64> = (0..x.rows * x.cols)
                        .map(|i| x.get(i / x.cols, i % x.cols) as f64)
                        .collect();
                    d
                };
                let (a64, b64) = (to64(a), to64(b));
                let want = naive(
                    StridedMatrix::row_major(&a64, m, k),
                    StridedMatrix::row_major(&b64, k, n),
                );
                // |a|·|b| products are at most 1, so the rounding error is below k · eps each.
                let tol = 2.0 * k as f64 * f32::EPSILON as f64;
                for threads in 1..=3 {
                    let direct = blocked::matmul::<K>(a, b, None, threads);
                    crate::threads::set_num_threads(threads);
                    let row_major = matmul(a, b, Layout::RowMajor);
                    let col_major = matmul(a, b, Layout::ColMajor);
                    assert_bias_added_last::<K>(a, b, threads, (&direct, &row_major, &col_major));
                    for i in 0..m {
                        for j in 0..n {
                            let w = want[i * n + j];
                            for (what, got) in [
                                ("direct", direct[i * n + j]),
                                ("row-major", row_major[i * n + j]),
                                ("col-major", col_major[j * m + i]),
                            ] {
                                assert!(
                                    (got as f64 - w).abs() <= tol,
                                    "{m}x{k}x{n} storage {storage:?} threads {threads} {what} \
                                     ({i},{j}): {got} vs {w}"
                                );
                            }
                        }
                    }
                }
            }
        }
        crate::threads::set_num_threads(before);
    }

    /// `matmul_bias` (and kernel `K` with a bias along the columns, or along the rows of the
    /// transposed product) gives bit for bit the product without it plus the bias.
    #[cfg(target_arch = "x86_64")]
    fn assert_bias_added_last<K: blocked::Microkernel>(
        a: StridedMatrix<'_, f32>,
        b: StridedMatrix<'_, f32>,
        threads: usize,
        (direct, row_major, col_major): (&[f32], &[f32], &[f32]),
    ) {
        let (m, n) = (a.rows, b.cols);
        let bias: Vec<f32> = (0..n).map(|j| j as f32 * 0.37 - 1.5).collect();
        let direct_t = blocked::matmul::<K>(b.t(), a.t(), None, threads);
        let with_bias = [
            blocked::matmul::<K>(a, b, Some(blocked::Bias::PerColumn(&bias)), threads),
            blocked::matmul::<K>(b.t(), a.t(), Some(blocked::Bias::PerRow(&bias)), threads),
            matmul_bias(a, b, &bias, Layout::RowMajor),
            matmul_bias(a, b, &bias, Layout::ColMajor),
        ];
        let without = [direct, &direct_t, row_major, col_major];
        for (what, (got, plain)) in ["direct", "direct transposed", "row-major", "col-major"]
            .iter()
            .zip(with_bias.iter().zip(without))
        {
            let column_major = what.contains("transposed") || what.starts_with("col");
            for (index, (&got, &plain)) in got.iter().zip(plain).enumerate() {
                let j = if column_major { index / m } else { index % n };
                assert_eq!(
                    got.to_bits(),
                    (plain + bias[j]).to_bits(),
                    "{m}x{}x{n} threads {threads} {what} with bias, element {index}",
                    a.cols
                );
            }
        }
    }

    /// The microkernels as compiled keep their tiles in registers: in `tile` and `tiles` of
    /// either kernel no FMA's result is stored to the stack right after it (read off this test
    /// binary's disassembly; stores after other instructions, such as a tile's operands copied
    /// for a call, are allowed). Such stores halve a kernel's speed, and a machine without
    /// AVX-512 never times that kernel; this catches them on any x86-64 Linux machine, whatever
    /// its instruction set.
    /// Skipped in debug builds (nothing is kept in registers there) and without `objdump`.
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    #[test]
    fn microkernels_keep_their_tiles_in_registers() {
        if cfg!(debug_assertions) {
            eprintln!("skipped: a debug build keeps nothing in registers");
            return;
        }
        let exe = std::env::current_exe().expect("the test binary's path");
        let output = match std::process::Command::new("objdump")
            .args(["-d", "-C", "--no-show-raw-insn"])
            .arg(&exe)
            .output()
        {
            Ok(output) if output.status.success() => output,
            other => {
                eprintln!("skipped: objdump could not disassemble {exe:?}: {other:?}");
                return;
            }
        };
        let text = String::from_utf8_lossy(&output.stdout);
        let mut found = Vec::new();
        let mut current: Option<&str> = None;
        let (mut spills, mut after_fma) = (0, false);
        let mut check = |name: Option<&str>, spills: usize| {
            if let Some(name) = name {
                assert_eq!(
                    spills, 0,
                    "{name}: {spills} FMA results stored to the stack"
                );
                found.push(name.to_string());
            }
        };
        for line in text.lines() {
            if line.ends_with(">:") {
                check(current.take(), spills);
                spills = 0;
                current = ["avx512::Avx512", "avx2::Avx2"]
                    .iter()
                    .any(|k| {
                        let name =
                            format!("<<duograd_cpu::gemm::{k} as duograd_cpu::gemm::blocked::");
                        line.contains(&(name + "Microkernel>::tile"))
                    })
                    .then_some(line);
                after_fma = false;
            } else if current.is_some() {
                let stack_store = line.contains("vmov")
                    && (line.contains("%ymm") || line.contains("%zmm"))
                    && line.trim_end().ends_with("(%rsp)");
                if stack_store {
                    spills += usize::from(after_fma);
                } else {
                    after_fma = line.contains("vfmadd");
                }
            }
        }
        check(current, spills);
        assert_eq!(
            found.len(),
            4,
            "expected tile and tiles of both kernels, found {found:?}"
        );
    }

    /// The batch-1 products of a linear layer in `f32` on both backends' layouts (rows or
    /// columns of dot products, `Route::Narrow` and `Route::NarrowTransposed`), with and without a bias, against `f64`.
    #[test]
    fn batch_one_f32_products_match_f64() {
        let (k, n) = (784, 64);
        let x: Vec<f32> = (0..k)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0)
            .collect();
        let w: Vec<f32> = (0..k * n)
            .map(|i| ((i * 53 % 97) as f32 - 48.0) / 48.0)
            .collect();
        let bias: Vec<f32> = (0..n).map(|j| j as f32 * 0.25 - 3.0).collect();
        let to64 = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
        let (x64, w64) = (to64(&x), to64(&w));
        // `x · Wᵀ` with `W` (n×k) row-major (ndarray) and column-major (nalgebra); `g · W`
        // with `g` 1×n and `W` column-major.
        let cases = [
            (
                StridedMatrix::row_major(&x, 1, k),
                StridedMatrix::row_major(&w, n, k).t(),
                StridedMatrix::row_major(&x64, 1, k),
                StridedMatrix::row_major(&w64, n, k).t(),
            ),
            (
                StridedMatrix::col_major(&x, 1, k),
                StridedMatrix::col_major(&w, n, k).t(),
                StridedMatrix::col_major(&x64, 1, k),
                StridedMatrix::col_major(&w64, n, k).t(),
            ),
        ];
        for (case, (a, b, a64, b64)) in cases.into_iter().enumerate() {
            let want = naive(a64, b64);
            for layout in [Layout::RowMajor, Layout::ColMajor] {
                let plain = matmul(a, b, layout);
                let biased = matmul_bias(a, b, &bias, layout);
                for j in 0..n {
                    let tol = 2.0 * k as f64 * f32::EPSILON as f64 * 10.0;
                    assert!(
                        (plain[j] as f64 - want[j]).abs() <= tol,
                        "case {case} {layout:?} column {j}: {} vs {}",
                        plain[j],
                        want[j]
                    );
                    assert_eq!(
                        biased[j],
                        plain[j] + bias[j],
                        "case {case} {layout:?} column {j}"
                    );
                }
            }
        }
        let (g, g64) = (&x[..n], &x64[..n]);
        let wc = StridedMatrix::col_major(&w, n, k);
        let want = naive(
            StridedMatrix::row_major(g64, 1, n),
            StridedMatrix::col_major(&w64, n, k),
        );
        for layout in [Layout::RowMajor, Layout::ColMajor] {
            let got = matmul(StridedMatrix::col_major(g, 1, n), wc, layout);
            for p in 0..k {
                assert!(
                    (got[p] as f64 - want[p]).abs() <= 2.0 * n as f64 * f32::EPSILON as f64 * 10.0,
                    "g·W {layout:?} column {p}: {} vs {}",
                    got[p],
                    want[p]
                );
            }
        }
    }

    #[test]
    fn matmul_bias_in_f64_and_empty_products() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // 2×3
        let b = [1.0, 0.0, -1.0, 2.0, 0.5, 0.5]; // 3×2
        let (a, b) = (
            StridedMatrix::row_major(&a, 2, 3),
            StridedMatrix::row_major(&b, 3, 2),
        );
        let bias = [10.0, 20.0];
        let plain = matmul(a, b, Layout::RowMajor);
        let want: Vec<f64> = plain
            .iter()
            .enumerate()
            .map(|(i, v)| v + bias[i % 2])
            .collect();
        assert_eq!(matmul_bias(a, b, &bias, Layout::RowMajor), want);
        // An empty inner dimension leaves only the bias.
        let empty: [f64; 0] = [];
        let (a0, b0) = (
            StridedMatrix::row_major(&empty, 2, 0),
            StridedMatrix::row_major(&empty, 0, 2),
        );
        assert_eq!(
            matmul_bias(a0, b0, &bias, Layout::RowMajor),
            [10.0, 20.0, 10.0, 20.0]
        );
        assert_eq!(
            matmul_bias(a0, b0, &bias, Layout::ColMajor),
            [10.0, 10.0, 20.0, 20.0]
        );
    }

    #[test]
    #[should_panic(expected = "matmul_bias: 3 bias values for a 2x2 product")]
    fn a_bias_of_the_wrong_length_is_refused() {
        let d = [0.0f64; 4];
        let a = StridedMatrix::row_major(&d, 2, 2);
        let _ = matmul_bias(a, a, &[1.0, 2.0, 3.0], Layout::RowMajor);
    }

    #[test]
    #[should_panic(expected = "inner sizes differ (2x3 times 2x2)")]
    fn inner_size_mismatch_names_both_shapes() {
        let d = [0.0f64; 6];
        let _ = matmul(
            StridedMatrix::row_major(&d, 2, 3),
            StridedMatrix::row_major(&d, 2, 2),
            Layout::RowMajor,
        );
    }

    #[test]
    #[should_panic(expected = "reaches element 6 of a slice of 6")]
    fn a_view_beyond_its_slice_is_refused() {
        let d = [0.0f64; 6];
        let _ = StridedMatrix::new(&d, 2, 3, 4, 1);
    }
}
