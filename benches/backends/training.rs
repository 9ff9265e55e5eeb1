//! One full training step (forward, cross-entropy, backward, SGD update) of the `arena` MLP
//! 784-64-64-10 ReLU, at batch 64 and 512; and one step at batch 1 of a 784-64-10 network
//! (small-model latency).

use criterion::{BenchmarkId, Criterion, Throughput};
use duograd::{no_grad, Backend, Reduction, Tensor};
use rand::{rngs::StdRng, SeedableRng};

struct Mlp<B: Backend> {
    params: Vec<Tensor<B>>,
}

impl<B: Backend> Mlp<B> {
    fn new(sizes: &[usize]) -> Self {
        let mut rng = StdRng::seed_from_u64(0);
        let params = sizes
            .windows(2)
            .flat_map(|w| {
                let bound = 1.0 / (w[0] as f64).sqrt();
                [
                    Tensor::rand_uniform(&[w[1], w[0]], -bound, bound, &mut rng)
                        .requires_grad_(true),
                    Tensor::rand_uniform(&[w[1]], -bound, bound, &mut rng).requires_grad_(true),
                ]
            })
            .collect();
        Mlp { params }
    }

    fn step(&self, x: &Tensor<B>, labels: &[usize], lr: f64) {
        let layers = self.params.len() / 2;
        let mut h = x.clone();
        for l in 0..layers {
            h = h.matmul_t(&self.params[2 * l], false, true) + &self.params[2 * l + 1];
            if l + 1 < layers {
                h = h.relu();
            }
        }
        h.cross_entropy(labels, Reduction::Mean).backward().unwrap();
        let _guard = no_grad();
        for p in &self.params {
            p.add_scaled_(-lr, &p.grad().unwrap());
            p.zero_grad();
        }
    }
}

fn step<B: Backend>(c: &mut Criterion, group: &str, sizes: &[usize], batch: usize) {
    let mlp = Mlp::<B>::new(sizes);
    let x = Tensor::<B>::randn(&[batch, sizes[0]], 0.0, 1.0, &mut StdRng::seed_from_u64(1));
    let labels: Vec<usize> = (0..batch).map(|i| i % 10).collect();
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(batch as u64)); // samples/s
    g.bench_function(BenchmarkId::new(B::name(), format!("batch {batch}")), |b| {
        b.iter(|| mlp.step(&x, &labels, 0.01))
    });
    g.finish();
}

pub fn bench(c: &mut Criterion) {
    for batch in [64, 512] {
        crate::for_both_backends!(step(c, "training/arena_step", &[784, 64, 64, 10], batch));
    }
    crate::for_both_backends!(step(c, "training/latency_784_64_10", &[784, 64, 10], 1));
}
