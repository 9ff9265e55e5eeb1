//! `#[derive(Module)]` for duograd, re-exported as `duograd::nn::Module` next to the trait of
//! the same name: `use duograd::nn::Module;` brings both. Its documentation, with examples, is
//! on the trait.

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

mod attrs;
mod expand;
mod kind;

/// Implements `duograd::nn::Module<B>` for a struct from its fields: parameters, buffers and
/// submodules in declaration order under PyTorch's dotted names, and the train/eval flag.
///
/// Each field is recognized by how its type is spelled:
///
/// | field type | listed as |
/// | --- | --- |
/// | `Parameter<B>` | an own parameter named after the field |
/// | `Buffer<B>`, `Counter` | an own buffer named after the field |
/// | `Vec<T>`, `[T; N]` | each element as `T`, named `field.0`, `field.1`, … |
/// | `Option<T>` | `Some`: as `T` under the field's name; `None`: nothing |
/// | anything else (`Linear<B>`, `Box<dyn Forward<B>>`, …) | a submodule; the type must implement `Module<B>` |
///
/// - A field `training: bool` holds the train/eval flag. Without one, the module is in
///   training mode when all its submodules are, and `train`/`eval` reach the submodules only.
/// - `#[module(skip)]` on a field leaves it out (settings, generators, caches).
/// - `#[module(flatten)]` on a `Vec` or array field names its elements `0`, `1`, … without
///   the field's name, as in an `nn.Sequential`.
/// - The backend is the struct's type parameter bounded by `Backend`; a struct without one is
///   a module on every backend; `#[module(backend = B)]` names it explicitly.
/// - `#[module(extra_repr = f)]` and `#[module(type_name = f)]` take functions
///   `f(&Self) -> String` for the repr.
/// - `#[module(crate = path)]` says where duograd is, if not at `::duograd`.
///
/// A field of a type that is none of these (a number, a `String`, a plain `Tensor`, a
/// reference, a tuple, or a type that does not implement `Module<B>`) is a compile error that
/// points at the field. Types are recognized by how they are spelled, so a type alias of a
/// `Vec` or an `Option` is taken for a module (and fails the `Module<B>` bound).
///
/// A list of parameters (`Vec<Parameter<B>>`, `[Parameter<B>; N]`) is listed with the
/// module's own parameters, before the submodules' (where PyTorch's `nn.ParameterList`, a
/// submodule, would list them among the submodules, at the field's place).
///
/// ```
/// use duograd::nn::{BatchNorm1d, Counter, Forward, Linear, Module, Parameter};
/// use duograd::{Backend, Tensor};
///
/// /// Parameters `gate`, `blocks.0.weight`, …, `out.weight`, `out.bias` (if `Some`), and
/// /// buffers `calls`, `norm.running_mean`, ….
/// #[derive(Module)]
/// #[module(extra_repr = Self::settings)]
/// struct Gated<B: Backend> {
///     gate: Parameter<B>,
///     calls: Counter,
///     blocks: Vec<Linear<B>>,
///     norm: BatchNorm1d<B>,
///     out: Option<Linear<B>>,
///     #[module(skip)]
///     threshold: f64,
///     training: bool,
/// }
///
/// impl<B: Backend> Gated<B> {
///     fn settings(&self) -> String {
///         format!("threshold={}", self.threshold)
///     }
/// }
///
/// impl<B: Backend> Forward<B> for Gated<B> {
///     fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
///         self.calls.increment();
///         let mut h = x.mul(&self.gate);
///         for block in &self.blocks {
///             h = block.forward(&h).relu();
///         }
///         h = self.norm.forward(&h);
///         self.out.as_ref().map_or(h.clone(), |out| out.forward(&h))
///     }
/// }
/// ```
#[proc_macro_derive(Module, attributes(module))]
pub fn derive_module(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
