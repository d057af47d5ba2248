//! `#[derive(Differentiable)]`: a model struct's leaves, in field order.
//!
//! Every field is a leaf (its type implements `autodiff::Differentiable`: floats, arrays,
//! `Vec`s, tensors, derived structs and collections of them) or a constant (integers, `bool`,
//! and any field marked `#[autodiff(skip)]`), which is copied where a new value is made.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Member, Type};

use crate::errors::Errors;
use crate::names::{self, member_name};

/// The entry point: `#[derive(Differentiable)] struct S { .. }`.
pub(crate) fn derive(input: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(i) => i,
        Err(e) => return e.into_compile_error(),
    };
    expand(&input).unwrap_or_else(syn::Error::into_compile_error)
}

struct Field<'a> {
    member: Member,
    ty: &'a Type,
    leaf: bool,
}

fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let fields = match &input.data {
        Data::Struct(s) => &s.fields,
        Data::Enum(e) => {
            return Err(syn::Error::new_spanned(
                e.enum_token,
                "`Differentiable` can be derived for structs only; an enum has no fixed set of parameters",
            ))
        }
        Data::Union(u) => {
            return Err(syn::Error::new_spanned(
                u.union_token,
                "`Differentiable` can be derived for structs only",
            ))
        }
    };
    let errors = Errors::default();
    let model = classify(fields, &errors);
    let Some(first) = model.iter().find(|f| f.leaf) else {
        errors.at(&input.ident, "this struct has no field to differentiate; give it a float, array, `Vec`, tensor or `Differentiable` struct field that is not `#[autodiff(skip)]`");
        return errors.finish().map(|_| TokenStream::new());
    };
    mixed_floats(&model, &errors);
    errors.finish()?;

    let rt = quote!(::autodiff::Differentiable);
    let first_ty = first.ty;
    let scalar = quote!(<#first_ty as #rt>::Scalar);
    let name = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let preds = bounds(input, &model, first.ty, &scalar);
    let zeros = model.iter().map(|f| {
        let (m, ty) = (&f.member, f.ty);
        if f.leaf {
            quote_spanned!(ty.span()=> #m: <#ty as #rt>::zeros_like(&self.#m))
        } else {
            quote_spanned!(ty.span()=> #m: ::core::clone::Clone::clone(&self.#m))
        }
    });
    let read = model.iter().map(|f| {
        let (m, ty) = (&f.member, f.ty);
        if f.leaf {
            quote_spanned!(ty.span()=> #m: <#ty as #rt>::read_flat(&self.#m, flat, pos))
        } else {
            quote_spanned!(ty.span()=> #m: ::core::clone::Clone::clone(&self.#m))
        }
    });
    let leaves: Vec<&Member> = model.iter().filter(|f| f.leaf).map(|f| &f.member).collect();
    let tys: Vec<&Type> = model.iter().filter(|f| f.leaf).map(|f| f.ty).collect();
    // Setters for the gradient a `#[differentiable]` method assembles: a constant field keeps
    // the value copied from the input.
    let setters = model.iter().map(accessors);
    let inherent_where = where_clause;
    let span = Span::call_site();
    Ok(quote_spanned! {span=>
        #[automatically_derived]
        #[allow(non_snake_case)]
        impl #impl_generics #name #ty_generics #inherent_where {
            #(#setters)*
        }
        // Adjoints of a struct value used twice in a body are summed leaf by leaf.
        #[automatically_derived]
        impl #impl_generics ::autodiff::__private::Binary<Self> for #name #ty_generics where #(#preds,)* {
            type Elem = #scalar;
            type Output = Self;
            fn zip_elems(
                &self,
                rhs: &Self,
                _op: &'static str,
                f: impl Fn(Self::Elem, Self::Elem) -> Self::Elem,
            ) -> Self {
                ::autodiff::__private::zip_leaves(self, rhs, f)
            }
        }
        #[automatically_derived]
        impl #impl_generics #rt for #name #ty_generics where #(#preds,)* {
            type Scalar = #scalar;
            #[inline]
            fn zeros_like(&self) -> Self {
                Self { #(#zeros,)* }
            }
            #[inline]
            fn scaled_add(&mut self, alpha: Self::Scalar, other: &Self) {
                #(<#tys as #rt>::scaled_add(&mut self.#leaves, alpha, &other.#leaves);)*
            }
            #[inline]
            fn num_params(&self) -> usize {
                0 #(+ <#tys as #rt>::num_params(&self.#leaves))*
            }
            fn write_flat(&self, out: &mut ::std::vec::Vec<Self::Scalar>) {
                #(<#tys as #rt>::write_flat(&self.#leaves, out);)*
            }
            fn read_flat(&self, flat: &[Self::Scalar], pos: &mut usize) -> Self {
                Self { #(#read,)* }
            }
        }
    })
}

/// Each field of the struct, leaf or constant; a leaf of a type with no gradient is an error.
/// The leaves share one float type (`Scalar`): a leaf naming `f32` beside one naming `f64`
/// is an error at the second, rather than a type mismatch inside the derived code.
fn mixed_floats(model: &[Field], errors: &Errors) {
    fn float_in(tokens: TokenStream) -> Option<String> {
        tokens.into_iter().find_map(|t| match t {
            proc_macro2::TokenTree::Ident(id) if id == "f32" || id == "f64" => Some(id.to_string()),
            proc_macro2::TokenTree::Group(g) => float_in(g.stream()),
            _ => None,
        })
    }
    let mut first: Option<(String, &Field)> = None;
    for f in model.iter().filter(|f| f.leaf) {
        let Some(float) = float_in(f.ty.to_token_stream()) else {
            continue;
        };
        match &first {
            None => first = Some((float, f)),
            Some((seen, at)) if *seen != float => {
                errors.at(
                    f.ty,
                    format!(
                        "the leaves of a `Differentiable` struct share one float type: `{}` is `{seen}` and `{}` is `{float}`; use one type for both, or mark this field `#[autodiff(skip)]`",
                        member_name(&at.member),
                        member_name(&f.member),
                    ),
                );
                return;
            }
            Some(_) => {}
        }
    }
}

fn classify<'a>(fields: &'a syn::Fields, errors: &Errors) -> Vec<Field<'a>> {
    let mut model = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        let member = match &f.ident {
            Some(id) => Member::Named(id.clone()),
            None => Member::Unnamed(syn::Index {
                index: i as u32,
                span: f.ty.span(),
            }),
        };
        let skip = skip_attr(&f.attrs, errors);
        let leaf = !skip && !is_constant_type(&f.ty);
        if leaf {
            if let Some(name) = not_differentiable(&f.ty) {
                errors.at(&f.ty, format!("a field of type `{name}` cannot be differentiated; mark it `#[autodiff(skip)]` to keep it as a constant, or use floats, arrays, `Vec`s, tensors or `Differentiable` structs"));
            }
        }
        model.push(Field {
            member,
            ty: &f.ty,
            leaf,
        });
    }
    model
}

/// The where-clause of the trait impls: the struct's own predicates and, for a generic struct,
/// `Differentiable` with one `Scalar` for every leaf type and `Clone` for every constant one.
fn bounds(
    input: &DeriveInput,
    model: &[Field],
    first: &Type,
    scalar: &TokenStream,
) -> Vec<TokenStream> {
    let rt = quote!(::autodiff::Differentiable);
    let where_clause = input.generics.where_clause.as_ref();
    let mut preds: Vec<TokenStream> = where_clause
        .map(|w| w.predicates.iter().map(|p| p.to_token_stream()).collect())
        .unwrap_or_default();
    let first_text = first.to_token_stream().to_string();
    let mut seen = std::collections::HashSet::new();
    // A concrete struct needs no bounds (a field type without the trait is reported at the
    // field by the calls below); a generic one states them.
    let generic = !input.generics.params.is_empty();
    for f in model.iter().filter(|_| generic) {
        let ty = f.ty;
        let text = ty.to_token_stream().to_string();
        if !seen.insert((text.clone(), f.leaf)) {
            continue;
        }
        preds.push(if !f.leaf {
            quote_spanned!(ty.span()=> #ty: ::core::clone::Clone)
        } else if text == first_text {
            quote_spanned!(ty.span()=> #ty: #rt)
        } else {
            quote_spanned!(ty.span()=> #ty: #rt<Scalar = #scalar>)
        });
    }
    preds
}

/// The hidden inherent methods a generated gradient uses on one field: setters and adders
/// (also at an index for `Vec`/array fields) and the reader of `self.field` with its pullback.
fn accessors(f: &Field) -> TokenStream {
    let rt = quote!(::autodiff::Differentiable);
    let (m, ty) = (&f.member, f.ty);
    let name = member_name(m);
    let set = names::field_accessor("set", &name, false);
    let add = names::field_accessor("add", &name, false);
    let set_at = names::field_accessor("set", &name, true);
    let add_at = names::field_accessor("add", &name, true);
    let index = quote!(::core::ops::IndexMut<usize, Output = V>);
    let indexable = matches!(ty, Type::Array(_))
        || matches!(ty, Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "Vec"));
    let at = if !indexable {
        TokenStream::new()
    } else if f.leaf {
        quote! {
            #[doc(hidden)]
            #[inline(always)]
            pub fn #set_at<V>(&mut self, i: usize, value: V) where #ty: #index { self.#m[i] = value; }
            #[doc(hidden)]
            #[inline(always)]
            pub fn #add_at<V: #rt>(&mut self, i: usize, value: &V) where #ty: #index {
                <V as #rt>::scaled_add(&mut self.#m[i], ::autodiff::__private::lit(1.0), value);
            }
        }
    } else {
        quote! {
            #[doc(hidden)]
            #[inline(always)]
            pub fn #set_at<V>(&mut self, _i: usize, _value: V) {}
            #[doc(hidden)]
            #[inline(always)]
            pub fn #add_at<V>(&mut self, _i: usize, _value: &V) {}
        }
    };
    let field = names::field_reader(&name);
    let field_pb = names::pullback(&field);
    // Readers for `self.layers[i].w` in a body: a call whose pullback puts the cotangent
    // in this field of a zero struct.
    let reader = if f.leaf {
        quote! {
            #[doc(hidden)]
            #[inline(always)]
            pub fn #field(&self) -> #ty where #ty: ::core::clone::Clone {
                ::core::clone::Clone::clone(&self.#m)
            }
            #[doc(hidden)]
            #[inline]
            pub fn #field_pb(&self, cotangent: &#ty) -> (Self,) where Self: #rt, #ty: ::core::clone::Clone {
                let mut g = <Self as #rt>::zeros_like(self);
                g.#m = ::core::clone::Clone::clone(cotangent);
                (g,)
            }
        }
    } else {
        quote! {
            #[doc(hidden)]
            #[inline(always)]
            pub fn #field(&self) -> #ty where #ty: ::core::clone::Clone {
                ::core::clone::Clone::clone(&self.#m)
            }
        }
    };
    let one = if f.leaf {
        quote! {
            #[doc(hidden)]
            #[inline(always)]
            pub fn #set(&mut self, value: #ty) { self.#m = value; }
            #[doc(hidden)]
            #[inline(always)]
            pub fn #add(&mut self, value: &#ty) where #ty: #rt {
                <#ty as #rt>::scaled_add(&mut self.#m, ::autodiff::__private::lit(1.0), value);
            }
        }
    } else {
        quote! {
            #[doc(hidden)]
            #[inline(always)]
            pub fn #set<V>(&mut self, _value: V) {}
            #[doc(hidden)]
            #[inline(always)]
            pub fn #add<V>(&mut self, _value: &V) {}
        }
    };
    quote!(#at #one #reader)
}

/// `#[autodiff(skip)]` on a field; anything else inside `#[autodiff(..)]` is an error.
fn skip_attr(attrs: &[syn::Attribute], errors: &Errors) -> bool {
    let mut skip = false;
    for attr in attrs.iter().filter(|a| a.path().is_ident("autodiff")) {
        let res = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("skip") {
                skip = true;
                Ok(())
            } else {
                Err(meta.error(
                    "unknown `autodiff` field attribute; the one known is `#[autodiff(skip)]`",
                ))
            }
        });
        if let Err(e) = res {
            errors.at_span(e.span(), e);
        }
    }
    skip
}

/// Integers and `bool`: constants of the model, copied.
fn is_constant_type(ty: &Type) -> bool {
    let Type::Path(p) = ty else { return false };
    let Some(id) = p.path.get_ident() else {
        return false;
    };
    let name = id.to_string();
    name == "bool" || crate::parse::sig::is_integer_name(&name)
}

/// The name of a type known to have no gradient (text, maps, options, pointers).
fn not_differentiable(ty: &Type) -> Option<String> {
    match ty {
        Type::Reference(_) | Type::Ptr(_) => Some(ty.to_token_stream().to_string()),
        Type::Path(p) => {
            let last = p.path.segments.last()?;
            let name = last.ident.to_string();
            let bad = matches!(
                name.as_str(),
                "String"
                    | "str"
                    | "char"
                    | "HashMap"
                    | "BTreeMap"
                    | "HashSet"
                    | "BTreeSet"
                    | "VecDeque"
                    | "Option"
                    | "Result"
                    | "Box"
                    | "Rc"
                    | "Arc"
                    | "Cell"
                    | "RefCell"
            );
            if bad {
                return Some(name);
            }
            // `Vec<String>`, `[String; 2]`: the element decides.
            if name == "Vec" {
                if let syn::PathArguments::AngleBracketed(a) = &last.arguments {
                    if let Some(syn::GenericArgument::Type(t)) = a.args.first() {
                        return not_differentiable(t).map(|_| ty.to_token_stream().to_string());
                    }
                }
            }
            None
        }
        Type::Array(a) => not_differentiable(&a.elem).map(|_| ty.to_token_stream().to_string()),
        Type::Tuple(_) | Type::Slice(_) | Type::BareFn(_) | Type::TraitObject(_) => {
            Some(ty.to_token_stream().to_string())
        }
        _ => None,
    }
}
