//! [`Run`]: a training run that can be saved to a checkpoint after every epoch and resumed
//! from one, continuing exactly as if it had never stopped.

use std::path::Path;

use super::checkpoint::{
    write_checkpoint, Checkpoint, CheckpointError, DataOrder, RunState, SavedGenerator,
    CHECKPOINT_VERSION,
};
use super::config::TrainConfig;
use super::data::Splits;
use super::error::{ConfigError, TrainError};
use super::observer::Observer;
use super::trainer::{run_epochs, Progress, Trained};
use crate::backend::Backend;
use crate::nn::{Forward, Generator, Module};
use crate::optim::Optimizer;
use crate::Element;

/// A training run: the model, its optimizer, the random generators inside the model and where
/// the run stands. Start one ([`Run::new`]) or continue one from a checkpoint
/// ([`Run::resume`]), then [`train`](Run::train) it, optionally writing a checkpoint after
/// every epoch.
///
/// A run resumed from the checkpoint of epoch `k` trains epochs `k + 1…` with the same weights,
/// optimizer state, learning-rate schedule position, data order and dropout masks as the run
/// that wrote it: on the same backend and precision it ends with bit-identical weights and
/// metrics.
///
/// ```
/// use duograd::data::Dataset;
/// use duograd::train::{Checkpoint, DataSet, Preset, Run, Splits, TrainConfig};
/// use duograd::backends::NdArray;
///
/// let points = |n: usize| {
///     let inputs = (0..n).flat_map(|i| [(i % 2) as f32, 0.1 * (i % 7) as f32]);
///     Dataset::new(inputs.collect(), (0..n).map(|i| i % 2).collect(), 2, 2)
/// };
/// let splits = Splits::new(DataSet::Mnist, points(64), None, points(16), "toy".into());
/// let config = TrainConfig { hidden: vec![8], batch_size: 16, epochs: 3, ..Preset::Default.config() };
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("run.ckpt");
/// let first = Run::<NdArray<f32>>::new(&config, &splits)?.train(&splits, (), Some(&path))?;
///
/// // Later: continue the run from its last checkpoint, to 5 epochs.
/// let mut run = Run::<NdArray<f32>>::resume(&Checkpoint::read(&path)?, &splits)?;
/// assert_eq!(run.epochs_done(), 3);
/// run.extend_to(5)?;
/// let longer = run.train(&splits, (), Some(&path))?;
/// assert_eq!(longer.metrics.epochs.len(), 5);
/// assert_eq!(longer.metrics.batch_losses[..12], first.metrics.batch_losses[..]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Run<B: Backend> {
    config: TrainConfig,
    model: Box<dyn Forward<B>>,
    optimizer: Box<dyn Optimizer<B>>,
    generators: Vec<(String, Generator)>,
    progress: Progress,
    input_size: usize,
    classes: usize,
}

impl<B: Backend> Run<B> {
    /// A new run of `config` on `splits`: the model initialized from the seed, a fresh
    /// optimizer.
    ///
    /// # Errors
    /// [`TrainError::Config`] if `config` does not [`validate`](TrainConfig::validate);
    /// [`TrainError::Optimizer`] if the optimizer cannot be built (a model without
    /// parameters).
    pub fn new(config: &TrainConfig, splits: &Splits) -> Result<Self, TrainError> {
        config.validate()?;
        let (input_size, classes) = (splits.input_size(), splits.classes());
        let (model, generators) = config.build_network_with_generators::<B>(input_size, classes);
        let optimizer = config.optimizer.build(model.parameters())?;
        let progress = Progress::start::<B>(config, splits, model.num_parameters(), optimizer.lr());
        Ok(Run {
            config: config.clone(),
            model,
            optimizer,
            generators,
            progress,
            input_size,
            classes,
        })
    }

    /// The run saved in `checkpoint`, ready to continue on `splits` (the same data it was
    /// training on).
    ///
    /// # Errors
    /// [`CheckpointError::Mismatch`] if the checkpoint was written on another backend or
    /// precision, or for data of another shape or size; [`CheckpointError::Metadata`] if its
    /// record of the run is inconsistent; as [`Checkpoint::load_model`] and
    /// [`Checkpoint::load_optimizer`] if its tensors do not fit the network its configuration
    /// describes; as [`Run::new`].
    pub fn resume(checkpoint: &Checkpoint, splits: &Splits) -> Result<Self, TrainError> {
        let state = checkpoint.state();
        let mismatch = |what, recorded: String, actual: String| CheckpointError::Mismatch {
            path: checkpoint.path().to_path_buf(),
            what,
            recorded,
            actual,
        };
        let checks = [
            ("backend", state.backend.clone(), B::name().to_string()),
            (
                "precision",
                state.precision.clone(),
                B::Elem::NAME.to_string(),
            ),
            (
                "data set",
                state.config.dataset.to_string(),
                splits.dataset.to_string(),
            ),
            (
                "input size",
                state.input_size.to_string(),
                splits.input_size().to_string(),
            ),
            (
                "number of classes",
                state.classes.to_string(),
                splits.classes().to_string(),
            ),
            (
                "number of training samples",
                state.train_samples.to_string(),
                splits.train.len().to_string(),
            ),
        ];
        if let Some((what, recorded, actual)) = checks.into_iter().find(|(_, r, a)| r != a) {
            return Err(mismatch(what, recorded, actual).into());
        }
        let mut run = Run::new(&state.config, splits)?;
        let inconsistent = |reason: String| CheckpointError::Metadata {
            path: checkpoint.path().to_path_buf(),
            reason,
        };
        let per_epoch = run.progress.metrics.batches_per_epoch;
        let expected_order = DataOrder {
            shuffle: state.config.shuffle,
            seed: state.config.seed,
            next_epoch: state.epochs_done as u64,
        };
        if state.data_order != expected_order {
            return Err(inconsistent(format!(
                "data order {:?} does not follow from the configuration and epoch {} ({:?})",
                state.data_order, state.epochs_done, expected_order
            ))
            .into());
        }
        if state.metrics.epochs.len() != state.epochs_done
            || state.step != state.epochs_done * per_epoch
            || state.metrics.batch_losses.len() != state.step
        {
            return Err(inconsistent(format!(
                "{} epochs done, {} steps, but {} epochs and {} batch losses recorded \
                 ({per_epoch} batches per epoch)",
                state.epochs_done,
                state.step,
                state.metrics.epochs.len(),
                state.metrics.batch_losses.len()
            ))
            .into());
        }
        if state.epochs_done > state.config.epochs {
            return Err(inconsistent(format!(
                "{} epochs done of a run of {}",
                state.epochs_done, state.config.epochs
            ))
            .into());
        }
        checkpoint.load_model(&*run.model)?;
        checkpoint.load_optimizer(run.optimizer.as_mut())?;
        checkpoint.restore_generators(&run.generators)?;
        run.progress = Progress {
            epochs_done: state.epochs_done,
            step: state.step,
            base_lr: state.base_lr,
            metrics: state.metrics.clone(),
        };
        Ok(run)
    }

    /// The run's configuration.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Epochs finished so far.
    pub fn epochs_done(&self) -> usize {
        self.progress.epochs_done
    }

    /// The model.
    pub fn model(&self) -> &dyn Forward<B> {
        &*self.model
    }

    /// Changes the run's length to `epochs` (a learning-rate schedule is stretched or shrunk to
    /// the new length from where it stands).
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] if `epochs` is fewer than the epochs already done.
    pub fn extend_to(&mut self, epochs: usize) -> Result<(), ConfigError> {
        if epochs < self.progress.epochs_done {
            return Err(ConfigError::invalid(
                "epochs",
                epochs,
                "fewer than the epochs the run has already done",
            ));
        }
        self.config.epochs = epochs;
        self.progress.metrics.config.epochs = epochs;
        Ok(())
    }

    /// What a checkpoint of the run records besides its tensors.
    pub fn state(&self) -> RunState {
        run_state(
            &self.config,
            (self.input_size, self.classes),
            &self.generators,
            self.optimizer.params().len(),
            &self.progress,
        )
    }

    /// Writes a checkpoint of the run as it stands (see [`write_checkpoint`]).
    ///
    /// # Errors
    /// As [`write_checkpoint`].
    pub fn save_checkpoint(&self, path: impl AsRef<Path>) -> Result<(), CheckpointError> {
        write_checkpoint(path, &*self.model, &*self.optimizer, &self.state())
    }

    /// Trains the remaining epochs (see [`super::fit`]), reporting to `observer`, and writes a
    /// checkpoint to `checkpoint` after every epoch when given. The metrics returned cover the
    /// whole run, the epochs before a resume included.
    ///
    /// # Errors
    /// [`TrainError::Checkpoint`] if a checkpoint cannot be written (training stops there).
    pub fn train(
        self,
        splits: &Splits,
        observer: impl Observer,
        checkpoint: Option<&Path>,
    ) -> Result<Trained<B>, TrainError> {
        let Run {
            config,
            mut model,
            mut optimizer,
            generators,
            mut progress,
            input_size,
            classes,
        } = self;
        let num_params = optimizer.params().len();
        run_epochs(
            &mut *model,
            optimizer.as_mut(),
            splits,
            &config,
            observer,
            &mut progress,
            |model, optimizer, progress| match checkpoint {
                Some(path) => {
                    let state = run_state(
                        &config,
                        (input_size, classes),
                        &generators,
                        num_params,
                        progress,
                    );
                    write_checkpoint(path, model, optimizer, &state).map_err(TrainError::from)
                }
                None => Ok(()),
            },
        )?;
        Ok(Trained {
            model,
            metrics: progress.metrics,
        })
    }
}

/// The record of a run that stands at `progress`.
fn run_state(
    config: &TrainConfig,
    (input_size, classes): (usize, usize),
    generators: &[(String, Generator)],
    optimizer_params: usize,
    progress: &Progress,
) -> RunState {
    let metrics = &progress.metrics;
    RunState {
        version: CHECKPOINT_VERSION,
        backend: metrics.backend.clone(),
        precision: metrics.precision.clone(),
        config: config.clone(),
        input_size,
        classes,
        train_samples: metrics.train_samples,
        epochs_done: progress.epochs_done,
        step: progress.step,
        base_lr: progress.base_lr,
        optimizer_params,
        data_order: DataOrder {
            shuffle: config.shuffle,
            seed: config.seed,
            next_epoch: progress.epochs_done as u64,
        },
        generators: generators
            .iter()
            .map(|(name, g)| SavedGenerator::new(name, &g.state()))
            .collect(),
        metrics: metrics.clone(),
    }
}
