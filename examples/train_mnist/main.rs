//! Trains a classifier (an MLP, LeNet-5 or a small CNN) on MNIST, or an MLP on the 8×8 digits,
//! with duograd.
//!
//! ```text
//! cargo run --release --example train_mnist -- [--preset arena] [--backend nalgebra] …
//! cargo run --release --example train_mnist -- --help
//! ```
//!
//! The backend and precision flags are dispatched once, into [`run`], which is generic over the
//! backend; everything it calls (`duograd::train`) is shared by all backends.

mod cli;
mod download;
mod plot;
mod report;

use std::path::Path;
use std::process::ExitCode;

use clap::{ArgMatches, CommandFactory, FromArgMatches};
use duograd::backends::Nalgebra;
use duograd::backends::NdArray;
use duograd::train::{
    data_location, load_splits, Checkpoint, LrSchedule, Run, SavedModel, Splits, TrainConfig,
    TrainMetrics,
};
use duograd::Backend;

use cli::{Args, BackendKind, Precision};
use report::Reporter;

fn main() -> ExitCode {
    let matches = Args::command().get_matches();
    let args = Args::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    match main_inner(&args, &matches) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// What to run: a new run, or one continued from a checkpoint.
struct Plan {
    config: TrainConfig,
    backend: BackendKind,
    precision: Precision,
    resume: Option<Checkpoint>,
}

fn main_inner(args: &Args, matches: &ArgMatches) -> Result<(), String> {
    if let Some(threads) = args.threads {
        duograd::backends::cpu::threads::set_num_threads(threads as usize);
    }
    if let Some(path) = &args.eval {
        return evaluate_file(args, matches, path);
    }
    let plan = match &args.resume {
        Some(path) => resume_plan(args, matches, path)?,
        None => Plan {
            config: args.config().map_err(|e| e.to_string())?,
            backend: args.backend,
            precision: args.precision,
            resume: None,
        },
    };
    check_output_dirs(args)?;
    let config = &plan.config;
    let splits = load(args, config)?;
    if !args.quiet {
        let preset = match &plan.resume {
            Some(c) => format!("resumed from {}", c.path().display()),
            None => format!("preset {}", args.preset),
        };
        print_header(config, &splits, &preset, plan.backend, plan.precision);
    }
    let metrics = match (plan.backend, plan.precision) {
        (BackendKind::Ndarray, Precision::F32) => run::<NdArray<f32>>(args, &plan, &splits),
        (BackendKind::Ndarray, Precision::F64) => run::<NdArray<f64>>(args, &plan, &splits),
        (BackendKind::Nalgebra, Precision::F32) => run::<Nalgebra<f32>>(args, &plan, &splits),
        (BackendKind::Nalgebra, Precision::F64) => run::<Nalgebra<f64>>(args, &plan, &splits),
    }?;
    if let Some(path) = &args.plot {
        plot::plot_curves(&metrics, path)?;
        println!("plot written to {}", path.display());
    }
    if let Some(path) = &args.metrics {
        write_metrics(&metrics, path)?;
        println!("metrics written to {}", path.display());
    }
    Ok(())
}

/// The data of `config`, from `--data-dir` or the environment.
fn load(args: &Args, config: &TrainConfig) -> Result<Splits, String> {
    let location = data_location(config.dataset, args.data_dir.as_deref());
    if args.download {
        download::fetch_mnist(config.dataset, &location, args.mirror.as_deref())?;
    }
    load_splits(config.dataset, &location, config.validation, config.seed)
        .map_err(|e| e.to_string())
}

/// The run recorded in the checkpoint at `path`, with its length changed by `--epochs`; any
/// other flag that would change the run is refused.
fn resume_plan(args: &Args, matches: &ArgMatches, path: &Path) -> Result<Plan, String> {
    let checkpoint = Checkpoint::read(path).map_err(|e| e.to_string())?;
    let state = checkpoint.state();
    let recorded = (
        BackendKind::named(&state.backend),
        Precision::named(&state.precision),
    );
    let (Some(backend), Some(precision)) = recorded else {
        return Err(format!(
            "{}: written on an unknown backend or precision ({} {})",
            path.display(),
            state.backend,
            state.precision
        ));
    };
    // Naming the backend or precision the run already uses changes nothing.
    let mut allowed = vec!["--epochs"];
    if args.backend == backend {
        allowed.push("--backend");
    }
    if args.precision == precision {
        allowed.push("--precision");
    }
    let refused = cli::given_run_flags(matches, &allowed);
    if !refused.is_empty() {
        return Err(format!(
            "--resume continues the run recorded in {} ({} {}); {} would change it. Leave \
             {} out (only --epochs may change the run's length), or start a new run",
            path.display(),
            state.backend,
            state.precision,
            refused.join(", "),
            if refused.len() == 1 { "it" } else { "them" },
        ));
    }
    let mut config = state.config.clone();
    if let Some(epochs) = args.epochs.filter(|&e| e != config.epochs) {
        if epochs < state.epochs_done {
            return Err(format!(
                "--epochs {epochs}: the run in {} has already done {} epochs",
                path.display(),
                state.epochs_done
            ));
        }
        let schedule = match config.schedule {
            LrSchedule::Cosine => " (the cosine schedule follows the new length)",
            LrSchedule::Constant => "",
        };
        println!(
            "--epochs {epochs}: the run now ends after {epochs} epochs instead of {}{schedule}",
            config.epochs
        );
        config.epochs = epochs;
    }
    if !args.quiet {
        println!(
            "resuming {}: {} of {} epochs done",
            path.display(),
            state.epochs_done,
            config.epochs
        );
    }
    Ok(Plan {
        config,
        backend,
        precision,
        resume: Some(checkpoint),
    })
}

/// Trains on backend `B` (a new run, or the remaining epochs of a resumed one), prints the
/// summary, and saves the weights if asked.
fn run<B: Backend>(args: &Args, plan: &Plan, splits: &Splits) -> Result<TrainMetrics, String> {
    let run = match &plan.resume {
        Some(checkpoint) => {
            let mut run = Run::<B>::resume(checkpoint, splits).map_err(|e| e.to_string())?;
            run.extend_to(plan.config.epochs)
                .map_err(|e| e.to_string())?;
            run
        }
        None => Run::<B>::new(&plan.config, splits).map_err(|e| e.to_string())?,
    };
    // A resumed run keeps checkpointing to the file it came from unless told otherwise.
    let checkpoint = args.checkpoint.as_ref().or(args.resume.as_ref());
    if let (Some(path), false) = (checkpoint, args.quiet) {
        println!("checkpoints: {} (after every epoch)", path.display());
    }
    let trained = run
        .train(
            splits,
            Reporter::new(args.quiet),
            checkpoint.map(|p| p.as_path()),
        )
        .map_err(|e| e.to_string())?;
    println!("{}", report::summary(&trained.metrics));
    if let Some(path) = &args.save {
        duograd::nn::save_safetensors(&trained.model, path)
            .map_err(|e| format!("cannot save the model: {e}"))?;
        println!("weights written to {}", path.display());
    }
    Ok(trained.metrics)
}

/// `--eval`: the test accuracy and loss of a saved model, no training.
fn evaluate_file(args: &Args, matches: &ArgMatches, path: &Path) -> Result<(), String> {
    let saved = SavedModel::open(path).map_err(|e| e.to_string())?;
    let config = match saved.config() {
        Some(config) => {
            let refused = cli::given_run_flags(matches, &["--backend", "--precision"]);
            if !refused.is_empty() {
                return Err(format!(
                    "{} is a checkpoint, which records its model and data; {} cannot apply \
                     to it",
                    path.display(),
                    refused.join(", ")
                ));
            }
            config.clone()
        }
        None => args.config().map_err(|e| e.to_string())?,
    };
    let splits = load(args, &config)?;
    // A checkpoint is evaluated on the backend and precision that trained it unless told
    // otherwise: then it reproduces the run's final test metrics exactly.
    let recorded = match &saved {
        SavedModel::Checkpoint(c) => (
            BackendKind::named(&c.state().backend),
            Precision::named(&c.state().precision),
        ),
        SavedModel::Weights(_) => (None, None),
    };
    let backend = match recorded.0 {
        Some(b) if !cli::given(matches, "backend") => b,
        _ => args.backend,
    };
    let precision = match recorded.1 {
        Some(p) if !cli::given(matches, "precision") => p,
        _ => args.precision,
    };
    let evaluate = match (backend, precision) {
        (BackendKind::Ndarray, Precision::F32) => SavedModel::evaluate::<NdArray<f32>>,
        (BackendKind::Ndarray, Precision::F64) => SavedModel::evaluate::<NdArray<f64>>,
        (BackendKind::Nalgebra, Precision::F32) => SavedModel::evaluate::<Nalgebra<f32>>,
        (BackendKind::Nalgebra, Precision::F64) => SavedModel::evaluate::<Nalgebra<f64>>,
    };
    let eval = evaluate(&saved, &config, &splits).map_err(|e| e.to_string())?;
    let kind = match saved {
        SavedModel::Checkpoint(c) => format!("checkpoint after epoch {}", c.state().epochs_done),
        SavedModel::Weights(_) => "weights".to_string(),
    };
    println!(
        "{} ({kind}): {}, {} test samples of {}, backend {}, {}",
        path.display(),
        config.describe(splits.input_size(), splits.classes()),
        report::thousands(eval.samples as f64),
        splits.dataset,
        backend.name(),
        precision.name(),
    );
    println!(
        "test accuracy {:.2}% ({}/{}), test loss {:.4}",
        100.0 * eval.accuracy,
        eval.correct,
        eval.samples,
        eval.loss
    );
    Ok(())
}

fn print_header(
    config: &TrainConfig,
    splits: &Splits,
    origin: &str,
    backend: BackendKind,
    precision: Precision,
) {
    let valid = splits.valid.as_ref().map_or(String::new(), |v| {
        format!(" / {} validation", report::thousands(v.len() as f64))
    });
    println!(
        "data: {} from {}: {} train{valid} / {} test, {} features, normalized with mean {:.4} std {:.4}",
        splits.dataset,
        splits.source.display(),
        report::thousands(splits.train.len() as f64),
        report::thousands(splits.test.len() as f64),
        splits.input_size(),
        splits.normalization.mean,
        splits.normalization.std,
    );
    println!(
        "model: {} — {origin}, backend {}, {}",
        config.describe(splits.input_size(), splits.classes()),
        backend.name(),
        precision.name(),
    );
}

/// Fails before training, rather than after it, if an output file's directory does not exist.
fn check_output_dirs(args: &Args) -> Result<(), String> {
    let outputs = [
        ("--save", &args.save),
        ("--checkpoint", &args.checkpoint),
        ("--plot", &args.plot),
        ("--metrics", &args.metrics),
    ];
    for (flag, path) in outputs {
        let Some(dir) = path.as_deref().and_then(Path::parent) else {
            continue;
        };
        if !dir.as_os_str().is_empty() && !dir.is_dir() {
            return Err(format!(
                "{flag} {}: directory {} does not exist",
                path.as_deref().unwrap_or(dir).display(),
                dir.display()
            ));
        }
    }
    Ok(())
}

fn write_metrics(metrics: &TrainMetrics, path: &Path) -> Result<(), String> {
    let json = serde_json::to_string_pretty(metrics).map_err(|e| e.to_string())?;
    std::fs::write(path, json + "\n")
        .map_err(|e| format!("{}: cannot write the metrics: {e}", path.display()))
}
