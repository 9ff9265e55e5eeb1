//! Mini-batches over a [`Dataset`], with seeded per-epoch shuffling.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::dataset::Dataset;
use crate::shape::Layout;
use crate::Element;
use duograd_cpu::rows::{PendingGather, PARALLEL_MIN_VALUES};

/// One mini-batch: a copy of the selected rows, row-major unless the loader was asked for
/// another [`DataLoader::layout`].
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// `shape[0] × shape[1]` feature values, in `layout` order.
    pub inputs: Vec<f32>,
    /// How `inputs` is laid out.
    pub layout: Layout,
    /// One label per row.
    pub labels: Vec<usize>,
    /// `[rows in this batch, features per row]`.
    pub shape: [usize; 2],
    /// The shape of one row's features as the data set gives it (`[features]`, or `[C, H, W]`
    /// for images: see [`Dataset::with_item_shape`]).
    pub item_shape: Vec<usize>,
    /// The data set rows this batch was copied from, in batch order.
    pub indices: Vec<usize>,
}

impl Batch {
    /// Rows in the batch.
    pub fn len(&self) -> usize {
        self.shape[0]
    }

    /// The batch's shape with each row in its data set's item shape: `[rows, C, H, W]` for
    /// images, `[rows, features]` for flat rows. The values are the row-major `inputs` when the
    /// batch is row-major.
    pub fn item_batch_shape(&self) -> Vec<usize> {
        std::iter::once(self.shape[0])
            .chain(self.item_shape.iter().copied())
            .collect()
    }

    /// Whether the batch has no rows (never the case for batches a [`DataLoader`] yields).
    pub fn is_empty(&self) -> bool {
        self.shape[0] == 0
    }

    /// A copy of the inputs converted to another element type (e.g. `f64` for gradient
    /// checks); [`Batch::into_inputs_as`] avoids the copy when the batch is no longer needed.
    ///
    /// ```
    /// use duograd::data::{DataLoader, Dataset};
    /// let ds = Dataset::new(vec![0.5, 0.25], vec![0, 1], 1, 2);
    /// let batch = DataLoader::new(&ds, 2).epoch(0).next().unwrap();
    /// assert_eq!(batch.inputs_as::<f64>(), vec![0.5f64, 0.25]);
    /// ```
    pub fn inputs_as<E: Element>(&self) -> Vec<E> {
        E::vec_from_f32(self.inputs.clone())
    }

    /// Consumes the batch and returns its inputs as element type `E`, without copying them
    /// when `E` is `f32` (see [`Element::vec_from_f32`]). Take what else you need (e.g. the
    /// labels, with [`std::mem::take`]) first.
    ///
    /// ```
    /// use duograd::data::{DataLoader, Dataset};
    /// let ds = Dataset::new(vec![0.5, 0.25], vec![0, 1], 1, 2);
    /// let mut batch = DataLoader::new(&ds, 2).epoch(0).next().unwrap();
    /// let labels = std::mem::take(&mut batch.labels);
    /// let shape = batch.shape;
    /// let ptr = batch.inputs.as_ptr();
    /// let x = batch.into_inputs_as::<f32>();
    /// assert_eq!((x.as_slice(), labels, shape), (&[0.5f32, 0.25][..], vec![0, 1], [2, 1]));
    /// assert_eq!(x.as_ptr(), ptr); // the batch's own buffer
    /// ```
    pub fn into_inputs_as<E: Element>(self) -> Vec<E> {
        E::vec_from_f32(self.inputs)
    }
}

/// Cuts a [`Dataset`] into mini-batches, epoch after epoch.
///
/// Without [`DataLoader::shuffle`] every epoch visits the rows in order. With a seed, each
/// epoch uses its own permutation, derived from `(seed, epoch)` alone: the same seed and epoch
/// always give the same batches, different epochs give different orders, and an epoch can be
/// replayed without running the earlier ones. Only index lists are shuffled; each batch copies
/// just its own rows.
///
/// While one batch is in use, the next is gathered by duograd's idle worker threads (when more
/// than one [thread](duograd_cpu::threads) is allowed and a batch holds at least 2¹⁵ values): in a
/// training loop the gather then fills the gaps between the matrix products instead of taking
/// its own time. The batches are the same either way; [`DataLoader::prefetch`] turns it off.
///
/// ```
/// use duograd::data::{DataLoader, Dataset};
/// let ds = Dataset::new((0..10).map(|x| x as f32).collect(), (0..10).map(|i| i % 2).collect(), 1, 2);
/// let loader = DataLoader::new(&ds, 4).shuffle(7).drop_last(true);
/// assert_eq!(loader.num_batches(), 2);
/// for epoch in 0..3 {
///     for batch in loader.epoch(epoch) {
///         assert_eq!(batch.shape, [4, 1]);
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct DataLoader<'a> {
    data: &'a Dataset,
    batch_size: usize,
    seed: Option<u64>,
    drop_last: bool,
    layout: Layout,
    prefetch: bool,
}

impl<'a> DataLoader<'a> {
    /// A loader yielding batches of `batch_size` rows in data set order, keeping a smaller last
    /// batch.
    ///
    /// # Panics
    /// If `batch_size == 0`.
    pub fn new(data: &'a Dataset, batch_size: usize) -> Self {
        assert!(
            batch_size > 0,
            "DataLoader::new: batch_size must be positive"
        );
        DataLoader {
            data,
            batch_size,
            seed: None,
            drop_last: false,
            layout: Layout::RowMajor,
            prefetch: true,
        }
    }

    /// Shuffles the rows of every epoch with a generator seeded from `seed` and the epoch number.
    pub fn shuffle(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Whether to drop the last batch of an epoch when it has fewer than `batch_size` rows.
    pub fn drop_last(mut self, drop_last: bool) -> Self {
        self.drop_last = drop_last;
        self
    }

    /// Lays each batch's inputs out in `layout` (row-major by default). The training loop asks
    /// for its backend's own order ([`Backend::layout_2d`](crate::Backend::layout_2d)), so
    /// that the batch becomes a tensor without a transpose.
    ///
    /// ```
    /// use duograd::data::{DataLoader, Dataset};
    /// use duograd::Layout;
    /// let ds = Dataset::new(vec![1.0, 2.0, 3.0, 4.0], vec![0, 1], 2, 2);
    /// let batch = DataLoader::new(&ds, 2).layout(Layout::ColMajor).epoch(0).next().unwrap();
    /// assert_eq!((batch.inputs, batch.layout), (vec![1.0, 3.0, 2.0, 4.0], Layout::ColMajor));
    /// ```
    pub fn layout(mut self, layout: Layout) -> Self {
        self.layout = layout;
        self
    }

    /// Whether to gather each next batch on idle worker threads while the current one is in
    /// use (on by default; it changes no value, only when the work is done).
    ///
    /// ```
    /// use duograd::data::{DataLoader, Dataset};
    /// let ds = Dataset::new((0..8).map(|x| x as f32).collect(), vec![0; 4], 2, 1);
    /// let eager: Vec<_> = DataLoader::new(&ds, 3).shuffle(1).epoch(0).collect();
    /// let on_demand: Vec<_> = DataLoader::new(&ds, 3).shuffle(1).prefetch(false).epoch(0).collect();
    /// assert_eq!(eager, on_demand);
    /// ```
    pub fn prefetch(mut self, prefetch: bool) -> Self {
        self.prefetch = prefetch;
        self
    }

    /// The data set batches are drawn from.
    pub fn dataset(&self) -> &'a Dataset {
        self.data
    }

    /// Rows per full batch.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Batches per epoch.
    pub fn num_batches(&self) -> usize {
        let n = self.data.len();
        if self.drop_last {
            n / self.batch_size
        } else {
            n.div_ceil(self.batch_size)
        }
    }

    /// The order in which epoch `epoch` visits the rows (all of them, even those a
    /// `drop_last` epoch leaves out).
    pub fn epoch_order(&self, epoch: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.data.len()).collect();
        if let Some(seed) = self.seed {
            // Spread epochs apart (golden-ratio increment); `seed_from_u64` then scrambles.
            let epoch_seed = seed ^ epoch.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            order.shuffle(&mut StdRng::seed_from_u64(epoch_seed));
        }
        order
    }

    /// The batches of epoch `epoch` (epochs are numbered from 0).
    pub fn epoch(&self, epoch: u64) -> Batches<'a> {
        let order = self.epoch_order(epoch);
        let end = self.num_batches() * self.batch_size;
        Batches {
            data: self.data,
            order,
            pos: 0,
            end: end.min(self.data.len()),
            batch_size: self.batch_size,
            layout: self.layout,
            prefetch: self.prefetch,
            next: None,
        }
    }
}

/// Iterator over the batches of one epoch; see [`DataLoader::epoch`].
#[derive(Debug)]
pub struct Batches<'a> {
    data: &'a Dataset,
    order: Vec<usize>,
    pos: usize,
    end: usize,
    batch_size: usize,
    layout: Layout,
    prefetch: bool,
    /// The batch starting at `pos`, being gathered in the background.
    next: Option<PendingGather>,
}

impl Clone for Batches<'_> {
    /// A copy at the same position; it gathers its next batch itself.
    fn clone(&self) -> Self {
        Batches {
            data: self.data,
            order: self.order.clone(),
            next: None,
            ..*self
        }
    }
}

impl Batches<'_> {
    /// The rows of the batch starting at `start`.
    fn rows_from(&self, start: usize) -> &[usize] {
        &self.order[start..(start + self.batch_size).min(self.end)]
    }
}

impl Iterator for Batches<'_> {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        if self.pos >= self.end {
            return None;
        }
        let indices = self.rows_from(self.pos).to_vec();
        let inputs = match self.next.take() {
            Some(pending) => pending.wait(),
            None => {
                let mut inputs = Vec::with_capacity(indices.len() * self.data.dim());
                self.data.gather_rows(&indices, self.layout, &mut inputs);
                inputs
            }
        };
        self.pos += indices.len();
        let following = self.rows_from(self.pos);
        let worth_it = following.len() * self.data.dim() >= PARALLEL_MIN_VALUES;
        if self.prefetch && worth_it && duograd_cpu::threads::num_threads() > 1 {
            let rows = following.to_vec();
            self.next = Some(self.data.gather_in_background(rows, self.layout));
        }
        let all_labels = self.data.labels();
        let labels = indices.iter().map(|&i| all_labels[i]).collect();
        Some(Batch {
            inputs,
            layout: self.layout,
            labels,
            shape: [indices.len(), self.data.dim()],
            item_shape: self.data.item_shape().to_vec(),
            indices,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = (self.end - self.pos).div_ceil(self.batch_size);
        (n, Some(n))
    }
}

impl ExactSizeIterator for Batches<'_> {}

impl std::iter::FusedIterator for Batches<'_> {}
