//! Modules: Linear's forward and initialization, parameter and buffer order and PyTorch names,
//! train/eval, module reuse, the repr, the functional wrappers, and the same model on both
//! backends.

#[macro_use]
mod common;

use duograd::backends::Nalgebra;
use duograd::backends::NdArray;
use duograd::nn::functional as F;
use duograd::nn::{
    Activation, Buffer, Counter, Forward, Init, Linear, Mlp, Module, Parameter, ReLU, Sequential,
    Sigmoid, Tanh,
};
use duograd::{gradcheck, Backend, Element, GradcheckOptions, Reduction, Tensor};
use rand::rngs::StdRng;
use rand::SeedableRng;

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

fn names<B: Backend>(m: &dyn Module<B>) -> Vec<String> {
    m.named_parameters().into_iter().map(|(n, _)| n).collect()
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Two linear layers with one ReLU instance applied after each, and a nested Sequential.
#[derive(Module)]
struct SharedRelu<B: Backend> {
    linear1: Linear<B>,
    relu: ReLU,
    linear2: Linear<B>,
    head: Sequential<B>,
    training: bool,
}

impl<B: Backend> SharedRelu<B> {
    fn new(rng: &mut StdRng) -> Self {
        SharedRelu {
            linear1: Linear::new(5, 6, rng),
            relu: ReLU::new(),
            linear2: Linear::new(6, 4, rng),
            head: Sequential::new()
                .with(Tanh::new())
                .with(Linear::new(4, 3, rng)),
            training: true,
        }
    }
}

impl<B: Backend> Forward<B> for SharedRelu<B> {
    fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
        let h = self.relu.forward(&self.linear1.forward(x));
        let h = self.relu.forward(&self.linear2.forward(&h));
        self.head.forward(&h)
    }
}

/// Scales its input by a parameter; keeps the last input's column sums in a tensor buffer and
/// counts its calls in a counter buffer. `Module` is written by hand here, as a module without
/// the derive would.
struct Tracker<B: Backend> {
    scale: Parameter<B>,
    last_sum: Tensor<B>,
    calls: Counter,
    training: bool,
}

impl<B: Backend> Tracker<B> {
    fn new(features: usize) -> Self {
        Tracker {
            scale: Parameter::new(Tensor::ones(&[features])),
            last_sum: Tensor::zeros(&[features]),
            calls: Counter::new(0),
            training: true,
        }
    }
}

impl<B: Backend> Module<B> for Tracker<B> {
    fn is_training(&self) -> bool {
        self.training
    }
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
    fn own_parameters(&self) -> Vec<(String, &Parameter<B>)> {
        vec![("scale".into(), &self.scale)]
    }
    fn own_buffers(&self) -> Vec<(String, Buffer<B>)> {
        vec![
            ("last_sum".into(), self.last_sum.clone().into()),
            ("calls".into(), self.calls.clone().into()),
        ]
    }
}

impl<B: Backend> Forward<B> for Tracker<B> {
    fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
        self.calls.increment();
        duograd::autograd::with_no_grad(|| self.last_sum.copy_(&x.sum_dim(0, false)));
        x.mul(&self.scale)
    }
}

fn buffer_names<B: Backend>(m: &dyn Module<B>) -> Vec<String> {
    m.named_buffers().into_iter().map(|(n, _)| n).collect()
}

fn linear_forward_is_x_times_weight_transposed_plus_bias<B: Backend>() {
    let w = [1.0, 2.0, 3.0, -1.0, 0.5, 0.0];
    let layer = Linear::<B>::from_tensors(
        Tensor::from_f64(&w, &[2, 3]),
        Some(Tensor::from_f64(&[0.25, -0.5], &[2])),
    );
    let x = Tensor::<B>::from_f64(&[1.0, 0.0, -1.0, 2.0, 1.0, 0.5], &[2, 3]);
    // Row 1: [1-3+0.25, -1+0+(-0.5)]; row 2: [2+2+1.5+0.25, -2+0.5+0-0.5].
    assert_eq!(
        layer.forward(&x).to_vec_f64(),
        vec![-1.75, -1.5, 5.75, -2.0]
    );
    assert_eq!((layer.in_features(), layer.out_features()), (3, 2));
    let no_bias = Linear::<B>::from_tensors(Tensor::from_f64(&w, &[2, 3]), None);
    assert_eq!(names(&no_bias), ["weight"]);
    assert_eq!(
        no_bias.forward(&x).to_vec_f64(),
        vec![-2.0, -1.0, 5.5, -1.5]
    );
}

fn linear_accepts_any_number_of_leading_axes<B: Backend>() {
    let layer = Linear::<B>::new(3, 2, &mut rng(1));
    let x = Tensor::<B>::randn(&[2, 4, 3], 0.0, 1.0, &mut rng(2));
    let y = layer.forward(&x);
    assert_eq!(y.shape(), &[2, 4, 2]);
    let flat = layer.forward(&x.reshape_to(&[8, 3]));
    assert_eq!(y.to_vec_f64(), flat.to_vec_f64());
    let row = x.reshape_to(&[8, 3]).narrow(0, 0, 1).reshape_to(&[3]);
    let y1 = layer.forward(&row);
    assert_eq!(y1.shape(), &[2]);
    assert_eq!(y1.to_vec_f64(), flat.to_vec_f64()[..2].to_vec());
}

fn default_init_is_pytorch_uniform_weight_then_bias<B: Backend>() {
    let layer = Linear::<B>::new(16, 8, &mut rng(3));
    let bound = 1.0 / 4.0;
    let (w, b) = (
        layer.weight.to_vec_f64(),
        layer.bias.as_ref().unwrap().to_vec_f64(),
    );
    assert!(w.iter().chain(&b).all(|v| v.abs() <= bound));
    // The weight is drawn first (row-major), then the bias, from the caller's RNG.
    let mut r = rng(3);
    let want_w = Tensor::<B>::rand_uniform(&[8, 16], -bound, bound, &mut r);
    let want_b = Tensor::<B>::rand_uniform(&[8], -bound, bound, &mut r);
    assert_eq!(w, want_w.to_vec_f64());
    assert_eq!(b, want_b.to_vec_f64());
}

fn standard_normal_init_draws_weights_and_zeroes_biases<B: Backend>() {
    let layer = Linear::<B>::with_options(784, 64, true, Init::StandardNormal, &mut rng(4));
    let w = layer.weight.to_vec_f64();
    let mean = w.iter().sum::<f64>() / w.len() as f64;
    let var = w.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / w.len() as f64;
    assert!(
        mean.abs() < 0.02 && (var - 1.0).abs() < 0.03,
        "mean {mean}, var {var}"
    );
    assert!(layer.bias.unwrap().to_vec_f64().iter().all(|&v| v == 0.0));
    let bare = Linear::<B>::with_options(3, 2, false, Init::StandardNormal, &mut rng(4));
    assert!(bare.bias.is_none());
}

fn parameters_are_leaves_requiring_grad<B: Backend>() {
    let model = Mlp::<B>::new(&[3, 4, 2], Activation::Tanh, &mut rng(5));
    for p in model.parameters() {
        assert!(p.is_leaf() && p.requires_grad());
    }
    // Wrapping a tensor computed from others cuts it from the graph.
    let a = Tensor::<B>::ones(&[2]).requires_grad_(true);
    let p = Parameter::new(&a * 2.0);
    assert!(p.is_leaf() && p.requires_grad());
    // Wrapping a leaf that already requires grad keeps that very tensor.
    assert!(Parameter::new(a.clone()).same_as(&a));
}

fn named_parameters_follow_pytorch_names_and_order<B: Backend>() {
    let mut r = rng(6);
    let seq = Sequential::<B>::new()
        .with(Linear::new(4, 3, &mut r))
        .with(ReLU::new())
        .with(Linear::new(3, 2, &mut r));
    assert_eq!(names(&seq), ["0.weight", "0.bias", "2.weight", "2.bias"]);

    let mlp = Mlp::<B>::new(&[784, 64, 64, 10], Activation::Relu, &mut r);
    assert_eq!(
        names(&mlp),
        ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    );
    let shapes: Vec<Vec<usize>> = mlp
        .parameters()
        .iter()
        .map(|p| p.shape().to_vec())
        .collect();
    assert_eq!(
        shapes,
        [
            vec![64, 784],
            vec![64],
            vec![64, 64],
            vec![64],
            vec![10, 64],
            vec![10]
        ]
    );
    assert_eq!(
        mlp.num_parameters(),
        784 * 64 + 64 + 64 * 64 + 64 + 64 * 10 + 10
    );

    let net = SharedRelu::<B>::new(&mut r);
    assert_eq!(
        names(&net),
        [
            "linear1.weight",
            "linear1.bias",
            "linear2.weight",
            "linear2.bias",
            "head.1.weight",
            "head.1.bias"
        ]
    );
}

/// A module's own parameters come before its submodules', whatever the declaration order of
/// fields.
fn own_parameters_come_before_submodules<B: Backend>() {
    #[derive(Module)]
    struct Scaled<B: Backend> {
        inner: Linear<B>,
        scale: Parameter<B>,
    }
    let m = Scaled::<B> {
        inner: Linear::new(2, 2, &mut rng(7)),
        scale: Parameter::new(Tensor::ones(&[2])),
    };
    assert_eq!(names(&m), ["scale", "inner.weight", "inner.bias"]);
}

fn a_shared_parameter_is_listed_once<B: Backend>() {
    let layer = Linear::<B>::new(3, 3, &mut rng(8));
    let tied = Linear::<B>::from_tensors(layer.weight.tensor().clone(), None);
    let seq = Sequential::new().with(layer).with(tied);
    assert_eq!(names(&seq), ["0.weight", "0.bias"]);
}

/// The same ReLU instance after two layers: gradients equal those of two separate ReLUs and
/// pass a finite-difference check.
fn reusing_one_module_twice_gives_correct_gradients<B: Backend>() {
    let net = SharedRelu::<B>::new(&mut rng(9));
    let x = Tensor::<B>::randn(&[7, 5], 0.0, 1.0, &mut rng(10));
    let labels = [0, 1, 2, 0, 1, 2, 1];
    net.forward(&x)
        .cross_entropy(&labels, Reduction::Mean)
        .backward()
        .unwrap();

    // The same computation with a separate ReLU at each place.
    let params: Vec<Tensor<B>> = net
        .parameters()
        .iter()
        .map(|p| p.detach().requires_grad_(true))
        .collect();
    let separate = |ps: &[Tensor<B>]| {
        let h = F::relu(&F::linear(&x, &ps[0], Some(&ps[1])));
        let h = F::relu(&F::linear(&h, &ps[2], Some(&ps[3])));
        F::cross_entropy(
            &F::linear(&h.tanh(), &ps[4], Some(&ps[5])),
            &labels,
            Reduction::Mean,
        )
    };
    separate(&params).backward().unwrap();
    for ((name, p), q) in net.named_parameters().iter().zip(&params) {
        let (g, want) = (
            p.grad().unwrap().to_vec_f64(),
            q.grad().unwrap().to_vec_f64(),
        );
        assert!(max_abs_diff(&g, &want) < 1e-14, "{name}");
        assert!(g.iter().any(|&v| v != 0.0), "{name} got no gradient");
    }
    // And the module itself, as a function of its parameters, passes gradcheck.
    let through_module = |ps: &[Tensor<B>]| {
        let mut n = SharedRelu::<B>::new(&mut rng(9));
        n.linear1 = Linear::from_tensors(ps[0].clone(), Some(ps[1].clone()));
        n.linear2 = Linear::from_tensors(ps[2].clone(), Some(ps[3].clone()));
        n.head = Sequential::new()
            .with(Tanh::new())
            .with(Linear::from_tensors(ps[4].clone(), Some(ps[5].clone())));
        n.forward(&x).cross_entropy(&labels, Reduction::Mean)
    };
    gradcheck(through_module, &params, GradcheckOptions::default()).unwrap();
}

fn train_and_eval_reach_every_submodule<B: Backend>() {
    let mut net = SharedRelu::<B>::new(&mut rng(11));
    let all = |n: &SharedRelu<B>, want: bool| {
        n.is_training() == want
            && n.relu.is_training() == want
            && n.linear1.is_training() == want
            && n.head.is_training() == want
            && n.head.get(0).unwrap().is_training() == want
            && n.head.get(1).unwrap().is_training() == want
    };
    assert!(all(&net, true));
    net.eval();
    assert!(all(&net, false));
    net.train(true);
    assert!(all(&net, true));

    let mut mlp = Mlp::<B>::new(&[2, 3, 3, 1], Activation::Sigmoid, &mut rng(12));
    mlp.eval();
    assert!(mlp.children().iter().all(|(_, c)| !c.is_training()));
    let seq = mlp.into_sequential();
    assert!(!seq.is_training() && seq.layers().iter().all(|c| !c.is_training()));
}

fn named_buffers_follow_pytorch_names_and_order<B: Backend>() {
    let mut r = rng(19);
    let inner = Sequential::<B>::new()
        .with(Linear::new(3, 3, &mut r))
        .with(Tracker::new(3));
    let model = Sequential::<B>::new()
        .with(Tracker::new(3))
        .with(ReLU::new())
        .with(inner);
    assert_eq!(
        buffer_names(&model),
        ["0.last_sum", "0.calls", "2.1.last_sum", "2.1.calls"]
    );
    // Buffers are state, not parameters: the optimizer never sees them.
    assert_eq!(
        names(&model),
        ["0.scale", "2.0.weight", "2.0.bias", "2.1.scale"]
    );
    let dtypes: Vec<&str> = model.buffers().iter().map(|b| b.dtype()).collect();
    let float = if B::Elem::NAME == "f32" { "F32" } else { "F64" };
    assert_eq!(dtypes, [float, "I64", float, "I64"]);

    // A forward pass updates the buffers the model holds: the handles share the data.
    let x = Tensor::<B>::from_f64(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    model.forward(&x);
    model.forward(&x);
    let buffers = model.named_buffers();
    assert_eq!(buffers[0].1.to_vec_f64(), [5.0, 7.0, 9.0]);
    assert_eq!(buffers[1].1.as_counter().unwrap().get(), 2);
    assert_eq!(buffers[3].1.to_vec_f64(), [2.0]);

    // Through a box, and a buffer shared by two modules is listed once, under its first name.
    let first = Tracker::<B>::new(2);
    let shared = first.calls.clone();
    let mut second = Tracker::<B>::new(2);
    second.calls = shared.clone();
    let boxed: Box<dyn Module<B>> = Box::new(Sequential::new().with(first).with(second));
    assert_eq!(
        buffer_names(&boxed),
        ["0.last_sum", "0.calls", "1.last_sum"]
    );
    assert!(boxed.buffers()[1].same_as(&Buffer::Counter(shared)));
    let one: Box<Tracker<B>> = Box::new(Tracker::new(2));
    let own: Vec<String> = one.own_buffers().into_iter().map(|(n, _)| n).collect();
    assert_eq!(own, ["last_sum", "calls"]);
}

fn zero_grad_clears_every_gradient<B: Backend>() {
    let mlp = Mlp::<B>::new(&[3, 4, 2], Activation::Relu, &mut rng(13));
    mlp.forward(&Tensor::ones(&[2, 3]))
        .sum()
        .backward()
        .unwrap();
    assert!(mlp.parameters().iter().all(|p| p.grad().is_some()));
    mlp.zero_grad();
    assert!(mlp.parameters().iter().all(|p| p.grad().is_none()));
}

fn mlp_and_its_sequential_compute_the_same_function<B: Backend>() {
    for act in [Activation::Relu, Activation::Tanh, Activation::Sigmoid] {
        let mlp = Mlp::<B>::new(&[5, 7, 6, 3], act, &mut rng(14));
        let x = Tensor::<B>::randn(&[4, 5], 0.0, 1.0, &mut rng(15));
        // By hand, from the layers' parameters.
        let ls = mlp.linears();
        let mut h = ls[0].forward(&x);
        for l in &ls[1..] {
            h = l.forward(&act.apply(&h));
        }
        let y = mlp.forward(&x).to_vec_f64();
        assert_eq!(y, h.to_vec_f64());
        let names_before = names(&mlp);
        let seq = mlp.into_sequential();
        assert_eq!(names(&seq), names_before);
        assert_eq!(seq.forward(&x).to_vec_f64(), y);
        assert_eq!(seq.len(), 5);
    }
}

fn activation_modules_apply_their_function<B: Backend>() {
    let x = Tensor::<B>::from_f64(&[-2.0, 0.0, 3.0], &[3]);
    assert_eq!(ReLU::new().forward(&x).to_vec_f64(), x.relu().to_vec_f64());
    assert_eq!(Tanh::new().forward(&x).to_vec_f64(), x.tanh().to_vec_f64());
    assert_eq!(
        Sigmoid::new().forward(&x).to_vec_f64(),
        x.sigmoid().to_vec_f64()
    );
    for act in [Activation::Relu, Activation::Tanh, Activation::Sigmoid] {
        assert_eq!(
            act.module::<B>().forward(&x).to_vec_f64(),
            act.apply(&x).to_vec_f64()
        );
    }
}

fn functional_wrappers_equal_the_tensor_methods<B: Backend>() {
    let x = Tensor::<B>::randn(&[4, 3], 0.0, 1.0, &mut rng(16));
    let t = Tensor::<B>::randn(&[4, 3], 0.0, 1.0, &mut rng(17));
    let labels = [2, 0, 1, 1];
    let same = |a: Tensor<B>, b: Tensor<B>| assert_eq!(a.to_vec_f64(), b.to_vec_f64());
    same(
        F::cross_entropy(&x, &labels, Reduction::Sum),
        x.cross_entropy(&labels, Reduction::Sum),
    );
    same(
        F::nll_loss(&x, &labels, Reduction::None),
        x.nll_loss(&labels, Reduction::None),
    );
    same(F::mse_loss(&x, &t), x.mse_loss(&t));
    same(F::log_softmax(&x, 1), x.log_softmax(1));
    same(F::softmax(&x, -1), x.softmax(-1));
    same(F::tanh(&x), x.tanh());
    same(F::sigmoid(&x), x.sigmoid());
    same(F::relu(&x), x.relu());
    let ce = F::cross_entropy(&x, &labels, Reduction::Mean).to_vec_f64()[0];
    let nll = F::nll_loss(&F::log_softmax(&x, 1), &labels, Reduction::Mean).to_vec_f64()[0];
    assert!((ce - nll).abs() < 1e-14);
}

fn display_reads_like_pytorch_with_parameter_counts<B: Backend>() {
    let mut r = rng(18);
    let seq = Sequential::<B>::new()
        .with(Linear::new(784, 64, &mut r))
        .with(ReLU::new())
        .with(Linear::with_options(64, 10, false, Init::Uniform, &mut r));
    assert_eq!(
        seq.to_string(),
        "Sequential(\n  \
           (0): Linear(in_features=784, out_features=64, bias=True)  # 50,240 parameters\n  \
           (1): ReLU()\n  \
           (2): Linear(in_features=64, out_features=10, bias=False)  # 640 parameters\n\
         )\n\
         Total parameters: 50,880"
    );
    let net = SharedRelu::<B>::new(&mut r);
    let dynamic: &dyn Module<B> = &net;
    assert_eq!(
        dynamic.to_string(),
        "SharedRelu(\n  \
           (linear1): Linear(in_features=5, out_features=6, bias=True)  # 36 parameters\n  \
           (relu): ReLU()\n  \
           (linear2): Linear(in_features=6, out_features=4, bias=True)  # 28 parameters\n  \
           (head): Sequential(\n    \
             (0): Tanh()\n    \
             (1): Linear(in_features=4, out_features=3, bias=True)  # 15 parameters\n  \
           )\n\
         )\n\
         Total parameters: 79"
    );
    assert_eq!(format!("{}", ReLU::new()), "ReLU()");
}

backend_tests!(
    linear_forward_is_x_times_weight_transposed_plus_bias,
    linear_accepts_any_number_of_leading_axes,
    default_init_is_pytorch_uniform_weight_then_bias,
    standard_normal_init_draws_weights_and_zeroes_biases,
    parameters_are_leaves_requiring_grad,
    named_parameters_follow_pytorch_names_and_order,
    own_parameters_come_before_submodules,
    a_shared_parameter_is_listed_once,
    reusing_one_module_twice_gives_correct_gradients,
    train_and_eval_reach_every_submodule,
    named_buffers_follow_pytorch_names_and_order,
    zero_grad_clears_every_gradient,
    mlp_and_its_sequential_compute_the_same_function,
    activation_modules_apply_their_function,
    functional_wrappers_equal_the_tensor_methods,
    display_reads_like_pytorch_with_parameter_counts,
);

/// Loss and gradients of an MLP built from `seed` on backend `B`, all as f64.
fn mlp_run<B: Backend>(seed: u64, act: Activation) -> (Vec<Vec<f64>>, f64, Vec<Vec<f64>>) {
    let mut r = rng(seed);
    let mlp = Mlp::<B>::new(&[20, 16, 16, 5], act, &mut r);
    let x = Tensor::<B>::randn(&[12, 20], 0.0, 1.0, &mut r);
    let labels: Vec<usize> = (0..12).map(|i| (i * 7) % 5).collect();
    let loss = mlp.forward(&x).cross_entropy(&labels, Reduction::Mean);
    loss.backward().unwrap();
    let params = mlp.parameters();
    (
        params.iter().map(|p| p.to_vec_f64()).collect(),
        loss.to_vec_f64()[0],
        params
            .iter()
            .map(|p| p.grad().unwrap().to_vec_f64())
            .collect(),
    )
}

#[test]
fn same_seed_gives_identical_weights_and_matching_loss_and_gradients_on_both_backends() {
    for act in [Activation::Relu, Activation::Tanh] {
        let (w1, loss1, g1) = mlp_run::<NdArray<f64>>(42, act);
        let (w2, loss2, g2) = mlp_run::<Nalgebra<f64>>(42, act);
        assert_eq!(w1, w2, "initial weights are bit-identical");
        let loss_err = (loss1 - loss2).abs();
        let grad_err = g1
            .iter()
            .zip(&g2)
            .map(|(a, b)| max_abs_diff(a, b))
            .fold(0.0, f64::max);
        eprintln!("{act:?}: |loss diff| = {loss_err:.2e}, max |grad diff| = {grad_err:.2e}");
        assert!(loss_err < 1e-10 && grad_err < 1e-10);
    }
}

#[test]
fn f32_models_start_from_the_f64_weights_rounded() {
    let (w64, _, _) = mlp_run::<NdArray<f64>>(7, Activation::Relu);
    let (w32, _, _) = mlp_run::<NdArray<f32>>(7, Activation::Relu);
    for (a, b) in w64.iter().flatten().zip(w32.iter().flatten()) {
        assert_eq!(*a as f32 as f64, *b);
    }
}

#[test]
#[should_panic(expected = "Linear::forward: expects input of shape (…, 4), got [2, 3]")]
fn linear_names_the_expected_input_shape_on_mismatch() {
    let layer = Linear::<NdArray<f64>>::new(4, 2, &mut rng(0));
    layer.forward(&Tensor::zeros(&[2, 3]));
}

#[test]
#[should_panic(expected = "the bias must have shape [2]")]
fn linear_rejects_a_bias_of_the_wrong_shape() {
    Linear::<NdArray<f64>>::from_tensors(Tensor::zeros(&[2, 3]), Some(Tensor::zeros(&[3])));
}
