//! No op lands unproven: every registered op appears in the graphs of the cases that the
//! gradcheck, cross-backend and PyTorch suites run.

use std::collections::BTreeSet;

use duograd::autograd::registry;
use duograd::backends::Nalgebra;
use duograd::backends::NdArray;

use crate::common::cases::{apply, excluded_from_gradcheck, fixture_inputs, ops_fixture};
use crate::common::ops_in_graph;

type B = NdArray<f64>;

fn covered(cases: &[&crate::common::cases::OpCase]) -> BTreeSet<&'static str> {
    cases
        .iter()
        .flat_map(|c| ops_in_graph(&apply(&c.name, &fixture_inputs::<B>(c), &c.indices)))
        .collect()
}

#[test]
fn every_registered_op_has_gradcheck_cross_backend_and_pytorch_cases() {
    let fixture = ops_fixture();
    let all: Vec<_> = fixture.cases.iter().collect();
    let skip = excluded_from_gradcheck();
    let gradchecked: Vec<_> = all
        .iter()
        .copied()
        .filter(|c| !skip.contains_key(c.name.as_str()))
        .collect();
    // The PyTorch and cross-backend suites run every fixture case; gradcheck runs all but `skip`.
    let suites = [
        ("PyTorch fixture", covered(&all)),
        ("cross-backend", covered(&all)),
        ("gradcheck", covered(&gradchecked)),
    ];
    let registered = registry::<B>().names();
    assert!(
        registered.len() >= 25,
        "only {} ops registered",
        registered.len()
    );
    for (suite, ops) in &suites {
        let missing: Vec<_> = registered.iter().filter(|op| !ops.contains(*op)).collect();
        assert!(
            missing.is_empty(),
            "registered ops with no {suite} case: {missing:?}"
        );
    }
}

#[test]
fn both_backends_register_the_same_ops() {
    assert_eq!(
        registry::<NdArray<f64>>().names(),
        registry::<Nalgebra<f64>>().names()
    );
    assert_eq!(
        registry::<NdArray<f32>>().names(),
        registry::<NdArray<f64>>().names()
    );
}
