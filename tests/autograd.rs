//! The autograd engine: ordering, accumulation, leaf semantics, grad mode, in-place safety,
//! errors, higher-order gradients, user-defined ops and graph inspection.

#[macro_use]
mod common;

use std::cell::Cell;

use duograd::autograd::{grad, no_grad, register_op, with_no_grad, BackwardArgs};
use duograd::{gradcheck, Attrs, AutogradError, Backend, GradcheckOptions, Reduction, Tensor};
use rand::{rngs::StdRng, SeedableRng};

use common::assert_close;

fn t<B: Backend>(data: &[f64], shape: &[usize]) -> Tensor<B> {
    Tensor::from_f64(data, shape)
}

fn leaf<B: Backend>(data: &[f64], shape: &[usize]) -> Tensor<B> {
    t::<B>(data, shape).requires_grad_(true)
}

fn grad_of<B: Backend>(x: &Tensor<B>) -> Vec<f64> {
    x.grad().expect("leaf should have a gradient").to_vec_f64()
}

// ----- ordering -----

fn linked_list_gradient_is_the_chain_rule<B: Backend>() {
    let x = leaf::<B>(&[0.5, -1.0], &[2]);
    // y = exp(2x + 1): dy/dx = 2 exp(2x + 1)
    let y = (&x * 2.0 + 1.0).exp();
    y.sum().backward().unwrap();
    let want: Vec<f64> = [0.5f64, -1.0]
        .iter()
        .map(|v| 2.0 * (2.0 * v + 1.0).exp())
        .collect();
    assert_close("d exp(2x+1)", &grad_of(&x), &want, 1e-12, 1e-12);
}

fn branching_and_rejoining_sums_gradients<B: Backend>() {
    let x = leaf::<B>(&[0.3, 0.7, -0.2], &[3]);
    // A diamond: a feeds two branches that rejoin; x is also used directly.
    let f = |x: &Tensor<B>| {
        let a = x * 2.0;
        let (b, c) = (a.tanh(), a.sigmoid());
        (&b * &c + x).sum()
    };
    gradcheck(
        |xs| f(&xs[0]),
        std::slice::from_ref(&x),
        GradcheckOptions::default(),
    )
    .unwrap();
    f(&x).backward().unwrap();
    let manual: Vec<f64> = [0.3f64, 0.7, -0.2]
        .iter()
        .map(|&v| {
            let a = 2.0 * v;
            let (th, sg) = (a.tanh(), 1.0 / (1.0 + (-a).exp()));
            2.0 * ((1.0 - th * th) * sg + th * sg * (1.0 - sg)) + 1.0
        })
        .collect();
    assert_close("diamond", &grad_of(&x), &manual, 1e-12, 1e-12);
}

thread_local! {
    // Per thread: tests for the two backends run concurrently, each backward on its own thread.
    static COUNTED_BACKWARD_CALLS: Cell<usize> = const { Cell::new(0) };
}

fn counted<B: Backend>(x: &Tensor<B>) -> Tensor<B> {
    Tensor::from_op("counted_identity", x.storage(), &[x], Attrs::None)
}

fn counted_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    COUNTED_BACKWARD_CALLS.with(|c| c.set(c.get() + 1));
    a.grad.clone()
}

fn each_node_backward_runs_exactly_once<B: Backend>() {
    register_op::<B>("counted_identity", vec![Some(counted_backward::<B>)]);
    let x = leaf::<B>(&[1.0, 2.0], &[2]);
    let shared = counted(&x);
    // `shared` feeds four consumers along paths of different lengths.
    let y = (&shared * &shared).exp() + shared.tanh() + (&shared + 1.0).relu().sum();
    COUNTED_BACKWARD_CALLS.with(|c| c.set(0));
    y.sum().backward().unwrap();
    assert_eq!(COUNTED_BACKWARD_CALLS.with(Cell::get), 1);
    let g = grad_of(&x);
    let want: Vec<f64> = [1.0f64, 2.0]
        .iter()
        .map(|&v| 2.0 * v * (v * v).exp() + (1.0 - v.tanh().powi(2)) + 2.0)
        .collect();
    assert_close("shared node", &g, &want, 1e-10, 1e-10);
}

fn a_chain_of_100k_ops_backpropagates_without_stack_overflow<B: Backend>() {
    let x = leaf::<B>(&[1.0], &[1]);
    let mut y = x.clone();
    for _ in 0..100_000 {
        y = y.add_scalar(0.0);
    }
    y = y.mul_scalar(3.0);
    y.sum().backward().unwrap();
    assert_eq!(grad_of(&x), vec![3.0]);
    drop(y); // dropping the 100k-deep graph must not overflow either
}

// ----- leaves and accumulation -----

fn gradients_accumulate_over_backward_calls<B: Backend>() {
    let x = leaf::<B>(&[1.0, -2.0], &[2]);
    (&x * &x).sum().backward().unwrap();
    (&x * &x).sum().backward().unwrap();
    assert_eq!(grad_of(&x), vec![4.0, -8.0]);
    x.zero_grad();
    assert!(x.grad().is_none());
    (&x * 3.0).sum().backward().unwrap();
    assert_eq!(grad_of(&x), vec![3.0, 3.0]);
}

fn only_leaves_that_require_grad_keep_gradients<B: Backend>() {
    let x = leaf::<B>(&[1.0, 2.0], &[2]);
    let c = t::<B>(&[3.0, 4.0], &[2]);
    let h = &x * &c;
    assert!(!h.is_leaf() && h.requires_grad() && !c.requires_grad());
    h.sum().backward().unwrap();
    assert_eq!(grad_of(&x), vec![3.0, 4.0]);
    assert!(h.grad().is_none(), "intermediate gradients are freed");
    assert!(c.grad().is_none(), "constants get no gradient");
}

fn gradients_of_shared_leaves_are_independent<B: Backend>() {
    // add's backward hands the same gradient tensor to both inputs: accumulating into one leaf
    // must not change the other's.
    let a = leaf::<B>(&[1.0], &[1]);
    let b = leaf::<B>(&[2.0], &[1]);
    (&a + &b).sum().backward().unwrap();
    (&a * 5.0).sum().backward().unwrap();
    assert_eq!(grad_of(&a), vec![6.0]);
    assert_eq!(grad_of(&b), vec![1.0]);
}

fn detach_cuts_the_graph_but_shares_data<B: Backend>() {
    let x = leaf::<B>(&[1.0, 2.0], &[2]);
    let d = x.detach();
    assert!(!d.requires_grad());
    assert_eq!(d.to_vec_f64(), vec![1.0, 2.0]);
    let y = (&x * &d).sum(); // d is a constant: dy/dx = d
    y.backward().unwrap();
    assert_eq!(grad_of(&x), vec![1.0, 2.0]);
}

// ----- grad mode -----

fn no_grad_nests_and_restores<B: Backend>() {
    let x = leaf::<B>(&[1.0], &[1]);
    {
        let _outer = no_grad();
        assert!(!(&x * 2.0).requires_grad());
        {
            let _inner = no_grad();
            assert!(!x.exp().requires_grad());
        }
        assert!(
            !duograd::autograd::is_grad_enabled(),
            "inner guard restored the outer state"
        );
        let _on = duograd::autograd::enable_grad();
        assert!(x.exp().requires_grad());
    }
    assert!(duograd::autograd::is_grad_enabled());
    assert!((&x * 2.0).requires_grad());
    assert!(!with_no_grad(|| x.tanh()).requires_grad());
}

fn non_differentiable_ops_never_record<B: Backend>() {
    let x = leaf::<B>(&[1.0, 3.0, 2.0, 0.0], &[2, 2]);
    for r in [
        x.argmax_dim(1, false),
        x.eq(&x),
        x.gt(&x.detach()),
        x.gt_scalar(1.0),
        x.sign(),
    ] {
        assert!(!r.requires_grad() && r.grad_fn().is_none());
    }
    assert_eq!(x.argmax_dim(1, false).to_vec_f64(), vec![1.0, 0.0]);
}

// ----- in-place -----

/// The ARENA "safe example": modifying a tensor before it is used is fine.
fn in_place_update_before_use_is_safe<B: Backend>() {
    let a = leaf::<B>(&[0.0, 1.0, 2.0, 3.0], &[4]);
    let b = t::<B>(&[2.0, 3.0, 1.0, 0.0], &[4]);
    b.add_scalar_(1.0);
    let c = &a * &b;
    c.sum().backward().unwrap();
    assert_eq!(grad_of(&a), vec![3.0, 4.0, 2.0, 1.0]);
}

/// The ARENA "unsafe example": modifying a tensor that backward needs must fail, naming the op.
fn in_place_update_of_a_saved_tensor_fails_backward<B: Backend>() {
    let a = leaf::<B>(&[0.0, 1.0, 2.0, 3.0], &[4]);
    let b = t::<B>(&[2.0, 3.0, 1.0, 0.0], &[4]);
    let c = &a * &b;
    b.add_scalar_(1.0);
    let err = c.sum().backward().unwrap_err();
    match &err {
        AutogradError::ModifiedInPlace {
            op,
            which,
            saved,
            now,
        } => {
            assert_eq!(
                (op.as_str(), which.as_str(), *saved, *now),
                ("mul", "input 1", 0, 1)
            );
        }
        other => panic!("expected ModifiedInPlace, got {other:?}"),
    }
    assert!(err.to_string().contains("'mul'"));
    assert!(a.grad().is_none(), "a failed backward writes no gradient");
}

fn in_place_update_of_a_leaf_requiring_grad_needs_no_grad<B: Backend>() {
    let w = leaf::<B>(&[1.0], &[1]);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| w.add_scalar_(1.0)));
    let msg = *r.unwrap_err().downcast::<String>().unwrap();
    assert!(
        msg.contains("add_scalar_") && msg.contains("no_grad"),
        "{msg}"
    );
    with_no_grad(|| w.add_scalar_(1.0));
    assert_eq!(w.to_vec_f64(), vec![2.0]);
}

// ----- errors -----

fn backward_errors_are_clear<B: Backend>() {
    let x = leaf::<B>(&[1.0, 2.0], &[2]);
    let y = &x * 2.0;
    assert_eq!(
        y.backward(),
        Err(AutogradError::NonScalarOutput { shape: vec![2] })
    );
    assert!(y
        .backward()
        .unwrap_err()
        .to_string()
        .contains("backward_with"));
    assert_eq!(
        y.backward_with(&t::<B>(&[1.0], &[1])),
        Err(AutogradError::GradShape {
            expected: vec![2],
            got: vec![1]
        })
    );
    y.backward_with(&t::<B>(&[1.0, 10.0], &[2])).unwrap();
    assert_eq!(grad_of(&x), vec![2.0, 20.0]);
    assert_eq!(t::<B>(&[1.0], &[1]).backward(), Err(AutogradError::NoGraph));

    let mystery = Tensor::from_op("never_registered", x.storage(), &[&x], Attrs::None);
    assert_eq!(
        mystery.sum().backward(),
        Err(AutogradError::BackwardNotRegistered {
            op: "never_registered".into()
        })
    );
    register_op::<B>(
        "half_differentiable",
        vec![Some(counted_backward::<B>), None],
    );
    let z = Tensor::from_op("half_differentiable", x.storage(), &[&x, &x], Attrs::None);
    assert_eq!(
        z.sum().backward(),
        Err(AutogradError::NotDifferentiable {
            op: "half_differentiable".into(),
            input: 1
        })
    );
}

fn shape_mismatch_panics_name_the_op_and_shapes<B: Backend>() {
    let a = t::<B>(&[1.0, 2.0, 3.0], &[3]);
    let b = t::<B>(&[1.0, 2.0, 3.0, 4.0], &[4]);
    let msg = |f: &dyn Fn()| {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        *r.unwrap_err().downcast::<String>().unwrap()
    };
    assert_eq!(
        msg(&|| drop(&a + &b)),
        "add: shapes [3] and [4] cannot be broadcast together"
    );
    let m = msg(&|| drop(a.reshape(&[3, 1]).matmul(&b.reshape(&[2, 2]))));
    assert!(
        m.contains("matmul") && m.contains("[3, 1]") && m.contains("[2, 2]"),
        "{m}"
    );
    let m = msg(&|| drop(a.reshape(&[2, 2])));
    assert!(m.contains("reshape") && m.contains("[3]"), "{m}");
    let m = msg(&|| drop(a.reshape(&[1, 3]).cross_entropy(&[3], Reduction::Mean)));
    assert!(m.contains("label 3") && m.contains("3 classes"), "{m}");
}

// ----- higher order -----

fn second_and_third_derivatives_of_cube<B: Backend>() {
    let x = leaf::<B>(&[2.0, -1.0], &[2]);
    let y = x.powf(3.0).sum();
    let d1 = grad(&y, &[&x], true).unwrap().remove(0); // 3x²
    assert_eq!(d1.to_vec_f64(), vec![12.0, 3.0]);
    let d2 = grad(&d1.sum(), &[&x], true).unwrap().remove(0); // 6x
    assert_eq!(d2.to_vec_f64(), vec![12.0, -6.0]);
    let d3 = grad(&d2.sum(), &[&x], false).unwrap().remove(0); // 6
    assert_eq!(d3.to_vec_f64(), vec![6.0, 6.0]);
}

fn without_create_graph_backward_records_nothing<B: Backend>() {
    let x = leaf::<B>(&[2.0], &[1]);
    x.powf(3.0).sum().backward().unwrap();
    let g = x.grad().unwrap();
    assert!(!g.requires_grad() && g.grad_fn().is_none());
    x.zero_grad();
    x.powf(3.0).sum().backward_opts(None, true).unwrap();
    assert!(
        x.grad().unwrap().requires_grad(),
        "with create_graph the gradient has a graph"
    );
}

/// Hessian-vector product of a small MLP's loss against finite differences of its gradient.
fn mlp_hessian_vector_product_matches_finite_differences<B: Backend>() {
    let mut rng = StdRng::seed_from_u64(0);
    let x = Tensor::<B>::randn(&[6, 4], 0.0, 1.0, &mut rng);
    let labels = [0, 2, 1, 1, 0, 2];
    let params: Vec<Tensor<B>> = [&[5usize, 4][..], &[5], &[3, 5], &[3]]
        .iter()
        .map(|s| Tensor::randn(s, 0.0, 0.5, &mut rng).requires_grad_(true))
        .collect();
    let v: Vec<Tensor<B>> = params
        .iter()
        .map(|p| Tensor::randn(p.shape(), 0.0, 1.0, &mut rng))
        .collect();
    let loss = |p: &[Tensor<B>]| {
        let h = (x.matmul_t(&p[0], false, true) + &p[1]).tanh();
        (h.matmul_t(&p[2], false, true) + &p[3]).cross_entropy(&labels, Reduction::Mean)
    };
    let refs: Vec<&Tensor<B>> = params.iter().collect();
    let g = grad(&loss(&params), &refs, true).unwrap();
    let gv = g
        .iter()
        .zip(&v)
        .map(|(g, v)| (g * v).sum())
        .reduce(|a, b| a + b)
        .unwrap();
    let hvp = grad(&gv, &refs, false).unwrap();
    // (∇L(θ + εv) - ∇L(θ - εv)) / 2ε
    let eps = 1e-5;
    let shifted = |sign: f64| -> Vec<Vec<f64>> {
        let p: Vec<Tensor<B>> = params
            .iter()
            .zip(&v)
            .map(|(p, v)| (p.detach() + &v.mul_scalar(sign * eps)).requires_grad_(true))
            .collect();
        let r: Vec<&Tensor<B>> = p.iter().collect();
        grad(&loss(&p), &r, false)
            .unwrap()
            .iter()
            .map(|t| t.to_vec_f64())
            .collect()
    };
    let (plus, minus) = (shifted(1.0), shifted(-1.0));
    for i in 0..params.len() {
        let fd: Vec<f64> = plus[i]
            .iter()
            .zip(&minus[i])
            .map(|(a, b)| (a - b) / (2.0 * eps))
            .collect();
        assert_close(&format!("hvp {i}"), &hvp[i].to_vec_f64(), &fd, 1e-7, 1e-5);
    }
}

// ----- fused kernels -----

/// The fused cross-entropy (forward, and the backward without `create_graph`) equals the
/// composed formula, `logsumexp - index` and `(softmax - one_hot) * weight`, for every reduction,
/// including rows of ±1e4 where a naive `exp` overflows. The `create_graph` backward, which is
/// the composed formula itself, agrees too.
fn fused_cross_entropy_equals_the_composed_formula<B: Backend>() {
    let (batch, classes) = (6, 4);
    let mut data =
        Tensor::<B>::randn(&[batch, classes], 0.0, 3.0, &mut StdRng::seed_from_u64(7)).to_vec_f64();
    data[..4].copy_from_slice(&[1e4, -1e4, 0.0, 3.0]);
    data[4..8].copy_from_slice(&[-1e4, -1e4, -1e4 + 1.0, -1e4]);
    data[8..12].copy_from_slice(&[1e4, 1e4, -1e4, 1e4 - 2.0]);
    // The first row's label is its -1e4 logit: loss 2e4, gradient -1 there.
    let labels = [1, 2, 3, 0, 3, 1];
    let rows: Vec<usize> = (0..batch).collect();
    let mut hot = vec![0.0; batch * classes];
    for (i, &l) in labels.iter().enumerate() {
        hot[i * classes + l] = 1.0;
    }
    let one_hot = t::<B>(&hot, &[batch, classes]);
    // The incoming gradient of the output: a scalar, or one weight per row for `None`.
    let g_none = Tensor::<B>::randn(&[batch], 0.0, 1.0, &mut StdRng::seed_from_u64(8));
    let g_scalar = t::<B>(&[0.7], &[]);
    for reduction in [Reduction::Mean, Reduction::Sum, Reduction::None] {
        let what = format!("{reduction:?}");
        let x = leaf::<B>(&data, &[batch, classes]);
        let g = match reduction {
            Reduction::None => g_none.clone(),
            _ => g_scalar.clone(),
        };
        let per_sample = x.logsumexp(1, false) - x.index(&[&rows, &labels]);
        let diff = x.softmax(1) - &one_hot;
        let (want_loss, want_grad) = match reduction {
            Reduction::Mean => (per_sample.mean(), &diff * &g.div_scalar(batch as f64)),
            Reduction::Sum => (per_sample.sum(), &diff * &g),
            Reduction::None => (per_sample, &diff * &g.unsqueeze(1)),
        };
        let want_grad = want_grad.to_vec_f64();
        assert!(
            want_grad.iter().all(|v| v.is_finite()),
            "{what}: {want_grad:?}"
        );

        let loss = x.cross_entropy(&labels, reduction);
        assert_eq!(loss.shape(), want_loss.shape(), "{what}: loss shape");
        let got_loss = loss.to_vec_f64();
        assert!(
            got_loss.iter().all(|v| v.is_finite()),
            "{what}: {got_loss:?}"
        );
        assert_close(
            &format!("{what}: loss"),
            &got_loss,
            &want_loss.to_vec_f64(),
            1e-12,
            1e-12,
        );

        loss.backward_with(&g).unwrap();
        let fused = x.grad().unwrap();
        assert!(
            !fused.requires_grad(),
            "{what}: without create_graph nothing is recorded"
        );
        assert_close(
            &format!("{what}: fused grad"),
            &fused.to_vec_f64(),
            &want_grad,
            1e-12,
            1e-12,
        );

        // With create_graph, `(loss * g).sum()` hands the op the same gradient `g`.
        let composed = grad(&(&loss * &g).sum(), &[&x], true).unwrap().remove(0);
        assert!(
            composed.requires_grad(),
            "{what}: create_graph keeps a graph"
        );
        assert_close(
            &format!("{what}: create_graph grad"),
            &composed.to_vec_f64(),
            &want_grad,
            1e-12,
            1e-12,
        );
    }
}

/// The fused relu backward (without `create_graph`) gives the gradient where the input is
/// positive and 0 elsewhere (at exactly 0 too), the same as the composed `grad * [x > 0]` that
/// `create_graph` records when the incoming gradient requires grad; and, as PyTorch's, 0 where
/// an infinite gradient meets a negative input, where the product would give NaN.
fn fused_relu_backward_equals_the_composed_formula<B: Backend>() {
    let data = [-2.0, -0.0, 0.0, 1e-30, 0.5, 3.0, -1e-30, 7.0];
    let g = Tensor::<B>::randn(&[2, 4], 0.0, 1.0, &mut StdRng::seed_from_u64(3));
    let want: Vec<f64> = data
        .iter()
        .zip(g.to_vec_f64())
        .map(|(&x, g)| if x > 0.0 { g } else { 0.0 })
        .collect();

    let x = leaf::<B>(&data, &[2, 4]);
    x.relu().backward_with(&g).unwrap();
    let fused = x.grad().unwrap();
    assert!(
        !fused.requires_grad(),
        "without create_graph nothing is recorded"
    );
    assert_eq!(fused.to_vec_f64(), want);

    // With create_graph and an incoming gradient that requires grad, the composed formula runs
    // and is recorded.
    let g = leaf::<B>(&g.to_vec_f64(), &[2, 4]);
    let composed = grad(&(&x.relu() * &g).sum(), &[&x], true)
        .unwrap()
        .remove(0);
    assert!(composed.requires_grad(), "create_graph keeps a graph");
    assert_eq!(composed.to_vec_f64(), want);

    let x = leaf::<B>(&[-1.0, 2.0], &[2]);
    x.relu()
        .backward_with(&t::<B>(&[f64::INFINITY, f64::INFINITY], &[2]))
        .unwrap();
    assert_eq!(x.grad().unwrap().to_vec_f64(), [0.0, f64::INFINITY]);
}

// ----- user-defined ops -----

fn softplus<B: Backend>(x: &Tensor<B>) -> Tensor<B> {
    let out = with_no_grad(|| (x.exp() + 1.0).log()).storage();
    Tensor::from_op("test_softplus", out, &[x], Attrs::None)
}

// d/dx softplus x = sigmoid x
fn softplus_backward<B: Backend>(a: &BackwardArgs<'_, B>) -> Tensor<B> {
    a.grad * &a.inputs[0].sigmoid()
}

fn user_registered_op_passes_gradcheck_and_gradgradcheck<B: Backend>() {
    register_op::<B>("test_softplus", vec![Some(softplus_backward::<B>)]);
    let x = leaf::<B>(&[-1.5, 0.0, 0.7, 3.0], &[2, 2]);
    gradcheck(
        |xs| softplus(&xs[0]),
        std::slice::from_ref(&x),
        GradcheckOptions::default(),
    )
    .unwrap();
    duograd::gradgradcheck(|xs| softplus(&xs[0]), &[x], GradcheckOptions::default(), 1).unwrap();
}

// ----- inspection -----

fn graph_can_be_inspected_and_exported<B: Backend>() {
    let x = leaf::<B>(&[1.0, 2.0], &[2]);
    let y = (x.tanh() * 2.0).sum();
    let f = y.grad_fn().unwrap();
    assert_eq!(f.name(), "sum");
    let chain: Vec<&str> =
        std::iter::successors(Some(f), |f| f.next_functions().into_iter().next())
            .map(|f| f.name())
            .collect();
    assert_eq!(chain, vec!["sum", "mul_scalar", "tanh"]);
    let dot = y.to_dot();
    assert!(
        dot.starts_with("digraph")
            && dot.contains("tanh")
            && dot.contains("leaf")
            && dot.contains("->")
    );
    assert_eq!(dot.matches("->").count(), 3);
    let tree = y.graph_tree();
    assert_eq!(tree.lines().count(), 4, "{tree}");
    assert!(format!("{y}").contains("grad_fn=sum"));
}

backend_tests!(
    linked_list_gradient_is_the_chain_rule,
    branching_and_rejoining_sums_gradients,
    each_node_backward_runs_exactly_once,
    a_chain_of_100k_ops_backpropagates_without_stack_overflow,
    gradients_accumulate_over_backward_calls,
    only_leaves_that_require_grad_keep_gradients,
    gradients_of_shared_leaves_are_independent,
    detach_cuts_the_graph_but_shares_data,
    no_grad_nests_and_restores,
    non_differentiable_ops_never_record,
    in_place_update_before_use_is_safe,
    in_place_update_of_a_saved_tensor_fails_backward,
    in_place_update_of_a_leaf_requiring_grad_needs_no_grad,
    backward_errors_are_clear,
    shape_mismatch_panics_name_the_op_and_shapes,
    second_and_third_derivatives_of_cube,
    without_create_graph_backward_records_nothing,
    mlp_hessian_vector_product_matches_finite_differences,
    fused_cross_entropy_equals_the_composed_formula,
    fused_relu_backward_equals_the_composed_formula,
    user_registered_op_passes_gradcheck_and_gradgradcheck,
    graph_can_be_inspected_and_exported,
);
