//! Gather (`take`) and scatter-add by flat index, as cross-entropy's label picking uses them.

use criterion::{BenchmarkId, Criterion, Throughput};
use duograd::{Backend, Tensor};
use rand::{rngs::StdRng, Rng, SeedableRng};

fn gather_scatter<B: Backend>(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(0);
    let shape = [512, 784];
    let x = Tensor::<B>::randn(&shape, 0.0, 1.0, &mut rng).storage();
    let indices: Vec<usize> = (0..100_000)
        .map(|_| rng.random_range(0..512 * 784))
        .collect();
    let src = Tensor::<B>::randn(&[indices.len()], 0.0, 1.0, &mut rng).storage();
    let mut g = c.benchmark_group("index/take");
    g.throughput(Throughput::Elements(indices.len() as u64));
    g.bench_function(BenchmarkId::new(B::name(), "100k of 512x784"), |b| {
        b.iter(|| B::take(&x, &indices))
    });
    g.finish();
    let mut g = c.benchmark_group("index/scatter_add");
    g.throughput(Throughput::Elements(indices.len() as u64));
    g.bench_function(BenchmarkId::new(B::name(), "100k into 512x784"), |b| {
        b.iter(|| B::scatter_add(&shape, &indices, &src))
    });
    g.finish();
}

pub fn bench(c: &mut Criterion) {
    crate::for_both_backends!(gather_scatter(c));
}
