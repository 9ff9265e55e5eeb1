//! Convolution and pooling at the shapes of the `lenet` and `cnn` presets (batch 128): each
//! layer's forward alone, and forward + backward to the input and the weight.

use criterion::{BenchmarkId, Criterion, Throughput};
use duograd::{Backend, Conv2dOptions, Pool2dOptions, Tensor};
use rand::{rngs::StdRng, SeedableRng};

/// A convolution layer: name, input `[N, C, H, W]`, weight `[O, C, k, k]`, padding.
struct Layer {
    name: &'static str,
    input: [usize; 4],
    out: usize,
    kernel: usize,
    padding: usize,
}

const BATCH: usize = 128;

const CONVS: [Layer; 5] = [
    Layer {
        name: "lenet conv1 1→6 5×5 28×28",
        input: [BATCH, 1, 28, 28],
        out: 6,
        kernel: 5,
        padding: 2,
    },
    Layer {
        name: "lenet conv2 6→16 5×5 14×14",
        input: [BATCH, 6, 14, 14],
        out: 16,
        kernel: 5,
        padding: 0,
    },
    Layer {
        name: "cnn conv1 1→32 3×3 28×28",
        input: [BATCH, 1, 28, 28],
        out: 32,
        kernel: 3,
        padding: 1,
    },
    Layer {
        name: "cnn conv2 32→64 3×3 14×14",
        input: [BATCH, 32, 14, 14],
        out: 64,
        kernel: 3,
        padding: 1,
    },
    Layer {
        name: "cnn conv3 64→128 3×3 7×7",
        input: [BATCH, 64, 7, 7],
        out: 128,
        kernel: 3,
        padding: 1,
    },
];

fn conv<B: Backend>(c: &mut Criterion, layer: &Layer) {
    let mut rng = StdRng::seed_from_u64(0);
    let x = Tensor::<B>::randn(&layer.input, 0.0, 1.0, &mut rng).requires_grad_(true);
    let [_, ch, _, _] = layer.input;
    let w = Tensor::<B>::randn(
        &[layer.out, ch, layer.kernel, layer.kernel],
        0.0,
        0.1,
        &mut rng,
    )
    .requires_grad_(true);
    let bias = Tensor::<B>::zeros(&[layer.out]).requires_grad_(true);
    let options = Conv2dOptions::new().padding(layer.padding);
    let mut g = c.benchmark_group(format!("conv2d/{}", layer.name));
    g.throughput(Throughput::Elements(BATCH as u64)); // images/s
    g.bench_function(BenchmarkId::new(B::name(), "forward"), |b| {
        let _no_grad = duograd::no_grad();
        b.iter(|| x.conv2d(&w, Some(&bias), options))
    });
    g.bench_function(BenchmarkId::new(B::name(), "forward+backward"), |b| {
        b.iter(|| {
            x.conv2d(&w, Some(&bias), options).sum().backward().unwrap();
            for t in [&x, &w, &bias] {
                t.zero_grad();
            }
        })
    });
    g.finish();
}

fn max_pool<B: Backend>(c: &mut Criterion, name: &str, input: [usize; 4]) {
    let mut rng = StdRng::seed_from_u64(1);
    let x = Tensor::<B>::randn(&input, 0.0, 1.0, &mut rng).requires_grad_(true);
    let mut g = c.benchmark_group(format!("max_pool2d/{name}"));
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function(BenchmarkId::new(B::name(), "forward+backward"), |b| {
        b.iter(|| {
            x.max_pool2d(Pool2dOptions::new(2))
                .sum()
                .backward()
                .unwrap();
            x.zero_grad();
        })
    });
    g.finish();
}

pub fn bench(c: &mut Criterion) {
    for layer in &CONVS {
        crate::for_both_backends!(conv(c, layer));
    }
    for (name, input) in [
        ("lenet 6×28×28", [BATCH, 6, 28, 28]),
        ("cnn 64×14×14", [BATCH, 64, 14, 14]),
    ] {
        crate::for_both_backends!(max_pool(c, name, input));
    }
}
