//! Creation and read-back.

use crate::{Backend, Element};

/// `from_vec` then `to_vec` gives the data back, row-major, for ranks 0 to 4 and empty shapes.
pub fn from_vec_to_vec_round_trip<B: Backend>() {
    let shapes: [&[usize]; 6] = [&[], &[5], &[2, 3], &[2, 3, 4], &[2, 1, 3, 2], &[0, 3]];
    for shape in shapes {
        let n: usize = shape.iter().product();
        let data: Vec<B::Elem> = (0..n).map(|i| B::Elem::of(i as f64)).collect();
        let x = B::from_vec(data.clone(), shape);
        assert_eq!(B::shape(&x), shape, "{}: shape of from_vec", B::name());
        assert_eq!(
            B::to_vec(&x),
            data,
            "{}: to_vec after from_vec {shape:?}",
            B::name()
        );
    }
}
