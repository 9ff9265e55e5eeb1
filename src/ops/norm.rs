//! Batch normalization, composed from reductions and broadcasting arithmetic (no backward of its
//! own: the composition differentiates to any order).

use crate::autograd::no_grad;
use crate::backend::Backend;
use crate::tensor::Tensor;

impl<B: Backend> Tensor<B> {
    /// Batch normalization as PyTorch's `F.batch_norm`, for an `[N, C]`, `[N, C, L]` or
    /// `[N, C, H, W]` input normalized per channel (axis 1) over every other axis:
    /// `y = (x − mean) / sqrt(var + eps) · weight + bias`.
    ///
    /// - `training`: `mean` and `var` are the batch's (the variance biased, divided by the
    ///   count); the running statistics, if given, are updated in place to
    ///   `(1 − momentum)·running + momentum·batch`, with the batch variance unbiased (divided by
    ///   count − 1) as PyTorch does. They are not part of the graph.
    /// - not `training`: `mean` and `var` are the running statistics, which must be given.
    ///
    /// `weight` and `bias` (`[C]`, optional) are the affine parameters.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// type T = Tensor<NdArray<f64>>;
    /// let x = T::from_f64(&[1., 10., 3., 30.], &[2, 2]); // two samples, two channels
    /// let (mean, var) = (T::zeros(&[2]), T::ones(&[2]));
    /// let y = x.batch_norm(Some(&mean), Some(&var), None, None, true, 0.1, 0.0);
    /// assert_eq!(y.to_vec(), vec![-1., -1., 1., 1.]);
    /// // Running mean 0.9·0 + 0.1·[2, 20]; running var 0.9·1 + 0.1·[2, 200] (unbiased).
    /// assert_eq!(mean.to_vec(), vec![0.2, 2.0]);
    /// assert!((var.to_vec()[1] - 20.9).abs() < 1e-12);
    /// ```
    ///
    /// # Panics
    /// If the input is not 2-, 3- or 4-D, a given statistic or parameter is not `[C]`, the
    /// running statistics are missing in evaluation, or in training a channel has a single value
    /// (its variance is undefined).
    #[allow(clippy::too_many_arguments)]
    #[track_caller]
    pub fn batch_norm(
        &self,
        running_mean: Option<&Tensor<B>>,
        running_var: Option<&Tensor<B>>,
        weight: Option<&Tensor<B>>,
        bias: Option<&Tensor<B>>,
        training: bool,
        momentum: f64,
        eps: f64,
    ) -> Self {
        let shape = self.shape();
        assert!(
            (2..=4).contains(&shape.len()),
            "batch_norm: expects an input [N, C], [N, C, L] or [N, C, H, W], got shape {shape:?}"
        );
        let channels = shape[1];
        for (name, t) in [
            ("running_mean", running_mean),
            ("running_var", running_var),
            ("weight", weight),
            ("bias", bias),
        ] {
            if let Some(t) = t {
                assert!(
                    t.shape() == [channels],
                    "batch_norm: {name} must have shape [{channels}] (the input {shape:?} has \
                     {channels} channels), got {:?}",
                    t.shape()
                );
            }
        }
        // Every axis but the channels', and the shape that broadcasts a [C] vector over x.
        let axes: Vec<isize> = (0..shape.len() as isize).filter(|&a| a != 1).collect();
        let mut per_channel = vec![1; shape.len()];
        per_channel[1] = channels;
        let broadcast = |t: &Tensor<B>| t.reshape_to(&per_channel);
        let count = self.numel() / channels.max(1);

        let normalized = if training {
            assert!(
                count > 1,
                "batch_norm: expected more than 1 value per channel when training, got input \
                 of shape {shape:?}"
            );
            let mean = self.mean_dims(&axes, true);
            let centered = self - &mean;
            let var = centered.square().mean_dims(&axes, true);
            if let (Some(rm), Some(rv)) = (running_mean, running_var) {
                let _no_grad = no_grad();
                let unbiased = count as f64 / (count as f64 - 1.0);
                let new_mean = rm * (1.0 - momentum) + mean.reshape_to(&[channels]) * momentum;
                let new_var =
                    rv * (1.0 - momentum) + var.reshape_to(&[channels]) * (momentum * unbiased);
                rm.copy_(&new_mean);
                rv.copy_(&new_var);
            } else {
                assert!(
                    running_mean.is_none() && running_var.is_none(),
                    "batch_norm: give both running statistics or neither"
                );
            }
            centered * (var + eps).powf(-0.5)
        } else {
            let (Some(rm), Some(rv)) = (running_mean, running_var) else {
                panic!("batch_norm: evaluation (training = false) needs the running statistics");
            };
            (self - &broadcast(rm)) * (broadcast(rv) + eps).powf(-0.5)
        };
        let scaled = match weight {
            Some(w) => normalized * broadcast(w),
            None => normalized,
        };
        match bias {
            Some(b) => scaled + broadcast(b),
            None => scaled,
        }
    }
}
