//! What a failed expansion emits: the errors, plus the user's items with stub bodies, so
//! that code calling `f` or `f_grad` does not add a cascade of secondary errors.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ItemFn;

use super::ctx::Items;
use crate::ir::Kind;
use crate::parse::sig::Sig;

pub(crate) fn expand(error: syn::Error, func: Option<&ItemFn>, sig: Option<&Sig>) -> TokenStream {
    let errors = error.into_compile_error();
    let Some(func) = func else { return errors };
    let stub = quote!({ ::core::unimplemented!("this function failed to compile") });
    let mut out = errors;
    let attrs = &func.attrs;
    let vis = &func.vis;
    let fsig = &func.sig;
    out.extend(quote! {
        #(#attrs)*
        #[allow(unused_variables, unreachable_code)]
        #vis #fsig #stub
    });
    if let Some(sig) = sig {
        let items = Items::new(func, sig);
        out.extend(items.wrt_const());
        for header in items.headers() {
            out.extend(quote! {
                #[allow(unused_variables, dead_code, unreachable_code)]
                #header #stub
            });
        }
        out.extend(items.stub_extras(&stub));
    }
    out
}

impl Items<'_> {
    /// Stubs of `f_hessian`, `f_grad_formulas` and `f_trace` for a failed expansion.
    pub(crate) fn stub_extras(&self, stub: &TokenStream) -> TokenStream {
        let vis = &self.func.vis;
        let formulas = self.ident("grad_formulas");
        let mut out = quote! {
            #[allow(dead_code)]
            #vis fn #formulas() -> &'static [(&'static str, &'static str)] { &[] }
        };
        if self.sig.ret_kind == Kind::Scalar {
            out.extend(self.trace_item(stub.clone()));
        }
        if self.has_hessian() {
            out.extend(self.hessian_item(self.hessian_type(), stub.clone()));
        }
        out.extend(self.dual_panic("it failed to compile"));
        out.extend(self.forward_stubs(stub));
        out
    }
}
