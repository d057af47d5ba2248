//! `__f_dual`: `f` evaluated over hyper-dual numbers, and `f_hessian` built on it.
//!
//! Where the reverse sweep has no second-order rule (loops), second derivatives come from
//! forward-over-forward evaluation: `f` is written again with every differentiated scalar
//! parameter a `HyperDual<F>`, and `f_hessian` calls it once per pair (i ≤ j). Every function
//! emits `__f_dual`, so a caller's hyper-dual code can call it; where `f` cannot run on
//! hyper-dual numbers (tensors, a custom first-order rule), its body panics with the reason,
//! and only a caller that really evaluates it reaches that panic.
//!
//! Before: `fn f(x: f64, n: usize) -> f64 { .. }`. After:
//! `fn __f_dual(x: HyperDual<f64>, n: usize) -> HyperDual<f64> { .. }`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, ToTokens};
use syn::FnArg;

use super::ctx::Items;
use crate::emit::rust::Emitter;
use crate::ir::{Graph, Id, Kind, Op};
use crate::names;

impl Items<'_> {
    fn dual_type(&self) -> TokenStream {
        let float = &self.sig.float;
        quote!(::autodiff::__private::HyperDual<#float>)
    }

    /// `__f_dual`'s signature: differentiated scalars become hyper-dual numbers.
    fn dual_header(&self) -> TokenStream {
        let dual = self.dual_type();
        let vis = &self.func.vis;
        let name = names::dual(&self.func.sig.ident);
        let (generics, where_clause) = (
            &self.func.sig.generics.params,
            &self.func.sig.generics.where_clause,
        );
        let inputs =
            self.func
                .sig
                .inputs
                .iter()
                .zip(&self.sig.params)
                .map(|(input, p)| match input {
                    FnArg::Typed(t) if p.diff && p.kind == Kind::Scalar => {
                        let pat = &t.pat;
                        quote!(#pat: #dual)
                    }
                    other => other.to_token_stream(),
                });
        let ret = match self.sig.ret_kind {
            Kind::Scalar => dual.clone(),
            _ => quote!(::autodiff::Tensor<#dual>),
        };
        quote! {
            #[doc(hidden)]
            #[allow(unused_variables, unused_mut, clippy::too_many_arguments)]
            #vis fn #name<#generics>(#(#inputs),*) -> #ret #where_clause
        }
    }

    /// Why `f` cannot be evaluated over hyper-dual numbers, if it cannot.
    pub(super) fn dual_obstacle(&self, g: &Graph, output: Id) -> Option<&'static str> {
        if self.sig.ret_kind != Kind::Scalar
            || self.sig.diff_params().any(|(_, p)| p.kind != Kind::Scalar)
        {
            return Some(
                "it differentiates a parameter or returns a value that is not a scalar float",
            );
        }
        if g.ids().any(|id| g.kind(id) == Kind::Tensor) {
            return Some("its body computes with tensors");
        }
        if passes_an_array(g) {
            return Some("it passes an array to a function it calls");
        }
        if reads_a_call_element(g) {
            return Some("it reads an element of a function's array result");
        }
        if calls_a_method(g) {
            return Some("it calls a method");
        }
        if untyped_operand(g, &[output]) {
            return Some("it combines a differentiated value with a constant of a type the macro does not know; bind the constant with `let c: f64 = ..;`");
        }
        None
    }

    /// `__f_dual` with the forward code of `g` over hyper-dual numbers, or a panic saying why
    /// there is none.
    pub(super) fn dual_item(&self, g: &Graph, output: Id) -> TokenStream {
        if let Some(why) = self.dual_obstacle(g, output) {
            return self.dual_panic(why);
        }
        let mut dual_sig = self.sig.clone();
        dual_sig.float = self.dual_type();
        dual_sig.generic_float = true;
        dual_sig.is_f32 = false;
        let names = self
            .sig
            .params
            .iter()
            .map(|p| (p.ident.to_token_stream(), p.by_ref))
            .collect();
        let mut e =
            Emitter::with_params(g, &dual_sig, &[output], names, "__".to_string()).over_dual();
        e.tail(output);
        let stmts = e.statements();
        let value = e.value(output);
        let header = self.dual_header();
        // Every scalar is hyper-dual here: the constant ones too.
        let lifted = self
            .sig
            .params
            .iter()
            .filter(|p| !p.diff && p.kind == Kind::Scalar);
        let lifted = lifted.map(|p| {
            let x = &p.ident;
            quote!(let #x = ::autodiff::__private::HyperDual::constant(#x);)
        });
        quote! {
            #header {
                #[allow(unused_imports)]
                use ::autodiff::__private::Float as _;
                #(#lifted)*
                #stmts
                #value
            }
        }
    }

    /// `__f_dual` of `#[differentiable(vjp = rule, vjp_differentiable)]` on `f(x)`: f from its
    /// body, f' from the rule at cotangent 1, f'' from the rule's pullback.
    pub(super) fn dual_by_rule(&self, rule: &syn::Path) -> TokenStream {
        let float = &self.sig.float;
        let one = quote!(::autodiff::__private::lit::<#float>(1.0));
        let f = &self.func.sig.ident;
        let x = &self.sig.params[0].ident;
        let rule_pb = names::path_to(rule, names::pullback);
        let header = self.dual_header();
        quote! {
            #header {
                let __v = #f(#x.v);
                let __d1 = #rule(#x.v, #one);
                let __d2 = #rule_pb(#x.v, #one, &#one).0;
                ::autodiff::__private::HyperDual {
                    v: __v,
                    a: __d1 * #x.a,
                    b: __d1 * #x.b,
                    ab: __d1 * #x.ab + __d2 * #x.a * #x.b,
                }
            }
        }
    }

    /// `__f_pullback2` from `__f_dual`, for bodies whose reverse sweep has no second-order
    /// rule (loops): with ε₁ along the seeds s and ε₂ along parameter j, the ε₁ε₂ part is
    /// sᵀH e_j, and the ε₁ part ∇f·s is the cotangent's slot.
    pub(super) fn pullback2_by_dual(&self, header: TokenStream) -> TokenStream {
        let float = &self.sig.float;
        let lit = |v: f64| quote!(::autodiff::__private::lit::<#float>(#v));
        let dual = names::dual(&self.func.sig.ident);
        let diff: Vec<usize> = self.sig.diff_params().map(|(i, _)| i).collect();
        let mut lets = TokenStream::new();
        for (n, &j) in diff.iter().enumerate() {
            let args = self.sig.params.iter().enumerate().map(|(i, p)| {
                let x = &p.ident;
                if !p.diff {
                    return constant_arg(p);
                }
                let field = syn::Index::from(i);
                let (b, zero) = (lit(if i == j { 1.0 } else { 0.0 }), lit(0.0));
                quote!(::autodiff::__private::HyperDual { v: #x, a: __seeds.#field, b: #b, ab: #zero })
            });
            let name = format_ident!("__e{}", n);
            lets.extend(quote!(let #name = #dual(#(#args),*);));
        }
        let mut n = 0usize;
        let parts: Vec<TokenStream> = self
            .sig
            .params
            .iter()
            .map(|p| {
                if !p.diff {
                    return self.constant_slot(p);
                }
                let name = format_ident!("__e{}", n);
                n += 1;
                quote!(__cotangent * #name.ab)
            })
            .collect();
        quote!(#[allow(unused_variables)] #header {
            let __cotangent = *__cotangent;
            #lets
            (#(#parts,)* __e0.a,)
        })
    }

    /// `__f_dual` whose body panics: second derivatives through `f` are not available.
    pub(super) fn dual_panic(&self, why: &str) -> TokenStream {
        let msg = format!(
            "second derivatives through `{}` are not available: {why}",
            self.func.sig.ident
        );
        let header = self.dual_header();
        quote!(#header { ::core::panic!(#msg) })
    }

    /// `f_hessian` by forward-over-forward: `__f_dual` evaluated once per pair (i ≤ j) with
    /// ε₁ on parameter i and ε₂ on parameter j; the ε₁ε₂ part is ∂²f/∂wi∂wj.
    pub(super) fn hessian_by_dual(&self) -> TokenStream {
        let float = &self.sig.float;
        let dual = names::dual(&self.func.sig.ident);
        let k = self.sig.diff_params().count();
        let cell = |i: usize, j: usize| {
            let mut n = 0;
            let args = self.sig.params.iter().map(|p| {
                let x = &p.ident;
                if !p.diff {
                    return constant_arg(p);
                }
                let (first, second) = (n == i, n == j);
                n += 1;
                quote!(::autodiff::__private::HyperDual::variable(#x, #first, #second))
            });
            quote!(#dual(#(#args),*).ab)
        };
        let (ty, result) = if k == 1 {
            (float.clone(), cell(0, 0))
        } else {
            let mut lets = TokenStream::new();
            let mut rows = Vec::new();
            for i in 0..k {
                let mut cells = Vec::new();
                for j in 0..k {
                    let (a, b) = (i.min(j), i.max(j));
                    let name = format_ident!("__h{}_{}", a, b);
                    if i <= j {
                        let c = cell(i, j);
                        lets.extend(quote!(let #name = #c;));
                    }
                    cells.push(quote!(#name));
                }
                rows.push(quote!([#(#cells),*]));
            }
            (quote!([[#float; #k]; #k]), quote!({ #lets [#(#rows),*] }))
        };
        self.hessian_item(ty, result)
    }
}

/// Whether the forward computation of `roots` (in `g` or a loop body) combines a
/// differentiated value with a constant of unknown type (`PI * x`, `x * *r`): in hyper-dual
/// code it would be a plain float where a hyper-dual number is needed.
fn untyped_operand(g: &Graph, roots: &[Id]) -> bool {
    let mut seen = vec![false; g.len()];
    let mut stack = roots.to_vec();
    while let Some(id) = stack.pop() {
        if std::mem::replace(&mut seen[id.index()], true) {
            continue;
        }
        let node = &g[id];
        // Arithmetic lifts a constant it reads (the emitter's `lifted`); a call's parameter
        // may be an integer, and a parameter of unknown type is not rebound.
        let untyped = |a: Id| {
            g.kind(a) == Kind::Unknown
                && !g.is_active(a)
                && match g[a].op {
                    Op::Param(_) => true,
                    Op::Opaque(_) => matches!(node.op, Op::Call(_)),
                    _ => false,
                }
        };
        // A loop passes its inputs on to its body, which is checked below.
        let passes_on = matches!(node.op, Op::Loop(_));
        if g.is_active(id) && !passes_on && node.args.iter().any(|&a| untyped(a)) {
            return true;
        }
        if let Op::Loop(k) = node.op {
            let body = &g.loops[k as usize];
            let carried: Vec<Id> = body.carried.iter().map(|&(_, v)| v).collect();
            if untyped_operand(&body.body, &carried) {
                return true;
            }
        }
        stack.extend(node.args.iter().copied());
    }
    false
}

/// Whether `g` or a loop body calls a method (whose items are not over hyper-dual numbers).
/// A constant parameter passed on to `__f_dual`, which is called once per parameter (or pair):
/// a value that is not `Copy` (a `Vec`, a tensor, a struct) is cloned.
fn constant_arg(p: &crate::parse::sig::Param) -> TokenStream {
    let x = &p.ident;
    match p.kind {
        Kind::Scalar | Kind::Int | Kind::Bool => x.to_token_stream(),
        _ if p.by_ref => x.to_token_stream(),
        _ => quote!(::core::clone::Clone::clone(&#x)),
    }
}

/// A call with an array argument: a callee's `__g_dual` exists only for scalar parameters.
fn passes_an_array(g: &Graph) -> bool {
    g.ids().any(|id| {
        matches!(g[id].op, Op::Call(_))
            && g[id]
                .args
                .iter()
                .any(|&a| matches!(g.kind(a), Kind::Array | Kind::Slice))
    }) || g.loops.iter().any(|l| passes_an_array(&l.body))
}

/// `p[0]` of a call's `[T; M]` or `Vec<T>` result: the callee's `__g_dual` returns a scalar.
fn reads_a_call_element(g: &Graph) -> bool {
    g.ids().any(|id| {
        matches!(g[id].op, Op::Index(_) | Op::IndexDyn)
            && matches!(g[g[id].args[0]].op, Op::Call(_))
    }) || g.loops.iter().any(|l| reads_a_call_element(&l.body))
}

fn calls_a_method(g: &Graph) -> bool {
    g.calls.iter().any(|c| c.method) || g.loops.iter().any(|l| calls_a_method(&l.body))
}
