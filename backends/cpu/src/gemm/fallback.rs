//! [`Route::Fallback`](super::Route::Fallback) and
//! [`Route::FallbackBands`](super::Route::FallbackBands): `matrixmultiply`'s `sgemm`/`dgemm`,
//! built without its own threading, so that the only threads a product runs on are those of
//! duograd's pool ([`crate::threads`]).

use duograd_backend::Element;

use super::{ElemKind, Layout, StridedMatrix};
use crate::threads::pool;

/// Bands are a multiple of this many rows or columns: a multiple of `matrixmultiply`'s tile
/// sides on every CPU, so that only the last band has partial tiles.
const BAND_ALIGN: usize = 8;

/// The output's first element, shared by the bands; each writes only its own rows or columns.
#[derive(Clone, Copy)]
struct Out<E>(*mut E);

// SAFETY: the bands written through it are disjoint (see `matmul`).
unsafe impl<E: Send> Send for Out<E> {}
// SAFETY: as for `Send`: the threads that share it write disjoint bands.
unsafe impl<E: Send> Sync for Out<E> {}

impl<E> Out<E> {
    /// The output's element `offset`, as a byte pointer (a method, so that a closure captures
    /// the whole `Out`, not its raw pointer).
    ///
    /// # Safety
    /// `offset` must lie inside the output.
    unsafe fn at(self, offset: usize) -> *mut u8 {
        // SAFETY: the caller keeps `offset` inside the output's allocation.
        unsafe { self.0.add(offset).cast() }
    }
}

/// `a · b` (`m`, `k` and `n` above 0) as a fresh buffer laid out as `layout`, in up to `bands`
/// bands of rows (or of columns, if the output is wider than tall) on up to that many threads
/// of duograd's pool; one band is one call on the calling thread.
///
/// # Panics
/// If `E` is neither `f32` nor `f64`.
pub(super) fn matmul<E: Element>(
    a: StridedMatrix<'_, E>,
    b: StridedMatrix<'_, E>,
    layout: Layout,
    bands: usize,
) -> Vec<E> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    debug_assert!(m > 0 && k > 0 && n > 0 && k == b.rows);
    let elem = ElemKind::of::<E>().unwrap_or_else(|| {
        panic!(
            "duograd_cpu::gemm: no matrix product for {} (f32 and f64 only)",
            E::NAME
        )
    });
    let (rsc, csc) = match layout {
        Layout::RowMajor => (n, 1),
        Layout::ColMajor => (1, m),
    };
    let by_rows = m >= n;
    let len = if by_rows { m } else { n };
    let threads = pool::usable(bands.max(1));
    let band = len.div_ceil(threads).next_multiple_of(BAND_ALIGN);
    let parts = len.div_ceil(band);
    // Not zeroed: with β = 0 `matrixmultiply` writes every element without reading it.
    let mut product = crate::buffers::take::<E>(m * n);
    let out = Out(product.as_mut_ptr());
    pool::run(parts, threads, &|part| {
        let range = part * band..((part + 1) * band).min(len);
        let (rows, cols, (a_at, b_at, c_at)) = if by_rows {
            let at = range.start;
            (range.len(), n, (at * a.row_stride, 0, at * rsc))
        } else {
            let at = range.start;
            (m, range.len(), (0, at * b.col_stride, at * csc))
        };
        // SAFETY: `StridedMatrix::new` checked that every element of `a` and `b` lies inside
        // its slice, so do those of these bands (`a_at` and `b_at` are the offsets of their
        // first elements). `product` has room for the m·n outputs the strides (rsc, csc)
        // address; this band writes rows (or columns) `range` of them only, disjoint from every
        // other band's. The casts are to the type `elem` says `E` is.
        unsafe {
            product_into(
                elem,
                (rows, k, cols),
                (a.data.as_ptr().add(a_at).cast(), a.row_stride, a.col_stride),
                (b.data.as_ptr().add(b_at).cast(), b.row_stride, b.col_stride),
                (out.at(c_at), rsc, csc),
            )
        }
    });
    // SAFETY: the bands cover all m·n outputs, and `matrixmultiply` wrote each (β = 0).
    unsafe { product.set_len(m * n) };
    product
}

/// `c = a · b` for the `m×k · k×n` product of `elem`s at `a`, `b` and `c` with the strides
/// given after each (`c`'s need not be initialized).
///
/// # Safety
/// The pointers must address elements of type `elem`; every element the shapes and strides
/// address must be readable (`a`, `b`) or writable (`c`, by no one else meanwhile).
unsafe fn product_into(
    elem: ElemKind,
    (m, k, n): (usize, usize, usize),
    (a, rsa, csa): (*const u8, usize, usize),
    (b, rsb, csb): (*const u8, usize, usize),
    (c, rsc, csc): (*mut u8, usize, usize),
) {
    debug_assert!(m > 0 && k > 0 && n > 0, "product_into: an empty product");
    debug_assert!(!a.is_null() && !b.is_null() && !c.is_null());
    let (rsa, csa, rsb, csb) = (rsa as isize, csa as isize, rsb as isize, csb as isize);
    let (rsc, csc) = (rsc as isize, csc as isize);
    // The same call for both types; only the function differs.
    macro_rules! product {
        ($gemm:path) => {
            // SAFETY: the caller guarantees the pointers address `elem`s, readable (`a`, `b`)
            // or writable by this call alone (`c`) wherever the shapes and strides reach; with
            // β = 0 `matrixmultiply` writes every element of `c` without reading it.
            unsafe {
                $gemm(
                    m,
                    k,
                    n,
                    1.0,
                    a.cast(),
                    rsa,
                    csa,
                    b.cast(),
                    rsb,
                    csb,
                    0.0,
                    c.cast(),
                    rsc,
                    csc,
                )
            }
        };
    }
    match elem {
        ElemKind::F32 => product!(matrixmultiply::sgemm),
        ElemKind::F64 => product!(matrixmultiply::dgemm),
    }
}
