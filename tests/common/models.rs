//! The two convolutional models of the MNIST examples, laid out as PyTorch's `nn.Sequential`
//! so that their `state_dict` names match.

use duograd::nn::{
    BatchNorm1d, BatchNorm2d, Conv2d, Dropout, Flatten, Linear, MaxPool2d, ReLU, Sequential,
};
use duograd::{Backend, Conv2dOptions};
use rand::Rng;

/// `Conv2d(in, out, k, padding=p)` with PyTorch's default initialization.
pub fn conv<B: Backend>(
    inp: usize,
    out: usize,
    k: usize,
    padding: usize,
    rng: &mut impl Rng,
) -> Conv2d<B> {
    let options = Conv2dOptions::new().padding(padding);
    Conv2d::with_options(inp, out, [k, k], options, true, rng)
}

/// LeNet-5 for `[N, 1, 28, 28]`: Conv2d(1,6,5,padding=2) ReLU MaxPool2d(2) Conv2d(6,16,5) ReLU
/// MaxPool2d(2) Flatten Linear(400,120) ReLU Linear(120,84) ReLU Linear(84,10).
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

/// The batch-normalized CNN for `[N, 1, 28, 28]`: three blocks Conv2d(3×3, padding 1)
/// BatchNorm2d ReLU MaxPool2d(2) with 32, 64, 128 channels, then Flatten Dropout(0.25)
/// Linear(1152,128) BatchNorm1d(128) ReLU Dropout(0.25) Linear(128,10). The dropout layers are
/// seeded with `dropout_seed` and `dropout_seed + 1`.
pub fn cnn<B: Backend>(rng: &mut impl Rng, dropout_seed: u64) -> Sequential<B> {
    let mut model = Sequential::new();
    for (inp, out) in [(1, 32), (32, 64), (64, 128)] {
        model.push(conv(inp, out, 3, 1, rng));
        model.push(BatchNorm2d::<B>::new(out));
        model.push(ReLU::new());
        model.push(MaxPool2d::new(2));
    }
    model
        .with(Flatten::new())
        .with(Dropout::new(0.25, dropout_seed))
        .with(Linear::new(1152, 128, rng))
        .with(BatchNorm1d::<B>::new(128))
        .with(ReLU::new())
        .with(Dropout::new(0.25, dropout_seed + 1))
        .with(Linear::new(128, 10, rng))
}
