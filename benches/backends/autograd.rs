//! The autograd's own cost: a 1,000-op chain of tiny tensors (per-op overhead of recording and
//! backward), and cross-entropy forward + backward.

use criterion::{BenchmarkId, Criterion, Throughput};
use duograd::{Backend, Reduction, Tensor};
use rand::{rngs::StdRng, SeedableRng};

fn chain<B: Backend>(c: &mut Criterion) {
    let x = Tensor::<B>::from_f64(&[0.5, -0.25, 1.0, 2.0], &[4]).requires_grad_(true);
    let mut g = c.benchmark_group("autograd/chain_1000_ops");
    g.throughput(Throughput::Elements(1000)); // ops/s
    g.bench_function(BenchmarkId::new(B::name(), "forward+backward"), |b| {
        b.iter(|| {
            let mut y = x.clone();
            for i in 0..500 {
                y = if i % 2 == 0 { y.tanh() } else { &y * 1.01 };
                y = &y + &x;
            }
            y.sum().backward().unwrap();
            x.zero_grad();
        })
    });
    g.finish();
}

fn cross_entropy<B: Backend>(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(0);
    let logits = Tensor::<B>::randn(&[512, 10], 0.0, 3.0, &mut rng).requires_grad_(true);
    let labels: Vec<usize> = (0..512).map(|i| (i * 7) % 10).collect();
    let mut g = c.benchmark_group("autograd/cross_entropy");
    g.throughput(Throughput::Elements(512)); // samples/s
    g.bench_function(
        BenchmarkId::new(B::name(), "512x10 forward+backward"),
        |b| {
            b.iter(|| {
                logits
                    .cross_entropy(&labels, Reduction::Mean)
                    .backward()
                    .unwrap();
                logits.zero_grad();
            })
        },
    );
    g.finish();
}

pub fn bench(c: &mut Criterion) {
    crate::for_both_backends!(chain(c));
    crate::for_both_backends!(cross_entropy(c));
}
