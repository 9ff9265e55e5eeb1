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

use clap::Parser;
use duograd::backends::Nalgebra;
use duograd::backends::NdArray;
use duograd::train::{data_location, load_splits, train, Splits, TrainConfig, TrainMetrics};
use duograd::Backend;

use cli::{Args, BackendKind, Precision};
use report::Reporter;

fn main() -> ExitCode {
    let args = Args::parse();
    match main_inner(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn main_inner(args: &Args) -> Result<(), String> {
    if let Some(threads) = args.threads {
        duograd::backends::cpu::threads::set_num_threads(threads as usize);
    }
    let config = args.config().map_err(|e| e.to_string())?;
    check_output_dirs(args)?;
    let location = data_location(config.dataset, args.data_dir.as_deref());
    if args.download {
        download::fetch_mnist(config.dataset, &location, args.mirror.as_deref())?;
    }
    let splits = load_splits(config.dataset, &location, config.validation, config.seed)
        .map_err(|e| e.to_string())?;
    if !args.quiet {
        print_header(args, &config, &splits);
    }
    let metrics = match (args.backend, args.precision) {
        (BackendKind::Ndarray, Precision::F32) => run::<NdArray<f32>>(args, &config, &splits),
        (BackendKind::Ndarray, Precision::F64) => run::<NdArray<f64>>(args, &config, &splits),
        (BackendKind::Nalgebra, Precision::F32) => run::<Nalgebra<f32>>(args, &config, &splits),
        (BackendKind::Nalgebra, Precision::F64) => run::<Nalgebra<f64>>(args, &config, &splits),
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

/// Trains on backend `B`, prints the summary, and saves the weights if asked.
fn run<B: Backend>(
    args: &Args,
    config: &TrainConfig,
    splits: &Splits,
) -> Result<TrainMetrics, String> {
    let trained =
        train::<B>(config, splits, Reporter::new(args.quiet)).map_err(|e| e.to_string())?;
    println!("{}", report::summary(&trained.metrics));
    if let Some(path) = &args.save {
        duograd::nn::save_safetensors(&trained.model, path)
            .map_err(|e| format!("cannot save the model: {e}"))?;
        println!("weights written to {}", path.display());
    }
    Ok(trained.metrics)
}

fn print_header(args: &Args, config: &TrainConfig, splits: &Splits) {
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
        "model: {} — preset {}, backend {}, {}",
        config.describe(splits.input_size(), splits.classes()),
        args.preset,
        format!("{:?}", args.backend).to_lowercase(),
        format!("{:?}", args.precision).to_lowercase(),
    );
}

/// Fails before training, rather than after it, if an output file's directory does not exist.
fn check_output_dirs(args: &Args) -> Result<(), String> {
    let outputs = [
        ("--save", &args.save),
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
