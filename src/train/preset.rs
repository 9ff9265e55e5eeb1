//! The named configurations ([`Preset`]) and the accuracy each is known to reach.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::config::{Architecture, DataSet, LrSchedule, OptimizerConfig, TrainConfig};
use super::error::ConfigError;
use crate::nn::{Activation, Init};

impl TrainConfig {
    /// The configuration of `preset`.
    pub fn preset(preset: Preset) -> Self {
        let base = TrainConfig {
            dataset: DataSet::Mnist,
            model: Architecture::Mlp,
            hidden: vec![],
            activation: Activation::Relu,
            init: Init::Uniform,
            optimizer: OptimizerConfig::Adam { lr: 1e-3 },
            schedule: LrSchedule::Constant,
            batch_size: 64,
            epochs: 1,
            seed: 42,
            shuffle: true,
            validation: false,
            eval_batch_size: 1000,
        };
        // A convolutional network's activations are far larger than an MLP's: at 1,000 images
        // one 32-channel 28×28 map of `f32` is 100 MB, several of which are alive at once.
        const CONV_EVAL_BATCH_SIZE: usize = 256;
        match preset {
            Preset::Default => TrainConfig {
                hidden: vec![256, 128],
                schedule: LrSchedule::Cosine,
                batch_size: 128,
                epochs: 3,
                ..base
            },
            Preset::Arena => TrainConfig {
                hidden: vec![64, 64],
                optimizer: OptimizerConfig::Sgd {
                    lr: 0.01,
                    momentum: 0.0,
                },
                batch_size: 512,
                epochs: 5,
                ..base
            },
            Preset::Course => TrainConfig {
                hidden: vec![64],
                activation: Activation::Tanh,
                init: Init::StandardNormal,
                optimizer: OptimizerConfig::Sgd {
                    lr: 0.01,
                    momentum: 0.9,
                },
                batch_size: 64,
                epochs: 2,
                ..base
            },
            Preset::Digits => TrainConfig {
                dataset: DataSet::Digits,
                hidden: vec![32],
                batch_size: 64,
                epochs: 30,
                ..base
            },
            Preset::Wide => TrainConfig {
                hidden: vec![256, 256],
                optimizer: OptimizerConfig::Sgd {
                    lr: 0.05,
                    momentum: 0.0,
                },
                batch_size: 128,
                epochs: 3,
                ..base
            },
            Preset::Lenet => TrainConfig {
                model: Architecture::Lenet,
                schedule: LrSchedule::Cosine,
                batch_size: 64,
                eval_batch_size: CONV_EVAL_BATCH_SIZE,
                epochs: 10,
                ..base
            },
            Preset::Cnn => TrainConfig {
                model: Architecture::Cnn,
                schedule: LrSchedule::Cosine,
                batch_size: 128,
                eval_batch_size: CONV_EVAL_BATCH_SIZE,
                epochs: 5,
                ..base
            },
            Preset::Best => TrainConfig {
                hidden: vec![512, 256],
                schedule: LrSchedule::Cosine,
                batch_size: 128,
                epochs: 5,
                ..base
            },
        }
    }
}

/// A named configuration (see [`TrainConfig::preset`]), with the accuracy it is known to reach.
///
/// | preset | data | model | optimizer | batch | epochs | bar |
/// |---|---|---|---|---|---|---|
/// | `default` | MNIST | 784-256-128-10 ReLU | Adam 1e-3, cosine schedule | 128 | 3 | ≥ 97% |
/// | `arena` | MNIST | 784-64-64-10 ReLU | SGD 0.01 | 512 | 5 | ≥ 87% |
/// | `course` | MNIST | 784-64-10 tanh, N(0,1) weights, zero biases | SGD 0.01, momentum 0.9 | 64 | 2 | > 82% |
/// | `digits` | 8×8 digits | 64-32-10 ReLU | Adam 1e-3 | 64 | 30 | ≥ 95% |
/// | `wide` | MNIST | 784-256-256-10 ReLU | SGD 0.05 | 128 | 3 | ≥ 95% |
/// | `best` | MNIST | 784-512-256-10 ReLU | Adam 1e-3, cosine schedule | 128 | 5 | ≥ 98% |
/// | `lenet` | MNIST images | LeNet-5 | Adam 1e-3, cosine schedule | 64 | 10 | ≥ 99.0% |
/// | `cnn` | MNIST images | CNN 32-64-128, batch norm, dropout | Adam 1e-3, cosine schedule | 128 | 5 | ≥ 99.4% |
///
/// ```
/// use duograd::train::Preset;
/// let p: Preset = "course".parse()?;
/// assert_eq!(p, Preset::Course);
/// assert_eq!(p.to_string(), "course");
/// assert!("fast".parse::<Preset>().is_err());
/// # Ok::<(), duograd::train::ConfigError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// A good default: 784-256-128-10 ReLU, Adam lr 1e-3 annealed to 0 (cosine), batch 128,
    /// 3 epochs (≥ 97% MNIST test accuracy).
    #[default]
    Default,
    /// ARENA's MNIST exercise: 784-64-64-10 ReLU, SGD lr 0.01, batch 512, 5 epochs (≥ 87%).
    Arena,
    /// The PyTorch course's hand-written network: 784-64-10 tanh with N(0, 1) weights, SGD lr
    /// 0.01 momentum 0.9, batch 64, 2 epochs (> 82%).
    Course,
    /// The 8×8 digits: 64-32-10 ReLU, Adam lr 1e-3, batch 64, 30 epochs (≥ 95% on the held-out
    /// 20%).
    Digits,
    /// The PyTorch comparison's wider network (`scripts/compare_pytorch.py`): 784-256-256-10
    /// ReLU, SGD lr 0.05 without momentum, constant learning rate, batch 128, 3 epochs (≥ 95%).
    Wide,
    /// The most accurate MLP: 784-512-256-10 ReLU, Adam lr 1e-3 annealed to 0 (cosine), batch 128,
    /// 5 epochs (≥ 98%).
    Best,
    /// LeNet-5 on MNIST images: Adam lr 1e-3 with a cosine schedule, batch 64, 10 epochs
    /// (≥ 99.0%).
    Lenet,
    /// The batch-normalized CNN on MNIST images: Adam lr 1e-3 with a cosine schedule, batch
    /// 128, 5 epochs (≥ 99.4%).
    Cnn,
}

impl Preset {
    /// Every preset, in the order of the table above.
    pub const ALL: [Preset; 8] = [
        Preset::Default,
        Preset::Arena,
        Preset::Course,
        Preset::Digits,
        Preset::Wide,
        Preset::Best,
        Preset::Lenet,
        Preset::Cnn,
    ];

    /// The preset's name (`"arena"`).
    pub fn name(self) -> &'static str {
        match self {
            Preset::Default => "default",
            Preset::Arena => "arena",
            Preset::Course => "course",
            Preset::Digits => "digits",
            Preset::Wide => "wide",
            Preset::Best => "best",
            Preset::Lenet => "lenet",
            Preset::Cnn => "cnn",
        }
    }

    /// The test accuracy (a fraction) this preset reaches, as promised in the table above;
    /// `course` promises strictly more than its bar, the others at least.
    pub fn target_accuracy(self) -> f64 {
        match self {
            Preset::Default => 0.97,
            Preset::Arena => 0.87,
            Preset::Course => 0.82,
            Preset::Digits => 0.95,
            Preset::Wide => 0.95,
            Preset::Best => 0.98,
            Preset::Lenet => 0.99,
            Preset::Cnn => 0.994,
        }
    }

    /// The preset's configuration (as [`TrainConfig::preset`]).
    pub fn config(self) -> TrainConfig {
        TrainConfig::preset(self)
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Preset {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, ConfigError> {
        let wanted = s.trim().to_ascii_lowercase();
        Preset::ALL
            .into_iter()
            .find(|p| p.name() == wanted)
            .ok_or_else(|| {
                let names: Vec<&str> = Preset::ALL.iter().map(|p| p.name()).collect();
                ConfigError::unknown("preset", s, &names)
            })
    }
}
