//! `#[differentiable(vjp = rule)]`: the user's body kept as written, the items built from
//! the rule.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
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
        let cloned: Vec<TokenStream> = self
            .sig
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
            .collect();
        let f = &func.sig.ident;
        let float = &self.sig.float;
        let one = quote!(::autodiff::__private::lit::<#float>(1.0));
        let mut out = primal;
        let mut headers = self.headers().into_iter();
        if self.sig.ret_kind == Kind::Scalar {
            let h = headers.next().unwrap();
            out.extend(quote!(#h { #rule(#(#names,)* #one) }));
            let h = headers.next().unwrap();
            out.extend(
                quote!(#h { let __value = #f(#(#cloned),*); (__value, #rule(#(#names,)* #one)) }),
            );
        }
        let h = headers.next().unwrap();
        out.extend(quote!(#h { #rule(#(#names,)* __cotangent) }));
        let h = headers.next().unwrap();
        out.extend(self.pullback_item(h, &rule.to_token_stream()));
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
            out.extend(self.dual_by_rule(rule));
            out.extend(self.wrt_const());
            out.extend(self.custom_forward_items(rule, jvp, true));
            out.extend(self.rule_formulas());
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
        out
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
