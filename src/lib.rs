//! # duograd
//!
//! Reverse-mode automatic differentiation that runs the same model code on more than one array
//! backend.
#![warn(missing_docs)]

pub mod backend;
pub mod data;
pub mod element;
pub mod kernel;
pub mod shape;

pub use backend::Backend;
pub use element::Element;
pub use kernel::{BinaryOp, ReduceOp, UnaryOp};
