//! burn (0.22: one `Tensor<D>` type; the backend is chosen at run time by the `Device`, here
//! `Device::flex()` or `Device::ndarray()`, with autodiff as `device.autodiff()`).

use std::time::Instant;

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig, Relu};
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::data::{Mnist, CLASSES, PIXELS};
use crate::{Config, EpochOrder, Outcome};

#[derive(Module, Debug)]
struct Mlp {
    l1: Linear,
    l2: Linear,
    l3: Linear,
    relu: Relu,
}

impl Mlp {
    /// burn's default `Linear` initialization, which is PyTorch's: uniform(±1/sqrt(fan_in))
    /// for the weight and the bias.
    fn new(config: &Config, device: &Device) -> Mlp {
        let [h1, h2] = config.hidden;
        Mlp {
            l1: LinearConfig::new(PIXELS, h1).init(device),
            l2: LinearConfig::new(h1, h2).init(device),
            l3: LinearConfig::new(h2, CLASSES).init(device),
            relu: Relu::new(),
        }
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let x = self.relu.forward(self.l1.forward(x));
        let x = self.relu.forward(self.l2.forward(x));
        self.l3.forward(x)
    }
}

fn labels(y: &[u8], device: &Device) -> Tensor<1, Int> {
    let y: Vec<i64> = y.iter().map(|&v| v as i64).collect();
    let n = y.len();
    Tensor::from_data(TensorData::new(y, [n]), device)
}

pub fn train(base: Device, config: &Config, mnist: &Mnist, seed: u64) -> Outcome {
    base.seed(seed);
    let device = base.clone().autodiff();
    device.seed(seed);

    let n = mnist.n_train();
    let x_train: Tensor<2> =
        Tensor::from_data(TensorData::new(mnist.train_x.clone(), [n, PIXELS]), &device);
    let y_train = labels(&mnist.train_y, &device);

    let mut model = Mlp::new(config, &device);
    let mut optim = SgdConfig::new().init();
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    let mut orders = EpochOrder::new(n, seed);
    device.sync().expect("burn: sync before training");

    let start = Instant::now();
    for _ in 0..config.epochs {
        let order = orders.next_epoch();
        for chunk in order.chunks(config.batch) {
            let idx: Vec<i64> = chunk.iter().map(|&i| i as i64).collect();
            let idx: Tensor<1, Int> =
                Tensor::from_data(TensorData::new(idx, [chunk.len()]), &device);
            let x = x_train.clone().select(0, idx.clone());
            let y = y_train.clone().select(0, idx);
            let loss = loss_fn.forward(model.forward(x), y);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(config.lr, model, grads);
        }
    }
    device.sync().expect("burn: sync after training");
    let seconds = start.elapsed().as_secs_f64();

    // Evaluation, untimed, on the plain (non-autodiff) device.
    let model = model.valid();
    let n_test = mnist.n_test();
    let x_test: Tensor<2> = Tensor::from_data(
        TensorData::new(mnist.test_x.clone(), [n_test, PIXELS]),
        &base,
    );
    let predicted = model
        .forward(x_test)
        .argmax(1)
        .into_data_as::<i64>()
        .try_to_vec::<i64>()
        .expect("burn: reading predictions");
    let correct = predicted
        .iter()
        .zip(&mnist.test_y)
        .filter(|(p, &y)| **p == y as i64)
        .count();
    Outcome {
        seconds,
        accuracy: correct as f64 / n_test as f64,
    }
}
