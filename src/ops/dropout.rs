//! Dropout: a product with a random mask, so its gradient is the mask's (no backward of its
//! own).

use crate::backend::Backend;
use crate::element::Element;
use crate::tensor::Tensor;

impl<B: Backend> Tensor<B> {
    /// Dropout as PyTorch's `F.dropout`: when `training`, each element is zeroed with
    /// probability `p` and the others are scaled by `1 / (1 − p)` (so the expected value is
    /// unchanged); otherwise the input is returned as it is. The mask is drawn from `rng`, so
    /// a seeded generator gives a reproducible run.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let x = Tensor::<NdArray<f64>>::ones(&[1000]);
    /// let y = x.dropout(0.5, true, &mut rng).to_vec();
    /// assert!(y.iter().all(|&v| v == 0.0 || v == 2.0));
    /// let kept = y.iter().filter(|&&v| v == 2.0).count();
    /// assert!((400..600).contains(&kept));
    /// assert_eq!(x.dropout(0.5, false, &mut rng).to_vec(), x.to_vec());
    /// ```
    ///
    /// # Panics
    /// If `p` is not between 0 and 1.
    #[track_caller]
    pub fn dropout(&self, p: f64, training: bool, rng: &mut impl rand::Rng) -> Self {
        assert!(
            (0.0..=1.0).contains(&p),
            "dropout: probability has to be between 0 and 1, got {p}"
        );
        if !training || p == 0.0 {
            return self.clone();
        }
        // p = 1 zeroes everything (PyTorch's result), without dividing by zero.
        let scale = if p < 1.0 {
            B::Elem::of(1.0 / (1.0 - p))
        } else {
            B::Elem::of(0.0)
        };
        let zero = B::Elem::of(0.0);
        let mask: Vec<B::Elem> = (0..self.numel())
            .map(|_| if rng.random::<f64>() < p { zero } else { scale })
            .collect();
        self * &Tensor::from_vec(mask, self.shape())
    }
}
