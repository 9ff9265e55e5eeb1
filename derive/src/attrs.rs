//! The `#[module(..)]` attributes on the struct and on its fields.

use syn::{Attribute, Expr, Path, Type};

/// `#[module(..)]` on the struct.
#[derive(Default)]
pub struct StructAttrs {
    /// `backend = B`: the backend type the module is generic over (or a concrete one).
    pub backend: Option<Type>,
    /// `crate = path`: where duograd is (default `::duograd`).
    pub krate: Option<Path>,
    /// `extra_repr = f`: `f(&self) -> String` for [`Module::extra_repr`].
    pub extra_repr: Option<Expr>,
    /// `type_name = f`: `f(&self) -> String` for [`Module::type_name`].
    pub type_name: Option<Expr>,
}

/// `#[module(..)]` on a field.
#[derive(Default)]
pub struct FieldAttrs {
    /// `skip`: the field is none of the module's business (settings, generators).
    pub skip: bool,
    /// `flatten`: a list's elements are named `0`, `1`, … without the field's name.
    pub flatten: bool,
}

impl StructAttrs {
    pub fn parse(attrs: &[Attribute]) -> syn::Result<Self> {
        let mut out = StructAttrs::default();
        for attr in attrs.iter().filter(|a| a.path().is_ident("module")) {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("backend") {
                    out.backend = Some(meta.value()?.parse()?);
                } else if meta.path.is_ident("crate") {
                    out.krate = Some(meta.value()?.parse()?);
                } else if meta.path.is_ident("extra_repr") {
                    out.extra_repr = Some(meta.value()?.parse()?);
                } else if meta.path.is_ident("type_name") {
                    out.type_name = Some(meta.value()?.parse()?);
                } else {
                    return Err(meta.error(
                        "unknown `#[module(..)]` setting on a struct: expected `backend = ..`, \
                         `crate = ..`, `extra_repr = ..` or `type_name = ..`",
                    ));
                }
                Ok(())
            })?;
        }
        Ok(out)
    }
}

impl FieldAttrs {
    pub fn parse(attrs: &[Attribute]) -> syn::Result<Self> {
        let mut out = FieldAttrs::default();
        for attr in attrs.iter().filter(|a| a.path().is_ident("module")) {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("skip") {
                    out.skip = true;
                } else if meta.path.is_ident("flatten") {
                    out.flatten = true;
                } else {
                    return Err(meta.error(
                        "unknown `#[module(..)]` setting on a field: expected `skip` or `flatten`",
                    ));
                }
                Ok(())
            })?;
        }
        Ok(out)
    }
}
