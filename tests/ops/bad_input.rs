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

#[test]
#[should_panic(expected = "slice: step must be positive, got 0 for axis 1 of shape [2, 3]")]
fn slice_rejects_a_zero_step() {
    T::ones(&[2, 3]).slice(1, 0, 3, 0);
}

#[test]
#[should_panic(expected = "slice: axis 2 is out of range for shape [2, 3] (rank 2)")]
fn slice_rejects_an_axis_out_of_range() {
    T::ones(&[2, 3]).slice(2, 0, 1, 1);
}

#[test]
#[should_panic(expected = "split: sizes [1, 1] do not add up to axis 0 of shape [3]")]
fn split_sizes_rejects_sizes_that_do_not_add_up() {
    T::ones(&[3]).split_sizes(&[1, 1], 0);
}

#[test]
#[should_panic(expected = "chunk: chunks must be positive, got 0 for axis 0 of shape [3]")]
fn chunk_rejects_zero_chunks() {
    T::ones(&[3]).chunk(0, 0);
}

#[test]
#[should_panic(
    expected = "repeat: 1 repeat counts [2] for a tensor of shape [2, 3] (need at least 2)"
)]
fn repeat_rejects_too_few_counts() {
    T::ones(&[2, 3]).repeat(&[2]);
}

#[test]
#[should_panic(
    expected = "index_add: source of shape [2, 2] for a tensor of shape [4, 3] and 2 indices along axis 0 (expected [2, 3])"
)]
fn index_add_rejects_a_source_of_the_wrong_shape() {
    T::ones(&[4, 3]).index_add(0, &[0, 1], &T::ones(&[2, 2]));
}

#[test]
#[should_panic(
    expected = "index_add: index 4 is out of range for axis 0 of shape [4, 3] of size 4"
)]
fn index_add_rejects_an_index_out_of_bounds() {
    T::ones(&[4, 3]).index_add(0, &[0, 4], &T::ones(&[2, 3]));
}

#[test]
#[should_panic(
    expected = "scatter_add: index of shape [2, 4] (8 values) does not fit a tensor of shape [2, 3] and a source of shape [2, 3] along axis 0"
)]
fn scatter_add_rejects_an_index_larger_than_the_source() {
    T::ones(&[2, 3]).scatter_add(0, &[0; 8], &[2, 4], &T::ones(&[2, 3]));
}

#[test]
#[should_panic(
    expected = "scatter_add: index 3 is out of range for axis 1 of shape [2, 3] of size 3"
)]
fn scatter_add_rejects_an_index_out_of_bounds() {
    T::ones(&[2, 3]).scatter_add(1, &[0, 3], &[2, 1], &T::ones(&[2, 1]));
}

#[test]
#[should_panic(expected = "one_hot: index 3 is out of range for num_classes of size 3")]
fn one_hot_rejects_an_index_out_of_range() {
    T::one_hot(&[0, 3], 3);
}

#[test]
#[should_panic(expected = "einsum: output subscript 'k' in 'ij->ik' appears in no operand")]
fn einsum_rejects_an_unknown_output_subscript() {
    T::einsum("ij->ik", &[&T::ones(&[2, 3])]);
}

#[test]
#[should_panic(
    expected = "einsum: '1' in 'i1,jk->ik' is not a subscript (subscripts are the letters a-z, A-Z, and '...')"
)]
fn einsum_rejects_a_subscript_that_is_not_a_letter() {
    T::einsum("i1,jk->ik", &[&T::ones(&[2, 3]), &T::ones(&[3, 4])]);
}

#[test]
#[should_panic(
    expected = "einsum: subscript 'j' in 'ij,jk->ik' has sizes 3 and 4 (operand 1 of shape [4, 5])"
)]
fn einsum_rejects_mismatched_sizes_of_one_subscript() {
    T::einsum("ij,jk->ik", &[&T::ones(&[2, 3]), &T::ones(&[4, 5])]);
}

#[test]
#[should_panic(
    expected = "einsum: operand 0 has subscripts 'ij' in 'ij->j' for a tensor of shape [2, 3, 4]"
)]
fn einsum_rejects_too_few_subscripts_for_an_operand() {
    T::einsum("ij->j", &[&T::ones(&[2, 3, 4])]);
}

#[test]
#[should_panic(expected = "einsum: 'ij,jk->ik' has 2 operands but 1 tensors were given")]
fn einsum_rejects_a_missing_operand() {
    T::einsum("ij,jk->ik", &[&T::ones(&[2, 3])]);
}

#[test]
#[should_panic(expected = "einsum: output subscript 'i' appears twice in 'ij->ii'")]
fn einsum_rejects_a_repeated_output_subscript() {
    T::einsum("ij->ii", &[&T::ones(&[2, 3])]);
}

#[test]
#[should_panic(expected = "einsum: the term '...i...' of '...i...->i' has more than one '...'")]
fn einsum_rejects_two_ellipses_in_a_term() {
    T::einsum("...i...->i", &[&T::ones(&[2, 3])]);
}

#[test]
#[should_panic(
    expected = "einsum: '.' in 'i.j->ij' is not a subscript (subscripts are the letters a-z, A-Z, and '...')"
)]
fn einsum_rejects_a_lone_dot() {
    T::einsum("i.j->ij", &[&T::ones(&[2, 3])]);
}

#[test]
#[should_panic(
    expected = "einsum: operand 0 has subscripts '...ijk' in '...ijk->k' for a tensor of shape [2, 3]"
)]
fn einsum_rejects_an_ellipsis_term_with_too_many_letters() {
    T::einsum("...ijk->k", &[&T::ones(&[2, 3])]);
}
