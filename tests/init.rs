//! `nn::init`: fans and gains equal to PyTorch's (`tests/fixtures/init.json`), the statistics of
//! every random initializer over large tensors on both backends, truncation limits, in-place
//! semantics (version counter, no_grad), and errors for shapes without fans.

#[macro_use]
#[path = "common/mod.rs"]
mod common;

use duograd::nn::init::{self, calculate_gain, FanMode, InitError, Nonlinearity};
use duograd::nn::Parameter;
use duograd::{Backend, Tensor};
use rand::{rngs::StdRng, SeedableRng};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fans {
    shape: Vec<usize>,
    fan_in: usize,
    fan_out: usize,
    fan_in_mode: usize,
    fan_out_mode: usize,
}

#[derive(Deserialize)]
struct LowRank {
    shape: Vec<usize>,
    error: String,
}

#[derive(Deserialize)]
struct Gain {
    nonlinearity: String,
    param: Option<f64>,
    gain: f64,
}

#[derive(Deserialize)]
struct TruncNormal {
    mean: f64,
    std: f64,
    a: f64,
    b: f64,
    truncated_mean: f64,
    truncated_std: f64,
}

#[derive(Deserialize)]
struct InitFixture {
    torch_version: String,
    fans: Vec<Fans>,
    low_rank: Vec<LowRank>,
    gains: Vec<Gain>,
    trunc_normal: Vec<TruncNormal>,
}

fn fixture() -> InitFixture {
    let f: InitFixture = common::load_fixture("init.json");
    assert!(f.torch_version.starts_with("2.15"), "{}", f.torch_version);
    f
}

fn nonlinearity(name: &str) -> Nonlinearity {
    match name {
        "linear" => Nonlinearity::Linear,
        "conv1d" => Nonlinearity::Conv1d,
        "conv2d" => Nonlinearity::Conv2d,
        "conv3d" => Nonlinearity::Conv3d,
        "conv_transpose1d" => Nonlinearity::ConvTranspose1d,
        "conv_transpose2d" => Nonlinearity::ConvTranspose2d,
        "conv_transpose3d" => Nonlinearity::ConvTranspose3d,
        "sigmoid" => Nonlinearity::Sigmoid,
        "tanh" => Nonlinearity::Tanh,
        "relu" => Nonlinearity::Relu,
        "leaky_relu" => Nonlinearity::LeakyRelu,
        "selu" => Nonlinearity::Selu,
        other => panic!("no Nonlinearity for fixture name {other}"),
    }
}

#[test]
fn fans_match_pytorch_for_linear_conv_and_nd_weights() {
    for f in fixture().fans {
        let what = format!("shape {:?}", f.shape);
        assert_eq!(
            init::fan_in_and_fan_out(&f.shape),
            Ok((f.fan_in, f.fan_out)),
            "{what}"
        );
        assert_eq!(
            init::fan(&f.shape, FanMode::FanIn),
            Ok(f.fan_in_mode),
            "{what}"
        );
        assert_eq!(
            init::fan(&f.shape, FanMode::FanOut),
            Ok(f.fan_out_mode),
            "{what}"
        );
    }
}

#[test]
fn fans_of_fewer_than_two_dimensions_are_errors_as_in_pytorch() {
    let low_rank = fixture().low_rank;
    assert_eq!(low_rank.len(), 2);
    for case in low_rank {
        assert!(case.error.contains("fewer than 2 dimensions"));
        let err = init::fan_in_and_fan_out(&case.shape).unwrap_err();
        assert_eq!(
            err,
            InitError::FanOfLowRank {
                op: "fan_in_and_fan_out",
                shape: case.shape.clone()
            }
        );
        let message = err.to_string();
        assert!(
            message.contains("fewer than 2") && message.contains(&format!("{:?}", case.shape)),
            "{message}"
        );
    }
}

#[test]
fn initializers_needing_fans_reject_a_1d_tensor_and_leave_it_unchanged() {
    type B = duograd::backends::NdArray<f64>;
    let bias = Tensor::<B>::ones(&[5]);
    let mut rng = StdRng::seed_from_u64(0);
    let errors = [
        init::kaiming_uniform_(&bias, 0.0, FanMode::FanIn, Nonlinearity::Relu, &mut rng),
        init::kaiming_normal_(&bias, 0.0, FanMode::FanOut, Nonlinearity::Relu, &mut rng),
        init::xavier_uniform_(&bias, 1.0, &mut rng),
        init::xavier_normal_(&bias, 1.0, &mut rng),
    ];
    let ops = [
        "kaiming_uniform_",
        "kaiming_normal_",
        "xavier_uniform_",
        "xavier_normal_",
    ];
    for (err, op) in errors.into_iter().zip(ops) {
        let message = err.unwrap_err().to_string();
        assert!(
            message.starts_with(op) && message.contains("[5]"),
            "{message}"
        );
    }
    assert_eq!(bias.version(), 0);
    assert_eq!(bias.to_vec(), vec![1.0; 5]);
}

#[test]
fn gains_match_pytorch() {
    let gains = fixture().gains;
    assert_eq!(gains.len(), 16);
    for g in gains {
        let got = calculate_gain(nonlinearity(&g.nonlinearity), g.param);
        assert!(
            (got - g.gain).abs() <= 1e-15 * g.gain,
            "{} with {:?}: got {got}, want {}",
            g.nonlinearity,
            g.param,
            g.gain
        );
    }
}

/// Mean, standard deviation, minimum and maximum.
fn stats<B: Backend>(t: &Tensor<B>) -> (f64, f64, f64, f64) {
    let v = t.to_vec_f64();
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (mean, var.sqrt(), min, max)
}

/// Checks a zero-mean uniform sample in `±bound`: inside (up to f32 rounding of the bound),
/// reaching near both ends, with the uniform's standard deviation `bound / √3` within 1% (the
/// sample's own error is ~0.2%).
fn assert_uniform<B: Backend>(what: &str, t: &Tensor<B>, bound: f64) {
    let (mean, std, min, max) = stats(t);
    let rounding = bound * f64::from(f32::EPSILON);
    assert!(
        min >= -bound - rounding && max <= bound + rounding,
        "{what}: [{min}, {max}] outside ±{bound}"
    );
    assert!(
        min < -0.99 * bound && max > 0.99 * bound,
        "{what}: [{min}, {max}] does not fill ±{bound}"
    );
    let want = bound / 3f64.sqrt();
    assert!(mean.abs() < 0.01 * want, "{what}: mean {mean}");
    assert!(
        (std / want - 1.0).abs() < 0.01,
        "{what}: std {std}, want {want}"
    );
}

/// Checks a zero-mean normal sample: standard deviation within 1%, mean within 1% of it.
fn assert_normal<B: Backend>(what: &str, t: &Tensor<B>, want_std: f64) {
    let (mean, std, _, _) = stats(t);
    assert!(mean.abs() < 0.01 * want_std, "{what}: mean {mean}");
    assert!(
        (std / want_std - 1.0).abs() < 0.01,
        "{what}: std {std}, want {want_std}"
    );
}

const CONV_WEIGHT: [usize; 4] = [128, 64, 3, 3];

fn kaiming_uniform_has_the_pytorch_bound<B: Backend>() {
    let mut rng = StdRng::seed_from_u64(1);
    let (fan_in, fan_out) = (64 * 9, 128 * 9);
    for (a, mode, nl, fan) in [
        (0.0, FanMode::FanIn, Nonlinearity::Relu, fan_in),
        (0.2, FanMode::FanOut, Nonlinearity::LeakyRelu, fan_out),
        (5f64.sqrt(), FanMode::FanIn, Nonlinearity::LeakyRelu, fan_in),
    ] {
        let w = Tensor::<B>::zeros(&CONV_WEIGHT);
        init::kaiming_uniform_(&w, a, mode, nl, &mut rng).unwrap();
        let bound = calculate_gain(nl, Some(a)) * (3.0 / fan as f64).sqrt();
        assert_uniform(&format!("kaiming_uniform_ {a} {mode:?} {nl:?}"), &w, bound);
    }
}

fn kaiming_normal_has_the_pytorch_std<B: Backend>() {
    let mut rng = StdRng::seed_from_u64(2);
    for (mode, fan) in [(FanMode::FanIn, 64 * 9), (FanMode::FanOut, 128 * 9)] {
        let w = Tensor::<B>::zeros(&CONV_WEIGHT);
        init::kaiming_normal_(&w, 0.0, mode, Nonlinearity::Relu, &mut rng).unwrap();
        let std = 2f64.sqrt() / (fan as f64).sqrt();
        assert_normal(&format!("kaiming_normal_ {mode:?}"), &w, std);
    }
}

fn xavier_initializers_have_the_pytorch_spread<B: Backend>() {
    let mut rng = StdRng::seed_from_u64(3);
    let gain = calculate_gain(Nonlinearity::Tanh, None);
    let std = gain * (2.0f64 / (64.0 * 9.0 + 128.0 * 9.0)).sqrt();
    let w = Tensor::<B>::zeros(&CONV_WEIGHT);
    init::xavier_uniform_(&w, gain, &mut rng).unwrap();
    assert_uniform("xavier_uniform_", &w, 3f64.sqrt() * std);
    let w = Tensor::<B>::zeros(&[600, 400]);
    init::xavier_normal_(&w, 1.0, &mut rng).unwrap();
    assert_normal("xavier_normal_", &w, (2.0f64 / 1000.0).sqrt());
}

fn trunc_normal_respects_its_limits_and_matches_the_truncated_moments<B: Backend>() {
    let mut rng = StdRng::seed_from_u64(4);
    for c in fixture().trunc_normal {
        let t = Tensor::<B>::zeros(&[200_000]);
        init::trunc_normal_(&t, c.mean, c.std, c.a, c.b, &mut rng);
        let (mean, std, min, max) = stats(&t);
        let what = format!("trunc_normal_({}, {}, {}, {})", c.mean, c.std, c.a, c.b);
        assert!(min >= c.a && max <= c.b, "{what}: [{min}, {max}]");
        // Each end within 3 std of the mean is reached: the interval is filled, not clamped
        // into a smaller one.
        let width = c.b - c.a;
        if (c.mean - c.a) / c.std < 3.0 {
            assert!(min < c.a + 0.01 * width, "{what}: minimum {min}");
        }
        if (c.b - c.mean) / c.std < 3.0 {
            assert!(max > c.b - 0.01 * width, "{what}: maximum {max}");
        }
        assert!(
            (mean - c.truncated_mean).abs() < 0.01 * c.truncated_std,
            "{what}: mean {mean}, want {}",
            c.truncated_mean
        );
        assert!(
            (std / c.truncated_std - 1.0).abs() < 0.01,
            "{what}: std {std}, want {}",
            c.truncated_std
        );
    }
}

fn constant_fills_update_in_place_and_bump_the_version<B: Backend>() {
    // A parameter requires grad; the fill runs under no_grad, so grad mode being on is fine.
    let p = Parameter::new(Tensor::<B>::ones(&[2, 3]));
    let alias = p.clone();
    init::zeros_(&p);
    assert_eq!(alias.to_vec_f64(), vec![0.0; 6]);
    assert_eq!(p.version(), 1);
    init::constant_(&p, -2.5);
    assert_eq!(p.to_vec_f64(), vec![-2.5; 6]);
    init::ones_(&p);
    assert_eq!(p.to_vec_f64(), vec![1.0; 6]);
    assert_eq!(p.version(), 3);
    assert!(p.requires_grad() && p.is_leaf());
    // Still trainable after the fill.
    (&*p * 2.0).sum().backward().unwrap();
    assert_eq!(p.grad().unwrap().to_vec_f64(), vec![2.0; 6]);
}

fn random_fills_are_reproducible_from_the_seed<B: Backend>() {
    let a = Tensor::<B>::zeros(&[4, 5]);
    let b = Tensor::<B>::zeros(&[4, 5]);
    init::xavier_uniform_(&a, 1.0, &mut StdRng::seed_from_u64(9)).unwrap();
    init::xavier_uniform_(&b, 1.0, &mut StdRng::seed_from_u64(9)).unwrap();
    assert_eq!(a.to_vec_f64(), b.to_vec_f64());
    assert_ne!(a.to_vec_f64(), vec![0.0; 20]);
}

backend_tests!(f32 and f64:
    kaiming_uniform_has_the_pytorch_bound,
    kaiming_normal_has_the_pytorch_std,
    xavier_initializers_have_the_pytorch_spread,
    trunc_normal_respects_its_limits_and_matches_the_truncated_moments,
    constant_fills_update_in_place_and_bump_the_version,
    random_fills_are_reproducible_from_the_seed,
);

#[test]
fn a_tensor_with_no_elements_is_left_alone() {
    type B = duograd::backends::NdArray<f64>;
    let empty = Tensor::<B>::zeros(&[32, 4, 0, 3]);
    let mut rng = StdRng::seed_from_u64(0);
    init::kaiming_uniform_(&empty, 0.0, FanMode::FanIn, Nonlinearity::Relu, &mut rng).unwrap();
    init::xavier_normal_(&empty, 1.0, &mut rng).unwrap();
    assert_eq!(empty.version(), 0);
}

#[test]
#[should_panic(expected = "trunc_normal_: the lower bound a = 1 must be below b = -1")]
fn trunc_normal_rejects_an_empty_interval() {
    let t = Tensor::<duograd::backends::NdArray<f64>>::zeros(&[3]);
    init::trunc_normal_(&t, 0.0, 1.0, 1.0, -1.0, &mut StdRng::seed_from_u64(0));
}

#[test]
#[should_panic(expected = "trunc_normal_: no value of N(0, 1²) fell in [40, 41]")]
fn trunc_normal_gives_up_on_an_interval_without_mass() {
    let t = Tensor::<duograd::backends::NdArray<f64>>::zeros(&[1]);
    init::trunc_normal_(&t, 0.0, 1.0, 40.0, 41.0, &mut StdRng::seed_from_u64(0));
}

#[test]
#[should_panic(expected = "uniform_: low 1 must be below high 1")]
fn uniform_rejects_an_empty_range() {
    let t = Tensor::<duograd::backends::NdArray<f64>>::zeros(&[3]);
    init::uniform_(&t, 1.0, 1.0, &mut StdRng::seed_from_u64(0));
}
