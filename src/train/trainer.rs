//! The training loop ([`fit`], [`train`]) and evaluation ([`evaluate`]), written once for every
//! backend.

use std::time::Instant;

use super::config::{Architecture, TrainConfig};
use super::data::Splits;
use super::error::TrainError;
use super::metrics::{EpochMetrics, Evaluation, StepPhases, TrainMetrics};
use super::observer::{BatchEvent, LossExploding, Observer, RunInfo, EXPLODING_LOSS_FACTOR};
use crate::autograd::no_grad;
use crate::backend::Backend;
use crate::data::{Batch, DataLoader, Dataset};
use crate::nn::Forward;
use crate::optim::Optimizer;
use crate::tensor::Tensor;
use crate::{Element, Layout, Reduction};

/// A trained model and what its training measured.
pub struct Trained<B: Backend> {
    /// The model after the last epoch.
    pub model: Box<dyn Forward<B>>,
    /// Losses, accuracies and timings of the run.
    pub metrics: TrainMetrics,
}

/// Builds the model and optimizer that `config` describes and trains them on `splits` with
/// [`fit`].
///
/// The weights are drawn from `config.seed`, and the batches are shuffled from it, with no
/// backend involved: the same configuration gives the same initial model and the same batches
/// on every backend. To save checkpoints or resume from one, use [`Run`](super::Run).
///
/// # Errors
/// [`TrainError::Config`] if `config` does not [`validate`](TrainConfig::validate);
/// [`TrainError::Diverged`] if the loss stops being finite (see [`fit`]).
///
/// ```
/// use duograd::data::Dataset;
/// use duograd::train::{train, DataSet, Preset, Splits, TrainConfig};
/// use duograd::backends::NdArray;
///
/// // Two well separated classes in two dimensions.
/// let points = |n: usize| {
///     let inputs = (0..n).flat_map(|i| {
///         let s = if i % 2 == 0 { 1.0 } else { -1.0 };
///         [s + 0.01 * i as f32, s]
///     });
///     Dataset::new(inputs.collect(), (0..n).map(|i| i % 2).collect(), 2, 2)
/// };
/// let splits = Splits::new(DataSet::Mnist, points(64), None, points(16), "toy".into());
/// let mut config = TrainConfig::preset(Preset::Default);
/// config.hidden = vec![8];
/// config.batch_size = 16;
/// config.epochs = 5;
/// config.optimizer = config.optimizer.with_lr(0.05);
/// let trained = train::<NdArray<f32>>(&config, &splits, ())?;
/// assert_eq!(trained.metrics.final_accuracy(), 1.0);
/// # Ok::<(), duograd::train::TrainError>(())
/// ```
pub fn train<B: Backend>(
    config: &TrainConfig,
    splits: &Splits,
    observer: impl Observer,
) -> Result<Trained<B>, TrainError> {
    super::Run::<B>::new(config, splits)?.train(splits, observer, None)
}

/// Where a run stands between epochs: what continuing it needs besides the model, the
/// optimizer and the random generators.
pub(super) struct Progress {
    /// Epochs finished.
    pub(super) epochs_done: usize,
    /// Optimizer steps taken (the schedule's position).
    pub(super) step: usize,
    /// The learning rate the schedule starts from.
    pub(super) base_lr: f64,
    /// The metrics of the epochs finished.
    pub(super) metrics: TrainMetrics,
}

impl Progress {
    /// A run of `config` on `splits` that has not started, its schedule starting from
    /// `base_lr`.
    pub(super) fn start<B: Backend>(
        config: &TrainConfig,
        splits: &Splits,
        num_parameters: usize,
        base_lr: f64,
    ) -> Self {
        let batches = DataLoader::new(&splits.train, config.batch_size).num_batches();
        let metrics = TrainMetrics {
            backend: B::name().to_string(),
            precision: B::Elem::NAME.to_string(),
            config: config.clone(),
            layer_sizes: match config.model {
                Architecture::Mlp => config.layer_sizes(splits.input_size(), splits.classes()),
                _ => Vec::new(),
            },
            num_parameters,
            train_samples: splits.train.len(),
            test_samples: splits.test.len(),
            batch_losses: Vec::with_capacity(batches * config.epochs),
            batches_per_epoch: batches,
            epochs: Vec::with_capacity(config.epochs),
            total_seconds: 0.0,
            peak_resident_bytes: None,
        };
        Progress {
            epochs_done: 0,
            step: 0,
            base_lr,
            metrics,
        }
    }
}

/// Trains `model` with `optimizer` on `splits.train` for `config.epochs` epochs of
/// `config.batch_size` samples (shuffled from `config.seed` if `config.shuffle`), minimizing
/// the mean cross-entropy, and evaluates it on the test (and validation) set after each epoch.
///
/// The learning rate starts from the optimizer's own and follows `config.schedule` (it is set
/// back to its starting value at the end). Progress goes to `observer`: every batch's loss, and
/// each epoch's metrics. The architecture and optimizer fields of `config` are not used here:
/// the model and the optimizer are given.
///
/// Divergence: a batch whose loss is NaN or infinite stops the run at once with
/// [`TrainError::Diverged`] (naming the epoch and the batch; the model's weights are then not
/// usable). An epoch whose mean training loss ends more than [`EXPLODING_LOSS_FACTOR`] times
/// the first batch's loss is reported to [`Observer::on_loss_exploding`], and training goes on.
///
/// # Errors
/// [`TrainError::Diverged`] as above.
///
/// # Panics
/// If the model's output does not fit the data (not `(batch, classes)` logits), or if
/// `config.batch_size` or `config.eval_batch_size` is 0 (see [`TrainConfig::validate`]).
pub fn fit<B: Backend, M: Forward<B> + ?Sized>(
    model: &mut M,
    optimizer: &mut dyn Optimizer<B>,
    splits: &Splits,
    config: &TrainConfig,
    observer: impl Observer,
) -> Result<TrainMetrics, TrainError> {
    let mut progress = Progress::start::<B>(config, splits, model.num_parameters(), optimizer.lr());
    run_epochs(
        model,
        optimizer,
        splits,
        config,
        observer,
        &mut progress,
        |_, _, _| Ok(()),
    )?;
    Ok(progress.metrics)
}

/// The training loop: trains from where `progress` stands to `config.epochs`, updating
/// `progress`, and calls `after_epoch` after each epoch has been evaluated (to save a
/// checkpoint); its error stops the run, as a non-finite loss does ([`TrainError::Diverged`]).
pub(super) fn run_epochs<B: Backend, M: Forward<B> + ?Sized>(
    model: &mut M,
    optimizer: &mut dyn Optimizer<B>,
    splits: &Splits,
    config: &TrainConfig,
    mut observer: impl Observer,
    progress: &mut Progress,
    mut after_epoch: impl FnMut(&M, &dyn Optimizer<B>, &Progress) -> Result<(), TrainError>,
) -> Result<(), TrainError> {
    let session_start = Instant::now();
    let earlier_seconds = progress.metrics.total_seconds;
    let images = config.model.takes_images();
    let mut loader =
        DataLoader::new(&splits.train, config.batch_size).layout(batch_layout::<B>(images));
    if config.shuffle {
        loader = loader.shuffle(config.seed);
    }
    let batches = loader.num_batches();
    let num_parameters = model.num_parameters();
    observer.on_train_start(&RunInfo {
        epochs: config.epochs,
        batches_per_epoch: batches,
        train_samples: splits.train.len(),
        num_parameters,
    });
    progress.metrics.config = config.clone();

    let base_lr = progress.base_lr;
    let total_steps = batches * config.epochs;
    for epoch in progress.epochs_done + 1..=config.epochs {
        observer.on_epoch_start(epoch, batches);
        model.train(true);
        let start = Instant::now();
        let (mut loss_sum, mut correct, mut samples) = (0.0, 0, 0);
        let mut phases = StepPhases::default();
        let mut epoch_batches = loader.epoch(epoch as u64 - 1);
        for i in 0.. {
            // The batch is gathered when asked for: that and making its tensor are the data
            // phase.
            let asked = Instant::now();
            let Some(batch) = epoch_batches.next() else {
                break;
            };
            let rows = batch.len();
            let (x, labels) = batch_tensor::<B>(batch, images);
            phases.data += asked.elapsed().as_secs_f64();
            optimizer.set_lr(config.schedule.lr(base_lr, progress.step, total_steps));
            progress.step += 1;
            let (loss, batch_correct) = train_step(model, optimizer, &x, &labels, &mut phases);
            if !loss.is_finite() {
                let lr = optimizer.lr();
                model.train(true);
                optimizer.set_lr(base_lr);
                return Err(TrainError::Diverged {
                    epoch,
                    batch: i + 1,
                    batches,
                    loss,
                    lr,
                });
            }
            loss_sum += loss * rows as f64;
            correct += batch_correct;
            samples += rows;
            progress.metrics.batch_losses.push(loss);
            observer.on_batch(&BatchEvent {
                epoch,
                batch: i + 1,
                batches,
                loss,
                running_loss: loss_sum / samples as f64,
                samples,
                elapsed: start.elapsed().as_secs_f64(),
            });
        }
        let seconds = start.elapsed().as_secs_f64();

        observer.on_evaluate(epoch);
        let eval_start = Instant::now();
        model.eval();
        let test = evaluate_as(&*model, &splits.test, config.eval_batch_size, images);
        let valid = splits
            .valid
            .as_ref()
            .map(|v| evaluate_as(&*model, v, config.eval_batch_size, images));
        let epoch_metrics = EpochMetrics {
            epoch,
            train_loss: ratio(loss_sum, samples),
            train_accuracy: ratio(correct as f64, samples),
            test_loss: test.loss,
            test_accuracy: test.accuracy,
            valid,
            seconds,
            phases,
            eval_seconds: eval_start.elapsed().as_secs_f64(),
            samples_per_sec: if seconds > 0.0 {
                samples as f64 / seconds
            } else {
                0.0
            },
        };
        observer.on_epoch_end(&epoch_metrics);
        // The run's first batch, also when it was resumed: its losses are part of the progress.
        if let Some(&first_loss) = progress.metrics.batch_losses.first() {
            if epoch_metrics.train_loss > EXPLODING_LOSS_FACTOR * first_loss {
                observer.on_loss_exploding(&LossExploding {
                    epoch,
                    train_loss: epoch_metrics.train_loss,
                    first_loss,
                    lr: base_lr,
                });
            }
        }
        progress.metrics.epochs.push(epoch_metrics);
        progress.epochs_done = epoch;
        progress.metrics.total_seconds = earlier_seconds + session_start.elapsed().as_secs_f64();
        let saved = after_epoch(&*model, &*optimizer, progress);
        if saved.is_err() {
            model.train(true);
            optimizer.set_lr(base_lr);
            return saved;
        }
    }
    model.train(true);
    optimizer.set_lr(base_lr);
    progress.metrics.total_seconds = earlier_seconds + session_start.elapsed().as_secs_f64();
    progress.metrics.peak_resident_bytes = super::metrics::peak_resident_bytes();
    Ok(())
}

/// One optimizer step on the batch `x` with `labels`; returns the batch's mean loss and how many
/// of its samples the model classified correctly (before the step), and adds each phase's time
/// to `phases`.
fn train_step<B: Backend, M: Forward<B> + ?Sized>(
    model: &M,
    optimizer: &mut dyn Optimizer<B>,
    x: &Tensor<B>,
    labels: &[usize],
    phases: &mut StepPhases,
) -> (f64, usize) {
    let mut clock = Instant::now();
    // The seconds since the previous lap.
    let mut lap = || {
        let now = Instant::now();
        let seconds = (now - clock).as_secs_f64();
        clock = now;
        seconds
    };
    optimizer.zero_grad();
    phases.optimizer += lap();
    let logits = model.forward(x);
    let loss = logits.cross_entropy(labels, Reduction::Mean);
    phases.forward += lap();
    loss.backward()
        .expect("the loss of a model with parameters is a scalar that requires grad");
    phases.backward += lap();
    optimizer.step();
    phases.optimizer += lap();
    let correct = count_correct(&logits, labels);
    let loss = loss.item().as_f64();
    phases.metrics += lap();
    (loss, correct)
}

/// The mean cross-entropy and the accuracy of `model` on `data`, computed under
/// [`no_grad`] in batches of `batch_size` samples (no graph is recorded, so memory stays that
/// of one forward pass). Put the model in evaluation mode first
/// ([`Module::eval`](crate::nn::Module::eval)) if it has layers that behave differently in
/// training.
///
/// An empty data set gives loss 0 and accuracy 0.
///
/// # Panics
/// If `batch_size` is 0 or the model's output is not `(batch, data.classes())` logits.
///
/// ```
/// use duograd::data::Dataset;
/// use duograd::nn::{Activation, Mlp};
/// use duograd::train::evaluate;
/// use duograd::backends::NdArray;
/// use rand::SeedableRng;
///
/// let data = Dataset::new(vec![0.0; 3 * 4], vec![0, 1, 2], 4, 3);
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let model = Mlp::<NdArray<f64>>::new(&[4, 3], Activation::Relu, &mut rng);
/// let eval = evaluate(&model, &data, 2);
/// assert_eq!(eval.samples, 3);
/// assert_eq!(eval.correct, 1); // the same logits for every sample: one class is right
/// ```
pub fn evaluate<B: Backend, M: Forward<B> + ?Sized>(
    model: &M,
    data: &Dataset,
    batch_size: usize,
) -> Evaluation {
    evaluate_as(model, data, batch_size, false)
}

/// [`evaluate`] with the batches given to the model as images (`[N, C, H, W]`, the data set's
/// item shape) when `images` is set, else as `[N, features]` rows.
pub fn evaluate_as<B: Backend, M: Forward<B> + ?Sized>(
    model: &M,
    data: &Dataset,
    batch_size: usize,
    images: bool,
) -> Evaluation {
    let _no_grad = no_grad();
    let (mut loss_sum, mut correct) = (0.0, 0);
    for batch in DataLoader::new(data, batch_size)
        .layout(batch_layout::<B>(images))
        .epoch(0)
    {
        let (x, labels) = batch_tensor::<B>(batch, images);
        let logits = model.forward(&x);
        loss_sum += logits
            .cross_entropy(&labels, Reduction::Sum)
            .item()
            .as_f64();
        correct += count_correct(&logits, &labels);
    }
    Evaluation {
        loss: ratio(loss_sum, data.len()),
        accuracy: ratio(correct as f64, data.len()),
        correct,
        samples: data.len(),
    }
}

/// How batches are gathered: in the backend's matrix layout for rows, row-major for images
/// (which become N-d tensors).
fn batch_layout<B: Backend>(images: bool) -> Layout {
    if images {
        Layout::RowMajor
    } else {
        B::layout_2d()
    }
}

/// A batch as the model's input and its labels: `[N, features]` in the batch's layout, or
/// `[N, C, H, W]` images when `images` is set.
fn batch_tensor<B: Backend>(mut batch: Batch, images: bool) -> (Tensor<B>, Vec<usize>) {
    let labels = std::mem::take(&mut batch.labels);
    let (shape, layout) = (batch.shape, batch.layout);
    let image_shape = batch.item_batch_shape();
    let inputs = batch.into_inputs_as::<B::Elem>();
    if images {
        debug_assert_eq!(layout, Layout::RowMajor);
        return (Tensor::from_vec(inputs, &image_shape), labels);
    }
    (Tensor::from_vec_2d(inputs, shape, layout), labels)
}

fn count_correct<B: Backend>(logits: &Tensor<B>, labels: &[usize]) -> usize {
    logits
        .argmax_indices(1)
        .iter()
        .zip(labels)
        .filter(|(p, l)| p == l)
        .count()
}

/// `sum / n`, or 0 when `n` is 0.
fn ratio(sum: f64, n: usize) -> f64 {
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}
