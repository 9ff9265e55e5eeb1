//! The op test cases: every case in `tests/fixtures/ops.json` (written by
//! `scripts/torch_reference.py`) with the same expression in duograd. The gradcheck,
//! cross-backend and PyTorch-parity suites all run these cases.

use std::collections::HashMap;

use duograd::{
    Backend, BceOptions, Conv2dOptions, CrossEntropyOptions, KlDivReduction, NllLossOptions,
    Pool2dOptions, Reduction, Tensor,
};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde::Deserialize;

use super::TensorData;

/// Integer side inputs of a case (index arrays, labels).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Indices {
    #[serde(default)]
    pub rows: Vec<usize>,
    #[serde(default)]
    pub cols: Vec<usize>,
    #[serde(default)]
    pub index: serde_json::Value,
    #[serde(default)]
    pub labels: Vec<usize>,
}

/// One case of `ops.json`.
#[derive(Clone, Debug, Deserialize)]
pub struct OpCase {
    pub name: String,
    pub description: String,
    pub inputs: Vec<TensorData>,
    pub output: TensorData,
    pub grad_output: TensorData,
    pub grads: Vec<Option<TensorData>>,
    #[serde(default)]
    pub indices: Indices,
}

/// `ops.json`.
#[derive(Clone, Debug, Deserialize)]
pub struct OpsFixture {
    pub torch_version: String,
    pub cases: Vec<OpCase>,
    pub second_order: Vec<serde_json::Value>,
}

pub fn ops_fixture() -> OpsFixture {
    super::load_fixture("ops.json")
}

fn flat_usize(v: &serde_json::Value) -> Vec<usize> {
    match v {
        serde_json::Value::Array(items) => items.iter().flat_map(flat_usize).collect(),
        serde_json::Value::Number(n) => {
            vec![n.as_u64().expect("index is a non-negative integer") as usize]
        }
        _ => vec![],
    }
}

fn nested_shape(v: &serde_json::Value) -> Vec<usize> {
    match v {
        serde_json::Value::Array(items) => {
            let mut s = vec![items.len()];
            if let Some(first) = items.first() {
                s.extend(nested_shape(first));
            }
            s
        }
        _ => vec![],
    }
}

fn linear<B: Backend>(x: &Tensor<B>, w: &Tensor<B>, b: &Tensor<B>) -> Tensor<B> {
    x.matmul_t(w, false, true) + b
}

/// The duograd expression of case `name` (the same expression the reference script gives
/// PyTorch).
///
/// # Panics
/// For an unknown case name: every fixture case must be mapped here.
pub fn apply<B: Backend>(name: &str, x: &[Tensor<B>], idx: &Indices) -> Tensor<B> {
    let labels = &idx.labels;
    match name {
        "neg" => -&x[0],
        "exp" => x[0].exp(),
        "log" => x[0].log(),
        "sqrt" => x[0].sqrt(),
        "tanh" => x[0].tanh(),
        "sigmoid" => x[0].sigmoid(),
        "relu" => x[0].relu(),
        "abs" => x[0].abs(),
        "pow_3" => x[0].powf(3.0),
        "pow_half" => x[0].powf(0.5),
        "pow_neg" => x[0].powf(-1.5),
        "clamp_min_0" => x[0].clamp_min(0.0),
        "square" => &x[0] * &x[0],
        "add" | "add_broadcast" | "add_scalar_tensor" => &x[0] + &x[1],
        "sub" | "sub_broadcast" => &x[0] - &x[1],
        "mul" | "mul_broadcast" => &x[0] * &x[1],
        "div" | "div_broadcast" => &x[0] / &x[1],
        "scalar_add" => &x[0] + 2.5,
        "scalar_rsub" => 2.0 - &x[0],
        "scalar_mul" => 3.0 * &x[0],
        "scalar_div" => &x[0] / 4.0,
        "scalar_rdiv" => 2.0 / &x[0],
        "maximum" => x[0].maximum(&x[1]),
        "minimum" => x[0].minimum(&x[1]),
        "reshape" => x[0].reshape(&[4, 6]),
        "reshape_infer" => x[0].reshape(&[-1, 4]),
        "permute" => x[0].permute(&[2, 0, 1]),
        "transpose" => x[0].t(),
        "expand" => x[0].expand(&[2, 3, 4]),
        "sum_all" => x[0].sum(),
        "sum_dim1_keepdim" => x[0].sum_dim(1, true),
        "sum_dims02" => x[0].sum_dims(&[0, 2], false),
        "mean_all" => x[0].mean(),
        "mean_dim0" => x[0].mean_dim(0, false),
        "max_dim1" => x[0].max_dim(1, false),
        "max_all" => x[0].max(),
        "softmax" | "softmax_large" => x[0].softmax(-1),
        "log_softmax" => x[0].log_softmax(1),
        "index_pairs" => x[0].index(&[&idx.rows, &idx.cols]),
        "index_select" => x[0].index_select(0, &flat_usize(&idx.index)),
        "gather" => x[0].gather(1, &flat_usize(&idx.index), &nested_shape(&idx.index)),
        "matmul" => x[0].matmul(&x[1]),
        "matmul_at" => x[0].t().matmul(&x[1]),
        "matmul_bt" => x[0].matmul(&x[1].t()),
        "linear" => x[0].matmul_bias(&x[1], &x[2], false, true),
        "addmm_at" => x[0].matmul_bias(&x[1], &x[2], true, false),
        "stack" => Tensor::stack(&[&x[0], &x[1]], 1),
        "cat" => Tensor::cat(&[&x[0], &x[1]], 0),
        "narrow" => x[0].narrow(1, 1, 3),
        "scatter_add" => x[0]
            .scatter_add_flat(&[6], flat_usize(&idx.index).into())
            .reshape(&[2, 3]),
        "cross_entropy_mean" | "cross_entropy_extreme" => {
            x[0].cross_entropy(labels, Reduction::Mean)
        }
        "cross_entropy_sum" => x[0].cross_entropy(labels, Reduction::Sum),
        "cross_entropy_none" => x[0].cross_entropy(labels, Reduction::None),
        "mse_loss" => x[0].mse_loss(&x[1]),
        "nll_loss" => x[0].log_softmax(1).nll_loss(labels, Reduction::Mean),
        "mlp_cross_entropy" => {
            let h = linear(&x[0], &x[1], &x[2]).relu();
            linear(&h, &x[3], &x[4]).cross_entropy(labels, Reduction::Mean)
        }
        "tanh_mlp_mse" => {
            let h = linear(&x[0], &x[1], &x[2]).tanh();
            linear(&h, &x[3], &x[4]).mse_loss(&x[5])
        }
        "conv2d" | "conv2d_kernel2x3" | "conv2d_1x1" => {
            x[0].conv2d(&x[1], Some(&x[2]), Conv2dOptions::new())
        }
        "conv2d_stride2_pad1" => x[0].conv2d(
            &x[1],
            Some(&x[2]),
            Conv2dOptions::new().stride(2).padding(1),
        ),
        "conv2d_dilation2_pad2_nobias" => {
            x[0].conv2d(&x[1], None, Conv2dOptions::new().dilation(2).padding(2))
        }
        "conv2d_groups2_stride21_pad10" => x[0].conv2d(
            &x[1],
            Some(&x[2]),
            Conv2dOptions::new()
                .groups(2)
                .stride_hw([2, 1])
                .padding_hw([1, 0]),
        ),
        "conv2d_one_channel_pad2" => {
            x[0].conv2d(&x[1], Some(&x[2]), Conv2dOptions::new().padding(2))
        }
        "conv2d_stride3_kernel2" => x[0].conv2d(&x[1], Some(&x[2]), Conv2dOptions::new().stride(3)),
        "conv2d_depthwise" => x[0].conv2d(
            &x[1],
            Some(&x[2]),
            Conv2dOptions::new().padding(1).groups(3),
        ),
        "max_pool2d" | "max_pool2d_ties" => x[0].max_pool2d(Pool2dOptions::new(2)),
        "max_pool2d_k3_s2_p1" | "max_pool2d_ties_overlapping" => {
            x[0].max_pool2d(Pool2dOptions::new(3).stride(2).padding(1))
        }
        "max_pool2d_kernel2x3" => x[0].max_pool2d(Pool2dOptions::new_hw([2, 3]).stride_hw([1, 2])),
        "avg_pool2d" => x[0].avg_pool2d(Pool2dOptions::new(2)),
        "avg_pool2d_k3_s2_p1" => x[0].avg_pool2d(Pool2dOptions::new(3).stride(2).padding(1)),
        "adaptive_avg_pool2d_1x1" => x[0].adaptive_avg_pool2d([1, 1]),
        "adaptive_avg_pool2d_3x2" => x[0].adaptive_avg_pool2d([3, 2]),
        "matmul_batched"
        | "matmul_batched_by_2d"
        | "matmul_2d_by_batched"
        | "matmul_broadcast_batch" => x[0].matmul(&x[1]),
        "flatten_from_1" => x[0].flatten(1, -1),
        "flatten_0_1" => x[0].flatten(0, 1),
        "squeeze" | "squeeze_not_size_one" => x[0].squeeze(1),
        "squeeze_negative_dim" => x[0].squeeze(-1),
        "unsqueeze" => x[0].unsqueeze(1),
        "unsqueeze_negative_dim" => x[0].unsqueeze(-1),
        "batch_norm_train_4d" | "batch_norm_train_3d" | "batch_norm_train_2d" => {
            x[0].batch_norm(None, None, Some(&x[1]), Some(&x[2]), true, 0.1, 1e-5)
        }
        "layer_norm_affine" => x[0].layer_norm(&[4], Some(&x[1]), Some(&x[2]), 1e-5),
        "layer_norm_2d_no_affine" => x[0].layer_norm(&[2, 5], None, None, 1e-3),
        "layer_norm_weight_only" => x[0].layer_norm(&[6], Some(&x[1]), None, 1e-5),
        "embedding_padding" | "embedding" => x[0].embedding(
            &flat_usize(&idx.index),
            &nested_shape(&idx.index),
            (name == "embedding_padding").then_some(0),
        ),
        "batch_norm_train_no_affine" => x[0].batch_norm(None, None, None, None, true, 0.1, 1e-5),
        "batch_norm_train_running_stats" => x[0].batch_norm(
            Some(&x[1]),
            Some(&x[2]),
            Some(&x[3]),
            Some(&x[4]),
            true,
            0.1,
            1e-5,
        ),
        "batch_norm_eval" => x[0].batch_norm(
            Some(&x[1]),
            Some(&x[2]),
            Some(&x[3]),
            Some(&x[4]),
            false,
            0.1,
            1e-5,
        ),
        "lenet_like" => {
            let h = x[0]
                .conv2d(&x[1], Some(&x[2]), Conv2dOptions::new().padding(1))
                .relu()
                .max_pool2d(Pool2dOptions::new(2));
            linear(&h.flatten(1, -1), &x[3], &x[4]).cross_entropy(labels, Reduction::Mean)
        }
        "unfold" => x[0].unfold(
            [2, 3],
            Conv2dOptions::new()
                .dilation_hw([1, 2])
                .padding(1)
                .stride_hw([2, 1]),
        ),
        "fold" => x[0].fold([4, 5], [2, 2], Conv2dOptions::new()),
        "fold_stride2_pad1" => x[0].fold([5, 4], [3, 3], Conv2dOptions::new().padding(1).stride(2)),
        "log1p" => x[0].log1p(),
        "expm1" => x[0].expm1(),
        "sin" => x[0].sin(),
        "cos" => x[0].cos(),
        "erf" => x[0].erf(),
        "gelu" => x[0].gelu(),
        "gelu_tanh" => x[0].gelu_tanh(),
        "silu" => x[0].silu(),
        "leaky_relu" => x[0].leaky_relu(0.1),
        "elu" => x[0].elu(1.3),
        "softplus" => x[0].softplus(1.0, 20.0),
        "softplus_beta2_threshold3" => x[0].softplus(2.0, 3.0),
        "reciprocal" => x[0].reciprocal(),
        "pow_tensor" | "pow_tensor_zero_base" => x[0].pow(&x[1]),
        "clamp" => x[0].clamp(-0.5, 0.8),
        "clamp_crossed" => x[0].clamp(1.0, -1.0),
        "clamp_max" => x[0].clamp_max(0.3),
        "where" | "where_mask_full" => Tensor::where_(&x[0], &x[1], &x[2]),
        "masked_fill" => x[0].masked_fill(&x[1], -2.5),
        "comparison_masks" => {
            let (a, b) = (&x[0], &x[1]);
            let masks = a.eq(b)
                + a.ne(b).mul_scalar(2.0)
                + a.lt(b).mul_scalar(4.0)
                + a.le(b).mul_scalar(8.0)
                + a.gt(b).mul_scalar(16.0)
                + a.ge(b).mul_scalar(32.0);
            a * &masks
        }
        "comparison_masks_scalar" => {
            let a = &x[0];
            let masks = a.eq_scalar(0.5)
                + a.ne_scalar(0.5).mul_scalar(2.0)
                + a.lt_scalar(0.5).mul_scalar(4.0)
                + a.le_scalar(0.5).mul_scalar(8.0)
                + a.gt_scalar(0.5).mul_scalar(16.0)
                + a.ge_scalar(0.5).mul_scalar(32.0);
            a * &masks
        }
        "min_dim1" => x[0].min_dim(1, false),
        "min_dim1_with_indices" => {
            let (values, indices) = x[0].min_dim_with_indices(1, false);
            values + indices.mul_scalar(10.0)
        }
        "max_dim2_with_indices_keepdim" => {
            let (values, indices) = x[0].max_dim_with_indices(2, true);
            values + indices.mul_scalar(10.0)
        }
        "min_all" => x[0].min(),
        "prod_dim1" => x[0].prod_dim(1, false),
        "prod_all" => x[0].prod(),
        "prod_dim0_keepdim" => x[0].prod_dim(0, true),
        "var_dim1" => x[0].var_dims(&[1], 1.0, false),
        "var_all_correction0" => x[0].var(0.0),
        "var_dims02_keepdim_correction2" => x[0].var_dims(&[0, 2], 2.0, true),
        "std_dim1" => x[0].std_dims(&[1], 1.0, false),
        "std_all_correction0" => x[0].std(0.0),
        "norm_p1" => x[0].norm(1.0),
        "norm_p2_dim1" => x[0].norm_dims(2.0, &[1], false),
        "norm_p2_all" => x[0].norm(2.0),
        "norm_inf" => x[0].norm(f64::INFINITY),
        "norm_inf_dim1_keepdim" => x[0].norm_dims(f64::INFINITY, &[1], true),
        "cumsum_dim1" => x[0].cumsum(1),
        "cumsum_dim0" => x[0].cumsum(0),
        "repeat" => x[0].repeat(&[2, 1, 2]),
        "repeat_1d" => x[0].repeat(&[2, 2]),
        "unsqueeze_front" => x[0].unsqueeze(-3),
        "slice_step2" => x[0].slice(1, 1, 6, 2),
        "slice_negative_start" => x[0].slice(0, -4, isize::MAX, 3),
        "slice_step1" => x[0].slice(1, -4, -1, 1),
        "split" | "chunk" => {
            let (pieces, dim) = if name == "split" {
                (x[0].split(3, 0), 0)
            } else {
                (x[0].chunk(4, 1), 1)
            };
            let scaled: Vec<Tensor<B>> = pieces
                .iter()
                .enumerate()
                .map(|(i, p)| p.mul_scalar(i as f64 + 1.0))
                .collect();
            Tensor::cat(&scaled.iter().collect::<Vec<_>>(), dim)
        }
        "split_sizes" => {
            let p = x[0].split_sizes(&[1, 4], 1);
            Tensor::cat(&[&p[1].mul_scalar(2.0), &p[0]], 1)
        }
        "index_add" => x[0].index_add(0, &flat_usize(&idx.index), &x[1]),
        "index_add_dim1" => x[0].index_add(1, &flat_usize(&idx.index), &x[1]),
        "scatter_add_dim1" | "scatter_add_dim0" => {
            let dim = if name == "scatter_add_dim1" { 1 } else { 0 };
            let index = flat_usize(&idx.index);
            x[0].scatter_add(dim, &index, &nested_shape(&idx.index), &x[1])
        }
        "one_hot" => &x[0] * &Tensor::one_hot(labels, 4),
        einsum if einsum.starts_with("einsum_") => {
            Tensor::einsum(einsum_equation(einsum), &x.iter().collect::<Vec<_>>())
        }
        other => loss_case(other, x, labels),
    }
}

/// The ignore_index of the loss cases whose labels include it (outside the 4 classes).
const IGNORED: usize = 7;

/// The duograd expression of a loss case (`build_loss_cases` in the reference script).
fn loss_case<B: Backend>(name: &str, x: &[Tensor<B>], labels: &[usize]) -> Tensor<B> {
    use Reduction::{Mean, None, Sum};
    let ce = CrossEntropyOptions::<B>::new;
    let bce = BceOptions::<B>::new;
    match name {
        "ce_weight_mean" => x[0].cross_entropy(labels, ce(Mean).weight(&x[1])),
        "ce_weight_sum" => x[0].cross_entropy(labels, ce(Sum).weight(&x[1])),
        "ce_ignore_index_mean" => x[0].cross_entropy(labels, ce(Mean).ignore_index(IGNORED)),
        "ce_weight_ignore_in_range_none" => {
            x[0].cross_entropy(labels, ce(None).weight(&x[1]).ignore_index(3))
        }
        "ce_weight_ignore_mean" => {
            x[0].cross_entropy(labels, ce(Mean).weight(&x[1]).ignore_index(IGNORED))
        }
        "ce_label_smoothing_mean" => x[0].cross_entropy(labels, ce(Mean).label_smoothing(0.2)),
        "ce_smoothing_weight_ignore_mean" => x[0].cross_entropy(
            labels,
            ce(Mean)
                .weight(&x[1])
                .ignore_index(IGNORED)
                .label_smoothing(0.1),
        ),
        "ce_smoothing_weight_sum" => {
            x[0].cross_entropy(labels, ce(Sum).weight(&x[1]).label_smoothing(0.3))
        }
        "ce_smoothing_ignore_none" => {
            x[0].cross_entropy(labels, ce(None).ignore_index(IGNORED).label_smoothing(0.25))
        }
        "ce_probs_mean" => x[0].cross_entropy_probs(&x[1], Mean),
        "ce_probs_weight_smoothing_none" => {
            x[0].cross_entropy_probs(&x[1], ce(None).weight(&x[2]).label_smoothing(0.2))
        }
        "ce_probs_weight_sum" => x[0].cross_entropy_probs(&x[1], ce(Sum).weight(&x[2])),
        "nll_weight_ignore_mean" => x[0].log_softmax(1).nll_loss(
            labels,
            NllLossOptions::new(Mean)
                .weight(&x[1])
                .ignore_index(IGNORED),
        ),
        "nll_weight_sum" => x[0].nll_loss(labels, NllLossOptions::new(Sum).weight(&x[1])),
        "bce_logits_mean" => x[0].binary_cross_entropy_with_logits(&x[1], Mean),
        "bce_logits_weight_pos_weight_none" => {
            x[0].binary_cross_entropy_with_logits(&x[1], bce(None).weight(&x[2]).pos_weight(&x[3]))
        }
        "bce_logits_extreme_sum" => {
            x[0].binary_cross_entropy_with_logits(&x[1], bce(Sum).pos_weight(&x[2]))
        }
        "bce_mean" => x[0].binary_cross_entropy(&x[1], Mean),
        "bce_weight_none" => x[0].binary_cross_entropy(&x[1], bce(None).weight(&x[2])),
        "bce_clamped_sum" => x[0].binary_cross_entropy(&x[1], Sum),
        "mse_sum" => x[0].mse_loss_with(&x[1], Sum),
        "mse_none" => x[0].mse_loss_with(&x[1], None),
        "l1_mean" => x[0].l1_loss(&x[1], Mean),
        "l1_sum_kinks" => x[0].l1_loss(&x[1], Sum),
        "smooth_l1_mean" => x[0].smooth_l1_loss(&x[1], 0.5, Mean),
        "smooth_l1_kinks_none" => x[0].smooth_l1_loss(&x[1], 1.0, None),
        "smooth_l1_beta0_sum" => x[0].smooth_l1_loss(&x[1], 0.0, Sum),
        "huber_mean" => x[0].huber_loss(&x[1], 0.8, Mean),
        "huber_kinks_sum" => x[0].huber_loss(&x[1], 1.5, Sum),
        "kl_div_batchmean" => x[0]
            .log_softmax(1)
            .kl_div(&x[1], KlDivReduction::BatchMean, false),
        "kl_div_mean" => x[0].kl_div(&x[1], Mean, false),
        "kl_div_log_target_sum" => x[0].kl_div(&x[1], Sum, true),
        "kl_div_log_target_none" => x[0].kl_div(&x[1], None, true),
        other => panic!(
            "no duograd expression for fixture case '{other}': add it to tests/common/cases.rs"
        ),
    }
}

/// The equation of an einsum case (`EINSUM_CASES` in the reference script).
fn einsum_equation(name: &str) -> &'static str {
    match name {
        "einsum_matmul" => "ij,jk->ik",
        "einsum_batched_matmul" => "bij,bjk->bik",
        "einsum_diagonal" => "ii->i",
        "einsum_trace" => "ii->",
        "einsum_column_sums" => "ij->j",
        "einsum_dot" => "i,i->",
        "einsum_outer" => "i,j->ij",
        "einsum_transpose" => "ij->ji",
        "einsum_implicit" => "ij,jk",
        "einsum_attention_scores" => "bhqd,bhkd->bhqk",
        "einsum_sum_then_contract" => "ijk,jl->il",
        "einsum_chain" => "ij,jk,kl->il",
        "einsum_batch_diagonal" => "bii->bi",
        "einsum_bilinear" => "bn,anm,bm->ba",
        "einsum_hadamard" => "ij,ij->ij",
        "einsum_row_dots" => "ij,ij->i",
        "einsum_unused_letter_summed" => "ij,jk->",
        "einsum_ellipsis_transpose" => "...ij->...ji",
        "einsum_ellipsis_broadcast_matmul" => "...ij,...jk",
        "einsum_ellipsis_right_aligned" => "bij,...jk->...ik",
        "einsum_size1_broadcast" => "ij,jk->ik",
        other => panic!("no equation for einsum case '{other}'"),
    }
}

/// Where a case's random inputs must lie for the op to be smooth there.
fn domain(case: &str, input: usize) -> Domain {
    match (case, input) {
        ("log" | "sqrt" | "pow_half" | "pow_neg" | "log1p", 0) => Domain::Positive,
        ("pow_tensor" | "pow_tensor_zero_base", 0) => Domain::Positive,
        ("reciprocal", 0) => Domain::AwayFromZero,
        ("where" | "where_mask_full", 0) | ("masked_fill", 1) => Domain::Mask,
        ("div" | "div_broadcast", 1) | ("scalar_rdiv", 0) => Domain::AwayFromZero,
        // A running variance, under a square root.
        ("batch_norm_eval" | "batch_norm_train_running_stats", 2) => Domain::Positive,
        // Probabilities strictly inside (0, 1).
        ("bce_mean" | "bce_weight_none" | "bce_clamped_sum", 0) => Domain::Probability,
        // Class weights, probabilities, element weights and targets under a logarithm.
        (c, 1..) if c.starts_with("ce_") || c.starts_with("nll_") => Domain::Positive,
        ("bce_logits_weight_pos_weight_none", 2 | 3) | ("bce_logits_extreme_sum", 2) => {
            Domain::Positive
        }
        ("bce_weight_none", 2) | ("kl_div_batchmean" | "kl_div_mean", 1) => Domain::Positive,
        _ => Domain::Normal,
    }
}

enum Domain {
    Normal,
    Positive,
    AwayFromZero,
    /// 0 or 1 (a condition or mask input).
    Mask,
    Probability,
}

/// Fresh random inputs with the fixture's shapes, inside each op's smooth domain (the fixture's
/// own inputs sit on kinks and ties on purpose). Inputs the fixture marks as not differentiable
/// do not require grad.
pub fn random_inputs<B: Backend>(case: &OpCase, seed: u64) -> Vec<Tensor<B>> {
    let mut rng = StdRng::seed_from_u64(seed);
    case.inputs
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let data: Vec<f64> = (0..spec.data.len())
                .map(|_| {
                    let z: f64 = rng.sample(rand_distr::StandardNormal);
                    match domain(&case.name, i) {
                        Domain::Normal => z,
                        Domain::Positive => 0.5 + z.abs(),
                        Domain::AwayFromZero => z.signum() * (0.5 + z.abs()),
                        Domain::Mask => f64::from(u8::from(z > 0.0)),
                        Domain::Probability => 0.1 + 0.8 * rng.random::<f64>(),
                    }
                })
                .collect();
            Tensor::from_f64(&data, &spec.shape).requires_grad_(case.grads[i].is_some())
        })
        .collect()
}

/// The fixture's own inputs as leaves (requiring grad where the fixture has a gradient).
pub fn fixture_inputs<B: Backend>(case: &OpCase) -> Vec<Tensor<B>> {
    case.inputs
        .iter()
        .zip(&case.grads)
        .map(|(t, g)| t.to_tensor::<B>().requires_grad_(g.is_some()))
        .collect()
}

/// The same values as `inputs`, but stored non-contiguously where the backend can (a permuted
/// view of a permuted copy), to exercise kernels on strided storage.
pub fn permuted_views<B: Backend>(inputs: &[Tensor<B>]) -> Vec<Tensor<B>> {
    inputs
        .iter()
        .map(|t| {
            if t.rank() < 2 {
                return t.clone();
            }
            let reversed: Vec<usize> = (0..t.rank()).rev().collect();
            let transposed = B::from_vec(t.permute(&reversed).to_vec(), &{
                let mut s = t.shape().to_vec();
                s.reverse();
                s
            });
            let view = B::permute(&transposed, &reversed);
            Tensor::from_storage(view).requires_grad_(t.requires_grad())
        })
        .collect()
}

/// Output and input gradients of `sum(f(x) * grad_output)`.
pub fn forward_backward<B: Backend>(
    case: &OpCase,
    inputs: &[Tensor<B>],
    grad_output: &Tensor<B>,
) -> (Vec<f64>, Vec<Option<Vec<f64>>>) {
    let out = apply(&case.name, inputs, &case.indices);
    (&out * grad_output)
        .sum()
        .backward()
        .unwrap_or_else(|e| panic!("{}: backward failed: {e}", case.name));
    let grads = inputs
        .iter()
        .map(|t| {
            t.requires_grad()
                .then(|| t.grad().expect("leaf has a grad").to_vec_f64())
        })
        .collect();
    (out.to_vec_f64(), grads)
}

/// Cases that a suite skips, with the reason; the completeness test proves the remaining cases
/// still cover every registered op.
pub fn excluded_from_gradcheck() -> HashMap<&'static str, &'static str> {
    HashMap::from([(
        "embedding_padding",
        "padding_idx rows pass no gradient by definition (PyTorch's too), which finite \
         differences cannot see; the PyTorch parity test checks those zeros",
    )])
}
