//! `Embedding`, `LayerNorm` and `Identity` against PyTorch: `tests/fixtures/torch_layers.*`
//! hold a state_dict saved by PyTorch (`nn.Sequential(Embedding(10, 6, padding_idx=0),
//! LayerNorm(6), Linear(6, 3), Identity())`), an index batch, PyTorch's output and the
//! embedding table's gradient.

#[macro_use]
mod common;

use common::{assert_close, TensorData};
use duograd::nn::{
    load_safetensors, module_to_safetensors, Embedding, Forward, Identity, LayerNorm, Linear,
    Module, Sequential,
};
use duograd::{Backend, Tensor};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    x: TensorData,
    output: TensorData,
    embedding_grad: TensorData,
}

fn model<B: Backend>(seed: u64) -> Sequential<B> {
    let mut rng = StdRng::seed_from_u64(seed);
    Sequential::new()
        .with(Embedding::new(10, 6, Some(0), &mut rng))
        .with(LayerNorm::new(&[6]))
        .with(Linear::new(6, 3, &mut rng))
        .with(Identity::new())
}

fn pytorch_layers_load_and_give_pytorchs_output_and_gradient<B: Backend>() {
    let fx: Fixture = common::load_fixture("torch_layers.json");
    let model = model::<B>(7);
    let names: Vec<String> = model
        .named_parameters()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        names,
        ["0.weight", "1.weight", "1.bias", "2.weight", "2.bias"]
    );
    load_safetensors(&model, common::fixture_path("torch_layers.safetensors")).unwrap();
    let y = model.forward(&fx.x.to_tensor());
    assert_eq!(y.shape(), &fx.output.shape[..]);
    assert_close("output", &y.to_vec_f64(), &fx.output.data, 1e-5, 1e-4);
    y.sum().backward().unwrap();
    let grad = model.parameters()[0].grad().unwrap().to_vec_f64();
    assert_close("embedding grad", &grad, &fx.embedding_grad.data, 1e-5, 1e-4);
    assert!(
        grad[..6].iter().all(|&g| g == 0.0),
        "the padding row gets no gradient"
    );
}

fn a_fresh_embedding_has_a_zero_padding_row_and_layer_norm_starts_as_the_identity_affine<
    B: Backend,
>() {
    let mut rng = StdRng::seed_from_u64(0);
    let emb = Embedding::<B>::new(5, 3, Some(2), &mut rng);
    let w = emb.weight.to_vec_f64();
    assert_eq!(w[6..9], [0.0; 3]);
    assert!(w[..6].iter().chain(&w[9..]).all(|&v| v != 0.0));
    let ln = LayerNorm::<B>::new(&[3]);
    let x = Tensor::<B>::from_f64(&[1.0, 2.0, 6.0], &[1, 3]);
    let plain = x.layer_norm(&[3], None, None, 1e-5).to_vec_f64();
    assert_eq!(ln.forward(&x).to_vec_f64(), plain);
}

backend_tests!(
    f32 and f64:
    pytorch_layers_load_and_give_pytorchs_output_and_gradient,
    a_fresh_embedding_has_a_zero_padding_row_and_layer_norm_starts_as_the_identity_affine,
);

/// Loading PyTorch's file and saving it again gives PyTorch's file back: the same entries
/// (dtype, shape, offsets) and byte-identical data.
#[test]
fn resaving_the_pytorch_layers_reproduces_pytorchs_file() {
    use safetensors::SafeTensors;
    let path = common::fixture_path("torch_layers.safetensors");
    let model = model::<duograd::backends::NdArray<f32>>(3);
    load_safetensors(&model, &path).unwrap();
    let ours = module_to_safetensors(&model).unwrap();
    let theirs = std::fs::read(&path).unwrap();
    let (n_ours, meta_ours) = SafeTensors::read_metadata(&ours).unwrap();
    let (n_theirs, meta_theirs) = SafeTensors::read_metadata(&theirs).unwrap();
    assert_eq!(meta_ours.offset_keys(), meta_theirs.offset_keys());
    for name in meta_theirs.offset_keys() {
        let (a, b) = (
            meta_ours.info(&name).unwrap(),
            meta_theirs.info(&name).unwrap(),
        );
        assert_eq!(
            (a.dtype, &a.shape, a.data_offsets),
            (b.dtype, &b.shape, b.data_offsets),
            "{name}"
        );
    }
    assert!(ours[8 + n_ours..] == theirs[8 + n_theirs..]);
}

#[test]
#[should_panic(expected = "Embedding::forward: index 2.5 is not a whole number in 0..4")]
fn embedding_rejects_an_index_that_is_not_a_whole_number() {
    let emb =
        Embedding::<duograd::backends::NdArray<f32>>::from_tensor(Tensor::zeros(&[4, 2]), None);
    emb.forward(&Tensor::from_f64(&[1.0, 2.5], &[2]));
}

#[test]
#[should_panic(expected = "embedding: index 4 is out of range for num_embeddings of size 4")]
fn embedding_rejects_an_index_out_of_range() {
    let table = Tensor::<duograd::backends::NdArray<f64>>::zeros(&[4, 2]);
    table.embedding(&[0, 4], &[2], None);
}

#[test]
#[should_panic(
    expected = "layer_norm: input of shape [2, 3] does not end with normalized_shape [2]"
)]
fn layer_norm_rejects_a_shape_that_does_not_end_the_input() {
    Tensor::<duograd::backends::NdArray<f64>>::zeros(&[2, 3]).layer_norm(&[2], None, None, 1e-5);
}

#[test]
#[should_panic(expected = "layer_norm: weight of shape [4] does not match normalized_shape [3]")]
fn layer_norm_rejects_a_weight_of_the_wrong_shape() {
    let x = Tensor::<duograd::backends::NdArray<f64>>::zeros(&[2, 3]);
    x.layer_norm(&[3], Some(&Tensor::ones(&[4])), None, 1e-5);
}
