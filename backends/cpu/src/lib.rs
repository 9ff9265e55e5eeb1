//! # duograd-cpu
//!
//! The CPU kernels duograd's CPU backends share: matrix products ([`gemm`], duograd's own
//! AVX-512/AVX2 kernels with one fallback), the SIMD loops of the elementwise and reduction
//! kernels ([`kernel`]), vectorizable `exp`, `ln` and `tanh`, argmax, the fused cross-entropy
//! and optimizer loops ([`loss`], [`optim`]), convolution ([`conv`]), the patch matrix and max
//! pooling ([`window`]), batch normalization's per-channel passes ([`channels`]), the one
//! worker pool of the process
//! ([`threads`]), the per-thread cache of large freed buffers ([`buffers`]) and the data
//! loader's batch gather ([`rows`]).
//!
//! All of duograd's `unsafe` code lives in this crate; each block says why it is sound, and
//! every public function is safe.
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod argmax;
pub mod buffers;
pub mod channels;
pub mod conv;
mod fast_exp;
mod fast_ln;
mod fast_tanh;
pub mod gemm;
pub mod kernel;
pub mod loss;
pub mod optim;
pub mod rows;
mod simd;
pub mod threads;
pub mod window;

pub use kernel::{BinaryKernel, ReduceKernel, UnaryKernel};
