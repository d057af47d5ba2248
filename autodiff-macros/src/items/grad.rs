//! `f_grad` and `f_value_and_grad`: the gradient components of one reverse sweep, one
//! expression per differentiated parameter.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};

use crate::emit::rust::Emitter;
use crate::ir::{Graph, Id, Kind};

use super::ctx::{adj_of, elements, At, Items};

impl Items<'_> {
    /// The nodes a gradient needs, and a writer of the gradient expression.
    #[allow(clippy::type_complexity)]
    pub(crate) fn gradient<'b>(
        &'b self,
        g: &'b Graph,
        adj: &'b [Option<Id>],
        params: &'b [Id],
    ) -> (Vec<Id>, Box<dyn Fn(&Emitter) -> TokenStream + 'b>) {
        let mut roots = Vec::new();
        for (i, _) in self.sig.diff_params() {
            roots.extend(adj_of(adj, params[i]));
            for (at, e) in elements(g, params[i]) {
                if let Some(a) = adj_of(adj, e) {
                    roots.push(a);
                    if let At::Node(n) = at {
                        roots.push(n);
                    }
                }
            }
        }
        let write = move |e: &Emitter| -> TokenStream {
            let parts: Vec<TokenStream> = self
                .sig
                .diff_params()
                .map(|(i, _)| self.param_grad(e, g, adj, params, i))
                .collect();
            if parts.len() == 1 {
                parts[0].clone()
            } else {
                quote!((#(#parts),*))
            }
        };
        (roots, Box::new(write))
    }

    /// The gradient of parameter `i` as an expression.
    pub(crate) fn param_grad(
        &self,
        e: &Emitter,
        g: &Graph,
        adj: &[Option<Id>],
        params: &[Id],
        i: usize,
    ) -> TokenStream {
        let p = &self.sig.params[i];
        let whole = adj_of(adj, params[i]);
        let zero = e.literal(0.0, true);
        match p.kind {
            Kind::Array | Kind::Slice => {
                let x = &p.ident;
                let base = match (whole, p.kind) {
                    (Some(w), _) => e.value(w),
                    (None, Kind::Array) => {
                        let len = p.array_len.as_ref().expect("array length");
                        quote!([#zero; #len])
                    }
                    (None, _) => {
                        let r = if p.by_ref { quote!(#x) } else { quote!(&#x) };
                        quote!(::autodiff::__private::seq_zeros(#r))
                    }
                };
                let parts: Vec<TokenStream> = elements(g, params[i])
                    .into_iter()
                    .filter_map(|(at, el)| {
                        let a = adj_of(adj, el)?;
                        let v = e.value(a);
                        let at = match at {
                            At::Literal(k) => proc_macro2::Literal::usize_unsuffixed(k as usize)
                                .into_token_stream(),
                            At::Node(n) => e.operand(n),
                        };
                        Some(match g.is_element_slot(el) {
                            true => {
                                quote!(if #at < __g.len() { let __e = __g[#at]; __g[#at] = __e + #v; })
                            }
                            false => quote!(let __e = __g[#at]; __g[#at] = __e + #v;),
                        })
                    })
                    .collect();
                if parts.is_empty() {
                    base
                } else {
                    quote!({ let mut __g = #base; #(#parts)* __g })
                }
            }
            Kind::Tensor => match whole {
                Some(w) => e.value(w),
                None => {
                    let x = &p.ident;
                    let r = if p.by_ref { quote!(#x) } else { quote!(&#x) };
                    quote!(::autodiff::__private::zeros_like(#r))
                }
            },
            _ => match whole {
                Some(w) => e.value(w),
                None if p.leaf => {
                    let x = &p.ident;
                    quote!({
                        #[allow(unused_imports)]
                        use ::autodiff::__private::{LeafZeroConst as _, LeafZeroDiff as _};
                        (&&::autodiff::__private::LeafZero(#x)).leaf_zero()
                    })
                }
                None => zero,
            },
        }
    }
}
