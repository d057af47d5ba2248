//! `f_hessian`: a second reverse sweep over each gradient component.

use proc_macro2::TokenStream;
use quote::quote;

use crate::diff;
use crate::emit::rust::Emitter;
use crate::ir::{Graph, Id, Kind};

use super::ctx::{adj_of, Items};

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
        for (a, &i) in diff.iter().enumerate() {
            let Some(gi) = adj_of(adj, params[i]) else {
                continue;
            };
            let Ok(second) = diff::reverse(g, gi, one) else {
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
        self.hessian_item(ty, quote!(#stmts #value))
    }
}
