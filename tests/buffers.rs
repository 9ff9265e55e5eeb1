//! Large tensor buffers are recycled ([`duograd::backends::cpu::buffers`]): on both backends a dropped tensor's
//! buffer serves the next output of its length, with every value of that output written anew,
//! and a buffer another tensor still shares is not taken.

#[macro_use]
mod common;

use duograd::backends::cpu::buffers;
use duograd::{Backend, Tensor};

/// 2¹⁶ values: 256 KiB of `f32` or 512 KiB of `f64`, above [`buffers::MIN_BYTES`].
const N: usize = 1 << 16;

fn a_dropped_buffer_serves_the_next_output_of_its_length<B: Backend>() {
    buffers::clear();
    let x = Tensor::<B>::from_f64(&vec![1.5; N], &[256, 256]);
    let y = x.mul_scalar(2.0);
    assert_eq!(buffers::kept().0, 0);
    drop(y);
    assert_eq!(buffers::kept().0, 1, "the dropped output was kept");
    // The next output of that length takes it, and its old values (3.0) are all overwritten.
    let z = x.neg();
    assert_eq!(buffers::kept().0, 0, "the kept buffer was taken");
    assert!(z.to_vec_f64().iter().all(|&v| v == -1.5));
    // An output of another length leaves a kept buffer alone.
    drop(z);
    let half = Tensor::<B>::from_f64(&vec![0.5; N / 2], &[128, 256]);
    let relu = half.relu();
    assert_eq!(buffers::kept().0, 1);
    assert!(relu.to_vec_f64().iter().all(|&v| v == 0.5));
    buffers::clear();
}

fn a_buffer_still_shared_is_not_kept<B: Backend>() {
    buffers::clear();
    let ones = Tensor::<B>::from_f64(&vec![1.0; N], &[256, 256]);
    let x = ones.exp();
    // The same matrix shape: both backends share the buffer rather than copy it.
    let alias = x.reshape(&[256, 256]);
    drop(x);
    assert_eq!(
        buffers::kept().0,
        0,
        "the reshaped tensor still reads the buffer"
    );
    assert!(alias
        .to_vec_f64()
        .iter()
        .all(|&v| (v - 1f64.exp()).abs() < 1e-5));
    drop(alias);
    assert_eq!(buffers::kept().0, 1);
    buffers::clear();
}

fn small_buffers_are_left_to_the_allocator<B: Backend>() {
    buffers::clear();
    drop(Tensor::<B>::from_f64(&[1.0; 1000], &[10, 100]).exp());
    assert_eq!(buffers::kept(), (0, 0));
}

backend_tests!(f32 and f64:
    a_dropped_buffer_serves_the_next_output_of_its_length,
    a_buffer_still_shared_is_not_kept,
    small_buffers_are_left_to_the_allocator,
);
