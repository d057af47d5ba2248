//! `#[differentiable(vjp = rule)]`: the user's body kept as written, the items built from
//! the rule.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::Ident;

use crate::ir::Kind;
use crate::names;

use super::ctx::Items;

impl Items<'_> {
    /// The items for `#[differentiable(vjp = rule)]`: the body is not differentiated; every
    /// derivative comes from `rule(params.., cotangent)`.
    pub(crate) fn custom_rule(
        &self,
        rule: &syn::Path,
        jvp: Option<&syn::Path>,
        primal: TokenStream,
        second_order: bool,
    ) -> TokenStream {
        let func = self.func;
        let names: Vec<&Ident> = self.sig.params.iter().map(|p| &p.ident).collect();
        let cloned = self.cloned_args();
        let f = &func.sig.ident;
        let float = &self.sig.float;
        let one = quote!(::autodiff::__private::lit::<#float>(1.0));
        let mut out = primal;
        let mut headers = self.headers().into_iter();
        // The rule is called in `f_vjp` only, spanned at the rule's path, so that a rule of
        // the wrong signature is one error there; every other item calls `f_vjp`.
        let vjp: syn::Path = self.ident("vjp").into();
        let rule_call = quote_spanned!(rule.span()=> #rule(#(#names,)* __cotangent));
        if self.sig.ret_kind == Kind::Scalar {
            let h = headers.next().unwrap();
            out.extend(quote!(#h { #vjp(#(#names,)* #one) }));
            let h = headers.next().unwrap();
            out.extend(
                quote!(#h { let __value = #f(#(#cloned),*); (__value, #vjp(#(#names,)* #one)) }),
            );
        }
        let h = headers.next().unwrap();
        out.extend(quote!(#h { #rule_call }));
        let h = headers.next().unwrap();
        out.extend(self.pullback_item(h, &vjp.to_token_stream()));
        let h = headers.next().unwrap();
        if second_order {
            // f'' = ∂rule/∂x at cotangent 1: the rule's own pullback.
            let x = &names[0];
            let rule_pb = names::path_to(rule, names::pullback);
            out.extend(quote! {
                #[allow(unused_variables)] #h {
                    let __s = #rule_pb(#x, *__cotangent, &__seeds.0);
                    (__s.0, __s.1)
                }
            });
            out.extend(self.hessian_item(float.clone(), quote!(#rule_pb(#x, #one, &#one).0)));
            // These also call the rule's own pullback, named after the rule.
            out.extend(self.dual_by_rule(rule));
            out.extend(self.wrt_const());
            out.extend(self.custom_forward_items(rule, jvp, true));
            out.extend(self.rule_formulas());
            out.extend(self.rule_trace(&vjp));
            return out;
        }
        let msg = format!(
            "second derivatives through `{f}` are not available: its derivative is the first-order rule `{}`",
            rule.to_token_stream()
        );
        out.extend(quote!(#[allow(unused_variables)] #h { ::core::panic!(#msg) }));
        if self.has_hessian() {
            let msg = format!(
                "the Hessian of `{f}` is not available: its derivative is the first-order rule `{}`",
                rule.to_token_stream()
            );
            out.extend(self.hessian_item(self.hessian_type(), quote!(::core::panic!(#msg))));
        }
        out.extend(self.dual_panic(&format!(
            "its derivative is the first-order rule `{}`",
            rule.to_token_stream()
        )));
        out.extend(self.wrt_const());
        out.extend(self.custom_forward_items(rule, jvp, false));
        out.extend(self.rule_formulas());
        out.extend(self.rule_trace(&vjp));
        out
    }

    /// The parameters as arguments of a second call: owned tensors copied, the rest as they are.
    fn cloned_args(&self) -> Vec<TokenStream> {
        self.sig
            .params
            .iter()
            .map(|p| {
                let x = &p.ident;
                if p.kind == Kind::Tensor && !p.by_ref {
                    quote!(::core::clone::Clone::clone(&#x))
                } else {
                    quote!(#x)
                }
            })
            .collect()
    }

    /// `f_trace(..)` of a function with a rule: its parameters and its result, the
    /// parameters' gradients from one rule call at cotangent 1 (the body is not traced: it is
    /// not differentiated). Only for a float result.
    fn rule_trace(&self, rule: &syn::Path) -> TokenStream {
        if self.sig.ret_kind != Kind::Scalar {
            return TokenStream::new();
        }
        let f = &self.func.sig.ident;
        let float = &self.sig.float;
        let one = quote!(::autodiff::__private::lit::<#float>(1.0));
        let k = self.sig.diff_params().count();
        let node = quote!(::autodiff::__private::trace_node);
        let mut nodes = Vec::new();
        let mut inputs = Vec::new();
        for (a, (i, p)) in self.sig.diff_params().enumerate() {
            let x = &p.ident;
            let n = quote::format_ident!("__n{}", i);
            let g = if k == 1 {
                quote!(__g)
            } else {
                let a = syn::Index::from(a);
                quote!(__g.#a)
            };
            let (value, grad) = match p.kind {
                Kind::Array | Kind::Slice => (
                    quote!(&::autodiff::__private::seq_tensor(&#x[..])),
                    quote!(&::autodiff::__private::seq_tensor(&#g[..])),
                ),
                _ if p.by_ref => (quote!(#x), quote!(&#g)),
                _ => (quote!(&#x), quote!(&#g)),
            };
            let name = x.to_string();
            nodes.push(quote! {
                let #n = #node(&mut __trace, #name, "param", &[], ::autodiff::NodeKind::Param, #value, ::core::option::Option::Some(#grad));
            });
            inputs.push(n);
        }
        let op = f.to_string();
        // Owned tensors are copied: the trace reads the parameters after both calls.
        let cloned = self.cloned_args();
        let body = quote! {
            let __g = #rule(#(#cloned,)* #one);
            let __v = #f(#(#cloned),*);
            let mut __trace = ::autodiff::Trace::new();
            #(#nodes)*
            #node(&mut __trace, "", #op, &[#(#inputs),*], ::autodiff::NodeKind::Output, &__v, ::core::option::Option::Some(&#one));
            __trace
        };
        self.trace_item(body)
    }

    /// `f_grad_formulas()` of a function with a rule: the body is not differentiated, so each
    /// partial derivative is named as a caller prints it at a call of `f`: `f'(x)` for a
    /// function of one argument, else `∂ᵢf(x, y)` (arguments counted from 1).
    fn rule_formulas(&self) -> TokenStream {
        let f = self.func.sig.ident.to_string();
        let params = &self.sig.params;
        let args: Vec<String> = params.iter().map(|p| p.ident.to_string()).collect();
        let args = args.join(", ");
        let pairs = self.sig.diff_params().map(|(i, p)| {
            let name = p.ident.to_string();
            let text = if params.len() == 1 {
                format!("{f}'({args})")
            } else {
                format!("∂{}{f}({args})", subscript(i + 1))
            };
            quote!((#name, #text))
        });
        let name = self.ident("grad_formulas");
        let vis = &self.func.vis;
        let doc = format!(
            "The partial derivatives of [`{f}`] as text: `(parameter, formula)` pairs (its \
             derivative is a custom rule, so each is named, not expanded)."
        );
        quote! {
            #[doc = #doc]
            #vis fn #name() -> &'static [(&'static str, &'static str)] {
                &[#(#pairs),*]
            }
        }
    }
}

/// `n` in subscript digits: `12` → `₁₂`.
fn subscript(n: usize) -> String {
    const SUB: [char; 10] = ['₀', '₁', '₂', '₃', '₄', '₅', '₆', '₇', '₈', '₉'];
    n.to_string()
        .chars()
        .map(|c| SUB[c.to_digit(10).unwrap_or(0) as usize])
        .collect()
}
