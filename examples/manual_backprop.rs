//! Backpropagation written by hand, checked against duograd's autograd.
//!
//! Two networks, as in fast.ai lesson 13 and the PyTorch course exercise:
//! - 784-50-1 with ReLU and mean squared error (the label as a regression target);
//! - 784-64-10 with tanh and cross-entropy, weights from a standard normal and zero biases.
//!
//! For each, the forward and backward passes are written with tensor ops under `no_grad`
//! (chain rule by hand), then the same network runs forward through its modules and
//! `backward()`; the program prints the largest absolute difference per gradient, on both
//! backends.
//!
//! ```sh
//! cargo run --release --example manual_backprop            # random inputs (seeded)
//! MNIST_DIR=data/mnist cargo run --release --example manual_backprop   # a real MNIST batch
//! ```

use duograd::backends::Nalgebra;
use duograd::backends::NdArray;
use duograd::data::{DataLoader, Dataset, Mnist};
use duograd::nn::{Activation, Forward, Init, Linear, Mlp, Module};
use duograd::{no_grad, Backend, Reduction, Tensor};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Rows of the batch used for the comparison.
pub const BATCH: usize = 256;
/// Pixels per MNIST image.
pub const PIXELS: usize = 784;
/// MNIST classes.
pub const CLASSES: usize = 10;

/// A batch of flattened images and their labels, as plain data (so that every backend gets
/// the very same numbers).
pub struct Data {
    /// `rows × 784` pixel values, row-major.
    pub pixels: Vec<f64>,
    /// One label in `0..10` per row.
    pub labels: Vec<usize>,
}

impl Data {
    /// MNIST-like random data: about a fifth of the pixels lit with a value in `[0, 1)`, as in
    /// MNIST, and random labels.
    pub fn random(rows: usize, seed: u64) -> Data {
        let mut rng = StdRng::seed_from_u64(seed);
        let pixels = (0..rows * PIXELS)
            .map(|_| match rng.random_bool(0.2) {
                true => rng.random::<f64>(),
                false => 0.0,
            })
            .collect();
        let labels = (0..rows).map(|_| rng.random_range(0..CLASSES)).collect();
        Data { pixels, labels }
    }

    /// The first `rows` MNIST training images (scaled to `[0, 1]`) from `dir`.
    pub fn mnist(dir: &str, rows: usize) -> Result<Data, duograd::data::DataError> {
        let train = Dataset::from_mnist_train(&Mnist::load(dir)?);
        let batch = DataLoader::new(&train, rows)
            .epoch(0)
            .next()
            .expect("the training set has images");
        Ok(Data {
            pixels: batch.inputs_as::<f64>(),
            labels: batch.labels,
        })
    }

    fn rows(&self) -> usize {
        self.labels.len()
    }

    fn x<B: Backend>(&self) -> Tensor<B> {
        Tensor::from_f64(&self.pixels, &[self.rows(), PIXELS])
    }

    /// The labels one-hot encoded, `(rows, 10)`.
    fn one_hot<B: Backend>(&self) -> Tensor<B> {
        let mut one_hot = vec![0.0; self.rows() * CLASSES];
        for (row, &l) in self.labels.iter().enumerate() {
            one_hot[row * CLASSES + l] = 1.0;
        }
        Tensor::from_f64(&one_hot, &[self.rows(), CLASSES])
    }

    /// The labels as a `(rows, 1)` regression target.
    fn y<B: Backend>(&self) -> Tensor<B> {
        let y: Vec<f64> = self.labels.iter().map(|&l| l as f64).collect();
        Tensor::from_f64(&y, &[self.rows(), 1])
    }
}

/// The gradients of a linear layer `out = inp·Wᵀ + b` (weight `(out, in)`), given `out_g` =
/// dL/d`out`: returns (dL/d`inp`, dL/dW, dL/db).
///
/// - `inp.g = out.g · W` (with PyTorch's `(out, in)` layout, no transpose of W is needed)
/// - `W.g = out.gᵀ · inp`
/// - `b.g = out.g.sum(0)`
pub fn lin_grad<B: Backend>(
    inp: &Tensor<B>,
    out_g: &Tensor<B>,
    w: &Tensor<B>,
) -> (Tensor<B>, Tensor<B>, Tensor<B>) {
    let inp_g = out_g.matmul(w);
    let w_g = out_g.matmul_t(inp, true, false);
    let b_g = out_g.sum_dim(0, false);
    (inp_g, w_g, b_g)
}

/// `inp·Wᵀ + b`.
fn lin<B: Backend>(inp: &Tensor<B>, layer: &Linear<B>) -> Tensor<B> {
    let bias = layer.bias.as_ref().expect("the layers have biases");
    inp.matmul_t(&layer.weight, false, true) + &**bias
}

/// The largest absolute difference between two tensors of the same shape.
fn max_abs_diff<B: Backend>(a: &Tensor<B>, b: &Tensor<B>) -> f64 {
    assert_eq!(a.shape(), b.shape());
    a.to_vec_f64()
        .iter()
        .zip(b.to_vec_f64())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// The outcome of one hand-versus-autograd comparison.
pub struct Comparison {
    /// Which network.
    pub network: &'static str,
    /// The loss computed by hand.
    pub loss_manual: f64,
    /// The loss computed through the modules.
    pub loss_autograd: f64,
    /// For each gradient (`x`, `0.weight`, …): the largest absolute difference, and the largest
    /// absolute value of the autograd gradient (its scale).
    pub grads: Vec<(String, f64, f64)>,
}

impl Comparison {
    /// The largest difference over all gradients.
    pub fn max_grad_diff(&self) -> f64 {
        self.grads.iter().map(|g| g.1).fold(0.0, f64::max)
    }

    fn print(&self) {
        println!(
            "  {}: loss {:.6} (hand) vs {:.6} (autograd), |diff| {:.1e}",
            self.network,
            self.loss_manual,
            self.loss_autograd,
            (self.loss_manual - self.loss_autograd).abs()
        );
        for (name, diff, scale) in &self.grads {
            println!(
                "    {name:<9} max |hand - autograd| = {diff:.2e}   (max |grad| = {scale:.2e})"
            );
        }
    }
}

/// The two networks.
#[derive(Clone, Copy, Debug)]
pub enum Network {
    /// fast.ai lesson 13: 784-50-1, ReLU, MSE against the label as a number.
    ReluMse,
    /// The PyTorch course exercise: 784-64-10, tanh, cross-entropy; weights from a standard
    /// normal, zero biases.
    TanhCrossEntropy,
}

impl Network {
    /// A short description.
    pub fn name(self) -> &'static str {
        match self {
            Network::ReluMse => "784-50-1 ReLU + MSE",
            Network::TanhCrossEntropy => "784-64-10 tanh + cross-entropy",
        }
    }

    /// The network's model, initialized from `seed`.
    pub fn build<B: Backend>(self, seed: u64) -> Mlp<B> {
        let mut rng = StdRng::seed_from_u64(seed);
        match self {
            Network::ReluMse => Mlp::new(&[PIXELS, 50, 1], Activation::Relu, &mut rng),
            Network::TanhCrossEntropy => Mlp::with_init(
                &[PIXELS, 64, CLASSES],
                Activation::Tanh,
                Init::StandardNormal,
                &mut rng,
            ),
        }
    }

    /// The loss and its gradients with respect to the input and to each parameter
    /// (`[x, 0.weight, 0.bias, 2.weight, 2.bias]`), forward and backward written by hand.
    pub fn by_hand<B: Backend>(self, model: &Mlp<B>, data: &Data) -> (f64, Vec<Tensor<B>>) {
        let _guard = no_grad();
        let (l1, l2) = (&model.linears()[0], &model.linears()[1]);
        let x = data.x::<B>();
        let z1 = lin(&x, l1);
        let (loss, h, h_g) = match self {
            Network::ReluMse => {
                // Forward.
                let h = z1.relu();
                let out = lin(&h, l2);
                let diff = &out - &data.y::<B>();
                let loss = diff.square().mean();
                // Backward: d/d out mean((out - y)²) = 2 (out - y) / n.
                let out_g = diff * (2.0 / out.numel() as f64);
                let (h_g, w2_g, b2_g) = lin_grad(&h, &out_g, &l2.weight);
                (loss, h, (h_g, w2_g, b2_g))
            }
            Network::TanhCrossEntropy => {
                // Forward.
                let h = z1.tanh();
                let logits = lin(&h, l2);
                let log_probs = logits.log_softmax(1);
                let n = data.rows();
                let one_hot = data.one_hot::<B>();
                let loss = -(&log_probs * &one_hot).sum() / n as f64;
                // Backward: d/d logits of the mean cross-entropy = (softmax − one-hot) / n.
                let logits_g = (log_probs.exp() - &one_hot) / n as f64;
                let (h_g, w2_g, b2_g) = lin_grad(&h, &logits_g, &l2.weight);
                (loss, h, (h_g, w2_g, b2_g))
            }
        };
        let (h_g, w2_g, b2_g) = h_g;
        let z1_g = match self {
            // relu'(z) = 1 where z > 0, else 0.
            Network::ReluMse => h_g * z1.gt_scalar(0.0),
            // tanh'(z) = 1 − tanh²(z).
            Network::TanhCrossEntropy => h_g * h.square().rsub_scalar(1.0),
        };
        let (x_g, w1_g, b1_g) = lin_grad(&x, &z1_g, &l1.weight);
        (loss.to_vec_f64()[0], vec![x_g, w1_g, b1_g, w2_g, b2_g])
    }

    /// The same loss and gradients through the modules and `backward()`.
    pub fn autograd<B: Backend>(self, model: &Mlp<B>, data: &Data) -> (f64, Vec<Tensor<B>>) {
        let x = data.x::<B>().requires_grad_(true);
        let out = model.forward(&x);
        let loss = match self {
            Network::ReluMse => out.mse_loss(&data.y::<B>()),
            Network::TanhCrossEntropy => out.cross_entropy(&data.labels, Reduction::Mean),
        };
        model.zero_grad();
        loss.backward().expect("backward");
        let mut grads = vec![x.grad().expect("x has a gradient")];
        grads.extend(
            model
                .parameters()
                .iter()
                .map(|p| p.grad().expect("every parameter has a gradient")),
        );
        (loss.to_vec_f64()[0], grads)
    }

    /// Builds the network from `seed` and compares the hand-written gradients with autograd's.
    pub fn compare<B: Backend>(self, data: &Data, seed: u64) -> Comparison {
        let model = self.build::<B>(seed);
        let (loss_manual, manual) = self.by_hand(&model, data);
        let (loss_autograd, auto) = self.autograd(&model, data);
        let names = std::iter::once("x".to_string())
            .chain(model.named_parameters().into_iter().map(|(n, _)| n));
        let grads = names
            .zip(auto.iter().zip(&manual))
            .map(|(name, (g, m))| {
                let scale = g.to_vec_f64().iter().fold(0.0f64, |a, v| a.max(v.abs()));
                (name, max_abs_diff(g, m), scale)
            })
            .collect();
        Comparison {
            network: self.name(),
            loss_manual,
            loss_autograd,
            grads,
        }
    }
}

fn run<B: Backend>(data: &Data) {
    println!("{} <{}>", B::name(), <B::Elem as duograd::Element>::NAME);
    Network::ReluMse.compare::<B>(data, 1).print();
    Network::TanhCrossEntropy.compare::<B>(data, 2).print();
}

fn main() {
    let data = match std::env::var("MNIST_DIR") {
        Ok(dir) => match Data::mnist(&dir, BATCH) {
            Ok(data) => {
                println!("{BATCH} MNIST training images from {dir}\n");
                data
            }
            Err(e) => {
                eprintln!("cannot load MNIST from {dir}: {e}");
                std::process::exit(1);
            }
        },
        Err(_) => {
            println!("{BATCH} random MNIST-like images (set MNIST_DIR for real ones)\n");
            Data::random(BATCH, 0)
        }
    };
    run::<NdArray<f64>>(&data);
    run::<Nalgebra<f64>>(&data);
    run::<NdArray<f32>>(&data);
    run::<Nalgebra<f32>>(&data);
}
