//! # duograd
//!
//! Reverse-mode automatic differentiation that runs the same model code on more than one array
//! backend.
//!
//! - [`Backend`]: array storage and primitive kernels; [`backends`] re-exports the two
//!   implementations, [`backends::NdArray`] and [`backends::Nalgebra`] (cargo features `ndarray`
//!   and `nalgebra`, both on by default).
//! - [`Tensor`]: an N-d array that records the ops applied to it; [`Tensor::backward`] walks the
//!   graph in reverse topological order and accumulates gradients into leaves, as in PyTorch.
//! - [`autograd`]: the backward registry (every op's backward, user ops included), grad mode
//!   (`no_grad`), higher-order gradients and graph inspection.
//! - [`gradcheck()`]: finite-difference checking of any function's gradients.
//!
//! ```
//! use duograd::backends::{Nalgebra, NdArray};
//! use duograd::{Backend, Tensor};
//!
//! // Model code is written once, generic over the backend...
//! fn loss<B: Backend>(w: &Tensor<B>, x: &Tensor<B>) -> Tensor<B> {
//!     x.matmul(w).tanh().square().mean()
//! }
//!
//! // ...and runs on either.
//! fn grad_of<B: Backend>() -> Vec<f64> {
//!     let w = Tensor::<B>::from_f64(&[0.1, -0.2, 0.3, 0.4], &[2, 2]).requires_grad_(true);
//!     let x = Tensor::<B>::from_f64(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
//!     loss(&w, &x).backward().unwrap();
//!     w.grad().unwrap().to_vec_f64()
//! }
//! let (a, b) = (grad_of::<NdArray<f64>>(), grad_of::<Nalgebra<f64>>());
//! for (x, y) in a.iter().zip(&b) {
//!     assert!((x - y).abs() < 1e-12);
//! }
//! ```
#![warn(missing_docs)]

// `#[derive(Module)]` names the crate `::duograd`, inside it as well as outside.
extern crate self as duograd;

pub mod autograd;
pub mod backends;
mod check;
pub mod data;
pub mod error;
pub mod gradcheck;
pub mod nn;
mod ops;
pub mod optim;
pub mod tensor;
pub mod train;

pub use duograd_backend::{backend, composed, element, fused, shape, window};

pub use autograd::{no_grad, Attrs};
pub use duograd_backend::{
    AdamStep, Backend, BinaryOp, CrossEntropyForward, Element, Layout, MomentumStep, ReduceOp,
    Reduction, UnaryOp,
};
pub use error::AutogradError;
pub use gradcheck::{gradcheck, gradgradcheck, GradcheckError, GradcheckOptions};
pub use ops::conv::Conv2dOptions;
pub use ops::loss::binary::BceOptions;
pub use ops::loss::cross_entropy::{CrossEntropyOptions, NllLossOptions};
pub use ops::loss::regression::KlDivReduction;
pub use ops::pool::Pool2dOptions;
pub use tensor::Tensor;

/// The README's Rust examples, compiled and run by `cargo test --doc` (its `toml`, `sh` and
/// `text` blocks are not Rust and are skipped).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
