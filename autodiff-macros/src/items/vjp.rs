//! `f_vjp`, `__f_pullback` (the vjp with one slot per parameter, for callers' sweeps) and
//! `__f_pullback2` (its own vjp, for second derivatives through calls).

use proc_macro2::TokenStream;
use quote::{format_ident, quote, ToTokens};

use crate::diff;
use crate::emit::rust::Emitter;
use crate::ir::{Graph, Id, Kind};

use super::ctx::{adj_of, has_grad_type, Items};
use crate::names;

/// The most nodes `__f_pullback2`'s symbolic sweep may add before the hyper-dual form is
/// used instead (the second-order sweep through a chain of `if`s can grow exponentially).
const PULLBACK2_LIMIT: usize = 20_000;

impl Items<'_> {
    /// `__f_pullback2`: the vjp of the pullback, so that callers can take second derivatives
    /// through `f`: a reverse sweep over the pullback's graph seeded by `seeds`. For a function
    /// whose pullback has no such sweep (tensors, loops, calls) it panics with the reason.
    pub(crate) fn emit_pullback2(
        &self,
        g: &mut Graph,
        adj: &[Option<Id>],
        params: &[Id],
        cot: Id,
        output: Id,
        header: TokenStream,
    ) -> TokenStream {
        let name = self.func.sig.ident.to_string();
        let stub = |why: &str| {
            let msg = format!("second derivatives through `{name}` are not available: {why}");
            quote!(#[allow(unused_variables)] #header { ::core::panic!(#msg) })
        };
        if self.sig.ret_kind != Kind::Scalar {
            return stub("its result is not a scalar float");
        }
        if self.sig.diff_params().any(|(_, p)| p.kind != Kind::Scalar) {
            return stub("it differentiates a parameter that is not a scalar float");
        }
        let base = g.params.len();
        for p in &self.sig.params {
            let kind = if p.diff { Kind::Scalar } else { Kind::Unknown };
            g.params.push(crate::ir::graph::ParamInfo {
                kind,
                active: false,
            });
        }
        let seeds: Vec<Id> = (0..self.sig.params.len())
            .map(|i| g.param(base + i))
            .collect();
        let pairs: Vec<(Id, Id)> = self
            .sig
            .diff_params()
            .filter_map(|(i, _)| adj_of(adj, params[i]).map(|a| (a, seeds[i])))
            .collect();
        let second = if pairs.is_empty() {
            vec![None; g.len()]
        } else {
            // Past a size, the hyper-dual form (four times the primal) is the cheaper one.
            match diff::reverse_within(g, &pairs, PULLBACK2_LIMIT) {
                Ok(a) => a,
                Err(_) => match self.dual_obstacle(g, output) {
                    None => return self.pullback2_by_dual(header),
                    Some(why) => return stub(why),
                },
            }
        };
        let mut roots: Vec<Id> = self
            .sig
            .diff_params()
            .filter_map(|(i, _)| adj_of(&second, params[i]))
            .collect();
        roots.extend(adj_of(&second, cot));
        let mut names: Vec<(TokenStream, bool)> = self
            .sig
            .params
            .iter()
            .map(|p| (p.ident.to_token_stream(), p.by_ref))
            .collect();
        names.extend(
            (0..self.sig.params.len())
                .map(|i| (format_ident!("__s{}", i).into_token_stream(), false)),
        );
        let mut e = Emitter::with_params(g, self.sig, &roots, names, "__".to_string());
        let stmts = e.statements();
        let zero = e.literal(0.0, true);
        let parts = self.sig.params.iter().enumerate().map(|(i, p)| {
            if p.diff {
                adj_of(&second, params[i])
                    .map(|a| e.owned(a))
                    .unwrap_or_else(|| zero.clone())
            } else {
                self.constant_slot(p)
            }
        });
        let dcot = adj_of(&second, cot)
            .map(|a| e.owned(a))
            .unwrap_or_else(|| zero.clone());
        let unpack = self.sig.diff_params().map(|(i, _)| {
            let s = format_ident!("__s{}", i);
            let field = syn::Index::from(i);
            quote!(let #s = __seeds.#field;)
        });
        quote!(#[allow(unused_variables)] #header {
            let __cotangent = *__cotangent;
            #(#unpack)*
            #stmts
            (#(#parts,)* #dcot,)
        })
    }

    /// When every parameter with a gradient is a float and the result is a float, `f_vjp` at
    /// cotangent c is c times `f_grad` (inlined): one emitted sweep fewer per function.
    pub(crate) fn vjp_by_grad(&self) -> Option<TokenStream> {
        if !self.float_closed() {
            return None;
        }
        let args = self.sig.params.iter().map(|p| &p.ident);
        let grad = self.ident("grad");
        let parts: Vec<TokenStream> = (0..self.sig.diff_params().count())
            .map(|i| {
                let i = syn::Index::from(i);
                quote!(__cotangent * __g.#i)
            })
            .collect();
        let value = match &parts[..] {
            [_] => quote!(__cotangent * __g),
            _ => quote!((#(#parts),*)),
        };
        Some(quote! {
            let __g = #grad(#(#args),*);
            #value
        })
    }

    /// When every parameter with a gradient is a float or a `[T; N]` array and the result is
    /// a float, `__f_pullback2` at cotangent c and seeds s is `(c·H s, ∇f·s)`: the first half
    /// of `__f_pushforward_pullback` along the tangents s at cotangent c, and the tangent of
    /// `f_jvp` along s. Both are calls (inlined), which saves a second-order sweep and its
    /// emission per function, and gives array parameters second derivatives through calls.
    /// `None` when the sweep must be written out.
    pub(crate) fn pullback2_by_pushforward_pullback(
        &self,
        header: &TokenStream,
    ) -> Option<TokenStream> {
        let arrays_or_floats = self.sig.params.iter().all(|p| {
            !has_grad_type(p) || p.kind == Kind::Scalar || (p.kind == Kind::Array && !p.by_ref)
        });
        if !self.sibling_calls || self.sig.ret_kind != Kind::Scalar || !arrays_or_floats {
            return None;
        }
        let seed = |i: usize| {
            let field = syn::Index::from(i);
            quote!(__seeds.#field)
        };
        let args: Vec<TokenStream> = self.sig.params.iter().map(Self::pass).collect();
        let tangents = self.sig.params.iter().enumerate().map(|(i, p)| {
            if p.diff {
                seed(i)
            } else if has_grad_type(p) {
                self.constant_slot(p)
            } else {
                quote!(::autodiff::__private::NoGrad)
            }
        });
        let pp = names::pushforward_pullback(&self.func.sig.ident);
        let jvp = self.ident("jvp");
        let jvp_tangents = self.sig.diff_params().map(|(i, _)| seed(i));
        let parts = self.sig.params.iter().enumerate().map(|(i, p)| {
            if p.diff {
                let i = syn::Index::from(i);
                quote!(__h.#i)
            } else {
                self.constant_slot(p)
            }
        });
        Some(quote!(#[allow(unused_variables)] #header {
            let __h = #pp(#(#args,)* #(#tangents,)* __cotangent);
            let (_, __d) = #jvp(#(#args,)* #(#jvp_tangents),*);
            (#(#parts,)* __d,)
        }))
    }

    /// `__f_pullback`: calls `vjp(params.., cotangent)` and returns one slot per parameter, the
    /// gradient for a differentiated one and a zero of its type for the others (bound first:
    /// the call consumes the parameters).
    pub(crate) fn pullback_item(&self, header: TokenStream, vjp: &TokenStream) -> TokenStream {
        let names = self.sig.params.iter().map(|p| &p.ident);
        let cot = if matches!(self.sig.ret_kind, Kind::Scalar | Kind::Array) {
            quote!(*__cotangent)
        } else {
            quote!(__cotangent)
        };
        let k = self.sig.diff_params().count();
        let mut j = 0;
        let mut zeros = TokenStream::new();
        let parts: Vec<TokenStream> = self
            .sig
            .params
            .iter()
            .enumerate()
            .map(|(i, p)| {
                if !p.diff {
                    let z = format_ident!("__z{}", i);
                    let slot = self.constant_slot(p);
                    zeros.extend(quote!(let #z = #slot;));
                    return quote!(#z);
                }
                let part = if k == 1 {
                    quote!(__g)
                } else {
                    let idx = syn::Index::from(j);
                    quote!(__g.#idx)
                };
                j += 1;
                part
            })
            .collect();
        quote!(#[allow(unused_variables)] #[inline] #header { #zeros let __g = #vjp(#(#names,)* #cot); (#(#parts,)*) })
    }
}
