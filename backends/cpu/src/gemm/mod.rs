//! The matrix product both backends call, reading each operand in place through its strides.
//!
//! Four kernels, chosen by element type and shape (measured on the MLP shapes duograd trains;
//! see BENCHMARKS.md):
//! - products with a side of 1 (a batch of one sample: a row times a matrix, an outer product,
//!   a matrix times a column) whose loop can run along contiguous memory, in any type and on
//!   any thread count, take one vectorized pass (`thin.rs`): a batch-1 SGD step of a 784-64-10
//!   MLP 45 → 35 µs against the `gemm` crate below; in `f32`, with AVX2 and FMA, those that
//!   are a row or a column of dot products (`thin_dot_products`) go to `narrow.rs` instead;
//! - `f32` products whose every side is at least [`PACKED_MIN_SIDE`] (or thin ones with enough
//!   work, see `thin_but_long`), on any number of threads, when the CPU has AVX2 and FMA, go to
//!   duograd's own kernel (`blocked.rs`): BLIS-style blocking around a 12×32 AVX-512
//!   microkernel (`avx512.rs`, 24 `zmm` accumulators) or, on CPUs without AVX-512, with
//!   [`NO_AVX512_ENV_VAR`] set, or for products narrower than 32 columns, a 6×16 AVX2 one
//!   (`avx2.rs`, 12 `ymm` accumulators), on duograd's worker pool ([`crate::threads`]) where
//!   the calling thread works too and idle workers poll briefly before sleeping. On the
//!   784-64-64-10 MLP at batch 512 the AVX2 kernel took 11–19% off the training time of
//!   `matrixmultiply` (on a 2-vCPU Zen 3; its products ran 1.1–1.7× as fast), and the AVX-512
//!   one runs that MLP's large products 1.3–1.5× as fast again on a 2-vCPU Xeon. On one thread
//!   it runs them about twice as fast as `gemm` (512×784·784×64: 634 → 338 µs). Of those, the
//!   ones fewer than 16 columns wide with `a` row-major and `b` column-major (a classifier's
//!   `x · Wᵀ`) are dot products along `k` instead (`narrow.rs`), with no padded columns;
//! - the same products in `f64`, or on other CPUs, go to [`matrixmultiply`] with its threading:
//!   its pool also runs one half of the work on the calling thread, which in a training loop
//!   (short products between other kernels) beat `gemm`'s rayon pool by 12–15% end to end;
//! - everything else (thin or small products, and `f64` ones when
//!   [`crate::threads::num_threads`] is 1) goes to the [`gemm`](https://docs.rs/gemm) crate,
//!   which skips packing for thin operands.
//!
//! ndarray's and nalgebra's own products both go to `matrixmultiply` with none of this
//! dispatch (nalgebra only above 5×5, and through a copying `gemv` below), so sharing the
//! kernel is also what makes the two backends equally fast. A transposed operand is the same
//! buffer with its strides swapped ([`StridedMatrix::t`]): no transpose is ever copied.
//!
//! Threads: `DUOGRAD_THREADS=1` (or [`crate::threads::set_num_threads`]`(1)`) keeps every
//! product on the calling thread. Above 1, duograd's kernel uses `num_threads` threads, at most
//! one per CPU (the caller and workers started on first use), `matrixmultiply` its own pool,
//! sized once by that crate (physical cores, at most 4, or its `MATMUL_NUM_THREADS` variable),
//! and `gemm` up to `num_threads` rayon threads.

use duograd_backend::Element;

/// How a product's output is laid out.
pub use duograd_backend::Layout;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(target_arch = "x86_64")]
mod blocked;
#[cfg(target_arch = "x86_64")]
mod narrow;
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

/// The smallest side (`m`, `n` and `k`) for which a product goes to a packed kernel (duograd's
/// for `f32`, on any thread count; else `matrixmultiply`'s, threaded) rather than `gemm`.
pub const PACKED_MIN_SIDE: usize = 32;

/// Whether an `m×k · k×n` product with one thin side still has enough work for duograd's
/// `f32` kernel:
/// - a classifier's 10 outputs, say: at least 8 rows and columns, `k` at least
///   [`PACKED_MIN_SIDE`] and 2¹⁸ multiply-adds. Measured on 2 threads: 512×64·64×10 and
///   10×512·512×64 (the `arena` MLP's last layer) 18 → 10 µs and 13 → 10 µs against `gemm`;
///   less work (64×64·64×10: 3.4 → 3.7 µs) is not faster;
/// - or the gradient flowing back through such a layer: `k` from 8, an output of at least
///   32×32 and 2¹⁴ values. On a 2-vCPU Xeon 512×10·10×64 went 20.5 → 6.6 µs and
///   128×10·10×256 20.9 → 14.6 µs (`gemm` with rayon wakes its threads for them).
#[cfg(target_arch = "x86_64")]
fn thin_but_long(m: usize, k: usize, n: usize) -> bool {
    (m.min(n) >= 8 && k >= PACKED_MIN_SIDE && m * n * k >= 1 << 18)
        || (k >= 8 && m.min(n) >= PACKED_MIN_SIDE && m * n >= 1 << 14)
}

/// `a · b` as a fresh `a.rows() × b.cols()` buffer in `layout`.
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
/// as a fresh `a.rows() × b.cols()` buffer in `layout`. duograd's own `f32` kernel adds the
/// bias as it stores each finished tile, so the output is written once; the other kernels add
/// it in a second pass. Either way each element is `(a·b)[i, j] + bias[j]`, rounded as
/// [`matmul`] followed by the addition would round it.
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
    assert_eq!(
        bias.len(),
        b.cols,
        "matmul_bias: {} bias values for a {}x{} product",
        bias.len(),
        a.rows,
        b.cols
    );
    product(a, b, Some(bias), layout)
}

/// [`matmul`], plus `bias` along the columns where given (its length checked by the caller).
fn product<E: Element>(
    a: StridedMatrix<'_, E>,
    b: StridedMatrix<'_, E>,
    bias: Option<&[E]>,
    layout: Layout,
) -> Vec<E> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(
        k, b.rows,
        "matmul: inner sizes differ ({m}x{k} times {}x{n})",
        b.rows
    );
    if m == 0 || n == 0 || k == 0 {
        // An empty sum is 0.
        return with_bias(vec![E::zero(); m * n], bias, m, layout);
    }
    if m.min(n).min(k) == 1 {
        #[cfg(target_arch = "x86_64")]
        if thin_dot_products(a, b, layout) {
            if let Some(product) = own_f32(a, b, bias, layout, 1) {
                return product;
            }
        }
        if let Some(product) = thin::matmul(a, b, layout) {
            return with_bias(product, bias, m, layout);
        }
    }
    let threads = crate::threads::num_threads();
    let packed = m.min(n).min(k) >= PACKED_MIN_SIDE;
    #[cfg(target_arch = "x86_64")]
    if packed || thin_but_long(m, k, n) {
        if let Some(product) = own_f32(a, b, bias, layout, threads) {
            return product;
        }
    }
    // Zeroed although `gemm` overwrites it (`read_dst = false`): its edge tiles still copy the
    // destination out before ignoring it, and reading uninitialized floats is undefined.
    let mut out = crate::buffers::take_zeroed(m * n);
    let (out_row_stride, out_col_stride) = match layout {
        Layout::RowMajor => (n as isize, 1),
        Layout::ColMajor => (1, m as isize),
    };
    if packed && threads > 1 && packed_threaded(a, b, &mut out, (out_row_stride, out_col_stride)) {
        return with_bias(out, bias, m, layout);
    }
    let parallelism = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: `StridedMatrix::new` checked that every element of `a` and `b` lies inside its
    // slice, and `out` holds exactly the `m * n` elements the strides above address. `gemm`
    // only reads `a` and `b` and only writes `out`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            out_col_stride,
            out_row_stride,
            false,
            a.data.as_ptr(),
            a.col_stride as isize,
            a.row_stride as isize,
            b.data.as_ptr(),
            b.col_stride as isize,
            b.row_stride as isize,
            E::zero(),
            E::one(),
            false,
            false,
            false,
            parallelism,
        );
    }
    with_bias(out, bias, m, layout)
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

/// Which of duograd's own `f32` kernels a product runs on.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug, PartialEq)]
enum OwnKernel {
    Avx512,
    Avx2,
}

/// The environment variable that, set to anything but `0`, keeps products off the AVX-512
/// kernel (to compare the kernels, or to reproduce an AVX2 machine's results bit for bit).
pub const NO_AVX512_ENV_VAR: &str = "DUOGRAD_NO_AVX512";

/// The kernel this CPU runs, decided once: AVX-512 where the CPU has it (and AVX2 with FMA, and
/// [`NO_AVX512_ENV_VAR`] is not set), else AVX2 with FMA; `None` without those.
#[cfg(target_arch = "x86_64")]
fn own_kernel() -> Option<OwnKernel> {
    use blocked::Microkernel;
    static KERNEL: std::sync::OnceLock<Option<OwnKernel>> = std::sync::OnceLock::new();
    *KERNEL.get_or_init(|| {
        let no_avx512 = std::env::var_os(NO_AVX512_ENV_VAR).is_some_and(|v| v != "0");
        let avx2 = avx2::Avx2::available();
        if avx512::Avx512::available() && avx2 && !no_avx512 {
            Some(OwnKernel::Avx512)
        } else {
            avx2.then_some(OwnKernel::Avx2)
        }
    })
}

/// Whether the thin product `a · b` laid out as `layout` is a row or a column of dot products
/// along contiguous memory, at least 8 long, which [`narrow`]'s kernel computes 8 at a time
/// with FMAs into 8-lane sums (a row as the column `bᵀ · aᵀ`). `thin`'s generic dot products,
/// which sum each one's 32 lanes one at a time, took 4.1 µs for ndarray's batch-1
/// `x · Wᵀ` (1×784 · 784×64, `W`'s rows contiguous) and 10.6 µs for nalgebra's `g · W`
/// (1×64 · 64×784) on a Zen 4.
#[cfg(target_arch = "x86_64")]
fn thin_dot_products<E: Copy>(
    a: StridedMatrix<'_, E>,
    b: StridedMatrix<'_, E>,
    layout: Layout,
) -> bool {
    let (a, b) = as_row_major(a, b, layout);
    a.cols >= 8 && (narrow::applies(a, b) || narrow::applies_transposed(a, b))
}

/// The operands of the row-major product that is `a · b` laid out as `layout`: a column-major
/// `a·b` is the row-major `bᵀ·aᵀ`.
fn as_row_major<'a, E: Copy>(
    a: StridedMatrix<'a, E>,
    b: StridedMatrix<'a, E>,
    layout: Layout,
) -> (StridedMatrix<'a, E>, StridedMatrix<'a, E>) {
    match layout {
        Layout::RowMajor => (a, b),
        Layout::ColMajor => (b.t(), a.t()),
    }
}

/// `a · b` through duograd's own kernel ([`own_kernel`]), laid out as `layout`; `None` if `E`
/// is not `f32` or the CPU lacks AVX2 or FMA.
#[cfg(target_arch = "x86_64")]
fn own_f32<E: Element>(
    a: StridedMatrix<'_, E>,
    b: StridedMatrix<'_, E>,
    bias: Option<&[E]>,
    layout: Layout,
    threads: usize,
) -> Option<Vec<E>> {
    if std::any::TypeId::of::<E>() != std::any::TypeId::of::<f32>() {
        return None;
    }
    let kernel = own_kernel()?;
    // SAFETY: `E` is `f32` (checked just above), so these are the same slices retyped.
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
    use blocked::Microkernel;
    let product = match kernel {
        _ if narrow::applies(a, b) => narrow::matmul(a, b, bias, threads),
        _ if narrow::applies_transposed(a, b) => {
            narrow::matmul(b.t(), a.t(), bias.map(blocked::Bias::transposed), threads)
        }
        // Fewer columns than one 32-wide tile would be mostly padding there (10 of 32 for a
        // classifier's outputs): the AVX2 kernel's 16-wide tiles waste less.
        OwnKernel::Avx512 if b.cols < avx512::Avx512::NR => {
            blocked::matmul::<avx2::Avx2>(a, b, bias, threads)
        }
        OwnKernel::Avx512 => blocked::matmul::<avx512::Avx512>(a, b, bias, threads),
        OwnKernel::Avx2 => blocked::matmul::<avx2::Avx2>(a, b, bias, threads),
    };
    // SAFETY: `E` is `f32`, so this is the same allocation, length and capacity retyped.
    let mut product = std::mem::ManuallyDrop::new(product);
    // SAFETY: as above.
    Some(unsafe {
        Vec::from_raw_parts(
            product.as_mut_ptr().cast::<E>(),
            product.len(),
            product.capacity(),
        )
    })
}

/// `out = a · b` through `matrixmultiply` (`out` has strides `out_strides`); `false` and nothing
/// written for an element type it does not handle.
fn packed_threaded<E: Element>(
    a: StridedMatrix<'_, E>,
    b: StridedMatrix<'_, E>,
    out: &mut [E],
    (out_row_stride, out_col_stride): (isize, isize),
) -> bool {
    use std::any::TypeId;
    let (m, k, n) = (a.rows, a.cols, b.cols);
    let (rsa, csa) = (a.row_stride as isize, a.col_stride as isize);
    let (rsb, csb) = (b.row_stride as isize, b.col_stride as isize);
    // The same call for both types; only the function differs.
    macro_rules! product {
        ($gemm:path) => {
            $gemm(
                m,
                k,
                n,
                1.0,
                a.data.as_ptr().cast(),
                rsa,
                csa,
                b.data.as_ptr().cast(),
                rsb,
                csb,
                0.0,
                out.as_mut_ptr().cast(),
                out_row_stride,
                out_col_stride,
            )
        };
    }
    // SAFETY: as in `matmul`: every element the strides address lies inside its slice, `out`
    // holds the m·n outputs, and the casts are to the type `E` was just checked to be.
    unsafe {
        if TypeId::of::<E>() == TypeId::of::<f32>() {
            product!(matrixmultiply::sgemm);
        } else if TypeId::of::<E>() == TypeId::of::<f64>() {
            product!(matrixmultiply::dgemm);
        } else {
            return false;
        }
    }
    true
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
                // Thin but long: to duograd's kernel (`thin_but_long`).
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
    /// for a call, are allowed). In the fourteenth session LLVM stored every AVX-512 FMA's result
    /// to the stack, which halved that kernel's speed and went unseen on the AVX2-only machines
    /// timed then; this catches it on any x86-64 Linux machine, whatever its instruction set.
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
    /// columns of dot products, `thin_dot_products`), with and without a bias, against `f64`.
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
