//! Getting a run's data ready: find the files, load them, split, and normalize with statistics
//! of the training split only.

use std::path::{Path, PathBuf};

use super::config::DataSet;
use super::error::TrainError;
use crate::data::{
    load_digits, train_test_split, Dataset, Mnist, Normalization, DIGITS_ENV_VAR, MNIST_FILES,
};

/// MNIST training images kept for training when a validation split is asked for; the remaining
/// 10,000 validate.
pub const MNIST_TRAIN_KEPT: usize = 50_000;

/// Share of the digits held out for testing.
pub const DIGITS_TEST_FRACTION: f64 = 0.2;

/// Where the digits CSV is looked for when neither a path nor `DIGITS_CSV` is given.
pub const DIGITS_DEFAULT_PATH: &str = "data/digits/digits.csv.gz";

/// A run's data: training, optional validation and test sets, normalized with the training
/// set's statistics.
#[derive(Debug, Clone)]
pub struct Splits {
    /// Which data set this is.
    pub dataset: DataSet,
    /// The training set.
    pub train: Dataset,
    /// The validation set, held out of the training data (when asked for).
    pub valid: Option<Dataset>,
    /// The test set (for the digits, the held-out 20%).
    pub test: Dataset,
    /// The standardization fitted on `train` and applied to every split.
    pub normalization: Normalization,
    /// Where the data was read from.
    pub source: PathBuf,
}

impl Splits {
    /// Normalizes `train`, `valid` and `test` with the mean and standard deviation of `train`.
    ///
    /// # Panics
    /// If the splits' feature counts or class counts differ.
    pub fn new(
        dataset: DataSet,
        mut train: Dataset,
        mut valid: Option<Dataset>,
        mut test: Dataset,
        source: PathBuf,
    ) -> Self {
        for other in valid.iter().chain([&test]) {
            assert!(
                other.dim() == train.dim() && other.classes() == train.classes(),
                "Splits::new: splits of different shapes ({} features / {} classes vs {} / {})",
                train.dim(),
                train.classes(),
                other.dim(),
                other.classes()
            );
        }
        let normalization = Normalization::fit(&train);
        normalization.apply(&mut train);
        if let Some(valid) = &mut valid {
            normalization.apply(valid);
        }
        normalization.apply(&mut test);
        Splits {
            dataset,
            train,
            valid,
            test,
            normalization,
            source,
        }
    }

    /// Features per sample (784 for MNIST, 64 for the digits).
    pub fn input_size(&self) -> usize {
        self.train.dim()
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.train.classes()
    }
}

/// The MNIST directory to use: `explicit` if given, else `MNIST_DIR` if set, else
/// [`Mnist::DEFAULT_DIR`].
pub fn mnist_dir(explicit: Option<&Path>) -> PathBuf {
    match explicit {
        Some(dir) => dir.to_path_buf(),
        None => Mnist::dir_from_env_or(Mnist::DEFAULT_DIR),
    }
}

/// The digits CSV to use: `explicit` if given, else `DIGITS_CSV` if set, else
/// [`DIGITS_DEFAULT_PATH`].
pub fn digits_path(explicit: Option<&Path>) -> PathBuf {
    match (explicit, std::env::var_os(DIGITS_ENV_VAR)) {
        (Some(path), _) => path.to_path_buf(),
        (None, Some(path)) if !path.is_empty() => PathBuf::from(path),
        _ => PathBuf::from(DIGITS_DEFAULT_PATH),
    }
}

/// The default location of `dataset`'s data, as [`mnist_dir`] or [`digits_path`] with
/// `explicit` (a command line's `--data-dir`) taking precedence.
pub fn data_location(dataset: DataSet, explicit: Option<&Path>) -> PathBuf {
    match dataset {
        DataSet::Mnist => mnist_dir(explicit),
        DataSet::Digits => digits_path(explicit),
    }
}

/// Loads MNIST from `dir`: 60,000 training images (or 50,000 and a 10,000 validation set when
/// `validation` is set), 10,000 test images, each flattened to 784 values and standardized with
/// the training images' mean and standard deviation.
///
/// # Errors
/// [`TrainError::MnistDirNotFound`] if `dir` is not a directory;
/// [`TrainError::MnistFilesMissing`] naming the files it lacks; [`TrainError::Data`] naming
/// the file if one is malformed.
pub fn load_mnist(dir: &Path, validation: bool) -> Result<Splits, TrainError> {
    if !dir.is_dir() {
        return Err(TrainError::MnistDirNotFound {
            path: dir.to_path_buf(),
            env_var: Mnist::ENV_VAR,
        });
    }
    let missing: Vec<_> = MNIST_FILES
        .iter()
        .map(|f| f.name)
        .filter(|name| Mnist::find_file(dir, name).is_err())
        .collect();
    if !missing.is_empty() {
        return Err(TrainError::MnistFilesMissing {
            dir: dir.to_path_buf(),
            missing,
            env_var: Mnist::ENV_VAR,
        });
    }
    let mnist = Mnist::load(dir)?;
    let train = Dataset::from_mnist_train(&mnist);
    let test = Dataset::from_mnist_test(&mnist);
    let (train, valid) = if validation && train.len() > MNIST_TRAIN_KEPT {
        let (train, valid) = train.split(MNIST_TRAIN_KEPT);
        (train, Some(valid))
    } else {
        (train, None)
    };
    Ok(Splits::new(
        DataSet::Mnist,
        train,
        valid,
        test,
        dir.to_path_buf(),
    ))
}

/// Loads the 8×8 digits from `path` (a CSV file, raw or `.gz`, or a directory holding
/// `digits.csv` or `digits.csv.gz`), shuffles and splits them 80/20 into training and test
/// sets with `seed`, and standardizes them with the training part's statistics.
///
/// # Errors
/// [`TrainError::DigitsFileNotFound`] if there is no such file; [`TrainError::Data`] naming the
/// file, line and column if it is malformed.
pub fn load_digits_split(path: &Path, seed: u64) -> Result<Splits, TrainError> {
    let file = if path.is_dir() {
        ["digits.csv", "digits.csv.gz"]
            .iter()
            .map(|name| path.join(name))
            .find(|p| p.is_file())
    } else {
        path.is_file().then(|| path.to_path_buf())
    };
    let Some(file) = file else {
        return Err(TrainError::DigitsFileNotFound {
            path: path.to_path_buf(),
            env_var: DIGITS_ENV_VAR,
        });
    };
    let all = load_digits(&file)?;
    let (train, test) = train_test_split(&all, DIGITS_TEST_FRACTION, seed);
    Ok(Splits::new(DataSet::Digits, train, None, test, file))
}

/// Loads `dataset` from `location` (see [`data_location`]): [`load_mnist`] or
/// [`load_digits_split`].
///
/// # Errors
/// As those functions.
pub fn load_splits(
    dataset: DataSet,
    location: &Path,
    validation: bool,
    seed: u64,
) -> Result<Splits, TrainError> {
    match dataset {
        DataSet::Mnist => load_mnist(location, validation),
        DataSet::Digits => load_digits_split(location, seed),
    }
}
