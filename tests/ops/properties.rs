//! Property tests over random shapes: broadcasting binary ops, reductions over any axes and
//! permutations agree across backends (values and gradients) and pass gradcheck.

use duograd::backends::Nalgebra;
use duograd::backends::NdArray;
use duograd::{gradcheck, Backend, GradcheckOptions, Tensor};
use proptest::prelude::*;
use rand::{rngs::StdRng, SeedableRng};

use crate::common::assert_close;

/// A shape of rank 0..=4 with sizes 1..=4, and a second shape broadcast-compatible with it
/// (some axes dropped from the front, some set to 1).
fn broadcast_pair() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    prop::collection::vec(1usize..=4, 0..=4)
        .prop_flat_map(|a| {
            let rank = a.len();
            (
                Just(a),
                0..=rank,
                prop::collection::vec(any::<bool>(), rank),
            )
        })
        .prop_map(|(a, drop, ones)| {
            let b = a
                .iter()
                .zip(&ones)
                .skip(drop)
                .map(|(&d, &one)| if one { 1 } else { d })
                .collect();
            (a, b)
        })
}

fn leaf<B: Backend>(shape: &[usize], seed: u64) -> Tensor<B> {
    Tensor::randn(shape, 0.0, 1.0, &mut StdRng::seed_from_u64(seed)).requires_grad_(true)
}

/// Output and gradients of `sum(f(a, b) * w)` for a fixed random `w`.
fn run2<B: Backend>(
    sa: &[usize],
    sb: &[usize],
    f: fn(&Tensor<B>, &Tensor<B>) -> Tensor<B>,
) -> Vec<Vec<f64>> {
    let (a, b) = (
        leaf::<B>(sa, 1),
        leaf::<B>(sb, 2)
            .abs()
            .add_scalar(0.5)
            .detach()
            .requires_grad_(true),
    );
    let out = f(&a, &b);
    let w = Tensor::<B>::randn(out.shape(), 0.0, 1.0, &mut StdRng::seed_from_u64(3));
    (&out * &w).sum().backward().unwrap();
    vec![
        out.to_vec_f64(),
        a.grad().unwrap().to_vec_f64(),
        b.grad().unwrap().to_vec_f64(),
    ]
}

fn run1<B: Backend>(shape: &[usize], f: &dyn Fn(&Tensor<B>) -> Tensor<B>) -> Vec<Vec<f64>> {
    let x = leaf::<B>(shape, 4);
    let out = f(&x);
    let w = Tensor::<B>::randn(out.shape(), 0.0, 1.0, &mut StdRng::seed_from_u64(5));
    (&out * &w).sum().backward().unwrap();
    vec![out.to_vec_f64(), x.grad().unwrap().to_vec_f64()]
}

fn agree(what: &str, a: Vec<Vec<f64>>, b: Vec<Vec<f64>>) {
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert_close(&format!("{what} [{i}]"), x, y, 1e-10, 1e-10);
    }
}

type Nd = NdArray<f64>;
type Na = Nalgebra<f64>;

macro_rules! binary_ops {
    ($($name:literal => $f:expr),* $(,)?) => {
        fn binaries<B: Backend>() -> Vec<(&'static str, fn(&Tensor<B>, &Tensor<B>) -> Tensor<B>)> {
            vec![$(($name, $f)),*]
        }
    };
}
binary_ops!(
    "add" => |a, b| a + b,
    "sub" => |a, b| b - a,
    "mul" => |a, b| a * b,
    "div" => |a, b| a / b,
    "maximum" => |a, b| a.maximum(b),
    "pow" => |a, b| b.pow(a),
    "where" => |a, b| Tensor::where_(&a.gt(b), a, b),
);

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn broadcast_binary_ops_agree_across_backends((sa, sb) in broadcast_pair(), swap in any::<bool>()) {
        let (sa, sb) = if swap { (sb, sa) } else { (sa, sb) };
        for ((name, f_nd), (_, f_na)) in binaries::<Nd>().into_iter().zip(binaries::<Na>()) {
            agree(&format!("{name} {sa:?} {sb:?}"), run2::<Nd>(&sa, &sb, f_nd), run2::<Na>(&sa, &sb, f_na));
        }
    }

    #[test]
    fn broadcast_binary_ops_pass_gradcheck((sa, sb) in broadcast_pair()) {
        for (name, f) in binaries::<Nd>() {
            let b = leaf::<Nd>(&sb, 2).abs().add_scalar(0.5).detach().requires_grad_(true);
            gradcheck(|x| f(&x[0], &x[1]), &[leaf::<Nd>(&sa, 1), b], GradcheckOptions::default())
                .unwrap_or_else(|e| panic!("{name} {sa:?} {sb:?}: {e}"));
        }
    }

    #[test]
    fn reductions_over_any_axes_agree_across_backends(
        shape in prop::collection::vec(1usize..=4, 1..=4),
        mask in prop::collection::vec(any::<bool>(), 4),
        keepdim in any::<bool>(),
    ) {
        let axes: Vec<isize> = (0..shape.len()).filter(|&i| mask[i]).map(|i| i as isize).collect();
        agree(&format!("sum {shape:?} {axes:?}"),
            run1::<Nd>(&shape, &|x| x.sum_dims(&axes, keepdim)),
            run1::<Na>(&shape, &|x| x.sum_dims(&axes, keepdim)));
        agree(&format!("mean {shape:?} {axes:?}"),
            run1::<Nd>(&shape, &|x| x.mean_dims(&axes, keepdim)),
            run1::<Na>(&shape, &|x| x.mean_dims(&axes, keepdim)));
        let last = shape.len() as isize - 1;
        agree(&format!("max_dim {shape:?}"),
            run1::<Nd>(&shape, &|x| x.max_dim(last, keepdim)),
            run1::<Na>(&shape, &|x| x.max_dim(last, keepdim)));
        agree(&format!("log_softmax {shape:?}"),
            run1::<Nd>(&shape, &|x| x.log_softmax(0)),
            run1::<Na>(&shape, &|x| x.log_softmax(0)));
    }

    #[test]
    fn permutations_agree_across_backends(shape in prop::collection::vec(1usize..=4, 1..=4), seed in any::<u64>()) {
        use rand::seq::SliceRandom;
        let mut perm: Vec<usize> = (0..shape.len()).collect();
        perm.shuffle(&mut StdRng::seed_from_u64(seed));
        // Permute, then do something layout-sensitive on the (possibly strided) result.
        let f_nd = |x: &Tensor<Nd>| x.permute(&perm).exp().sum_dim(0, false);
        let f_na = |x: &Tensor<Na>| x.permute(&perm).exp().sum_dim(0, false);
        agree(&format!("permute {shape:?} {perm:?}"), run1::<Nd>(&shape, &f_nd), run1::<Na>(&shape, &f_na));
    }
}
