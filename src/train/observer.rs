//! [`Observer`]: how the training loop reports progress, so that a program can draw progress
//! bars or log lines without the library knowing about terminals.

use super::metrics::EpochMetrics;

/// The shape of a run, given to [`Observer::on_train_start`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunInfo {
    /// Epochs to run.
    pub epochs: usize,
    /// Batches per epoch.
    pub batches_per_epoch: usize,
    /// Samples per epoch.
    pub train_samples: usize,
    /// Scalar parameters of the model.
    pub num_parameters: usize,
}

/// One finished training step, given to [`Observer::on_batch`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchEvent {
    /// The epoch, from 1.
    pub epoch: usize,
    /// The batch within the epoch, from 1.
    pub batch: usize,
    /// Batches in the epoch.
    pub batches: usize,
    /// The batch's mean loss.
    pub loss: f64,
    /// Mean loss per sample over the epoch so far.
    pub running_loss: f64,
    /// Samples trained on in this epoch so far.
    pub samples: usize,
    /// Seconds since the epoch started.
    pub elapsed: f64,
}

impl BatchEvent {
    /// Training throughput of the epoch so far, in samples per second.
    pub fn samples_per_sec(&self) -> f64 {
        if self.elapsed > 0.0 {
            self.samples as f64 / self.elapsed
        } else {
            0.0
        }
    }
}

/// An epoch whose mean training loss ended far above the loss of the run's first batch (more
/// than [`EXPLODING_LOSS_FACTOR`] times): the loss is still finite, but the run is diverging.
/// Given to [`Observer::on_loss_exploding`]; training goes on (a loss that stops being finite
/// ends it with [`TrainError::Diverged`](super::TrainError::Diverged)).
///
/// ```
/// use duograd::train::LossExploding;
/// let w = LossExploding { epoch: 1, train_loss: 2.1e21, first_loss: 2.3, lr: 1e6 };
/// assert!(w.to_string().contains("epoch 1"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LossExploding {
    /// The epoch, from 1.
    pub epoch: usize,
    /// The epoch's mean training loss.
    pub train_loss: f64,
    /// The loss of the run's first batch.
    pub first_loss: f64,
    /// The learning rate the run started from.
    pub lr: f64,
}

/// How many times the first batch's loss an epoch's mean training loss may reach before
/// [`Observer::on_loss_exploding`] is called.
///
/// Cross-entropy starts near `ln(classes)` for a model initialized PyTorch's way (higher with
/// larger initial weights) and falls as the model learns; a learning-rate spike can lift a few
/// batches, but an epoch's mean a hundred times above the start means the weights have blown
/// up. Judging the epoch's mean, not single batches, keeps the warning quiet on healthy but
/// noisy runs.
pub const EXPLODING_LOSS_FACTOR: f64 = 100.0;

impl std::fmt::Display for LossExploding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the training loss is exploding: epoch {}'s mean loss {:.4e} is {:.1e} times the \
             first batch's ({:.4}); the results will be meaningless — try a lower learning rate \
             (the run started at {})",
            self.epoch,
            self.train_loss,
            self.train_loss / self.first_loss,
            self.first_loss,
            super::error::short_number(self.lr)
        )
    }
}

/// Receives the training loop's progress. Every method does nothing by default: implement only
/// those you need. `()` is the observer that ignores everything.
///
/// ```
/// use duograd::train::{BatchEvent, EpochMetrics, Observer};
///
/// /// Prints one line per epoch and remembers every batch loss.
/// #[derive(Default)]
/// struct Log {
///     losses: Vec<f64>,
/// }
///
/// impl Observer for Log {
///     fn on_batch(&mut self, event: &BatchEvent) {
///         self.losses.push(event.loss);
///     }
///     fn on_epoch_end(&mut self, m: &EpochMetrics) {
///         println!("epoch {}: test accuracy {:.2}%", m.epoch, 100.0 * m.test_accuracy);
///     }
/// }
/// ```
pub trait Observer {
    /// Called once, before the first epoch.
    fn on_train_start(&mut self, _info: &RunInfo) {}

    /// Called before each epoch (numbered from 1) with its number of batches.
    fn on_epoch_start(&mut self, _epoch: usize, _batches: usize) {}

    /// Called after each optimizer step.
    fn on_batch(&mut self, _event: &BatchEvent) {}

    /// Called after training on an epoch's last batch, before evaluating.
    fn on_evaluate(&mut self, _epoch: usize) {}

    /// Called after each epoch has been evaluated.
    fn on_epoch_end(&mut self, _metrics: &EpochMetrics) {}

    /// Called after [`on_epoch_end`](Observer::on_epoch_end) when the epoch's mean training
    /// loss is more than [`EXPLODING_LOSS_FACTOR`] times the first batch's.
    fn on_loss_exploding(&mut self, _warning: &LossExploding) {}
}

impl Observer for () {}

impl<O: Observer + ?Sized> Observer for &mut O {
    fn on_train_start(&mut self, info: &RunInfo) {
        (**self).on_train_start(info);
    }
    fn on_epoch_start(&mut self, epoch: usize, batches: usize) {
        (**self).on_epoch_start(epoch, batches);
    }
    fn on_batch(&mut self, event: &BatchEvent) {
        (**self).on_batch(event);
    }
    fn on_evaluate(&mut self, epoch: usize) {
        (**self).on_evaluate(epoch);
    }
    fn on_epoch_end(&mut self, metrics: &EpochMetrics) {
        (**self).on_epoch_end(metrics);
    }
    fn on_loss_exploding(&mut self, warning: &LossExploding) {
        (**self).on_loss_exploding(warning);
    }
}
