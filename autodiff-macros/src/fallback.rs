//! What a failed expansion emits: the errors, plus the user's items with stub bodies, so
//! that code calling `f` or `f_grad` does not add a cascade of secondary errors.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ItemFn;

use crate::expand::Items;
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
        #[allow(unused_variables)]
        #vis #fsig #stub
    });
    if let Some(sig) = sig {
        let items = Items::new(func, sig);
        out.extend(items.wrt_const());
        for header in items.headers() {
            out.extend(quote! {
                #[allow(unused_variables, dead_code)]
                #header #stub
            });
        }
        out.extend(items.stub_extras(&stub));
    }
    out
}
