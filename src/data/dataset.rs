//! An in-memory labelled data set of feature rows, and its normalization.

use std::borrow::Cow;
use std::sync::Arc;

use super::mnist::Mnist;
use crate::shape::Layout;
use duograd_cpu::rows::{ByteMap, Features, PendingGather};

/// A labelled data set held in memory: `len` rows of `dim` features (row-major) and one
/// class label in `0..classes` per row.
///
/// Features are `f32` values ([`Dataset::new`]), or bytes standing for
/// `byte · scale + offset` ([`Dataset::from_bytes`]; MNIST is kept this way): a quarter of the
/// memory, and a quarter of the memory traffic when batches gather shuffled rows. Either way
/// they read as `f32`, and [`Normalization`] works on both.
///
/// The invariants (`inputs.len() == len × dim`, labels below `classes`) are checked when it is
/// built, so every accessor can rely on them.
///
/// ```
/// use duograd::data::Dataset;
/// let ds = Dataset::new(vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0], vec![1, 0, 1], 2, 2);
/// assert_eq!(ds.len(), 3);
/// assert_eq!(ds.get(1).unwrap(), ([2.0f32, 3.0][..].into(), 0));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Shared, so that clones are cheap and a batch can be gathered on another thread; changed
    /// copy-on-write.
    features: Arc<Features>,
    labels: Vec<usize>,
    dim: usize,
    classes: usize,
    /// The shape of one sample (`[dim]` unless set with [`Dataset::with_item_shape`]).
    item_shape: Vec<usize>,
}

impl Dataset {
    /// The same data set with samples of shape `shape` (e.g. `[1, 28, 28]` for MNIST's
    /// one-channel images), whose elements are each row's `dim` values in row-major order;
    /// batches then report it ([`Batch::item_shape`](crate::data::Batch)), so that a model can
    /// take `[N, C, H, W]` images instead of flat rows.
    ///
    /// ```
    /// use duograd::data::Dataset;
    /// let ds = Dataset::new(vec![0.0; 8], vec![0, 1], 4, 2).with_item_shape(&[1, 2, 2]);
    /// assert_eq!(ds.item_shape(), &[1, 2, 2]);
    /// ```
    ///
    /// # Panics
    /// If the shape does not hold `dim` elements.
    pub fn with_item_shape(mut self, shape: &[usize]) -> Self {
        assert!(
            shape.iter().product::<usize>() == self.dim,
            "Dataset::with_item_shape: shape {shape:?} does not hold the {} values of a sample",
            self.dim
        );
        self.item_shape = shape.to_vec();
        self
    }

    /// The shape of one sample: `[dim]` for flat rows, `[C, H, W]` for images.
    pub fn item_shape(&self) -> &[usize] {
        &self.item_shape
    }

    /// Builds a data set from row-major `inputs` (`labels.len() × dim` values) and `labels`.
    ///
    /// # Panics
    /// If `dim == 0`, if `inputs.len() != labels.len() * dim`, or if a label is `>= classes`.
    pub fn new(inputs: Vec<f32>, labels: Vec<usize>, dim: usize, classes: usize) -> Self {
        Self::with_features(
            Features::Floats(inputs),
            labels,
            dim,
            classes,
            "Dataset::new",
        )
    }

    /// Builds a data set whose feature values are `byte · scale + offset` (computed in `f32`),
    /// from row-major `bytes` (`labels.len() × dim` of them) and `labels`.
    ///
    /// # Panics
    /// As [`Dataset::new`].
    ///
    /// ```
    /// use duograd::data::Dataset;
    /// let ds = Dataset::from_bytes(vec![0, 255, 51, 102], 1.0 / 255.0, 0.0, vec![1, 0], 2, 2);
    /// assert_eq!(ds.get(0).unwrap().0[..], [0.0, 1.0]);
    /// assert!((ds.get(1).unwrap().0[1] - 0.4).abs() < 1e-7);
    /// ```
    pub fn from_bytes(
        bytes: Vec<u8>,
        scale: f32,
        offset: f32,
        labels: Vec<usize>,
        dim: usize,
        classes: usize,
    ) -> Self {
        let features = Features::Bytes {
            bytes,
            map: ByteMap { scale, offset },
        };
        Self::with_features(features, labels, dim, classes, "Dataset::from_bytes")
    }

    fn with_features(
        features: Features,
        labels: Vec<usize>,
        dim: usize,
        classes: usize,
        caller: &str,
    ) -> Self {
        assert!(dim > 0, "{caller}: dim must be positive");
        assert_eq!(
            features.len(),
            labels.len() * dim,
            "{caller}: {} input values for {} labels of dimension {dim}",
            features.len(),
            labels.len()
        );
        if let Some(l) = labels.iter().find(|&&l| l >= classes) {
            panic!("{caller}: label {l} out of range 0..{classes}");
        }
        Dataset {
            features: Arc::new(features),
            labels,
            dim,
            classes,
            item_shape: vec![dim],
        }
    }

    /// The MNIST training set: 784 features per image, pixels scaled to `[0, 1]`
    /// (`pixel · (1/255)`, kept as bytes), 10 classes. Normalize it with [`Normalization`].
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
        let labels = labels.iter().map(|&l| usize::from(l)).collect();
        let (pixels, scale) = (images.to_vec(), 1.0 / 255.0);
        Dataset::from_bytes(
            pixels,
            scale,
            0.0,
            labels,
            Mnist::IMAGE_SIZE,
            Mnist::CLASSES,
        )
        .with_item_shape(&[1, Mnist::ROWS, Mnist::COLS])
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

    /// All features, row-major (`len × dim`): borrowed when stored as `f32`, a converted copy
    /// when stored as bytes (batches convert only their own rows: see [`Dataset::gather_rows`]).
    pub fn inputs(&self) -> Cow<'_, [f32]> {
        self.features.values(0..self.features.len())
    }

    /// Whether the features are stored as bytes ([`Dataset::from_bytes`]).
    pub fn is_bytes(&self) -> bool {
        matches!(*self.features, Features::Bytes { .. })
    }

    /// Appends the features of rows `rows`, in that order, to `out` as `f32`, laid out in
    /// `layout` (column-major: value `j` of row `rows[r]` at `j * rows.len() + r`, the order of
    /// a backend that stores matrices by column), as a mini-batch needs them; see
    /// [`DataLoader::layout`](super::DataLoader::layout). Batches of 32K values or more are
    /// gathered on duograd's worker threads ([`crate::backends::cpu::threads`]); the result does not depend
    /// on the thread count.
    ///
    /// # Panics
    /// If a row is `>= len`.
    ///
    /// ```
    /// use duograd::data::Dataset;
    /// use duograd::Layout;
    /// let ds = Dataset::from_bytes(vec![1, 2, 3, 4, 5, 6], 2.0, 0.5, vec![0, 0, 0], 2, 1);
    /// let (mut rows, mut columns) = (Vec::new(), Vec::new());
    /// ds.gather_rows(&[2, 0], Layout::RowMajor, &mut rows);
    /// ds.gather_rows(&[2, 0], Layout::ColMajor, &mut columns);
    /// assert_eq!(rows, [10.5, 12.5, 2.5, 4.5]);
    /// assert_eq!(columns, [10.5, 2.5, 12.5, 4.5]);
    /// ```
    pub fn gather_rows(&self, rows: &[usize], layout: Layout, out: &mut Vec<f32>) {
        self.check_rows(rows, "Dataset::gather_rows");
        self.features.gather_rows(rows, self.dim, layout, out);
    }

    /// Starts [`Dataset::gather_rows`] of `rows` (into a new buffer) on duograd's idle worker
    /// threads, for the data loader's prefetch.
    ///
    /// # Panics
    /// If a row is `>= len`.
    pub(crate) fn gather_in_background(&self, rows: Vec<usize>, layout: Layout) -> PendingGather {
        self.check_rows(&rows, "Dataset::gather_in_background");
        self.features.gather_in_background(rows, self.dim, layout)
    }

    /// Panics, naming `caller` and the row, if a row is `>= len`.
    #[track_caller]
    fn check_rows(&self, rows: &[usize], caller: &str) {
        if let Some(&bad) = rows.iter().find(|&&r| r >= self.len()) {
            panic!("{caller}: row {bad} of a data set of {} rows", self.len());
        }
    }

    /// All labels.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// Row `i` (borrowed, or converted when stored as bytes) and its label, or `None` if
    /// `i >= len`.
    pub fn get(&self, i: usize) -> Option<(Cow<'_, [f32]>, usize)> {
        let label = *self.labels.get(i)?;
        Some((
            self.features.values(i * self.dim..(i + 1) * self.dim),
            label,
        ))
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
    /// assert_eq!(b.get(0).unwrap(), ([6.0f32, 7.0][..].into(), 1));
    /// ```
    pub fn split(mut self, n_first: usize) -> (Dataset, Dataset) {
        assert!(
            n_first <= self.len(),
            "Dataset::split: {n_first} rows requested from {}",
            self.len()
        );
        let rest_features = Arc::make_mut(&mut self.features).split_off(n_first * self.dim);
        let rest_labels = self.labels.split_off(n_first);
        let rest = Dataset {
            features: Arc::new(rest_features),
            labels: rest_labels,
            dim: self.dim,
            classes: self.classes,
            item_shape: self.item_shape.clone(),
        };
        (self, rest)
    }

    /// A new data set made of the given rows, in the given order (rows may repeat), stored
    /// as this one is.
    ///
    /// # Panics
    /// If an index is `>= len`.
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        let labels = indices.iter().map(|&i| self.labels[i]).collect();
        Dataset {
            features: Arc::new(self.features.subset(indices, self.dim)),
            labels,
            dim: self.dim,
            classes: self.classes,
            item_shape: self.item_shape.clone(),
        }
    }

    /// Takes the data set apart into `(inputs, labels)` (inputs converted to `f32` if stored
    /// as bytes).
    pub fn into_parts(self) -> (Vec<f32>, Vec<usize>) {
        let features = Arc::try_unwrap(self.features).unwrap_or_else(|shared| (*shared).clone());
        (features.into_floats(), self.labels)
    }
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
        let Some((mean, var)) = data.features.mean_and_variance() else {
            return Normalization {
                mean: 0.0,
                std: 1.0,
            };
        };
        let std = var.sqrt();
        Normalization {
            mean,
            std: if std > 0.0 { std } else { 1.0 },
        }
    }

    /// Standardizes every feature value of `data` in place (for a data set stored as bytes,
    /// by changing what the bytes stand for).
    pub fn apply(&self, data: &mut Dataset) {
        Arc::make_mut(&mut data.features).standardize(self.mean, self.std);
    }

    /// Standardizes one value.
    pub fn apply_value(&self, x: f32) -> f32 {
        ((f64::from(x) - self.mean) / self.std) as f32
    }
}
