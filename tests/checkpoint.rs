//! Checkpoints of a training run (`duograd::train::{Run, Checkpoint}`): a run resumed from the
//! checkpoint of an epoch ends exactly like the uninterrupted run (an MLP, and the CNN with
//! batch norm and dropout), the file's layout, atomic writes, and the errors for files that are
//! truncated, not checkpoints, or for another model, data set, backend or optimizer.

#[macro_use]
mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use duograd::backends::{Nalgebra, NdArray};
use duograd::data::Dataset;
use duograd::nn::{module_to_safetensors, save_safetensors, Module};
use duograd::optim::{Adam, AdamConfig};
use duograd::train::{
    Architecture, Checkpoint, CheckpointError, DataSet, LrSchedule, Observer, OptimizerConfig,
    Preset, Run, SavedModel, Splits, TrainConfig, TrainError, TrainMetrics, CHECKPOINT_KEY,
};
use duograd::Backend;
use rand::{Rng, SeedableRng};

/// `n` samples of `dim` features in `classes` noisy clusters.
fn clusters(n: usize, dim: usize, classes: usize, seed: u64) -> Dataset {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let labels: Vec<usize> = (0..n).map(|i| i % classes).collect();
    let inputs = labels
        .iter()
        .flat_map(|&l| {
            (0..dim)
                .map(|j| if j % classes == l { 1.0 } else { 0.0 } + rng.random_range(-0.8..0.8))
                .collect::<Vec<f32>>()
        })
        .collect();
    Dataset::new(inputs, labels, dim, classes)
}

fn splits(dim: usize) -> Splits {
    Splits::new(
        DataSet::Mnist,
        clusters(200, dim, 4, 1),
        Some(clusters(40, dim, 4, 2)),
        clusters(80, dim, 4, 3),
        PathBuf::from("<clusters>"),
    )
}

fn mlp_config(optimizer: OptimizerConfig, schedule: LrSchedule) -> TrainConfig {
    TrainConfig {
        hidden: vec![16, 8],
        optimizer,
        schedule,
        batch_size: 16,
        epochs: 4,
        ..Preset::Default.config()
    }
}

/// The whole run's numbers but its timings.
fn numbers(m: &TrainMetrics) -> (Vec<f64>, Vec<[f64; 4]>, Vec<Option<f64>>) {
    let epochs = m
        .epochs
        .iter()
        .map(|e| [e.train_loss, e.train_accuracy, e.test_loss, e.test_accuracy])
        .collect();
    let valid = m.epochs.iter().map(|e| e.valid.map(|v| v.loss)).collect();
    (m.batch_losses.clone(), epochs, valid)
}

/// Keeps a copy of the checkpoint written after epoch `epoch`: when epoch `epoch + 1` starts,
/// the file holds that checkpoint, as it would if the run were killed then.
struct CopyCheckpoint<'a> {
    from: &'a Path,
    to: &'a Path,
    epoch: usize,
}

impl Observer for CopyCheckpoint<'_> {
    fn on_epoch_start(&mut self, epoch: usize, _batches: usize) {
        if epoch == self.epoch + 1 {
            std::fs::copy(self.from, self.to).unwrap();
        }
    }
}

/// Trains `config` with a checkpoint after every epoch, and resumes it from the checkpoint of
/// epoch `stop`: both must end with the same weights, buffers and metrics.
fn resumed_run_matches<B: Backend>(config: &TrainConfig, splits: &Splits, stop: usize) {
    let dir = tempfile::tempdir().unwrap();
    let (path, kept) = (dir.path().join("run.ckpt"), dir.path().join("kept.ckpt"));
    let observer = CopyCheckpoint {
        from: &path,
        to: &kept,
        epoch: stop,
    };
    let whole = Run::<B>::new(config, splits)
        .unwrap()
        .train(splits, observer, Some(&path))
        .unwrap();
    assert_eq!(
        Checkpoint::read(&path).unwrap().state().epochs_done,
        config.epochs
    );

    let checkpoint = Checkpoint::read(&kept).unwrap();
    assert_eq!(checkpoint.state().epochs_done, stop);
    let resumed = Run::<B>::resume(&checkpoint, splits).unwrap();
    assert_eq!(resumed.epochs_done(), stop);
    let rest = resumed.train(splits, (), None).unwrap();

    assert_eq!(numbers(&rest.metrics), numbers(&whole.metrics));
    assert_eq!(rest.metrics.config, whole.metrics.config);
    assert_eq!(
        module_to_safetensors(&rest.model).unwrap(),
        module_to_safetensors(&whole.model).unwrap(),
        "the resumed run's weights and buffers differ"
    );
}

fn mlp_runs_resume_exactly<B: Backend>() {
    let splits = splits(12);
    for (optimizer, schedule) in [
        (
            OptimizerConfig::Sgd {
                lr: 0.05,
                momentum: 0.9,
            },
            LrSchedule::Constant,
        ),
        (OptimizerConfig::Adam { lr: 0.01 }, LrSchedule::Cosine),
    ] {
        resumed_run_matches::<B>(&mlp_config(optimizer, schedule), &splits, 1);
        resumed_run_matches::<B>(&mlp_config(optimizer, schedule), &splits, 3);
    }
}

/// Two classes of 28×28 images: a bright left half or a bright right half, with noise.
fn image_splits() -> Splits {
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let mut make = |n: usize| {
        let mut inputs = Vec::with_capacity(n * 784);
        for i in 0..n {
            for _ in 0..28 {
                for col in 0..28 {
                    let bright = (col < 14) == (i % 2 == 0);
                    inputs.push(if bright { 1.0 } else { 0.0 } + rng.random_range(-0.5..0.5));
                }
            }
        }
        let labels = (0..n).map(|i| i % 2).collect();
        Dataset::new(inputs, labels, 784, 10).with_item_shape(&[1, 28, 28])
    };
    let (train, test) = (make(48), make(16));
    Splits::new(DataSet::Mnist, train, None, test, "<images>".into())
}

/// The CNN carries batch-norm statistics and two dropout generators from epoch to epoch: they
/// are saved and restored too.
fn cnn_with_dropout_and_batch_norm_resumes_exactly<B: Backend>() {
    let splits = image_splits();
    let config = TrainConfig {
        model: Architecture::Cnn,
        batch_size: 16,
        epochs: 2,
        ..Preset::Cnn.config()
    };
    resumed_run_matches::<B>(&config, &splits, 1);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cnn.ckpt");
    let run = Run::<B>::new(&config, &splits).unwrap();
    run.train(&splits, (), Some(&path)).unwrap();
    let state = Checkpoint::read(&path).unwrap().state().clone();
    let names: Vec<&str> = state.generators.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["dropout.0", "dropout.1"]);
    for g in &state.generators {
        let word_pos = g.state().unwrap().word_pos;
        assert!(word_pos > 0, "{} drew nothing", g.name);
    }
}

backend_tests!(
    f32: mlp_runs_resume_exactly,
    cnn_with_dropout_and_batch_norm_resumes_exactly
);

/// A one-epoch MLP run checkpointed to `dir/run.ckpt`; returns the path.
fn one_epoch_checkpoint(dir: &Path, splits: &Splits) -> PathBuf {
    let path = dir.join("run.ckpt");
    let mut config = mlp_config(OptimizerConfig::Adam { lr: 0.01 }, LrSchedule::Cosine);
    config.epochs = 1;
    Run::<NdArray<f32>>::new(&config, splits)
        .unwrap()
        .train(splits, (), Some(&path))
        .unwrap();
    path
}

#[test]
fn the_file_holds_model_optimizer_and_run_record() {
    let dir = tempfile::tempdir().unwrap();
    let splits = splits(12);
    let path = one_epoch_checkpoint(dir.path(), &splits);
    let bytes = std::fs::read(&path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names = st.names();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "model.0.bias",
            "model.0.weight",
            "model.2.bias",
            "model.2.weight",
            "model.4.bias",
            "model.4.weight",
            "optimizer.state.0.exp_avg",
            "optimizer.state.0.exp_avg_sq",
            "optimizer.state.0.step",
            "optimizer.state.1.exp_avg",
            "optimizer.state.1.exp_avg_sq",
            "optimizer.state.1.step",
            "optimizer.state.2.exp_avg",
            "optimizer.state.2.exp_avg_sq",
            "optimizer.state.2.step",
            "optimizer.state.3.exp_avg",
            "optimizer.state.3.exp_avg_sq",
            "optimizer.state.3.step",
            "optimizer.state.4.exp_avg",
            "optimizer.state.4.exp_avg_sq",
            "optimizer.state.4.step",
            "optimizer.state.5.exp_avg",
            "optimizer.state.5.exp_avg_sq",
            "optimizer.state.5.step",
        ]
    );
    let step = st.tensor("optimizer.state.0.step").unwrap();
    assert_eq!(step.dtype(), safetensors::Dtype::I64);
    // 200 samples in batches of 16: 13 steps.
    assert_eq!(i64::from_le_bytes(step.data().try_into().unwrap()), 13);
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&header.metadata().as_ref().unwrap()[CHECKPOINT_KEY]).unwrap();
    assert_eq!(json["epochs_done"], 1);
    assert_eq!(json["step"], 13);
    assert_eq!(json["backend"], "ndarray");
    assert_eq!(json["config"]["optimizer"]["kind"], "adam");
    assert_eq!(json["data_order"]["next_epoch"], 1);
    assert_eq!(
        json["metrics"]["batch_losses"].as_array().unwrap().len(),
        13
    );
    // Only the checkpoint is left in the directory: no temporary file.
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(files.len(), 1);
}

#[test]
fn a_failed_write_leaves_no_temporary_file_and_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let splits = splits(12);
    let config = mlp_config(OptimizerConfig::Adam { lr: 0.01 }, LrSchedule::Constant);
    let run = Run::<NdArray<f32>>::new(&config, &splits).unwrap();
    // The target is a directory: the final rename fails.
    let target = dir.path().join("taken");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("inside"), b"kept").unwrap();
    let err = run.save_checkpoint(&target).unwrap_err();
    assert!(err.to_string().contains("taken"), "{err}");
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["taken"]);
    assert_eq!(std::fs::read(target.join("inside")).unwrap(), b"kept");
    // No such directory.
    let err = run
        .save_checkpoint(dir.path().join("missing/run.ckpt"))
        .unwrap_err();
    assert!(err.to_string().contains("missing/run.ckpt"), "{err}");
    // A write over an existing checkpoint replaces it whole.
    let path = dir.path().join("run.ckpt");
    run.save_checkpoint(&path).unwrap();
    run.save_checkpoint(&path).unwrap();
    assert_eq!(Checkpoint::read(&path).unwrap().state().epochs_done, 0);
}

#[test]
fn truncated_garbage_and_weights_files_are_named_errors() {
    let dir = tempfile::tempdir().unwrap();
    let splits = splits(12);
    let path = one_epoch_checkpoint(dir.path(), &splits);
    let bytes = std::fs::read(&path).unwrap();

    for cut in [4, 100, bytes.len() / 2, bytes.len() - 1] {
        let truncated = dir.path().join("truncated.ckpt");
        std::fs::write(&truncated, &bytes[..cut]).unwrap();
        let err = Checkpoint::read(&truncated).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("truncated.ckpt") && msg.contains("truncated safetensors file"),
            "cut at {cut}: {msg}"
        );
    }

    let garbage = dir.path().join("notes.txt");
    std::fs::write(&garbage, "epoch 3 was good\n".repeat(10)).unwrap();
    let msg = Checkpoint::read(&garbage).unwrap_err().to_string();
    assert!(
        msg.contains("notes.txt") && msg.contains("not a valid safetensors file"),
        "{msg}"
    );

    let weights = dir.path().join("weights.safetensors");
    let config = mlp_config(OptimizerConfig::Adam { lr: 0.01 }, LrSchedule::Constant);
    let model = config.build_network::<NdArray<f32>>(12, 4);
    save_safetensors(&model, &weights).unwrap();
    let err = Checkpoint::read(&weights).unwrap_err();
    assert!(
        matches!(err, CheckpointError::NotACheckpoint { .. }),
        "{err}"
    );
    assert!(err
        .to_string()
        .contains("weights.safetensors: not a duograd checkpoint"));
    // As a saved model, it is a weights file.
    assert!(matches!(
        SavedModel::open(&weights).unwrap(),
        SavedModel::Weights(_)
    ));

    let err = Checkpoint::read(dir.path().join("absent.ckpt")).unwrap_err();
    assert!(err.to_string().contains("absent.ckpt"), "{err}");
}

#[test]
fn malformed_metadata_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let splits = splits(12);
    let path = one_epoch_checkpoint(dir.path(), &splits);
    let state = Checkpoint::read(&path).unwrap().state().clone();
    let write = |json: String| {
        let metadata = HashMap::from([(CHECKPOINT_KEY.to_string(), json)]);
        let no_tensors: Vec<(&str, safetensors::tensor::TensorView<'_>)> = Vec::new();
        let bytes = safetensors::serialize(no_tensors, Some(metadata)).unwrap();
        Checkpoint::from_bytes(bytes).unwrap_err().to_string()
    };
    let msg = write("{\"version\": 1}".into());
    assert!(
        msg.contains("<bytes>: invalid checkpoint metadata"),
        "{msg}"
    );
    let mut future = serde_json::to_value(&state).unwrap();
    future["version"] = 99.into();
    let msg = write(future.to_string());
    assert!(msg.contains("version 99"), "{msg}");
    let mut bad_seed = serde_json::to_value(&state).unwrap();
    bad_seed["generators"] =
        serde_json::json!([{"name": "dropout.0", "seed": "xyz", "stream": 0, "word_pos": "0"}]);
    let msg = write(bad_seed.to_string());
    assert!(msg.contains("generator 'dropout.0'"), "{msg}");
}

/// The message of an error that must have happened.
fn err(error: Option<TrainError>) -> String {
    error.expect("an error").to_string()
}

#[test]
fn a_checkpoint_for_another_model_data_backend_or_optimizer_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let splits = splits(12);
    let path = one_epoch_checkpoint(dir.path(), &splits);
    let checkpoint = Checkpoint::read(&path).unwrap();

    // Other layer sizes: the first tensor that differs, with both shapes.
    let mut other = checkpoint.config().clone();
    other.hidden = vec![16, 9];
    let model = other.build_network::<NdArray<f32>>(12, 4);
    let msg = checkpoint.load_model(&*model).unwrap_err().to_string();
    assert!(
        msg.contains("run.ckpt") && msg.contains("'model.2.weight' has shape [8, 16]"),
        "{msg}"
    );
    assert!(msg.contains("[9, 16]"), "{msg}");
    // Deeper, or shallower.
    other.hidden = vec![16, 8, 4];
    let model = other.build_network::<NdArray<f32>>(12, 4);
    let msg = checkpoint.load_model(&*model).unwrap_err().to_string();
    assert!(msg.contains("no tensor 'model.6.weight'"), "{msg}");
    other.hidden = vec![];
    let model = other.build_network::<NdArray<f32>>(12, 4);
    let msg = checkpoint.load_model(&*model).unwrap_err().to_string();
    assert!(
        msg.contains("'model.0.weight' has shape [16, 12], but the model's has shape [4, 12]"),
        "{msg}"
    );

    let msg = err(Run::<NdArray<f32>>::resume(&checkpoint, &self::splits(10)).err());
    assert!(
        msg.contains("the checkpoint's input size is 12, but this run's is 10"),
        "{msg}"
    );
    let msg = err(Run::<Nalgebra<f32>>::resume(&checkpoint, &splits).err());
    assert!(
        msg.contains("backend is ndarray, but this run's is nalgebra"),
        "{msg}"
    );
    let msg = err(Run::<NdArray<f64>>::resume(&checkpoint, &splits).err());
    assert!(
        msg.contains("precision is f32, but this run's is f64"),
        "{msg}"
    );

    // The optimizer state of an Adam run does not load into SGD.
    let model = checkpoint.config().build_network::<NdArray<f32>>(12, 4);
    let mut sgd = OptimizerConfig::Sgd {
        lr: 0.1,
        momentum: 0.9,
    }
    .build(model.parameters())
    .unwrap();
    let msg = checkpoint
        .load_optimizer(sgd.as_mut())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains(
            "run.ckpt: the optimizer state does not fit: Sgd: the state was saved by adam"
        ),
        "{msg}"
    );
    // Nor into an Adam over fewer parameters.
    let mut adam = Adam::new(model.parameters().into_iter().take(2), AdamConfig::new(0.1));
    let msg = checkpoint
        .load_optimizer(&mut adam)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("the state is for 6 parameters, but the optimizer has 2"),
        "{msg}"
    );

    // A run cannot be shortened below what it has done.
    let mut run = Run::<NdArray<f32>>::resume(&checkpoint, &splits).unwrap();
    let msg = run.extend_to(0).unwrap_err().to_string();
    assert!(
        msg.contains("fewer than the epochs the run has already done"),
        "{msg}"
    );
}

#[test]
fn a_saved_model_evaluates_to_the_runs_final_test_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let splits = splits(12);
    let path = dir.path().join("run.ckpt");
    let config = mlp_config(OptimizerConfig::Adam { lr: 0.01 }, LrSchedule::Cosine);
    let trained = Run::<NdArray<f32>>::new(&config, &splits)
        .unwrap()
        .train(&splits, (), Some(&path))
        .unwrap();
    let last = trained.metrics.last_epoch().unwrap().clone();
    let weights = dir.path().join("weights.safetensors");
    save_safetensors(&trained.model, &weights).unwrap();

    let saved = SavedModel::open(&path).unwrap();
    let from_checkpoint = saved
        .evaluate::<NdArray<f32>>(saved.config().unwrap(), &splits)
        .unwrap();
    let from_weights = SavedModel::open(&weights)
        .unwrap()
        .evaluate::<NdArray<f32>>(&config, &splits)
        .unwrap();
    for eval in [from_checkpoint, from_weights] {
        assert_eq!(eval.accuracy, last.test_accuracy);
        assert_eq!(eval.loss, last.test_loss);
    }
    // On the other backend, in the other precision, the same predictions.
    let other = saved.evaluate::<Nalgebra<f64>>(&config, &splits).unwrap();
    assert_eq!(other.correct, from_checkpoint.correct);
    assert!((other.loss - last.test_loss).abs() < 1e-5);
}
