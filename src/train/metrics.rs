//! What a run measures: per-batch losses, per-epoch [`EpochMetrics`], and the whole run's
//! [`TrainMetrics`], all serializable (e.g. to JSON with `serde_json`).

use serde::{Deserialize, Serialize};

use super::config::TrainConfig;

/// A model's loss and accuracy on a data set.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Mean cross-entropy per sample.
    pub loss: f64,
    /// Fraction of samples classified correctly, in `[0, 1]`.
    pub accuracy: f64,
    /// Samples classified correctly.
    pub correct: usize,
    /// Samples evaluated.
    pub samples: usize,
}

/// One finished epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// The epoch's number, from 1.
    pub epoch: usize,
    /// Mean training loss per sample over the epoch, as the weights changed (the running
    /// average PyTorch tutorials print, not a separate pass).
    pub train_loss: f64,
    /// Training accuracy over the epoch, measured like `train_loss`.
    pub train_accuracy: f64,
    /// Test loss after the epoch.
    pub test_loss: f64,
    /// Test accuracy after the epoch, in `[0, 1]`.
    pub test_accuracy: f64,
    /// Validation loss and accuracy after the epoch, when there is a validation set.
    pub valid: Option<Evaluation>,
    /// Seconds spent training (forward, backward, optimizer step, batching).
    pub seconds: f64,
    /// Where those seconds went, phase by phase.
    #[serde(default)]
    pub phases: StepPhases,
    /// Seconds spent evaluating after the epoch.
    pub eval_seconds: f64,
    /// Training throughput: samples per training second.
    pub samples_per_sec: f64,
}

/// Where an epoch's training seconds went: each phase's seconds, summed over the epoch's
/// steps.
///
/// The phases of a step run one after another on the calling thread (a phase's parallel
/// kernels finish inside it), so they add up to the epoch's [`EpochMetrics::seconds`] but for
/// what lies between them ([`other`]): the progress report, the learning-rate schedule, and
/// freeing the step's graph.
///
/// [`other`]: StepPhases::other
///
/// ```
/// use duograd::train::StepPhases;
/// let phases = StepPhases { data: 0.01, forward: 0.05, backward: 0.07, optimizer: 0.002, metrics: 0.001 };
/// assert!((phases.total() - 0.133).abs() < 1e-12);
/// assert!((phases.other(0.135) - 0.002).abs() < 1e-12);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StepPhases {
    /// Getting each batch ready: gathering its rows and making the input tensor.
    pub data: f64,
    /// The model's forward pass and the loss.
    pub forward: f64,
    /// `backward()`: the gradient of every parameter.
    pub backward: f64,
    /// Clearing the gradients and the optimizer's update.
    pub optimizer: f64,
    /// Counting the batch's correct predictions and reading its loss, for the metrics.
    pub metrics: f64,
}

impl StepPhases {
    /// The phases' sum.
    pub fn total(&self) -> f64 {
        self.data + self.forward + self.backward + self.optimizer + self.metrics
    }

    /// What of an epoch's `seconds` lies outside the phases (never below 0).
    pub fn other(&self, seconds: f64) -> f64 {
        (seconds - self.total()).max(0.0)
    }
}

/// Everything a run measured, with the settings that produced it.
///
/// ```
/// use duograd::train::{EpochMetrics, TrainConfig, TrainMetrics};
///
/// let epoch = |epoch, acc| EpochMetrics {
///     epoch,
///     train_loss: 0.3,
///     train_accuracy: 0.9,
///     test_loss: 0.2,
///     test_accuracy: acc,
///     valid: None,
///     seconds: 2.0,
///     phases: Default::default(),
///     eval_seconds: 0.5,
///     samples_per_sec: 30_000.0,
/// };
/// let metrics = TrainMetrics {
///     backend: "ndarray".into(),
///     precision: "f32".into(),
///     config: TrainConfig::default(),
///     layer_sizes: vec![784, 256, 128, 10],
///     num_parameters: 1000,
///     train_samples: 60_000,
///     test_samples: 10_000,
///     batch_losses: vec![2.3, 0.4],
///     batches_per_epoch: 1,
///     epochs: vec![epoch(1, 0.96), epoch(2, 0.97)],
///     total_seconds: 5.0,
///     peak_resident_bytes: None,
/// };
/// assert_eq!(metrics.best_epoch().unwrap().epoch, 2);
/// assert_eq!(metrics.seconds_per_epoch(), 2.5);
/// let json = serde_json::to_string(&metrics).unwrap();
/// assert!(json.contains("\"test_accuracy\":0.97"));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainMetrics {
    /// The backend's name (`"ndarray"`, `"nalgebra"`).
    pub backend: String,
    /// The element type (`"f32"`, `"f64"`).
    pub precision: String,
    /// The settings of the run.
    pub config: TrainConfig,
    /// The MLP's layer sizes for the data, input to output (e.g. `[784, 64, 64, 10]`); empty for
    /// a convolutional model.
    pub layer_sizes: Vec<usize>,
    /// Scalar parameters of the model.
    pub num_parameters: usize,
    /// Samples in the training set.
    pub train_samples: usize,
    /// Samples in the test set.
    pub test_samples: usize,
    /// The mean loss of every training batch, in order (for loss curves).
    pub batch_losses: Vec<f64>,
    /// Batches in each epoch (to put `batch_losses` on an epoch axis).
    pub batches_per_epoch: usize,
    /// One entry per finished epoch.
    pub epochs: Vec<EpochMetrics>,
    /// Wall-clock seconds of the whole run (training and evaluation).
    pub total_seconds: f64,
    /// The process's peak resident memory in bytes at the end of the run (Linux `VmHWM`; `None`
    /// where it cannot be read). It covers the whole process: data sets included.
    #[serde(default)]
    pub peak_resident_bytes: Option<u64>,
}

impl TrainMetrics {
    /// The last epoch, if any ran.
    pub fn last_epoch(&self) -> Option<&EpochMetrics> {
        self.epochs.last()
    }

    /// The epoch with the highest test accuracy (the first of equals).
    pub fn best_epoch(&self) -> Option<&EpochMetrics> {
        self.epochs.iter().reduce(|best, e| {
            if e.test_accuracy > best.test_accuracy {
                e
            } else {
                best
            }
        })
    }

    /// The test accuracy after the last epoch (`0` if none ran).
    pub fn final_accuracy(&self) -> f64 {
        self.last_epoch().map_or(0.0, |e| e.test_accuracy)
    }

    /// The highest test accuracy over the epochs (`0` if none ran).
    pub fn best_accuracy(&self) -> f64 {
        self.best_epoch().map_or(0.0, |e| e.test_accuracy)
    }

    /// Mean wall-clock seconds per epoch, evaluation included (`0` if none ran).
    pub fn seconds_per_epoch(&self) -> f64 {
        if self.epochs.is_empty() {
            0.0
        } else {
            self.epochs
                .iter()
                .map(|e| e.seconds + e.eval_seconds)
                .sum::<f64>()
                / self.epochs.len() as f64
        }
    }

    /// Mean training throughput over the run, in samples per second.
    pub fn samples_per_sec(&self) -> f64 {
        let seconds: f64 = self.epochs.iter().map(|e| e.seconds).sum();
        if seconds > 0.0 {
            (self.train_samples * self.epochs.len()) as f64 / seconds
        } else {
            0.0
        }
    }
}

/// The process's peak resident set size so far, from `/proc/self/status` (`VmHWM`); `None` on
/// systems without it.
pub fn peak_resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    #[test]
    fn peak_resident_memory_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            let bytes = super::peak_resident_bytes().expect("VmHWM in /proc/self/status");
            // A running test binary holds at least a megabyte and (here) far less than a terabyte.
            assert!((1 << 20..1 << 40).contains(&bytes), "{bytes} bytes");
        }
    }
}
