//! An in-memory labelled data set of `f32` feature rows, and its normalization.

use super::mnist::Mnist;

/// A labelled data set held in memory: `len` rows of `dim` features (`f32`, row-major) and one
/// class label in `0..classes` per row.
///
/// The invariants (`inputs.len() == len × dim`, labels below `classes`) are checked when it is
/// built, so every accessor can rely on them.
///
/// ```
/// use duograd::data::Dataset;
/// let ds = Dataset::new(vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0], vec![1, 0, 1], 2, 2);
/// assert_eq!(ds.len(), 3);
/// assert_eq!(ds.get(1), Some((&[2.0f32, 3.0][..], 0)));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    inputs: Vec<f32>,
    labels: Vec<usize>,
    dim: usize,
    classes: usize,
}

impl Dataset {
    /// Builds a data set from row-major `inputs` (`labels.len() × dim` values) and `labels`.
    ///
    /// # Panics
    /// If `dim == 0`, if `inputs.len() != labels.len() * dim`, or if a label is `>= classes`.
    pub fn new(inputs: Vec<f32>, labels: Vec<usize>, dim: usize, classes: usize) -> Self {
        assert!(dim > 0, "Dataset::new: dim must be positive");
        assert_eq!(
            inputs.len(),
            labels.len() * dim,
            "Dataset::new: {} input values for {} labels of dimension {dim}",
            inputs.len(),
            labels.len()
        );
        if let Some(l) = labels.iter().find(|&&l| l >= classes) {
            panic!("Dataset::new: label {l} out of range 0..{classes}");
        }
        Dataset {
            inputs,
            labels,
            dim,
            classes,
        }
    }

    /// The MNIST training set: 784 features per image, pixels scaled to `[0, 1]` (`/255`),
    /// 10 classes. Normalize it with [`Normalization`].
    ///
    /// # Panics
    /// Only for an inconsistent [`Mnist`] built by hand (one from [`Mnist::load`] is checked).
    pub fn from_mnist_train(mnist: &Mnist) -> Self {
        Self::from_mnist_bytes(&mnist.train_images, &mnist.train_labels)
    }

    /// The MNIST test set, scaled like [`Dataset::from_mnist_train`] (same panics).
    pub fn from_mnist_test(mnist: &Mnist) -> Self {
        Self::from_mnist_bytes(&mnist.test_images, &mnist.test_labels)
    }

    fn from_mnist_bytes(images: &[u8], labels: &[u8]) -> Self {
        let inputs = images.iter().map(|&p| f32::from(p) / 255.0).collect();
        let labels = labels.iter().map(|&l| usize::from(l)).collect();
        Dataset::new(inputs, labels, Mnist::IMAGE_SIZE, Mnist::CLASSES)
    }

    /// Number of rows (samples).
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Features per row.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of classes; labels are in `0..classes`.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// All features, row-major (`len × dim`).
    pub fn inputs(&self) -> &[f32] {
        &self.inputs
    }

    /// All labels.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// Row `i` and its label, or `None` if `i >= len`.
    pub fn get(&self, i: usize) -> Option<(&[f32], usize)> {
        let label = *self.labels.get(i)?;
        Some((&self.inputs[i * self.dim..(i + 1) * self.dim], label))
    }

    /// Splits into the first `n_first` rows and the rest, without copying the data
    /// (e.g. `train.split(50_000)` gives the 50k/10k train/validation split of MNIST).
    ///
    /// # Panics
    /// If `n_first > len`.
    ///
    /// ```
    /// use duograd::data::Dataset;
    /// let ds = Dataset::new((0..10).map(|x| x as f32).collect(), vec![0, 1, 0, 1, 0], 2, 2);
    /// let (a, b) = ds.split(3);
    /// assert_eq!((a.len(), b.len()), (3, 2));
    /// assert_eq!(b.get(0), Some((&[6.0f32, 7.0][..], 1)));
    /// ```
    pub fn split(mut self, n_first: usize) -> (Dataset, Dataset) {
        assert!(
            n_first <= self.len(),
            "Dataset::split: {n_first} rows requested from {}",
            self.len()
        );
        let rest_inputs = self.inputs.split_off(n_first * self.dim);
        let rest_labels = self.labels.split_off(n_first);
        let rest = Dataset {
            inputs: rest_inputs,
            labels: rest_labels,
            dim: self.dim,
            classes: self.classes,
        };
        (self, rest)
    }

    /// A new data set made of the given rows, in the given order (rows may repeat).
    ///
    /// # Panics
    /// If an index is `>= len`.
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        let mut inputs = Vec::with_capacity(indices.len() * self.dim);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            inputs.extend_from_slice(&self.inputs[i * self.dim..(i + 1) * self.dim]);
            labels.push(self.labels[i]);
        }
        Dataset {
            inputs,
            labels,
            dim: self.dim,
            classes: self.classes,
        }
    }

    /// Takes the data set apart into `(inputs, labels)`.
    pub fn into_parts(self) -> (Vec<f32>, Vec<usize>) {
        (self.inputs, self.labels)
    }
}

/// `Σ f(x)` in `f64` with eight independent accumulators (vectorizes, and loses less precision
/// than one long running sum).
fn lane_sum(xs: &[f32], f: impl Fn(f64) -> f64) -> f64 {
    const LANES: usize = 8;
    let mut acc = [0.0f64; LANES];
    let chunks = xs.chunks_exact(LANES);
    let tail: f64 = chunks.remainder().iter().map(|&x| f(f64::from(x))).sum();
    for chunk in chunks {
        for (a, &x) in acc.iter_mut().zip(chunk) {
            *a += f(f64::from(x));
        }
    }
    acc.iter().sum::<f64>() + tail
}

/// A scalar standardization `x ↦ (x − mean) / std`, fitted on training data and then applied
/// unchanged to every split (so test data never leaks into the statistics).
///
/// For MNIST scaled by `/255` the fitted values are mean ≈ 0.1307 and std ≈ 0.3081.
///
/// ```
/// use duograd::data::{Dataset, Normalization};
/// let mut train = Dataset::new(vec![0.0, 2.0, 4.0, 6.0], vec![0, 1], 2, 2);
/// let norm = Normalization::fit(&train);
/// assert_eq!(norm.mean, 3.0);
/// assert!((norm.std - 5f64.sqrt()).abs() < 1e-12);
/// norm.apply(&mut train);
/// assert!(train.inputs()[0] < 0.0 && train.inputs()[3] > 0.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Normalization {
    /// Mean of all feature values.
    pub mean: f64,
    /// Population standard deviation (divides by `n`) of all feature values.
    pub std: f64,
}

impl Normalization {
    /// Computes the mean and (population) standard deviation of every feature value of `data`,
    /// in `f64` with two passes.
    ///
    /// An empty data set gives mean 0 and std 1; a constant one gives std 1 (so that
    /// [`Normalization::apply`] stays finite).
    pub fn fit(data: &Dataset) -> Self {
        let xs = data.inputs();
        if xs.is_empty() {
            return Normalization {
                mean: 0.0,
                std: 1.0,
            };
        }
        let n = xs.len() as f64;
        let mean = lane_sum(xs, |x| x) / n;
        let var = lane_sum(xs, |x| (x - mean) * (x - mean)) / n;
        let std = var.sqrt();
        Normalization {
            mean,
            std: if std > 0.0 { std } else { 1.0 },
        }
    }

    /// Standardizes every feature value of `data` in place.
    pub fn apply(&self, data: &mut Dataset) {
        let (mean, inv_std) = (self.mean, 1.0 / self.std);
        for x in &mut data.inputs {
            *x = ((f64::from(*x) - mean) * inv_std) as f32;
        }
    }

    /// Standardizes one value.
    pub fn apply_value(&self, x: f32) -> f32 {
        ((f64::from(x) - self.mean) / self.std) as f32
    }
}
