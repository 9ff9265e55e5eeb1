//! Arithmetic operators for owned and borrowed tensors and for `f64` scalars on either side.
//!
//! All forms delegate to the named methods (`add`, `mul_scalar`, …); a shape mismatch panics
//! with a message naming the op and both shapes.

use std::ops::{Add, Div, Mul, Neg, Sub};

use crate::backend::Backend;
use crate::tensor::Tensor;

macro_rules! binary_operator {
    ($trait:ident, $method:ident, $tensor_op:ident, $scalar_op:ident, $scalar_on_left:expr) => {
        impl<B: Backend> $trait<&Tensor<B>> for &Tensor<B> {
            type Output = Tensor<B>;
            #[track_caller]
            fn $method(self, rhs: &Tensor<B>) -> Tensor<B> {
                Tensor::$tensor_op(self, rhs)
            }
        }
        impl<B: Backend> $trait<Tensor<B>> for &Tensor<B> {
            type Output = Tensor<B>;
            #[track_caller]
            fn $method(self, rhs: Tensor<B>) -> Tensor<B> {
                Tensor::$tensor_op(self, &rhs)
            }
        }
        impl<B: Backend> $trait<&Tensor<B>> for Tensor<B> {
            type Output = Tensor<B>;
            #[track_caller]
            fn $method(self, rhs: &Tensor<B>) -> Tensor<B> {
                Tensor::$tensor_op(&self, rhs)
            }
        }
        impl<B: Backend> $trait<Tensor<B>> for Tensor<B> {
            type Output = Tensor<B>;
            #[track_caller]
            fn $method(self, rhs: Tensor<B>) -> Tensor<B> {
                Tensor::$tensor_op(&self, &rhs)
            }
        }
        impl<B: Backend> $trait<f64> for &Tensor<B> {
            type Output = Tensor<B>;
            fn $method(self, rhs: f64) -> Tensor<B> {
                Tensor::$scalar_op(self, rhs)
            }
        }
        impl<B: Backend> $trait<f64> for Tensor<B> {
            type Output = Tensor<B>;
            fn $method(self, rhs: f64) -> Tensor<B> {
                Tensor::$scalar_op(&self, rhs)
            }
        }
        impl<B: Backend> $trait<&Tensor<B>> for f64 {
            type Output = Tensor<B>;
            fn $method(self, rhs: &Tensor<B>) -> Tensor<B> {
                let f: fn(&Tensor<B>, f64) -> Tensor<B> = $scalar_on_left;
                f(rhs, self)
            }
        }
        impl<B: Backend> $trait<Tensor<B>> for f64 {
            type Output = Tensor<B>;
            fn $method(self, rhs: Tensor<B>) -> Tensor<B> {
                let f: fn(&Tensor<B>, f64) -> Tensor<B> = $scalar_on_left;
                f(&rhs, self)
            }
        }
    };
}

binary_operator!(Add, add, add, add_scalar, Tensor::add_scalar);
binary_operator!(Sub, sub, sub, sub_scalar, Tensor::rsub_scalar);
binary_operator!(Mul, mul, mul, mul_scalar, Tensor::mul_scalar);
binary_operator!(Div, div, div, div_scalar, Tensor::rdiv_scalar);

impl<B: Backend> Neg for &Tensor<B> {
    type Output = Tensor<B>;
    fn neg(self) -> Tensor<B> {
        Tensor::neg(self)
    }
}

impl<B: Backend> Neg for Tensor<B> {
    type Output = Tensor<B>;
    fn neg(self) -> Tensor<B> {
        Tensor::neg(&self)
    }
}
