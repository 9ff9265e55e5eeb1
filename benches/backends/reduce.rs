//! Reductions along each axis of a matrix and of a 3-D tensor.

use criterion::{BenchmarkId, Criterion, Throughput};
use duograd::{Backend, ReduceOp, Tensor};
use rand::{rngs::StdRng, SeedableRng};

fn reduce<B: Backend>(c: &mut Criterion, shape: &[usize], axes: &[usize], op: ReduceOp) {
    let x = Tensor::<B>::randn(shape, 0.0, 1.0, &mut StdRng::seed_from_u64(0)).storage();
    let mut g = c.benchmark_group(format!("reduce/{op:?}/{shape:?}/axes{axes:?}"));
    g.throughput(Throughput::Elements(shape.iter().product::<usize>() as u64));
    g.bench_function(BenchmarkId::new(B::name(), ""), |b| {
        b.iter(|| B::reduce(&x, axes, false, op))
    });
    g.finish();
}

fn all<B: Backend>(c: &mut Criterion) {
    for axes in [&[0][..], &[1], &[0, 1]] {
        reduce::<B>(c, &[512, 256], axes, ReduceOp::Sum);
    }
    reduce::<B>(c, &[512, 10], &[1], ReduceOp::Max);
    for axes in [&[0][..], &[1], &[2]] {
        reduce::<B>(c, &[32, 64, 64], axes, ReduceOp::Sum);
    }
}

pub fn bench(c: &mut Criterion) {
    crate::for_both_backends!(all(c));
}
