//! The conformance suite: one generic function per behaviour of [`Backend`](crate::Backend),
//! checked against definitions computed independently in `f64`. Any backend runs all of it
//! with [`conformance_tests!`](crate::conformance_tests), one `#[test]` per function.
//!
//! # Running it on a backend
//!
//! A backend crate (a third party's too) adds this crate with the `conformance` feature to its
//! dev-dependencies:
//!
//! ```toml
//! [dev-dependencies]
//! duograd-backend = { version = "0.1", features = ["conformance"] }
//! ```
//!
//! and invokes the macro once per element type in an integration test, say
//! `tests/conformance.rs`:
//!
//! ```ignore
//! duograd_backend::conformance_tests!(f32, MyBackend<f32>);
//! duograd_backend::conformance_tests!(f64, MyBackend<f64>);
//! ```
//!
//! Each invocation expands to a module (`f32`, `f64`) of tests named after the functions
//! below, so `cargo test f64::matmul` runs one family on one type. A function can also be
//! called directly (`duograd_backend::conformance::matmul_large::<MyBackend<f32>>()`); it
//! panics, naming the backend, the element type, the op and the shape, at the first value
//! that differs from the definition.
//!
//! # What it checks
//!
//! - Every method of the trait, each op enum variant against its documented definition
//!   ([`crate::ops`]), the fused operations against their composed defaults
//!   ([`crate::composed`], bit for bit for the optimizer steps).
//! - Inputs made in every way a layout op can make them (offset, transposed, axis-swapped,
//!   padded so that no axis is contiguous, expanded), fed to every op family, since backends
//!   keep fast paths for contiguous data and separate strided ones.
//! - Broadcasting of scalars, prepended axes and size-1 axes on either side; every subset of
//!   the axes of rank-3 and rank-4 reductions with and without `keepdim`; empty and size-1
//!   axes; lengths that are not multiples of 8 and rows long enough for every vector loop;
//!   matrix products in all four transpose combinations from 1×1 to 128×128×128, thin and with
//!   a side of 1.
//! - NaN and ±∞ as the contract says (IEEE arithmetic, NaN-propagating `Max`/`Min`/`Maximum`/
//!   `Minimum`), copy-on-write of the in-place methods, and panics on broken preconditions.
//!
//! Single IEEE operations (and layout, indexing, comparisons, selections) must match exactly;
//! everything else within a relative tolerance of 1e-5 for `f32` and 1e-12 for `f64`, scaled
//! by the magnitude of the terms a result sums (so cancellation is not mistaken for error).
//! The data is deterministic (a small generator in the suite), so a failure reproduces.

mod binary;
mod channels;
mod creation;
mod in_place;
mod indexing;
mod layout;
mod loss;
mod matmul;
mod optim;
mod preconditions;
mod reduce;
mod reference;
mod support;
mod unary;
mod views;
mod window;

pub use binary::*;
pub use channels::*;
pub use creation::*;
pub use in_place::*;
pub use indexing::*;
pub use layout::*;
pub use loss::*;
pub use matmul::*;
pub use optim::*;
pub use preconditions::*;
pub use reduce::*;
pub use unary::*;
pub use window::*;

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
                full_fills_every_element,
                recycle_leaves_other_handles_intact,
                unary_matches_definition,
                unary_every_length_up_to_70,
                unary_on_views,
                unary_special_values,
                binary_same_shape_matches_definition,
                binary_broadcasting,
                binary_broadcasting_on_views,
                binary_special_values,
                axpy_in_place_matches_definition,
                unary_in_place_matches_definition,
                in_place_updates_leave_other_handles_alone,
                in_place_updates_accumulate,
                reduce_every_axis_subset_rank_3,
                reduce_every_axis_subset_rank_4,
                reduce_long_lanes_and_low_ranks,
                reduce_empty_and_size_one_axes,
                reduce_propagates_nan_and_inf,
                argmax_first_of_ties,
                argmax_nan_is_the_maximum,
                reshape_keeps_row_major_order,
                permute_every_permutation,
                expand_broadcasts,
                concat_along_every_axis,
                narrow_every_axis,
                from_vec_2d_reads_both_layouts,
                layout_ops_compose,
                take_gathers_by_row_major_index,
                scatter_add_accumulates,
                take_and_scatter_add_are_adjoint,
                matmul_small_every_transpose,
                matmul_vectors_and_thin,
                matmul_large,
                matmul_empty,
                matmul_propagates_nan_and_inf,
                matmul_bias_adds_bias_to_every_row,
                cross_entropy_matches_definition,
                cross_entropy_is_stable_for_large_logits,
                cross_entropy_nan_logit_gives_nan_loss,
                sgd_momentum_step_matches_definition,
                adam_step_matches_definition,
                optimizer_steps_leave_other_handles_alone,
                im2col_matches_definition,
                col2im_matches_definition,
                max_pool2d_matches_definition,
                conv2d_and_gradients_match_definition,
                channel_sums_match_definition,
                channel_affine_matches_definition,
                broken_preconditions_panic,
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
