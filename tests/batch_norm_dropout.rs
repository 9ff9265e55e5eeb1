//! The layers whose forward depends on the mode: BatchNorm1d/2d (batch statistics and the
//! running-statistic update in training, running statistics in evaluation, PyTorch's shapes and
//! errors) and Dropout (identity in evaluation, the drop rate and exact scale in training,
//! reproducible masks, gradients through the kept elements only).

#[macro_use]
mod common;

use common::assert_close;
use duograd::nn::{BatchNorm1d, BatchNorm2d, Dropout, Forward, Module, Parameter};
use duograd::{gradcheck, Backend, GradcheckOptions, Tensor};
use rand::rngs::StdRng;
use rand::SeedableRng;

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// Per-channel mean and biased variance of a row-major `[N, C, rest…]` array.
fn channel_stats(x: &[f64], shape: &[usize]) -> (Vec<f64>, Vec<f64>) {
    let (n, c) = (shape[0], shape[1]);
    let inner: usize = shape[2..].iter().product();
    let values =
        |ch: usize| (0..n).flat_map(move |i| (0..inner).map(move |k| x[(i * c + ch) * inner + k]));
    let count = (n * inner) as f64;
    let mean: Vec<f64> = (0..c).map(|ch| values(ch).sum::<f64>() / count).collect();
    let var = (0..c)
        .map(|ch| values(ch).map(|v| (v - mean[ch]).powi(2)).sum::<f64>() / count)
        .collect();
    (mean, var)
}

/// `(x − mean) / √(var + eps) · w + b` per channel of a row-major `[N, C, rest…]` array.
fn normalize(
    x: &[f64],
    shape: &[usize],
    stats: (&[f64], &[f64]),
    wb: (&[f64], &[f64]),
    eps: f64,
) -> Vec<f64> {
    let (c, inner) = (shape[1], shape[2..].iter().product::<usize>());
    x.iter()
        .enumerate()
        .map(|(i, &v)| {
            let ch = (i / inner) % c;
            (v - stats.0[ch]) / (stats.1[ch] + eps).sqrt() * wb.0[ch] + wb.1[ch]
        })
        .collect()
}

fn tolerance<B: Backend>() -> f64 {
    if <B::Elem as duograd::Element>::NAME == "f32" {
        2e-5
    } else {
        1e-12
    }
}

/// The example from PyTorch's documentation of the update: `x = [[1, 2], [3, 6]]`, momentum 0.1.
fn batch_norm_1d_updates_running_stats_as_pytorch<B: Backend>() {
    let bn = BatchNorm1d::<B>::new(2);
    let x = Tensor::<B>::from_f64(&[1.0, 2.0, 3.0, 6.0], &[2, 2]);
    let y = bn.forward(&x).to_vec_f64();
    let tol = tolerance::<B>();
    // Normalized with the biased batch variance: channel 0 mean 2 var 1, channel 1 mean 4 var 4.
    let (a, b) = (1.0 / (1.0f64 + 1e-5).sqrt(), 2.0 / (4.0f64 + 1e-5).sqrt());
    assert_close("output", &y, &[-a, -b, a, b], tol, tol);
    // Updated with the unbiased one: 0.9·1 + 0.1·2 and 0.9·1 + 0.1·8.
    let rm = bn.running_mean().unwrap().to_vec_f64();
    let rv = bn.running_var().unwrap().to_vec_f64();
    assert_close("running_mean", &rm, &[0.2, 0.4], tol, tol);
    assert_close("running_var", &rv, &[1.1, 1.7], tol, tol);
    assert_eq!(bn.num_batches_tracked().unwrap().get(), 1);
}

/// Three training steps of a BatchNorm2d with non-default momentum, eps and affine parameters
/// against the formulas, then evaluation with the running statistics.
fn batch_norm_2d_follows_the_formulas_in_both_modes<B: Backend>() {
    let (momentum, eps) = (0.3, 1e-3);
    let mut bn = BatchNorm2d::<B>::new(3).momentum(momentum).eps(eps);
    let (w, b) = ([0.5, 2.0, -1.0], [0.1, -0.2, 0.3]);
    bn.weight = Some(Parameter::new(Tensor::from_f64(&w, &[3])));
    bn.bias = Some(Parameter::new(Tensor::from_f64(&b, &[3])));
    let shape = [4, 3, 5, 2];
    let (mut rm, mut rv) = (vec![0.0; 3], vec![1.0; 3]);
    let tol = tolerance::<B>();
    for step in 0..3 {
        let x = Tensor::<B>::randn(&shape, step as f64, 1.0 + step as f64, &mut rng(step));
        let xv = x.to_vec_f64();
        let (mean, var) = channel_stats(&xv, &shape);
        let y = bn.forward(&x).to_vec_f64();
        assert_close(
            "training output",
            &y,
            &normalize(&xv, &shape, (&mean, &var), (&w, &b), eps),
            tol,
            tol,
        );
        let n = 40.0;
        for ch in 0..3 {
            rm[ch] = (1.0 - momentum) * rm[ch] + momentum * mean[ch];
            rv[ch] = (1.0 - momentum) * rv[ch] + momentum * var[ch] * n / (n - 1.0);
        }
        let got_rm = bn.running_mean().unwrap().to_vec_f64();
        let got_rv = bn.running_var().unwrap().to_vec_f64();
        assert_close("running_mean", &got_rm, &rm, tol, tol);
        assert_close("running_var", &got_rv, &rv, tol, tol);
        assert_eq!(bn.num_batches_tracked().unwrap().get(), step as i64 + 1);
    }
    bn.eval();
    let x = Tensor::<B>::randn(&shape, 0.0, 1.0, &mut rng(9));
    let y = bn.forward(&x).to_vec_f64();
    let want = normalize(&x.to_vec_f64(), &shape, (&rm, &rv), (&w, &b), eps);
    assert_close("evaluation output", &y, &want, tol, tol);
    assert_eq!(
        bn.num_batches_tracked().unwrap().get(),
        3,
        "evaluation counts nothing"
    );
}

/// `momentum=None`: the running statistics are the plain average of every batch's.
fn batch_norm_cumulative_average_is_the_mean_of_batch_statistics<B: Backend>() {
    let bn = BatchNorm1d::<B>::new(2).cumulative_average();
    let shape = [5, 2, 3];
    let (mut means, mut vars) = (vec![0.0; 2], vec![0.0; 2]);
    for step in 0..4 {
        let x = Tensor::<B>::randn(&shape, step as f64, 2.0, &mut rng(20 + step));
        let (m, v) = channel_stats(&x.to_vec_f64(), &shape);
        for ch in 0..2 {
            means[ch] += m[ch] / 4.0;
            vars[ch] += v[ch] * 15.0 / 14.0 / 4.0;
        }
        bn.forward(&x);
    }
    let tol = tolerance::<B>() * 10.0;
    assert_close(
        "running_mean",
        &bn.running_mean().unwrap().to_vec_f64(),
        &means,
        tol,
        tol,
    );
    assert_close(
        "running_var",
        &bn.running_var().unwrap().to_vec_f64(),
        &vars,
        tol,
        tol,
    );
}

/// `[N, C]` and `[N, C, L]`: the statistics run over every axis but the channels'.
fn batch_norm_1d_takes_n_c_and_n_c_l<B: Backend>() {
    let tol = tolerance::<B>();
    for shape in [vec![6, 4], vec![3, 4, 5]] {
        let bn = BatchNorm1d::<B>::new(4);
        let x = Tensor::<B>::randn(&shape, 1.0, 3.0, &mut rng(30));
        let xv = x.to_vec_f64();
        let (mean, var) = channel_stats(&xv, &shape);
        let y = bn.forward(&x);
        assert_eq!(y.shape(), &shape[..]);
        let want = normalize(&xv, &shape, (&mean, &var), (&[1.0; 4], &[0.0; 4]), 1e-5);
        assert_close("output", &y.to_vec_f64(), &want, tol, tol);
        let rm: Vec<f64> = mean.iter().map(|m| 0.1 * m).collect();
        assert_close(
            "running_mean",
            &bn.running_mean().unwrap().to_vec_f64(),
            &rm,
            tol,
            tol,
        );
    }
}

/// Without running statistics both modes use the batch's; without affine there are no
/// parameters.
fn batch_norm_options_drop_parameters_and_buffers<B: Backend>() {
    let mut bn = BatchNorm2d::<B>::new(2)
        .track_running_stats(false)
        .affine(false);
    assert!(bn.named_parameters().is_empty() && bn.named_buffers().is_empty());
    let shape = [3, 2, 2, 2];
    let x = Tensor::<B>::randn(&shape, 4.0, 2.0, &mut rng(40));
    let train = bn.forward(&x).to_vec_f64();
    bn.eval();
    assert_eq!(bn.forward(&x).to_vec_f64(), train);
    let (mean, var) = channel_stats(&x.to_vec_f64(), &shape);
    let want = normalize(
        &x.to_vec_f64(),
        &shape,
        (&mean, &var),
        (&[1.0; 2], &[0.0; 2]),
        1e-5,
    );
    let tol = tolerance::<B>();
    assert_close("output", &train, &want, tol, tol);

    let tracked = BatchNorm1d::<B>::new(3).affine(false);
    let names: Vec<String> = tracked
        .named_buffers()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        names,
        ["running_mean", "running_var", "num_batches_tracked"]
    );
    tracked.forward(&Tensor::randn(&[4, 3], 0.0, 1.0, &mut rng(41)));
    tracked.reset_running_stats();
    assert_eq!(tracked.running_mean().unwrap().to_vec_f64(), [0.0; 3]);
    assert_eq!(tracked.running_var().unwrap().to_vec_f64(), [1.0; 3]);
    assert_eq!(tracked.num_batches_tracked().unwrap().get(), 0);
}

/// The layer, as a function of its input, weight and bias, passes a finite-difference check in
/// training mode.
fn batch_norm_gradients_match_finite_differences<B: Backend>() {
    let x = Tensor::<B>::randn(&[4, 3, 2], 0.0, 1.0, &mut rng(50)).requires_grad_(true);
    let w = Tensor::<B>::randn(&[3], 1.0, 0.5, &mut rng(51)).requires_grad_(true);
    let b = Tensor::<B>::randn(&[3], 0.0, 0.5, &mut rng(52)).requires_grad_(true);
    let weights = Tensor::<B>::randn(&[4, 3, 2], 0.0, 1.0, &mut rng(53));
    let f = |ts: &[Tensor<B>]| {
        let mut bn = BatchNorm1d::<B>::new(3);
        bn.weight = Some(Parameter::new(ts[1].clone()));
        bn.bias = Some(Parameter::new(ts[2].clone()));
        (bn.forward(&ts[0]) * &weights).sum()
    };
    gradcheck(f, &[x, w, b], GradcheckOptions::default()).unwrap();
}

fn dropout_is_the_identity_in_eval_and_with_p_zero<B: Backend>() {
    let x = Tensor::<B>::randn(&[50, 20], 0.0, 1.0, &mut rng(60));
    let mut dropout = Dropout::new(0.5, 1);
    dropout.eval();
    assert!(!dropout.is_training());
    assert_eq!(dropout.forward(&x).to_vec_f64(), x.to_vec_f64());
    assert_eq!(
        Dropout::new(0.0, 1).forward(&x).to_vec_f64(),
        x.to_vec_f64()
    );
    assert!(Dropout::new(1.0, 1)
        .forward(&x)
        .to_vec_f64()
        .iter()
        .all(|&v| v == 0.0));
}

/// About a fraction `p` is zeroed, and every other element is exactly `x · 1/(1 − p)`.
fn dropout_zeroes_about_p_and_scales_the_rest_exactly<B: Backend>() {
    let x = Tensor::<B>::randn(&[200, 100], 0.0, 1.0, &mut rng(61));
    for p in [0.1, 0.25, 0.5, 0.9] {
        let y = Dropout::new(p, 7).forward(&x).to_vec_f64();
        let scaled = (&x * (1.0 / (1.0 - p))).to_vec_f64();
        let mut dropped = 0;
        for (&got, &want) in y.iter().zip(&scaled) {
            if got == 0.0 {
                dropped += 1;
            } else {
                assert_eq!(got, want, "p = {p}");
            }
        }
        // 20 000 draws: the rate's standard deviation is at most 0.0036.
        let rate = dropped as f64 / y.len() as f64;
        assert!((rate - p).abs() < 0.015, "p = {p}: dropped {rate}");
    }
}

fn dropout_masks_are_reproducible_from_the_seed<B: Backend>() {
    let x = Tensor::<B>::ones(&[64, 64]);
    let (a, b, c) = (
        Dropout::new(0.5, 3),
        Dropout::new(0.5, 3),
        Dropout::new(0.5, 4),
    );
    let first = a.forward(&x).to_vec_f64();
    assert_eq!(b.forward(&x).to_vec_f64(), first, "same seed, same mask");
    assert_ne!(
        c.forward(&x).to_vec_f64(),
        first,
        "another seed, another mask"
    );
    let second = a.forward(&x).to_vec_f64();
    assert_ne!(second, first, "each call draws a new mask");
    assert_eq!(
        b.forward(&x).to_vec_f64(),
        second,
        "the same sequence of masks"
    );
    a.manual_seed(3);
    assert_eq!(
        a.forward(&x).to_vec_f64(),
        first,
        "reseeding restarts the sequence"
    );
}

/// The gradient is `1/(1 − p)` times the upstream gradient where the element was kept, 0 where
/// it was dropped.
fn dropout_gradient_flows_only_through_kept_elements<B: Backend>() {
    let p = 0.25;
    let x = Tensor::<B>::randn(&[40, 30], 0.0, 1.0, &mut rng(62)).requires_grad_(true);
    let upstream = Tensor::<B>::randn(&[40, 30], 0.0, 1.0, &mut rng(63));
    let y = Dropout::new(p, 5).forward(&x);
    (&y * &upstream).sum().backward().unwrap();
    let grad = x.grad().unwrap().to_vec_f64();
    let scale = (&upstream * (1.0 / (1.0 - p))).to_vec_f64();
    for ((&g, &yv), &s) in grad.iter().zip(&y.to_vec_f64()).zip(&scale) {
        if yv == 0.0 {
            assert_eq!(g, 0.0);
        } else {
            assert_eq!(g, s);
        }
    }
    assert!(grad.iter().any(|&g| g != 0.0) && grad.contains(&0.0));
}

backend_tests!(
    f32 and f64:
    batch_norm_1d_updates_running_stats_as_pytorch,
    batch_norm_2d_follows_the_formulas_in_both_modes,
    batch_norm_cumulative_average_is_the_mean_of_batch_statistics,
    batch_norm_1d_takes_n_c_and_n_c_l,
    batch_norm_options_drop_parameters_and_buffers,
    dropout_is_the_identity_in_eval_and_with_p_zero,
    dropout_zeroes_about_p_and_scales_the_rest_exactly,
    dropout_masks_are_reproducible_from_the_seed,
    dropout_gradient_flows_only_through_kept_elements,
);

type Nd = duograd::backends::NdArray<f64>;

#[test]
fn batch_norm_gradients_match_finite_differences_in_f64() {
    batch_norm_gradients_match_finite_differences::<Nd>();
    batch_norm_gradients_match_finite_differences::<duograd::backends::Nalgebra<f64>>();
}

#[test]
#[should_panic(
    expected = "BatchNorm1d(4): expects an input [N, 4] or [N, 4, L], got shape [2, 4, 3, 3]"
)]
fn batch_norm_1d_names_itself_on_a_wrong_rank() {
    BatchNorm1d::<Nd>::new(4).forward(&Tensor::zeros(&[2, 4, 3, 3]));
}

#[test]
#[should_panic(
    expected = "BatchNorm1d(128): expects an input [N, 128] or [N, 128, L], got shape [8, 64]"
)]
fn batch_norm_1d_names_the_expected_channels() {
    BatchNorm1d::<Nd>::new(128).forward(&Tensor::zeros(&[8, 64]));
}

#[test]
#[should_panic(expected = "BatchNorm2d(32): expects an input [N, 32, H, W], got shape [8, 32, 7]")]
fn batch_norm_2d_names_itself_on_a_wrong_rank() {
    BatchNorm2d::<Nd>::new(32).forward(&Tensor::zeros(&[8, 32, 7]));
}

#[test]
#[should_panic(expected = "expected more than 1 value per channel when training")]
fn batch_norm_needs_more_than_one_value_per_channel_in_training() {
    BatchNorm1d::<Nd>::new(3).forward(&Tensor::zeros(&[1, 3]));
}

#[test]
fn batch_norm_takes_a_single_sample_in_evaluation() {
    let mut bn = BatchNorm1d::<Nd>::new(3);
    bn.eval();
    let y = bn.forward(&Tensor::from_f64(&[1.0, 2.0, 3.0], &[1, 3]));
    assert_close("output", &y.to_vec_f64(), &[1.0, 2.0, 3.0], 1e-4, 0.0);
    assert_eq!(bn.num_batches_tracked().unwrap().get(), 0);
}

#[test]
#[should_panic(expected = "Dropout: p must be between 0 and 1, got 1.5")]
fn dropout_rejects_a_probability_above_one() {
    Dropout::new(1.5, 0);
}
