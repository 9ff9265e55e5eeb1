//! Values written as Python writes them, so that a module's repr reads like PyTorch's
//! (`eps=1e-05`, `affine=True`, `kernel_size=(3, 3)`).

/// `v` as Python's `repr(float)`: the shortest digits that round-trip, in positional notation
/// for exponents -5 < e < 16 (with a `.0` when integral), scientific otherwise (`1e-05`,
/// `1.5e+16`).
pub(crate) fn float(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    let scientific = format!("{v:e}");
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("`{:e}` output has an exponent");
    let exponent: i32 = exponent.parse().expect("an integer exponent");
    if v == 0.0 || (-5 < exponent && exponent < 16) {
        let positional = format!("{v}");
        if positional.contains('.') {
            positional
        } else {
            positional + ".0"
        }
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.abs())
    }
}

/// `True` or `False`.
pub(crate) fn boolean(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

/// A pair as a Python tuple: `(3, 3)`.
pub(crate) fn pair(p: [usize; 2]) -> String {
    format!("({}, {})", p[0], p[1])
}

/// A size given as an int or a pair, as PyTorch prints what it was given: `2` for `[2, 2]`,
/// `(2, 3)` otherwise.
pub(crate) fn size(p: [usize; 2]) -> String {
    if p[0] == p[1] {
        p[0].to_string()
    } else {
        pair(p)
    }
}

/// Implements `Display` (`Name(args)`) and `Debug` (the same) for a module type that does not
/// depend on the backend, from its `repr_args(&self) -> String` method.
macro_rules! display_layer {
    ($ty:ident) => {
        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, "{}({})", stringify!($ty), self.repr_args())
            }
        }
        impl ::std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(self, f)
            }
        }
    };
}
pub(crate) use display_layer;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_read_as_python_repr() {
        let cases = [
            (1e-5, "1e-05"),
            (0.1, "0.1"),
            (0.25, "0.25"),
            (0.0, "0.0"),
            (1.0, "1.0"),
            (1e-3, "0.001"),
            (1e-4, "0.0001"),
            (1.5e-7, "1.5e-07"),
            (123.456, "123.456"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (2.5e100, "2.5e+100"),
            (-3e-6, "-3e-06"),
            (f64::INFINITY, "inf"),
        ];
        for (v, want) in cases {
            assert_eq!(float(v), want, "{v}");
        }
    }

    #[test]
    fn sizes_print_one_int_when_square() {
        assert_eq!(size([2, 2]), "2");
        assert_eq!(size([2, 3]), "(2, 3)");
        assert_eq!(pair([1, 1]), "(1, 1)");
        assert_eq!(boolean(false), "False");
    }
}
