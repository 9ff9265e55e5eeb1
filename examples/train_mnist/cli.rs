//! The command line: flags, and how they become a [`TrainConfig`].

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::parser::ValueSource;
use clap::{ArgMatches, Parser, ValueEnum};
use duograd::nn::{Activation, Init};
use duograd::train::{
    parse_activation, parse_hidden, parse_init, Architecture, ConfigError, DataSet, LrSchedule,
    Overrides, Preset, TrainConfig,
};

/// The array backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendKind {
    /// `duograd::backends::NdArray`.
    Ndarray,
    /// `duograd::backends::Nalgebra`.
    Nalgebra,
}

/// The element type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Precision {
    /// 32-bit floats.
    F32,
    /// 64-bit floats.
    F64,
}

const AFTER_HELP: &str = "\
Presets (flags given explicitly override the preset's settings):
  default  784-256-128-10 ReLU, Adam lr 1e-3 cosine, batch 128, 3 epochs (>= 97% test accuracy)
  arena    784-64-64-10 ReLU, SGD lr 0.01, batch 512, 5 epochs            (>= 87%)
  course   784-64-10 tanh, N(0,1) weights, SGD lr 0.01 momentum 0.9,
           batch 64, 2 epochs                                             (> 82%)
  digits   8x8 digits, 64-32-10 ReLU, Adam lr 1e-3, batch 64, 30 epochs   (>= 95%)
  wide     784-256-256-10 ReLU, SGD lr 0.05, batch 128, 3 epochs          (>= 95%)
  best     784-512-256-10 ReLU, Adam lr 1e-3 cosine, batch 128, 5 epochs  (>= 98%)
  lenet    LeNet-5 on 28x28 images, Adam lr 1e-3 cosine, batch 64, 10 epochs (>= 99.0%)
  cnn      3 conv blocks (32-64-128, batch norm) + dropout, Adam lr 1e-3 cosine,
           batch 128, 5 epochs                                            (>= 99.4%)

Data: MNIST is read from --data-dir, else $MNIST_DIR, else data/mnist (the four IDX files,
raw or .gz). The digits CSV from --data-dir, else $DIGITS_CSV, else data/digits/digits.csv.gz.
No data yet? --download fetches MNIST into that directory and checks its SHA-256 (built with
`cargo run --release --features download --example train_mnist -- --download`).

Divergence: a loss that becomes NaN or infinite stops the run with an error (exit status 1);
an epoch whose mean training loss ends above 100 times the first batch's gets a warning.

Examples:
  train_mnist                                   # the default preset on ndarray, f32
  train_mnist --preset arena --backend nalgebra
  train_mnist --hidden 128,64 --optimizer sgd --lr 0.05 --momentum 0.9 --epochs 4
  train_mnist --preset best --save model.safetensors --plot curves.svg --metrics metrics.json
  train_mnist --preset lenet --backend nalgebra
  train_mnist --model cnn --epochs 2 --batch-size 64

Checkpoints:
  train_mnist --preset best --checkpoint run.ckpt   # saved after every epoch
  train_mnist --resume run.ckpt                     # continue a stopped run where it was
  train_mnist --resume run.ckpt --epochs 8          # continue it, and run to 8 epochs
  train_mnist --eval run.ckpt                       # test accuracy and loss, no training
  train_mnist --preset best --eval model.safetensors";

/// Trains a classifier on MNIST (an MLP, LeNet-5 or a small CNN) or on the 8×8 digits with
/// duograd, on the ndarray or the nalgebra backend.
#[derive(Debug, Parser)]
#[command(name = "train_mnist", version, after_help = AFTER_HELP)]
pub struct Args {
    /// Array backend.
    #[arg(long, value_enum, default_value_t = BackendKind::Ndarray)]
    pub backend: BackendKind,

    /// Element type.
    #[arg(long, value_enum, default_value_t = Precision::F32)]
    pub precision: Precision,

    /// Named configuration to start from.
    #[arg(long, default_value = "default", value_parser = choice(&["default", "arena", "course", "digits", "wide", "best", "lenet", "cnn"], str::parse::<Preset>))]
    pub preset: Preset,

    /// Network: an MLP (shaped by --hidden, --activation, --init), LeNet-5 or the CNN
    /// (default: the preset's).
    #[arg(long, value_parser = choice(&["mlp", "lenet", "cnn"], str::parse::<Architecture>))]
    pub model: Option<Architecture>,

    /// Data set (default: the preset's).
    #[arg(long, value_parser = choice(&["mnist", "digits"], str::parse::<DataSet>))]
    pub dataset: Option<DataSet>,

    /// Hidden layer sizes, comma-separated (e.g. 64,64; "none" for a linear model).
    #[arg(long, value_name = "SIZES", value_parser = |s: &str| parse_hidden(s).map(Hidden))]
    pub hidden: Option<Hidden>,

    /// Nonlinearity between layers.
    #[arg(long, value_parser = choice(&["relu", "tanh", "sigmoid"], parse_activation))]
    pub activation: Option<Activation>,

    /// Weight initialization: uniform (PyTorch's default) or normal (N(0,1), zero biases).
    #[arg(long, value_parser = choice(&["uniform", "normal"], parse_init))]
    pub init: Option<Init>,

    /// Optimizer (switching kind resets the learning rate to its default: sgd 0.01, adam 1e-3).
    #[arg(long, value_parser = ["sgd", "adam"])]
    pub optimizer: Option<String>,

    /// Learning rate.
    #[arg(long)]
    pub lr: Option<f64>,

    /// SGD momentum factor.
    #[arg(long)]
    pub momentum: Option<f64>,

    /// Learning-rate schedule: constant, or cosine annealing to 0 over the run.
    #[arg(long, value_parser = choice(&["constant", "cosine"], str::parse::<LrSchedule>))]
    pub schedule: Option<LrSchedule>,

    /// Training samples per mini-batch.
    #[arg(long)]
    pub batch_size: Option<usize>,

    /// Passes over the training set.
    #[arg(long)]
    pub epochs: Option<usize>,

    /// Seed of the weights, the shuffling and the digits split.
    #[arg(long)]
    pub seed: Option<u64>,

    /// Visit the training samples in file order every epoch.
    #[arg(long)]
    pub no_shuffle: bool,

    /// Hold out the last 10,000 MNIST training images for validation (train on 50,000).
    #[arg(long)]
    pub validation: bool,

    /// MNIST directory or digits CSV [default: $MNIST_DIR / $DIGITS_CSV, else data/mnist /
    /// data/digits/digits.csv.gz].
    #[arg(long, value_name = "PATH")]
    pub data_dir: Option<PathBuf>,

    /// Fetch the four MNIST files into the data directory first (those already there are
    /// kept if their SHA-256 checks out), then train. Needs the `download` cargo feature.
    #[arg(long)]
    pub download: bool,

    /// Where --download fetches from [default: a public mirror of the official archives].
    #[arg(long, value_name = "URL", requires = "download")]
    pub mirror: Option<String>,

    /// Save the trained weights (safetensors, PyTorch parameter names).
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,

    /// Save the whole run (weights, optimizer state, schedule, random state, metrics) to FILE
    /// after every epoch, atomically.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,

    /// Continue the run saved in FILE (by --checkpoint) to its number of epochs, writing
    /// checkpoints back to FILE (or to --checkpoint). Flags that would change the run are
    /// refused; --epochs N changes its length.
    #[arg(long, value_name = "FILE")]
    pub resume: Option<PathBuf>,

    /// Evaluate the model in FILE (a checkpoint, or weights saved by --save for the model the
    /// other flags describe) on the test set; no training.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["resume", "checkpoint", "save", "plot", "metrics"])]
    pub eval: Option<PathBuf>,

    /// Write an SVG plot of the training loss per batch and the accuracy per epoch.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,

    /// Write the configuration and all metrics as JSON.
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,

    /// Print only the final summary (no progress bar, no per-epoch lines).
    #[arg(long, short)]
    pub quiet: bool,

    /// Threads for matrix products (default: DUOGRAD_THREADS, else every CPU); 1 keeps all
    /// work on one thread.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub threads: Option<u32>,
}

/// Hidden layer sizes as one flag value (a plain `Vec` would make clap expect repeated flags).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hidden(pub Vec<usize>);

/// A parser accepting only `names` (listed in `--help` and in error messages), mapped to a value
/// by `parse`.
fn choice<T, E>(
    names: &'static [&'static str],
    parse: fn(&str) -> Result<T, E>,
) -> impl TypedValueParser<Value = T>
where
    T: Clone + Send + Sync + 'static,
    E: std::fmt::Debug + 'static,
{
    PossibleValuesParser::new(names).map(move |s| parse(&s).expect("a listed name parses"))
}

impl Args {
    /// The preset's configuration with the flags' changes, validated.
    pub fn config(&self) -> Result<TrainConfig, ConfigError> {
        let overrides = Overrides {
            dataset: self.dataset,
            model: self.model,
            hidden: self.hidden.as_ref().map(|h| h.0.clone()),
            activation: self.activation,
            init: self.init,
            optimizer: self.optimizer.clone(),
            lr: self.lr,
            momentum: self.momentum,
            schedule: self.schedule,
            batch_size: self.batch_size,
            epochs: self.epochs,
            seed: self.seed,
            no_shuffle: self.no_shuffle,
            validation: self.validation,
        };
        overrides.apply(self.preset.config())
    }
}

/// The flags that shape a run, by argument id: the data, the model, the optimization, and the
/// numbers it computes with.
const RUN_FLAGS: [(&str, &str); 17] = [
    ("preset", "--preset"),
    ("model", "--model"),
    ("dataset", "--dataset"),
    ("hidden", "--hidden"),
    ("activation", "--activation"),
    ("init", "--init"),
    ("optimizer", "--optimizer"),
    ("lr", "--lr"),
    ("momentum", "--momentum"),
    ("schedule", "--schedule"),
    ("batch_size", "--batch-size"),
    ("epochs", "--epochs"),
    ("seed", "--seed"),
    ("no_shuffle", "--no-shuffle"),
    ("validation", "--validation"),
    ("backend", "--backend"),
    ("precision", "--precision"),
];

/// Whether the argument `id` was given on the command line (not left to its default).
pub fn given(matches: &ArgMatches, id: &str) -> bool {
    matches.value_source(id) == Some(ValueSource::CommandLine)
}

/// The run-shaping flags given on the command line, but for those in `allowed`.
pub fn given_run_flags(matches: &ArgMatches, allowed: &[&str]) -> Vec<&'static str> {
    RUN_FLAGS
        .iter()
        .filter(|(id, flag)| !allowed.contains(flag) && given(matches, id))
        .map(|&(_, flag)| flag)
        .collect()
}

impl BackendKind {
    /// The backend called `name` (`"ndarray"`), as a checkpoint records it.
    pub fn named(name: &str) -> Option<Self> {
        <Self as ValueEnum>::from_str(name, false).ok()
    }

    /// The name: `"ndarray"` or `"nalgebra"`.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Ndarray => "ndarray",
            BackendKind::Nalgebra => "nalgebra",
        }
    }
}

impl Precision {
    /// The precision called `name` (`"f32"`), as a checkpoint records it.
    pub fn named(name: &str) -> Option<Self> {
        <Self as ValueEnum>::from_str(name, false).ok()
    }

    /// The name: `"f32"` or `"f64"`.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F64 => "f64",
        }
    }
}
