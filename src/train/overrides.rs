//! Changing a preset from a command line: [`Overrides`] and the parsers of flag values.

use super::config::{Architecture, DataSet, LrSchedule, OptimizerConfig, TrainConfig};
use super::error::ConfigError;
use crate::nn::{Activation, Init};

/// Changes to a preset's settings, each applied only when given: what a command line's flags
/// say. Fields left `None` (or `false`) keep the preset's value.
///
/// Changing the optimizer's kind resets its learning rate to that optimizer's default (and the
/// momentum to 0) unless `lr` (`momentum`) is given too.
///
/// ```
/// use duograd::train::{OptimizerConfig, Overrides, Preset};
///
/// let overrides = Overrides {
///     hidden: Some(vec![128]),
///     optimizer: Some("adam".into()),
///     epochs: Some(1),
///     ..Overrides::default()
/// };
/// let config = overrides.apply(Preset::Arena.config())?;
/// assert_eq!(config.hidden, [128]);
/// assert_eq!(config.optimizer, OptimizerConfig::Adam { lr: 1e-3 });
/// assert_eq!(config.batch_size, 512); // kept from the preset
/// # Ok::<(), duograd::train::ConfigError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overrides {
    /// The data set.
    pub dataset: Option<DataSet>,
    /// The network.
    pub model: Option<Architecture>,
    /// Hidden layer sizes.
    pub hidden: Option<Vec<usize>>,
    /// The activation.
    pub activation: Option<Activation>,
    /// The weight initialization.
    pub init: Option<Init>,
    /// The optimizer's name: `"sgd"` or `"adam"`.
    pub optimizer: Option<String>,
    /// The learning rate.
    pub lr: Option<f64>,
    /// SGD's momentum factor.
    pub momentum: Option<f64>,
    /// The learning-rate schedule.
    pub schedule: Option<LrSchedule>,
    /// Samples per batch.
    pub batch_size: Option<usize>,
    /// Number of epochs.
    pub epochs: Option<usize>,
    /// The seed.
    pub seed: Option<u64>,
    /// Turn shuffling off.
    pub no_shuffle: bool,
    /// Hold out a validation set.
    pub validation: bool,
}

impl Overrides {
    /// `config` with these changes, validated.
    ///
    /// # Errors
    /// [`ConfigError::Unknown`] for an unknown optimizer name; [`ConfigError::Invalid`] for a
    /// momentum given to Adam, hidden sizes, an activation or an initialization given to a
    /// convolutional model, or a setting [`TrainConfig::validate`] rejects.
    pub fn apply(&self, mut config: TrainConfig) -> Result<TrainConfig, ConfigError> {
        if let Some(dataset) = self.dataset {
            config.dataset = dataset;
        }
        if let Some(model) = self.model {
            config.model = model;
        }
        let shapes_mlp = self.hidden.is_some() || self.activation.is_some() || self.init.is_some();
        if config.model != Architecture::Mlp && shapes_mlp {
            return Err(ConfigError::invalid(
                "model",
                config.model,
                "takes no hidden sizes, activation or initialization (they shape the mlp model)",
            ));
        }
        if let Some(hidden) = &self.hidden {
            config.hidden = hidden.clone();
        }
        if let Some(activation) = self.activation {
            config.activation = activation;
        }
        if let Some(init) = self.init {
            config.init = init;
        }
        if let Some(name) = &self.optimizer {
            let chosen = OptimizerConfig::named(name)?;
            if chosen.name() != config.optimizer.name() {
                config.optimizer = chosen;
            }
        }
        if let Some(lr) = self.lr {
            config.optimizer = config.optimizer.with_lr(lr);
        }
        if let Some(momentum) = self.momentum {
            config.optimizer = config.optimizer.with_momentum(momentum)?;
        }
        if let Some(schedule) = self.schedule {
            config.schedule = schedule;
        }
        if let Some(batch_size) = self.batch_size {
            config.batch_size = batch_size;
        }
        if let Some(epochs) = self.epochs {
            config.epochs = epochs;
        }
        if let Some(seed) = self.seed {
            config.seed = seed;
        }
        config.shuffle &= !self.no_shuffle;
        config.validation |= self.validation;
        config.validate()?;
        Ok(config)
    }
}

/// Parses hidden layer sizes written as `"64,64"` (spaces allowed; `""` or `"none"` for no
/// hidden layer).
///
/// # Errors
/// [`ConfigError::Invalid`] if a size is not a positive integer.
///
/// ```
/// use duograd::train::parse_hidden;
/// assert_eq!(parse_hidden("512, 256")?, [512, 256]);
/// assert_eq!(parse_hidden("none")?, Vec::<usize>::new());
/// assert!(parse_hidden("64,x").is_err());
/// # Ok::<(), duograd::train::ConfigError>(())
/// ```
pub fn parse_hidden(text: &str) -> Result<Vec<usize>, ConfigError> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|s| match s.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(ConfigError::invalid(
                "hidden sizes",
                text,
                "expected positive integers separated by commas, e.g. 64,64",
            )),
        })
        .collect()
}

/// Parses an activation name: `relu`, `tanh` or `sigmoid` (any case).
///
/// # Errors
/// [`ConfigError::Unknown`] for another name.
pub fn parse_activation(name: &str) -> Result<Activation, ConfigError> {
    match name.trim().to_ascii_lowercase().as_str() {
        "relu" => Ok(Activation::Relu),
        "tanh" => Ok(Activation::Tanh),
        "sigmoid" => Ok(Activation::Sigmoid),
        _ => Err(ConfigError::unknown(
            "activation",
            name,
            &["relu", "tanh", "sigmoid"],
        )),
    }
}

/// Parses a weight initialization: `uniform` (PyTorch's default, [`Init::Uniform`]) or
/// `normal` (weights from N(0, 1), zero biases: [`Init::StandardNormal`]).
///
/// # Errors
/// [`ConfigError::Unknown`] for another name.
pub fn parse_init(name: &str) -> Result<Init, ConfigError> {
    match name.trim().to_ascii_lowercase().as_str() {
        "uniform" => Ok(Init::Uniform),
        "normal" | "standard-normal" => Ok(Init::StandardNormal),
        _ => Err(ConfigError::unknown("init", name, &["uniform", "normal"])),
    }
}
