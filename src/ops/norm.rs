//! Batch normalization: one recorded op whose forward and gradients are per-channel sums and
//! per-channel affine maps ([`Backend::channel_sums`], [`Backend::channel_affine`]), so that
//! each is two or three passes over the data; with `create_graph` its gradients are composed
//! from recorded ops instead, so that they can be differentiated again.

use std::sync::{Arc, Mutex, PoisonError};

use crate::autograd::{is_grad_enabled, no_grad, Attrs, BackwardArgs, Registry};
use crate::backend::Backend;
use crate::tensor::Tensor;

/// `Σg` and `Σg·x` per channel, for the output gradient with this tensor id.
type GradSums<B> = (u64, Tensor<B>, Tensor<B>);

/// What the `batch_norm` op keeps for its gradients.
struct BatchNormSaved<B: Backend> {
    /// The mean each channel was centred on (`[C]`): the batch's in training, else the running.
    mean: Tensor<B>,
    /// `1 / sqrt(var + eps)` per channel, likewise.
    invstd: Tensor<B>,
    /// Whether the statistics are the batch's (then they depend on the input).
    training: bool,
    /// The `eps` added to the variance.
    eps: f64,
    /// `Σg` and `Σg·x` per channel for the last output gradient `g` (by tensor id): the
    /// gradients of the input, the weight and the bias all need them, and the engine asks for
    /// them one input at a time.
    sums: Mutex<Option<GradSums<B>>>,
}

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
        assert!(
            running_mean.is_some() == running_var.is_some(),
            "batch_norm: give both running statistics or neither"
        );
        let count = self.numel() / channels.max(1);
        let (mean, invstd) = {
            let _no_grad = no_grad();
            if training {
                assert!(
                    count > 1,
                    "batch_norm: expected more than 1 value per channel when training, got \
                     input of shape {shape:?}"
                );
                let (sum, sum_sq) = B::channel_sums(&self.storage(), None);
                let mean = Tensor::<B>::from_storage(sum).div_scalar(count as f64);
                // The biased variance E[x²] − E[x]², never below 0 (cancellation).
                let var = (Tensor::<B>::from_storage(sum_sq).div_scalar(count as f64)
                    - mean.square())
                .clamp_min(0.0);
                if let (Some(rm), Some(rv)) = (running_mean, running_var) {
                    let unbiased = count as f64 / (count as f64 - 1.0);
                    rm.copy_(&(rm * (1.0 - momentum) + &mean * momentum));
                    rv.copy_(&(rv * (1.0 - momentum) + &var * (momentum * unbiased)));
                }
                (mean, (var + eps).powf(-0.5))
            } else {
                let (Some(rm), Some(rv)) = (running_mean, running_var) else {
                    panic!(
                        "batch_norm: evaluation (training = false) needs the running statistics"
                    );
                };
                (rm.detach(), (rv.detach() + eps).powf(-0.5))
            }
        };
        // y = x · scale + shift with scale = weight · invstd and shift = bias − mean · scale.
        let ones = || Tensor::<B>::ones(&[channels]);
        let weight = weight.cloned().unwrap_or_else(ones);
        let bias = bias.cloned().unwrap_or_else(|| Tensor::zeros(&[channels]));
        let out = {
            let _no_grad = no_grad();
            let scale = &weight.detach() * &invstd;
            let shift = &bias.detach() - &(&mean * &scale);
            B::channel_affine(&self.storage(), &scale.storage(), None, &shift.storage())
        };
        let saved = BatchNormSaved {
            mean,
            invstd,
            training,
            eps,
            sums: Mutex::new(None),
        };
        Tensor::from_op(
            "batch_norm",
            out,
            &[self, &weight, &bias],
            Attrs::Custom(Arc::new(saved)),
        )
    }
}

/// `[C]` reshaped to broadcast along axis 1 of a tensor of rank `rank`.
fn per_channel<B: Backend>(v: &Tensor<B>, rank: usize) -> Tensor<B> {
    let mut shape = vec![1; rank];
    shape[1] = v.numel();
    v.reshape_to(&shape)
}

/// Every axis of a rank-`rank` tensor but the channels'.
fn other_axes(rank: usize) -> Vec<isize> {
    (0..rank as isize).filter(|&a| a != 1).collect()
}

/// The gradients of `batch_norm` for `input` (0: x, 1: weight, 2: bias), composed from
/// recorded ops so that they can be differentiated again.
fn composed_gradient<B: Backend>(a: &BackwardArgs<'_, B>, saved: &BatchNormSaved<B>) -> Tensor<B> {
    let (x, w, g) = (&a.inputs[0], &a.inputs[1], a.grad);
    let rank = x.rank();
    let axes = other_axes(rank);
    let (mean, invstd) = if saved.training {
        // The statistics as functions of x, for the gradients' own gradients.
        let mean = x.mean_dims(&axes, true);
        let var = (x - &mean).square().mean_dims(&axes, true);
        (mean, (var + saved.eps).powf(-0.5))
    } else {
        (
            per_channel(&saved.mean, rank),
            per_channel(&saved.invstd, rank),
        )
    };
    let xhat = (x - &mean) * &invstd;
    match a.input {
        1 => (g * &xhat).sum_dims(&axes, false),
        2 => g.sum_dims(&axes, false),
        _ if !saved.training => g * &(per_channel(w, rank) * &invstd),
        _ => {
            let count = (x.numel() / x.shape()[1]) as f64;
            let k = per_channel(w, rank) * &invstd;
            let centred = g
                - &g.mean_dims(&axes, true)
                - &(&xhat * &(g * &xhat).sum_dims(&axes, true).div_scalar(count));
            k * centred
        }
    }
}

fn batch_norm_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    let saved: &BatchNormSaved<B> = a.attrs.custom();
    if is_grad_enabled() && a.inputs.iter().chain([a.grad]).any(Tensor::requires_grad) {
        return composed_gradient(a, saved);
    }
    let (x, w, g) = (&a.inputs[0], &a.inputs[1], a.grad);
    let channels = x.shape()[1];
    let g_storage = g.storage();
    // Σg and Σg·x per channel (Σg·x̂ = invstd · (Σg·x − mean · Σg)), computed once per
    // output gradient.
    let sums = || {
        let mut cache = saved.sums.lock().unwrap_or_else(PoisonError::into_inner);
        match &*cache {
            Some((id, sg, sgx)) if *id == g.id() => (sg.clone(), sgx.clone()),
            _ => {
                let (sg, sgx) = B::channel_sums(&g_storage, Some(&x.storage()));
                let (sg, sgx) = (
                    Tensor::<B>::from_storage(sg),
                    Tensor::<B>::from_storage(sgx),
                );
                *cache = Some((g.id(), sg.clone(), sgx.clone()));
                (sg, sgx)
            }
        }
    };
    let zeros = || Tensor::<B>::zeros(&[channels]);
    match a.input {
        2 => sums().0,
        1 => {
            let (sg, sgx) = sums();
            (sgx - &(&saved.mean * &sg)) * &saved.invstd
        }
        _ => {
            let k = &w.detach() * &saved.invstd;
            if !saved.training {
                let dx = B::channel_affine(&g_storage, &k.storage(), None, &zeros().storage());
                return Tensor::from_storage(dx);
            }
            // dx = k · (g − Σg/m − x̂ · Σg·x̂/m), an affine map of g and x per channel.
            let count = (x.numel() / channels) as f64;
            let (sg, sgx) = sums();
            let sg_xhat = (sgx - &(&saved.mean * &sg)) * &saved.invstd;
            let beta = -(&k * &saved.invstd * &sg_xhat).div_scalar(count);
            let gamma = (&k * &(&(&sg_xhat * &saved.invstd) * &saved.mean - &sg)).div_scalar(count);
            let dx = B::channel_affine(
                &g_storage,
                &k.storage(),
                Some((&x.storage(), &beta.storage())),
                &gamma.storage(),
            );
            Tensor::from_storage(dx)
        }
    }
}

pub(crate) fn register<B: Backend>(r: &Registry<B>) {
    r.register_all(
        "batch_norm",
        &[
            batch_norm_backward,
            batch_norm_backward,
            batch_norm_backward,
        ],
    );
}
