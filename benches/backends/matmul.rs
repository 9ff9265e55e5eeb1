//! Matrix products: square sizes and the shapes of the 784-64-… MLP's forward and backward.

use criterion::{BenchmarkId, Criterion, Throughput};
use duograd::{Backend, Tensor};
use rand::{rngs::StdRng, SeedableRng};

fn product<B: Backend>(
    c: &mut Criterion,
    group: &str,
    (m, k, n): (usize, usize, usize),
    ta: bool,
    tb: bool,
) {
    let mut rng = StdRng::seed_from_u64(0);
    let a_shape = if ta { [k, m] } else { [m, k] };
    let b_shape = if tb { [n, k] } else { [k, n] };
    let a = Tensor::<B>::randn(&a_shape, 0.0, 1.0, &mut rng).storage();
    let b = Tensor::<B>::randn(&b_shape, 0.0, 1.0, &mut rng).storage();
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements((2 * m * k * n) as u64)); // flops: read elements/s as FLOP/s
    g.bench_function(
        BenchmarkId::new(B::name(), format!("{m}x{k}x{n}")),
        |bench| bench.iter(|| B::matmul(&a, &b, ta, tb)),
    );
    g.finish();
}

pub fn bench(c: &mut Criterion) {
    for n in [64, 256, 1024] {
        crate::for_both_backends!(product(c, "matmul/square", (n, n, n), false, false));
    }
    // The arena MLP at batch 512: forward x·W1ᵀ, and the two backward products.
    crate::for_both_backends!(product(
        c,
        "matmul/mlp_forward_x_w1t",
        (512, 784, 64),
        false,
        true
    ));
    crate::for_both_backends!(product(
        c,
        "matmul/mlp_backward_gt_x",
        (64, 512, 784),
        true,
        false
    ));
    crate::for_both_backends!(product(
        c,
        "matmul/mlp_backward_g_w2",
        (512, 64, 64),
        false,
        false
    ));
}
