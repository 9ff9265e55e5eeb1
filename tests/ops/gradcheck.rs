//! Every fixture case passes a first- and second-order gradient check on random inputs, with
//! contiguous and with non-contiguous (permuted-view) inputs.

use duograd::{gradcheck, gradgradcheck, Backend, GradcheckOptions};

use crate::common::cases::{
    apply, excluded_from_gradcheck, ops_fixture, permuted_views, random_inputs,
};

fn every_case_passes_gradcheck<B: Backend>() {
    let skip = excluded_from_gradcheck();
    for (seed, case) in ops_fixture().cases.iter().enumerate() {
        if skip.contains_key(case.name.as_str()) {
            continue;
        }
        let inputs = random_inputs::<B>(case, seed as u64);
        let f = |xs: &[duograd::Tensor<B>]| apply(&case.name, xs, &case.indices);
        gradcheck(f, &inputs, GradcheckOptions::default())
            .unwrap_or_else(|e| panic!("{} on {}: {e}", case.name, B::name()));
        gradcheck(f, &permuted_views(&inputs), GradcheckOptions::default())
            .unwrap_or_else(|e| panic!("{} on {} with permuted views: {e}", case.name, B::name()));
    }
}

fn every_case_passes_gradgradcheck<B: Backend>() {
    let skip = excluded_from_gradcheck();
    for (seed, case) in ops_fixture().cases.iter().enumerate() {
        if skip.contains_key(case.name.as_str()) {
            continue;
        }
        let inputs = random_inputs::<B>(case, 100 + seed as u64);
        let f = |xs: &[duograd::Tensor<B>]| apply(&case.name, xs, &case.indices);
        gradgradcheck(f, &inputs, GradcheckOptions::default(), seed as u64)
            .unwrap_or_else(|e| panic!("{} on {}: second order: {e}", case.name, B::name()));
    }
}

backend_tests!(every_case_passes_gradcheck, every_case_passes_gradgradcheck);
