//! The README's quick start: one generic function, two backends, the same gradients.
//!
//! `cargo run --release --example quickstart`

use duograd::backends::Nalgebra;
use duograd::backends::NdArray;
use duograd::{Backend, Element, Tensor};

/// A tiny graph, written once for any backend: loss = mean(tanh(x · w + b)²).
fn loss_and_grads<B: Backend>() -> (f64, Vec<f64>, Vec<f64>) {
    let x = Tensor::<B>::from_f64(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let w = Tensor::<B>::from_f64(&[0.1, -0.2, 0.3, 0.4, -0.5, 0.6], &[3, 2]).requires_grad_(true);
    let b = Tensor::<B>::from_f64(&[0.01, -0.01], &[2]).requires_grad_(true);
    let loss = (x.matmul(&w) + &b).tanh().square().mean();
    loss.backward()
        .expect("loss is a scalar that requires grad");
    let grad = |t: &Tensor<B>| t.grad().expect("a leaf that requires grad").to_vec_f64();
    (loss.item().as_f64(), grad(&w), grad(&b))
}

fn main() {
    let (l1, w1, b1) = loss_and_grads::<NdArray<f64>>();
    let (l2, w2, b2) = loss_and_grads::<Nalgebra<f64>>();
    println!("ndarray : loss {l1:.6}  dL/dw {w1:.4?}  dL/db {b1:.4?}");
    println!("nalgebra: loss {l2:.6}  dL/dw {w2:.4?}  dL/db {b2:.4?}");
    let max_diff = w1
        .iter()
        .chain(&b1)
        .zip(w2.iter().chain(&b2))
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    println!("largest difference between the backends: {max_diff:.1e}");
}
