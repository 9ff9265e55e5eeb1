//! Layer normalization, as PyTorch's `F.layer_norm`: composed of recorded ops (means, an
//! elementwise chain), so its gradients of every order are theirs.

use crate::backend::Backend;
use crate::tensor::Tensor;

impl<B: Backend> Tensor<B> {
    /// Normalizes over the last `normalized_shape.len()` axes (which must equal
    /// `normalized_shape`), as PyTorch's `F.layer_norm`: `(x − mean) / √(var + eps)` with the
    /// biased variance, then `· weight + bias` (each of shape `normalized_shape`) when given.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[1., 2., 3., 4., 4., 4.], &[2, 3]);
    /// let y = x.layer_norm(&[3], None, None, 0.0).to_vec_f64();
    /// let s = (1.5f64).sqrt();
    /// assert!((y[0] + s).abs() < 1e-12 && y[1].abs() < 1e-12 && (y[2] - s).abs() < 1e-12);
    /// assert!(y[3..].iter().all(|v| v.is_nan())); // a constant row has variance 0 and eps 0
    /// ```
    ///
    /// # Panics
    /// If the input's trailing axes are not `normalized_shape`, `normalized_shape` is empty,
    /// or a weight or bias does not have shape `normalized_shape`.
    #[track_caller]
    pub fn layer_norm(
        &self,
        normalized_shape: &[usize],
        weight: Option<&Tensor<B>>,
        bias: Option<&Tensor<B>>,
        eps: f64,
    ) -> Self {
        let shape = self.shape();
        let k = normalized_shape.len();
        assert!(
            k > 0 && shape.len() >= k && shape[shape.len() - k..] == *normalized_shape,
            "layer_norm: input of shape {shape:?} does not end with normalized_shape \
             {normalized_shape:?}"
        );
        for (what, t) in [("weight", weight), ("bias", bias)] {
            if let Some(t) = t {
                assert!(
                    t.shape() == normalized_shape,
                    "layer_norm: {what} of shape {:?} does not match normalized_shape \
                     {normalized_shape:?}",
                    t.shape()
                );
            }
        }
        let dims: Vec<isize> = (shape.len() - k..shape.len()).map(|d| d as isize).collect();
        let centered = self - &self.mean_dims(&dims, true);
        let var = centered.square().mean_dims(&dims, true);
        let mut y = &centered * &var.add_scalar(eps).powf(-0.5);
        if let Some(w) = weight {
            y = &y * w;
        }
        if let Some(b) = bias {
            y = &y + b;
        }
        y
    }

    /// Rows `indices` of this `[num_embeddings, dim]` table, as PyTorch's `F.embedding`: an
    /// `[…shape, dim]` tensor for indices laid out in `shape`. With `padding_idx`, the rows it
    /// selects give their values but pass no gradient back to the table (PyTorch's
    /// `padding_idx`).
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let table = Tensor::<NdArray<f64>>::from_f64(&[0., 0., 1., 2., 3., 4.], &[3, 2]);
    /// let e = table.embedding(&[2, 1, 2, 0], &[2, 2], Some(0));
    /// assert_eq!(e.shape(), &[2, 2, 2]);
    /// assert_eq!(e.to_vec_f64(), vec![3., 4., 1., 2., 3., 4., 0., 0.]);
    /// ```
    ///
    /// # Panics
    /// If the table is not 2-D, `shape` does not hold `indices.len()` elements, or an index
    /// (or `padding_idx`) is out of range.
    #[track_caller]
    pub fn embedding(
        &self,
        indices: &[usize],
        shape: &[usize],
        padding_idx: Option<usize>,
    ) -> Self {
        let table = self.shape();
        assert!(
            table.len() == 2,
            "embedding: the table must be 2-D [num_embeddings, embedding_dim], got {table:?}"
        );
        assert!(
            shape.iter().product::<usize>() == indices.len(),
            "embedding: {} indices do not fill shape {shape:?}",
            indices.len()
        );
        if let Some(p) = padding_idx {
            assert!(
                p < table[0],
                "embedding: padding_idx {p} is out of range for {} embeddings",
                table[0]
            );
        }
        crate::check::indices_below("embedding", indices, table[0], "num_embeddings");
        let rows = match padding_idx.filter(|p| indices.contains(p)) {
            None => self.index_select(0, indices),
            Some(p) => {
                // Padding rows are read from a detached copy of the table stacked below it:
                // their values, but no gradient.
                let n = table[0];
                let remapped: Vec<usize> = indices
                    .iter()
                    .map(|&i| if i == p { i + n } else { i })
                    .collect();
                Tensor::cat(&[self, &self.detach()], 0).index_select(0, &remapped)
            }
        };
        let mut out_shape = shape.to_vec();
        out_shape.push(table[1]);
        rows.reshape_to(&out_shape)
    }
}
