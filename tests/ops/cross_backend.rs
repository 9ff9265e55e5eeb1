//! The ndarray and nalgebra backends agree on every fixture case: f64 within 1e-10 relative,
//! f32 within 1e-5, on several random inputs, contiguous and permuted.

use duograd::backends::Nalgebra;
use duograd::backends::NdArray;
use duograd::{Backend, Tensor};
use rand::{rngs::StdRng, SeedableRng};

use crate::common::assert_close;
use crate::common::cases::{forward_backward, ops_fixture, permuted_views, random_inputs, OpCase};

fn run<B: Backend>(case: &OpCase, seed: u64, permuted: bool) -> (Vec<f64>, Vec<Option<Vec<f64>>>) {
    let mut inputs = random_inputs::<B>(case, seed);
    if permuted {
        inputs = permuted_views(&inputs);
    }
    let go = Tensor::<B>::randn(
        &case.output.shape,
        0.0,
        1.0,
        &mut StdRng::seed_from_u64(seed + 7),
    );
    forward_backward(case, &inputs, &go)
}

fn compare<A: Backend, B: Backend>(tol: f64) {
    for case in &ops_fixture().cases {
        for seed in 0..3 {
            for permuted in [false, true] {
                let (out_a, grads_a) = run::<A>(case, seed, permuted);
                let (out_b, grads_b) = run::<B>(case, seed, permuted);
                let what = format!(
                    "{} ({} vs {}, seed {seed}, permuted {permuted})",
                    case.name,
                    A::name(),
                    B::name()
                );
                assert_close(&format!("{what}: output"), &out_a, &out_b, tol, tol);
                for (i, (ga, gb)) in grads_a.iter().zip(&grads_b).enumerate() {
                    if let (Some(ga), Some(gb)) = (ga, gb) {
                        assert_close(&format!("{what}: grad {i}"), ga, gb, tol, tol);
                    }
                }
            }
        }
    }
}

#[test]
fn backends_agree_on_every_case_in_f64() {
    compare::<NdArray<f64>, Nalgebra<f64>>(1e-10);
}

#[test]
fn backends_agree_on_every_case_in_f32() {
    compare::<NdArray<f32>, Nalgebra<f32>>(1e-5);
}
