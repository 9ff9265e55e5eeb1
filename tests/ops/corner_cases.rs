//! Corner cases whose PyTorch values are not finite (so the fixtures, which hold finite numbers,
//! cannot carry them) or that need a special input: each states PyTorch 2.15's result.

use duograd::backends::NdArray;
use duograd::Tensor;

type T = Tensor<NdArray<f64>>;

/// `torch.tensor([3.]).var()` is NaN (0 / 0 with Bessel's correction), and so is its gradient.
#[test]
fn var_of_one_element_with_bessel_correction_is_nan_with_a_nan_gradient() {
    let x = T::from_f64(&[3.0], &[1]).requires_grad_(true);
    let v = x.var(1.0);
    assert!(v.item().is_nan());
    v.backward().unwrap();
    assert!(x.grad().unwrap().to_vec()[0].is_nan());
}

/// `torch.tensor([2., 2., 2.]).std()` is 0 and its gradient 0 (not the NaN of `√` at 0).
#[test]
fn std_of_a_constant_has_gradient_zero() {
    let x = T::from_f64(&[2.0, 2.0, 2.0], &[3]).requires_grad_(true);
    let s = x.std(1.0);
    assert_eq!(s.item(), 0.0);
    s.backward().unwrap();
    assert_eq!(x.grad().unwrap().to_vec(), vec![0.0, 0.0, 0.0]);
}

/// Every norm of the zero vector is 0 with gradient 0, as `torch.linalg.vector_norm` gives.
#[test]
fn norms_of_the_zero_vector_have_gradient_zero() {
    for p in [1.0, 2.0, f64::INFINITY] {
        let x = T::zeros(&[3]).requires_grad_(true);
        let n = x.norm(p);
        assert_eq!(n.item(), 0.0, "p = {p}");
        n.backward().unwrap();
        assert_eq!(x.grad().unwrap().to_vec(), vec![0.0; 3], "p = {p}");
    }
}

/// An infinity in the branch `where_` does not choose reaches neither the output nor the
/// gradient, so `elu` and `softplus` of huge inputs have finite gradients.
#[test]
fn activations_of_huge_inputs_have_finite_gradients() {
    let x = T::from_f64(&[1e6, -1e6, 0.0], &[3]).requires_grad_(true);
    let y = x.elu(1.0) + x.softplus(1.0, 20.0);
    y.sum().backward().unwrap();
    let g = x.grad().unwrap().to_vec();
    assert_eq!(g, vec![2.0, 0.0, 1.5]);
}

/// `torch.cumsum` of `[1, inf, 2, nan, 3]` is `[1, inf, inf, nan, nan]`: a non-finite value
/// reaches only the sums after it.
#[test]
fn cumsum_carries_infinity_and_nan_forward_only() {
    let x = T::from_f64(&[1.0, f64::INFINITY, 2.0, f64::NAN, 3.0], &[5]);
    let y = x.cumsum(0).to_vec();
    assert_eq!(&y[..3], &[1.0, f64::INFINITY, f64::INFINITY]);
    assert!(y[3].is_nan() && y[4].is_nan());
}

/// Comparisons give 0/1 masks that never require grad, even of tensors that do.
#[test]
fn comparison_masks_are_constant() {
    let x = T::from_f64(&[1.0, 2.0], &[2]).requires_grad_(true);
    for m in [x.lt_scalar(1.5), x.ne(&x), x.ge_scalar(2.0), x.le(&x)] {
        assert!(!m.requires_grad());
        assert!(m.to_vec().iter().all(|&v| v == 0.0 || v == 1.0));
    }
}

/// `torch.zeros(2, 3).scatter_add(1, [[2, 2], [0, 1]], src)` with `src` of shape `[3, 4]` reads
/// only `src[:2, :2]`: `[[0, 0, 3], [5, 6, 0]]`; the rest of `src` gets gradient 0.
#[test]
fn scatter_add_reads_only_the_part_of_src_the_index_covers() {
    let src = T::from_f64(&[1., 2., 3., 4., 5., 6., 7., 8., 9., 9., 9., 9.], &[3, 4])
        .requires_grad_(true);
    let y = T::zeros(&[2, 3]).scatter_add(1, &[2, 2, 0, 1], &[2, 2], &src);
    assert_eq!(y.to_vec(), vec![0., 0., 3., 5., 6., 0.]);
    let w = T::from_f64(&[1., 2., 3., 4., 5., 6.], &[2, 3]);
    (&y * &w).sum().backward().unwrap();
    let want = vec![3., 3., 0., 0., 4., 5., 0., 0., 0., 0., 0., 0.];
    assert_eq!(src.grad().unwrap().to_vec(), want);
}
