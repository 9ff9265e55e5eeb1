//! The IDX file format of MNIST (raw or gzip), read with validation.
//!
//! An IDX file is a big-endian header followed by the data:
//!
//! | file | header (`u32` big-endian each) | data |
//! | --- | --- | --- |
//! | images | magic 2051, count, rows, cols | `count × rows × cols` bytes |
//! | labels | magic 2049, count | `count` bytes |
//!
//! Everything in the header is checked before the data is read, and the data must be exactly as
//! long as the header says: a bad file gives a [`DataError`] naming it, never a panic.

use std::path::{Path, PathBuf};

use super::checksum::sha256_hex_parts;
use super::error::DataError;
use super::source::Source;

/// Magic number of an IDX file of `u8` images (`0x00000803`).
pub const IMAGES_MAGIC: u32 = 2051;
/// Magic number of an IDX file of `u8` labels (`0x00000801`).
pub const LABELS_MAGIC: u32 = 2049;

/// The images of one IDX image file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    /// The file they were read from.
    pub path: PathBuf,
    /// Number of images.
    pub count: usize,
    /// Rows of each image.
    pub rows: usize,
    /// Columns of each image.
    pub cols: usize,
    /// The pixels, `count × rows × cols` bytes, image after image, row-major.
    pub pixels: Vec<u8>,
    header: [u8; 16],
}

/// The labels of one IDX label file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxLabels {
    /// The file they were read from.
    pub path: PathBuf,
    /// Number of labels.
    pub count: usize,
    /// One byte per label.
    pub labels: Vec<u8>,
    header: [u8; 8],
}

/// Reads `N` header bytes, reporting a short file as [`DataError::Truncated`].
fn read_header<const N: usize>(src: &mut Source) -> Result<[u8; N], DataError> {
    let mut header = [0u8; N];
    let got = src.read_up_to(&mut header)?;
    if got < N {
        return Err(DataError::Truncated {
            path: src.path().to_path_buf(),
            expected: N as u64,
            actual: got as u64,
        });
    }
    Ok(header)
}

/// The big-endian `u32` at word `i` of `header`.
fn word(header: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([
        header[4 * i],
        header[4 * i + 1],
        header[4 * i + 2],
        header[4 * i + 3],
    ])
}

/// Checks the magic number in the first word of `header`.
fn check_magic(path: &Path, header: &[u8], expected: u32) -> Result<(), DataError> {
    let found = word(header, 0);
    if found != expected {
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            expected,
            found,
        });
    }
    Ok(())
}

/// Converts a byte count to `u64`, reporting an impossible size as truncation.
fn data_len(path: &Path, header_len: u64, factors: &[u32]) -> Result<u64, DataError> {
    let product = factors
        .iter()
        .try_fold(1u64, |acc, &f| acc.checked_mul(u64::from(f)));
    match product.and_then(|p| p.checked_add(header_len).map(|_| p)) {
        Some(p) => Ok(p),
        // No real file can be this long: whatever is there is too short.
        None => Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected: u64::MAX,
            actual: 0,
        }),
    }
}

impl IdxImages {
    /// Reads an IDX image file (raw or gzip).
    ///
    /// With `expect_dims = Some((rows, cols))` other image sizes are rejected with
    /// [`DataError::BadDimensions`] before any pixel is read.
    ///
    /// ```no_run
    /// use duograd::data::IdxImages;
    /// let imgs = IdxImages::read("data/mnist/t10k-images-idx3-ubyte.gz", Some((28, 28)))?;
    /// assert_eq!(imgs.pixels.len(), imgs.count * 28 * 28);
    /// # Ok::<(), duograd::data::DataError>(())
    /// ```
    pub fn read(
        path: impl AsRef<Path>,
        expect_dims: Option<(usize, usize)>,
    ) -> Result<Self, DataError> {
        let path = path.as_ref();
        let mut src = Source::open(path)?;
        let header: [u8; 16] = read_header(&mut src)?;
        check_magic(path, &header, IMAGES_MAGIC)?;
        let (count, rows, cols) = (word(&header, 1), word(&header, 2), word(&header, 3));
        if let Some((er, ec)) = expect_dims {
            if rows as usize != er || cols as usize != ec {
                return Err(DataError::BadDimensions {
                    path: path.to_path_buf(),
                    expected_rows: er as u32,
                    expected_cols: ec as u32,
                    rows,
                    cols,
                });
            }
        }
        let len = data_len(path, 16, &[count, rows, cols])?;
        let pixels = src.read_exact_to_end(len)?;
        Ok(IdxImages {
            path: path.to_path_buf(),
            count: count as usize,
            rows: rows as usize,
            cols: cols as usize,
            pixels,
            header,
        })
    }

    /// Pixels per image (`rows × cols`).
    pub fn image_size(&self) -> usize {
        self.rows * self.cols
    }

    /// SHA-256 (lowercase hex) of the uncompressed file content, header included.
    pub fn content_sha256(&self) -> String {
        sha256_hex_parts(&[&self.header, &self.pixels])
    }
}

impl IdxLabels {
    /// Reads an IDX label file (raw or gzip). Label values are not range-checked here.
    ///
    /// ```no_run
    /// use duograd::data::IdxLabels;
    /// let labels = IdxLabels::read("data/mnist/t10k-labels-idx1-ubyte.gz")?;
    /// assert_eq!(labels.labels.len(), labels.count);
    /// # Ok::<(), duograd::data::DataError>(())
    /// ```
    pub fn read(path: impl AsRef<Path>) -> Result<Self, DataError> {
        let path = path.as_ref();
        let mut src = Source::open(path)?;
        let header: [u8; 8] = read_header(&mut src)?;
        check_magic(path, &header, LABELS_MAGIC)?;
        let count = word(&header, 1);
        let labels = src.read_exact_to_end(u64::from(count))?;
        Ok(IdxLabels {
            path: path.to_path_buf(),
            count: count as usize,
            labels,
            header,
        })
    }

    /// Checks that every label is below `classes`.
    pub fn check_range(&self, classes: usize) -> Result<(), DataError> {
        match self.labels.iter().position(|&l| usize::from(l) >= classes) {
            None => Ok(()),
            Some(i) => Err(DataError::LabelOutOfRange {
                path: self.path.clone(),
                location: format!("item {i}"),
                label: self.labels[i].to_string(),
                classes,
            }),
        }
    }

    /// SHA-256 (lowercase hex) of the uncompressed file content, header included.
    pub fn content_sha256(&self) -> String {
        sha256_hex_parts(&[&self.header, &self.labels])
    }
}
