//! Error accumulator: every mistake in a body is reported, in one build.

use std::cell::RefCell;
use std::fmt::Display;

use proc_macro2::Span;
use quote::ToTokens;

#[derive(Default)]
pub(crate) struct Errors(RefCell<Vec<syn::Error>>);

impl Errors {
    /// Records an error spanning `tokens`.
    pub fn at(&self, tokens: impl ToTokens, msg: impl Display) {
        self.0
            .borrow_mut()
            .push(syn::Error::new_spanned(tokens, msg));
    }

    /// Records an error at one span.
    pub fn at_span(&self, span: Span, msg: impl Display) {
        self.0.borrow_mut().push(syn::Error::new(span, msg));
    }

    pub fn is_empty(&self) -> bool {
        self.0.borrow().is_empty()
    }

    /// All recorded errors combined into one, or `Ok` if there were none.
    pub fn finish(self) -> syn::Result<()> {
        let mut all = self.0.into_inner().into_iter();
        let Some(mut first) = all.next() else {
            return Ok(());
        };
        all.for_each(|e| first.combine(e));
        Err(first)
    }
}
