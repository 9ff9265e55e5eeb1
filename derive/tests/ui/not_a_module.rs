use duograd::nn::{Linear, Module};
use duograd::Backend;

struct Settings {
    depth: usize,
}

#[derive(Module)]
struct Net<B: Backend> {
    layer: Linear<B>,
    settings: Settings,
}

fn main() {}
