//! Softmax and log-softmax, composed from primitives (no backward of their own).

use crate::backend::Backend;
use crate::tensor::Tensor;

impl<B: Backend> Tensor<B> {
    /// `log(sum(exp(x), dim))`, stable: the maximum is subtracted first (and detached, which
    /// leaves the gradient unchanged because the result does not depend on the shift).
    #[track_caller]
    pub fn logsumexp(&self, dim: isize, keepdim: bool) -> Self {
        let m = self.max_dim(dim, true).detach();
        let lse = (self - &m).exp().sum_dim(dim, true).log() + &m;
        if keepdim {
            lse
        } else {
            lse.sum_dim(dim, false) // drops the size-1 axis
        }
    }

    /// `x - logsumexp(x, dim)`: log-probabilities along `dim`, finite even for logits of ±1e4.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[1e4, 0.0], &[1, 2]);
    /// let y = x.log_softmax(-1).to_vec();
    /// assert_eq!(y[0], 0.0);
    /// assert_eq!(y[1], -1e4);
    /// ```
    #[track_caller]
    pub fn log_softmax(&self, dim: isize) -> Self {
        self - &self.logsumexp(dim, true)
    }

    /// Probabilities along `dim`: `exp(log_softmax(x))`.
    #[track_caller]
    pub fn softmax(&self, dim: isize) -> Self {
        self.log_softmax(dim).exp()
    }
}
