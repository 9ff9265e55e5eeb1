//! What to train and how: [`TrainConfig`], its [`OptimizerConfig`], and the named [`Preset`]s.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::error::ConfigError;
use super::preset::Preset;
use crate::backend::Backend;
use crate::nn::{models, Activation, Forward, Generator, Init, Mlp, Parameter};
use crate::optim::{Adam, AdamConfig, OptimError, Optimizer, Sgd, SgdConfig};

/// Which data set a run trains on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataSet {
    /// MNIST: 60,000 training and 10,000 test images of 28 × 28 pixels, flattened to 784.
    #[default]
    Mnist,
    /// The 8×8 digits (1,797 images of 64 pixels), split 80/20 with the run's seed.
    Digits,
}

impl DataSet {
    /// The name used on the command line and in reports (`"mnist"`, `"digits"`).
    pub fn name(self) -> &'static str {
        match self {
            DataSet::Mnist => "mnist",
            DataSet::Digits => "digits",
        }
    }
}

impl fmt::Display for DataSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DataSet {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, ConfigError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "mnist" => Ok(DataSet::Mnist),
            "digits" => Ok(DataSet::Digits),
            _ => Err(ConfigError::unknown("data set", s, &["mnist", "digits"])),
        }
    }
}

/// The network a run trains.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    /// A multi-layer perceptron on flattened inputs ([`Mlp`]), shaped by
    /// [`TrainConfig::hidden`], [`TrainConfig::activation`] and [`TrainConfig::init`].
    #[default]
    Mlp,
    /// LeNet-5 on `[N, 1, 28, 28]` images ([`models::lenet`]).
    Lenet,
    /// The batch-normalized CNN on `[N, 1, 28, 28]` images ([`models::mnist_cnn`]).
    Cnn,
}

impl Architecture {
    /// Every architecture, in the order the command line lists them.
    pub const ALL: [Architecture; 3] = [Architecture::Mlp, Architecture::Lenet, Architecture::Cnn];

    /// The name used on the command line and in reports (`"mlp"`, `"lenet"`, `"cnn"`).
    pub fn name(self) -> &'static str {
        match self {
            Architecture::Mlp => "mlp",
            Architecture::Lenet => "lenet",
            Architecture::Cnn => "cnn",
        }
    }

    /// Whether the network takes images (`[N, C, H, W]`) rather than flat rows.
    pub fn takes_images(self) -> bool {
        self != Architecture::Mlp
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Architecture {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, ConfigError> {
        let wanted = s.trim().to_ascii_lowercase();
        Architecture::ALL
            .into_iter()
            .find(|a| a.name() == wanted)
            .ok_or_else(|| ConfigError::unknown("model", s, &["mlp", "lenet", "cnn"]))
    }
}

/// The optimizer a run uses, with its settings.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum OptimizerConfig {
    /// [`Sgd`] with a learning rate and a momentum factor (0 for plain SGD).
    Sgd {
        /// Learning rate.
        lr: f64,
        /// Momentum factor.
        momentum: f64,
    },
    /// [`Adam`] with a learning rate and PyTorch's other defaults.
    Adam {
        /// Learning rate.
        lr: f64,
    },
}

impl OptimizerConfig {
    /// SGD's learning rate when none is given (the `arena` and `course` presets' rate).
    pub const SGD_DEFAULT_LR: f64 = 0.01;
    /// Adam's learning rate when none is given (PyTorch's default).
    pub const ADAM_DEFAULT_LR: f64 = 1e-3;

    /// The optimizer called `name` (`"sgd"` or `"adam"`) with its default learning rate and no
    /// momentum.
    ///
    /// # Errors
    /// [`ConfigError::Unknown`] for another name.
    pub fn named(name: &str) -> Result<Self, ConfigError> {
        match name.trim().to_ascii_lowercase().as_str() {
            "sgd" => Ok(OptimizerConfig::Sgd {
                lr: Self::SGD_DEFAULT_LR,
                momentum: 0.0,
            }),
            "adam" => Ok(OptimizerConfig::Adam {
                lr: Self::ADAM_DEFAULT_LR,
            }),
            _ => Err(ConfigError::unknown("optimizer", name, &["sgd", "adam"])),
        }
    }

    /// `"sgd"` or `"adam"`.
    pub fn name(&self) -> &'static str {
        match self {
            OptimizerConfig::Sgd { .. } => "sgd",
            OptimizerConfig::Adam { .. } => "adam",
        }
    }

    /// The learning rate.
    pub fn lr(&self) -> f64 {
        match *self {
            OptimizerConfig::Sgd { lr, .. } | OptimizerConfig::Adam { lr } => lr,
        }
    }

    /// The same optimizer with learning rate `lr`.
    pub fn with_lr(self, lr: f64) -> Self {
        match self {
            OptimizerConfig::Sgd { momentum, .. } => OptimizerConfig::Sgd { lr, momentum },
            OptimizerConfig::Adam { .. } => OptimizerConfig::Adam { lr },
        }
    }

    /// The same optimizer with momentum `momentum`.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for Adam, which has no momentum factor (its `β₁` plays that
    /// role).
    pub fn with_momentum(self, momentum: f64) -> Result<Self, ConfigError> {
        match self {
            OptimizerConfig::Sgd { lr, .. } => Ok(OptimizerConfig::Sgd { lr, momentum }),
            OptimizerConfig::Adam { .. } => Err(ConfigError::invalid(
                "momentum",
                momentum,
                "only SGD takes a momentum (choose the sgd optimizer)",
            )),
        }
    }

    /// An optimizer of this kind for `params`.
    ///
    /// # Errors
    /// [`OptimError::NoParameters`] if `params` is empty (a module without parameters: the
    /// optimizer would update nothing); [`OptimError::InvalidSetting`] for a setting the
    /// optimizer rejects, which [`TrainConfig::validate`] rules out first.
    ///
    /// ```
    /// use duograd::nn::{Flatten, Module};
    /// use duograd::train::OptimizerConfig;
    /// use duograd::backends::NdArray;
    ///
    /// let no_params = Module::<NdArray<f32>>::parameters(&Flatten::new());
    /// let err = OptimizerConfig::Adam { lr: 1e-3 }.build(no_params).err().unwrap();
    /// assert!(err.to_string().contains("no parameters to optimize"), "{err}");
    /// ```
    pub fn build<B: Backend>(
        &self,
        params: Vec<Parameter<B>>,
    ) -> Result<Box<dyn Optimizer<B>>, OptimError> {
        Ok(match *self {
            OptimizerConfig::Sgd { lr, momentum } => {
                Box::new(Sgd::try_new(params, SgdConfig::new(lr).momentum(momentum))?)
            }
            OptimizerConfig::Adam { lr } => Box::new(Adam::try_new(params, AdamConfig::new(lr))?),
        })
    }
}

impl fmt::Display for OptimizerConfig {
    /// `SGD lr 0.01 momentum 0.9`, `Adam lr 0.001`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            OptimizerConfig::Sgd { lr, momentum } if momentum != 0.0 => {
                write!(f, "SGD lr {lr} momentum {momentum}")
            }
            OptimizerConfig::Sgd { lr, .. } => write!(f, "SGD lr {lr}"),
            OptimizerConfig::Adam { lr } => write!(f, "Adam lr {lr}"),
        }
    }
}

/// How the learning rate changes during a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LrSchedule {
    /// The optimizer's learning rate throughout.
    #[default]
    Constant,
    /// Cosine annealing from the learning rate to 0 over the run, updated at every batch
    /// (PyTorch's `CosineAnnealingLR` with `T_max` the number of steps and `eta_min = 0`).
    Cosine,
}

impl LrSchedule {
    /// The learning rate of step `step` (from 0) of `total`, starting from `base`.
    ///
    /// ```
    /// use duograd::train::LrSchedule;
    /// assert_eq!(LrSchedule::Constant.lr(0.1, 7, 10), 0.1);
    /// assert_eq!(LrSchedule::Cosine.lr(0.1, 0, 10), 0.1);
    /// assert!((LrSchedule::Cosine.lr(0.1, 5, 10) - 0.05).abs() < 1e-12);
    /// ```
    pub fn lr(self, base: f64, step: usize, total: usize) -> f64 {
        match self {
            LrSchedule::Constant => base,
            LrSchedule::Cosine if total == 0 => base,
            LrSchedule::Cosine => {
                let progress = step as f64 / total as f64;
                0.5 * base * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        }
    }

    /// `"constant"` or `"cosine"`.
    pub fn name(self) -> &'static str {
        match self {
            LrSchedule::Constant => "constant",
            LrSchedule::Cosine => "cosine",
        }
    }
}

impl FromStr for LrSchedule {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, ConfigError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "constant" => Ok(LrSchedule::Constant),
            "cosine" => Ok(LrSchedule::Cosine),
            _ => Err(ConfigError::unknown(
                "learning-rate schedule",
                s,
                &["constant", "cosine"],
            )),
        }
    }
}

/// The conventional name of an activation: `ReLU`, `tanh`, `sigmoid`.
pub fn activation_name(activation: Activation) -> &'static str {
    match activation {
        Activation::Relu => "ReLU",
        Activation::Tanh => "tanh",
        Activation::Sigmoid => "sigmoid",
    }
}

/// Serde stand-in for [`Activation`] (a type of `nn`, which does not depend on serde).
#[derive(Serialize, Deserialize)]
#[serde(remote = "Activation", rename_all = "lowercase")]
enum ActivationDef {
    Relu,
    Tanh,
    Sigmoid,
}

/// Serde stand-in for [`Init`].
#[derive(Serialize, Deserialize)]
#[serde(remote = "Init", rename_all = "snake_case")]
enum InitDef {
    Uniform,
    StandardNormal,
}

/// Everything that defines a training run: data set, model, optimizer and schedule.
///
/// Build one from a [`Preset`] and change what you need; every field is public. The model is
/// an [`Mlp`] `input-hidden…-classes` with one activation between layers.
///
/// ```
/// use duograd::train::{OptimizerConfig, Preset, TrainConfig};
///
/// let mut config = TrainConfig::preset(Preset::Arena);
/// config.epochs = 1;
/// config.optimizer = config.optimizer.with_lr(0.05);
/// config.validate()?;
/// assert_eq!(config.layer_sizes(784, 10), [784, 64, 64, 10]);
/// assert_eq!(config.optimizer, OptimizerConfig::Sgd { lr: 0.05, momentum: 0.0 });
/// # Ok::<(), duograd::train::ConfigError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// The data set.
    pub dataset: DataSet,
    /// The network (an MLP unless a run says otherwise).
    #[serde(default)]
    pub model: Architecture,
    /// Hidden layer sizes of the MLP, e.g. `[64, 64]` for 784-64-64-10 on MNIST (may be empty: a linear
    /// model).
    pub hidden: Vec<usize>,
    /// The nonlinearity between layers.
    #[serde(with = "ActivationDef")]
    pub activation: Activation,
    /// How the layers' weights are drawn.
    #[serde(with = "InitDef")]
    pub init: Init,
    /// The optimizer and its settings.
    pub optimizer: OptimizerConfig,
    /// How the learning rate changes over the run.
    #[serde(default)]
    pub schedule: LrSchedule,
    /// Training samples per mini-batch.
    pub batch_size: usize,
    /// Passes over the training set.
    pub epochs: usize,
    /// Seeds the weights, the shuffling and the digits split: the same seed gives the same run
    /// on every backend.
    pub seed: u64,
    /// Whether each epoch visits the training samples in a new random order.
    pub shuffle: bool,
    /// Whether to hold out the last 10,000 MNIST training images as a validation set (training
    /// on the first 50,000); the digits data set ignores it.
    pub validation: bool,
    /// Samples per forward pass when evaluating (only memory and speed depend on it).
    pub eval_batch_size: usize,
}

impl Default for TrainConfig {
    /// The [`Preset::Default`] configuration.
    fn default() -> Self {
        Self::preset(Preset::Default)
    }
}

impl TrainConfig {
    /// The model's layer sizes: `input`, the hidden sizes, `classes`.
    pub fn layer_sizes(&self, input: usize, classes: usize) -> Vec<usize> {
        let mut sizes = Vec::with_capacity(self.hidden.len() + 2);
        sizes.push(input);
        sizes.extend(&self.hidden);
        sizes.push(classes);
        sizes
    }

    /// The model, initialized from the seed (the same weights on every backend).
    pub fn build_model<B: Backend>(&self, input: usize, classes: usize) -> Mlp<B> {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(self.seed);
        Mlp::with_init(
            &self.layer_sizes(input, classes),
            self.activation,
            self.init,
            &mut rng,
        )
    }

    /// The network of this configuration for inputs of `input` features and `classes` classes,
    /// initialized from [`TrainConfig::seed`]: the [`Mlp`] of [`TrainConfig::build_model`], or
    /// a convolutional network ([`models`]) for 28×28 images, its dropout seeded from the seed
    /// too.
    pub fn build_network<B: Backend>(&self, input: usize, classes: usize) -> Box<dyn Forward<B>> {
        self.build_network_with_generators(input, classes).0
    }

    /// [`TrainConfig::build_network`], with handles to the random generators inside the
    /// network, by name (`"dropout.0"`, `"dropout.1"` for the CNN's dropout masks; none for the
    /// other networks), so that their state can be saved and restored with a run.
    pub fn build_network_with_generators<B: Backend>(
        &self,
        input: usize,
        classes: usize,
    ) -> (Box<dyn Forward<B>>, Vec<(String, Generator)>) {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(self.seed);
        match self.model {
            Architecture::Mlp => (Box::new(self.build_model::<B>(input, classes)), Vec::new()),
            Architecture::Lenet => (Box::new(models::lenet::<B>(&mut rng)), Vec::new()),
            Architecture::Cnn => {
                let generators = [
                    Generator::new(self.seed),
                    Generator::new(self.seed.wrapping_add(1)),
                ];
                let named = generators
                    .iter()
                    .enumerate()
                    .map(|(i, g)| (format!("dropout.{i}"), g.clone()))
                    .collect();
                let model = models::mnist_cnn_with_generators::<B>(&mut rng, generators);
                (Box::new(model), named)
            }
        }
    }

    /// Checks every setting, so that training cannot panic on one.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the first bad setting: a zero batch size, hidden size or
    /// evaluation batch size; a learning rate or momentum that is negative or not finite;
    /// a convolutional model on a data set other than MNIST.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.batch_size == 0 {
            return Err(ConfigError::invalid("batch size", 0, "must be at least 1"));
        }
        if self.eval_batch_size == 0 {
            return Err(ConfigError::invalid(
                "evaluation batch size",
                0,
                "must be at least 1",
            ));
        }
        if self.model.takes_images() && self.dataset != DataSet::Mnist {
            return Err(ConfigError::invalid(
                "model",
                self.model,
                "takes 28×28 MNIST images; train it on the mnist data set",
            ));
        }
        if self.hidden.contains(&0) {
            return Err(ConfigError::invalid(
                "hidden sizes",
                format_sizes(&self.hidden),
                "every layer needs at least one unit",
            ));
        }
        let lr = self.optimizer.lr();
        if !(lr.is_finite() && lr >= 0.0) {
            return Err(ConfigError::invalid(
                "learning rate",
                lr,
                "must be a finite number ≥ 0",
            ));
        }
        if let OptimizerConfig::Sgd { momentum, .. } = self.optimizer {
            if !(momentum.is_finite() && momentum >= 0.0) {
                return Err(ConfigError::invalid(
                    "momentum",
                    momentum,
                    "must be a finite number ≥ 0",
                ));
            }
        }
        Ok(())
    }

    /// A one-line description: `784-64-64-10 ReLU, SGD lr 0.01, batch 512, 5 epochs, seed 42`
    /// (with `input` and `classes` the data set's sizes), or the network's name for a
    /// convolutional one.
    pub fn describe(&self, input: usize, classes: usize) -> String {
        let init = match self.init {
            Init::Uniform => "",
            Init::StandardNormal => " (N(0,1) weights)",
        };
        let network = match self.model {
            Architecture::Mlp => format!(
                "{} {}{init}",
                format_sizes(&self.layer_sizes(input, classes)).replace(',', "-"),
                activation_name(self.activation)
            ),
            Architecture::Lenet => "LeNet-5".to_string(),
            Architecture::Cnn => "CNN 32-64-128 with batch norm and dropout".to_string(),
        };
        format!(
            "{network}, {}{}, batch {}, {} epoch{}{}, seed {}",
            self.optimizer,
            match self.schedule {
                LrSchedule::Constant => "",
                LrSchedule::Cosine => " (cosine schedule)",
            },
            self.batch_size,
            self.epochs,
            if self.epochs == 1 { "" } else { "s" },
            if self.shuffle { "" } else { ", no shuffling" },
            self.seed
        )
    }
}

/// `[64, 64]` → `"64,64"`.
pub(super) fn format_sizes(sizes: &[usize]) -> String {
    sizes
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(",")
}
