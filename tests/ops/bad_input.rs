//! Bad input to the elementwise, selection, reduction, shape and einsum ops: a panic whose
//! message names the op, the shapes and the argument, never a wrong answer.

use duograd::backends::NdArray;
use duograd::Tensor;

type T = Tensor<NdArray<f64>>;

#[test]
#[should_panic(expected = "pow: shapes [2, 3] and [4] cannot be broadcast together")]
fn pow_rejects_shapes_that_do_not_broadcast() {
    T::ones(&[2, 3]).pow(&T::ones(&[4]));
}

#[test]
#[should_panic(
    expected = "where: condition of shape [3], a of shape [2, 3] and b of shape [2, 4] cannot be broadcast together"
)]
fn where_rejects_branches_that_do_not_broadcast() {
    T::where_(&T::ones(&[3]), &T::ones(&[2, 3]), &T::ones(&[2, 4]));
}

#[test]
#[should_panic(
    expected = "where: condition of shape [4], a of shape [2, 3] and b of shape [3] cannot be broadcast together"
)]
fn where_rejects_a_condition_that_does_not_broadcast() {
    T::where_(&T::ones(&[4]), &T::ones(&[2, 3]), &T::ones(&[3]));
}

#[test]
#[should_panic(
    expected = "masked_fill: mask of shape [2, 1, 3] does not broadcast to the tensor's shape [2, 3]"
)]
fn masked_fill_rejects_a_mask_that_would_grow_the_tensor() {
    T::ones(&[2, 3]).masked_fill(&T::ones(&[2, 1, 3]), 0.0);
}

#[test]
#[should_panic(
    expected = "masked_fill: mask of shape [3, 2] does not broadcast to the tensor's shape [2, 3]"
)]
fn masked_fill_rejects_a_mask_of_the_wrong_shape() {
    T::ones(&[2, 3]).masked_fill(&T::ones(&[3, 2]), 0.0);
}

#[test]
#[should_panic(expected = "ne: shapes [2] and [3] cannot be broadcast together")]
fn ne_rejects_shapes_that_do_not_broadcast() {
    T::ones(&[2]).ne(&T::ones(&[3]));
}

#[test]
#[should_panic(expected = "var: axis 2 is out of range for shape [2, 3] (rank 2)")]
fn var_rejects_an_axis_out_of_range() {
    T::ones(&[2, 3]).var_dims(&[2], 1.0, false);
}

#[test]
#[should_panic(expected = "norm: p = 3 is not supported for shape [2, 3] (1, 2 or infinity)")]
fn norm_rejects_an_unsupported_p() {
    T::ones(&[2, 3]).norm(3.0);
}

#[test]
#[should_panic(expected = "prod: axis -3 is out of range for shape [2, 3] (rank 2)")]
fn prod_rejects_an_axis_out_of_range() {
    T::ones(&[2, 3]).prod_dim(-3, false);
}

#[test]
#[should_panic(expected = "cumsum: axis 5 is out of range for shape [4] (rank 1)")]
fn cumsum_rejects_an_axis_out_of_range() {
    T::ones(&[4]).cumsum(5);
}

#[test]
#[should_panic(expected = "min_dim: axis 1 of shape [2, 0] is empty")]
fn min_dim_rejects_an_empty_axis() {
    T::ones(&[2, 0]).min_dim(1, false);
}

#[test]
#[should_panic(expected = "argmin: axis 0 of shape [0, 3] is empty")]
fn argmin_rejects_an_empty_axis() {
    T::ones(&[0, 3]).argmin_dim(0, false);
}
