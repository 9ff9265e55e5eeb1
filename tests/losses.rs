//! Losses beyond the fixture cases (`tests/ops` checks every loss option against PyTorch,
//! finite differences and the other backend): PyTorch's corner cases that a fixture cannot
//! hold (NaN), the fused cross-entropy equal to the composed one, and bad input — a panic whose
//! message names the loss, the shapes and the argument.

#[macro_use]
#[path = "common/mod.rs"]
mod common;

use duograd::backends::NdArray;
use duograd::nn::functional as F;
use duograd::{
    Backend, BceOptions, CrossEntropyOptions, KlDivReduction, NllLossOptions, Reduction, Tensor,
};
use rand::{rngs::StdRng, SeedableRng};

use common::assert_close;

fn logits<B: Backend>() -> Tensor<B> {
    Tensor::randn(&[4, 3], 0.0, 2.0, &mut StdRng::seed_from_u64(5)).requires_grad_(true)
}

/// PyTorch 2.15: with every row ignored, `cross_entropy(..., ignore_index=k)` (with or without
/// label smoothing) and `nll_loss` give NaN for the mean, 0 for the sum, and a zero gradient.
fn every_row_ignored_gives_nan_mean_and_zero_gradient<B: Backend>() {
    let labels = [2, 2, 2, 2];
    let options = [
        CrossEntropyOptions::new(Reduction::Mean).ignore_index(2),
        CrossEntropyOptions::new(Reduction::Mean)
            .ignore_index(2)
            .label_smoothing(0.1),
        CrossEntropyOptions::new(Reduction::Mean)
            .ignore_index(2)
            .weight(&Tensor::from_f64(&[1.0, 2.0, 3.0], &[3])),
    ];
    for o in options {
        let x = logits::<B>();
        let loss = x.cross_entropy(&labels, o.clone());
        assert!(loss.to_vec_f64()[0].is_nan(), "{o:?}: {loss}");
        loss.backward().unwrap();
        assert_eq!(x.grad().unwrap().to_vec_f64(), vec![0.0; 12], "{o:?}");
        let sum = x.cross_entropy(&labels, o.reduction(Reduction::Sum));
        assert_eq!(sum.to_vec_f64(), vec![0.0]);
    }
    let x = logits::<B>();
    let nll = x.log_softmax(1).nll_loss(
        &labels,
        NllLossOptions::new(Reduction::Mean).ignore_index(2),
    );
    assert!(nll.to_vec_f64()[0].is_nan());
    nll.backward().unwrap();
    assert_eq!(x.grad().unwrap().to_vec_f64(), vec![0.0; 12]);
}

/// The fused op and the composed path (taken as soon as any option is set) agree: unit class
/// weights and an ignore_index no label uses change nothing.
fn fused_cross_entropy_equals_the_composed_one<B: Backend>() {
    let labels = [0, 2, 1, 2];
    for reduction in [Reduction::Mean, Reduction::Sum, Reduction::None] {
        let (x1, x2) = (logits::<B>(), logits::<B>());
        let fused = x1.cross_entropy(&labels, reduction);
        assert_eq!(fused.op_name(), Some("cross_entropy"));
        let composed = x2.cross_entropy(
            &labels,
            CrossEntropyOptions::new(reduction)
                .weight(&Tensor::ones(&[3]))
                .ignore_index(100),
        );
        assert_ne!(composed.op_name(), Some("cross_entropy"));
        let what = format!("{reduction:?}");
        assert_close(
            &what,
            &composed.to_vec_f64(),
            &fused.to_vec_f64(),
            1e-6,
            1e-6,
        );
        fused.sum().backward().unwrap();
        composed.sum().backward().unwrap();
        assert_close(
            &format!("{what} grad"),
            &x2.grad().unwrap().to_vec_f64(),
            &x1.grad().unwrap().to_vec_f64(),
            1e-6,
            1e-6,
        );
    }
}

/// One-hot probability targets give the class-index loss.
fn one_hot_probability_targets_equal_class_labels<B: Backend>() {
    let labels = [1, 0, 2, 2];
    let mut one_hot = vec![0.0; 12];
    for (row, &l) in labels.iter().enumerate() {
        one_hot[row * 3 + l] = 1.0;
    }
    let target = Tensor::<B>::from_f64(&one_hot, &[4, 3]);
    let x = logits::<B>();
    let w = Tensor::from_f64(&[0.5, 1.0, 2.0], &[3]);
    let by_labels = x.cross_entropy(&labels, CrossEntropyOptions::new(Reduction::Sum).weight(&w));
    let by_probs =
        x.cross_entropy_probs(&target, CrossEntropyOptions::new(Reduction::Sum).weight(&w));
    assert_close(
        "one-hot",
        &by_probs.to_vec_f64(),
        &by_labels.to_vec_f64(),
        1e-6,
        1e-6,
    );
}

/// Logits of ±1e4 (and ±100 in f32) stay finite, where `log(sigmoid(x))` would be -inf.
fn binary_cross_entropy_with_logits_is_stable_for_large_logits<B: Backend>() {
    let x = Tensor::<B>::from_f64(&[1e4, -1e4, 100.0, -100.0], &[4]).requires_grad_(true);
    let y = Tensor::from_f64(&[0.0, 1.0, 1.0, 0.0], &[4]);
    let loss = x.binary_cross_entropy_with_logits(&y, Reduction::None);
    assert_close(
        "loss",
        &loss.to_vec_f64(),
        &[1e4, 1e4, 0.0, 0.0],
        1e-30,
        1e-7,
    );
    loss.sum().backward().unwrap();
    assert_close(
        "grad",
        &x.grad().unwrap().to_vec_f64(),
        &[1.0, -1.0, 0.0, 0.0],
        1e-30,
        1e-7,
    );
}

fn functional_wrappers_equal_the_methods<B: Backend>() {
    let x = logits::<B>();
    let t = Tensor::<B>::randn(&[4, 3], 0.0, 1.0, &mut StdRng::seed_from_u64(6));
    let p = x.softmax(1).detach();
    let pairs = [
        (
            F::l1_loss(&x, &t, Reduction::Sum),
            x.l1_loss(&t, Reduction::Sum),
        ),
        (
            F::smooth_l1_loss(&x, &t, 0.5, Reduction::Mean),
            x.smooth_l1_loss(&t, 0.5, Reduction::Mean),
        ),
        (
            F::huber_loss(&x, &t, 2.0, Reduction::Mean),
            x.huber_loss(&t, 2.0, Reduction::Mean),
        ),
        (
            F::mse_loss_with(&x, &t, Reduction::Sum),
            x.mse_loss_with(&t, Reduction::Sum),
        ),
        (
            F::kl_div(&x, &p, KlDivReduction::BatchMean, false),
            x.kl_div(&p, KlDivReduction::BatchMean, false),
        ),
        (
            F::binary_cross_entropy_with_logits(&x, &p, Reduction::Mean),
            x.binary_cross_entropy_with_logits(&p, Reduction::Mean),
        ),
        (
            F::binary_cross_entropy(&p, &p, Reduction::Mean),
            p.binary_cross_entropy(&p, Reduction::Mean),
        ),
        (
            F::cross_entropy_probs(&x, &p, Reduction::Mean),
            x.cross_entropy_probs(&p, Reduction::Mean),
        ),
    ];
    for (i, (a, b)) in pairs.iter().enumerate() {
        assert_eq!(a.to_vec_f64(), b.to_vec_f64(), "pair {i}");
    }
    // `batchmean` is the sum over the batch size; the mean divides by every element.
    let sum = x.kl_div(&p, Reduction::Sum, false).to_vec_f64()[0];
    let batch = x.kl_div(&p, KlDivReduction::BatchMean, false).to_vec_f64()[0];
    let mean = x.kl_div(&p, Reduction::Mean, false).to_vec_f64()[0];
    assert!((batch - sum / 4.0).abs() < 1e-5 && (mean - sum / 12.0).abs() < 1e-5);
}

backend_tests!(f32 and f64:
    every_row_ignored_gives_nan_mean_and_zero_gradient,
    fused_cross_entropy_equals_the_composed_one,
    one_hot_probability_targets_equal_class_labels,
    binary_cross_entropy_with_logits_is_stable_for_large_logits,
    functional_wrappers_equal_the_methods,
);

// ----- bad input -----

type T = Tensor<NdArray<f64>>;

fn x43() -> T {
    T::zeros(&[4, 3])
}

#[test]
#[should_panic(
    expected = "cross_entropy: label 3 (row 1) is out of range for 3 classes (input [4, 3])"
)]
fn cross_entropy_rejects_a_label_out_of_range() {
    x43().cross_entropy(&[0, 3, 1, 1], Reduction::Mean);
}

#[test]
#[should_panic(
    expected = "cross_entropy: label 5 (row 2) is out of range for 3 classes (input [4, 3])"
)]
fn cross_entropy_with_options_rejects_a_label_out_of_range_that_is_not_ignored() {
    let options = CrossEntropyOptions::new(Reduction::Mean).ignore_index(7);
    x43().cross_entropy(&[0, 7, 5, 1], options);
}

#[test]
#[should_panic(
    expected = "cross_entropy: expects input of shape (batch, classes) and one label per row, got input [4, 3] and 3 labels"
)]
fn cross_entropy_rejects_a_label_count_mismatch() {
    let options = CrossEntropyOptions::new(Reduction::Sum).label_smoothing(0.1);
    x43().cross_entropy(&[0, 1, 2], options);
}

#[test]
#[should_panic(
    expected = "cross_entropy: weight of shape [2] must have one entry per class, 3 for input [4, 3]"
)]
fn cross_entropy_rejects_a_weight_of_the_wrong_length() {
    let options = CrossEntropyOptions::new(Reduction::Mean).weight(&T::ones(&[2]));
    x43().cross_entropy(&[0, 1, 2, 0], options);
}

#[test]
#[should_panic(expected = "cross_entropy: label_smoothing must be in [0, 1], got 1.5")]
fn cross_entropy_rejects_label_smoothing_above_one() {
    let options = CrossEntropyOptions::new(Reduction::Mean).label_smoothing(1.5);
    x43().cross_entropy(&[0, 1, 2, 0], options);
}

#[test]
#[should_panic(
    expected = "cross_entropy_probs: target of shape [4, 2] does not match input of shape [4, 3]"
)]
fn cross_entropy_probs_rejects_a_target_shape_mismatch() {
    x43().cross_entropy_probs(&T::zeros(&[4, 2]), Reduction::Mean);
}

#[test]
#[should_panic(
    expected = "cross_entropy_probs: ignore_index is not supported with probability targets"
)]
fn cross_entropy_probs_rejects_ignore_index() {
    let options = CrossEntropyOptions::new(Reduction::Mean).ignore_index(0);
    x43().cross_entropy_probs(&x43(), options);
}

#[test]
#[should_panic(
    expected = "cross_entropy_probs: weight of shape [4] must have one entry per class, 3 for input [4, 3]"
)]
fn cross_entropy_probs_rejects_a_weight_of_the_wrong_length() {
    let options = CrossEntropyOptions::new(Reduction::Mean).weight(&T::ones(&[4]));
    x43().cross_entropy_probs(&x43(), options);
}

#[test]
#[should_panic(
    expected = "nll_loss: weight of shape [3, 1] must have one entry per class, 3 for input [4, 3]"
)]
fn nll_loss_rejects_a_weight_of_the_wrong_shape() {
    let options = NllLossOptions::new(Reduction::Mean).weight(&T::ones(&[3, 1]));
    x43().nll_loss(&[0, 1, 2, 0], options);
}

#[test]
#[should_panic(expected = "nll_loss: label 9 (row 0) is out of range for 3 classes (input [4, 3])")]
fn nll_loss_rejects_a_label_out_of_range() {
    x43().nll_loss(&[9, 1, 2, 0], Reduction::Sum);
}

#[test]
#[should_panic(
    expected = "binary_cross_entropy_with_logits: target of shape [3, 4] does not match input of shape [4, 3]"
)]
fn bce_with_logits_rejects_a_target_shape_mismatch() {
    x43().binary_cross_entropy_with_logits(&T::zeros(&[3, 4]), Reduction::Mean);
}

#[test]
#[should_panic(
    expected = "binary_cross_entropy_with_logits: pos_weight of shape [4] does not broadcast to the input's shape [4, 3]"
)]
fn bce_with_logits_rejects_a_pos_weight_that_does_not_broadcast() {
    let options = BceOptions::new(Reduction::Mean).pos_weight(&T::ones(&[4]));
    x43().binary_cross_entropy_with_logits(&x43(), options);
}

#[test]
#[should_panic(
    expected = "binary_cross_entropy_with_logits: weight of shape [2, 4, 3] does not broadcast to the input's shape [4, 3]"
)]
fn bce_with_logits_rejects_a_weight_larger_than_the_input() {
    let options = BceOptions::new(Reduction::Mean).weight(&T::ones(&[2, 4, 3]));
    x43().binary_cross_entropy_with_logits(&x43(), options);
}

#[test]
#[should_panic(
    expected = "binary_cross_entropy: every input element must be a probability in [0, 1], found 1.5"
)]
fn bce_rejects_an_input_outside_zero_one() {
    let p = T::from_f64(&[0.5, 1.5], &[2]);
    p.binary_cross_entropy(&T::zeros(&[2]), Reduction::Mean);
}

#[test]
#[should_panic(
    expected = "binary_cross_entropy: pos_weight is an option of binary_cross_entropy_with_logits only"
)]
fn bce_rejects_pos_weight() {
    let options = BceOptions::new(Reduction::Mean).pos_weight(&T::ones(&[3]));
    T::full(&[4, 3], 0.5).binary_cross_entropy(&x43(), options);
}

#[test]
#[should_panic(expected = "l1_loss: target of shape [4] does not match input of shape [4, 3]")]
fn l1_loss_rejects_a_target_shape_mismatch() {
    x43().l1_loss(&T::zeros(&[4]), Reduction::Mean);
}

#[test]
#[should_panic(expected = "mse_loss: target of shape [3, 4] does not match input of shape [4, 3]")]
fn mse_loss_rejects_a_target_shape_mismatch() {
    x43().mse_loss(&T::zeros(&[3, 4]));
}

#[test]
#[should_panic(expected = "smooth_l1_loss: beta must be non-negative, got -1")]
fn smooth_l1_loss_rejects_a_negative_beta() {
    x43().smooth_l1_loss(&x43(), -1.0, Reduction::Mean);
}

#[test]
#[should_panic(expected = "huber_loss: delta must be positive, got 0")]
fn huber_loss_rejects_a_zero_delta() {
    x43().huber_loss(&x43(), 0.0, Reduction::Mean);
}

#[test]
#[should_panic(expected = "kl_div: target of shape [12] does not match input of shape [4, 3]")]
fn kl_div_rejects_a_target_shape_mismatch() {
    x43().kl_div(&T::zeros(&[12]), KlDivReduction::BatchMean, false);
}
