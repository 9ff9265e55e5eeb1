//! What a field holds, read from its type's syntax.

use quote::ToTokens;
use syn::{GenericArgument, PathArguments, Type};

/// The role of a field (or of an element of one) in a module.
pub enum Kind {
    /// `Parameter<..>`: one of the module's own parameters.
    Parameter,
    /// `Buffer<..>`: one of the module's own buffers.
    Buffer,
    /// `Counter`: an integer buffer.
    Counter,
    /// Any other type: a submodule, checked by the `Module<B>` bound.
    Module(Box<Type>),
    /// `Vec<T>` or `[T; N]`: one entry per element, named by its index.
    List(Box<Kind>),
    /// `Option<T>`: the entry under the same name if `Some`, nothing if `None`.
    Option(Box<Kind>),
}

/// Which list of the module a field's entries go to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Parameter,
    Buffer,
    Module,
}

impl Kind {
    /// The list the innermost value goes to.
    pub fn category(&self) -> Category {
        match self {
            Kind::Parameter => Category::Parameter,
            Kind::Buffer | Kind::Counter => Category::Buffer,
            Kind::Module(_) => Category::Module,
            Kind::List(inner) | Kind::Option(inner) => inner.category(),
        }
    }
}

/// Types that never hold parameters, buffers or submodules.
const PLAIN: &[&str] = &[
    "bool",
    "char",
    "str",
    "String",
    "u8",
    "u16",
    "u32",
    "u64",
    "u128",
    "usize",
    "i8",
    "i16",
    "i32",
    "i64",
    "i128",
    "isize",
    "f32",
    "f64",
    "PhantomData",
];

/// The kind of a field of type `ty`, or why the derive cannot handle it.
pub fn classify(ty: &Type) -> Result<Kind, String> {
    match ty {
        Type::Paren(t) => classify(&t.elem),
        Type::Group(t) => classify(&t.elem),
        Type::Array(a) => Ok(Kind::List(Box::new(classify(&a.elem)?))),
        Type::Path(p) if p.qself.is_none() => {
            let last = p.path.segments.last().expect("a path has a segment");
            let name = last.ident.to_string();
            match name.as_str() {
                "Parameter" => Ok(Kind::Parameter),
                "Buffer" => Ok(Kind::Buffer),
                "Counter" => Ok(Kind::Counter),
                "Vec" => Ok(Kind::List(Box::new(classify(single_arg(
                    &last.arguments,
                )?)?))),
                "Option" => Ok(Kind::Option(Box::new(classify(single_arg(
                    &last.arguments,
                )?)?))),
                "Tensor" => Err(
                    "a `Tensor` is neither a parameter nor a buffer: wrap it in `Parameter` \
                     (trained) or `Buffer` (saved state), or mark the field `#[module(skip)]`"
                        .into(),
                ),
                _ if PLAIN.contains(&name.as_str()) => Err(format!(
                    "`{}` holds no parameters, buffers or submodules: mark the field \
                     `#[module(skip)]`",
                    compact(ty)
                )),
                _ => Ok(Kind::Module(Box::new(ty.clone()))),
            }
        }
        _ => Err(format!(
            "`{}` cannot be a submodule, a parameter or a buffer (use a module, `Parameter`, \
             `Buffer`, `Counter`, or a `Vec`, array, `Option` or `Box` of them), or mark the \
             field `#[module(skip)]`",
            compact(ty)
        )),
    }
}

/// The one type argument of `Vec<T>` or `Option<T>`.
fn single_arg(args: &PathArguments) -> Result<&Type, String> {
    if let PathArguments::AngleBracketed(a) = args {
        if let [GenericArgument::Type(t)] = a.args.iter().collect::<Vec<_>>()[..] {
            return Ok(t);
        }
    }
    Err("expected exactly one type argument".into())
}

/// `ty` as written, without the spaces `quote` puts between tokens (`Vec<f64>`).
pub fn compact(ty: &Type) -> String {
    let s = ty.to_token_stream().to_string();
    s.replace(" < ", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
        .replace(" ;", ";")
        .replace("& ", "&")
        .replace(" :: ", "::")
}
