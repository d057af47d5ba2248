//! The signature: which parameters are differentiated, their kinds, the float type.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::{
    FnArg, GenericParam, Ident, ItemFn, Pat, ReturnType, Type, TypeParamBound, WherePredicate,
};

use crate::args::Args;
use crate::errors::Errors;
use crate::ir::Kind;

/// One parameter of the function.
#[derive(Clone)]
pub(crate) struct Param {
    pub ident: Ident,
    /// The type as written.
    pub ty: Type,
    pub kind: Kind,
    /// Differentiated (in `wrt`, or by default a float, array or tensor).
    pub diff: bool,
    /// Passed as `&[T; N]` or `&Tensor<T>`.
    pub by_ref: bool,
    /// `N` of a `[T; N]` parameter.
    pub array_len: Option<syn::Expr>,
    /// Stands for a leaf of a differentiated struct (`self.l1.w`), bound by reference; its
    /// gradient's zero is `Differentiable::zeros_like`.
    pub leaf: bool,
}

/// The checked signature.
#[derive(Clone)]
pub(crate) struct Sig {
    pub params: Vec<Param>,
    /// The function's float type: `f64`, `f32`, or the generic `T: Float`.
    pub float: TokenStream,
    pub generic_float: bool,
    /// The float type is `f32`.
    pub is_f32: bool,
    pub ret_kind: Kind,
    pub ret_ty: Type,
    /// `M` of a `[T; M]` result.
    pub ret_len: Option<syn::Expr>,
}

/// A user's name as the generated code binds it: the same text and source location, with
/// the hygiene of the macro's call site. Generated statements are lexed from text (which
/// gives call-site hygiene), so a binding they read must have it too; this matters when
/// the function comes out of a `macro_rules!` expansion, whose names carry its hygiene.
pub(crate) fn generated_binding(ident: &Ident) -> Ident {
    let mut out = ident.clone();
    out.set_span(proc_macro2::Span::call_site().located_at(ident.span()));
    out
}

/// `generated_binding` for each parameter name in a signature.
pub(crate) fn rebind_params(sig: &mut syn::Signature) {
    for input in &mut sig.inputs {
        if let FnArg::Typed(pat_ty) = input {
            if let Pat::Ident(p) = &mut *pat_ty.pat {
                p.ident = generated_binding(&p.ident);
            }
        }
    }
}

impl Sig {
    pub fn from_syn(item: &ItemFn, args: &Args, errors: &Errors) -> Option<Sig> {
        let floats = float_generics(item);
        let is_float = |ty: &Type| float_name(ty, &floats).is_some();
        let mut params = Vec::new();
        let mut ok = true;
        for input in &item.sig.inputs {
            let pat_ty = match input {
                FnArg::Receiver(r) => {
                    errors.at(r, "methods are not supported by #[differentiable] yet; write a free function that takes the value as a parameter");
                    ok = false;
                    continue;
                }
                FnArg::Typed(t) => t,
            };
            let ident = match &*pat_ty.pat {
                Pat::Ident(p) if p.subpat.is_none() && p.by_ref.is_none() => {
                    generated_binding(&p.ident)
                }
                other => {
                    errors.at(other, "patterns are not supported as parameters of a #[differentiable] function; bind a name and destructure it in the body");
                    ok = false;
                    continue;
                }
            };
            let ty = ungroup(&pat_ty.ty);
            if let Type::Reference(r) = &ty {
                if let Some(m) = &r.mutability {
                    errors.at(m, "mutable reference parameters are not supported: a #[differentiable] function must be pure; take the value or a shared reference `&`");
                    ok = false;
                    continue;
                }
            }
            let (inner, by_ref) = match &ty {
                Type::Reference(r) => (&*r.elem, true),
                t => (t, false),
            };
            let (kind, array_len) = classify(inner, &is_float);
            let leaf = args.leaves.contains(&ident);
            let kind = if (by_ref && kind == Kind::Scalar) || leaf {
                Kind::Unknown
            } else {
                kind
            };
            let diff = leaf
                || matches!(
                    kind,
                    Kind::Scalar | Kind::Array | Kind::Tensor | Kind::Slice
                );
            params.push(Param {
                ident,
                ty,
                kind,
                diff,
                by_ref,
                array_len,
                leaf,
            });
        }
        if let Some(wrt) = &args.wrt {
            for p in &mut params {
                p.diff = p.leaf;
            }
            for name in wrt {
                match params.iter_mut().find(|p| p.ident == *name) {
                    None => {
                        errors.at(name, format!("`wrt({name})`: no parameter named `{name}`"));
                        ok = false;
                    }
                    Some(p)
                        if !matches!(
                            p.kind,
                            Kind::Scalar | Kind::Array | Kind::Tensor | Kind::Slice
                        ) =>
                    {
                        let ty = p.ty.to_token_stream();
                        errors.at(name, format!("`{name}` has type `{ty}`, which cannot be differentiated; differentiate floats, `[T; N]` arrays and tensors"));
                        ok = false;
                    }
                    Some(p) => p.diff = true,
                }
            }
        }
        let ret_len;
        let (ret_kind, ret_ty) = match &item.sig.output {
            ReturnType::Default => {
                errors.at(&item.sig.ident, "a #[differentiable] function must return a value to differentiate; add a return type such as `-> f64`");
                return None;
            }
            ReturnType::Type(_, ty) => {
                let ty = &Box::new(ungroup(ty));
                let (kind, len) = classify(ty, &is_float);
                if !matches!(
                    kind,
                    Kind::Scalar | Kind::Tensor | Kind::Array | Kind::Slice
                ) {
                    errors.at(ty, "the result of a #[differentiable] function must be a float (`f64`, `f32`, `T: Float`), an array `[T; M]`, a `Vec<T>` or a `Tensor<T>`; return several values as an array `[a, b]`");
                    ok = false;
                }
                ret_len = len;
                (kind, (**ty).clone())
            }
        };
        if ok && !params.iter().any(|p| p.diff) && args.vjp.is_none() {
            errors.at(&item.sig.ident, "no parameter to differentiate: give the function a float, `[T; N]` or `Tensor<T>` parameter");
            ok = false;
        }
        if !ok {
            return None;
        }
        // The float type: the first float-typed parameter's, else the result's.
        let float = params
            .iter()
            .map(|p| &p.ty)
            .chain(std::iter::once(&ret_ty))
            .find_map(|ty| element_float(ty, &floats))
            .unwrap_or_else(|| quote!(f64));
        // One float type for everything differentiated: the generated code adds and multiplies
        // their adjoints together.
        let text = float.to_string();
        let other_float = |ty: &Type| {
            element_float(ty, &floats)
                .map(|f| f.to_string())
                .filter(|f| *f != text)
        };
        if let Some((p, other)) = params
            .iter()
            .find_map(|p| other_float(&p.ty).map(|o| (p, o)))
        {
            errors.at(&p.ty, format!("the float parameters of a #[differentiable] function share one type; `{}` is `{other}`, the first is `{text}`: declare it `{text}` and convert at the call", p.ident));
            return None;
        }
        if let Some(other) = other_float(&ret_ty) {
            errors.at(&ret_ty, format!("the result of a #[differentiable] function has the float type of its parameters, `{text}`, not `{other}`: return `{text}` and convert where it is used"));
            return None;
        }
        // `f_jvp` and `f_hvp` take the tangent of `x` as `x_tangent`.
        if let Some((p, q)) = params.iter().find_map(|p| {
            params
                .iter()
                .find(|q| q.diff && p.ident == format!("{}_tangent", q.ident))
                .map(|q| (p, q))
        }) {
            errors.at(&p.ident, format!("`{}` is the name `_jvp` and `_hvp` give the tangent of `{}`; rename this parameter", p.ident, q.ident));
            return None;
        }
        let generic_float = floats.iter().any(|f| *f == float.to_string());
        let is_f32 = float.to_string() == "f32";
        Some(Sig {
            params,
            float,
            generic_float,
            is_f32,
            ret_kind,
            ret_ty,
            ret_len,
        })
    }

    pub fn diff_params(&self) -> impl Iterator<Item = (usize, &Param)> {
        self.params.iter().enumerate().filter(|(_, p)| p.diff)
    }
}

/// Generic type parameters bounded by `Float` (any path ending in `Float`).
fn float_generics(item: &ItemFn) -> Vec<Ident> {
    let is_float_bound = |b: &TypeParamBound| matches!(b, TypeParamBound::Trait(t) if t.path.segments.last().is_some_and(|s| s.ident == "Float"));
    let mut out = Vec::new();
    for gp in &item.sig.generics.params {
        if let GenericParam::Type(t) = gp {
            if t.bounds.iter().any(is_float_bound) {
                out.push(t.ident.clone());
            }
        }
    }
    if let Some(wc) = &item.sig.generics.where_clause {
        for pred in &wc.predicates {
            if let WherePredicate::Type(pt) = pred {
                if let Type::Path(p) = &pt.bounded_ty {
                    if let Some(id) = p.path.get_ident() {
                        if pt.bounds.iter().any(is_float_bound) {
                            out.push(id.clone());
                        }
                    }
                }
            }
        }
    }
    out
}

/// `f64`, `f32` or a Float generic, by name.
/// Rust's integer types, by name.
pub(crate) fn is_integer_name(name: &str) -> bool {
    matches!(
        name,
        "usize"
            | "isize"
            | "u8"
            | "u16"
            | "u32"
            | "u64"
            | "u128"
            | "i8"
            | "i16"
            | "i32"
            | "i64"
            | "i128"
    )
}

/// A type without the invisible groups a `macro_rules!` fragment (`$t:ty`) puts around it,
/// also behind `&`.
fn ungroup(ty: &Type) -> Type {
    match ty {
        Type::Group(g) => ungroup(&g.elem),
        Type::Paren(p) => ungroup(&p.elem),
        Type::Reference(r) => {
            let mut r = r.clone();
            r.elem = Box::new(ungroup(&r.elem));
            Type::Reference(r)
        }
        other => other.clone(),
    }
}

fn float_name(ty: &Type, floats: &[Ident]) -> Option<TokenStream> {
    let Type::Path(p) = ty else { return None };
    let id = p.path.get_ident()?;
    if id == "f64" || id == "f32" || floats.contains(id) {
        Some(id.to_token_stream())
    } else {
        None
    }
}

/// The float type inside a parameter type: `f64`, `[f64; N]`, `Tensor<f64>`, behind `&`.
fn element_float(ty: &Type, floats: &[Ident]) -> Option<TokenStream> {
    match ty {
        Type::Reference(r) => element_float(&r.elem, floats),
        Type::Array(a) => float_name(&a.elem, floats),
        Type::Slice(sl) => float_name(&sl.elem, floats),
        Type::Path(p) => {
            if let Some(f) = float_name(ty, floats) {
                return Some(f);
            }
            let last = p.path.segments.last()?;
            if last.ident != "Tensor" && last.ident != "Vec" {
                return None;
            }
            match &last.arguments {
                syn::PathArguments::AngleBracketed(a) => a.args.iter().find_map(|arg| match arg {
                    syn::GenericArgument::Type(t) => float_name(t, floats),
                    _ => None,
                }),
                _ => None,
            }
        }
        _ => None,
    }
}

fn classify(ty: &Type, is_float: &dyn Fn(&Type) -> bool) -> (Kind, Option<syn::Expr>) {
    if is_float(ty) {
        return (Kind::Scalar, None);
    }
    match ty {
        Type::Array(a) if is_float(&a.elem) => (Kind::Array, Some(a.len.clone())),
        Type::Slice(sl) if is_float(&sl.elem) => (Kind::Slice, None),
        Type::Path(p) => {
            let Some(last) = p.path.segments.last() else {
                return (Kind::Unknown, None);
            };
            let name = last.ident.to_string();
            let float_arg = || match &last.arguments {
                syn::PathArguments::AngleBracketed(a) => a
                    .args
                    .iter()
                    .any(|arg| matches!(arg, syn::GenericArgument::Type(t) if is_float(t))),
                _ => false,
            };
            match name.as_str() {
                "Tensor" => (Kind::Tensor, None),
                "Vec" if float_arg() => (Kind::Slice, None),
                n if is_integer_name(n) => (Kind::Int, None),
                "bool" => (Kind::Bool, None),
                _ => (Kind::Unknown, None),
            }
        }
        _ => (Kind::Unknown, None),
    }
}
