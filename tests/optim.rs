//! Optimizers against PyTorch: `tests/fixtures/optim.json` holds 5-step SGD, Adam, AdamW and
//! RMSprop trajectories of `nn.Sequential(Linear(4,5), ReLU, Linear(5,3))` under
//! cross-entropy, for thirteen settings, and a `clip_grad_norm_` case; saving and loading
//! optimizer state, and the errors of a state or a parameter list that does not fit. Every
//! test runs on both backends in f64.

#[macro_use]
mod common;

use duograd::nn::{Buffer, Counter, Forward, Linear, Module, Parameter, ReLU, Sequential};
use duograd::optim::{
    clip_grad_norm, clip_grad_value, grad_norms, total_grad_norm, Adam, AdamConfig, AdamW,
    AdamWConfig, OptimError, Optimizer, OptimizerState, RMSprop, RMSpropConfig, Sgd, SgdConfig,
};
use duograd::train::OptimizerConfig;
use duograd::{Backend, Reduction, Tensor};
use serde_json::Value;

const TOL: f64 = 1e-9;

fn fixture() -> Value {
    common::load_fixture("optim.json")
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn shape(v: &Value) -> Vec<usize> {
    v["shape"]
        .as_array()
        .expect("shape")
        .iter()
        .map(|d| d.as_u64().expect("dim") as usize)
        .collect()
}

fn tensor<B: Backend>(v: &Value) -> Tensor<B> {
    Tensor::from_f64(&floats(&v["data"]), &shape(v))
}

fn labels(fx: &Value) -> Vec<usize> {
    fx["labels"]
        .as_array()
        .expect("labels")
        .iter()
        .map(|l| l.as_u64().expect("label") as usize)
        .collect()
}

/// The fixture's model at its initial parameters.
fn model<B: Backend>(fx: &Value) -> Sequential<B> {
    let init = &fx["init"];
    let linear = |i: usize| {
        Linear::from_tensors(
            tensor(&init[format!("{i}.weight")]),
            Some(tensor(&init[format!("{i}.bias")])),
        )
    };
    Sequential::new()
        .with(linear(0))
        .with(ReLU::new())
        .with(linear(2))
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// The optimizer a fixture config describes (checking that every hyperparameter is known).
fn optimizer<B: Backend>(config: &Value, params: Vec<Parameter<B>>) -> Box<dyn Optimizer<B>> {
    let h = &config["hyper"];
    let num = |k: &str| h[k].as_f64().unwrap_or_else(|| panic!("hyper.{k}"));
    let flag = |k: &str| h[k].as_bool().unwrap_or_else(|| panic!("hyper.{k}"));
    match config["optimizer"].as_str() {
        Some("sgd") => {
            assert_eq!(
                h.as_object().unwrap().len(),
                6,
                "unknown SGD setting in {h}"
            );
            let c = SgdConfig::new(num("lr"))
                .momentum(num("momentum"))
                .dampening(num("dampening"))
                .weight_decay(num("weight_decay"))
                .nesterov(flag("nesterov"))
                .maximize(flag("maximize"));
            Box::new(Sgd::new(params, c))
        }
        Some("adam") => {
            assert_eq!(
                h.as_object().unwrap().len(),
                6,
                "unknown Adam setting in {h}"
            );
            let betas = floats(&h["betas"]);
            let c = AdamConfig::new(num("lr"))
                .betas(betas[0], betas[1])
                .eps(num("eps"))
                .weight_decay(num("weight_decay"))
                .maximize(flag("maximize"))
                .amsgrad(flag("amsgrad"));
            Box::new(Adam::new(params, c))
        }
        Some("adamw") => {
            assert_eq!(
                h.as_object().unwrap().len(),
                6,
                "unknown AdamW setting in {h}"
            );
            let betas = floats(&h["betas"]);
            let c = AdamWConfig::new(num("lr"))
                .betas(betas[0], betas[1])
                .eps(num("eps"))
                .weight_decay(num("weight_decay"))
                .maximize(flag("maximize"))
                .amsgrad(flag("amsgrad"));
            Box::new(AdamW::new(params, c))
        }
        Some("rmsprop") => {
            assert_eq!(
                h.as_object().unwrap().len(),
                7,
                "unknown RMSprop setting in {h}"
            );
            let c = RMSpropConfig::new(num("lr"))
                .alpha(num("alpha"))
                .eps(num("eps"))
                .weight_decay(num("weight_decay"))
                .momentum(num("momentum"))
                .centered(flag("centered"))
                .maximize(flag("maximize"));
            Box::new(RMSprop::new(params, c))
        }
        other => panic!("unknown optimizer {other:?}"),
    }
}

fn every_optimizer_config_reproduces_pytorch_parameters_after_every_step<B: Backend>() {
    let fx = fixture();
    let (x, y) = (tensor::<B>(&fx["x"]), labels(&fx));
    let configs = fx["configs"].as_array().unwrap();
    assert_eq!(configs.len(), 13);
    for config in configs {
        let name = config["name"].as_str().unwrap();
        let model = model::<B>(&fx);
        let mut opt = optimizer(config, model.parameters());
        let (mut worst_param, mut worst_loss) = (0.0f64, 0.0f64);
        let steps = config["steps"].as_array().unwrap();
        assert_eq!(steps.len(), 5);
        for (i, step) in steps.iter().enumerate() {
            opt.zero_grad();
            let loss = model.forward(&x).cross_entropy(&y, Reduction::Mean);
            let loss_err = (loss.to_vec_f64()[0] - step["loss"].as_f64().unwrap()).abs();
            worst_loss = worst_loss.max(loss_err);
            loss.backward().unwrap();
            opt.step();
            for (pname, p) in model.named_parameters() {
                let want = &step["params"][&pname];
                assert_eq!(p.shape(), shape(want).as_slice());
                let err = max_abs_diff(&p.to_vec_f64(), &floats(&want["data"]));
                assert!(
                    err < TOL,
                    "{name}, step {}: {pname} differs from PyTorch by {err:e}",
                    i + 1
                );
                worst_param = worst_param.max(err);
            }
        }
        assert!(worst_loss < TOL, "{name}: loss differs by {worst_loss:e}");
        eprintln!(
            "[{}] {name}: max |param - torch| = {worst_param:.2e}, max |loss - torch| = {worst_loss:.2e}",
            B::name()
        );
    }
}

fn clip_grad_norm_matches_pytorch_total_norm_and_clipped_grads<B: Backend>() {
    let fx = fixture();
    let case = &fx["clip_grad_norm"];
    let model = model::<B>(&fx);
    let loss = model
        .forward(&tensor(&fx["x"]))
        .cross_entropy(&labels(&fx), Reduction::Mean);
    loss.backward().unwrap();
    let named = model.named_parameters();
    for (name, p) in &named {
        let err = max_abs_diff(
            &p.grad().unwrap().to_vec_f64(),
            &floats(&case["grads"][name]["data"]),
        );
        assert!(err < TOL, "raw gradient of {name} differs by {err:e}");
    }
    let params = model.parameters();
    let want_total = case["total_norm"].as_f64().unwrap();
    assert!((total_grad_norm(&params) - want_total).abs() < TOL);
    let total = clip_grad_norm(&params, case["max_norm"].as_f64().unwrap());
    let total_err = (total - want_total).abs();
    assert!(total_err < TOL, "total norm differs by {total_err:e}");
    let mut worst = 0.0f64;
    for (name, p) in &named {
        let err = max_abs_diff(
            &p.grad().unwrap().to_vec_f64(),
            &floats(&case["clipped_grads"][name]["data"]),
        );
        assert!(err < TOL, "clipped gradient of {name} differs by {err:e}");
        worst = worst.max(err);
    }
    // After clipping, the total norm is max_norm (up to torch's 1e-6 in the denominator).
    assert!((total_grad_norm(&params) - 0.5).abs() < 1e-5);
    eprintln!(
        "[{}] clip_grad_norm: |total - torch| = {total_err:.2e}, max |clipped grad - torch| = {worst:.2e}",
        B::name()
    );
}

fn clip_grad_norm_leaves_small_gradients_alone<B: Backend>() {
    let p = Parameter::new(Tensor::<B>::zeros(&[2]));
    p.set_grad(Some(Tensor::from_f64(&[0.3, 0.4], &[2])));
    assert!((clip_grad_norm(std::slice::from_ref(&p), 1.0) - 0.5).abs() < 1e-15);
    assert_eq!(p.grad().unwrap().to_vec_f64(), vec![0.3, 0.4]);
}

fn grad_norms_are_per_parameter_and_skip_missing_gradients<B: Backend>() {
    let a = Parameter::new(Tensor::<B>::zeros(&[2]));
    let b = Parameter::new(Tensor::<B>::zeros(&[3]));
    a.set_grad(Some(Tensor::from_f64(&[3.0, 4.0], &[2])));
    let norms = grad_norms(&[("a".to_string(), a.clone()), ("b".to_string(), b.clone())]);
    assert_eq!(norms, vec![("a".to_string(), 5.0)]);
    assert_eq!(total_grad_norm(&[a, b]), 5.0);
}

/// Maximizing `f` must follow the same path as minimizing `-f`.
fn maximize_follows_the_path_of_minimizing_the_negated_loss<B: Backend>() {
    let fx = fixture();
    let (x, y) = (tensor::<B>(&fx["x"]), labels(&fx));
    fn sgd_config() -> SgdConfig {
        SgdConfig::new(0.1)
            .momentum(0.9)
            .nesterov(true)
            .weight_decay(0.01)
    }
    fn adam_config() -> AdamConfig {
        AdamConfig::new(0.01).weight_decay(0.05)
    }
    type MakeOpt<B> = fn(Vec<Parameter<B>>, bool) -> Box<dyn Optimizer<B>>;
    let makers: [MakeOpt<B>; 4] = [
        |p, max| Box::new(Sgd::new(p, sgd_config().maximize(max))),
        |p, max| Box::new(Adam::new(p, adam_config().maximize(max))),
        |p, max| {
            Box::new(AdamW::new(
                p,
                AdamWConfig::new(0.01).weight_decay(0.1).maximize(max),
            ))
        },
        |p, max| {
            let c = RMSpropConfig::new(0.01)
                .momentum(0.5)
                .centered(true)
                .weight_decay(0.01);
            Box::new(RMSprop::new(p, c.maximize(max)))
        },
    ];
    for make in makers {
        let (m1, m2) = (model::<B>(&fx), model::<B>(&fx));
        let (mut o1, mut o2) = (make(m1.parameters(), false), make(m2.parameters(), true));
        for _ in 0..4 {
            o1.zero_grad();
            o2.zero_grad();
            m1.forward(&x)
                .cross_entropy(&y, Reduction::Mean)
                .backward()
                .unwrap();
            (-m2.forward(&x).cross_entropy(&y, Reduction::Mean))
                .backward()
                .unwrap();
            o1.step();
            o2.step();
        }
        for (p1, p2) in m1.parameters().iter().zip(m2.parameters()) {
            assert!(max_abs_diff(&p1.to_vec_f64(), &p2.to_vec_f64()) < 1e-14);
        }
    }
}

fn step_updates_the_models_own_parameters_in_place<B: Backend>() {
    let fx = fixture();
    let model = model::<B>(&fx);
    let before: Vec<u64> = model.parameters().iter().map(|p| p.id()).collect();
    let mut opt = Sgd::new(model.parameters(), SgdConfig::new(0.1).momentum(0.9));
    model
        .forward(&tensor(&fx["x"]))
        .cross_entropy(&labels(&fx), Reduction::Mean)
        .backward()
        .unwrap();
    let w0 = model.parameters()[0].to_vec_f64();
    opt.step();
    let after: Vec<u64> = model.parameters().iter().map(|p| p.id()).collect();
    assert_eq!(before, after, "the parameters are the same tensors");
    assert_ne!(model.parameters()[0].to_vec_f64(), w0, "and they moved");
    assert!(model.parameters()[0].version() > 0);
    opt.zero_grad();
    assert!(model.parameters().iter().all(|p| p.grad().is_none()));
}

fn parameters_without_gradient_are_skipped<B: Backend>() {
    let used = Parameter::new(Tensor::<B>::from_f64(&[1.0], &[1]));
    let unused = Parameter::new(Tensor::<B>::from_f64(&[1.0], &[1]));
    let mut sgd = Sgd::new(
        vec![used.clone(), unused.clone()],
        SgdConfig::new(0.5).momentum(0.9).weight_decay(0.1),
    );
    let mut adam = Adam::new(vec![used.clone(), unused.clone()], AdamConfig::new(0.5));
    (&*used * 2.0).sum().backward().unwrap();
    sgd.step();
    adam.step();
    assert_ne!(used.to_vec_f64(), vec![1.0]);
    assert_eq!(unused.to_vec_f64(), vec![1.0]);
}

fn set_lr_changes_the_step_size<B: Backend>() {
    let p = Parameter::new(Tensor::<B>::from_f64(&[0.0], &[1]));
    let mut opt = Sgd::new(vec![p.clone()], SgdConfig::new(1.0));
    opt.set_lr(0.25);
    assert_eq!(opt.lr(), 0.25);
    p.set_grad(Some(Tensor::from_f64(&[2.0], &[1])));
    opt.step();
    assert_eq!(p.to_vec_f64(), vec![-0.5]);
}

/// Whether `storage`, if it is the ndarray backend's, is in standard (row-major, contiguous)
/// layout: the layout its fused optimizer loops take.
fn ndarray_standard_layout(storage: &dyn std::any::Any) -> Option<bool> {
    use duograd::backends::duograd_ndarray::Storage;
    let f32 = storage
        .downcast_ref::<Storage<f32>>()
        .map(|a| a.is_standard_layout());
    f32.or_else(|| {
        storage
            .downcast_ref::<Storage<f64>>()
            .map(|a| a.is_standard_layout())
    })
}

/// Runs `steps` steps of the optimizer `make` builds on two parameters holding the same 2×3
/// values, one contiguous and one stored as the transpose of a 3×2 array (on ndarray a strided
/// view, not a plain slice: the optimizers' tensor-op path rather than their fused pass), with
/// the same gradients, and returns both parameters' values after each step.
fn contiguous_and_strided_steps<B: Backend>(
    steps: usize,
    make: impl Fn(Vec<Parameter<B>>) -> Box<dyn Optimizer<B>>,
) -> Vec<(Vec<f64>, Vec<f64>)> {
    let values: Vec<f64> = (0..6).map(|i| 0.3 * i as f64 - 0.7).collect();
    let grads: Vec<f64> = (0..6).map(|i| 0.11 * (i * i) as f64 - 1.3).collect();
    let contiguous = Parameter::new(Tensor::<B>::from_f64(&values, &[2, 3]));
    let transposed_values: Vec<f64> = (0..6).map(|k| values[(k % 2) * 3 + k / 2]).collect();
    let strided = Parameter::new(Tensor::<B>::from_f64(&transposed_values, &[3, 2]).t());
    assert_eq!(strided.to_vec_f64(), values);
    if B::name() == "ndarray" {
        assert_eq!(
            ndarray_standard_layout(&strided.storage()),
            Some(false),
            "a strided view"
        );
    }
    let (mut opt_a, mut opt_b) = (make(vec![contiguous.clone()]), make(vec![strided.clone()]));
    (0..steps)
        .map(|step| {
            let g: Vec<f64> = grads.iter().map(|g| g * (step + 1) as f64).collect();
            contiguous.set_grad(Some(Tensor::from_f64(&g, &[2, 3])));
            strided.set_grad(Some(Tensor::from_f64(&g, &[2, 3])));
            opt_a.step();
            opt_b.step();
            let a = contiguous.to_vec_f64();
            assert_ne!(a, values, "the parameters moved");
            (a, strided.to_vec_f64())
        })
        .collect()
}

/// Adam updates plain buffers in one fused pass and other storage (here a transposed view, on
/// the ndarray backend) with whole-tensor ops: both must give the same parameters.
fn adam_gives_the_same_steps_on_strided_and_contiguous_parameters<B: Backend>() {
    let config = AdamConfig::new(0.1).weight_decay(0.01).maximize(true);
    let steps = contiguous_and_strided_steps::<B>(3, |p| Box::new(Adam::new(p, config)));
    for (step, (a, b)) in steps.iter().enumerate() {
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= 1e-15, "step {step}: {a:?} vs {b:?}");
        }
    }
}

/// SGD with momentum updates a contiguous parameter in one fused pass and a strided one through
/// in-place tensor operations: the two give the same values, to the bit, for every setting the
/// fused pass handles.
fn sgd_momentum_gives_the_same_steps_on_strided_and_contiguous_parameters<B: Backend>() {
    let base = SgdConfig::new(0.1).momentum(0.9);
    for config in [
        base,
        base.dampening(0.25).weight_decay(0.01).maximize(true),
        base.nesterov(true),
        base.nesterov(true).weight_decay(0.05).maximize(true),
    ] {
        let steps = contiguous_and_strided_steps::<B>(4, |p| Box::new(Sgd::new(p, config)));
        for (step, (a, b)) in steps.iter().enumerate() {
            assert_eq!(a, b, "{config:?}, step {step}");
        }
    }
}

fn clip_grad_value_clamps_each_element_and_skips_missing_gradients<B: Backend>() {
    let a = Parameter::new(Tensor::<B>::zeros(&[2, 2]));
    let b = Parameter::new(Tensor::<B>::zeros(&[1]));
    a.set_grad(Some(Tensor::from_f64(
        &[-2.0, -0.1, 0.1, f64::NAN],
        &[2, 2],
    )));
    clip_grad_value(&[a.clone(), b.clone()], 1.0);
    let g = a.grad().unwrap().to_vec_f64();
    assert_eq!(&g[..3], &[-1.0, -0.1, 0.1]);
    assert!(g[3].is_nan(), "NaN stays NaN, as torch.clamp");
    assert!(b.grad().is_none());
}

/// AdamW's decay multiplies the parameter before the Adam step: with a zero gradient the Adam
/// step is zero too, so one step of AdamW only scales the parameters by `1 - lr·wd`.
fn adamw_decays_parameters_without_touching_the_moments<B: Backend>() {
    let p = Parameter::new(Tensor::<B>::from_f64(&[2.0, -4.0], &[2]));
    let mut opt = AdamW::new(vec![p.clone()], AdamWConfig::new(0.1).weight_decay(0.5));
    p.set_grad(Some(Tensor::zeros(&[2])));
    opt.step();
    assert_eq!(p.to_vec_f64(), vec![2.0 * 0.95, -4.0 * 0.95]);
    opt.set_lr(0.2);
    assert_eq!((opt.lr(), opt.adam().lr()), (0.2, 0.2));
}

backend_tests!(
    adam_gives_the_same_steps_on_strided_and_contiguous_parameters,
    clip_grad_value_clamps_each_element_and_skips_missing_gradients,
    adamw_decays_parameters_without_touching_the_moments,
    sgd_momentum_gives_the_same_steps_on_strided_and_contiguous_parameters,
    every_optimizer_config_reproduces_pytorch_parameters_after_every_step,
    clip_grad_norm_matches_pytorch_total_norm_and_clipped_grads,
    clip_grad_norm_leaves_small_gradients_alone,
    grad_norms_are_per_parameter_and_skip_missing_gradients,
    maximize_follows_the_path_of_minimizing_the_negated_loss,
    step_updates_the_models_own_parameters_in_place,
    parameters_without_gradient_are_skipped,
    set_lr_changes_the_step_size,
    a_loaded_state_continues_the_same_trajectory,
    state_dicts_use_pytorch_names_and_count_adams_steps,
    a_state_that_does_not_fit_is_an_error_naming_what_differs,
    an_optimizer_without_parameters_is_an_error,
);

#[test]
#[should_panic(expected = "Nesterov momentum requires a momentum")]
fn sgd_rejects_nesterov_without_momentum() {
    let _ = Sgd::<duograd::backends::NdArray<f64>>::new(vec![], SgdConfig::new(0.1).nesterov(true));
}

#[test]
#[should_panic(expected = "invalid beta1")]
fn adam_rejects_a_beta_of_one() {
    let _ =
        Adam::<duograd::backends::NdArray<f64>>::new(vec![], AdamConfig::new(0.1).betas(1.0, 0.9));
}

#[test]
#[should_panic(expected = "RMSprop: invalid momentum -0.5")]
fn rmsprop_rejects_a_negative_momentum() {
    let _ = RMSprop::<duograd::backends::NdArray<f64>>::new(
        vec![],
        RMSpropConfig::new(0.1).momentum(-0.5),
    );
}

#[test]
#[should_panic(expected = "clip_grad_value: clip_value must be non-negative, got -1")]
fn clip_grad_value_rejects_a_negative_bound() {
    clip_grad_value::<duograd::backends::NdArray<f64>>(&[], -1.0);
}

// ---------------------------------------------------------------- saved state

/// The optimizers whose state is saved, each as a name and a maker.
type Maker<B> = (&'static str, fn(Vec<Parameter<B>>) -> Box<dyn Optimizer<B>>);

fn stateful_optimizers<B: Backend>() -> [Maker<B>; 7] {
    [
        ("sgd momentum", |p| {
            Box::new(Sgd::new(
                p,
                SgdConfig::new(0.1)
                    .momentum(0.9)
                    .dampening(0.1)
                    .weight_decay(0.01),
            ))
        }),
        ("sgd nesterov", |p| {
            Box::new(Sgd::new(
                p,
                SgdConfig::new(0.1).momentum(0.8).nesterov(true),
            ))
        }),
        ("adam", |p| {
            Box::new(Adam::new(p, AdamConfig::new(0.05).weight_decay(0.01)))
        }),
        ("adam maximize", |p| {
            Box::new(Adam::new(p, AdamConfig::new(0.05).maximize(true)))
        }),
        ("adam amsgrad", |p| {
            Box::new(Adam::new(p, AdamConfig::new(0.05).amsgrad(true)))
        }),
        ("adamw amsgrad", |p| {
            Box::new(AdamW::new(p, AdamWConfig::new(0.05).amsgrad(true)))
        }),
        ("rmsprop centered momentum", |p| {
            let c = RMSpropConfig::new(0.01).centered(true).momentum(0.5);
            Box::new(RMSprop::new(p, c))
        }),
    ]
}

/// One step of `opt` on the fixture's loss.
fn train_step<B: Backend>(model: &Sequential<B>, opt: &mut dyn Optimizer<B>, fx: &Value) {
    opt.zero_grad();
    model
        .forward(&tensor(&fx["x"]))
        .cross_entropy(&labels(fx), Reduction::Mean)
        .backward()
        .unwrap();
    opt.step();
}

/// A copy of `model`'s parameters in a new model of the fixture's layout.
fn copy_of<B: Backend>(source: &Sequential<B>, fx: &Value) -> Sequential<B> {
    let copy = model::<B>(fx);
    let bytes = duograd::nn::module_to_safetensors(source).unwrap();
    duograd::nn::load_module_from_safetensors(&copy, &bytes).unwrap();
    copy
}

fn values<B: Backend>(model: &Sequential<B>) -> Vec<Vec<f64>> {
    model.parameters().iter().map(|p| p.to_vec_f64()).collect()
}

/// An optimizer loaded with another's saved state takes exactly the steps the other takes;
/// one that starts afresh from the same parameters does not.
fn a_loaded_state_continues_the_same_trajectory<B: Backend>() {
    let fx = fixture();
    for (name, make) in stateful_optimizers::<B>() {
        let model = model::<B>(&fx);
        let mut opt = make(model.parameters());
        for _ in 0..3 {
            train_step(&model, opt.as_mut(), &fx);
        }
        let state = opt.state_dict();
        let (resumed, fresh) = (copy_of(&model, &fx), copy_of(&model, &fx));
        // The saved state is a snapshot: later steps do not change it.
        for _ in 0..4 {
            train_step(&model, opt.as_mut(), &fx);
        }
        let mut resumed_opt = make(resumed.parameters());
        resumed_opt.load_state_dict(&state).unwrap();
        let mut fresh_opt = make(fresh.parameters());
        for _ in 0..4 {
            train_step(&resumed, resumed_opt.as_mut(), &fx);
            train_step(&fresh, fresh_opt.as_mut(), &fx);
        }
        assert_eq!(values(&resumed), values(&model), "{name}: resumed");
        assert_ne!(values(&fresh), values(&model), "{name}: a fresh optimizer");
    }
}

fn state_dicts_use_pytorch_names_and_count_adams_steps<B: Backend>() {
    let fx = fixture();
    let model = model::<B>(&fx);
    let mut sgd = Sgd::new(model.parameters(), SgdConfig::new(0.1).momentum(0.9));
    assert!(
        sgd.state_dict().entries.is_empty(),
        "no state before a step"
    );
    train_step(&model, &mut sgd, &fx);
    let names: Vec<String> = sgd.state_dict().entries.into_iter().map(|e| e.0).collect();
    assert_eq!(
        names,
        (0..4)
            .map(|i| format!("state.{i}.momentum_buffer"))
            .collect::<Vec<_>>()
    );
    // Plain SGD carries nothing.
    let mut plain = Sgd::new(model.parameters(), SgdConfig::new(0.1));
    train_step(&model, &mut plain, &fx);
    assert_eq!(plain.state_dict().entries.len(), 0);

    let mut adam = Adam::new(model.parameters(), AdamConfig::new(0.01));
    for _ in 0..3 {
        train_step(&model, &mut adam, &fx);
    }
    let state = adam.state_dict();
    assert_eq!((state.optimizer.as_str(), state.num_params), ("adam", 4));
    let step = state
        .entries
        .iter()
        .find(|(n, _)| n == "state.2.step")
        .and_then(|(_, e)| e.as_counter())
        .expect("a step counter");
    assert_eq!(step.get(), 3);
    let exp_avg = &state
        .entries
        .iter()
        .find(|(n, _)| n == "state.2.exp_avg")
        .unwrap()
        .1;
    assert_eq!(exp_avg.shape(), &[3, 5]);
}

fn a_state_that_does_not_fit_is_an_error_naming_what_differs<B: Backend>() {
    let fx = fixture();
    let model = model::<B>(&fx);
    let mut sgd = Sgd::new(model.parameters(), SgdConfig::new(0.1).momentum(0.9));
    let mut adam = Adam::new(model.parameters(), AdamConfig::new(0.01));
    train_step(&model, &mut sgd, &fx);
    train_step(&model, &mut adam, &fx);
    let (sgd_state, adam_state) = (sgd.state_dict(), adam.state_dict());
    let before = values_of(&sgd.state_dict());
    let edited = |state: &OptimizerState<B>, f: &dyn Fn(&mut Entries<B>)| {
        let mut state = state.clone();
        f(&mut state.entries);
        state
    };
    let cases: Vec<(OptimizerState<B>, &str)> =
        vec![
        (adam_state.clone(), "Sgd: the state was saved by adam, not by Sgd"),
        (
            OptimizerState {
                num_params: 2,
                ..sgd_state.clone()
            },
            "Sgd: the state is for 2 parameters, but the optimizer has 4",
        ),
        (
            edited(&sgd_state, &|e| {
                e[2].1 = Buffer::Tensor(Tensor::zeros(&[5, 3]));
            }),
            "Sgd: state entry 'state.2.momentum_buffer' has shape [5, 3], but its parameter has \
             shape [3, 5]",
        ),
        (
            edited(&sgd_state, &|e| e.push(("state.0.velocity".into(), e[0].1.clone()))),
            "Sgd: unexpected state entry 'state.0.velocity'",
        ),
        (
            edited(&sgd_state, &|e| {
                e.push(("state.4.momentum_buffer".into(), e[0].1.clone()))
            }),
            "Sgd: unexpected state entry 'state.4.momentum_buffer'",
        ),
    ];
    for (state, message) in cases {
        let err = sgd.load_state_dict(&state).unwrap_err();
        assert_eq!(err.to_string(), message);
        assert_eq!(
            values_of(&sgd.state_dict()),
            before,
            "a failed load changes nothing"
        );
    }
    let missing = edited(&adam_state, &|e| e.retain(|(n, _)| n != "state.1.step"));
    assert_eq!(
        adam.load_state_dict(&missing).unwrap_err(),
        OptimError::MissingEntry {
            optimizer: "Adam",
            name: "state.1.step".into()
        }
    );
    let kind = edited(&adam_state, &|e| {
        let i = e.iter().position(|(n, _)| n == "state.0.step").unwrap();
        e[i].1 = Buffer::Tensor(Tensor::zeros(&[]));
    });
    assert_eq!(
        adam.load_state_dict(&kind).unwrap_err().to_string(),
        "Adam: state entry 'state.0.step' should be an integer counter"
    );
    let zero = edited(&adam_state, &|e| {
        let i = e.iter().position(|(n, _)| n == "state.0.step").unwrap();
        e[i].1 = Buffer::Counter(Counter::new(0));
    });
    assert!(matches!(
        adam.load_state_dict(&zero).unwrap_err(),
        OptimError::InvalidValue { value: 0, .. }
    ));
}

/// An optimizer state's entries.
type Entries<B> = Vec<(String, Buffer<B>)>;

fn values_of<B: Backend>(state: &OptimizerState<B>) -> Vec<(String, Vec<f64>)> {
    state
        .entries
        .iter()
        .map(|(n, e)| (n.clone(), e.to_vec_f64()))
        .collect()
}

fn an_optimizer_without_parameters_is_an_error<B: Backend>() {
    let relu = ReLU::new();
    for config in [
        OptimizerConfig::Sgd {
            lr: 0.1,
            momentum: 0.9,
        },
        OptimizerConfig::Adam { lr: 0.1 },
    ] {
        let err = config
            .build(Module::<B>::parameters(&relu))
            .err()
            .expect("no parameters is an error");
        assert!(matches!(err, OptimError::NoParameters { .. }), "{err}");
        assert!(
            err.to_string().contains("no parameters to optimize"),
            "{err}"
        );
    }
    let err = Adam::<B>::try_new(vec![], AdamConfig::default())
        .err()
        .unwrap();
    assert_eq!(err, OptimError::NoParameters { optimizer: "Adam" });
    // Settings are checked as well.
    let err = Sgd::<B>::try_new(model::<B>(&fixture()).parameters(), SgdConfig::new(-1.0))
        .err()
        .unwrap();
    assert_eq!(err.to_string(), "Sgd: invalid learning rate -1");
}

#[test]
#[should_panic(expected = "Sgd: no parameters to optimize")]
fn sgd_new_panics_on_an_empty_parameter_list() {
    let _ = Sgd::<duograd::backends::NdArray<f64>>::new(vec![], SgdConfig::new(0.1));
}
