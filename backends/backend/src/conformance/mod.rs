//! The conformance suite: one generic function per behaviour of [`Backend`](crate::Backend),
//! checked against definitions computed independently in `f64`. Any backend runs all of it
//! with [`conformance_tests!`](crate::conformance_tests).
//!
//! ```ignore
//! // tests/conformance.rs of a backend crate, with duograd-backend's `conformance` feature on
//! // in its [dev-dependencies]:
//! duograd_backend::conformance_tests!(my_backend_f32, MyBackend<f32>);
//! duograd_backend::conformance_tests!(my_backend_f64, MyBackend<f64>);
//! ```

mod creation;

pub use creation::*;

/// Expands to a module `$name` with one `#[test]` per function of the suite, run on backend
/// `$backend`.
#[macro_export]
macro_rules! conformance_tests {
    ($name:ident, $backend:ty) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $crate::conformance_tests!(@tests $backend;
                from_vec_to_vec_round_trip,
            );
        }
    };
    (@tests $backend:ty; $($test:ident),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                $crate::conformance::$test::<$backend>();
            }
        )*
    };
}
