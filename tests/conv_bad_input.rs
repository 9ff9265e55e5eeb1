//! Bad input to the convolution and pooling ops: a panic whose message names the op, the shapes
//! and the parameter, never a wrong answer.

use duograd::backends::NdArray;
use duograd::{Conv2dOptions, Pool2dOptions, Tensor};

type T = Tensor<NdArray<f32>>;

fn image(shape: &[usize]) -> T {
    T::ones(shape)
}

#[test]
#[should_panic(expected = "conv2d: expects a 4-D input [N, C, H, W], got shape [3, 8, 8]")]
fn conv2d_rejects_a_3d_input() {
    image(&[3, 8, 8]).conv2d(&image(&[4, 3, 3, 3]), None, Conv2dOptions::new());
}

#[test]
#[should_panic(
    expected = "conv2d: expects a 4-D weight [out_channels, in_channels/groups, kH, kW], got shape [4, 3, 3]"
)]
fn conv2d_rejects_a_3d_weight() {
    image(&[1, 3, 8, 8]).conv2d(&image(&[4, 3, 3]), None, Conv2dOptions::new());
}

#[test]
#[should_panic(
    expected = "conv2d: the input has 2 channels but the weight [4, 3, 3, 3] expects 3 per group"
)]
fn conv2d_rejects_mismatched_channels() {
    image(&[1, 2, 8, 8]).conv2d(&image(&[4, 3, 3, 3]), None, Conv2dOptions::new());
}

#[test]
#[should_panic(
    expected = "conv2d: groups = 3 must be at least 1 and divide both the input's 4 channels"
)]
fn conv2d_rejects_groups_that_do_not_divide_the_channels() {
    let options = Conv2dOptions::new().groups(3);
    image(&[1, 4, 8, 8]).conv2d(&image(&[6, 1, 3, 3]), None, options);
}

#[test]
#[should_panic(
    expected = "conv2d: input of shape [1, 1, 4, 4]: stride must be at least 1, got [0, 0]"
)]
fn conv2d_rejects_a_zero_stride() {
    let options = Conv2dOptions::new().stride(0);
    image(&[1, 1, 4, 4]).conv2d(&image(&[1, 1, 3, 3]), None, options);
}

#[test]
#[should_panic(expected = "is larger than the input's height 4 plus padding 2×0")]
fn conv2d_rejects_a_kernel_larger_than_the_padded_input() {
    image(&[1, 1, 4, 4]).conv2d(&image(&[1, 1, 5, 3]), None, Conv2dOptions::new());
}

#[test]
#[should_panic(
    expected = "conv2d: the bias must have shape [4] (one per output channel of weight [4, 3, 3, 3]), got [3]"
)]
fn conv2d_rejects_a_bias_of_the_wrong_length() {
    let bias = image(&[3]);
    image(&[1, 3, 8, 8]).conv2d(&image(&[4, 3, 3, 3]), Some(&bias), Conv2dOptions::new());
}

#[test]
#[should_panic(expected = "max_pool2d: padding [2, 2] must be at most half the kernel size [3, 3]")]
fn max_pool2d_rejects_padding_over_half_the_kernel() {
    image(&[1, 1, 8, 8]).max_pool2d(Pool2dOptions::new(3).padding(2));
}

#[test]
#[should_panic(expected = "max_pool2d: expects a 4-D input [N, C, H, W], got shape [8, 8]")]
fn max_pool2d_rejects_a_2d_input() {
    image(&[8, 8]).max_pool2d(Pool2dOptions::new(2));
}

#[test]
#[should_panic(expected = "avg_pool2d: input of shape [1, 1, 3, 3]: kernel size [4, 4]")]
fn avg_pool2d_rejects_a_kernel_larger_than_the_input() {
    image(&[1, 1, 3, 3]).avg_pool2d(Pool2dOptions::new(4));
}

#[test]
#[should_panic(
    expected = "adaptive_avg_pool2d: output size [5, 1] must be between 1 and the input's height (4)"
)]
fn adaptive_avg_pool2d_rejects_an_output_larger_than_the_input() {
    image(&[1, 1, 4, 4]).adaptive_avg_pool2d([5, 1]);
}

#[test]
#[should_panic(expected = "matmul: inner sizes differ: [2, 3, 4] · [2, 5, 6] (4 against 5)")]
fn batched_matmul_rejects_mismatched_inner_sizes() {
    image(&[2, 3, 4]).matmul(&image(&[2, 5, 6]));
}

#[test]
#[should_panic(expected = "matmul: shapes [2] and [3] cannot be broadcast together")]
fn batched_matmul_rejects_batches_that_do_not_broadcast() {
    image(&[2, 3, 4]).matmul(&image(&[3, 4, 5]));
}

#[test]
#[should_panic(expected = "fold: the input has 5 patches (shape [1, 4, 5])")]
fn fold_rejects_the_wrong_number_of_patches() {
    image(&[1, 4, 5]).fold([3, 3], [2, 2], Conv2dOptions::new());
}
