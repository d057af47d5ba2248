//! One file per generated item, each a small function from the differentiated graph to
//! tokens. `generate` differentiates once and lists the items; adding an item is one file
//! here and one line in that list.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};

use crate::diff;
use crate::emit::rust::{call_checks, Emitter};
use crate::errors::Errors;
use crate::fuse;
use crate::ir::graph::ROOT;
use crate::ir::{Graph, Id, Kind, Op};
use crate::parse::body::Lowered;

mod ctx;
mod custom_rule;
mod dual;
pub(crate) mod fallback;
mod formulas;
mod forward;
mod grad;
mod hessian;
mod trace;
mod vjp;
mod wrt;

pub(crate) use ctx::Items;

impl Items<'_> {
    /// `f` itself: the forward pass of the lowered body (`**` and literals rewritten).
    pub(crate) fn primal(&self, g: &Graph, output: Id) -> TokenStream {
        let mut e = Emitter::new(g, self.sig, &[output]);
        e.tail(output);
        let stmts = e.statements();
        let value = e.value(output);
        let attrs = &self.func.attrs;
        let vis = &self.func.vis;
        let fsig = &self.func.sig;
        quote! {
            #(#attrs)*
            #vis #fsig {
                #stmts
                #value
            }
        }
    }

    /// `f` itself and every generated item, from the lowered body.
    pub(crate) fn generate(&self, lowered: Lowered) -> syn::Result<TokenStream> {
        let Lowered {
            graph: mut g,
            output,
            params,
        } = lowered;
        // The body as lowered, for the forward-mode items.
        let g0 = g.clone();
        // The fused graph computes f and its first derivatives; the graph as written serves
        // what names its nodes (trace, formulas) and the second derivatives.
        let fused = fuse::has_candidates(&g).then(|| {
            let mut f = g.clone();
            fuse::fuse(&mut f);
            f
        });
        let errors = Errors::default();
        let (adj_one, cot, adj_cot, one) = self.first_order(&mut g, output, &errors);
        errors.finish()?;
        let adj_cot = adj_cot.expect("no errors");
        let (mut fg, mut adj_one_f, adj_cot_f) = match fused {
            Some(mut f) => {
                let errors = Errors::default();
                let (one_f, _, cot_f, _) = self.first_order(&mut f, output, &errors);
                errors.finish()?;
                (f, one_f, cot_f.expect("no errors"))
            }
            None => (g.clone(), adj_one.clone(), adj_cot.clone()),
        };
        // `_grad` and `_value_and_grad` read polynomial gradient components in Horner form.
        // `_value_and_grad`'s value is the primal's, operation for operation, so that it
        // equals `f(..)` exactly (a Horner form of it differs in the last bits).
        let vag_value = output;
        if let Some(adj) = adj_one_f.as_mut() {
            crate::ir::horner::rewrite(&mut fg, adj);
        }
        let hessian = adj_one
            .as_ref()
            .and_then(|adj| self.hessian(&mut g, adj, &params, one, output));
        let mut headers = self.headers();
        let pullback2_header = headers.pop().expect("pullback2 header");
        let symbolic_hessian = matches!(&hessian, Some(h) if !h.is_empty() && !h[0].is_empty());
        let pushforward_pullback = match symbolic_hessian && !has_calls(&g0) {
            true => self.pushforward_pullback_by_hessian().map(Ok),
            false => None,
        }
        .unwrap_or_else(|| self.pushforward_pullback_body(&g0, output, &params));
        // Without calls, the pushforward's pullback has no runtime obstacle (a called
        // function may have no forward rule) and `__f_pullback2` can call it.
        let pullback2 = match pushforward_pullback.is_ok() && !has_calls(&g0) {
            true => self.pullback2_by_pushforward_pullback(&pullback2_header),
            false => None,
        }
        .unwrap_or_else(|| {
            self.emit_pullback2(&mut g, &adj_cot, &params, cot, output, pullback2_header)
        });
        fg.current = ROOT;
        let (main_g, adj_one_main, adj_cot_main) = (&fg, &adj_one_f, &adj_cot_f);

        let mut out = TokenStream::new();
        // f: the forward pass.
        out.extend(self.primal(main_g, output));
        let mut headers = headers.into_iter();
        if let Some(adj) = adj_one_main {
            let (roots, grad) = self.gradient(main_g, adj, &params);
            let header = headers.next().expect("grad header");
            if self.grad_by_value_and_grad(&g0) {
                // Pure float code: once inlined, the unused value is dead code.
                let vag = self.ident("value_and_grad");
                let args = self.sig.params.iter().map(|p| &p.ident);
                out.extend(quote!(#[inline] #header { #vag(#(#args),*).1 }));
            } else {
                let mut e = Emitter::new(main_g, self.sig, &roots);
                if let [only] = roots[..] {
                    e.tail(only);
                }
                let stmts = e.statements();
                let value = grad(&e);
                // Inlined into the items written as its calls (`f_vjp`, `f_jvp`, ..), also
                // across crates.
                out.extend(quote!(#[allow(unused_variables)] #[inline] #header { #stmts #value }));
            }

            let mut with_value = roots.clone();
            with_value.push(vag_value);
            let mut e = Emitter::new(main_g, self.sig, &with_value);
            let stmts = e.statements();
            let grads = grad(&e);
            let value = e.value(vag_value);
            let header = headers.next().expect("value_and_grad header");
            out.extend(
                quote!(#[allow(unused_variables)] #[inline] #header { #stmts (#value, #grads) }),
            );
        }
        let vjp_by_grad = adj_one_main.as_ref().and_then(|_| self.vjp_by_grad());
        if let Some(body) = vjp_by_grad {
            let header = headers.next().expect("vjp header");
            out.extend(quote!(#[allow(unused_variables)] #header { #body }));
        } else {
            let (mut roots, grad) = self.gradient(main_g, adj_cot_main, &params);
            // A tensor or `Vec` result: the cotangent must have its shape.
            let check = matches!(self.sig.ret_kind, Kind::Tensor | Kind::Slice);
            if check {
                roots.push(output);
            }
            let mut e = Emitter::new(main_g, self.sig, &roots);
            if let [only] = roots[..] {
                e.tail(only);
            }
            let stmts = e.statements();
            let value = grad(&e);
            let check = check.then(|| {
                let out = e.value(output);
                let what = format!("the cotangent of `{}_vjp`", self.func.sig.ident);
                quote!(::autodiff::__private::check_same_shape(&#out, &__cotangent, #what);)
            });
            let header = headers.next().expect("vjp header");
            out.extend(quote!(#[allow(unused_variables)] #header { #stmts #check #value }));
        }
        // The pullback is `f_vjp` with one slot per parameter.
        let header = headers.next().expect("pullback header");
        out.extend(self.pullback_item(header, &self.ident("vjp").to_token_stream()));
        match hessian {
            Some(h) if h.len() == 1 && h[0].is_empty() => out.extend(self.hessian_by_dual()),
            Some(h) => out.extend(self.emit_hessian(&g, &h)),
            None if self.has_hessian() => {
                let why = self
                    .dual_obstacle(&g, output)
                    .unwrap_or("its body has no second-order rule");
                let msg = format!(
                    "the Hessian of `{}` is not available: {why}",
                    self.func.sig.ident
                );
                out.extend(self.hessian_item(self.hessian_type(), quote!(::core::panic!(#msg))));
            }
            None => {}
        }
        out.extend(self.dual_item(&g, output));
        out.extend(self.emit_formulas(&g, adj_one.as_deref().unwrap_or(&adj_cot), &params));
        if let Some(adj) = &adj_one {
            out.extend(self.emit_trace(&g, adj, output));
        }
        out.extend(pullback2);
        out.extend(self.forward_items(&g0, output, &params, pushforward_pullback));
        out.extend(self.wrt_const());
        out.extend(call_checks(main_g));
        Ok(out)
    }

    /// The two first-order sweeps: seeded by 1 (for `_grad`, when the result is a scalar) and
    /// by the cotangent (for `_vjp`). Returns their adjoints, the cotangent node and the 1.
    #[allow(clippy::type_complexity)]
    pub(crate) fn first_order(
        &self,
        g: &mut Graph,
        output: Id,
        errors: &Errors,
    ) -> (Option<Vec<Option<Id>>>, Id, Option<Vec<Option<Id>>>, Id) {
        let sweep = |g: &mut Graph, seed: Id| match diff::reverse(g, output, seed) {
            Ok(adj) => Some(adj),
            Err(list) => {
                for e in list {
                    errors.at_span(
                        e.span.unwrap_or_else(|| self.func.sig.ident.span()),
                        e.message,
                    );
                }
                None
            }
        };
        g.current = ROOT;
        let one = g.constant(1.0);
        let adj_one = if self.sig.ret_kind == Kind::Scalar {
            sweep(g, one)
        } else {
            None
        };
        g.current = ROOT;
        let cot = g.add_raw(Op::Cotangent, vec![]);
        let adj_cot = sweep(g, cot);
        (adj_one, cot, adj_cot, one)
    }
}

/// Whether the body (or a loop's body in it) calls another function.
fn has_calls(g: &Graph) -> bool {
    !g.calls.is_empty() || g.loops.iter().any(|l| has_calls(&l.body))
}

impl Items<'_> {
    /// Whether `f_grad` can be `f_value_and_grad(..).1`: float parameters, and a body of
    /// float arithmetic only (no calls, no expressions kept as written), whose value the
    /// optimiser drops once inlined.
    fn grad_by_value_and_grad(&self, g0: &Graph) -> bool {
        self.float_closed() && !has_calls(g0) && g0.opaques.is_empty() && g0.loops.is_empty()
    }
}
