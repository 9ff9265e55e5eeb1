//! The [`Module`] trait (and its derive): a layer or a model, with its parameters, buffers,
//! submodules and train/eval flag.

use std::collections::HashSet;
use std::fmt;

use super::{Buffer, Parameter};
use crate::backend::Backend;

/// The derive macro: writes the [`Module`] trait for a struct from its fields (the trait's
/// documentation has an example). `use duograd::nn::Module;` imports both.
pub use duograd_derive::Module;

/// The structure of a layer or a model: the parameters, buffers and submodules it owns, and
/// its train/eval flag. Its computation is [`super::Forward`].
///
/// `#[derive(Module)]` writes it from the struct's fields: parameters (`Parameter<B>`), buffers
/// (`Buffer<B>`, `Counter`), submodules (any other module type, `Box<dyn Forward<B>>`), and
/// `Vec`s, arrays and `Option`s of them, listed in declaration order under dotted
/// PyTorch-style names (`layers.0.weight`; a `None` lists nothing). A field `training: bool`
/// holds the train/eval flag; `#[module(skip)]` leaves out a field that holds none of these
/// (settings, generators). A field of any other type is a compile error pointing at the field.
///
/// Written by hand, a module lists its own parameters in [`Module::own_parameters`], its
/// non-trainable state (running statistics) in [`Module::own_buffers`], its submodules in
/// [`Module::children`] and [`Module::children_mut`] (so that [`Module::train`] reaches
/// them), and keeps its flag with [`Module::is_training`] and [`Module::set_training`].
/// Everything else — [`Module::parameters`], [`Module::named_parameters`] and
/// [`Module::named_buffers`] with dotted names, [`Module::zero_grad`], the `Display` repr — is
/// derived from those.
///
/// ```
/// use duograd::nn::{Forward, Linear, Module, ReLU};
/// use duograd::{Backend, Tensor};
/// use duograd::backends::NdArray;
/// use rand::SeedableRng;
///
/// /// Linear layers with ReLU between them, and an optional output layer.
/// #[derive(Module)]
/// struct Net<B: Backend> {
///     input: Linear<B>,
///     hidden: Vec<Linear<B>>,
///     relu: ReLU,
///     head: Option<Linear<B>>,
///     #[module(skip)]
///     width: usize,
///     training: bool,
/// }
///
/// impl<B: Backend> Forward<B> for Net<B> {
///     fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
///         let mut h = self.relu.forward(&self.input.forward(x));
///         for layer in &self.hidden {
///             h = self.relu.forward(&layer.forward(&h));
///         }
///         match &self.head {
///             Some(head) => head.forward(&h),
///             None => h,
///         }
///     }
/// }
///
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let mut net = Net::<NdArray<f64>> {
///     input: Linear::new(4, 8, &mut rng),
///     hidden: vec![Linear::new(8, 8, &mut rng), Linear::new(8, 8, &mut rng)],
///     relu: ReLU::new(),
///     head: Some(Linear::new(8, 2, &mut rng)),
///     width: 8,
///     training: true,
/// };
/// let names: Vec<String> = net.named_parameters().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, [
///     "input.weight", "input.bias",
///     "hidden.0.weight", "hidden.0.bias", "hidden.1.weight", "hidden.1.bias",
///     "head.weight", "head.bias",
/// ]);
/// assert_eq!(net.forward(&Tensor::zeros(&[3, 4])).shape(), &[3, 2]);
/// net.eval();
/// assert!(!net.is_training() && !net.hidden[1].is_training() && !net.relu.is_training());
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a module (`Module<{B}>`)",
    label = "not a module, a `Parameter`, a `Buffer`, a `Counter`, or a `Vec`, array, `Option` \
             or `Box` of them",
    note = "a field that holds no parameters, buffers or submodules (a setting, a generator) \
            needs `#[module(skip)]`"
)]
pub trait Module<B: Backend> {
    /// Whether the module is in training mode (the default for new modules).
    fn is_training(&self) -> bool;

    /// Sets this module's own train/eval flag, not its submodules' (see [`Module::train`]).
    fn set_training(&mut self, training: bool);

    /// This module's own parameters (not its submodules'), in declaration order, each with its
    /// local name (`"weight"`, `"bias"`, `"scales.0"` for an element of a list field).
    fn own_parameters(&self) -> Vec<(String, &Parameter<B>)> {
        Vec::new()
    }

    /// This module's own buffers (not its submodules'), in registration order, each with its
    /// local name (`"running_mean"`, `"num_batches_tracked"`): non-trainable state saved with
    /// the parameters, as PyTorch's `register_buffer`.
    fn own_buffers(&self) -> Vec<(String, Buffer<B>)> {
        Vec::new()
    }

    /// The direct submodules, in declaration order, each with its name (a field name, or
    /// `"0"`, `"1"`, … in a [`super::Sequential`]).
    fn children(&self) -> Vec<(String, &dyn Module<B>)> {
        Vec::new()
    }

    /// The direct submodules, mutably, in the order of [`Module::children`].
    fn children_mut(&mut self) -> Vec<&mut dyn Module<B>> {
        Vec::new()
    }

    /// Sets training mode (`true`) or evaluation mode (`false`) on this module and every
    /// submodule, as PyTorch's `module.train(mode)`.
    fn train(&mut self, training: bool) {
        self.set_training(training);
        for child in self.children_mut() {
            child.train(training);
        }
    }

    /// Evaluation mode: `train(false)`.
    fn eval(&mut self) {
        self.train(false);
    }

    /// Every parameter with its dotted name (`"0.weight"`, `"linear1.bias"`): a module's own
    /// parameters before its submodules', in declaration order, as PyTorch's
    /// `named_parameters()`. A parameter reached twice (shared between submodules) is listed
    /// once, under its first name.
    fn named_parameters(&self) -> Vec<(String, Parameter<B>)> {
        let mut out: Vec<(String, Parameter<B>)> = self
            .own_parameters()
            .into_iter()
            .map(|(name, p)| (name, p.clone()))
            .collect();
        for (prefix, child) in self.children() {
            out.extend(
                child
                    .named_parameters()
                    .into_iter()
                    .map(|(name, p)| (format!("{prefix}.{name}"), p)),
            );
        }
        let mut seen = HashSet::new();
        out.retain(|(_, p)| seen.insert(p.id()));
        out
    }

    /// Every buffer with its dotted name (`"1.running_mean"`): a module's own buffers before its
    /// submodules', in registration order, as PyTorch's `named_buffers()`. A buffer reached
    /// twice is listed once, under its first name.
    fn named_buffers(&self) -> Vec<(String, Buffer<B>)> {
        let mut out = self.own_buffers();
        for (prefix, child) in self.children() {
            out.extend(
                child
                    .named_buffers()
                    .into_iter()
                    .map(|(name, b)| (format!("{prefix}.{name}"), b)),
            );
        }
        let mut seen = HashSet::new();
        out.retain(|(_, b)| seen.insert(b.key()));
        out
    }

    /// Every buffer, in the order of [`Module::named_buffers`].
    fn buffers(&self) -> Vec<Buffer<B>> {
        self.named_buffers().into_iter().map(|(_, b)| b).collect()
    }

    /// Every parameter, in the order of [`Module::named_parameters`].
    fn parameters(&self) -> Vec<Parameter<B>> {
        self.named_parameters()
            .into_iter()
            .map(|(_, p)| p)
            .collect()
    }

    /// The number of scalar parameters.
    fn num_parameters(&self) -> usize {
        self.parameters().iter().map(|p| p.numel()).sum()
    }

    /// Clears every parameter's gradient (PyTorch's `zero_grad(set_to_none=True)`).
    fn zero_grad(&self) {
        for p in self.parameters() {
            p.zero_grad();
        }
    }

    /// The name shown by the repr (`"Linear"`); by default the type's name without its path
    /// and generic arguments.
    fn type_name(&self) -> String {
        short_type_name(std::any::type_name::<Self>())
    }

    /// The settings shown between the parentheses of the repr
    /// (`"in_features=4, out_features=3, bias=True"`); empty by default.
    fn extra_repr(&self) -> String {
        String::new()
    }
}

/// `a::b::Linear<c::D<f64>>` → `Linear`.
fn short_type_name(full: &str) -> String {
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base).to_string()
}

impl<B: Backend, M: Module<B> + ?Sized> Module<B> for Box<M> {
    fn is_training(&self) -> bool {
        (**self).is_training()
    }
    fn set_training(&mut self, training: bool) {
        (**self).set_training(training);
    }
    fn own_parameters(&self) -> Vec<(String, &Parameter<B>)> {
        (**self).own_parameters()
    }
    fn own_buffers(&self) -> Vec<(String, Buffer<B>)> {
        (**self).own_buffers()
    }
    fn children(&self) -> Vec<(String, &dyn Module<B>)> {
        (**self).children()
    }
    fn children_mut(&mut self) -> Vec<&mut dyn Module<B>> {
        (**self).children_mut()
    }
    fn train(&mut self, training: bool) {
        (**self).train(training);
    }
    fn eval(&mut self) {
        (**self).eval();
    }
    fn named_parameters(&self) -> Vec<(String, Parameter<B>)> {
        (**self).named_parameters()
    }
    fn named_buffers(&self) -> Vec<(String, Buffer<B>)> {
        (**self).named_buffers()
    }
    fn buffers(&self) -> Vec<Buffer<B>> {
        (**self).buffers()
    }
    fn parameters(&self) -> Vec<Parameter<B>> {
        (**self).parameters()
    }
    fn num_parameters(&self) -> usize {
        (**self).num_parameters()
    }
    fn zero_grad(&self) {
        (**self).zero_grad();
    }
    fn type_name(&self) -> String {
        (**self).type_name()
    }
    fn extra_repr(&self) -> String {
        (**self).extra_repr()
    }
}

/// `12345` → `"12,345"`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The PyTorch-style repr of `m`, nested lines indented by two spaces per level; a module with
/// parameters of its own ends its line with their count.
fn repr<B: Backend>(m: &dyn Module<B>) -> String {
    let mut head = format!("{}({})", m.type_name(), m.extra_repr());
    let own: usize = m.own_parameters().iter().map(|(_, p)| p.numel()).sum();
    if own > 0 {
        head.push_str(&format!("  # {} parameters", thousands(own)));
    }
    let children = m.children();
    if children.is_empty() {
        return head;
    }
    // Children go inside the parentheses, one per line, as in PyTorch.
    let mut out = format!("{}(", m.type_name());
    if !m.extra_repr().is_empty() {
        out.push_str(&format!("\n  {}", m.extra_repr()));
    }
    for (name, child) in children {
        let nested = repr(child).replace('\n', "\n  ");
        out.push_str(&format!("\n  ({name}): {nested}"));
    }
    out.push_str("\n)");
    out
}

/// Writes the repr of `m` followed by its total parameter count: the body of every built-in
/// module's `Display`, and of `Display` for `dyn Module<B>`.
///
/// ```
/// use duograd::nn::{Activation, Mlp};
/// use duograd::backends::NdArray;
/// use rand::SeedableRng;
///
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let mlp = Mlp::<NdArray<f32>>::new(&[784, 64, 10], Activation::Relu, &mut rng);
/// assert_eq!(
///     mlp.to_string(),
///     "Mlp(
///   (0): Linear(in_features=784, out_features=64, bias=True)  # 50,240 parameters
///   (1): ReLU()
///   (2): Linear(in_features=64, out_features=10, bias=True)  # 650 parameters
/// )
/// Total parameters: 50,890"
/// );
/// ```
pub fn fmt_module<B: Backend>(m: &dyn Module<B>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(
        f,
        "{}\nTotal parameters: {}",
        repr(m),
        thousands(m.num_parameters())
    )
}

impl<B: Backend> fmt::Display for dyn Module<B> + '_ {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_module(self, f)
    }
}

/// Implements `Display` (the module repr) and `Debug` (the same) for a module type generic over
/// the backend.
macro_rules! display_module {
    ($ty:ident < B >) => {
        impl<B: $crate::Backend> ::std::fmt::Display for $ty<B> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                $crate::nn::module::fmt_module::<B>(self, f)
            }
        }
        impl<B: $crate::Backend> ::std::fmt::Debug for $ty<B> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(self, f)
            }
        }
    };
}
pub(crate) use display_module;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_type_name_drops_path_and_generics() {
        assert_eq!(
            short_type_name("duograd::nn::linear::Linear<duograd::backends::NdArray<f64>>"),
            "Linear"
        );
        assert_eq!(short_type_name("ReLU"), "ReLU");
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(50890), "50,890");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
