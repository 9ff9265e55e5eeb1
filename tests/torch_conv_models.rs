//! The convolutional models against PyTorch: `tests/fixtures/torch_lenet.*` and
//! `tests/fixtures/torch_cnn.*` hold state_dicts saved by PyTorch (float32, `num_batches_tracked`
//! int64), an input batch and PyTorch's outputs. Both load into duograd's models on every
//! backend and give PyTorch's outputs; the CNN also gives PyTorch's running statistics after a
//! train-mode forward.

#[macro_use]
mod common;

use common::{assert_close, TensorData};
use duograd::nn::models::{lenet, mnist_cnn as cnn};
use duograd::nn::{load_safetensors, Forward, Module, Sequential};
use duograd::{Backend, Element};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::Deserialize;
use std::collections::HashMap;

#[derive(Deserialize)]
struct Entry {
    shape: Vec<usize>,
    dtype: String,
}

/// A JSON object's entries in the file's order (a `serde_json::Map` would sort them).
struct InOrder<T>(Vec<(String, T)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for InOrder<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Visitor<T> {
            type Value = InOrder<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<InOrder<T>, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(InOrder(entries))
            }
        }
        d.deserialize_map(Visitor(std::marker::PhantomData))
    }
}

/// A buffer after the train-mode forward: a tensor, or the integer batch count.
#[derive(Deserialize)]
#[serde(untagged)]
enum BufferValue {
    Tensor(TensorData),
    Count(i64),
}

#[derive(Deserialize)]
struct TrainForward {
    output: TensorData,
    buffers: HashMap<String, BufferValue>,
}

#[derive(Deserialize)]
struct Fixture {
    /// PyTorch's `state_dict()` keys, in its order.
    state_dict: InOrder<Entry>,
    x: TensorData,
    output: TensorData,
    train_forward: Option<TrainForward>,
}

fn fixture(name: &str) -> Fixture {
    common::load_fixture(&format!("{name}.json"))
}

/// PyTorch's state_dict entries `(name, shape, dtype)`, in its order.
fn torch_entries(fx: &Fixture) -> Vec<(String, Vec<usize>, String)> {
    fx.state_dict
        .0
        .iter()
        .map(|(name, e)| (name.clone(), e.shape.clone(), e.dtype.clone()))
        .collect()
}

/// Our parameters then our buffers equal PyTorch's state_dict entries split the same way, each
/// in PyTorch's order, with the dtypes PyTorch saved (float32 tensors load into either
/// element type).
fn assert_same_state_dict<B: Backend>(model: &Sequential<B>, fx: &Fixture) {
    let torch = torch_entries(fx);
    let param_names: Vec<String> = model
        .named_parameters()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let ours_params: Vec<(String, Vec<usize>, String)> = model
        .named_parameters()
        .into_iter()
        .map(|(n, p)| (n, p.shape().to_vec(), "F32".to_string()))
        .collect();
    let ours_buffers: Vec<(String, Vec<usize>, String)> = model
        .named_buffers()
        .into_iter()
        .map(|(n, b)| {
            let dtype = if b.dtype() == "I64" { "I64" } else { "F32" };
            (n, b.shape().to_vec(), dtype.to_string())
        })
        .collect();
    let (torch_params, torch_buffers): (Vec<_>, Vec<_>) = torch
        .into_iter()
        .partition(|(n, _, _)| param_names.contains(n));
    assert_eq!(ours_params, torch_params);
    assert_eq!(ours_buffers, torch_buffers);
}

fn report<B: Backend>(what: &str, got: &[f64], want: &[f64]) {
    let err = got
        .iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    eprintln!(
        "[{} {}] {what}: max |duograd - torch| = {err:.2e}",
        B::name(),
        B::Elem::NAME
    );
}

fn pytorch_lenet_loads_and_gives_pytorchs_output<B: Backend>() {
    let fx = fixture("torch_lenet");
    let mut model = lenet::<B>(&mut StdRng::seed_from_u64(0));
    assert_same_state_dict(&model, &fx);
    load_safetensors(&model, common::fixture_path("torch_lenet.safetensors")).unwrap();
    model.eval();
    let y = model.forward(&fx.x.to_tensor()).to_vec_f64();
    report::<B>("lenet output", &y, &fx.output.data);
    assert_close("lenet output", &y, &fx.output.data, 1e-5, 1e-4);
}

fn pytorch_cnn_loads_and_gives_pytorchs_eval_output<B: Backend>() {
    let fx = fixture("torch_cnn");
    let mut model = cnn::<B>(&mut StdRng::seed_from_u64(1), 0);
    assert_same_state_dict(&model, &fx);
    load_safetensors(&model, common::fixture_path("torch_cnn.safetensors")).unwrap();
    for (name, b) in model.named_buffers() {
        if let Some(count) = b.as_counter() {
            assert_eq!(count.get(), 10, "{name}");
        }
    }
    model.eval();
    let y = model.forward(&fx.x.to_tensor()).to_vec_f64();
    report::<B>("cnn eval output", &y, &fx.output.data);
    assert_close("cnn eval output", &y, &fx.output.data, 1e-5, 1e-4);
}

/// Train mode with the dropout layers in evaluation mode, as the fixture was made: batch
/// statistics normalize, and every running statistic and batch count moves as PyTorch's did.
fn pytorch_cnn_train_forward_updates_buffers_as_pytorch<B: Backend>() {
    let fx = fixture("torch_cnn");
    let want = fx.train_forward.as_ref().expect("train_forward");
    let mut model = cnn::<B>(&mut StdRng::seed_from_u64(2), 0);
    load_safetensors(&model, common::fixture_path("torch_cnn.safetensors")).unwrap();
    model.train(true);
    let mut dropouts = 0;
    for layer in model.children_mut() {
        if layer.type_name() == "Dropout" {
            layer.set_training(false);
            dropouts += 1;
        }
    }
    assert_eq!(dropouts, 2);
    let y = model.forward(&fx.x.to_tensor()).to_vec_f64();
    report::<B>("cnn train output", &y, &want.output.data);
    assert_close("cnn train output", &y, &want.output.data, 1e-4, 1e-4);

    let buffers = model.named_buffers();
    assert_eq!(buffers.len(), want.buffers.len());
    for (name, b) in buffers {
        match &want.buffers[&name] {
            BufferValue::Count(n) => assert_eq!(b.as_counter().unwrap().get(), *n, "{name}"),
            BufferValue::Tensor(t) => {
                assert_eq!(b.shape(), &t.shape[..], "{name}");
                assert_close(&name, &b.to_vec_f64(), &t.data, 1e-5, 1e-4);
            }
        }
    }
}

backend_tests!(
    f32 and f64:
    pytorch_lenet_loads_and_gives_pytorchs_output,
    pytorch_cnn_loads_and_gives_pytorchs_eval_output,
    pytorch_cnn_train_forward_updates_buffers_as_pytorch,
);

/// Loading PyTorch's CNN file into an f32 model and saving it again gives PyTorch's file back:
/// the same header entries (F32 tensors, I64 counters, offsets) and byte-identical data.
#[test]
fn resaving_the_pytorch_cnn_in_f32_reproduces_pytorchs_file() {
    use safetensors::SafeTensors;
    let path = common::fixture_path("torch_cnn.safetensors");
    let model = cnn::<duograd::backends::NdArray<f32>>(&mut StdRng::seed_from_u64(3), 0);
    load_safetensors(&model, &path).unwrap();
    let ours = duograd::nn::module_to_safetensors(&model).unwrap();
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
