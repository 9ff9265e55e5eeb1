//! The 8×8 optical handwritten digits (UCI, as shipped by scikit-learn), from CSV, and a
//! seeded train/test split.
//!
//! The file has one sample per line: 64 pixel values in `0..=16` then the label `0..=9`,
//! comma-separated, no header; it may be gzip-compressed. Pixels are divided by 16 so that
//! features lie in `[0, 1]`, like MNIST's `/255`; standardize further with
//! [`Normalization`](super::Normalization) fitted on the training split if wanted.

use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::dataset::Dataset;
use super::error::DataError;
use super::source::read_maybe_gz;

/// Features per sample (8 × 8 pixels).
pub const DIGITS_DIM: usize = 64;
/// Number of classes (digits 0–9).
pub const DIGITS_CLASSES: usize = 10;
/// Largest pixel value in the raw file; pixels are divided by it.
pub const DIGITS_MAX_PIXEL: f32 = 16.0;
/// Environment variable naming the digits CSV (raw or `.gz`).
pub const DIGITS_ENV_VAR: &str = "DIGITS_CSV";

/// Loads the 8×8 digits CSV (raw or gzip) into a [`Dataset`] of 64 features in `[0, 1]`
/// (pixel / 16) and labels `0..10`.
///
/// Every line must have 65 comma-separated fields (blank lines are skipped); pixels must be
/// numbers in `0..=16`, labels integers in `0..=9`. Errors name the file, the 1-based line and
/// column, and the offending text.
///
/// ```no_run
/// use duograd::data::load_digits;
/// let digits = load_digits("data/digits/digits.csv.gz")?;
/// assert_eq!(digits.dim(), 64);
/// # Ok::<(), duograd::data::DataError>(())
/// ```
pub fn load_digits(path: impl AsRef<Path>) -> Result<Dataset, DataError> {
    let path = path.as_ref();
    let bytes = read_maybe_gz(path)?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let line = 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        csv_error(path, line, 1, "", "file is not valid UTF-8 text")
    })?;

    let mut inputs = Vec::new();
    let mut labels = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != DIGITS_DIM + 1 {
            return Err(DataError::CsvColumns {
                path: path.to_path_buf(),
                line: line_no,
                expected: DIGITS_DIM + 1,
                found: fields.len(),
            });
        }
        for (c, field) in fields[..DIGITS_DIM].iter().enumerate() {
            let v: f32 = field
                .parse()
                .map_err(|_| csv_error(path, line_no, c + 1, field, "not a number"))?;
            if !(0.0..=DIGITS_MAX_PIXEL).contains(&v) {
                return Err(csv_error(
                    path,
                    line_no,
                    c + 1,
                    field,
                    "pixel value outside 0..=16",
                ));
            }
            inputs.push(v / DIGITS_MAX_PIXEL);
        }
        labels.push(parse_label(path, line_no, fields[DIGITS_DIM])?);
    }
    Ok(Dataset::new(inputs, labels, DIGITS_DIM, DIGITS_CLASSES).with_item_shape(&[1, 8, 8]))
}

/// Parses a label field: an integer (`"7"`, or `"7.0"` as some exporters write it) in `0..10`.
fn parse_label(path: &Path, line: usize, field: &str) -> Result<usize, DataError> {
    let column = DIGITS_DIM + 1;
    let value: f64 = field
        .parse()
        .map_err(|_| csv_error(path, line, column, field, "label is not a number"))?;
    if value.fract() != 0.0 || !value.is_finite() {
        return Err(csv_error(
            path,
            line,
            column,
            field,
            "label is not an integer",
        ));
    }
    if value < 0.0 || value >= DIGITS_CLASSES as f64 {
        return Err(DataError::LabelOutOfRange {
            path: path.to_path_buf(),
            location: format!("line {line}, column {column}"),
            label: field.to_string(),
            classes: DIGITS_CLASSES,
        });
    }
    Ok(value as usize)
}

fn csv_error(path: &Path, line: usize, column: usize, value: &str, reason: &str) -> DataError {
    DataError::Csv {
        path: PathBuf::from(path),
        line,
        column,
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

/// Shuffles the rows of `data` with a generator seeded by `seed` and splits them into
/// `(train, test)`, the test part holding `round(len × test_fraction)` rows.
///
/// The same seed always gives the same split (for a given `rand` version).
///
/// # Panics
/// If `test_fraction` is not in `[0, 1]`.
///
/// ```
/// use duograd::data::{train_test_split, Dataset};
/// let ds = Dataset::new((0..20).map(|x| x as f32).collect(), vec![0; 10], 2, 1);
/// let (train, test) = train_test_split(&ds, 0.2, 42);
/// assert_eq!((train.len(), test.len()), (8, 2));
/// assert_eq!(train_test_split(&ds, 0.2, 42).1, test);
/// ```
pub fn train_test_split(data: &Dataset, test_fraction: f64, seed: u64) -> (Dataset, Dataset) {
    assert!(
        (0.0..=1.0).contains(&test_fraction),
        "train_test_split: test_fraction {test_fraction} not in [0, 1]"
    );
    let n = data.len();
    let n_test = ((n as f64) * test_fraction).round() as usize;
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut StdRng::seed_from_u64(seed));
    let (test_idx, train_idx) = order.split_at(n_test.min(n));
    (data.subset(train_idx), data.subset(test_idx))
}
