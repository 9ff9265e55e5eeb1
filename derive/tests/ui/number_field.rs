use duograd::nn::{Linear, Module};
use duograd::Backend;

#[derive(Module)]
struct Net<B: Backend> {
    layer: Linear<B>,
    learning_rate: f64,
}

fn main() {}
