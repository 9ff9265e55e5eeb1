//! Criterion benchmarks comparing the ndarray and nalgebra backends op by op and end to end.
//! Every group holds both backends, so criterion's report compares them side by side.
//!
//! `cargo bench --bench backends` runs everything; `cargo bench --bench backends -- matmul`
//! one family; `cargo bench --bench backends -- --test` runs each once as a smoke test (CI).

use criterion::{criterion_group, criterion_main};

mod autograd;
mod conv;
mod elementwise;
mod index;
mod matmul;
mod reduce;
mod training;

/// Runs `$body` (a generic function taking a backend type) for both backends in one group.
#[macro_export]
macro_rules! for_both_backends {
    ($f:ident ( $($arg:expr),* )) => {
        $f::<duograd::backends::NdArray<f32>>($($arg),*);
        $f::<duograd::backends::Nalgebra<f32>>($($arg),*);
    };
}

criterion_group!(
    benches,
    matmul::bench,
    elementwise::bench,
    reduce::bench,
    index::bench,
    autograd::bench,
    conv::bench,
    training::bench
);
criterion_main!(benches);
