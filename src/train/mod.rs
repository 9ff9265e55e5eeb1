//! Training classifiers end to end: a [`TrainConfig`] (with named [`Preset`]s), data loading
//! and normalization ([`load_splits`]), one training loop for every backend ([`train`],
//! [`fit`]) that reports to an [`Observer`], evaluation under `no_grad` ([`evaluate`]),
//! serializable [`TrainMetrics`], and checkpoints of a whole run that resume it exactly
//! ([`Run`], [`Checkpoint`]).
//!
//! The loop is generic over the [`Backend`](crate::Backend): a program picks the backend and
//! precision once (`train::<NdArray<f32>>(…)`) and everything below is shared. The
//! `train_mnist` example is the command-line front end.
//!
//! ```no_run
//! use duograd::train::{data_location, load_splits, train, Preset, TrainConfig};
//! use duograd::backends::NdArray;
//!
//! let config = TrainConfig::preset(Preset::Arena);
//! let dir = data_location(config.dataset, None); // MNIST_DIR, else data/mnist
//! let splits = load_splits(config.dataset, &dir, config.validation, config.seed)?;
//! let trained = train::<NdArray<f32>>(&config, &splits, ())?;
//! println!("test accuracy {:.2}%", 100.0 * trained.metrics.final_accuracy());
//! # Ok::<(), duograd::train::TrainError>(())
//! ```

mod checkpoint;
mod config;
mod data;
mod error;
mod metrics;
mod observer;
mod overrides;
mod preset;
mod run;
mod saved;
mod trainer;

pub use checkpoint::{
    write_checkpoint, Checkpoint, CheckpointError, DataOrder, RunState, SavedGenerator,
    CHECKPOINT_KEY, CHECKPOINT_VERSION,
};
pub use config::{
    activation_name, Architecture, DataSet, LrSchedule, OptimizerConfig, TrainConfig,
};
pub use data::{
    data_location, digits_path, load_digits_split, load_mnist, load_splits, mnist_dir, Splits,
    DIGITS_DEFAULT_PATH, DIGITS_TEST_FRACTION, MNIST_TRAIN_KEPT,
};
pub use error::{ConfigError, TrainError};
pub use metrics::{peak_resident_bytes, EpochMetrics, Evaluation, StepPhases, TrainMetrics};
pub use observer::{BatchEvent, LossExploding, Observer, RunInfo, EXPLODING_LOSS_FACTOR};
pub use overrides::{parse_activation, parse_hidden, parse_init, Overrides};
pub use preset::Preset;
pub use run::Run;
pub use saved::SavedModel;
pub use trainer::{evaluate, evaluate_as, fit, train, Trained};
