//! Every identifier the expansion generates, in one place.
//!
//! Items beside `f` (all spanned at `f`'s name, so errors point there):
//!
//! | name                         | item                                                    |
//! |------------------------------|---------------------------------------------------------|
//! | `f_grad`, `f_value_and_grad`, `f_vjp`, `f_hessian`, `f_trace`, `f_grad_formulas`, `f_jvp`, `f_jacobian`, `f_hvp` | public items: [`public`] |
//! | `__f_pullback`               | value and vector-Jacobian product, called by callers' sweeps: [`pullback`] |
//! | `__f_pullback2`              | pullback plus second-order seeds (Hessians through calls): [`pullback2`] |
//! | `__f_dual`                   | `f` over hyper-dual numbers: [`dual`]                   |
//! | `__f_pushforward`, `__f_pushforward_pullback` | forward sweep and its reverse, for callers: [`pushforward`], [`pushforward_pullback`] |
//! | `__f_wrt`                    | the `wrt(..)` mask constant of `f`: [`wrt`]             |
//! | `x_tangent`                  | the tangent parameter beside `x` in `f_jvp`: [`tangent`] |
//!
//! Locals inside generated bodies (`__`-prefixed so they cannot collide with user names):
//! `__t7` (node 7; written by `emit::rust::Emitter::name_text`, a loop body's emitter puts its
//! own prefix before `t`), [`COTANGENT`] (the seed of `_vjp` and pullbacks), `__seeds` (the
//! second-order seeds of `__f_pullback2`, in the header `items` writes), [`TRACE`] (the trace
//! being built by `f_trace`),
//! [`tangent_local`] (`__tan0`, the tangent of parameter 0).
//!
//! Hidden methods `#[derive(Differentiable)]` writes on a model struct, called by the gradient
//! assembly of `method.rs`: [`field_accessor`] (`__autodiff_set_w`, `__autodiff_add_w_at`) and
//! [`field_reader`] (`__autodiff_field_w` and its pullback).

use proc_macro2::Ident;
use quote::format_ident;

/// The cotangent parameter of `_vjp` and of pullbacks.
pub(crate) const COTANGENT: &str = "__cotangent";
/// The trace local of `f_trace`.
pub(crate) const TRACE: &str = "__trace";

fn spanned(mut id: Ident, at: &Ident) -> Ident {
    id.set_span(at.span());
    id
}

/// `f` → `f_grad` (any public item: `suffix` is `grad`, `vjp`, `hessian`, ...).
pub(crate) fn public(f: &Ident, suffix: &str) -> Ident {
    spanned(format_ident!("{}_{}", f, suffix), f)
}

/// `f` → `__f_pullback`.
pub(crate) fn pullback(f: &Ident) -> Ident {
    spanned(format_ident!("__{}_pullback", f), f)
}

/// `f` → `__f_pullback2`.
pub(crate) fn pullback2(f: &Ident) -> Ident {
    spanned(format_ident!("__{}_pullback2", f), f)
}

/// `f` → `__f_dual`.
pub(crate) fn dual(f: &Ident) -> Ident {
    spanned(format_ident!("__{}_dual", f), f)
}

/// `f` → `__f_pushforward`.
pub(crate) fn pushforward(f: &Ident) -> Ident {
    spanned(format_ident!("__{}_pushforward", f), f)
}

/// `f` → `__f_pushforward_pullback`.
pub(crate) fn pushforward_pullback(f: &Ident) -> Ident {
    spanned(format_ident!("__{}_pushforward_pullback", f), f)
}

/// `f` → `__f_wrt`.
pub(crate) fn wrt(f: &Ident) -> Ident {
    spanned(format_ident!("__{}_wrt", f), f)
}

/// Parameter `x` → `x_tangent`.
pub(crate) fn tangent(x: &Ident) -> Ident {
    spanned(format_ident!("{}_tangent", x), x)
}

/// The local holding the tangent of parameter `i`: `__tan0`.
pub(crate) fn tangent_local(i: usize) -> Ident {
    format_ident!("__tan{}", i)
}

/// The same item beside the function `path` names: `a::f` → `a::__f_pullback` and so on,
/// keeping generic arguments.
pub(crate) fn path_to(path: &syn::Path, item: fn(&Ident) -> Ident) -> syn::Path {
    let mut p = path.clone();
    if let Some(last) = p.segments.last_mut() {
        last.ident = item(&last.ident);
    }
    p
}

/// The name of a struct field as it appears in the derive's hidden methods: `w`, or `0` for a
/// tuple field.
pub(crate) fn member_name(m: &syn::Member) -> String {
    match m {
        syn::Member::Named(id) => id.to_string(),
        syn::Member::Unnamed(i) => i.index.to_string(),
    }
}

/// The derive's hidden accessor of field `field` that a gradient assembly calls: `verb` is
/// `set` or `add`, and `at` the form taking an index (a `Vec`/array field):
/// `__autodiff_set_w`, `__autodiff_add_layers_at`.
pub(crate) fn field_accessor(verb: &str, field: &str, at: bool) -> Ident {
    if at {
        format_ident!("__autodiff_{}_{}_at", verb, field)
    } else {
        format_ident!("__autodiff_{}_{}", verb, field)
    }
}

/// The prefix of the derive's reader of a field, `self.__autodiff_field_w()`, which a method
/// body calls for `self.layers[i].w` in a loop (a call with a pullback).
pub(crate) const FIELD_READER: &str = "__autodiff_field_";

/// The derive's reader of field `field`: `__autodiff_field_w`, with its pullback beside it
/// (the [`pullback`] of the reader).
pub(crate) fn field_reader(field: &str) -> Ident {
    format_ident!("{}{}", FIELD_READER, field)
}
