//! Ready-made convolutional networks for 28×28 one-channel images (MNIST), laid out as PyTorch's
//! `nn.Sequential` so that their `state_dict` names (`0.weight`, `1.running_mean`, …) match the
//! same model written in PyTorch.

use rand::Rng;

use super::{
    BatchNorm1d, BatchNorm2d, Conv2d, Dropout, Flatten, Generator, Linear, MaxPool2d, ReLU,
    Sequential,
};
use crate::backend::Backend;
use crate::Conv2dOptions;

/// `Conv2d(inp, out, k, padding)` with PyTorch's default initialization.
fn conv<B: Backend>(
    inp: usize,
    out: usize,
    k: usize,
    padding: usize,
    rng: &mut impl Rng,
) -> Conv2d<B> {
    Conv2d::with_options(
        inp,
        out,
        [k, k],
        Conv2dOptions::new().padding(padding),
        true,
        rng,
    )
}

/// LeNet-5 for `[N, 1, 28, 28]` images and 10 classes: `Conv2d(1, 6, 5, padding=2)`, ReLU,
/// `MaxPool2d(2)`, `Conv2d(6, 16, 5)`, ReLU, `MaxPool2d(2)`, `Flatten`, `Linear(400, 120)`,
/// ReLU, `Linear(120, 84)`, ReLU, `Linear(84, 10)`: 61,706 parameters.
///
/// ```
/// use duograd::nn::{models, Forward, Module};
/// use duograd::Tensor;
/// use duograd::backends::NdArray;
/// use rand::SeedableRng;
/// let model = models::lenet::<NdArray<f32>>(&mut rand::rngs::StdRng::seed_from_u64(0));
/// assert_eq!(model.num_parameters(), 61_706);
/// let logits = model.forward(&Tensor::zeros(&[2, 1, 28, 28]));
/// assert_eq!(logits.shape(), &[2, 10]);
/// ```
pub fn lenet<B: Backend>(rng: &mut impl Rng) -> Sequential<B> {
    Sequential::new()
        .with(conv(1, 6, 5, 2, rng))
        .with(ReLU::new())
        .with(MaxPool2d::new(2))
        .with(conv(6, 16, 5, 0, rng))
        .with(ReLU::new())
        .with(MaxPool2d::new(2))
        .with(Flatten::new())
        .with(Linear::new(400, 120, rng))
        .with(ReLU::new())
        .with(Linear::new(120, 84, rng))
        .with(ReLU::new())
        .with(Linear::new(84, 10, rng))
}

/// A small batch-normalized CNN for `[N, 1, 28, 28]` images and 10 classes: three blocks of
/// `Conv2d(3×3, padding 1)`, `BatchNorm2d`, ReLU, `MaxPool2d(2)` with 32, 64 and 128 channels
/// (28 → 14 → 7 → 3), then `Flatten`, `Dropout(0.25)`, `Linear(1152, 128)`, `BatchNorm1d(128)`,
/// ReLU, `Dropout(0.25)`, `Linear(128, 10)`. The dropout layers draw their masks from seeds
/// `dropout_seed` and `dropout_seed + 1` (see [`mnist_cnn_with_generators`]).
///
/// ```
/// use duograd::nn::{models, Forward, Module};
/// use duograd::Tensor;
/// use duograd::backends::NdArray;
/// use rand::SeedableRng;
/// let mut model = models::mnist_cnn::<NdArray<f32>>(&mut rand::rngs::StdRng::seed_from_u64(0), 0);
/// model.eval();
/// assert_eq!(model.forward(&Tensor::zeros(&[2, 1, 28, 28])).shape(), &[2, 10]);
/// ```
pub fn mnist_cnn<B: Backend>(rng: &mut impl Rng, dropout_seed: u64) -> Sequential<B> {
    let generators = [
        Generator::new(dropout_seed),
        Generator::new(dropout_seed.wrapping_add(1)),
    ];
    mnist_cnn_with_generators(rng, generators)
}

/// The network of [`mnist_cnn`], its two dropout layers drawing their masks from `generators`
/// (in order), e.g. to save and restore their state with the rest of a run.
pub fn mnist_cnn_with_generators<B: Backend>(
    rng: &mut impl Rng,
    generators: [Generator; 2],
) -> Sequential<B> {
    let [first, second] = generators;
    let mut model = Sequential::new();
    for (inp, out) in [(1, 32), (32, 64), (64, 128)] {
        model.push(conv(inp, out, 3, 1, rng));
        model.push(BatchNorm2d::<B>::new(out));
        model.push(ReLU::new());
        model.push(MaxPool2d::new(2));
    }
    model
        .with(Flatten::new())
        .with(Dropout::with_generator(0.25, first))
        .with(Linear::new(1152, 128, rng))
        .with(BatchNorm1d::<B>::new(128))
        .with(ReLU::new())
        .with(Dropout::with_generator(0.25, second))
        .with(Linear::new(128, 10, rng))
}
