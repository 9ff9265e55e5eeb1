//! Elementwise kernels: unary, binary of equal shapes, and the bias-style broadcast add.

use criterion::{BenchmarkId, Criterion, Throughput};
use duograd::{Backend, BinaryOp, Element, Tensor, UnaryOp};
use rand::{rngs::StdRng, SeedableRng};

const SHAPE: [usize; 2] = [512, 256];

fn unary<B: Backend>(c: &mut Criterion, name: &str, op: UnaryOp<B::Elem>) {
    let x = Tensor::<B>::randn(&SHAPE, 0.0, 1.0, &mut StdRng::seed_from_u64(0)).storage();
    let mut g = c.benchmark_group(format!("unary/{name}"));
    g.throughput(Throughput::Elements((SHAPE[0] * SHAPE[1]) as u64));
    g.bench_function(BenchmarkId::new(B::name(), "512x256"), |b| {
        b.iter(|| B::unary(&x, op))
    });
    g.finish();
}

fn binary<B: Backend>(c: &mut Criterion, name: &str, rhs_shape: &[usize], op: BinaryOp) {
    let mut rng = StdRng::seed_from_u64(1);
    let a = Tensor::<B>::randn(&SHAPE, 0.0, 1.0, &mut rng).storage();
    let b = Tensor::<B>::randn(rhs_shape, 0.0, 1.0, &mut rng).storage();
    let mut g = c.benchmark_group(format!("binary/{name}"));
    g.throughput(Throughput::Elements((SHAPE[0] * SHAPE[1]) as u64));
    g.bench_function(
        BenchmarkId::new(B::name(), format!("512x256 . {rhs_shape:?}")),
        |bench| bench.iter(|| B::binary(&a, &b, op)),
    );
    g.finish();
}

fn unaries<B: Backend>(c: &mut Criterion) {
    unary::<B>(c, "relu", UnaryOp::Relu);
    unary::<B>(c, "exp", UnaryOp::Exp);
    unary::<B>(c, "tanh", UnaryOp::Tanh);
    unary::<B>(c, "mul_scalar", UnaryOp::MulScalar(B::Elem::of(0.5)));
}

fn binaries<B: Backend>(c: &mut Criterion) {
    binary::<B>(c, "add", &SHAPE, BinaryOp::Add);
    binary::<B>(c, "mul", &SHAPE, BinaryOp::Mul);
    binary::<B>(c, "add_bias_row", &[256], BinaryOp::Add);
    binary::<B>(c, "add_column", &[512, 1], BinaryOp::Add);
}

pub fn bench(c: &mut Criterion) {
    crate::for_both_backends!(unaries(c));
    crate::for_both_backends!(binaries(c));
}
