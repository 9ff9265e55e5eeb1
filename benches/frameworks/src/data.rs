//! MNIST from the four standard IDX files (gzipped or not), normalized like duograd's
//! benchmark: pixel/255, then standardized with the training set's mean and (population)
//! standard deviation over all training pixels.

use std::io::Read;
use std::path::{Path, PathBuf};

pub struct Mnist {
    /// Training images, row-major `[n_train, 784]`, normalized.
    pub train_x: Vec<f32>,
    pub train_y: Vec<u8>,
    /// Test images, row-major `[n_test, 784]`, normalized with the training statistics.
    pub test_x: Vec<f32>,
    pub test_y: Vec<u8>,
}

pub const PIXELS: usize = 784;
pub const CLASSES: usize = 10;

impl Mnist {
    pub fn n_train(&self) -> usize {
        self.train_y.len()
    }

    pub fn n_test(&self) -> usize {
        self.test_y.len()
    }

    pub fn load(dir: &Path) -> Result<Mnist, String> {
        let train_x = read_idx(dir, "train-images-idx3-ubyte", 3)?;
        let train_y = read_idx(dir, "train-labels-idx1-ubyte", 1)?;
        let test_x = read_idx(dir, "t10k-images-idx3-ubyte", 3)?;
        let test_y = read_idx(dir, "t10k-labels-idx1-ubyte", 1)?;
        for (images, labels, what) in [(&train_x, &train_y, "train"), (&test_x, &test_y, "t10k")] {
            if images.1 != [labels.1[0], 28, 28] {
                return Err(format!(
                    "{what} images have shape {:?} but there are {} labels",
                    images.1, labels.1[0]
                ));
            }
        }
        let n = train_x.0.len() as f64;
        let mean = train_x.0.iter().map(|&p| p as f64 / 255.0).sum::<f64>() / n;
        let var = train_x
            .0
            .iter()
            .map(|&p| (p as f64 / 255.0 - mean).powi(2))
            .sum::<f64>()
            / n;
        let std = var.sqrt();
        let norm = |raw: &[u8]| -> Vec<f32> {
            raw.iter()
                .map(|&p| ((p as f64 / 255.0 - mean) / std) as f32)
                .collect()
        };
        Ok(Mnist {
            train_x: norm(&train_x.0),
            train_y: train_y.0,
            test_x: norm(&test_x.0),
            test_y: test_y.0,
        })
    }
}

fn locate(dir: &Path, name: &str) -> Result<PathBuf, String> {
    for candidate in [dir.join(format!("{name}.gz")), dir.join(name)] {
        if candidate.exists() {
            return Ok(candidate);
        }
    }
    Err(format!(
        "{name}.gz (or {name}) not found in {}",
        dir.display()
    ))
}

/// The payload and dimensions of one IDX file of unsigned bytes.
fn read_idx(dir: &Path, name: &str, ndim: usize) -> Result<(Vec<u8>, Vec<usize>), String> {
    let path = locate(dir, name)?;
    let err = |what: String| format!("{}: {what}", path.display());
    let raw = std::fs::read(&path).map_err(|e| err(e.to_string()))?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| err(format!("gunzip failed: {e}")))?;
        out
    } else {
        raw
    };
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 || bytes[2] != 0x08 {
        return Err(err("not an IDX file of unsigned bytes".into()));
    }
    if bytes[3] as usize != ndim {
        return Err(err(format!(
            "expected {ndim} dimensions, found {}",
            bytes[3]
        )));
    }
    let header = 4 + 4 * ndim;
    if bytes.len() < header {
        return Err(err("truncated header".into()));
    }
    let dims: Vec<usize> = (0..ndim)
        .map(|i| u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().unwrap()) as usize)
        .collect();
    let len: usize = dims.iter().product();
    if bytes.len() != header + len {
        return Err(err(format!(
            "dimensions {dims:?} need {len} bytes of data, found {}",
            bytes.len() - header
        )));
    }
    Ok((bytes[header..].to_vec(), dims))
}
