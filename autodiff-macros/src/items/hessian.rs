//! `f_hessian`: a second reverse sweep over each gradient component.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use crate::diff;
use crate::emit::rust::Emitter;
use crate::ir::{Graph, Id, Kind};

use super::ctx::{adj_of, Items};
use crate::names;

/// The most nodes the symbolic Hessian may add to the graph before the hyper-dual form is used.
const SYMBOLIC_LIMIT: usize = 1500;

impl Items<'_> {
    /// Second derivatives when every differentiated parameter is a scalar: each gradient
    /// component is differentiated again by the same sweep (the graph is closed under
    /// differentiation). Row i holds ∂²f/∂wi∂wj for j >= i; the lower triangle mirrors it.
    /// `None` when a node has no second-order rule (calls, matrix products).
    pub(crate) fn hessian(
        &self,
        g: &mut Graph,
        adj: &[Option<Id>],
        params: &[Id],
        one: Id,
        output: Id,
    ) -> Option<Vec<Vec<Option<Id>>>> {
        let diff: Vec<usize> = self.sig.diff_params().map(|(i, _)| i).collect();
        if self.sig.ret_kind != Kind::Scalar
            || diff
                .iter()
                .any(|&i| self.sig.params[i].kind != Kind::Scalar)
        {
            return None;
        }
        let k = diff.len();
        let mut h = vec![vec![None; k]; k];
        let start = g.len();
        for (a, &i) in diff.iter().enumerate() {
            let Some(gi) = adj_of(adj, params[i]) else {
                continue;
            };
            // Past the size where hyper-dual numbers are cheaper, stop the sweep early: a
            // chain of `if`s can make it grow exponentially.
            let budget = match self.dual_obstacle(g, output) {
                None => SYMBOLIC_LIMIT,
                Some(_) => usize::MAX,
            };
            let Ok(second) = diff::reverse_within(g, &[(gi, one)], budget) else {
                // No second-order rule (a loop): hyper-dual numbers through the forward code,
                // when nothing in it needs more than floats.
                return self
                    .dual_obstacle(g, output)
                    .is_none()
                    .then(|| vec![Vec::new()]);
            };
            for (b, &j) in diff.iter().enumerate().skip(a) {
                h[a][b] = adj_of(&second, params[j]);
            }
            // A large body's symbolic second derivatives are thousands of statements (and
            // LLVM's debug info recurses once per `let`): hyper-dual numbers through the
            // forward code instead, about four times the primal's size.
            if g.len() - start > SYMBOLIC_LIMIT && self.dual_obstacle(g, output).is_none() {
                return Some(vec![Vec::new()]);
            }
        }
        // Symmetric by construction: the lower triangle is the upper one.
        for a in 1..k {
            let (upper, lower) = h.split_at_mut(a);
            for (b, row) in upper.iter().enumerate() {
                lower[0][b] = row[a];
            }
        }
        Some(h)
    }

    /// `f_hessian` with the given result type and body.
    pub(crate) fn hessian_item(&self, ty: TokenStream, body: TokenStream) -> TokenStream {
        let doc = format!(
            "The Hessian of [`{}`]: second derivatives with respect to its differentiated parameters.",
            self.func.sig.ident
        );
        self.extra_item("hessian", &doc, ty, body)
    }

    pub(crate) fn emit_hessian(&self, g: &Graph, h: &[Vec<Option<Id>>]) -> TokenStream {
        let roots: Vec<Id> = h.iter().flatten().flatten().copied().collect();
        let mut e = Emitter::new(g, self.sig, &roots);
        let stmts = e.statements();
        let zero = e.literal(0.0, true);
        let entry = |x: &Option<Id>| x.map(|id| e.owned(id)).unwrap_or_else(|| zero.clone());
        let float = &self.sig.float;
        let k = h.len();
        let (ty, value) = if k == 1 {
            (float.clone(), entry(&h[0][0]))
        } else {
            let rows = h.iter().map(|row| {
                let cells = row.iter().map(entry);
                quote!([#(#cells),*])
            });
            (quote!([[#float; #k]; #k]), quote!([#(#rows),*]))
        };
        // Inlined into `__f_pushforward_pullback`, which may call it, also across crates.
        let item = self.hessian_item(ty, quote!(#stmts #value));
        quote!(#[inline] #item)
    }

    /// `__f_pushforward_pullback` at tangents t and cotangent c is `(c·H t, c·∇f)`. With a
    /// symbolic Hessian, float parameters and a float result, and at most four differentiated
    /// parameters (at most ten distinct second derivatives, no more work than a sweep over
    /// the forward sweep), its body calls `f_hessian` and `f_grad` (inlined) instead of
    /// emitting a forward-and-reverse sweep. `None` otherwise.
    pub(crate) fn pushforward_pullback_by_hessian(&self) -> Option<TokenStream> {
        let diff: Vec<usize> = self.sig.diff_params().map(|(i, _)| i).collect();
        if !self.float_closed() || diff.is_empty() || diff.len() > 4 {
            return None;
        }
        let first = self.sig.params.iter().map(Self::pass);
        let args = self.sig.params.iter().map(|p| &p.ident);
        let (hessian, grad) = (self.ident("hessian"), self.ident("grad"));
        let one = diff.len() == 1;
        let mut hv = Vec::new();
        let mut g = Vec::new();
        let mut a = 0;
        for p in &self.sig.params {
            if !p.diff {
                hv.push(self.constant_slot(p));
                g.push(self.constant_slot(p));
                continue;
            }
            let terms = diff.iter().enumerate().map(|(b, &j)| {
                let t = names::tangent_local(j);
                let (a, b) = (Literal::usize_unsuffixed(a), Literal::usize_unsuffixed(b));
                if one {
                    quote!(__h * #t)
                } else {
                    quote!(__h[#a][#b] * #t)
                }
            });
            hv.push(quote!(__cotangent * (#(#terms)+*)));
            let ga = syn::Index::from(a);
            g.push(if one {
                quote!(__cotangent * __g)
            } else {
                quote!(__cotangent * __g.#ga)
            });
            a += 1;
        }
        Some(quote! {
            let __cotangent = *__cotangent;
            let __h = #hessian(#(#first,)*);
            let __g = #grad(#(#args,)*);
            (#(#hv,)* #(#g,)*)
        })
    }
}
