//! # duograd-backend
//!
//! The contract between duograd's autograd and the arrays it runs on: the [`Backend`] trait,
//! the [`Element`] types it stores, the op enums its methods take ([`UnaryOp`], [`BinaryOp`],
//! [`ReduceOp`], [`Reduction`]), shape arithmetic ([`shape`]) and the two matrix layouts
//! ([`Layout`]).
//!
//! Every backend depends on this crate and nothing else of duograd's. Users depend on
//! `duograd`, which re-exports all of it. With the `conformance` feature the crate also exports
//! `conformance`: one generic suite of tests that any `B: Backend` runs through
//! `conformance_tests!`, so a new backend (a third party's too) is checked against the same
//! definitions as the built-in ones.
#![warn(missing_docs)]

pub mod backend;
pub mod composed;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod element;
pub mod fused;
pub mod ops;
pub mod shape;
pub mod window;

pub use backend::Backend;
pub use element::Element;
pub use fused::{AdamStep, CrossEntropyForward, MomentumStep};
pub use ops::{BinaryOp, ReduceOp, Reduction, UnaryOp};
pub use shape::Layout;
