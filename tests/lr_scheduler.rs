//! Learning-rate schedulers against PyTorch: `tests/fixtures/lr_schedulers.json` holds the
//! rates of `torch.optim.lr_scheduler` schedulers step by step (settings in
//! `scripts/torch_reference.py`, `scheduler_cases()`, repeated here).

mod common;

use duograd::backends::NdArray;
use duograd::optim::lr_scheduler::{
    Anneal, CosineAnnealingLR, ExponentialLR, LinearLR, LrScheduler, MultiStepLR, OneCycleLR,
    PlateauMode, ReduceLROnPlateau, SequentialLR, StepLR, ThresholdMode,
};
use duograd::optim::{Optimizer, Sgd, SgdConfig};
use serde_json::Value;

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

/// The scheduler of each fixture case, built with the settings the script used.
fn scheduler(name: &str, base: f64) -> Box<dyn LrScheduler> {
    match name {
        "step" => Box::new(StepLR::new(base, 3, 0.5)),
        "multistep" => Box::new(MultiStepLR::new(base, &[2, 5, 9], 0.1)),
        "exponential" => Box::new(ExponentialLR::new(base, 0.9)),
        "linear" => Box::new(LinearLR::new(base, 0.25, 1.0, 4)),
        "cosine" => Box::new(CosineAnnealingLR::new(base, 10, 0.001)),
        "cosine_warmup" => Box::new(CosineAnnealingLR::new(base, 7, 0.0).with_warmup(3, 0.1)),
        "one_cycle" => Box::new(OneCycleLR::new(0.1, 20)),
        "one_cycle_linear_three_phase" => Box::new(
            OneCycleLR::new(0.3, 25)
                .pct_start(0.4)
                .anneal(Anneal::Linear)
                .div_factor(10.0)
                .final_div_factor(100.0)
                .three_phase(true),
        ),
        other => panic!("no scheduler for fixture case {other}"),
    }
}

fn plateau(name: &str, base: f64) -> ReduceLROnPlateau {
    match name {
        "plateau_min_rel" => ReduceLROnPlateau::new(base)
            .factor(0.5)
            .patience(2)
            .threshold(1e-2, ThresholdMode::Rel)
            .cooldown(1)
            .min_lr(0.02),
        "plateau_max_abs" => ReduceLROnPlateau::new(base)
            .mode(PlateauMode::Max)
            .factor(0.1)
            .patience(1)
            .threshold(0.01, ThresholdMode::Abs)
            .eps(1e-8),
        other => panic!("no plateau scheduler for fixture case {other}"),
    }
}

/// Relative to the rate, with an absolute floor for rates that reach 0.
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1e-3)
}

#[test]
fn every_scheduler_gives_pytorchs_rates_step_by_step() {
    let fx: Value = common::load_fixture("lr_schedulers.json");
    let cases = fx["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 10);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let base = case["base_lr"].as_f64().unwrap();
        let initial = case["initial_lr"].as_f64().unwrap();
        let want = floats(&case["lrs"]);
        let got: Vec<f64> = if let Some(metrics) = case.get("metrics") {
            let mut s = plateau(name, base);
            assert!(close(s.lr(), initial), "{name}: initial {}", s.lr());
            floats(metrics).into_iter().map(|m| s.step(m)).collect()
        } else {
            let mut s = scheduler(name, base);
            assert!(
                close(s.lr(), initial),
                "{name}: initial {} vs {initial}",
                s.lr()
            );
            (0..want.len()).map(|_| s.step()).collect()
        };
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(close(*g, *w), "{name}, step {}: {g} vs PyTorch {w}", i + 1);
        }
    }
}

#[test]
fn fast_forward_restores_the_state_of_a_scheduler_that_took_those_steps() {
    for name in ["cosine_warmup", "one_cycle", "linear", "multistep"] {
        let mut a = scheduler(name, 0.1);
        for _ in 0..7 {
            a.step();
        }
        let mut b = scheduler(name, 0.1);
        b.step();
        b.fast_forward(a.steps_taken());
        assert_eq!((b.lr(), b.steps_taken()), (a.lr(), 7), "{name}");
        assert_eq!(a.step(), b.step(), "{name}");
    }
}

#[test]
fn a_scheduler_sets_the_rate_of_any_optimizer() {
    let p = duograd::nn::Parameter::new(duograd::Tensor::<NdArray<f64>>::zeros(&[1]));
    let mut opt = Sgd::new(vec![p], SgdConfig::new(0.5));
    let mut s = LinearLR::new(opt.lr(), 0.5, 1.0, 2);
    s.apply_to(&mut opt);
    assert_eq!(opt.lr(), 0.25);
    s.step_optimizer(&mut opt);
    assert!((opt.lr() - 0.375).abs() < 1e-15);
    let boxed: &mut dyn Optimizer<NdArray<f64>> = &mut opt;
    let mut plateau = ReduceLROnPlateau::new(0.5).patience(0);
    plateau.step_optimizer(1.0, boxed);
    plateau.step_optimizer(1.0, boxed);
    assert_eq!(boxed.lr(), 0.05);
}

#[test]
#[should_panic(expected = "OneCycleLR: tried to step 4 times, but the cycle has total_steps = 3")]
fn one_cycle_refuses_to_step_past_its_cycle() {
    let mut s = OneCycleLR::new(0.1, 3);
    for _ in 0..4 {
        s.step();
    }
}

#[test]
#[should_panic(expected = "SequentialLR: 2 schedulers need 1 milestones, got 2")]
fn sequential_needs_one_milestone_fewer_than_schedulers() {
    let _ = SequentialLR::new(
        vec![
            Box::new(StepLR::new(0.1, 1, 0.5)),
            Box::new(ExponentialLR::new(0.1, 0.5)),
        ],
        &[1, 2],
    );
}

#[test]
#[should_panic(expected = "CosineAnnealingLR: t_max must be positive, got 0")]
fn cosine_needs_a_positive_period() {
    let _ = CosineAnnealingLR::new(0.1, 0, 0.0);
}
