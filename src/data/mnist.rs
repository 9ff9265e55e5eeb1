//! The MNIST handwritten digits: finding, validating and loading the four IDX files.
//!
//! # Why not the `mnist` crate
//!
//! The `mnist` crate (0.6) only reads uncompressed files from disk through `MnistBuilder`,
//! requires exactly 60,000 / 10,000 items, and `panic!`s on any bad file. Once a file has been
//! validated here (magic, dimensions, exact length), "parsing" it is just taking the bytes after
//! the header, so the loader does that itself, in memory, for raw and `.gz` files alike, and no
//! panic can come from a dependency. The crate is still used by the test suite as an independent
//! reference: on the real data set both loaders must return the same bytes.

use std::path::{Path, PathBuf};

use super::checksum::verify_sha256;
use super::error::DataError;
use super::idx::{IdxImages, IdxLabels};

/// One of the four standard MNIST files, with its published facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MnistFile {
    /// Standard file name without `.gz`, e.g. `"train-images-idx3-ubyte"`.
    pub name: &'static str,
    /// SHA-256 of the uncompressed file (lowercase hex).
    pub content_sha256: &'static str,
    /// Size of the uncompressed file in bytes.
    pub content_len: u64,
    /// SHA-256 of the official `.gz` archive (lowercase hex).
    pub archive_sha256: &'static str,
}

/// Training images (60,000 × 28 × 28).
pub const TRAIN_IMAGES: MnistFile = MnistFile {
    name: "train-images-idx3-ubyte",
    content_sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    content_len: 47_040_016,
    archive_sha256: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
};
/// Training labels (60,000).
pub const TRAIN_LABELS: MnistFile = MnistFile {
    name: "train-labels-idx1-ubyte",
    content_sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    content_len: 60_008,
    archive_sha256: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
};
/// Test images (10,000 × 28 × 28).
pub const TEST_IMAGES: MnistFile = MnistFile {
    name: "t10k-images-idx3-ubyte",
    content_sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    content_len: 7_840_016,
    archive_sha256: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
};
/// Test labels (10,000).
pub const TEST_LABELS: MnistFile = MnistFile {
    name: "t10k-labels-idx1-ubyte",
    content_sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    content_len: 10_008,
    archive_sha256: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
};

/// The four MNIST files: train images, train labels, test images, test labels.
pub const MNIST_FILES: [MnistFile; 4] = [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS];

/// The MNIST data set as raw bytes, validated.
///
/// Images are `len × 784` bytes (28 × 28, row-major, 0 = background, 255 = ink); labels are one
/// byte each, all in `0..10`.
///
/// ```no_run
/// use duograd::data::Mnist;
/// let mnist = Mnist::load(Mnist::dir_from_env_or(Mnist::DEFAULT_DIR))?;
/// assert_eq!(mnist.train_images.len(), mnist.train_len * Mnist::IMAGE_SIZE);
/// # Ok::<(), duograd::data::DataError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mnist {
    /// Training images, `train_len × 784` bytes.
    pub train_images: Vec<u8>,
    /// Training labels, `train_len` bytes in `0..10`.
    pub train_labels: Vec<u8>,
    /// Test images, `test_len × 784` bytes.
    pub test_images: Vec<u8>,
    /// Test labels, `test_len` bytes in `0..10`.
    pub test_labels: Vec<u8>,
    /// Number of training samples (60,000 for the real data set).
    pub train_len: usize,
    /// Number of test samples (10,000 for the real data set).
    pub test_len: usize,
}

impl Mnist {
    /// Image height.
    pub const ROWS: usize = 28;
    /// Image width.
    pub const COLS: usize = 28;
    /// Pixels per image (784).
    pub const IMAGE_SIZE: usize = Self::ROWS * Self::COLS;
    /// Number of classes (digits 0–9).
    pub const CLASSES: usize = 10;
    /// Environment variable naming the directory that holds the files.
    pub const ENV_VAR: &'static str = "MNIST_DIR";
    /// Default directory, relative to the working directory.
    pub const DEFAULT_DIR: &'static str = "data/mnist";

    /// The directory named by `MNIST_DIR` if it is set and not empty, else `default`.
    ///
    /// ```
    /// use duograd::data::Mnist;
    /// # std::env::remove_var("MNIST_DIR");
    /// assert_eq!(Mnist::dir_from_env_or("data/mnist"), std::path::Path::new("data/mnist"));
    /// ```
    pub fn dir_from_env_or(default: impl AsRef<Path>) -> PathBuf {
        match std::env::var_os(Self::ENV_VAR) {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => default.as_ref().to_path_buf(),
        }
    }

    /// Finds `name` in `dir`, raw or with `.gz` (the raw file wins if both exist).
    ///
    /// Returns [`DataError::MissingFile`] naming both candidates when neither exists.
    pub fn find_file(dir: impl AsRef<Path>, name: &str) -> Result<PathBuf, DataError> {
        let raw = dir.as_ref().join(name);
        if raw.is_file() {
            return Ok(raw);
        }
        let gz = dir.as_ref().join(format!("{name}.gz"));
        if gz.is_file() {
            return Ok(gz);
        }
        Err(DataError::MissingFile {
            also: format!(" (nor {})", gz.display()),
            path: raw,
        })
    }

    /// Loads and validates the four standard files from `dir`.
    ///
    /// Each file may be raw or gzip-compressed (decompressed in memory). Checked: the files
    /// exist, magic numbers (2051 images / 2049 labels), 28 × 28 images, exact lengths for the
    /// declared counts, images and labels counts agree, labels in `0..10`. Any failure is a
    /// [`DataError`] naming the file. The two image files are read on two threads.
    ///
    /// ```no_run
    /// use duograd::data::Mnist;
    /// let mnist = Mnist::load("/data/mnist")?;
    /// println!("{} training images", mnist.train_len);
    /// # Ok::<(), duograd::data::DataError>(())
    /// ```
    pub fn load(dir: impl AsRef<Path>) -> Result<Mnist, DataError> {
        Self::load_files(dir.as_ref(), false)
    }

    /// Like [`Mnist::load`], and also checks the SHA-256 of each file's uncompressed content
    /// against the published values ([`MNIST_FILES`]); a difference is a
    /// [`DataError::ChecksumMismatch`]. Costs about one extra pass over the bytes.
    pub fn load_verified(dir: impl AsRef<Path>) -> Result<Mnist, DataError> {
        Self::load_files(dir.as_ref(), true)
    }

    fn load_files(dir: &Path, verify: bool) -> Result<Mnist, DataError> {
        let paths = MNIST_FILES
            .iter()
            .map(|f| Self::find_file(dir, f.name))
            .collect::<Result<Vec<_>, _>>()?;
        let dims = Some((Self::ROWS, Self::COLS));
        let (train_images, rest) = std::thread::scope(|s| {
            let train = s.spawn(|| IdxImages::read(&paths[0], dims));
            let rest = (|| {
                let train_labels = IdxLabels::read(&paths[1])?;
                let test_images = IdxImages::read(&paths[2], dims)?;
                let test_labels = IdxLabels::read(&paths[3])?;
                Ok::<_, DataError>((train_labels, test_images, test_labels))
            })();
            let train = train
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            (train, rest)
        });
        let train_images = train_images?;
        let (train_labels, test_images, test_labels) = rest?;

        for (images, labels) in [(&train_images, &train_labels), (&test_images, &test_labels)] {
            if images.count != labels.count {
                return Err(DataError::CountMismatch {
                    images_path: images.path.clone(),
                    labels_path: labels.path.clone(),
                    images: images.count as u64,
                    labels: labels.count as u64,
                });
            }
            labels.check_range(Self::CLASSES)?;
        }

        if verify {
            let hashes = std::thread::scope(|s| {
                let big = s.spawn(|| train_images.content_sha256());
                let others = [
                    train_labels.content_sha256(),
                    test_images.content_sha256(),
                    test_labels.content_sha256(),
                ];
                let big = big.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
                [big, others[0].clone(), others[1].clone(), others[2].clone()]
            });
            for ((file, path), actual) in MNIST_FILES.iter().zip(&paths).zip(&hashes) {
                verify_sha256(path, "uncompressed content", actual, file.content_sha256)?;
            }
        }

        Ok(Mnist {
            train_len: train_images.count,
            test_len: test_images.count,
            train_images: train_images.pixels,
            train_labels: train_labels.labels,
            test_images: test_images.pixels,
            test_labels: test_labels.labels,
        })
    }

    /// The pixels of training image `i` (784 bytes). Panics if `i >= train_len`.
    pub fn train_image(&self, i: usize) -> &[u8] {
        &self.train_images[i * Self::IMAGE_SIZE..(i + 1) * Self::IMAGE_SIZE]
    }

    /// The pixels of test image `i` (784 bytes). Panics if `i >= test_len`.
    pub fn test_image(&self, i: usize) -> &[u8] {
        &self.test_images[i * Self::IMAGE_SIZE..(i + 1) * Self::IMAGE_SIZE]
    }
}
