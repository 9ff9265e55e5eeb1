//! candle (candle-core + candle-nn) on its CPU device.

use std::time::Instant;

use candle_core::{DType, Device, Result, Tensor, Var};
use candle_nn::{Linear, Module, Optimizer, SGD};
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::data::{Mnist, CLASSES, PIXELS};
use crate::{torch_linear_init, Config, EpochOrder, Outcome};

struct Mlp {
    layers: Vec<Linear>,
}

impl Mlp {
    /// PyTorch's `nn.Linear` initialization from a seeded generator (candle's CPU device
    /// cannot be seeded, and `candle_nn::linear` draws its weight from a Kaiming normal).
    fn new(config: &Config, seed: u64, device: &Device) -> Result<(Mlp, Vec<Var>)> {
        let mut rng = StdRng::seed_from_u64(seed);
        let sizes = [PIXELS, config.hidden[0], config.hidden[1], CLASSES];
        let mut layers = Vec::new();
        let mut vars = Vec::new();
        for pair in sizes.windows(2) {
            let (fan_in, fan_out) = (pair[0], pair[1]);
            let (w, b) = torch_linear_init(&mut rng, fan_in, fan_out);
            let w = Var::from_tensor(&Tensor::from_vec(w, (fan_out, fan_in), device)?)?;
            let b = Var::from_tensor(&Tensor::from_vec(b, fan_out, device)?)?;
            // A Var's tensor shares its storage, which the optimizer updates in place.
            layers.push(Linear::new(
                w.as_tensor().clone(),
                Some(b.as_tensor().clone()),
            ));
            vars.push(w);
            vars.push(b);
        }
        Ok((Mlp { layers }, vars))
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let last = self.layers.len() - 1;
        let mut x = x.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.forward(&x)?;
            if i < last {
                x = x.relu()?;
            }
        }
        Ok(x)
    }
}

pub fn train(config: &Config, mnist: &Mnist, seed: u64) -> Result<Outcome> {
    let device = Device::Cpu;
    let n = mnist.n_train();
    let x_train = Tensor::from_vec(mnist.train_x.clone(), (n, PIXELS), &device)?;
    let y: Vec<u32> = mnist.train_y.iter().map(|&v| v as u32).collect();
    let y_train = Tensor::from_vec(y, n, &device)?;

    let (model, vars) = Mlp::new(config, seed, &device)?;
    let mut sgd = SGD::new(vars, config.lr)?;
    let mut orders = EpochOrder::new(n, seed);

    let start = Instant::now();
    for _ in 0..config.epochs {
        let order = orders.next_epoch();
        for chunk in order.chunks(config.batch) {
            let idx = Tensor::from_slice(chunk, chunk.len(), &device)?;
            let x = x_train.index_select(&idx, 0)?;
            let y = y_train.index_select(&idx, 0)?;
            let loss = candle_nn::loss::cross_entropy(&model.forward(&x)?, &y)?;
            sgd.backward_step(&loss)?;
        }
    }
    let seconds = start.elapsed().as_secs_f64();

    // Evaluation, untimed.
    let n_test = mnist.n_test();
    let x_test = Tensor::from_vec(mnist.test_x.clone(), (n_test, PIXELS), &device)?;
    let predicted = model
        .forward(&x_test)?
        .argmax(1)?
        .to_dtype(DType::U32)?
        .to_vec1::<u32>()?;
    let correct = predicted
        .iter()
        .zip(&mnist.test_y)
        .filter(|(p, &y)| **p == y as u32)
        .count();
    Ok(Outcome {
        seconds,
        accuracy: correct as f64 / n_test as f64,
    })
}
