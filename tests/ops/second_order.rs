//! Second-order gradients against PyTorch: d²/dx² of x³ and the Hessian-vector products of a
//! small MLP's loss and of three small convolutional losses (pooling, batch norm).

use duograd::autograd::grad;
use duograd::{Backend, Conv2dOptions, Pool2dOptions, Reduction, Tensor};
use serde::Deserialize;

use crate::common::cases::ops_fixture;
use crate::common::{assert_close, TensorData};

#[derive(Deserialize)]
struct SecondOrder {
    name: String,
    params: Vec<TensorData>,
    loss: TensorData,
    grads: Vec<TensorData>,
    v: Vec<TensorData>,
    hvp: Vec<TensorData>,
    #[serde(default)]
    x: Option<TensorData>,
    #[serde(default)]
    labels: Vec<usize>,
}

fn case(name: &str) -> SecondOrder {
    let all = ops_fixture().second_order;
    let raw = all
        .into_iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no second-order case {name}"));
    serde_json::from_value(raw).expect("second-order case format")
}

/// Checks loss, gradient and Hessian-vector product `d/dθ (∇L · v)` against the fixture.
fn check_hvp<B: Backend>(c: &SecondOrder, loss_fn: impl Fn(&[Tensor<B>]) -> Tensor<B>) {
    let params: Vec<Tensor<B>> = c
        .params
        .iter()
        .map(|p| p.to_tensor::<B>().requires_grad_(true))
        .collect();
    let refs: Vec<&Tensor<B>> = params.iter().collect();
    let loss = loss_fn(&params);
    assert_close(
        &format!("{} loss", c.name),
        &loss.to_vec_f64(),
        &c.loss.data,
        1e-12,
        1e-10,
    );
    let grads = grad(&loss, &refs, true).unwrap();
    let dot = grads
        .iter()
        .zip(&c.v)
        .map(|(g, v)| (g * &v.to_tensor::<B>()).sum())
        .reduce(|a, b| a + b)
        .unwrap();
    let hvp = grad(&dot, &refs, false).unwrap();
    for i in 0..params.len() {
        assert_close(
            &format!("{} grad {i}", c.name),
            &grads[i].to_vec_f64(),
            &c.grads[i].data,
            1e-12,
            1e-10,
        );
        assert_close(
            &format!("{} hvp {i}", c.name),
            &hvp[i].to_vec_f64(),
            &c.hvp[i].data,
            1e-12,
            1e-10,
        );
    }
}

fn cube_second_derivative_matches_pytorch<B: Backend>() {
    check_hvp::<B>(&case("cube"), |p| p[0].powf(3.0).sum());
}

fn mlp_hessian_vector_product_matches_pytorch<B: Backend>() {
    let c = case("mlp_hvp");
    let x = c.x.as_ref().expect("mlp_hvp has x").to_tensor::<B>();
    let labels = c.labels.clone();
    check_hvp::<B>(&c, |p| {
        let h = (x.matmul_t(&p[0], false, true) + &p[1]).relu();
        (h.matmul_t(&p[2], false, true) + &p[3]).cross_entropy(&labels, Reduction::Mean)
    });
}

fn conv_tanh_hessian_vector_product_matches_pytorch<B: Backend>() {
    check_hvp::<B>(&case("conv_tanh_hvp"), |p| {
        p[0].conv2d(
            &p[1],
            Some(&p[2]),
            Conv2dOptions::new().stride(2).padding(1),
        )
        .tanh()
        .square()
        .sum()
    });
}

fn conv_pool_cross_entropy_hessian_vector_product_matches_pytorch<B: Backend>() {
    let c = case("conv_pool_ce_hvp");
    let x =
        c.x.as_ref()
            .expect("conv_pool_ce_hvp has x")
            .to_tensor::<B>();
    let labels = c.labels.clone();
    check_hvp::<B>(&c, |p| {
        let h = x
            .conv2d(&p[0], Some(&p[1]), Conv2dOptions::new().padding(1))
            .max_pool2d(Pool2dOptions::new(2))
            .flatten(1, -1);
        (h.matmul_t(&p[2], false, true) + &p[3]).cross_entropy(&labels, Reduction::Mean)
    });
}

fn conv_batch_norm_hessian_vector_product_matches_pytorch<B: Backend>() {
    let c = case("conv_batch_norm_hvp");
    let x =
        c.x.as_ref()
            .expect("conv_batch_norm_hvp has x")
            .to_tensor::<B>();
    check_hvp::<B>(&c, |p| {
        x.conv2d(&p[0], Some(&p[1]), Conv2dOptions::new().padding(1))
            .batch_norm(None, None, Some(&p[2]), Some(&p[3]), true, 0.1, 1e-5)
            .tanh()
            .square()
            .sum()
    });
}

backend_tests!(
    cube_second_derivative_matches_pytorch,
    mlp_hessian_vector_product_matches_pytorch,
    conv_tanh_hessian_vector_product_matches_pytorch,
    conv_pool_cross_entropy_hessian_vector_product_matches_pytorch,
    conv_batch_norm_hessian_vector_product_matches_pytorch
);
