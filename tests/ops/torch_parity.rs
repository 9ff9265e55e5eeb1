//! Both backends reproduce PyTorch's outputs and gradients for every fixture case.

use duograd::Backend;

use crate::common::assert_close;
use crate::common::cases::{fixture_inputs, forward_backward, ops_fixture};

fn every_case_matches_pytorch<B: Backend>() {
    let fixture = ops_fixture();
    assert!(
        fixture.torch_version.starts_with("2.15"),
        "fixtures from torch {}",
        fixture.torch_version
    );
    for case in &fixture.cases {
        let inputs = fixture_inputs::<B>(case);
        let (out, grads) = forward_backward(case, &inputs, &case.grad_output.to_tensor());
        let what = format!("{} on {}", case.name, B::name());
        assert_close(
            &format!("{what}: output"),
            &out,
            &case.output.data,
            1e-12,
            1e-10,
        );
        for (i, (got, want)) in grads.iter().zip(&case.grads).enumerate() {
            match (got, want) {
                (Some(g), Some(w)) => {
                    assert_close(&format!("{what}: grad {i}"), g, &w.data, 1e-12, 1e-10)
                }
                (None, None) => {}
                _ => panic!("{what}: input {i} differs in whether it has a gradient"),
            }
        }
    }
}

backend_tests!(every_case_matches_pytorch);
