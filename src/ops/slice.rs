//! Slicing with a step, splitting into pieces, and tiling: all composed of `narrow`,
//! `index_select`, `reshape` and `expand`, whose gradients they have.

use crate::backend::Backend;
use crate::tensor::Tensor;

impl<B: Backend> Tensor<B> {
    /// Python's `x[..., start:end:step, ...]` along `dim`: `start` and `end` may be negative
    /// (counting from the end) and are clipped to the axis as Python clips them
    /// (`isize::MAX` for "to the end"); an empty range gives an empty axis. A step of 1 is a
    /// [`Tensor::narrow`], a larger one an [`Tensor::index_select`], whose gradient it has.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[0., 1., 2., 3., 4., 5., 6.], &[7]);
    /// assert_eq!(x.slice(0, 1, 6, 2).to_vec(), vec![1.0, 3.0, 5.0]);
    /// assert_eq!(x.slice(0, -3, isize::MAX, 2).to_vec(), vec![4.0, 6.0]);
    /// assert_eq!(x.slice(0, 5, 2, 1).shape(), &[0]);
    /// ```
    ///
    /// # Panics
    /// If `dim` is out of range or `step` is 0.
    #[track_caller]
    pub fn slice(&self, dim: isize, start: isize, end: isize, step: usize) -> Self {
        let axis = crate::check::axis("slice", dim, self.shape());
        assert!(
            step >= 1,
            "slice: step must be positive, got 0 for axis {axis} of shape {:?}",
            self.shape()
        );
        let n = self.shape()[axis] as isize;
        let clip = |i: isize| if i < 0 { (i + n).max(0) } else { i.min(n) } as usize;
        let (start, end) = (clip(start), clip(end));
        let len = end.saturating_sub(start);
        if step == 1 || len == 0 {
            return self.narrow(dim, start, len);
        }
        let picked: Vec<usize> = (start..end).step_by(step).collect();
        self.index_select(dim, &picked)
    }

    /// Splits along `dim` into pieces of `size` elements (the last one smaller if the axis
    /// does not divide evenly), as `torch.split(x, size, dim)`.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::zeros(&[7, 2]);
    /// let shapes: Vec<Vec<usize>> = x.split(3, 0).iter().map(|t| t.shape().to_vec()).collect();
    /// assert_eq!(shapes, vec![vec![3, 2], vec![3, 2], vec![1, 2]]);
    /// ```
    ///
    /// # Panics
    /// If `dim` is out of range or `size` is 0.
    #[track_caller]
    pub fn split(&self, size: usize, dim: isize) -> Vec<Self> {
        let axis = crate::check::axis("split", dim, self.shape());
        assert!(
            size >= 1,
            "split: size must be positive, got 0 for axis {axis} of shape {:?}",
            self.shape()
        );
        let n = self.shape()[axis];
        if n == 0 {
            return vec![self.clone()];
        }
        (0..n)
            .step_by(size)
            .map(|start| self.narrow(dim, start, size.min(n - start)))
            .collect()
    }

    /// Splits along `dim` into pieces of the given sizes, as `torch.split(x, sizes, dim)`.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[0., 1., 2., 3., 4.], &[5]);
    /// let parts = x.split_sizes(&[1, 4], 0);
    /// assert_eq!(parts[1].to_vec(), vec![1.0, 2.0, 3.0, 4.0]);
    /// ```
    ///
    /// # Panics
    /// If `dim` is out of range or the sizes do not add up to the axis's length.
    #[track_caller]
    pub fn split_sizes(&self, sizes: &[usize], dim: isize) -> Vec<Self> {
        let axis = crate::check::axis("split", dim, self.shape());
        assert!(
            sizes.iter().sum::<usize>() == self.shape()[axis],
            "split: sizes {sizes:?} do not add up to axis {axis} of shape {:?}",
            self.shape()
        );
        let mut start = 0;
        sizes
            .iter()
            .map(|&len| {
                let piece = self.narrow(dim, start, len);
                start += len;
                piece
            })
            .collect()
    }

    /// Splits along `dim` into at most `chunks` pieces of `⌈n / chunks⌉` elements (the last
    /// smaller; fewer pieces when they run out first), as `torch.chunk`.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::zeros(&[2, 5]);
    /// let widths: Vec<usize> = x.chunk(4, 1).iter().map(|t| t.shape()[1]).collect();
    /// assert_eq!(widths, vec![2, 2, 1]);
    /// ```
    ///
    /// # Panics
    /// If `dim` is out of range or `chunks` is 0.
    #[track_caller]
    pub fn chunk(&self, chunks: usize, dim: isize) -> Vec<Self> {
        let axis = crate::check::axis("chunk", dim, self.shape());
        assert!(
            chunks >= 1,
            "chunk: chunks must be positive, got 0 for axis {axis} of shape {:?}",
            self.shape()
        );
        let n = self.shape()[axis];
        if n == 0 {
            return vec![self.clone(); chunks];
        }
        self.split(n.div_ceil(chunks), dim)
    }

    /// Tiles the tensor `repeats[i]` times along axis `i`, as `torch.Tensor.repeat`; with more
    /// counts than axes, the tensor is read as having leading axes of size 1. Composed of
    /// `reshape` and `expand`, whose gradients (sums over the copies) it has.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// let x = Tensor::<NdArray<f64>>::from_f64(&[1., 2.], &[2]);
    /// let y = x.repeat(&[2, 3]);
    /// assert_eq!(y.shape(), &[2, 6]);
    /// assert_eq!(y.to_vec()[..6], [1., 2., 1., 2., 1., 2.]);
    /// ```
    ///
    /// # Panics
    /// If there are fewer counts than axes.
    #[track_caller]
    pub fn repeat(&self, repeats: &[usize]) -> Self {
        let shape = self.shape();
        assert!(
            repeats.len() >= shape.len(),
            "repeat: {} repeat counts {repeats:?} for a tensor of shape {shape:?} (need at least {})",
            repeats.len(),
            shape.len()
        );
        let mut padded = vec![1; repeats.len() - shape.len()];
        padded.extend_from_slice(shape);
        let interleaved: Vec<usize> = padded.iter().flat_map(|&d| [1, d]).collect();
        let expanded: Vec<usize> = padded
            .iter()
            .zip(repeats)
            .flat_map(|(&d, &r)| [r, d])
            .collect();
        let out: Vec<usize> = padded.iter().zip(repeats).map(|(&d, &r)| d * r).collect();
        self.reshape_to(&interleaved)
            .expand(&expanded)
            .reshape_to(&out)
    }
}
