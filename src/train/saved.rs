//! [`SavedModel`]: a trained model on disk, either a checkpoint or a weights file, loaded to be
//! evaluated.

use std::path::{Path, PathBuf};

use super::checkpoint::{Checkpoint, CheckpointError};
use super::config::TrainConfig;
use super::data::Splits;
use super::error::TrainError;
use super::metrics::Evaluation;
use super::trainer::evaluate_as;
use crate::backend::Backend;
use crate::nn::{load_safetensors, Forward, Module};

/// A model saved to a file: a [`Checkpoint`] (which records the configuration that built the
/// model) or a weights file written by [`crate::nn::save_safetensors`] (which does not: the
/// caller says which configuration it belongs to).
///
/// ```
/// use duograd::train::{SavedModel, CheckpointError};
/// let err = SavedModel::open("/nonexistent/model.safetensors").err().unwrap();
/// assert!(err.to_string().contains("/nonexistent/model.safetensors"), "{err}");
/// ```
#[derive(Clone, Debug)]
pub enum SavedModel {
    /// A checkpoint of a run.
    Checkpoint(Box<Checkpoint>),
    /// A safetensors file of parameters and buffers only.
    Weights(PathBuf),
}

impl SavedModel {
    /// Opens `path`: a checkpoint if it has checkpoint metadata, else a weights file.
    ///
    /// # Errors
    /// As [`Checkpoint::read`], but for [`CheckpointError::NotACheckpoint`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CheckpointError> {
        let path = path.as_ref();
        match Checkpoint::read(path) {
            Ok(checkpoint) => Ok(SavedModel::Checkpoint(Box::new(checkpoint))),
            Err(CheckpointError::NotACheckpoint { .. }) => {
                Ok(SavedModel::Weights(path.to_path_buf()))
            }
            Err(e) => Err(e),
        }
    }

    /// The configuration a checkpoint records (`None` for a weights file).
    pub fn config(&self) -> Option<&TrainConfig> {
        match self {
            SavedModel::Checkpoint(c) => Some(c.config()),
            SavedModel::Weights(_) => None,
        }
    }

    /// The network of `config` for data of `input` features and `classes` classes, with the
    /// saved weights, in evaluation mode. For a checkpoint, pass its own configuration
    /// ([`SavedModel::config`]).
    ///
    /// # Errors
    /// [`TrainError::Checkpoint`] naming the tensor that is missing, unexpected or of another
    /// shape when the file does not fit the network.
    pub fn load<B: Backend>(
        &self,
        config: &TrainConfig,
        input: usize,
        classes: usize,
    ) -> Result<Box<dyn Forward<B>>, TrainError> {
        config.validate()?;
        let mut model = config.build_network::<B>(input, classes);
        match self {
            SavedModel::Checkpoint(c) => c.load_model(&*model)?,
            SavedModel::Weights(path) => {
                load_safetensors(&*model, path).map_err(CheckpointError::from)?
            }
        }
        model.eval();
        Ok(model)
    }

    /// Loads the model ([`SavedModel::load`]) and evaluates it on `splits.test`.
    ///
    /// # Errors
    /// As [`SavedModel::load`].
    pub fn evaluate<B: Backend>(
        &self,
        config: &TrainConfig,
        splits: &Splits,
    ) -> Result<Evaluation, TrainError> {
        let model = self.load::<B>(config, splits.input_size(), splits.classes())?;
        Ok(evaluate_as(
            &*model,
            &splits.test,
            config.eval_batch_size,
            config.model.takes_images(),
        ))
    }
}
