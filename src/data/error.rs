//! The error type of the data module.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

/// Everything that can go wrong while finding, reading, checking or downloading a data set.
///
/// Every variant names the file it is about (`path`), so a message such as
/// `"…/train-images-idx3-ubyte.gz: wrong magic number: expected 2051, found 2049"` tells the user
/// which file to look at. Loading never panics on bad input: each malformed file maps to one of
/// these variants.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DataError {
    /// A data file does not exist (for MNIST: neither the raw file nor its `.gz`).
    #[error(
        "{}: file not found{also}; set MNIST_DIR / DIGITS_CSV or pass --data-dir to point at the data",
        path.display()
    )]
    MissingFile {
        /// The file that was looked for.
        path: PathBuf,
        /// Other names that were tried, already formatted (`" (also tried …)"`), or empty.
        also: String,
    },

    /// Reading or writing a file failed.
    #[error("{}: I/O error: {source}", path.display())]
    Io {
        /// The file being read or written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// A `.gz` file could not be decompressed (not gzip, corrupt or cut short).
    #[error("{}: gzip decompression failed: {reason}", path.display())]
    Gzip {
        /// The compressed file.
        path: PathBuf,
        /// What the decoder reported.
        reason: String,
    },

    /// An IDX file starts with the wrong magic number (2051 = images, 2049 = labels).
    #[error("{}: wrong magic number: expected {expected}, found {found}", path.display())]
    BadMagic {
        /// The IDX file.
        path: PathBuf,
        /// The magic number this file should have.
        expected: u32,
        /// The magic number it has.
        found: u32,
    },

    /// A file is shorter than its header says it should be.
    #[error("{}: file truncated: expected {expected} bytes, found {actual}", path.display())]
    Truncated {
        /// The file (for `.gz`, the byte counts are those of the decompressed content).
        path: PathBuf,
        /// The length the header implies.
        expected: u64,
        /// The length found.
        actual: u64,
    },

    /// A file is longer than its header says it should be.
    #[error(
        "{}: unexpected trailing data: expected {expected} bytes, found at least {actual}",
        path.display()
    )]
    TrailingBytes {
        /// The file (for `.gz`, the byte counts are those of the decompressed content).
        path: PathBuf,
        /// The length the header implies.
        expected: u64,
        /// The length found (reading stops one byte past `expected`).
        actual: u64,
    },

    /// An image file and its label file declare different numbers of items.
    #[error(
        "{}: {images} images but {}: {labels} labels",
        images_path.display(),
        labels_path.display()
    )]
    CountMismatch {
        /// The image file.
        images_path: PathBuf,
        /// The label file.
        labels_path: PathBuf,
        /// Number of images declared by the image file.
        images: u64,
        /// Number of labels declared by the label file.
        labels: u64,
    },

    /// An image file declares image dimensions other than the expected ones.
    #[error(
        "{}: bad image dimensions: expected {expected_rows}x{expected_cols}, found {rows}x{cols}",
        path.display()
    )]
    BadDimensions {
        /// The image file.
        path: PathBuf,
        /// Rows expected.
        expected_rows: u32,
        /// Columns expected.
        expected_cols: u32,
        /// Rows declared.
        rows: u32,
        /// Columns declared.
        cols: u32,
    },

    /// A CSV field could not be read as a number in the allowed range.
    #[error(
        "{}: line {line}, column {column}: bad value {value:?}: {reason}",
        path.display()
    )]
    Csv {
        /// The CSV file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// 1-based column number.
        column: usize,
        /// The offending text.
        value: String,
        /// Why it was rejected.
        reason: String,
    },

    /// A CSV line has the wrong number of columns.
    #[error(
        "{}: line {line}: expected {expected} columns, found {found}",
        path.display()
    )]
    CsvColumns {
        /// The CSV file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// Columns expected.
        expected: usize,
        /// Columns found.
        found: usize,
    },

    /// A label is not one of the data set's classes.
    #[error(
        "{}: {location}: label {label} out of range 0..{classes}",
        path.display()
    )]
    LabelOutOfRange {
        /// The file holding the label.
        path: PathBuf,
        /// Where in the file, e.g. `"item 17"` (IDX) or `"line 3, column 65"` (CSV).
        location: String,
        /// The label found.
        label: String,
        /// Number of classes; valid labels are `0..classes`.
        classes: usize,
    },

    /// A file's SHA-256 differs from the published value.
    #[error(
        "{}: SHA-256 mismatch ({what}): expected {expected}, found {actual}",
        path.display()
    )]
    ChecksumMismatch {
        /// The file checked.
        path: PathBuf,
        /// What was hashed: `"uncompressed content"` or `"archive"`.
        what: &'static str,
        /// The published hash (lowercase hex).
        expected: String,
        /// The hash computed (lowercase hex).
        actual: String,
    },

    /// Downloading a file failed (network unreachable, HTTP error, …).
    #[error(
        "{}: download from {url} failed: {reason}. No network? Download the files by hand and \
         set MNIST_DIR (or pass --data-dir) to the directory holding them",
        path.display()
    )]
    Download {
        /// Where the file was to be written.
        path: PathBuf,
        /// The URL requested.
        url: String,
        /// What went wrong.
        reason: String,
    },
}

impl DataError {
    /// The file this error is about (for [`DataError::CountMismatch`], the image file).
    ///
    /// ```
    /// use duograd::data::DataError;
    /// let e = DataError::MissingFile { path: "x/y".into(), also: String::new() };
    /// assert_eq!(e.path(), std::path::Path::new("x/y"));
    /// ```
    pub fn path(&self) -> &std::path::Path {
        match self {
            DataError::MissingFile { path, .. }
            | DataError::Io { path, .. }
            | DataError::Gzip { path, .. }
            | DataError::BadMagic { path, .. }
            | DataError::Truncated { path, .. }
            | DataError::TrailingBytes { path, .. }
            | DataError::BadDimensions { path, .. }
            | DataError::Csv { path, .. }
            | DataError::CsvColumns { path, .. }
            | DataError::LabelOutOfRange { path, .. }
            | DataError::ChecksumMismatch { path, .. }
            | DataError::Download { path, .. } => path,
            DataError::CountMismatch { images_path, .. } => images_path,
        }
    }

    /// Wraps an [`io::Error`] about `path`, mapping "not found" to [`DataError::MissingFile`].
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        let path = path.into();
        if source.kind() == io::ErrorKind::NotFound {
            DataError::MissingFile {
                path,
                also: String::new(),
            }
        } else {
            DataError::Io { path, source }
        }
    }
}
