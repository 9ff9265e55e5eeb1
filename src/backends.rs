//! The backends duograd ships, each behind a cargo feature that is on by default: a user who
//! wants only one turns the other off (`default-features = false, features = ["ndarray"]`).
//!
//! ```
//! use duograd::backends::{Nalgebra, NdArray};
//! use duograd::{Backend, Tensor};
//!
//! fn sum_of_squares<B: Backend>() -> f64 {
//!     Tensor::<B>::from_f64(&[1.0, 2.0, 3.0], &[3]).square().sum().to_vec_f64()[0]
//! }
//! assert_eq!(sum_of_squares::<NdArray<f32>>(), 14.0);
//! assert_eq!(sum_of_squares::<Nalgebra<f64>>(), 14.0);
//! ```
//!
//! Both run on the CPU kernels of [`cpu`] (matrix products, SIMD loops, the worker pool);
//! [`cpu::threads::set_num_threads`] (or `DUOGRAD_THREADS`) sets how many threads they use.

/// The CPU kernels both backends share, and the worker-thread count ([`cpu::threads`]).
pub use duograd_cpu as cpu;

/// The ndarray backend (row-major `ArcArray` storage); see [`duograd_ndarray`].
#[cfg(feature = "ndarray")]
pub use duograd_ndarray::NdArray;

/// The nalgebra backend (column-major `DMatrix` storage); see [`duograd_nalgebra`].
#[cfg(feature = "nalgebra")]
pub use duograd_nalgebra::Nalgebra;

/// The backend crates themselves, for their storage types and helpers.
#[cfg(feature = "ndarray")]
pub use duograd_ndarray;

#[cfg(feature = "nalgebra")]
pub use duograd_nalgebra;
