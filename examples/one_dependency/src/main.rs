//! Trains the `arena` preset (784-64-64-10, SGD, 5 epochs) on both of duograd's backends, with
//! `duograd` as the program's only dependency.

use duograd::backends::{Nalgebra, NdArray};
use duograd::train::{data_location, load_splits, train, Preset, TrainConfig};
use duograd::Backend;

fn accuracy<B: Backend>(config: &TrainConfig, splits: &duograd::train::Splits) -> f64 {
    let trained = train::<B>(config, splits, ()).expect("the preset is a valid configuration");
    trained.metrics.final_accuracy()
}

fn main() -> Result<(), duograd::train::TrainError> {
    let config = TrainConfig::preset(Preset::Arena);
    let dir = data_location(config.dataset, None); // MNIST_DIR, else data/mnist
    let splits = load_splits(config.dataset, &dir, config.validation, config.seed)?;
    let ndarray = accuracy::<NdArray<f32>>(&config, &splits);
    let nalgebra = accuracy::<Nalgebra<f32>>(&config, &splits);
    println!("arena test accuracy: ndarray {ndarray:.4}, nalgebra {nalgebra:.4}");
    // The preset's bar (README): both backends reach it.
    if ndarray < 0.87 || nalgebra < 0.87 {
        eprintln!("error: below the arena preset's 87% bar");
        std::process::exit(1);
    }
    Ok(())
}
