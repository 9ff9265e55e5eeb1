//! Data sets and loading: MNIST (IDX files, raw or `.gz`), the 8×8 digits (CSV), an in-memory
//! [`Dataset`], [`Normalization`] fitted on training data, and a seeded mini-batch
//! [`DataLoader`].
//!
//! Loading validates everything (magic numbers, dimensions, exact lengths, counts, label
//! ranges, CSV fields) and reports problems as a [`DataError`] naming the file; it never panics
//! on bad input. Nothing is downloaded unless the `download` feature is enabled and
//! `download_mnist` is called.
//!
//! Where the data lives: `MNIST_DIR` (see [`Mnist::dir_from_env_or`]) for the four MNIST files,
//! `DIGITS_CSV` for the digits file.
//!
//! ```no_run
//! use duograd::data::{DataLoader, Dataset, Mnist, Normalization};
//!
//! let mnist = Mnist::load(Mnist::dir_from_env_or(Mnist::DEFAULT_DIR))?;
//! let (mut train, mut valid) = Dataset::from_mnist_train(&mnist).split(50_000);
//! let mut test = Dataset::from_mnist_test(&mnist);
//! let norm = Normalization::fit(&train); // mean ≈ 0.1307, std ≈ 0.3081
//! for ds in [&mut train, &mut valid, &mut test] {
//!     norm.apply(ds);
//! }
//! let loader = DataLoader::new(&train, 64).shuffle(42);
//! for epoch in 0..2 {
//!     for batch in loader.epoch(epoch) {
//!         let x: Vec<f64> = batch.inputs_as(); // batch.shape == [64, 784]
//!         # let _ = x;
//!     }
//! }
//! # Ok::<(), duograd::data::DataError>(())
//! ```

mod checksum;
mod dataset;
mod digits;
#[cfg(feature = "download")]
mod download;
mod error;
mod idx;
mod loader;
mod mnist;
mod source;

pub use checksum::{sha256_hex, verify_sha256};
pub use dataset::{Dataset, Normalization};
pub use digits::{
    load_digits, train_test_split, DIGITS_CLASSES, DIGITS_DIM, DIGITS_ENV_VAR, DIGITS_MAX_PIXEL,
};
#[cfg(feature = "download")]
pub use download::{download_file, download_mnist, DEFAULT_MIRROR};
pub use error::DataError;
pub use idx::{IdxImages, IdxLabels, IMAGES_MAGIC, LABELS_MAGIC};
pub use loader::{Batch, Batches, DataLoader};
pub use mnist::{
    Mnist, MnistFile, MNIST_FILES, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS,
};
