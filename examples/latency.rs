//! Small-model latency: one SGD training step of a 784-64-10 ReLU MLP at batch 1 (forward,
//! cross-entropy, backward, update), on both backends. Prints one JSON line per backend with the
//! median microseconds per step, for `scripts/compare_pytorch.py`.
//!
//! `cargo run --release --example latency -- [steps]`

use std::time::Instant;

use duograd::backends::Nalgebra;
use duograd::backends::NdArray;
use duograd::nn::{Activation, Forward, Mlp, Module};
use duograd::optim::{Optimizer, Sgd, SgdConfig};
use duograd::{Backend, Reduction, Tensor};
use rand::{rngs::StdRng, SeedableRng};

fn median_step_micros<B: Backend>(steps: usize) -> f64 {
    let mut rng = StdRng::seed_from_u64(0);
    let model = Mlp::<B>::new(&[784, 64, 10], Activation::Relu, &mut rng);
    let mut opt = Sgd::new(model.parameters(), SgdConfig::new(0.01));
    let x = Tensor::<B>::randn(&[1, 784], 0.0, 1.0, &mut rng);
    let labels = [3usize];
    let mut step = || {
        opt.zero_grad();
        let loss = model.forward(&x).cross_entropy(&labels, Reduction::Mean);
        loss.backward().expect("loss is a scalar");
        opt.step();
    };
    for _ in 0..steps / 10 {
        step(); // warm-up
    }
    // Median of 20 batches of steps/20 steps each: robust to a noisy neighbour.
    let batches = 20;
    let mut per_step: Vec<f64> = (0..batches)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..steps / batches {
                step();
            }
            t.elapsed().as_secs_f64() * 1e6 / (steps / batches) as f64
        })
        .collect();
    per_step.sort_by(f64::total_cmp);
    per_step[batches / 2]
}

fn main() {
    let steps: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(4000);
    for (name, micros) in [
        ("ndarray", median_step_micros::<NdArray<f32>>(steps)),
        ("nalgebra", median_step_micros::<Nalgebra<f32>>(steps)),
    ] {
        println!("{{\"backend\": \"{name}\", \"model\": \"784-64-10\", \"batch\": 1, \"micros_per_step\": {micros:.2}}}");
    }
}
