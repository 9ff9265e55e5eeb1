//! The conformance suite of duograd-backend, on this backend in both element types.

#[allow(unused_imports)]
use duograd_cpu::{BinaryKernel, ReduceKernel, UnaryKernel};
use duograd_nalgebra::Nalgebra;

duograd_backend::conformance_tests!(f32, Nalgebra<f32>);
duograd_backend::conformance_tests!(f64, Nalgebra<f64>);
