//! The errors of the training module: a bad setting ([`ConfigError`]), or a run that cannot
//! start or go on ([`TrainError`]: data that cannot be found or read, a model without
//! parameters, a checkpoint that does not fit, a run that diverged).

use std::path::PathBuf;

use thiserror::Error;

use super::checkpoint::CheckpointError;
use crate::data::DataError;
use crate::optim::OptimError;

/// The four MNIST files, for the messages.
const MNIST_NAMES: &str = "train-images-idx3-ubyte, train-labels-idx1-ubyte, \
                           t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte";

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

/// Why a training run could not start or could not finish.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TrainError {
    /// The MNIST directory does not exist.
    #[error(
        "MNIST data directory {} not found. Either point at a directory holding {MNIST_NAMES} \
         (raw or .gz) with --data-dir DIR or {env_var}=DIR, or fetch them into {} with \
         --download (train_mnist; duograd::data::download_mnist in a program)",
        path.display(),
        path.display()
    )]
    MnistDirNotFound {
        /// The directory looked for.
        path: PathBuf,
        /// The environment variable that names it (`MNIST_DIR`).
        env_var: &'static str,
    },
    /// The MNIST directory exists but lacks some of the four files.
    #[error(
        "MNIST data directory {} has no {} (nor .gz). Either point at a directory holding \
         {MNIST_NAMES} (raw or .gz) with --data-dir DIR or {env_var}=DIR, or fetch them into \
         {} with --download (train_mnist; duograd::data::download_mnist in a program)",
        dir.display(),
        missing.join(", "),
        dir.display()
    )]
    MnistFilesMissing {
        /// The directory looked in.
        dir: PathBuf,
        /// The standard names of the files not found there, without `.gz`.
        missing: Vec<&'static str>,
        /// The environment variable that names the directory (`MNIST_DIR`).
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
    /// A batch's loss was not a finite number (NaN or infinite): the weights have blown up and
    /// training stopped there. Usually the learning rate is too high.
    #[error(
        "training diverged: the loss became {loss} at epoch {epoch}, batch {batch} of {batches} \
         (learning rate {}); try a lower learning rate, e.g. --lr {}",
        short_number(*lr),
        short_number(lr / 10.0)
    )]
    Diverged {
        /// The epoch, from 1.
        epoch: usize,
        /// The batch within the epoch, from 1.
        batch: usize,
        /// Batches per epoch.
        batches: usize,
        /// The batch's loss (NaN or ±infinity).
        loss: f64,
        /// The learning rate of that step.
        lr: f64,
    },
}

/// `x` as a command line would take it: `0.001`, `1e6`, `1e-7`.
pub(crate) fn short_number(x: f64) -> String {
    if x != 0.0 && (x.abs() >= 1e4 || x.abs() < 1e-3) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}
