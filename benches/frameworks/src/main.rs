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

struct Args {
    framework: String,
    config: Config,
    seed: u64,
    data_dir: PathBuf,
}

const USAGE: &str = "usage: mnist_frameworks --framework {burn-flex,burn-ndarray,candle} \
                     --config {arena,wide} [--seed N] [--data-dir DIR]";

fn parse_args() -> Result<Args, String> {
    let mut framework = None;
    let mut config = None;
    let mut seed = 0u64;
    let mut data_dir =
        PathBuf::from(std::env::var("MNIST_DIR").unwrap_or_else(|_| "data/mnist".into()));
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--framework" => framework = Some(value()?),
            "--config" => {
                config = Some(match value()?.as_str() {
                    "arena" => ARENA,
                    "wide" => WIDE,
                    other => return Err(format!("unknown config {other:?}\n{USAGE}")),
                })
            }
            "--seed" => {
                let v = value()?;
                seed = v
                    .parse()
                    .map_err(|_| format!("--seed: not a number: {v:?}"))?
            }
            "--data-dir" => data_dir = PathBuf::from(value()?),
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let framework = framework.ok_or_else(|| format!("--framework is required\n{USAGE}"))?;
    if !["burn-flex", "burn-ndarray", "candle"].contains(&framework.as_str()) {
        return Err(format!("unknown framework {framework:?}\n{USAGE}"));
    }
    Ok(Args {
        framework,
        config: config.ok_or_else(|| format!("--config is required\n{USAGE}"))?,
        seed,
        data_dir,
    })
}

fn run(args: &Args, mnist: &data::Mnist) -> Result<Outcome, String> {
    match args.framework.as_str() {
        #[cfg(feature = "burn-flex")]
        "burn-flex" => Ok(burn_run::train(
            burn::tensor::Device::flex(),
            &args.config,
            mnist,
            args.seed,
        )),
        // burn 0.22 deprecates its NdArray backend in favour of Flex; it is measured all the same.
        #[cfg(feature = "burn-ndarray")]
        #[allow(deprecated)]
        "burn-ndarray" => Ok(burn_run::train(
            burn::tensor::Device::ndarray(),
            &args.config,
            mnist,
            args.seed,
        )),
        #[cfg(feature = "candle")]
        "candle" => {
            candle_run::train(&args.config, mnist, args.seed).map_err(|e| format!("candle: {e}"))
        }
        #[allow(unreachable_patterns)] // with every framework compiled in
        "burn-flex" | "burn-ndarray" | "candle" => Err(format!(
            "framework {} was not compiled in (cargo feature {0})",
            args.framework
        )),
        other => Err(format!("unknown framework {other:?}\n{USAGE}")),
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
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
