//! Safetensors weights: round trips on both backends (f32 and f64), buffers (tensors and `I64`
//! counters) saved and loaded as PyTorch does, loading the PyTorch-saved
//! `tests/fixtures/torch_mlp.safetensors` and reproducing PyTorch's output, and one error
//! variant per way a file can be wrong.

#[macro_use]
mod common;

use std::path::Path;

use duograd::nn::weights::{tensors_from_safetensors, tensors_to_safetensors};
use duograd::nn::{
    load_module_from_safetensors, load_safetensors, module_to_safetensors, read_safetensors,
    save_safetensors, write_safetensors, Activation, Buffer, Counter, Forward, Linear, Mlp, Module,
    ReLU, Sequential, WeightsError,
};
use duograd::{Backend, Element, Tensor};
use rand::rngs::StdRng;
use rand::SeedableRng;
use safetensors::{Dtype, SafeTensors};
use serde_json::Value;

fn fixture_file() -> std::path::PathBuf {
    common::fixture_path("torch_mlp.safetensors")
}

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

fn torch_json() -> Value {
    serde_json::from_str(include_str!("fixtures/torch_mlp.json")).expect("torch_mlp.json parses")
}

fn floats(v: &Value) -> Vec<f64> {
    v["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

/// `nn.Sequential(nn.Linear(4,3), nn.ReLU(), nn.Linear(3,2))`, randomly initialized.
fn torch_mlp_layout<B: Backend>(seed: u64) -> Sequential<B> {
    let mut r = rng(seed);
    Sequential::new()
        .with(Linear::new(4, 3, &mut r))
        .with(ReLU::new())
        .with(Linear::new(3, 2, &mut r))
}

fn values<B: Backend>(m: &dyn Module<B>) -> Vec<Vec<f64>> {
    m.parameters().iter().map(|p| p.to_vec_f64()).collect()
}

fn round_trip_through_a_file_restores_every_parameter<B: Backend>() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mlp.safetensors");
    let model = Mlp::<B>::new(&[6, 5, 4, 3], Activation::Tanh, &mut rng(1));
    save_safetensors(&model, &path).unwrap();

    let other = Mlp::<B>::new(&[6, 5, 4, 3], Activation::Tanh, &mut rng(2));
    assert_ne!(values(&other), values(&model));
    let ids: Vec<u64> = other.parameters().iter().map(|p| p.id()).collect();
    load_safetensors(&other, &path).unwrap();
    assert_eq!(
        values(&other),
        values(&model),
        "bit-identical after loading"
    );
    let after: Vec<u64> = other.parameters().iter().map(|p| p.id()).collect();
    assert_eq!(ids, after, "loaded in place: the same parameter tensors");
    let x = Tensor::<B>::randn(&[2, 6], 0.0, 1.0, &mut rng(3));
    assert_eq!(
        other.forward(&x).to_vec_f64(),
        model.forward(&x).to_vec_f64()
    );

    // In memory too.
    let bytes = module_to_safetensors(&model).unwrap();
    let third = Mlp::<B>::new(&[6, 5, 4, 3], Activation::Tanh, &mut rng(4));
    load_module_from_safetensors(&third, &bytes).unwrap();
    assert_eq!(values(&third), values(&model));
    assert_eq!(bytes, std::fs::read(&path).unwrap());
}

fn saved_file_has_pytorch_names_dtype_and_metadata<B: Backend>() {
    let model = torch_mlp_layout::<B>(5);
    let bytes = module_to_safetensors(&model).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut names = st.names();
    names.sort_unstable();
    assert_eq!(names, ["0.bias", "0.weight", "2.bias", "2.weight"]);
    let want_dtype = if B::Elem::NAME == "f32" {
        Dtype::F32
    } else {
        Dtype::F64
    };
    for (name, p) in model.named_parameters() {
        let view = st.tensor(&name).unwrap();
        assert_eq!(view.dtype(), want_dtype);
        assert_eq!(view.shape(), p.shape());
    }
    let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
    assert_eq!(
        meta.metadata()
            .as_ref()
            .unwrap()
            .get("format")
            .map(String::as_str),
        Some("pt")
    );
}

/// The fixture was written by `safetensors.torch.save_file(model.state_dict())`.
fn pytorch_weights_load_and_reproduce_pytorchs_output<B: Backend>() {
    let fx = torch_json();
    let model = torch_mlp_layout::<B>(6);
    load_safetensors(&model, fixture_file()).unwrap();
    for (name, p) in model.named_parameters() {
        // The JSON holds the shortest decimal of each f32 value.
        let want: Vec<f32> = floats(&fx["params"][&name])
            .iter()
            .map(|&v| v as f32)
            .collect();
        let got: Vec<f32> = p.to_vec_f64().iter().map(|&v| v as f32).collect();
        assert_eq!(got, want, "{name}");
    }
    let x = Tensor::<B>::from_f64(&floats(&fx["x"]), &[2, 4]);
    let y = model.forward(&x).to_vec_f64();
    let want = floats(&fx["output"]);
    let err = y
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    eprintln!(
        "[{} {}] max |output - torch| = {err:.2e}",
        B::name(),
        B::Elem::NAME
    );
    assert!(err < 1e-5);
}

fn missing_tensor_is_reported_by_name<B: Backend>() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("first_layer_only.safetensors");
    let mut r = rng(7);
    save_safetensors(
        &Sequential::<B>::new().with(Linear::new(4, 3, &mut r)),
        &path,
    )
    .unwrap();
    let model = torch_mlp_layout::<B>(8);
    let before = values(&model);
    match load_safetensors(&model, &path) {
        Err(WeightsError::MissingTensor { name, path: p }) => {
            assert_eq!(name, "2.weight");
            assert_eq!(p, path);
        }
        other => panic!("expected MissingTensor, got {other:?}"),
    }
    assert_eq!(values(&model), before, "a failed load changes nothing");
}

fn extra_tensor_is_reported_by_name<B: Backend>() {
    let model = Sequential::<B>::new().with(Linear::new(4, 3, &mut rng(9)));
    match load_safetensors(&model, fixture_file()) {
        Err(e @ WeightsError::UnexpectedTensor { .. }) => {
            assert!(e.to_string().contains("tensor '2.bias'"), "{e}");
        }
        other => panic!("expected UnexpectedTensor, got {other:?}"),
    }
}

fn wrong_shape_is_reported_with_both_shapes<B: Backend>() {
    let model = Mlp::<B>::new(&[4, 5, 2], Activation::Relu, &mut rng(10));
    let before = values(&model);
    match load_safetensors(&model, fixture_file()) {
        Err(e @ WeightsError::ShapeMismatch { .. }) => {
            let WeightsError::ShapeMismatch {
                ref name,
                ref expected,
                ref found,
                ..
            } = e
            else {
                unreachable!()
            };
            assert_eq!(
                (name.as_str(), expected.as_slice(), found.as_slice()),
                ("0.weight", &[5, 4][..], &[3, 4][..])
            );
            assert!(e.to_string().contains("'0.weight' has shape [3, 4]"), "{e}");
        }
        other => panic!("expected ShapeMismatch, got {other:?}"),
    }
    assert_eq!(values(&model), before);
}

fn truncated_files_are_errors_not_panics<B: Backend>() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.safetensors");
    let full = std::fs::read(fixture_file()).unwrap();
    let header_len = u64::from_le_bytes(full[..8].try_into().unwrap()) as usize;
    let model = torch_mlp_layout::<B>(11);
    // Inside the length prefix, inside the JSON header, inside the data, one byte short.
    for cut in [
        0,
        5,
        8,
        8 + header_len / 2,
        8 + header_len + 7,
        full.len() - 1,
    ] {
        std::fs::write(&path, &full[..cut]).unwrap();
        match load_safetensors(&model, &path) {
            Err(WeightsError::Truncated { path: p, .. }) => assert_eq!(p, path),
            other => panic!("cut at {cut}: expected Truncated, got {other:?}"),
        }
    }
    std::fs::write(&path, &full).unwrap();
    load_safetensors(&model, &path).unwrap();
}

fn garbage_bytes_are_a_corrupt_file_error<B: Backend>() {
    let model = torch_mlp_layout::<B>(12);
    let garbage: &[&[u8]] = &[
        b"this is not a safetensors file, just some text",
        // A plausible length, then no JSON.
        &[
            16, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
        ],
    ];
    let with_header = |json: &str, data: &[u8]| {
        let mut bytes = (json.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(json.as_bytes());
        bytes.extend_from_slice(data);
        bytes
    };
    let crafted = [
        // Valid JSON that is not a safetensors header.
        with_header(r#"{"a": true}"#, &[]),
        // Offsets that do not match the dtype and shape.
        with_header(
            r#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#,
            &[0; 4],
        ),
        // A header that is not valid JSON.
        with_header("{\u{0}", &[0xff]),
    ];
    let garbage = garbage
        .iter()
        .copied()
        .chain(crafted.iter().map(Vec::as_slice));
    for bytes in garbage {
        match load_module_from_safetensors(&model, bytes) {
            Err(WeightsError::Corrupt { .. }) => {}
            other => panic!(
                "{:?}: expected Corrupt, got {other:?}",
                String::from_utf8_lossy(bytes)
            ),
        }
    }
    // Trailing bytes after the data are corrupt, not truncated.
    let mut long = std::fs::read(fixture_file()).unwrap();
    long.extend_from_slice(b"extra");
    assert!(matches!(
        load_module_from_safetensors(&model, &long),
        Err(WeightsError::Corrupt { .. })
    ));
}

fn nonexistent_path_is_an_io_error_naming_the_file<B: Backend>() {
    let model = torch_mlp_layout::<B>(13);
    let path = Path::new("/nonexistent/dir/weights.safetensors");
    match load_safetensors(&model, path) {
        Err(e @ WeightsError::Io { .. }) => {
            let WeightsError::Io { path: p, source } = &e else {
                unreachable!()
            };
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
            assert_eq!(p, path);
            assert!(e
                .to_string()
                .starts_with("/nonexistent/dir/weights.safetensors"));
        }
        other => panic!("expected Io, got {other:?}"),
    }
    assert!(matches!(
        save_safetensors(&model, path),
        Err(WeightsError::Io { .. })
    ));
}

/// A raw safetensors buffer with one tensor `t`.
fn one_tensor_file(dtype: Dtype, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let view = safetensors::tensor::TensorView::new(dtype, shape.to_vec(), data).unwrap();
    safetensors::serialize([("t", view)], None).unwrap()
}

fn other_float_dtypes_are_converted_and_integers_rejected<B: Backend>() {
    // F16: 1.0, -2.0, 0.5; BF16: 1.0, -2.0, 0.5; F64 and F32 of the same values.
    let cases: Vec<(Dtype, Vec<u8>)> = vec![
        (
            Dtype::F16,
            [0x3c00u16, 0xc000, 0x3800]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        ),
        (
            Dtype::BF16,
            [0x3f80u16, 0xc000, 0x3f00]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        ),
        (
            Dtype::F32,
            [1.0f32, -2.0, 0.5]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        ),
        (
            Dtype::F64,
            [1.0f64, -2.0, 0.5]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        ),
    ];
    for (dtype, data) in cases {
        let tensors = tensors_from_safetensors::<B>(&one_tensor_file(dtype, &[3], &data)).unwrap();
        assert_eq!(tensors.len(), 1);
        assert_eq!(tensors[0].0, "t");
        assert_eq!(tensors[0].1.to_vec_f64(), vec![1.0, -2.0, 0.5], "{dtype:?}");
    }
    let ints = one_tensor_file(Dtype::I64, &[1], &7i64.to_le_bytes());
    match tensors_from_safetensors::<B>(&ints) {
        Err(WeightsError::UnsupportedDtype { name, dtype, .. }) => {
            assert_eq!((name.as_str(), dtype.as_str()), ("t", "I64"));
        }
        other => panic!("expected UnsupportedDtype, got {other:?}"),
    }
}

fn named_tensors_round_trip_sorted_by_name<B: Backend>() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("named.safetensors");
    let a = Tensor::<B>::from_f64(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let s = Tensor::<B>::scalar(0.5);
    write_safetensors(&[("z".to_string(), a.clone()), ("a".to_string(), s)], &path).unwrap();
    let back = read_safetensors::<B>(&path).unwrap();
    let names: Vec<&str> = back.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["a", "z"]);
    assert_eq!(back[0].1.shape(), &[] as &[usize]);
    assert_eq!(back[1].1.shape(), &[2, 3]);
    assert_eq!(back[1].1.to_vec_f64(), a.to_vec_f64());
    let dup = [("x".to_string(), a.clone()), ("x".to_string(), a)];
    assert!(matches!(
        tensors_to_safetensors(&dup),
        Err(WeightsError::Corrupt { .. })
    ));
}

/// A module with no parameters and two buffers: a float tensor and an integer counter.
#[derive(Module)]
struct Stats<B: Backend> {
    running: Buffer<B>,
    count: Counter,
    training: bool,
}

impl<B: Backend> Stats<B> {
    fn new(values: &[f64], count: i64) -> Self {
        Stats {
            running: Tensor::from_f64(values, &[values.len()]).into(),
            count: Counter::new(count),
            training: true,
        }
    }
}

impl<B: Backend> Forward<B> for Stats<B> {
    fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
        x.clone()
    }
}

/// `Linear(3, 2)` then [`Stats`] of two values: state_dict `0.weight`, `0.bias`, `1.running`,
/// `1.count`.
fn with_stats<B: Backend>(seed: u64, values: &[f64], count: i64) -> Sequential<B> {
    Sequential::new()
        .with(Linear::new(3, 2, &mut rng(seed)))
        .with(Stats::new(values, count))
}

fn state<B: Backend>(m: &dyn Module<B>) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let buffers = m.buffers().iter().map(|b| b.to_vec_f64()).collect();
    (values(m), buffers)
}

/// A safetensors buffer of the given raw tensors (as PyTorch would write them).
fn raw_file(entries: &[(&str, Dtype, Vec<usize>, Vec<u8>)]) -> Vec<u8> {
    let views: Vec<(&str, safetensors::tensor::TensorView<'_>)> = entries
        .iter()
        .map(|(name, dtype, shape, data)| {
            let view = safetensors::tensor::TensorView::new(*dtype, shape.clone(), data);
            (*name, view.unwrap())
        })
        .collect();
    safetensors::serialize(views, None).unwrap()
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// The file PyTorch would write for [`with_stats`]: F32 tensors and an I64 scalar counter.
fn torch_style_stats_file(count: &(Dtype, Vec<usize>, Vec<u8>)) -> Vec<u8> {
    raw_file(&[
        ("0.weight", Dtype::F32, vec![2, 3], f32_bytes(&[0.5; 6])),
        ("0.bias", Dtype::F32, vec![2], f32_bytes(&[-1.0, 1.0])),
        ("1.running", Dtype::F32, vec![2], f32_bytes(&[0.25, 4.0])),
        ("1.count", count.0, count.1.clone(), count.2.clone()),
    ])
}

fn buffers_round_trip_with_counters_saved_as_i64<B: Backend>() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stats.safetensors");
    let model = with_stats::<B>(20, &[1.5, -2.0], 7);
    save_safetensors(&model, &path).unwrap();

    let bytes = std::fs::read(&path).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut names = st.names();
    names.sort_unstable();
    assert_eq!(names, ["0.bias", "0.weight", "1.count", "1.running"]);
    let count = st.tensor("1.count").unwrap();
    assert_eq!(count.dtype(), Dtype::I64);
    assert_eq!(count.shape(), &[] as &[usize]);
    assert_eq!(count.data(), 7i64.to_le_bytes());
    let float = if B::Elem::NAME == "f32" {
        Dtype::F32
    } else {
        Dtype::F64
    };
    assert_eq!(st.tensor("1.running").unwrap().dtype(), float);

    let other = with_stats::<B>(21, &[0.0, 0.0], 0);
    let handles = other.buffers();
    load_safetensors(&other, &path).unwrap();
    assert_eq!(state(&other), state(&model));
    assert_eq!(state(&other).1, [vec![1.5, -2.0], vec![7.0]]);
    // Loaded in place: the handles taken before the load see the new values.
    assert!(handles
        .iter()
        .zip(other.buffers())
        .all(|(a, b)| a.same_as(&b)));
    assert_eq!(handles[1].as_counter().unwrap().get(), 7);
    assert_eq!(module_to_safetensors(&model).unwrap(), bytes);
}

fn a_pytorch_file_with_an_i64_counter_loads<B: Backend>() {
    let count = (Dtype::I64, vec![], 1234i64.to_le_bytes().to_vec());
    let model = with_stats::<B>(22, &[0.0, 0.0], 0);
    load_module_from_safetensors(&model, &torch_style_stats_file(&count)).unwrap();
    assert_eq!(state(&model).1, [vec![0.25, 4.0], vec![1234.0]]);
    assert_eq!(values(&model), [vec![0.5; 6], vec![-1.0, 1.0]]);
}

fn a_counter_of_another_dtype_or_shape_is_reported_by_name<B: Backend>() {
    let model = with_stats::<B>(23, &[3.0, 3.0], 5);
    let before = state(&model);
    let as_float = (Dtype::F32, vec![], f32_bytes(&[1.0]));
    match load_module_from_safetensors(&model, &torch_style_stats_file(&as_float)) {
        Err(e @ WeightsError::DtypeMismatch { .. }) => {
            let WeightsError::DtypeMismatch {
                ref name,
                ref expected,
                ref found,
                ..
            } = e
            else {
                unreachable!()
            };
            assert_eq!(
                (name.as_str(), expected.as_str(), found.as_str()),
                ("1.count", "I64", "F32")
            );
            assert!(
                e.to_string().ends_with(
                    "tensor '1.count' has dtype F32, but the model's buffer of that name is I64"
                ),
                "{e}"
            );
        }
        other => panic!("expected DtypeMismatch, got {other:?}"),
    }
    let with_shape = (Dtype::I64, vec![1], 1i64.to_le_bytes().to_vec());
    match load_module_from_safetensors(&model, &torch_style_stats_file(&with_shape)) {
        Err(WeightsError::ShapeMismatch {
            name,
            expected,
            found,
            ..
        }) => {
            assert_eq!(name, "1.count");
            assert_eq!((expected, found), (vec![], vec![1]));
        }
        other => panic!("expected ShapeMismatch, got {other:?}"),
    }
    assert_eq!(state(&model), before, "a failed load changes nothing");
}

fn a_missing_or_integer_float_buffer_is_reported_by_name<B: Backend>() {
    let model = with_stats::<B>(24, &[3.0, 3.0], 5);
    let before = state(&model);
    let count = 1i64.to_le_bytes().to_vec();
    let missing = raw_file(&[
        ("0.weight", Dtype::F32, vec![2, 3], f32_bytes(&[0.5; 6])),
        ("0.bias", Dtype::F32, vec![2], f32_bytes(&[-1.0, 1.0])),
        ("1.count", Dtype::I64, vec![], count.clone()),
    ]);
    match load_module_from_safetensors(&model, &missing) {
        Err(e @ WeightsError::MissingTensor { .. }) => assert_eq!(
            e.to_string(),
            "<bytes>: no tensor '1.running' for the model's parameter or buffer of that name"
        ),
        other => panic!("expected MissingTensor, got {other:?}"),
    }
    let integer_running = raw_file(&[
        ("0.weight", Dtype::F32, vec![2, 3], f32_bytes(&[0.5; 6])),
        ("0.bias", Dtype::F32, vec![2], f32_bytes(&[-1.0, 1.0])),
        (
            "1.running",
            Dtype::I64,
            vec![2],
            [count.clone(), count].concat(),
        ),
        ("1.count", Dtype::I64, vec![], 1i64.to_le_bytes().to_vec()),
    ]);
    match load_module_from_safetensors(&model, &integer_running) {
        Err(WeightsError::UnsupportedDtype { name, dtype, .. }) => {
            assert_eq!((name.as_str(), dtype.as_str()), ("1.running", "I64"));
        }
        other => panic!("expected UnsupportedDtype, got {other:?}"),
    }
    assert_eq!(state(&model), before);
}

backend_tests!(
    f32 and f64:
    round_trip_through_a_file_restores_every_parameter,
    saved_file_has_pytorch_names_dtype_and_metadata,
    pytorch_weights_load_and_reproduce_pytorchs_output,
    missing_tensor_is_reported_by_name,
    extra_tensor_is_reported_by_name,
    wrong_shape_is_reported_with_both_shapes,
    truncated_files_are_errors_not_panics,
    garbage_bytes_are_a_corrupt_file_error,
    nonexistent_path_is_an_io_error_naming_the_file,
    other_float_dtypes_are_converted_and_integers_rejected,
    named_tensors_round_trip_sorted_by_name,
    buffers_round_trip_with_counters_saved_as_i64,
    a_pytorch_file_with_an_i64_counter_loads,
    a_counter_of_another_dtype_or_shape_is_reported_by_name,
    a_missing_or_integer_float_buffer_is_reported_by_name,
);

/// Loading the PyTorch file and saving it again gives PyTorch's layout back: the same tensor
/// entries in the header and byte-identical tensor data (our header adds `{"format": "pt"}`).
#[test]
fn resaving_pytorch_weights_in_f32_reproduces_the_pytorch_file() {
    let model = torch_mlp_layout::<duograd::backends::NdArray<f32>>(14);
    load_safetensors(&model, fixture_file()).unwrap();
    let ours = module_to_safetensors(&model).unwrap();
    let theirs = std::fs::read(fixture_file()).unwrap();
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
            (b.dtype, &b.shape, b.data_offsets)
        );
    }
    assert_eq!(ours[8 + n_ours..], theirs[8 + n_theirs..]);
}

/// An f64 file loads into an f32 model, rounding each value to nearest.
#[test]
fn f64_weights_load_into_an_f32_model_rounded() {
    let m64 = Mlp::<duograd::backends::NdArray<f64>>::new(&[3, 2], Activation::Relu, &mut rng(15));
    let bytes = module_to_safetensors(&m64).unwrap();
    let m32 = Mlp::<duograd::backends::Nalgebra<f32>>::new(&[3, 2], Activation::Relu, &mut rng(16));
    load_module_from_safetensors(&m32, &bytes).unwrap();
    for (a, b) in m64.parameters().iter().zip(m32.parameters()) {
        let rounded: Vec<f64> = a.to_vec_f64().iter().map(|&v| v as f32 as f64).collect();
        assert_eq!(rounded, b.to_vec_f64());
    }
}
