//! The hand-written forward and backward passes of `examples/manual_backprop.rs` agree with
//! autograd on both backends (f64, within 1e-10), and the hand-written gradients agree with
//! finite differences of the hand-written loss (so the agreement is not one mistake made twice).

#[macro_use]
mod common;

#[path = "../examples/manual_backprop.rs"]
#[allow(dead_code)]
mod example;

use duograd::nn::Module;
use duograd::{no_grad, Backend, Tensor};
use example::{Data, Network};
use rand::rngs::StdRng;
use rand::SeedableRng;

const TOL: f64 = 1e-10;

fn hand_written_backprop_matches_autograd<B: Backend>(network: Network) {
    let c = network.compare::<B>(&Data::random(64, 3), 4);
    let loss_diff = (c.loss_manual - c.loss_autograd).abs();
    assert!(
        loss_diff < TOL,
        "{}: loss differs by {loss_diff:e}",
        c.network
    );
    for (name, diff, scale) in &c.grads {
        assert!(
            *diff < TOL,
            "{}: gradient of {name} differs by {diff:e}",
            c.network
        );
        assert!(*scale > 0.0, "{}: gradient of {name} is zero", c.network);
    }
    eprintln!(
        "[{}] {}: max |hand - autograd| = {:.2e}",
        B::name(),
        c.network,
        c.max_grad_diff()
    );
}

/// `(L(θ + εv) − L(θ − εv)) / 2ε ≈ ⟨∇L, v⟩` for a random direction `v` in parameter space.
fn hand_written_gradients_match_a_central_difference<B: Backend>(network: Network) {
    let data = Data::random(32, 5);
    let model = network.build::<B>(6);
    let (_, grads) = network.by_hand(&model, &data);
    let params = model.parameters();
    let mut rng = StdRng::seed_from_u64(7);
    let dirs: Vec<Tensor<B>> = params
        .iter()
        .map(|p| Tensor::randn(p.shape(), 0.0, 1.0, &mut rng))
        .collect();
    let predicted: f64 = grads[1..]
        .iter()
        .zip(&dirs)
        .map(|(g, v)| (g * v).sum().to_vec_f64()[0])
        .sum();
    let eps = 1e-6;
    let shifted = |sign: f64| {
        {
            let _guard = no_grad();
            for (p, v) in params.iter().zip(&dirs) {
                p.add_scaled_(sign * eps, v);
            }
        }
        let (loss, _) = network.by_hand(&model, &data);
        let _guard = no_grad();
        for (p, v) in params.iter().zip(&dirs) {
            p.add_scaled_(-sign * eps, v);
        }
        loss
    };
    let numerical = (shifted(1.0) - shifted(-1.0)) / (2.0 * eps);
    let rel = (numerical - predicted).abs() / predicted.abs().max(1e-12);
    eprintln!(
        "[{}] {}: directional derivative {predicted:.8e} (hand) vs {numerical:.8e} (finite differences)",
        B::name(),
        network.name()
    );
    assert!(rel < 1e-5, "relative error {rel:e}");
}

fn relu_mse_backprop_by_hand_matches_autograd<B: Backend>() {
    hand_written_backprop_matches_autograd::<B>(Network::ReluMse);
}

fn tanh_cross_entropy_backprop_by_hand_matches_autograd<B: Backend>() {
    hand_written_backprop_matches_autograd::<B>(Network::TanhCrossEntropy);
}

fn relu_mse_gradients_by_hand_match_finite_differences<B: Backend>() {
    hand_written_gradients_match_a_central_difference::<B>(Network::ReluMse);
}

fn tanh_cross_entropy_gradients_by_hand_match_finite_differences<B: Backend>() {
    hand_written_gradients_match_a_central_difference::<B>(Network::TanhCrossEntropy);
}

backend_tests!(
    relu_mse_backprop_by_hand_matches_autograd,
    tanh_cross_entropy_backprop_by_hand_matches_autograd,
    relu_mse_gradients_by_hand_match_finite_differences,
    tanh_cross_entropy_gradients_by_hand_match_finite_differences,
);
