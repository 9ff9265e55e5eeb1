//! The `Module<B>` impl written from a struct's fields.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{
    parse_quote, Data, DeriveInput, Fields, GenericParam, Generics, Ident, Path, Type,
    TypeParamBound, WherePredicate,
};

use crate::attrs::{FieldAttrs, StructAttrs};
use crate::kind::{classify, Category, Kind};

/// A field the module lists, with its name and kind.
struct Entry {
    /// `self.<member>`.
    member: syn::Member,
    /// The name its entries are listed under; `None` for a flattened list.
    name: Option<String>,
    kind: Kind,
}

pub fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    let attrs = StructAttrs::parse(&input.attrs)?;
    let krate: Path = attrs
        .krate
        .clone()
        .unwrap_or_else(|| parse_quote!(::duograd));
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new(
            input.ident.span(),
            "`#[derive(Module)]` supports structs only",
        ));
    };

    let (entries, training_field) = read_fields(&data.fields)?;

    let (backend, impl_generics_src) = backend(input, &attrs, &krate)?;
    let (impl_generics, _, _) = impl_generics_src.split_for_impl();
    let (_, ty_generics, where_clause) = input.generics.split_for_impl();
    let ident = &input.ident;
    let module = quote!(#krate::nn::Module<#backend>);

    let walk_all = |category: Category, mutable: bool, leaf: &Leaf| {
        let mut out = TokenStream::new();
        for entry in entries.iter().filter(|e| e.kind.category() == category) {
            let member = &entry.member;
            let expr = if mutable {
                quote!(&mut self.#member)
            } else {
                quote!(&self.#member)
            };
            let name = entry
                .name
                .as_ref()
                .map(|n| quote!(::std::string::String::from(#n)));
            out.extend(walk(&entry.kind, expr, name, 0, leaf));
        }
        out
    };

    let params = walk_all(
        Category::Parameter,
        false,
        &|_, x, n| quote!(__out.push((#n, #x));),
    );
    let buffers = walk_all(
        Category::Buffer,
        false,
        &|_, x, n| quote!(__out.push((#n, #krate::nn::Buffer::<#backend>::from(::core::clone::Clone::clone(#x))));),
    );
    // The casts are spanned at the submodule's type, so that a type that is no module fails
    // there, with the field in the error's snippet.
    let leaf_span = |kind: &Kind| match kind {
        Kind::Module(ty) => ty.span(),
        _ => Span::call_site(),
    };
    let children = walk_all(Category::Module, false, &|kind, x, n| {
        let span = leaf_span(kind);
        let x = Ident::new(&x.to_string(), span);
        quote_spanned!(span=> __out.push((#n, #x as &dyn #krate::nn::Module<#backend>));)
    });
    let children_mut = walk_all(Category::Module, true, &|kind, x, _| {
        let span = leaf_span(kind);
        let x = Ident::new(&x.to_string(), span);
        quote_spanned!(span=> __out.push(#x as &mut dyn #krate::nn::Module<#backend>);)
    });

    let (is_training, set_training) = if training_field {
        (quote!(self.training), quote!(self.training = training;))
    } else {
        (
            quote!(<Self as #module>::children(self).iter().all(|(_, c)| c.is_training())),
            quote!(let _ = training;),
        )
    };
    let extra_repr = attrs
        .extra_repr
        .as_ref()
        .map(|f| quote!(fn extra_repr(&self) -> ::std::string::String { (#f)(self) }));
    let type_name = attrs
        .type_name
        .as_ref()
        .map(|f| quote!(fn type_name(&self) -> ::std::string::String { (#f)(self) }));
    let param = quote!(#krate::nn::Parameter<#backend>);
    let buffer = quote!(#krate::nn::Buffer<#backend>);

    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics #module for #ident #ty_generics #where_clause {
            fn is_training(&self) -> bool {
                #is_training
            }
            fn set_training(&mut self, training: bool) {
                #set_training
            }
            #[allow(unused_mut)]
            fn own_parameters(&self) -> ::std::vec::Vec<(::std::string::String, &#param)> {
                let mut __out: ::std::vec::Vec<(::std::string::String, &#param)> = ::std::vec::Vec::new();
                #params
                __out
            }
            #[allow(unused_mut)]
            fn own_buffers(&self) -> ::std::vec::Vec<(::std::string::String, #buffer)> {
                let mut __out: ::std::vec::Vec<(::std::string::String, #buffer)> = ::std::vec::Vec::new();
                #buffers
                __out
            }
            #[allow(unused_mut)]
            fn children(&self) -> ::std::vec::Vec<(::std::string::String, &dyn #module)> {
                let mut __out: ::std::vec::Vec<(::std::string::String, &dyn #module)> = ::std::vec::Vec::new();
                #children
                __out
            }
            #[allow(unused_mut)]
            fn children_mut(&mut self) -> ::std::vec::Vec<&mut dyn #module> {
                let mut __out: ::std::vec::Vec<&mut dyn #module> = ::std::vec::Vec::new();
                #children_mut
                __out
            }
            #extra_repr
            #type_name
        }
    })
}

/// The fields the module lists, in declaration order, and whether a `training: bool` field
/// holds the train/eval flag; or every field's error.
fn read_fields(fields: &Fields) -> syn::Result<(Vec<Entry>, bool)> {
    let mut entries = Vec::new();
    let mut training_field = false;
    let mut errors: Option<syn::Error> = None;
    let mut push_error = |e: syn::Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    let fields: Vec<_> = match fields {
        Fields::Named(f) => f.named.iter().collect(),
        Fields::Unnamed(f) => f.unnamed.iter().collect(),
        Fields::Unit => Vec::new(),
    };
    for (index, field) in fields.into_iter().enumerate() {
        let field_attrs = match FieldAttrs::parse(&field.attrs) {
            Ok(a) => a,
            Err(e) => {
                push_error(e);
                continue;
            }
        };
        let (member, name) = match &field.ident {
            Some(ident) => {
                let name = ident.to_string();
                let name = name.strip_prefix("r#").unwrap_or(&name).to_string();
                (syn::Member::Named(ident.clone()), name)
            }
            None => (syn::Member::Unnamed(index.into()), index.to_string()),
        };
        if name == "training" && is_bool(&field.ty) {
            training_field = true;
            continue;
        }
        if field_attrs.skip {
            if field_attrs.flatten {
                push_error(syn::Error::new_spanned(
                    field,
                    format!(
                        "`#[derive(Module)]`: field `{name}`: `skip` and `flatten` exclude \
                         each other"
                    ),
                ));
            }
            continue;
        }
        let kind = match classify(&field.ty) {
            Ok(kind) => kind,
            Err(why) => {
                push_error(syn::Error::new_spanned(
                    &field.ty,
                    format!("`#[derive(Module)]`: field `{name}`: {why}"),
                ));
                continue;
            }
        };
        if field_attrs.flatten && !matches!(kind, Kind::List(_)) {
            push_error(syn::Error::new_spanned(
                field,
                format!(
                    "`#[derive(Module)]`: field `{name}`: `#[module(flatten)]` applies to a `Vec` \
                     or an array, whose elements are then named `0`, `1`, …"
                ),
            ));
            continue;
        }
        entries.push(Entry {
            member,
            name: (!field_attrs.flatten).then_some(name),
            kind,
        });
    }
    match errors {
        Some(e) => Err(e),
        None => Ok((entries, training_field)),
    }
}

/// Writes the statement run on each value reached: `leaf(kind, value, name)`.
type Leaf<'a> = dyn Fn(&Kind, &Ident, &TokenStream) -> TokenStream + 'a;

/// Code that visits every value of kind `kind` reachable from `expr` (a reference to it), with
/// `name` (a `String` expression, `None` at a flattened list) and runs `leaf` on each.
fn walk(
    kind: &Kind,
    expr: TokenStream,
    name: Option<TokenStream>,
    depth: usize,
    leaf: &Leaf,
) -> TokenStream {
    let x = format_ident!("__x{depth}");
    match kind {
        Kind::List(inner) => {
            let i = format_ident!("__i{depth}");
            let n = format_ident!("__n{depth}");
            let element_name = match name {
                Some(prefix) => quote!(::std::format!("{}.{}", #prefix, #i)),
                None => quote!(::std::string::ToString::to_string(&#i)),
            };
            let body = walk(inner, quote!(#x), Some(quote!(#n.clone())), depth + 1, leaf);
            quote! {
                for (#i, #x) in ::core::iter::IntoIterator::into_iter(#expr).enumerate() {
                    let #n: ::std::string::String = #element_name;
                    #body
                }
            }
        }
        Kind::Option(inner) => {
            let body = walk(inner, quote!(#x), name, depth + 1, leaf);
            quote! {
                if let ::core::option::Option::Some(#x) = #expr {
                    #body
                }
            }
        }
        _ => {
            let name = name.expect("a flattened field is a list");
            let body = leaf(kind, &x, &name);
            quote! {
                {
                    let #x = #expr;
                    #body
                }
            }
        }
    }
}

/// The backend type of the impl, and the generics the impl declares (the struct's, plus a new
/// `__B: Backend` when the struct has no backend parameter).
fn backend(
    input: &DeriveInput,
    attrs: &StructAttrs,
    krate: &Path,
) -> syn::Result<(Type, Generics)> {
    if let Some(b) = &attrs.backend {
        return Ok((b.clone(), input.generics.clone()));
    }
    let bounded_by_backend =
        |bounds: &syn::punctuated::Punctuated<TypeParamBound, syn::Token![+]>| {
            bounds.iter().any(|b| {
                matches!(b, TypeParamBound::Trait(t)
            if t.path.segments.last().is_some_and(|s| s.ident == "Backend"))
            })
        };
    let mut found: Vec<Ident> = input
        .generics
        .type_params()
        .filter(|p| bounded_by_backend(&p.bounds))
        .map(|p| p.ident.clone())
        .collect();
    if let Some(w) = &input.generics.where_clause {
        for pred in &w.predicates {
            if let WherePredicate::Type(p) = pred {
                if let Type::Path(t) = &p.bounded_ty {
                    if let Some(id) = t.path.get_ident() {
                        if bounded_by_backend(&p.bounds) && !found.contains(id) {
                            found.push(id.clone());
                        }
                    }
                }
            }
        }
    }
    match found.len() {
        0 => {
            // A module that holds no backend-typed state (an activation, a pooling layer) is
            // a module on every backend.
            let mut generics = input.generics.clone();
            let b = Ident::new("__B", Span::call_site());
            generics
                .params
                .push(GenericParam::Type(parse_quote!(#b: #krate::Backend)));
            Ok((parse_quote!(#b), generics))
        }
        1 => {
            let b = &found[0];
            Ok((parse_quote!(#b), input.generics.clone()))
        }
        _ => Err(syn::Error::new(
            input.generics.span(),
            "`#[derive(Module)]`: several type parameters are bounded by `Backend`; name the \
             module's with `#[module(backend = B)]`",
        )),
    }
}

/// Whether `ty` is spelled `bool`.
fn is_bool(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none() && p.path.is_ident("bool"))
}
