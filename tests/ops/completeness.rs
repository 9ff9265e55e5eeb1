//! No op lands unproven: every registered op appears in the graphs of the cases that the
//! gradcheck, cross-backend and PyTorch suites run, either in a case's forward graph or in the
//! graph of its gradients (an op that only gradients use, such as a convolution's gradient with
//! respect to its input, has its values checked by the case's gradients and its own gradient by
//! the second-order checks).

use std::collections::BTreeSet;

use duograd::autograd::{grad, registry};
use duograd::backends::Nalgebra;
use duograd::backends::NdArray;
use duograd::Tensor;

use crate::common::cases::{apply, excluded_from_gradcheck, fixture_inputs, ops_fixture};
use crate::common::ops_in_graph;

type B = NdArray<f64>;

fn covered(cases: &[&crate::common::cases::OpCase]) -> BTreeSet<&'static str> {
    let mut ops = BTreeSet::new();
    for c in cases {
        let inputs = fixture_inputs::<B>(c);
        let out = apply(&c.name, &inputs, &c.indices);
        ops.extend(ops_in_graph(&out));
        let leaves: Vec<&Tensor<B>> = inputs.iter().filter(|t| t.requires_grad()).collect();
        if leaves.is_empty() {
            continue;
        }
        let weighted = (&out * &c.grad_output.to_tensor::<B>()).sum();
        let grads = grad(&weighted, &leaves, true)
            .unwrap_or_else(|e| panic!("{}: gradients with create_graph: {e}", c.name));
        for g in &grads {
            ops.extend(ops_in_graph(g));
        }
    }
    ops
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
