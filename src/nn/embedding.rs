//! [`Embedding`]: a lookup table of vectors, as PyTorch's `nn.Embedding`.

use rand::Rng;

use super::module::display_module;
use super::{Forward, Module, Parameter};
use crate::backend::Backend;
use crate::tensor::Tensor;

/// A table of `num_embeddings` vectors of size `embedding_dim`, as PyTorch's
/// `nn.Embedding(num_embeddings, embedding_dim, padding_idx=None)`: the `weight` (PyTorch's
/// name) starts as standard normal draws, with the `padding_idx` row (if any) zero; that row
/// receives no gradient. [`Embedding::lookup`] takes the indices; as a [`Module`], `forward`
/// reads them from a tensor of whole numbers (as a PyTorch `LongTensor`).
///
/// ```
/// use duograd::nn::{Embedding, Forward};
/// use duograd::Tensor;
/// use duograd::backends::NdArray;
/// use rand::SeedableRng;
///
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let emb = Embedding::<NdArray<f32>>::new(10, 3, Some(0), &mut rng);
/// let e = emb.lookup(&[4, 0, 7], &[3]);
/// assert_eq!(e.shape(), &[3, 3]);
/// assert_eq!(e.to_vec_f64()[3..6], [0.0, 0.0, 0.0]); // the padding row
/// let same = emb.forward(&Tensor::from_f64(&[4., 0., 7.], &[3]));
/// assert_eq!(same.to_vec_f64(), e.to_vec_f64());
/// assert!(emb.to_string().starts_with("Embedding(10, 3, padding_idx=0)"));
/// ```
#[derive(Module)]
#[module(extra_repr = Self::repr_args)]
pub struct Embedding<B: Backend> {
    /// The table, `[num_embeddings, embedding_dim]`.
    pub weight: Parameter<B>,
    #[module(skip)]
    padding_idx: Option<usize>,
    training: bool,
}

impl<B: Backend> Embedding<B> {
    /// A table of standard normal draws from `rng`, the `padding_idx` row zero.
    ///
    /// # Panics
    /// If `padding_idx` is not below `num_embeddings`.
    #[track_caller]
    pub fn new(
        num_embeddings: usize,
        embedding_dim: usize,
        padding_idx: Option<usize>,
        rng: &mut impl Rng,
    ) -> Self {
        let mut data: Vec<f64> =
            Tensor::<B>::randn(&[num_embeddings, embedding_dim], 0.0, 1.0, rng).to_vec_f64();
        if let Some(p) = padding_idx {
            assert!(
                p < num_embeddings,
                "Embedding: padding_idx {p} is out of range for {num_embeddings} embeddings"
            );
            data[p * embedding_dim..][..embedding_dim].fill(0.0);
        }
        Self::from_tensor(
            Tensor::from_f64(&data, &[num_embeddings, embedding_dim]),
            padding_idx,
        )
    }

    /// A table with the given `[num_embeddings, embedding_dim]` weight (kept as it is, also
    /// the padding row, as PyTorch's `Embedding.from_pretrained`).
    ///
    /// # Panics
    /// If the weight is not 2-D or `padding_idx` is out of range.
    #[track_caller]
    pub fn from_tensor(weight: Tensor<B>, padding_idx: Option<usize>) -> Self {
        assert!(
            weight.rank() == 2,
            "Embedding: the weight must be 2-D [num_embeddings, embedding_dim], got {:?}",
            weight.shape()
        );
        if let Some(p) = padding_idx {
            assert!(
                p < weight.shape()[0],
                "Embedding: padding_idx {p} is out of range for {} embeddings",
                weight.shape()[0]
            );
        }
        Embedding {
            weight: Parameter::new(weight),
            padding_idx,
            training: true,
        }
    }

    /// The number of vectors.
    pub fn num_embeddings(&self) -> usize {
        self.weight.shape()[0]
    }

    /// The size of each vector.
    pub fn embedding_dim(&self) -> usize {
        self.weight.shape()[1]
    }

    /// The row that gets no gradient, if any.
    pub fn padding_idx(&self) -> Option<usize> {
        self.padding_idx
    }

    fn repr_args(&self) -> String {
        let mut s = format!("{}, {}", self.num_embeddings(), self.embedding_dim());
        if let Some(p) = self.padding_idx {
            s.push_str(&format!(", padding_idx={p}"));
        }
        s
    }

    /// The vectors of `indices` laid out in `shape`: `[…shape, embedding_dim]`.
    ///
    /// # Panics
    /// If an index is out of range or `shape` does not hold the indices.
    #[track_caller]
    pub fn lookup(&self, indices: &[usize], shape: &[usize]) -> Tensor<B> {
        self.weight.embedding(indices, shape, self.padding_idx)
    }
}

impl<B: Backend> Forward<B> for Embedding<B> {
    /// The vectors of the indices in `x` (whole numbers, any shape).
    ///
    /// # Panics
    /// If a value of `x` is not a whole number in `0..num_embeddings`.
    fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
        let n = self.num_embeddings();
        let indices: Vec<usize> = x
            .to_vec_f64()
            .into_iter()
            .map(|v| {
                assert!(
                    v >= 0.0 && v.fract() == 0.0 && v < n as f64,
                    "Embedding::forward: index {v} is not a whole number in 0..{n}"
                );
                v as usize
            })
            .collect();
        self.lookup(&indices, x.shape())
    }
}

display_module!(Embedding<B>);
