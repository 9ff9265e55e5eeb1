//! Checkpoints: a whole training run's state in one safetensors file, written atomically, read
//! back with errors that name what does not fit.
//!
//! # The file
//! Tensors: the model's `state_dict` under `model.` (`model.0.weight`,
//! `model.1.running_mean`, `model.1.num_batches_tracked` as `I64`), and the optimizer's state
//! under `optimizer.` (`optimizer.state.0.exp_avg`, `optimizer.state.0.step` as `I64`; see
//! [`OptimizerState`]), in the backend's element type. The header's `__metadata__` holds one
//! key, [`CHECKPOINT_KEY`], whose value is the JSON of a [`RunState`]: the configuration, the
//! backend and precision, the number of epochs done, the learning-rate schedule's position,
//! the random generators' states, the data order, and the metrics so far.
//!
//! # The random state
//! The weights are drawn once, from the seed, before the first epoch; the data loader's order
//! for epoch `e` is drawn from a generator seeded with the seed and `e` alone, so the epoch
//! count is its whole state ([`DataOrder`]). Only the dropout layers' generators carry state
//! from one epoch to the next: they are [`Generator`]s (ChaCha12, the algorithm of `StdRng`,
//! whose position `StdRng` cannot report), saved as seed, stream and word position.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use safetensors::SafeTensors;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::config::TrainConfig;
use super::metrics::TrainMetrics;
use crate::backend::Backend;
use crate::nn::weights::{self, WeightsError};
use crate::nn::{Generator, GeneratorState, Module};
use crate::optim::{OptimError, Optimizer, OptimizerState};

/// The `__metadata__` key that marks a safetensors file as a checkpoint; its value is the JSON
/// of the [`RunState`].
pub const CHECKPOINT_KEY: &str = "duograd.checkpoint";

/// The version of the checkpoint layout this library writes and reads.
pub const CHECKPOINT_VERSION: u32 = 1;

/// The prefix of the model's tensors in a checkpoint.
const MODEL_PREFIX: &str = "model.";
/// The prefix of the optimizer's tensors in a checkpoint.
const OPTIMIZER_PREFIX: &str = "optimizer.";

/// Why a checkpoint could not be written or read, or does not fit a run. Every variant names
/// the file.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The file could not be read or written, is cut short, is not safetensors, or its tensors
    /// do not fit the model (a missing, unexpected or differently shaped tensor, named).
    #[error(transparent)]
    Weights(#[from] WeightsError),
    /// A valid safetensors file, but not a checkpoint (a weights file, say).
    #[error("{}: not a duograd checkpoint: {reason}", path.display())]
    NotACheckpoint {
        /// The file.
        path: PathBuf,
        /// What is missing.
        reason: String,
    },
    /// The checkpoint's metadata is malformed or of an unknown version.
    #[error("{}: invalid checkpoint metadata: {reason}", path.display())]
    Metadata {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The saved optimizer state does not fit the optimizer.
    #[error("{}: the optimizer state does not fit: {source}", path.display())]
    Optimizer {
        /// The file.
        path: PathBuf,
        /// What differs.
        #[source]
        source: OptimError,
    },
    /// Something the run depends on differs from what the checkpoint recorded.
    #[error("{}: the checkpoint's {what} is {recorded}, but this run's is {actual}", path.display())]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// What differs (`"backend"`, `"input size"`).
        what: &'static str,
        /// The checkpoint's value.
        recorded: String,
        /// The run's value.
        actual: String,
    },
}

/// How the training data is ordered: each epoch's order is drawn from `seed` and the epoch's
/// index alone (see [`crate::data::DataLoader::shuffle`]), so `next_epoch` is the loader's
/// whole state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataOrder {
    /// Whether epochs are shuffled.
    pub shuffle: bool,
    /// The shuffling seed.
    pub seed: u64,
    /// The index (from 0) of the next epoch's order.
    pub next_epoch: u64,
}

/// A named [`GeneratorState`], as JSON: the seed in hexadecimal, the word position as a decimal
/// string (it is a 128-bit number).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedGenerator {
    /// The generator's name in the run (`"dropout.0"`).
    pub name: String,
    /// The 32-byte seed, in hexadecimal.
    pub seed: String,
    /// The stream.
    pub stream: u64,
    /// The 32-bit words drawn so far.
    pub word_pos: String,
}

impl SavedGenerator {
    /// `state` under `name`.
    pub fn new(name: &str, state: &GeneratorState) -> Self {
        SavedGenerator {
            name: name.to_string(),
            seed: state.seed.iter().map(|b| format!("{b:02x}")).collect(),
            stream: state.stream,
            word_pos: state.word_pos.to_string(),
        }
    }

    /// The state, or `None` if the seed or position is malformed.
    pub fn state(&self) -> Option<GeneratorState> {
        let hex = self.seed.as_bytes();
        if hex.len() != 64 {
            return None;
        }
        let mut seed = [0u8; 32];
        for (byte, pair) in seed.iter_mut().zip(hex.chunks_exact(2)) {
            *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
        }
        Some(GeneratorState {
            seed,
            stream: self.stream,
            word_pos: self.word_pos.parse().ok()?,
        })
    }
}

/// Everything about a run in a checkpoint but its tensors: the JSON of the file's metadata.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    /// The layout version ([`CHECKPOINT_VERSION`]).
    pub version: u32,
    /// The backend that trained (`"ndarray"`): a run continues bit for bit only on it.
    pub backend: String,
    /// The element type (`"f32"`).
    pub precision: String,
    /// The run's configuration (its `epochs` is the run's length).
    pub config: TrainConfig,
    /// Features per sample of the training data.
    pub input_size: usize,
    /// Classes of the training data.
    pub classes: usize,
    /// Samples in the training set.
    pub train_samples: usize,
    /// Epochs finished.
    pub epochs_done: usize,
    /// Optimizer steps taken: the learning-rate schedule's position.
    pub step: usize,
    /// The learning rate the schedule starts from.
    pub base_lr: f64,
    /// How many parameters (tensors) the optimizer updates.
    pub optimizer_params: usize,
    /// The data order's state.
    pub data_order: DataOrder,
    /// The random generators inside the model, by name.
    pub generators: Vec<SavedGenerator>,
    /// The metrics of the epochs done (what the final report is made from).
    pub metrics: TrainMetrics,
}

/// A checkpoint read from a file: its [`RunState`], and its tensors, loaded into a model and an
/// optimizer on demand (on any backend).
///
/// ```
/// use duograd::train::{Checkpoint, CheckpointError};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("weights.safetensors");
/// std::fs::write(&path, b"not a checkpoint")?;
/// let err = Checkpoint::read(&path).err().unwrap();
/// assert!(err.to_string().contains("not a valid safetensors file"), "{err}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Checkpoint {
    path: PathBuf,
    bytes: Vec<u8>,
    state: RunState,
}

impl Checkpoint {
    /// Reads the checkpoint at `path` and checks its metadata.
    ///
    /// # Errors
    /// [`CheckpointError::Weights`] if the file cannot be read, is cut short or is not a
    /// safetensors file; [`CheckpointError::NotACheckpoint`] for a safetensors file without
    /// checkpoint metadata; [`CheckpointError::Metadata`] for malformed metadata.
    pub fn read(path: impl AsRef<Path>) -> Result<Self, CheckpointError> {
        let path = path.as_ref();
        Self::parse(weights::read_file(path)?, path)
    }

    /// A checkpoint from its bytes (named `<bytes>` in errors).
    ///
    /// # Errors
    /// As [`Checkpoint::read`].
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, CheckpointError> {
        Self::parse(bytes, Path::new("<bytes>"))
    }

    fn parse(bytes: Vec<u8>, path: &Path) -> Result<Self, CheckpointError> {
        weights::parse(&bytes, path)?;
        let (_, header) =
            SafeTensors::read_metadata(&bytes).expect("a file that parses has a readable header");
        let json = header
            .metadata()
            .as_ref()
            .and_then(|m| m.get(CHECKPOINT_KEY))
            .ok_or_else(|| CheckpointError::NotACheckpoint {
                path: path.to_path_buf(),
                reason: format!(
                    "a safetensors file without the '{CHECKPOINT_KEY}' metadata (a weights \
                     file? those load with load_safetensors, or train_mnist --eval)"
                ),
            })?;
        let metadata = |reason: String| CheckpointError::Metadata {
            path: path.to_path_buf(),
            reason,
        };
        let state: RunState = serde_json::from_str(json).map_err(|e| metadata(e.to_string()))?;
        if state.version != CHECKPOINT_VERSION {
            return Err(metadata(format!(
                "version {}, but this library reads version {CHECKPOINT_VERSION}",
                state.version
            )));
        }
        if let Some(bad) = state.generators.iter().find(|g| g.state().is_none()) {
            return Err(metadata(format!(
                "generator '{}' has a malformed state",
                bad.name
            )));
        }
        Ok(Checkpoint {
            path: path.to_path_buf(),
            bytes,
            state,
        })
    }

    /// The file it was read from (`<bytes>` for [`Checkpoint::from_bytes`]).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The run's state.
    pub fn state(&self) -> &RunState {
        &self.state
    }

    /// The run's configuration.
    pub fn config(&self) -> &TrainConfig {
        &self.state.config
    }

    fn tensors(&self) -> SafeTensors<'_> {
        SafeTensors::deserialize(&self.bytes).expect("checked when read")
    }

    /// Loads the model's parameters and buffers, in place and strictly (see
    /// [`crate::nn::load_safetensors`]): nothing changes unless all fit.
    ///
    /// # Errors
    /// [`CheckpointError::Weights`] naming the first tensor that is missing, unexpected or of
    /// another shape (a model of another architecture or other layer sizes).
    pub fn load_model<B: Backend, M: Module<B> + ?Sized>(
        &self,
        model: &M,
    ) -> Result<(), CheckpointError> {
        weights::load_module_entries(model, &self.tensors(), MODEL_PREFIX, &self.path)?;
        Ok(())
    }

    /// The saved optimizer state, in `B`'s element type.
    ///
    /// # Errors
    /// [`CheckpointError::Weights`] for a tensor of an unsupported dtype;
    /// [`CheckpointError::Metadata`] if the metadata does not say which optimizer saved it.
    pub fn optimizer_state<B: Backend>(&self) -> Result<OptimizerState<B>, CheckpointError> {
        let entries = weights::read_entries::<B>(&self.tensors(), OPTIMIZER_PREFIX, &self.path)?
            .into_iter()
            .map(|(name, entry)| (name[OPTIMIZER_PREFIX.len()..].to_string(), entry))
            .collect();
        Ok(OptimizerState {
            optimizer: self.state.config.optimizer.name().to_string(),
            num_params: self.state.optimizer_params,
            entries,
        })
    }

    /// Loads the saved optimizer state into `optimizer`.
    ///
    /// # Errors
    /// [`CheckpointError::Optimizer`] naming what differs (kind, parameter count, an entry's
    /// shape); as [`Checkpoint::optimizer_state`].
    pub fn load_optimizer<B: Backend>(
        &self,
        optimizer: &mut dyn Optimizer<B>,
    ) -> Result<(), CheckpointError> {
        let state = self.optimizer_state::<B>()?;
        optimizer
            .load_state_dict(&state)
            .map_err(|source| CheckpointError::Optimizer {
                path: self.path.clone(),
                source,
            })
    }

    /// Moves each of `generators` to its saved state.
    ///
    /// # Errors
    /// [`CheckpointError::Mismatch`] if the names differ from the saved generators'.
    pub fn restore_generators(
        &self,
        generators: &[(String, Generator)],
    ) -> Result<(), CheckpointError> {
        let names = |it: &mut dyn Iterator<Item = &str>| it.collect::<Vec<_>>().join(", ");
        let saved = &self.state.generators;
        let same = saved.len() == generators.len()
            && saved.iter().zip(generators).all(|(s, (n, _))| &s.name == n);
        if !same {
            return Err(CheckpointError::Mismatch {
                path: self.path.clone(),
                what: "random generators",
                recorded: format!("[{}]", names(&mut saved.iter().map(|g| g.name.as_str()))),
                actual: format!("[{}]", names(&mut generators.iter().map(|g| g.0.as_str()))),
            });
        }
        for (s, (_, g)) in saved.iter().zip(generators) {
            g.set_state(&s.state().expect("checked when read"));
        }
        Ok(())
    }
}

impl std::fmt::Debug for Checkpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkpoint")
            .field("path", &self.path)
            .field("bytes", &self.bytes.len())
            .field("epochs_done", &self.state.epochs_done)
            .field("config", &self.state.config)
            .finish_non_exhaustive()
    }
}

/// Writes a checkpoint of `model`, `optimizer` and `state` to `path`, atomically: the bytes go
/// to a temporary file in the same directory, which is flushed to disk and then renamed over
/// `path`, so that a crash leaves either the previous checkpoint or the new one, never a part.
///
/// # Errors
/// [`CheckpointError::Weights`] ([`WeightsError::Io`]) if the file cannot be written.
pub fn write_checkpoint<B: Backend, M: Module<B> + ?Sized>(
    path: impl AsRef<Path>,
    model: &M,
    optimizer: &dyn Optimizer<B>,
    state: &RunState,
) -> Result<(), CheckpointError> {
    let path = path.as_ref();
    let mut entries: Vec<_> = weights::state_dict(model)
        .into_iter()
        .map(|(name, entry)| (format!("{MODEL_PREFIX}{name}"), entry))
        .collect();
    entries.extend(
        optimizer
            .state_dict()
            .entries
            .into_iter()
            .map(|(name, entry)| (format!("{OPTIMIZER_PREFIX}{name}"), entry)),
    );
    let json = serde_json::to_string(state).expect("a run state serializes");
    let metadata = HashMap::from([(CHECKPOINT_KEY.to_string(), json)]);
    let bytes = weights::entries_to_safetensors(&entries, metadata)?;
    write_atomically(path, &bytes).map_err(|source| {
        CheckpointError::Weights(WeightsError::Io {
            path: path.to_path_buf(),
            source,
        })
    })
}

/// Writes `bytes` to a temporary file next to `path`, syncs it, renames it to `path` and syncs
/// the directory (so the rename itself survives a crash).
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path names no file")
    })?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let written = (|| {
        let mut file = File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        std::fs::remove_file(&tmp).ok();
        return written;
    }
    // Directories cannot be opened for syncing everywhere; where they can, this makes the
    // rename durable.
    if let Ok(d) = File::open(dir) {
        d.sync_all().ok();
    }
    Ok(())
}
