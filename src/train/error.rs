//! The errors of the training module: a bad setting ([`ConfigError`]), or a run that cannot
//! start or go on ([`TrainError`]: data that cannot be found or read, a model without
//! parameters, a checkpoint that does not fit).

use std::path::PathBuf;

use thiserror::Error;

use super::checkpoint::CheckpointError;
use crate::data::DataError;
use crate::optim::OptimError;

/// A setting that cannot be used: an unknown name or a value out of range.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A name that is not one of the choices (`--preset fast`).
    #[error("unknown {what} {given:?}; expected one of: {}", choices.join(", "))]
    Unknown {
        /// What was being named (`"preset"`, `"optimizer"`).
        what: &'static str,
        /// The name given.
        given: String,
        /// The valid names.
        choices: Vec<String>,
    },
    /// A value that is out of range or malformed.
    #[error("invalid {what} {value}: {reason}")]
    Invalid {
        /// The setting (`"batch size"`).
        what: &'static str,
        /// The value given, as text.
        value: String,
        /// Why it was rejected.
        reason: &'static str,
    },
}

impl ConfigError {
    pub(crate) fn unknown(what: &'static str, given: &str, choices: &[&str]) -> Self {
        ConfigError::Unknown {
            what,
            given: given.to_string(),
            choices: choices.iter().map(|c| c.to_string()).collect(),
        }
    }

    pub(crate) fn invalid(
        what: &'static str,
        value: impl std::fmt::Display,
        reason: &'static str,
    ) -> Self {
        ConfigError::Invalid {
            what,
            value: value.to_string(),
            reason,
        }
    }
}

/// Why a training run could not start.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TrainError {
    /// The MNIST directory does not exist.
    #[error(
        "MNIST data directory {} not found. Set {env_var} to the directory holding \
         train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and \
         t10k-labels-idx1-ubyte (raw or .gz), or pass --data-dir DIR",
        path.display()
    )]
    MnistDirNotFound {
        /// The directory looked for.
        path: PathBuf,
        /// The environment variable that names it (`MNIST_DIR`).
        env_var: &'static str,
    },
    /// The digits CSV does not exist.
    #[error(
        "digits data file {} not found. Set {env_var} to the digits CSV (raw or .gz, \
         64 pixels then the label on each line), or pass --data-dir FILE",
        path.display()
    )]
    DigitsFileNotFound {
        /// The file (or directory) looked for.
        path: PathBuf,
        /// The environment variable that names it (`DIGITS_CSV`).
        env_var: &'static str,
    },
    /// A data file exists but could not be read or is malformed; the error names the file.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A setting is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The optimizer cannot be built for the model (e.g. the model has no parameters).
    #[error(transparent)]
    Optimizer(#[from] OptimError),
    /// A checkpoint cannot be written, read, or does not fit the run.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}
