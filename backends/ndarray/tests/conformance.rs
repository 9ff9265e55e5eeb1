//! The conformance suite of duograd-backend, on this backend in both element types.

use duograd_ndarray::NdArray;

duograd_backend::conformance_tests!(f32, NdArray<f32>);
duograd_backend::conformance_tests!(f64, NdArray<f64>);
