//! Trains duograd's two MNIST benchmark MLPs (`arena`, `wide`) in other Rust frameworks
//! (burn on its Flex and NdArray backends, candle) and prints one JSON line with the training
//! time (training loop only) and the final test accuracy.
//!
//! ```text
//! mnist_frameworks --framework {burn-flex,burn-ndarray,candle} --config {arena,wide} \
//!     --seed N --data-dir DIR
//! ```

mod data;

#[cfg(any(feature = "burn-flex", feature = "burn-ndarray"))]
mod burn_run;
#[cfg(feature = "candle")]
mod candle_run;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

/// One training configuration; the same as duograd's `--preset` of the same name.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    pub name: &'static str,
    pub hidden: [usize; 2],
    pub lr: f64,
    pub batch: usize,
    pub epochs: usize,
}

pub const ARENA: Config = Config {
    name: "arena",
    hidden: [64, 64],
    lr: 0.01,
    batch: 512,
    epochs: 5,
};

pub const WIDE: Config = Config {
    name: "wide",
    hidden: [256, 256],
    lr: 0.05,
    batch: 128,
    epochs: 3,
};

/// The shuffled order of the training rows, drawn afresh each epoch from a generator seeded
/// with the run's seed (the same orders for every framework). Frameworks call `next_epoch`
/// inside their timed loop, as PyTorch's reference draws `randperm` inside its own.
pub struct EpochOrder {
    rng: StdRng,
    order: Vec<u32>,
}

impl EpochOrder {
    pub fn new(n: usize, seed: u64) -> EpochOrder {
        EpochOrder {
            rng: StdRng::seed_from_u64(seed),
            order: (0..n as u32).collect(),
        }
    }

    pub fn next_epoch(&mut self) -> &[u32] {
        self.order.shuffle(&mut self.rng);
        &self.order
    }
}

/// PyTorch's `nn.Linear` initialization, uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) for the
/// weight (out x in, row-major) and the bias, from a seeded generator.
#[cfg(feature = "candle")]
pub fn torch_linear_init(rng: &mut StdRng, fan_in: usize, fan_out: usize) -> (Vec<f32>, Vec<f32>) {
    use rand::Rng;
    let bound = 1.0 / (fan_in as f32).sqrt();
    let weight = (0..fan_in * fan_out)
        .map(|_| rng.random_range(-bound..bound))
        .collect();
    let bias = (0..fan_out)
        .map(|_| rng.random_range(-bound..bound))
        .collect();
    (weight, bias)
}

/// What one run measured.
pub struct Outcome {
    pub seconds: f64,
    pub accuracy: f64,
}

/// Trains one of duograd's MNIST benchmark MLPs in another Rust framework and prints one JSON
/// line: training seconds (training loop only) and final test accuracy.
#[derive(Parser)]
struct Args {
    /// The framework (and backend) to train with.
    #[arg(long, value_parser = ["burn-flex", "burn-ndarray", "candle"])]
    framework: String,
    /// The configuration (duograd's `--preset` of the same name).
    #[arg(long, value_parser = parse_config)]
    config: Config,
    /// Seeds the initialization and the shuffle.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Directory of the four MNIST IDX files (gzipped or not).
    #[arg(long, env = "MNIST_DIR", default_value = "data/mnist")]
    data_dir: PathBuf,
}

fn parse_config(name: &str) -> Result<Config, String> {
    match name {
        "arena" => Ok(ARENA),
        "wide" => Ok(WIDE),
        other => Err(format!("unknown config {other:?} (arena or wide)")),
    }
}

/// burn's device for `framework`, if it names one of burn's backends compiled in.
#[cfg(any(feature = "burn-flex", feature = "burn-ndarray"))]
fn burn_device(framework: &str) -> Option<burn::tensor::Device> {
    match framework {
        #[cfg(feature = "burn-flex")]
        "burn-flex" => Some(burn::tensor::Device::flex()),
        // burn 0.22 deprecates its NdArray backend in favour of Flex; it is measured all the same.
        #[cfg(feature = "burn-ndarray")]
        #[allow(deprecated)]
        "burn-ndarray" => Some(burn::tensor::Device::ndarray()),
        _ => None,
    }
}

fn run(args: &Args, mnist: &data::Mnist) -> Result<Outcome, String> {
    #[cfg(any(feature = "burn-flex", feature = "burn-ndarray"))]
    if let Some(device) = burn_device(&args.framework) {
        return Ok(burn_run::train(device, &args.config, mnist, args.seed));
    }
    #[cfg(feature = "candle")]
    if args.framework == "candle" {
        return candle_run::train(&args.config, mnist, args.seed)
            .map_err(|e| format!("candle: {e}"));
    }
    Err(format!(
        "framework {} was not compiled in (cargo feature {0})",
        args.framework
    ))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mnist = match data::Mnist::load(&args.data_dir) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match run(&args, &mnist) {
        Ok(outcome) => {
            let line = serde_json::json!({
                "framework": args.framework,
                "config": args.config.name,
                "seconds": outcome.seconds,
                "accuracy": outcome.accuracy,
                "seed": args.seed,
            });
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
