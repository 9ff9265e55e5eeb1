use duograd::nn::{Linear, Module};
use duograd::Backend;

#[derive(Module)]
struct Net<B: Backend> {
    #[module(flatten)]
    layer: Linear<B>,
}

fn main() {}
