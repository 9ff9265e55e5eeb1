use duograd::nn::{Linear, Module};
use duograd::{Backend, Tensor};

#[derive(Module)]
struct Net<B: Backend> {
    layer: Linear<B>,
    cache: Vec<Tensor<B>>,
}

fn main() {}
