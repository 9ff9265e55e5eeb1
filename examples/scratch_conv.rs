use duograd::backends::cpu::gemm::{matmul_with_threads, Layout, StridedMatrix};
use std::time::Instant;
fn t<R>(name: &str, flops: f64, f: impl Fn() -> R) {
    for _ in 0..5 {
        std::hint::black_box(f());
    }
    let n = 50;
    let s = Instant::now();
    for _ in 0..n {
        std::hint::black_box(f());
    }
    let sec = s.elapsed().as_secs_f64() / n as f64;
    println!(
        "{name:40} {:8.3} ms {:6.1} GFLOP/s",
        sec * 1e3,
        flops / sec / 1e9
    );
}
fn main() {
    for (m, k, n) in [
        (64, 288, 392),
        (64, 288, 196),
        (128, 576, 294),
        (6, 25, 784),
        (16, 150, 300),
        (32, 9, 784),
        (288, 64, 392),
        (64, 392, 288),
    ] {
        let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32).collect();
        let (am, bm) = (
            StridedMatrix::row_major(&a, m, k),
            StridedMatrix::row_major(&b, k, n),
        );
        t(
            &format!("{m}x{k}x{n} 1 thread"),
            2.0 * (m * k * n) as f64,
            || matmul_with_threads(am, bm, Layout::RowMajor, 1),
        );
    }
}
