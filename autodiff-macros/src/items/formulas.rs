//! `f_grad_formulas`: the gradient as text, one formula per parameter (or element).

use proc_macro2::TokenStream;
use quote::quote;

use crate::emit::formula::Formula;
use crate::ir::{Graph, Id, Kind};

use super::ctx::{adj_of, elements, At, Items};

impl Items<'_> {
    /// `f_grad_formulas()`: each differentiated parameter's partial derivative as text.
    pub(crate) fn emit_formulas(
        &self,
        g: &Graph,
        adj: &[Option<Id>],
        params: &[Id],
    ) -> TokenStream {
        let formula = Formula::new(g, self.sig);
        let pairs = self.sig.diff_params().map(|(i, p)| {
            let name = p.ident.to_string();
            // A sequence read at literal indices: one formula per element (for a `&[T]` or a
            // `Vec<T>`, up to the last index read); read in a loop, the loop's gradient.
            let literal_reads = elements(g, params[i])
                .iter()
                .any(|(at, _)| matches!(at, At::Literal(_)));
            let text = if p.kind == Kind::Array || (p.kind == Kind::Slice && literal_reads) {
                let els = elements(g, params[i]);
                let literal = |at: &At| match at {
                    At::Literal(k) => Some(*k as usize),
                    At::Node(_) => None,
                };
                let n = els
                    .iter()
                    .filter_map(|(at, _)| literal(at))
                    .map(|k| k + 1)
                    .max()
                    .unwrap_or(0);
                let parts: Vec<String> = (0..n)
                    .map(|k| {
                        let el = els
                            .iter()
                            .find(|(at, _)| literal(at) == Some(k))
                            .map(|(_, e)| *e);
                        formula.text(el.and_then(|e| adj_of(adj, e)))
                    })
                    .collect();
                format!("[{}]", parts.join(", "))
            } else {
                formula.text(adj_of(adj, params[i]))
            };
            quote!((#name, #text))
        });
        let name = self.ident("grad_formulas");
        let vis = &self.func.vis;
        let doc = format!(
            "The partial derivatives of [`{}`] as text: `(parameter, formula)` pairs.",
            self.func.sig.ident
        );
        quote! {
            #[doc = #doc]
            #vis fn #name() -> &'static [(&'static str, &'static str)] {
                &[#(#pairs),*]
            }
        }
    }
}
