//! `#[derive(Module)]`: the parameters and buffers a derived struct lists (names and PyTorch's
//! order), training through them, a safetensors round trip, and train/eval reaching submodules
//! inside `Vec`s, arrays and `Option`s. The compile errors are in `derive/tests/ui`.

#[macro_use]
mod common;

use duograd::backends::NdArray;
use duograd::nn::{
    load_safetensors, save_safetensors, BatchNorm1d, Buffer, Counter, Forward, Linear, Module,
    Parameter, ReLU, Sequential,
};
use duograd::optim::{Optimizer, Sgd, SgdConfig};
use duograd::{Backend, Tensor};
use rand::rngs::StdRng;
use rand::SeedableRng;

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// Every kind of field the derive handles, in one model: `4 → 8` input layer, two hidden
/// layers, batch norm, an optional projection added to the features, an absent layer, two
/// heads summed, a learned output scale, a boxed activation, and a setting the derive skips.
#[derive(Module)]
struct Net<B: Backend> {
    input: Linear<B>,
    hidden: Vec<Linear<B>>,
    norm: BatchNorm1d<B>,
    skip_proj: Option<Linear<B>>,
    unused: Option<Linear<B>>,
    heads: [Linear<B>; 2],
    scale: Parameter<B>,
    act: Box<dyn Forward<B>>,
    #[module(skip)]
    note: String,
    training: bool,
}

impl<B: Backend> Net<B> {
    fn new(seed: u64) -> Self {
        let rng = &mut rng(seed);
        Net {
            input: Linear::new(4, 8, rng),
            hidden: vec![Linear::new(8, 8, rng), Linear::new(8, 8, rng)],
            norm: BatchNorm1d::new(8),
            skip_proj: Some(Linear::new(8, 8, rng)),
            unused: None,
            heads: [Linear::new(8, 3, rng), Linear::new(8, 3, rng)],
            scale: Parameter::new(Tensor::rand_uniform(&[3], 0.5, 1.5, rng)),
            act: Box::new(ReLU::new()),
            note: "not a module".into(),
            training: true,
        }
    }
}

impl<B: Backend> Forward<B> for Net<B> {
    fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
        let mut h = self.act.forward(&self.input.forward(x));
        for layer in &self.hidden {
            h = self.act.forward(&layer.forward(&h));
        }
        h = self.norm.forward(&h);
        if let Some(proj) = &self.skip_proj {
            h = &h + &proj.forward(&h);
        }
        if let Some(unused) = &self.unused {
            h = unused.forward(&h);
        }
        let out = &self.heads[0].forward(&h) + &self.heads[1].forward(&h);
        out.mul(&self.scale)
    }
}

/// Nested containers, lists of parameters and counters, an optional parameter, and no
/// `training` field.
#[derive(Module)]
struct Nested<B: Backend> {
    stages: Vec<Vec<Linear<B>>>,
    gates: Vec<Option<Linear<B>>>,
    scales: [Parameter<B>; 2],
    offset: Option<Parameter<B>>,
    steps: Vec<Counter>,
}

impl<B: Backend> Nested<B> {
    fn new(seed: u64) -> Self {
        let rng = &mut rng(seed);
        Nested {
            stages: vec![
                vec![Linear::new(2, 2, rng), Linear::new(2, 2, rng)],
                vec![Linear::new(2, 2, rng)],
            ],
            gates: vec![Some(Linear::new(2, 2, rng)), None],
            scales: [Tensor::ones(&[2]).into(), Tensor::ones(&[2]).into()],
            offset: Some(Tensor::zeros(&[2]).into()),
            steps: vec![Counter::new(1), Counter::new(2)],
        }
    }
}

fn names<B: Backend>(m: &dyn Module<B>) -> Vec<String> {
    m.named_parameters().into_iter().map(|(n, _)| n).collect()
}

fn buffer_names<B: Backend>(m: &dyn Module<B>) -> Vec<String> {
    m.named_buffers().into_iter().map(|(n, _)| n).collect()
}

/// The names and order PyTorch's `named_parameters()` and `named_buffers()` give for the same
/// model (printed by torch 2.15), with `nn.ModuleList` for the `Vec` and the array:
///
/// ```python
/// class Net(nn.Module):
///     def __init__(s):
///         super().__init__()
///         s.input = nn.Linear(4, 8)
///         s.hidden = nn.ModuleList([nn.Linear(8, 8), nn.Linear(8, 8)])
///         s.norm = nn.BatchNorm1d(8)
///         s.skip_proj = nn.Linear(8, 8)
///         s.unused = None
///         s.heads = nn.ModuleList([nn.Linear(8, 3), nn.Linear(8, 3)])
///         s.scale = nn.Parameter(torch.ones(3))
///         s.act = nn.ReLU()
/// ```
fn lists_every_parameter_and_buffer_in_pytorch_order<B: Backend>() {
    let net = Net::<B>::new(0);
    assert_eq!(
        names(&net),
        [
            "scale",
            "input.weight",
            "input.bias",
            "hidden.0.weight",
            "hidden.0.bias",
            "hidden.1.weight",
            "hidden.1.bias",
            "norm.weight",
            "norm.bias",
            "skip_proj.weight",
            "skip_proj.bias",
            "heads.0.weight",
            "heads.0.bias",
            "heads.1.weight",
            "heads.1.bias",
        ]
    );
    assert_eq!(
        buffer_names(&net),
        [
            "norm.running_mean",
            "norm.running_var",
            "norm.num_batches_tracked"
        ]
    );
    // The handles are the fields' own tensors, not copies.
    let params = net.named_parameters();
    assert!(params[0].1.same_as(&net.scale));
    assert!(params[13].1.same_as(&net.heads[1].weight));
    let count = 3 + (4 * 8 + 8) + 3 * (8 * 8 + 8) + 2 * 8 + 2 * (8 * 3 + 3);
    assert_eq!(net.num_parameters(), count);
    assert_eq!(net.note, "not a module");
}

/// An `Option` that is `Some` lists its content under the field's name; `None` lists nothing.
fn an_option_lists_its_content_only_when_some<B: Backend>() {
    let mut net = Net::<B>::new(1);
    net.unused = Some(Linear::new(3, 3, &mut rng(2)));
    net.skip_proj = None;
    let names = names(&net);
    assert!(names.contains(&"unused.weight".to_string()));
    assert!(!names.iter().any(|n| n.starts_with("skip_proj")));
    assert_eq!(names.len(), 15);
}

fn nested_containers_get_one_index_per_level<B: Backend>() {
    let nested = Nested::<B>::new(3);
    assert_eq!(
        names(&nested),
        [
            "scales.0",
            "scales.1",
            "offset",
            "stages.0.0.weight",
            "stages.0.0.bias",
            "stages.0.1.weight",
            "stages.0.1.bias",
            "stages.1.0.weight",
            "stages.1.0.bias",
            "gates.0.weight",
            "gates.0.bias",
        ]
    );
    let buffers = nested.named_buffers();
    assert_eq!(buffer_names(&nested), ["steps.0", "steps.1"]);
    assert!(buffers[1]
        .1
        .same_as(&Buffer::Counter(nested.steps[1].clone())));
}

/// Every parameter gets a gradient from one backward pass, and SGD through the derived
/// `parameters()` lowers the loss.
fn trains_through_the_derived_parameters<B: Backend>() {
    let net = Net::<B>::new(4);
    let x = Tensor::<B>::randn(&[16, 4], 0.0, 1.0, &mut rng(5));
    let y = Tensor::<B>::randn(&[16, 3], 0.0, 1.0, &mut rng(6));
    let loss = |net: &Net<B>| net.forward(&x).mse_loss(&y);
    let value = |net: &Net<B>| loss(net).to_vec_f64()[0];

    loss(&net).backward().unwrap();
    for (name, p) in net.named_parameters() {
        let grad = p.grad().unwrap_or_else(|| panic!("{name} has no gradient"));
        assert!(grad.to_vec_f64().iter().any(|g| *g != 0.0), "{name}");
    }

    let mut opt = Sgd::new(net.parameters(), SgdConfig::new(0.05));
    let first = value(&net);
    for _ in 0..30 {
        opt.zero_grad();
        loss(&net).backward().unwrap();
        opt.step();
    }
    let last = value(&net);
    assert!(last < 0.5 * first, "loss {first} → {last}");
}

/// Saved and loaded into a model built from another seed, the model computes the same
/// outputs, in training mode (parameters) and in evaluation mode (the running statistics too).
fn round_trips_through_safetensors<B: Backend>() {
    let trained = Net::<B>::new(7);
    for seed in 0..3 {
        trained.forward(&Tensor::randn(&[8, 4], 1.0, 2.0, &mut rng(seed)));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("net.safetensors");
    save_safetensors(&trained, &path).unwrap();

    let mut fresh = Net::<B>::new(8);
    let x = Tensor::<B>::randn(&[5, 4], 0.0, 1.0, &mut rng(9));
    let mut trained = trained;
    trained.eval();
    fresh.eval();
    assert_ne!(trained.forward(&x).to_vec(), fresh.forward(&x).to_vec());
    load_safetensors(&fresh, &path).unwrap();
    assert_eq!(trained.forward(&x).to_vec(), fresh.forward(&x).to_vec());
    assert_eq!(fresh.norm.num_batches_tracked().unwrap().get(), 3);
}

/// `eval()` and `train()` reach the layers inside the `Vec`, the array, the `Option` and the
/// box, and nested containers.
fn train_and_eval_reach_submodules_in_containers<B: Backend>() {
    let mut net = Net::<B>::new(10);
    let modes = |n: &Net<B>| {
        vec![
            n.is_training(),
            n.input.is_training(),
            n.hidden[0].is_training(),
            n.hidden[1].is_training(),
            n.norm.is_training(),
            n.skip_proj.as_ref().unwrap().is_training(),
            n.heads[0].is_training(),
            n.heads[1].is_training(),
            n.act.is_training(),
        ]
    };
    assert!(modes(&net).iter().all(|&t| t));
    net.eval();
    assert!(modes(&net).iter().all(|&t| !t), "{:?}", modes(&net));
    net.train(true);
    assert!(modes(&net).iter().all(|&t| t));

    // Without a `training` field, the flag is the submodules'.
    let mut nested = Nested::<B>::new(11);
    nested.eval();
    assert!(!nested.is_training());
    assert!(!nested.stages[0][1].is_training() && !nested.stages[1][0].is_training());
    assert!(!nested.gates[0].as_ref().unwrap().is_training());
    nested.train(true);
    assert!(nested.is_training() && nested.stages[0][1].is_training());
}

/// A derived module goes into a `Sequential` (which is itself derived, its layers named `0`,
/// `1`, …) and prints as PyTorch prints the same model.
fn a_derived_module_nests_in_a_sequential<B: Backend>() {
    #[derive(Module)]
    struct Pair<B: Backend>(Linear<B>, #[module(skip)] f64, Linear<B>);
    impl<B: Backend> Forward<B> for Pair<B> {
        fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
            &self.2.forward(&self.0.forward(x)) * self.1
        }
    }
    let rng = &mut rng(12);
    let seq = Sequential::<B>::new()
        .with(Pair(Linear::new(2, 3, rng), 0.5, Linear::new(3, 2, rng)))
        .with(ReLU::new());
    assert_eq!(
        names(&seq),
        ["0.0.weight", "0.0.bias", "0.2.weight", "0.2.bias"]
    );
    assert_eq!(
        seq.to_string(),
        "Sequential(
  (0): Pair(
    (0): Linear(in_features=2, out_features=3, bias=True)  # 9 parameters
    (2): Linear(in_features=3, out_features=2, bias=True)  # 8 parameters
  )
  (1): ReLU()
)
Total parameters: 17"
    );
}

/// A struct generic over a module type as well as the backend: the backend is the parameter
/// bounded by `Backend`.
#[derive(Module)]
struct Wrapper<B: Backend, M: Module<B>> {
    inner: M,
    #[module(skip)]
    backend: std::marker::PhantomData<B>,
}

fn a_module_generic_over_its_submodule<B: Backend>() {
    let wrapper = Wrapper::<B, _> {
        inner: Linear::<B>::new(2, 2, &mut rng(13)),
        backend: std::marker::PhantomData,
    };
    assert_eq!(names(&wrapper), ["inner.weight", "inner.bias"]);
}

/// `#[module(backend = ..)]` may name a concrete backend, for a struct with no type parameter;
/// `crate = ..` says where duograd is.
#[derive(Module)]
#[module(backend = NdArray<f64>, crate = ::duograd)]
struct Concrete {
    layer: Linear<NdArray<f64>>,
    gain: Parameter<NdArray<f64>>,
}

#[test]
fn a_named_backend_may_be_concrete() {
    let concrete = Concrete {
        layer: Linear::new(2, 2, &mut rng(14)),
        gain: Tensor::ones(&[2]).into(),
    };
    assert_eq!(names(&concrete), ["gain", "layer.weight", "layer.bias"]);
}

backend_tests!(
    f32 and f64: lists_every_parameter_and_buffer_in_pytorch_order,
    an_option_lists_its_content_only_when_some,
    nested_containers_get_one_index_per_level,
    trains_through_the_derived_parameters,
    round_trips_through_safetensors,
    train_and_eval_reach_submodules_in_containers,
    a_derived_module_nests_in_a_sequential,
    a_module_generic_over_its_submodule,
);
