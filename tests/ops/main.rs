//! Every op proven three ways — finite differences, the other backend, PyTorch — plus the test
//! that no registered op escapes the three.

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

mod bad_input;
mod completeness;
mod corner_cases;
mod cross_backend;
mod gradcheck;
mod properties;
mod second_order;
mod torch_parity;
