//! Convolutional layers and models: Conv2d's PyTorch initialization and forward, the pooling and
//! Flatten modules, LeNet's and the CNN's `state_dict` names, shapes and dtypes as PyTorch has
//! them, their reprs, train/eval reaching every layer, and the whole state (buffers included)
//! through safetensors.

#[macro_use]
mod common;

use duograd::nn::models::{lenet, mnist_cnn as cnn};
use duograd::nn::{
    load_module_from_safetensors, module_to_safetensors, AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d,
    Buffer, Conv2d, Flatten, Forward, MaxPool2d, Module, Sequential,
};
use duograd::{Backend, Conv2dOptions, Element, Pool2dOptions, Tensor};
use rand::rngs::StdRng;
use rand::SeedableRng;
use safetensors::{Dtype, SafeTensors};

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

fn param_shapes<B: Backend>(m: &dyn Module<B>) -> Vec<(String, Vec<usize>)> {
    m.named_parameters()
        .into_iter()
        .map(|(n, p)| (n, p.shape().to_vec()))
        .collect()
}

fn buffer_shapes<B: Backend>(m: &dyn Module<B>) -> Vec<(String, Vec<usize>)> {
    m.named_buffers()
        .into_iter()
        .map(|(n, b)| (n, b.shape().to_vec()))
        .collect()
}

fn owned(list: &[(&str, &[usize])]) -> Vec<(String, Vec<usize>)> {
    list.iter()
        .map(|(n, s)| (n.to_string(), s.to_vec()))
        .collect()
}

fn float_dtype<B: Backend>() -> &'static str {
    if B::Elem::NAME == "f32" {
        "F32"
    } else {
        "F64"
    }
}

fn conv2d_init_is_pytorch_uniform_weight_then_bias<B: Backend>() {
    let conv = Conv2d::<B>::new(6, 16, 5, &mut rng(1));
    let bound = 1.0 / 150f64.sqrt();
    let (w, b) = (
        conv.weight.to_vec_f64(),
        conv.bias.as_ref().unwrap().to_vec_f64(),
    );
    assert_eq!(conv.weight.shape(), &[16, 6, 5, 5]);
    assert!(w.iter().chain(&b).all(|v| v.abs() <= bound));
    // The weight is drawn first (row-major), then the bias, from the caller's RNG.
    let mut r = rng(1);
    let want_w = Tensor::<B>::rand_uniform(&[16, 6, 5, 5], -bound, bound, &mut r);
    let want_b = Tensor::<B>::rand_uniform(&[16], -bound, bound, &mut r);
    assert_eq!(w, want_w.to_vec_f64());
    assert_eq!(b, want_b.to_vec_f64());

    // With groups, fan_in counts one group's input channels: 32 / 4 · 3 · 3 = 72.
    let options = Conv2dOptions::new().groups(4);
    let grouped = Conv2d::<B>::with_options(32, 64, [3, 3], options, true, &mut rng(2));
    assert_eq!(grouped.weight.shape(), &[64, 8, 3, 3]);
    let bound = 1.0 / 72f64.sqrt();
    let w = grouped.weight.to_vec_f64();
    let n = w.len() as f64;
    let mean = w.iter().sum::<f64>() / n;
    let var = w.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    let max = w.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    // U(-b, b): mean 0, variance b²/3, and the extremes reach close to b.
    assert!(
        max <= bound && max > 0.99 * bound,
        "max {max}, bound {bound}"
    );
    assert!(mean.abs() < 0.01 * bound, "mean {mean}");
    assert!(
        (var / (bound * bound / 3.0) - 1.0).abs() < 0.05,
        "var {var}"
    );

    let bare = Conv2d::<B>::with_options(3, 4, [2, 3], Conv2dOptions::new(), false, &mut rng(3));
    assert!(bare.bias.is_none());
    let names: Vec<String> = bare
        .named_parameters()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["weight"]);
    assert_eq!(
        (bare.in_channels(), bare.out_channels(), bare.kernel_size()),
        (3, 4, [2, 3])
    );
}

fn conv2d_forward_is_tensor_conv2d_with_its_parameters<B: Backend>() {
    let options = Conv2dOptions::new()
        .stride_hw([2, 1])
        .padding(1)
        .dilation(2)
        .groups(2);
    let conv = Conv2d::<B>::with_options(4, 6, [3, 2], options, true, &mut rng(4));
    let x = Tensor::<B>::randn(&[3, 4, 9, 8], 0.0, 1.0, &mut rng(5));
    let y = conv.forward(&x);
    let want = x.conv2d(&conv.weight, conv.bias.as_deref(), options);
    assert_eq!(y.shape(), want.shape());
    assert_eq!(y.to_vec_f64(), want.to_vec_f64());
    // One [C, H, W] image gives the batch's first output without the batch axis.
    let one = x.narrow(0, 1, 1).reshape_to(&[4, 9, 8]);
    let y1 = conv.forward(&one);
    assert_eq!(y1.shape(), &y.shape()[1..]);
    let per_image = y.numel() / 3;
    assert_eq!(
        y1.to_vec_f64(),
        y.to_vec_f64()[per_image..2 * per_image].to_vec()
    );
    // Gradients reach the weight and the bias.
    conv.forward(&x).sum().backward().unwrap();
    assert!(conv.parameters().iter().all(|p| p.grad().is_some()));
}

fn pooling_and_flatten_modules_apply_their_tensor_ops<B: Backend>() {
    let x = Tensor::<B>::randn(&[2, 3, 7, 6], 0.0, 1.0, &mut rng(6));
    let same = |a: Tensor<B>, b: Tensor<B>| {
        assert_eq!(a.shape(), b.shape());
        assert_eq!(a.to_vec_f64(), b.to_vec_f64());
    };
    let options = Pool2dOptions::new_hw([3, 2]).stride(2).padding(1);
    same(
        MaxPool2d::with_options(options).forward(&x),
        x.max_pool2d(options),
    );
    same(
        MaxPool2d::new(2).forward(&x),
        x.max_pool2d(Pool2dOptions::new(2)),
    );
    same(
        AvgPool2d::with_options(options).forward(&x),
        x.avg_pool2d(options),
    );
    same(
        AvgPool2d::new(3).forward(&x),
        x.avg_pool2d(Pool2dOptions::new(3)),
    );
    same(
        AdaptiveAvgPool2d::new_hw([3, 2]).forward(&x),
        x.adaptive_avg_pool2d([3, 2]),
    );
    same(Flatten::new().forward(&x), x.reshape_to(&[2, 126]));
    same(
        Flatten::with_dims(0, 1).forward(&x),
        x.reshape_to(&[6, 7, 6]),
    );
    same(
        Flatten::with_dims(-2, -1).forward(&x),
        x.reshape_to(&[2, 3, 42]),
    );
    // Unbatched [C, H, W] inputs, as PyTorch's pooling modules take them.
    let image = x.narrow(0, 0, 1).reshape_to(&[3, 7, 6]);
    let pooled = MaxPool2d::new(2).forward(&image);
    assert_eq!(pooled.shape(), &[3, 3, 3]);
    let batched = x.max_pool2d(Pool2dOptions::new(2)).to_vec_f64();
    assert_eq!(pooled.to_vec_f64(), batched[..27].to_vec());
    assert_eq!(
        AdaptiveAvgPool2d::new(1).forward(&image).shape(),
        &[3, 1, 1]
    );
}

/// A `ReLU` followed by a `MaxPool2d` in a `Sequential` is evaluated as the pooling, then the
/// ReLU: the output and the input's gradient are those of the layers applied one by one, on
/// windows with ties, with no positive value, with a zero or a NaN, with padding.
fn relu_then_max_pool_in_a_sequential_equals_the_layers_one_by_one<B: Backend>() {
    let nan = f64::NAN;
    #[rustfmt::skip]
    let values = [
        1.0, 1.0, -2.0, -1.0, 0.0, 3.0,
        0.5, -3.0, -0.5, -4.0, 0.0, 3.0,
        -1.0, -1.0, 2.0, nan, -0.0, -1.0,
        -2.0, -1.0, 1.0, 2.0, 0.0, -0.0,
    ];
    // Two channels: the values, and their negation.
    let both: Vec<f64> = values.iter().chain(&values.map(|v| -v)).copied().collect();
    // The upstream gradient: varied, with an infinity (where the pooled value is 0 as well as
    // where it is positive).
    let upstream = |n: usize| -> Vec<f64> {
        (0..n)
            .map(|i| {
                if i % 5 == 2 {
                    f64::INFINITY
                } else {
                    i as f64 - 2.5
                }
            })
            .collect()
    };
    let same = |a: &[f64], b: &[f64], what: &str| {
        assert_eq!(a.len(), b.len(), "{what}");
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                x == y || x.is_nan() && y.is_nan(),
                "{what} [{i}]: {x} vs {y}"
            );
        }
    };
    for options in [
        Pool2dOptions::new(2),
        Pool2dOptions::new(3).stride(2).padding(1),
    ] {
        let model = Sequential::<B>::new()
            .with(duograd::nn::ReLU::new())
            .with(MaxPool2d::with_options(options));
        let x = Tensor::<B>::from_f64(&both, &[1, 2, 4, 6]).requires_grad_(true);
        let y = model.forward(&x);
        // The ReLU ran last: it is the output's op.
        assert_eq!(y.op_name(), Some("relu"));
        let g = Tensor::<B>::from_f64(&upstream(y.numel()), y.shape());
        (&y * &g).sum().backward().unwrap();

        let x1 = Tensor::<B>::from_f64(&both, &[1, 2, 4, 6]).requires_grad_(true);
        let y1 = x1.relu().max_pool2d(options);
        assert_eq!(y1.op_name(), Some("max_pool2d"));
        (&y1 * &g).sum().backward().unwrap();
        same(&y.to_vec_f64(), &y1.to_vec_f64(), "output");
        same(
            &x.grad().unwrap().to_vec_f64(),
            &x1.grad().unwrap().to_vec_f64(),
            "gradient",
        );
    }
}

/// PyTorch's `state_dict()` of `lenet` (keys in order, with shapes; all float32).
const LENET_STATE: &[(&str, &[usize])] = &[
    ("0.weight", &[6, 1, 5, 5]),
    ("0.bias", &[6]),
    ("3.weight", &[16, 6, 5, 5]),
    ("3.bias", &[16]),
    ("7.weight", &[120, 400]),
    ("7.bias", &[120]),
    ("9.weight", &[84, 120]),
    ("9.bias", &[84]),
    ("11.weight", &[10, 84]),
    ("11.bias", &[10]),
];

/// PyTorch's `state_dict()` of `cnn` (keys in order, with shapes); every `num_batches_tracked`
/// is an int64 scalar, everything else float32.
const CNN_STATE: &[(&str, &[usize])] = &[
    ("0.weight", &[32, 1, 3, 3]),
    ("0.bias", &[32]),
    ("1.weight", &[32]),
    ("1.bias", &[32]),
    ("1.running_mean", &[32]),
    ("1.running_var", &[32]),
    ("1.num_batches_tracked", &[]),
    ("4.weight", &[64, 32, 3, 3]),
    ("4.bias", &[64]),
    ("5.weight", &[64]),
    ("5.bias", &[64]),
    ("5.running_mean", &[64]),
    ("5.running_var", &[64]),
    ("5.num_batches_tracked", &[]),
    ("8.weight", &[128, 64, 3, 3]),
    ("8.bias", &[128]),
    ("9.weight", &[128]),
    ("9.bias", &[128]),
    ("9.running_mean", &[128]),
    ("9.running_var", &[128]),
    ("9.num_batches_tracked", &[]),
    ("14.weight", &[128, 1152]),
    ("14.bias", &[128]),
    ("15.weight", &[128]),
    ("15.bias", &[128]),
    ("15.running_mean", &[128]),
    ("15.running_var", &[128]),
    ("15.num_batches_tracked", &[]),
    ("18.weight", &[10, 128]),
    ("18.bias", &[10]),
];

fn is_buffer(name: &str) -> bool {
    name.contains("running_") || name.ends_with("num_batches_tracked")
}

fn lenet_state_dict_is_pytorchs<B: Backend>() {
    let model = lenet::<B>(&mut rng(7));
    assert_eq!(param_shapes(&model), owned(LENET_STATE));
    assert!(model.named_buffers().is_empty());
    assert_eq!(model.num_parameters(), 61_706);
    let y = model.forward(&Tensor::zeros(&[3, 1, 28, 28]));
    assert_eq!(y.shape(), &[3, 10]);
}

/// Parameters and buffers each in PyTorch's order (`named_parameters()`, `named_buffers()`),
/// and together exactly PyTorch's `state_dict()` keys, shapes and dtypes, in the saved file too.
fn cnn_state_dict_is_pytorchs<B: Backend>() {
    let model = cnn::<B>(&mut rng(8), 0);
    let (params, buffers): (Vec<_>, Vec<_>) =
        CNN_STATE.iter().copied().partition(|(n, _)| !is_buffer(n));
    assert_eq!(param_shapes(&model), owned(&params));
    assert_eq!(buffer_shapes(&model), owned(&buffers));
    assert_eq!(model.num_parameters(), 242_250);
    for (name, b) in model.named_buffers() {
        let want = if name.ends_with("num_batches_tracked") {
            "I64"
        } else {
            float_dtype::<B>()
        };
        assert_eq!(b.dtype(), want, "{name}");
    }

    let bytes = module_to_safetensors(&model).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut names = st.names();
    names.sort_unstable();
    let mut want: Vec<&str> = CNN_STATE.iter().map(|(n, _)| *n).collect();
    want.sort_unstable();
    assert_eq!(names, want);
    for (name, shape) in CNN_STATE {
        let view = st.tensor(name).unwrap();
        assert_eq!(view.shape(), *shape, "{name}");
        let dtype = if name.ends_with("num_batches_tracked") {
            Dtype::I64
        } else if B::Elem::NAME == "f32" {
            Dtype::F32
        } else {
            Dtype::F64
        };
        assert_eq!(view.dtype(), dtype, "{name}");
    }
    let y = model.forward(&Tensor::randn(&[4, 1, 28, 28], 0.0, 1.0, &mut rng(9)));
    assert_eq!(y.shape(), &[4, 10]);
}

/// `eval()` and `train(true)` reach every layer of nested sequences: in evaluation the output
/// is deterministic and the running statistics stay put; in training dropout draws new masks
/// and batch norm counts batches.
fn train_and_eval_switch_dropout_and_batch_norm_everywhere<B: Backend>() {
    let mut model = Sequential::<B>::new()
        .with(cnn::<B>(&mut rng(10), 1))
        .with(Sequential::new().with(duograd::nn::Dropout::new(0.5, 2)));
    let all_training = |m: &Sequential<B>, want: bool| {
        let mut stack: Vec<&dyn Module<B>> = vec![m];
        let mut n = 0;
        while let Some(m) = stack.pop() {
            assert_eq!(m.is_training(), want, "{}", m.type_name());
            n += 1;
            stack.extend(m.children().into_iter().map(|(_, c)| c));
        }
        n
    };
    assert_eq!(all_training(&model, true), 23);
    let x = Tensor::<B>::randn(&[6, 1, 28, 28], 0.0, 1.0, &mut rng(11));
    let counts = |m: &Sequential<B>| -> Vec<i64> {
        m.buffers()
            .iter()
            .filter_map(|b| b.as_counter().map(|c| c.get()))
            .collect()
    };

    model.eval();
    all_training(&model, false);
    let stats: Vec<Vec<f64>> = model.buffers().iter().map(Buffer::to_vec_f64).collect();
    let (a, b) = (model.forward(&x), model.forward(&x));
    assert_eq!(a.to_vec_f64(), b.to_vec_f64());
    assert_eq!(counts(&model), [0, 0, 0, 0]);
    let after: Vec<Vec<f64>> = model.buffers().iter().map(Buffer::to_vec_f64).collect();
    assert_eq!(after, stats);

    model.train(true);
    all_training(&model, true);
    let (c, d) = (model.forward(&x), model.forward(&x));
    assert_ne!(c.to_vec_f64(), d.to_vec_f64());
    assert_eq!(counts(&model), [2, 2, 2, 2]);
    let moved: Vec<Vec<f64>> = model.buffers().iter().map(Buffer::to_vec_f64).collect();
    assert_ne!(moved, stats);
}

/// Parameters, running statistics and batch counts all come back from the file: the loaded
/// model computes bit-identical outputs.
fn cnn_state_round_trips_through_safetensors<B: Backend>() {
    let mut trained = cnn::<B>(&mut rng(12), 3);
    for seed in 0..3 {
        trained.forward(&Tensor::randn(&[4, 1, 28, 28], 0.5, 2.0, &mut rng(seed)));
    }
    let bytes = module_to_safetensors(&trained).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let count = st.tensor("5.num_batches_tracked").unwrap();
    assert_eq!(
        (count.dtype(), count.shape(), count.data()),
        (Dtype::I64, &[] as &[usize], &3i64.to_le_bytes()[..])
    );

    let mut fresh = cnn::<B>(&mut rng(13), 4);
    load_module_from_safetensors(&fresh, &bytes).unwrap();
    let state = |m: &Sequential<B>| -> Vec<Vec<f64>> {
        let params = m.parameters().into_iter().map(|p| p.to_vec_f64());
        params
            .chain(m.buffers().iter().map(Buffer::to_vec_f64))
            .collect()
    };
    assert_eq!(state(&fresh), state(&trained));
    trained.eval();
    fresh.eval();
    let x = Tensor::<B>::randn(&[2, 1, 28, 28], 0.0, 1.0, &mut rng(14));
    assert_eq!(
        fresh.forward(&x).to_vec_f64(),
        trained.forward(&x).to_vec_f64()
    );
}

fn models_print_like_pytorch<B: Backend>() {
    let model = cnn::<B>(&mut rng(15), 0);
    let bn2d = |c: usize| {
        format!(
            "BatchNorm2d({c}, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)  \
             # {} parameters",
            2 * c
        )
    };
    let pool = "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)";
    let want = [
        "Sequential(".to_string(),
        "  (0): Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))  # 320 parameters".into(),
        format!("  (1): {}", bn2d(32)),
        "  (2): ReLU()".into(),
        format!("  (3): {pool}"),
        "  (4): Conv2d(32, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))  # 18,496 parameters".into(),
        format!("  (5): {}", bn2d(64)),
        "  (6): ReLU()".into(),
        format!("  (7): {pool}"),
        "  (8): Conv2d(64, 128, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))  # 73,856 parameters".into(),
        format!("  (9): {}", bn2d(128)),
        "  (10): ReLU()".into(),
        format!("  (11): {pool}"),
        "  (12): Flatten(start_dim=1, end_dim=-1)".into(),
        "  (13): Dropout(p=0.25, inplace=False)".into(),
        "  (14): Linear(in_features=1152, out_features=128, bias=True)  # 147,584 parameters".into(),
        "  (15): BatchNorm1d(128, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)  # 256 parameters".into(),
        "  (16): ReLU()".into(),
        "  (17): Dropout(p=0.25, inplace=False)".into(),
        "  (18): Linear(in_features=128, out_features=10, bias=True)  # 1,290 parameters".into(),
        ")".into(),
        "Total parameters: 242,250".into(),
    ];
    assert_eq!(model.to_string(), want.join("\n"));

    // Non-default settings appear as PyTorch shows them.
    let options = Conv2dOptions::new()
        .stride(2)
        .padding_hw([1, 0])
        .dilation(3)
        .groups(2);
    let conv = Conv2d::<B>::with_options(4, 8, [3, 1], options, false, &mut rng(16));
    assert_eq!(
        conv.extra_repr(),
        "4, 8, kernel_size=(3, 1), stride=(2, 2), padding=(1, 0), dilation=(3, 3), groups=2, \
         bias=False"
    );
    let bn = BatchNorm2d::<B>::new(5)
        .eps(1e-3)
        .cumulative_average()
        .affine(false)
        .track_running_stats(false);
    assert_eq!(
        bn.to_string(),
        "BatchNorm2d(5, eps=0.001, momentum=None, affine=False, track_running_stats=False)\n\
         Total parameters: 0"
    );
    let pool = MaxPool2d::with_options(Pool2dOptions::new_hw([3, 2]).stride(1).padding(1));
    assert_eq!(
        pool.to_string(),
        "MaxPool2d(kernel_size=(3, 2), stride=1, padding=1, dilation=1, ceil_mode=False)"
    );
    assert_eq!(
        AdaptiveAvgPool2d::new_hw([2, 3]).to_string(),
        "AdaptiveAvgPool2d(output_size=(2, 3))"
    );
}

backend_tests!(
    f32 and f64:
    conv2d_init_is_pytorch_uniform_weight_then_bias,
    conv2d_forward_is_tensor_conv2d_with_its_parameters,
    pooling_and_flatten_modules_apply_their_tensor_ops,
    relu_then_max_pool_in_a_sequential_equals_the_layers_one_by_one,
    lenet_state_dict_is_pytorchs,
    cnn_state_dict_is_pytorchs,
    train_and_eval_switch_dropout_and_batch_norm_everywhere,
    cnn_state_round_trips_through_safetensors,
    models_print_like_pytorch,
);

type Nd = duograd::backends::NdArray<f64>;

#[test]
#[should_panic(
    expected = "Conv2d: expects an input [N, 3, H, W] or [3, H, W], got shape [2, 1, 8, 8]"
)]
fn conv2d_names_the_expected_channels_on_mismatch() {
    let conv = Conv2d::<Nd>::new(3, 4, 3, &mut rng(0));
    conv.forward(&Tensor::zeros(&[2, 1, 8, 8]));
}

#[test]
#[should_panic(expected = "Conv2d: groups (3) must divide in_channels (4) and out_channels (6)")]
fn conv2d_rejects_groups_that_do_not_divide_the_channels() {
    let options = Conv2dOptions::new().groups(3);
    Conv2d::<Nd>::with_options(4, 6, [3, 3], options, true, &mut rng(0));
}

#[test]
#[should_panic(
    expected = "MaxPool2d: expects an input [N, C, H, W] or [C, H, W], got shape [4, 4]"
)]
fn pooling_names_the_layer_on_a_wrong_rank() {
    Forward::<Nd>::forward(&MaxPool2d::new(2), &Tensor::zeros(&[4, 4]));
}
