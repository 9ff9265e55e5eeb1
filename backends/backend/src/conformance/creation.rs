//! Creation and read-back: `name`, `from_vec`, `full`, `shape`, `to_vec`, `recycle`.

use crate::{Backend, BinaryOp, Element, UnaryOp};

use super::support::{assert_exact, mixed, numel, read, store, values, who};

/// Shapes of rank 0 to 4, with size-1 and empty axes and rows long enough for vector loops.
const SHAPES: [&[usize]; 17] = [
    &[],
    &[1],
    &[5],
    &[0],
    &[2, 3],
    &[3, 1],
    &[1, 4],
    &[0, 3],
    &[2, 0],
    &[17],
    &[3, 33],
    &[100, 7],
    &[2, 3, 4],
    &[1, 1, 1],
    &[2, 1, 3, 2],
    &[2, 3, 4, 5],
    &[70, 65],
];

/// `from_vec` then `to_vec` gives back the very bits given (NaN, ±∞ and −0 included), row-major,
/// with the shape given, for ranks 0 to 4, size-1 and empty axes; the backend has a name.
pub fn from_vec_to_vec_round_trip<B: Backend>() {
    assert!(!B::name().is_empty(), "the backend's name is empty");
    for (seed, shape) in SHAPES.iter().enumerate() {
        let data = mixed::<B::Elem>(numel(shape), seed as u64);
        let elems: Vec<B::Elem> = data.iter().map(|&x| B::Elem::of(x)).collect();
        let x = B::from_vec(elems.clone(), shape);
        assert_eq!(B::shape(&x), *shape, "{}: shape of from_vec", who::<B>());
        let back = B::to_vec(&x);
        assert_eq!(back.len(), elems.len(), "{}: to_vec {shape:?}", who::<B>());
        for (i, (g, w)) in back.iter().zip(&elems).enumerate() {
            let (g, w) = (g.as_f64(), w.as_f64());
            assert!(
                g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()),
                "{}: to_vec after from_vec {shape:?}: at {i} got {g:e}, want {w:e}",
                who::<B>()
            );
        }
        // Reading twice gives the same, and a clone reads the same.
        assert_exact::<B>(&x.clone(), shape, &data, format_args!("clone of {shape:?}"));
        assert_exact::<B>(&x, shape, &data, format_args!("to_vec again {shape:?}"));
    }
}

/// `full` fills every element with the value (finite, ±∞, NaN), for every shape of the list,
/// empty and scalar included.
pub fn full_fills_every_element<B: Backend>() {
    for shape in SHAPES {
        for value in [1.5, -0.0, f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 1e-3] {
            let x = B::full(shape, B::Elem::of(value));
            let want = vec![value; numel(shape)];
            assert_exact::<B>(&x, shape, &want, format_args!("full({shape:?}, {value})"));
        }
    }
}

/// `recycle` disposes of one handle only: other handles to the same data (clones, and the
/// arrays a layout op derived from it) keep their values, and arrays made after recycling
/// (which may reuse the buffer) hold their own values, not the recycled ones.
pub fn recycle_leaves_other_handles_intact<B: Backend>() {
    for shape in [&[7][..], &[64, 33], &[300, 300], &[2, 3, 4]] {
        let n = numel(shape);
        let data = values::<B::Elem>(n, 1);
        let x = store::<B>(&data, shape);
        let clone = x.clone();
        let reshaped = B::reshape(&x, &[n]);
        let narrowed = B::narrow(&x, 0, 0, 1);
        B::recycle(x);
        assert_exact::<B>(
            &clone,
            shape,
            &data,
            format_args!("clone after recycle {shape:?}"),
        );
        assert_exact::<B>(&reshaped, &[n], &data, "reshape after recycle");
        let first: Vec<f64> = data[..n / shape[0]].to_vec();
        let mut first_shape = shape.to_vec();
        first_shape[0] = 1;
        assert_exact::<B>(&narrowed, &first_shape, &first, "narrow after recycle");
        B::recycle(clone);
        B::recycle(reshaped);
        B::recycle(narrowed);

        // Unshared buffers recycled, then new arrays of the same length.
        for round in 0..3u64 {
            let fresh = values::<B::Elem>(n, 10 + round);
            B::recycle(store::<B>(&data, shape));
            let y = store::<B>(&fresh, shape);
            assert_exact::<B>(&y, shape, &fresh, "from_vec after recycle");
            B::recycle(B::full(shape, B::Elem::of(3.0)));
            let f = B::full(shape, B::Elem::of(-2.0));
            assert_exact::<B>(&f, shape, &vec![-2.0; n], "full after recycle");
            B::recycle(store::<B>(&data, shape));
            let neg = B::unary(&y, UnaryOp::Neg);
            let want: Vec<f64> = fresh.iter().map(|v| -v).collect();
            assert_exact::<B>(&neg, shape, &want, "unary Neg after recycle");
            B::recycle(store::<B>(&data, shape));
            let sum = B::binary(&y, &f, BinaryOp::Add);
            let want: Vec<f64> = fresh.iter().map(|v| v - 2.0).collect();
            assert_exact::<B>(&sum, shape, &want, "binary Add after recycle");
            B::recycle(neg);
            B::recycle(sum);
            assert_eq!(
                read::<B>(&y),
                fresh,
                "{}: recycling others changed y",
                who::<B>()
            );
        }
    }
}
