//! `__f_wrt`: which parameters `f` differentiates, checked at compile time by callers.

use proc_macro2::TokenStream;
use quote::quote;

use crate::names;

use super::ctx::Items;

impl Items<'_> {
    /// `__f_wrt`: which parameters `f` differentiates, checked at compile time by callers.
    pub(crate) fn wrt_const(&self) -> TokenStream {
        let name = names::wrt(&self.func.sig.ident);
        let vis = &self.func.vis;
        let flags = self.sig.params.iter().map(|p| p.diff);
        let n = self.sig.params.len();
        quote! {
            #[doc(hidden)]
            #[allow(non_upper_case_globals)]
            #vis const #name: [bool; #n] = [#(#flags),*];
        }
    }
}
