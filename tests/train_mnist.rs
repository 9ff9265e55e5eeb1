//! Tests of `duograd::train`: the training loop on a small synthetic problem (learns, same
//! numbers on both backends, observer calls), configuration and preset parsing, data-location
//! errors, and — ignored unless asked for — the presets' accuracy on the real MNIST and digits.
//!
//! The end-to-end tests need the data: `MNIST_DIR=… DIGITS_CSV=… cargo test --release --test
//! train_mnist -- --ignored`. Run that way without the variables, they fail.

#[macro_use]
mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use duograd::backends::Nalgebra;
use duograd::backends::NdArray;
use duograd::data::{Dataset, DIGITS_ENV_VAR};
use duograd::nn::{Activation, Init, Module};
use duograd::train::{
    evaluate, fit, load_digits_split, load_mnist, parse_activation, parse_hidden, parse_init,
    train, Architecture, BatchEvent, ConfigError, DataSet, EpochMetrics, LossExploding, LrSchedule,
    Observer, OptimizerConfig, Overrides, Preset, RunInfo, Splits, StepPhases, TrainConfig,
    TrainError, TrainMetrics, EXPLODING_LOSS_FACTOR,
};
use duograd::Backend;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

// ---------------------------------------------------------------- synthetic data

/// `n` points in `dim` dimensions around `classes` well separated centres (drawn from `seed`),
/// with Gaussian noise of standard deviation 0.5.
fn blobs(n: usize, dim: usize, classes: usize, seed: u64) -> Dataset {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let centre = Normal::new(0.0, 2.0).unwrap();
    let centres: Vec<Vec<f32>> = (0..classes)
        .map(|_| (0..dim).map(|_| centre.sample(&mut rng)).collect())
        .collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let noise = Normal::new(0.0, 0.5).unwrap();
    let labels: Vec<usize> = (0..n).map(|i| i % classes).collect();
    let inputs = labels
        .iter()
        .flat_map(|&l| {
            centres[l]
                .iter()
                .map(|c| c + noise.sample(&mut rng))
                .collect::<Vec<f32>>()
        })
        .collect();
    Dataset::new(inputs, labels, dim, classes)
}

fn synthetic_splits() -> Splits {
    Splits::new(
        DataSet::Mnist,
        blobs(480, 10, 4, 1),
        Some(blobs(80, 10, 4, 2)),
        blobs(160, 10, 4, 3),
        PathBuf::from("<synthetic>"),
    )
}

/// A small model and schedule for the synthetic problem.
fn synthetic_config() -> TrainConfig {
    TrainConfig {
        hidden: vec![16],
        optimizer: OptimizerConfig::Adam { lr: 0.01 },
        batch_size: 32,
        epochs: 6,
        eval_batch_size: 50,
        ..TrainConfig::preset(Preset::Default)
    }
}

/// Records every call it gets.
#[derive(Default)]
struct Recorder {
    info: Option<RunInfo>,
    epoch_starts: Vec<usize>,
    batches: Vec<BatchEvent>,
    evaluations: Vec<usize>,
    epochs: Vec<EpochMetrics>,
    exploding: Vec<LossExploding>,
}

impl Observer for Recorder {
    fn on_train_start(&mut self, info: &RunInfo) {
        self.info = Some(*info);
    }
    fn on_epoch_start(&mut self, epoch: usize, _batches: usize) {
        self.epoch_starts.push(epoch);
    }
    fn on_batch(&mut self, event: &BatchEvent) {
        self.batches.push(*event);
    }
    fn on_evaluate(&mut self, epoch: usize) {
        self.evaluations.push(epoch);
    }
    fn on_epoch_end(&mut self, metrics: &EpochMetrics) {
        self.epochs.push(metrics.clone());
    }
    fn on_loss_exploding(&mut self, warning: &LossExploding) {
        self.exploding.push(*warning);
    }
}

backend_tests!(
    f32:
    training_loop_learns_a_synthetic_problem,
    observer_sees_every_batch_and_epoch,
    evaluation_records_no_graph,
    lenet_trains_on_image_batches,
);

fn training_loop_learns_a_synthetic_problem<B: Backend>() {
    let splits = synthetic_splits();
    let metrics = train::<B>(&synthetic_config(), &splits, ())
        .unwrap()
        .metrics;
    let (first, last) = (&metrics.epochs[0], metrics.last_epoch().unwrap());
    assert!(
        last.train_loss < first.train_loss / 3.0,
        "train loss fell only from {} to {}",
        first.train_loss,
        last.train_loss
    );
    assert!(last.test_loss < first.test_loss);
    assert!(
        last.test_accuracy >= 0.97,
        "test accuracy {}",
        last.test_accuracy
    );
    let valid = last.valid.expect("a validation set was given");
    assert!(
        valid.accuracy >= 0.95,
        "validation accuracy {}",
        valid.accuracy
    );
    assert_eq!((valid.samples, metrics.test_samples), (80, 160));
}

fn observer_sees_every_batch_and_epoch<B: Backend>() {
    let splits = synthetic_splits();
    let config = synthetic_config();
    let mut rec = Recorder::default();
    let metrics = train::<B>(&config, &splits, &mut rec).unwrap().metrics;

    let per_epoch = 480 / 32;
    let info = rec.info.unwrap();
    assert_eq!(
        (info.epochs, info.batches_per_epoch, info.train_samples),
        (6, per_epoch, 480)
    );
    assert_eq!(rec.epoch_starts, [1, 2, 3, 4, 5, 6]);
    assert_eq!(rec.evaluations, [1, 2, 3, 4, 5, 6]);
    assert_eq!(rec.batches.len(), 6 * per_epoch);
    assert_eq!(metrics.batch_losses.len(), 6 * per_epoch);
    assert_eq!(rec.epochs, metrics.epochs);
    for (i, e) in rec.batches.iter().enumerate() {
        assert_eq!(
            (e.epoch, e.batch, e.batches),
            (i / per_epoch + 1, i % per_epoch + 1, per_epoch)
        );
        assert_eq!(e.samples, 32 * e.batch);
        assert_eq!(e.loss, metrics.batch_losses[i]);
    }
    // The epoch's train loss is the sample-weighted mean of its batch losses.
    let first: f64 = metrics.batch_losses[..per_epoch].iter().sum::<f64>() / per_epoch as f64;
    assert!((metrics.epochs[0].train_loss - first).abs() < 1e-9);
    assert_eq!(
        rec.batches[per_epoch - 1].running_loss,
        metrics.epochs[0].train_loss
    );
    for e in &metrics.epochs {
        assert!(e.seconds > 0.0 && e.samples_per_sec > 0.0);
        // Every phase took time, and the phases are disjoint stretches of the epoch's time.
        let p = e.phases;
        for (name, seconds) in [
            ("data", p.data),
            ("forward", p.forward),
            ("backward", p.backward),
            ("optimizer", p.optimizer),
            ("metrics", p.metrics),
        ] {
            assert!(seconds > 0.0, "epoch {}: no time in {name}: {p:?}", e.epoch);
        }
        assert!(
            p.total() <= e.seconds,
            "epoch {}: phases {p:?} add up to more than the epoch's {} s",
            e.epoch,
            e.seconds
        );
    }
    assert_eq!(metrics.backend, B::name());
    assert_eq!(metrics.num_parameters, 10 * 16 + 16 + 16 * 4 + 4);
}

fn evaluation_records_no_graph<B: Backend>() {
    let splits = synthetic_splits();
    let config = synthetic_config();
    let model = config.build_model::<B>(10, 4);
    let eval = evaluate(&model, &splits.test, 64);
    assert_eq!((eval.samples, eval.correct <= 160), (160, true));
    assert!((eval.accuracy - eval.correct as f64 / 160.0).abs() < 1e-12);
    assert!(eval.loss > 0.0);
    for p in model.parameters() {
        assert!(p.grad().is_none());
    }
    // Same numbers whatever the batch size.
    let whole = evaluate(&model, &splits.test, 1000);
    assert_eq!(whole.correct, eval.correct);
    assert!((whole.loss - eval.loss).abs() < 1e-4);
}

// ---------------------------------------------------------------- the loop across backends

/// The whole run as numbers to compare: batch losses and per-epoch metrics, timings left out.
fn numbers(m: &TrainMetrics) -> (Vec<f64>, Vec<[f64; 4]>) {
    let epochs = m
        .epochs
        .iter()
        .map(|e| [e.train_loss, e.train_accuracy, e.test_loss, e.test_accuracy])
        .collect();
    (m.batch_losses.clone(), epochs)
}

#[test]
fn backends_give_identical_metrics_in_f64() {
    let splits = synthetic_splits();
    for config in [
        synthetic_config(),
        TrainConfig {
            activation: Activation::Tanh,
            init: Init::StandardNormal,
            optimizer: OptimizerConfig::Sgd {
                lr: 0.01,
                momentum: 0.9,
            },
            schedule: LrSchedule::Cosine,
            ..synthetic_config()
        },
    ] {
        let a = train::<NdArray<f64>>(&config, &splits, ()).unwrap().metrics;
        let b = train::<Nalgebra<f64>>(&config, &splits, ())
            .unwrap()
            .metrics;
        let ((la, ea), (lb, eb)) = (numbers(&a), numbers(&b));
        for (i, (x, y)) in la.iter().zip(&lb).enumerate() {
            assert!(
                (x - y).abs() <= 1e-9 * x.abs().max(1.0),
                "batch {i}: loss {x} vs {y}"
            );
        }
        for (x, y) in ea.iter().zip(&eb) {
            assert_eq!(x[1], y[1], "train accuracy");
            assert_eq!(x[3], y[3], "test accuracy");
            assert!((x[0] - y[0]).abs() < 1e-9 && (x[2] - y[2]).abs() < 1e-9);
        }
    }
}

#[test]
fn fit_trains_a_given_model_with_a_given_optimizer() {
    let splits = synthetic_splits();
    let config = synthetic_config();
    let mut model = config.build_model::<NdArray<f64>>(10, 4);
    let mut optimizer = OptimizerConfig::Sgd {
        lr: 0.1,
        momentum: 0.9,
    }
    .build(model.parameters())
    .unwrap();
    let metrics = fit(&mut model, optimizer.as_mut(), &splits, &config, ()).unwrap();
    assert!(metrics.final_accuracy() >= 0.97);
    assert_eq!(optimizer.lr(), 0.1, "the schedule's changes are undone");
    assert!(model.is_training());
}

#[test]
fn same_seed_same_run_other_seed_other_run() {
    let splits = synthetic_splits();
    let run = |seed| {
        let config = TrainConfig {
            seed,
            epochs: 1,
            ..synthetic_config()
        };
        train::<NdArray<f32>>(&config, &splits, ())
            .unwrap()
            .metrics
            .batch_losses
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
}

#[test]
fn metrics_round_trip_through_json() {
    let splits = synthetic_splits();
    let config = TrainConfig {
        epochs: 2,
        ..synthetic_config()
    };
    let metrics = train::<NdArray<f32>>(&config, &splits, ()).unwrap().metrics;
    let json = serde_json::to_string_pretty(&metrics).unwrap();
    for key in [
        "\"backend\": \"ndarray\"",
        "\"precision\": \"f32\"",
        "\"activation\": \"relu\"",
        "\"kind\": \"adam\"",
        "\"schedule\": \"cosine\"",
        "\"test_accuracy\"",
        "\"samples_per_sec\"",
        "\"phases\"",
        "\"backward\"",
    ] {
        assert!(json.contains(key), "{key} missing from {json}");
    }
    // serde_json's parser may miss the last bit of a float (no `float_roundtrip`): compare the
    // numbers with a tolerance and everything else exactly.
    let back: TrainMetrics = serde_json::from_str(&json).unwrap();
    assert_eq!(back.config, metrics.config);
    assert_eq!(back.epochs.len(), metrics.epochs.len());
    let close = |a: &[f64], b: &[f64]| {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| (x - y).abs() <= 1e-14 * x.abs())
    };
    assert!(close(&back.batch_losses, &metrics.batch_losses));
    let (nb, nm) = (numbers(&back), numbers(&metrics));
    assert!(close(nb.1.concat().as_slice(), nm.1.concat().as_slice()));
    assert_eq!(
        back.epochs[1].valid.unwrap().correct,
        metrics.epochs[1].valid.unwrap().correct
    );
    let phases = |m: &TrainMetrics| -> Vec<f64> {
        m.epochs
            .iter()
            .flat_map(|e| [e.phases.data, e.phases.forward, e.phases.backward])
            .collect()
    };
    assert!(close(&phases(&back), &phases(&metrics)));
    // Metrics written before the phases were recorded still read, with zero phases.
    let mut old: serde_json::Value = serde_json::from_str(&json).unwrap();
    for epoch in old["epochs"].as_array_mut().unwrap() {
        epoch.as_object_mut().unwrap().remove("phases");
    }
    let old: TrainMetrics = serde_json::from_value(old).unwrap();
    assert_eq!(old.epochs[0].phases, StepPhases::default());
}

#[test]
fn invalid_config_is_an_error_not_a_panic() {
    let splits = synthetic_splits();
    let config = TrainConfig {
        batch_size: 0,
        ..synthetic_config()
    };
    let err = train::<NdArray<f32>>(&config, &splits, ()).err().unwrap();
    assert!(matches!(err, TrainError::Config(_)), "{err}");
    assert_eq!(err.to_string(), "invalid batch size 0: must be at least 1");
}

// ---------------------------------------------------------------- configuration

#[test]
fn presets_parse_by_name_and_match_their_specification() {
    for p in Preset::ALL {
        assert_eq!(p.name().parse::<Preset>().unwrap(), p);
        assert_eq!(p.name().to_uppercase().parse::<Preset>().unwrap(), p);
        p.config().validate().unwrap();
    }
    let err = "fastest".parse::<Preset>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown preset \"fastest\"; expected one of: default, arena, course, digits, wide, best, \
         lenet, cnn"
    );

    let arena = Preset::Arena.config();
    assert_eq!(arena.layer_sizes(784, 10), [784, 64, 64, 10]);
    assert_eq!(arena.activation, Activation::Relu);
    assert_eq!(
        arena.optimizer,
        OptimizerConfig::Sgd {
            lr: 0.01,
            momentum: 0.0
        }
    );
    assert_eq!(
        (arena.batch_size, arena.epochs, arena.shuffle),
        (512, 5, true)
    );
    assert_eq!(arena.schedule, LrSchedule::Constant);

    let course = Preset::Course.config();
    assert_eq!(course.layer_sizes(784, 10), [784, 64, 10]);
    assert_eq!(
        (course.activation, course.init),
        (Activation::Tanh, Init::StandardNormal)
    );
    assert_eq!(
        course.optimizer,
        OptimizerConfig::Sgd {
            lr: 0.01,
            momentum: 0.9
        }
    );
    assert_eq!((course.batch_size, course.epochs), (64, 2));

    let digits = Preset::Digits.config();
    assert_eq!(digits.dataset, DataSet::Digits);
    assert_eq!(digits.layer_sizes(64, 10), [64, 32, 10]);
    assert_eq!(digits.optimizer, OptimizerConfig::Adam { lr: 1e-3 });
    assert_eq!((digits.batch_size, digits.epochs), (64, 30));

    let wide = Preset::Wide.config();
    assert_eq!(wide.layer_sizes(784, 10), [784, 256, 256, 10]);
    assert_eq!(
        (wide.activation, wide.init),
        (Activation::Relu, Preset::Arena.config().init)
    );
    assert_eq!(
        wide.optimizer,
        OptimizerConfig::Sgd {
            lr: 0.05,
            momentum: 0.0
        }
    );
    assert_eq!((wide.batch_size, wide.epochs), (128, 3));
    assert_eq!(wide.schedule, LrSchedule::Constant);

    let best = Preset::Best.config();
    assert_eq!(best.layer_sizes(784, 10), [784, 512, 256, 10]);

    let lenet = Preset::Lenet.config();
    assert_eq!(lenet.model, Architecture::Lenet);
    assert_eq!(lenet.optimizer, OptimizerConfig::Adam { lr: 1e-3 });
    assert_eq!(
        (lenet.batch_size, lenet.epochs, lenet.schedule),
        (64, 10, LrSchedule::Cosine)
    );
    let cnn = Preset::Cnn.config();
    assert_eq!(cnn.model, Architecture::Cnn);
    assert_eq!(
        (cnn.batch_size, cnn.epochs, cnn.schedule),
        (128, 5, LrSchedule::Cosine)
    );
    for p in Preset::ALL {
        let conv = matches!(p, Preset::Lenet | Preset::Cnn);
        assert_eq!(p.config().model.takes_images(), conv, "{p}");
    }
    assert_eq!(TrainConfig::default(), Preset::Default.config());
    assert_eq!(TrainConfig::default().dataset, DataSet::Mnist);
}

#[test]
fn course_model_has_standard_normal_weights_and_zero_biases() {
    let model = Preset::Course.config().build_model::<NdArray<f64>>(784, 10);
    let w = model.linears()[0].weight.to_vec_f64();
    let mean = w.iter().sum::<f64>() / w.len() as f64;
    let var = w.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / w.len() as f64;
    assert!(
        mean.abs() < 0.02 && (var - 1.0).abs() < 0.03,
        "mean {mean}, var {var}"
    );
    for linear in model.linears() {
        assert!(linear
            .bias
            .as_ref()
            .unwrap()
            .to_vec_f64()
            .iter()
            .all(|&b| b == 0.0));
    }
}

#[test]
fn overrides_change_only_what_is_given() {
    let base = Preset::Course.config();
    assert_eq!(Overrides::default().apply(base.clone()).unwrap(), base);

    let changed = Overrides {
        hidden: Some(vec![128, 32]),
        activation: Some(Activation::Sigmoid),
        lr: Some(0.05),
        batch_size: Some(100),
        epochs: Some(1),
        seed: Some(7),
        no_shuffle: true,
        validation: true,
        ..Overrides::default()
    }
    .apply(base.clone())
    .unwrap();
    assert_eq!(changed.hidden, [128, 32]);
    assert_eq!(changed.activation, Activation::Sigmoid);
    assert_eq!(
        changed.optimizer,
        OptimizerConfig::Sgd {
            lr: 0.05,
            momentum: 0.9
        },
        "the momentum is kept"
    );
    assert_eq!(
        (changed.batch_size, changed.epochs, changed.seed),
        (100, 1, 7)
    );
    assert!(!changed.shuffle && changed.validation);
    assert_eq!(changed.init, base.init);

    // Naming the optimizer the preset already uses keeps its settings...
    let same = Overrides {
        optimizer: Some("SGD".into()),
        ..Overrides::default()
    };
    assert_eq!(same.apply(base.clone()).unwrap().optimizer, base.optimizer);
    // ...switching resets them to the new optimizer's defaults, unless given.
    let adam = Overrides {
        optimizer: Some("adam".into()),
        ..Overrides::default()
    };
    assert_eq!(
        adam.apply(base.clone()).unwrap().optimizer,
        OptimizerConfig::Adam { lr: 1e-3 }
    );
    let sgd = Overrides {
        optimizer: Some("sgd".into()),
        momentum: Some(0.5),
        ..Overrides::default()
    };
    assert_eq!(
        sgd.apply(Preset::Best.config()).unwrap().optimizer,
        OptimizerConfig::Sgd {
            lr: 0.01,
            momentum: 0.5
        }
    );
}

#[test]
fn bad_settings_are_rejected_with_a_message() {
    let apply = |o: Overrides| o.apply(Preset::Default.config()).unwrap_err().to_string();
    assert_eq!(
        apply(Overrides {
            momentum: Some(0.9),
            ..Overrides::default()
        }),
        "invalid momentum 0.9: only SGD takes a momentum (choose the sgd optimizer)"
    );
    assert_eq!(
        apply(Overrides {
            optimizer: Some("rmsprop".into()),
            ..Overrides::default()
        }),
        "unknown optimizer \"rmsprop\"; expected one of: sgd, adam"
    );
    assert_eq!(
        apply(Overrides {
            lr: Some(-1.0),
            ..Overrides::default()
        }),
        "invalid learning rate -1: must be a finite number ≥ 0"
    );
    assert!(apply(Overrides {
        batch_size: Some(0),
        ..Overrides::default()
    })
    .contains("batch size"));
    assert!(apply(Overrides {
        hidden: Some(vec![64, 0]),
        ..Overrides::default()
    })
    .contains("hidden sizes 64,0"));
}

#[test]
fn names_parse() {
    assert_eq!(parse_hidden("64,64").unwrap(), [64, 64]);
    assert_eq!(parse_hidden(" 512 , 256 ").unwrap(), [512, 256]);
    assert_eq!(parse_hidden("none").unwrap(), Vec::<usize>::new());
    for bad in ["64,", "64;64", "-1", "0", "a"] {
        let err = parse_hidden(bad).unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { .. }), "{bad}: {err}");
    }
    assert_eq!(parse_activation("ReLU").unwrap(), Activation::Relu);
    assert_eq!(parse_activation("tanh").unwrap(), Activation::Tanh);
    assert_eq!(parse_activation("sigmoid").unwrap(), Activation::Sigmoid);
    assert!(parse_activation("gelu").is_err());
    assert_eq!(parse_init("normal").unwrap(), Init::StandardNormal);
    assert_eq!(parse_init("uniform").unwrap(), Init::Uniform);
    assert_eq!("digits".parse::<DataSet>().unwrap(), DataSet::Digits);
    assert_eq!("cosine".parse::<LrSchedule>().unwrap(), LrSchedule::Cosine);
    assert!(OptimizerConfig::named("adamw").is_err());
}

// ---------------------------------------------------------------- divergence

#[test]
fn a_huge_learning_rate_stops_at_the_first_non_finite_loss() {
    let splits = synthetic_splits();
    let config = TrainConfig {
        optimizer: OptimizerConfig::Sgd {
            lr: 1e6,
            momentum: 0.0,
        },
        schedule: LrSchedule::Constant,
        epochs: 20,
        ..synthetic_config()
    };
    let mut recorder = Recorder::default();
    let err = match train::<NdArray<f32>>(&config, &splits, &mut recorder) {
        Ok(_) => panic!("training at lr 1e6 finished without diverging"),
        Err(err) => err,
    };
    let TrainError::Diverged {
        epoch,
        batch,
        batches,
        loss,
        lr,
    } = err
    else {
        panic!("expected TrainError::Diverged, got {err:?}");
    };
    assert!(!loss.is_finite(), "{loss}");
    assert_eq!(lr, 1e6);
    assert_eq!(batches, 15);
    // Every batch before the failing one was reported, and none after it.
    assert_eq!(recorder.batches.len(), (epoch - 1) * batches + batch - 1);
    assert!(recorder.batches.iter().all(|b| b.loss.is_finite()));
    assert_eq!(recorder.epochs.len(), epoch - 1);
    let msg = err.to_string();
    for part in [
        "training diverged".to_string(),
        format!("at epoch {epoch}, batch {batch} of 15"),
        "learning rate 1e6".to_string(),
        "try a lower learning rate, e.g. --lr 1e5".to_string(),
    ] {
        assert!(msg.contains(&part), "{part:?} missing from: {msg}");
    }
}

#[test]
fn a_nan_in_the_data_stops_training_at_the_first_batch() {
    let mut inputs = blobs(480, 10, 4, 1).inputs().into_owned();
    inputs[3] = f32::NAN;
    let train_set = Dataset::new(inputs, (0..480).map(|i| i % 4).collect(), 10, 4);
    let splits = Splits::new(
        DataSet::Mnist,
        train_set,
        None,
        blobs(160, 10, 4, 3),
        PathBuf::from("<synthetic>"),
    );
    let mut model = synthetic_config().build_model::<NdArray<f64>>(10, 4);
    let mut optimizer = OptimizerConfig::Sgd {
        lr: 0.1,
        momentum: 0.0,
    }
    .build(model.parameters())
    .unwrap();
    let err = fit(
        &mut model,
        optimizer.as_mut(),
        &splits,
        &synthetic_config(),
        (),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            TrainError::Diverged {
                epoch: 1,
                batch: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(optimizer.lr(), 0.1, "the schedule's changes are undone");
}

#[test]
fn an_exploding_but_finite_loss_is_reported_and_a_healthy_run_is_not() {
    let splits = synthetic_splits();
    let config = TrainConfig {
        optimizer: OptimizerConfig::Adam { lr: 1e6 },
        epochs: 2,
        ..synthetic_config()
    };
    let mut recorder = Recorder::default();
    let metrics = train::<NdArray<f32>>(&config, &splits, &mut recorder)
        .unwrap()
        .metrics;
    let first_loss = metrics.batch_losses[0];
    let expected: Vec<usize> = metrics
        .epochs
        .iter()
        .filter(|e| e.train_loss > EXPLODING_LOSS_FACTOR * first_loss)
        .map(|e| e.epoch)
        .collect();
    assert!(
        !expected.is_empty(),
        "the loss did not explode: {metrics:?}"
    );
    let warned: Vec<usize> = recorder.exploding.iter().map(|w| w.epoch).collect();
    assert_eq!(warned, expected);
    let w = recorder.exploding[0];
    assert_eq!((w.first_loss, w.lr), (first_loss, 1e6));
    assert_eq!(w.train_loss, metrics.epochs[w.epoch - 1].train_loss);
    assert!(w.to_string().contains("lower learning rate"), "{w}");

    let mut healthy = Recorder::default();
    train::<NdArray<f32>>(&synthetic_config(), &splits, &mut healthy).unwrap();
    assert!(healthy.exploding.is_empty());
}

// ---------------------------------------------------------------- data location errors

#[test]
fn missing_mnist_dir_tells_how_to_point_at_the_data() {
    let dir = Path::new("/nonexistent/duograd/mnist");
    let err = load_mnist(dir, false).unwrap_err();
    assert!(matches!(err, TrainError::MnistDirNotFound { .. }));
    let msg = err.to_string();
    for part in [
        "/nonexistent/duograd/mnist",
        "not found",
        "MNIST_DIR",
        "--data-dir",
        "--download",
    ] {
        assert!(msg.contains(part), "{part:?} missing from: {msg}");
    }
}

#[test]
fn mnist_dir_without_the_files_names_the_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t10k-labels-idx1-ubyte.gz"), b"").unwrap();
    let err = load_mnist(dir.path(), false).unwrap_err();
    let TrainError::MnistFilesMissing { missing, .. } = &err else {
        panic!("expected MnistFilesMissing, got {err:?}");
    };
    assert_eq!(
        missing,
        &[
            "train-images-idx3-ubyte",
            "train-labels-idx1-ubyte",
            "t10k-images-idx3-ubyte"
        ]
    );
    let msg = err.to_string();
    for part in [
        "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte (nor .gz)",
        "--data-dir DIR",
        "MNIST_DIR=DIR",
        "--download",
    ] {
        assert!(msg.contains(part), "{part:?} missing from: {msg}");
    }
}

#[test]
fn missing_digits_file_tells_how_to_point_at_it() {
    let err = load_digits_split(Path::new("/nonexistent/digits.csv"), 0).unwrap_err();
    let msg = err.to_string();
    for part in ["/nonexistent/digits.csv", "DIGITS_CSV", "--data-dir"] {
        assert!(msg.contains(part), "{part:?} missing from: {msg}");
    }
    // A directory without the CSV is reported the same way.
    let dir = tempfile::tempdir().unwrap();
    let err = load_digits_split(dir.path(), 0).unwrap_err();
    assert!(
        matches!(err, TrainError::DigitsFileNotFound { .. }),
        "{err}"
    );
}

#[test]
fn digits_are_split_80_20_with_the_seed_and_normalized_on_the_training_part() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("digits.csv");
    let lines: Vec<String> = (0..50)
        .map(|i| {
            let pixels: Vec<String> = (0..64).map(|j| ((i + j) % 17).to_string()).collect();
            format!("{},{}", pixels.join(","), i % 10)
        })
        .collect();
    std::fs::write(&path, lines.join("\n")).unwrap();
    let a = load_digits_split(dir.path(), 3).unwrap(); // the directory is searched
    assert_eq!(
        (a.train.len(), a.test.len(), a.input_size(), a.classes()),
        (40, 10, 64, 10)
    );
    assert_eq!(a.source, path);
    let b = load_digits_split(&path, 3).unwrap();
    assert_eq!(a.test, b.test);
    let c = load_digits_split(&path, 4).unwrap();
    assert_ne!(a.test, c.test);
    let mean =
        a.train.inputs().iter().map(|&x| f64::from(x)).sum::<f64>() / a.train.inputs().len() as f64;
    assert!(
        mean.abs() < 1e-5,
        "training inputs are standardized (mean {mean})"
    );
}

// ---------------------------------------------------------------- real data (ignored)

/// MNIST from `MNIST_DIR`, loaded once for all the tests of this binary.
fn mnist() -> &'static Splits {
    static MNIST: OnceLock<Splits> = OnceLock::new();
    MNIST.get_or_init(|| {
        let dir = std::env::var_os("MNIST_DIR")
            .filter(|d| !d.is_empty())
            .expect("MNIST_DIR must name the directory holding the MNIST files");
        load_mnist(Path::new(&dir), false).unwrap_or_else(|e| panic!("{e}"))
    })
}

/// The digits from `DIGITS_CSV`, split with `seed`.
fn digits(seed: u64) -> Splits {
    let path = std::env::var_os(DIGITS_ENV_VAR)
        .filter(|d| !d.is_empty())
        .expect("DIGITS_CSV must name the 8x8 digits CSV");
    load_digits_split(Path::new(&path), seed).unwrap_or_else(|e| panic!("{e}"))
}

/// Trains `config` on `B` and returns the final test accuracy in percent.
fn accuracy<B: Backend>(config: &TrainConfig, splits: &Splits) -> f64 {
    let start = Instant::now();
    let metrics = train::<B>(config, splits, ()).unwrap().metrics;
    let acc = 100.0 * metrics.final_accuracy();
    eprintln!(
        "{} {}: {acc:.2}% in {:.1} s ({:.2} s/epoch)",
        metrics.backend,
        metrics.precision,
        start.elapsed().as_secs_f64(),
        metrics.seconds_per_epoch()
    );
    acc
}

/// Checks `preset` on both backends: the accuracy bar in `f32` on each, and agreement between
/// the backends within 0.1 point in `f64`.
///
/// In `f32` the two backends' reductions sum in different orders, so their losses differ in
/// the last bit from the first batch on and training drifts apart (by up to half a point on
/// `course`, whose saturated tanh units amplify small differences); that drift is bounded
/// loosely here. In `f64` both runs give the same accuracy.
fn check_preset(preset: Preset, splits: &Splits, f64_too: bool) {
    let config = preset.config();
    let bar = 100.0 * preset.target_accuracy();
    let nd = accuracy::<NdArray<f32>>(&config, splits);
    let na = accuracy::<Nalgebra<f32>>(&config, splits);
    for (backend, acc) in [("ndarray", nd), ("nalgebra", na)] {
        let ok = match preset {
            Preset::Course => acc > bar,
            _ => acc >= bar,
        };
        assert!(ok, "{preset} on {backend} (f32): {acc:.2}% is below {bar}%");
    }
    assert!(
        (nd - na).abs() <= 1.0,
        "{preset} f32: the backends differ by {:.2} points ({nd:.2}% vs {na:.2}%)",
        (nd - na).abs()
    );
    if f64_too {
        let nd = accuracy::<NdArray<f64>>(&config, splits);
        let na = accuracy::<Nalgebra<f64>>(&config, splits);
        assert!(
            (nd - na).abs() <= 0.1,
            "{preset} f64: the backends differ by {:.2} points ({nd:.2}% vs {na:.2}%)",
            (nd - na).abs()
        );
    }
}

#[test]
#[ignore = "needs MNIST_DIR"]
fn arena_preset_reaches_87_percent_on_both_backends() {
    check_preset(Preset::Arena, mnist(), true);
}

#[test]
#[ignore = "needs MNIST_DIR"]
fn course_preset_exceeds_82_percent_on_both_backends() {
    check_preset(Preset::Course, mnist(), true);
}

#[test]
#[ignore = "needs DIGITS_CSV"]
fn digits_preset_reaches_95_percent_on_both_backends() {
    let config = Preset::Digits.config();
    check_preset(Preset::Digits, &digits(config.seed), true);
}

/// A configuration for a network that takes images: flags that shape an MLP are refused, and
/// the model needs MNIST.
#[test]
fn conv_models_refuse_mlp_flags_and_the_digits() {
    let lenet = Overrides {
        model: Some(Architecture::Lenet),
        hidden: Some(vec![64]),
        ..Overrides::default()
    };
    let err = lenet
        .apply(Preset::Default.config())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("lenet") && err.contains("hidden sizes"),
        "{err}"
    );
    let digits = Overrides {
        model: Some(Architecture::Cnn),
        dataset: Some(DataSet::Digits),
        ..Overrides::default()
    };
    let err = digits
        .apply(Preset::Default.config())
        .unwrap_err()
        .to_string();
    assert!(err.contains("cnn") && err.contains("28×28 MNIST"), "{err}");
    let ok = Overrides {
        model: Some(Architecture::Cnn),
        epochs: Some(1),
        ..Overrides::default()
    };
    assert_eq!(
        ok.apply(Preset::Arena.config()).unwrap().model,
        Architecture::Cnn
    );
}

/// A convolutional network trains on image batches built from a data set's item shape, and
/// evaluation takes the same shape.
fn lenet_trains_on_image_batches<B: Backend>() {
    let (train_set, test_set) = image_splits();
    let config = TrainConfig {
        model: Architecture::Lenet,
        epochs: 3,
        batch_size: 16,
        ..Preset::Lenet.config()
    };
    let splits = Splits::new(
        DataSet::Mnist,
        train_set,
        None,
        test_set,
        PathBuf::from("<synthetic images>"),
    );
    let trained = train::<B>(&config, &splits, ()).unwrap();
    assert!(trained.metrics.layer_sizes.is_empty());
    assert_eq!(trained.model.num_parameters(), 61_706);
    let acc = trained.metrics.final_accuracy();
    assert!(acc > 0.9, "LeNet on two separable image classes: {acc}");
}

/// Two classes of 28×28 images: a bright left half or a bright right half, with noise.
fn image_splits() -> (Dataset, Dataset) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let mut make = |n: usize| {
        let mut inputs = Vec::with_capacity(n * 784);
        let mut labels = Vec::with_capacity(n);
        for i in 0..n {
            let label = i % 2;
            for _ in 0..28 {
                for col in 0..28 {
                    let bright = (col < 14) == (label == 0);
                    let noise: f32 = rand::Rng::random_range(&mut rng, -0.3..0.3);
                    inputs.push(if bright { 1.0 } else { 0.0 } + noise);
                }
            }
            labels.push(label);
        }
        Dataset::new(inputs, labels, 784, 10).with_item_shape(&[1, 28, 28])
    };
    (make(96), make(32))
}

#[test]
#[ignore = "needs MNIST_DIR"]
fn lenet_preset_reaches_99_percent_on_both_backends() {
    check_preset(Preset::Lenet, mnist(), false);
}

#[test]
#[ignore = "needs MNIST_DIR"]
fn cnn_preset_reaches_99_4_percent_on_both_backends() {
    check_preset(Preset::Cnn, mnist(), false);
}
