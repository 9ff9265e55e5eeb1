//! Shared test helpers: the per-backend test macro, fixture loading, comparisons.
#![allow(dead_code)]

pub mod cases;
pub mod http;

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;

use duograd::{Backend, Tensor};
use serde::Deserialize;

/// Expands each named generic test `fn name<B: Backend>()` into one `#[test]` per backend:
/// `backend_tests!(a, b)` for f64 on both backends, `backend_tests!(f32: a, b)` for f32, and
/// `backend_tests!(f32 and f64: a, b)` for all four.
#[macro_export]
macro_rules! backend_tests {
    (f32 and f64: $($test:ident),* $(,)?) => {
        $crate::backend_tests!($($test),*);
        $crate::backend_tests!(f32: $($test),*);
    };
    (f32: $($test:ident),* $(,)?) => {
        $crate::backend_tests!(@mod ndarray_f32, duograd::backends::NdArray<f32>; $($test),*);
        $crate::backend_tests!(@mod nalgebra_f32, duograd::backends::Nalgebra<f32>; $($test),*);
    };
    (@mod $module:ident, $backend:ty; $($test:ident),*) => {
        mod $module {
            $( #[test] fn $test() { super::$test::<$backend>() } )*
        }
    };
    ($($test:ident),* $(,)?) => {
        $crate::backend_tests!(@mod ndarray_f64, duograd::backends::NdArray<f64>; $($test),*);
        $crate::backend_tests!(@mod nalgebra_f64, duograd::backends::Nalgebra<f64>; $($test),*);
    };
}

/// A tensor as the fixtures store it.
#[derive(Clone, Debug, Deserialize)]
pub struct TensorData {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

impl TensorData {
    pub fn to_tensor<B: Backend>(&self) -> Tensor<B> {
        Tensor::from_f64(&self.data, &self.shape)
    }
}

/// Path of a committed fixture.
pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Reads and parses a JSON fixture.
pub fn load_fixture<T: for<'de> Deserialize<'de>>(name: &str) -> T {
    let path = fixture_path(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// Asserts `|a - b| <= atol + rtol |b|` elementwise, naming `what` and the first bad index.
#[track_caller]
pub fn assert_close(what: &str, got: &[f64], want: &[f64], atol: f64, rtol: f64) {
    assert_eq!(
        got.len(),
        want.len(),
        "{what}: lengths differ ({} vs {})",
        got.len(),
        want.len()
    );
    for (i, (&a, &b)) in got.iter().zip(want).enumerate() {
        let ok = (a - b).abs() <= atol + rtol * b.abs() || (a.is_nan() && b.is_nan());
        assert!(
            ok,
            "{what}[{i}]: got {a}, want {b} (diff {:e})",
            (a - b).abs()
        );
    }
}

/// Names of the ops recorded in the graph below `t` (iteratively, each node once).
pub fn ops_in_graph<B: Backend>(t: &Tensor<B>) -> BTreeSet<&'static str> {
    let mut ops = BTreeSet::new();
    let mut seen = HashSet::new();
    let mut stack = vec![t.clone()];
    while let Some(t) = stack.pop() {
        if !seen.insert(t.id()) {
            continue;
        }
        if let Some(f) = t.grad_fn() {
            ops.insert(f.name());
            stack.extend(f.inputs().iter().cloned());
        }
    }
    ops
}
