//! The route of `#[differentiable]`: prepare the function, then expand it as a method (its
//! own module, `method.rs`) or as a free function (`expand.rs`).

use proc_macro2::TokenStream;

use crate::expand;
use crate::method;

/// `#[differentiable(args)] item`, on `proc_macro2` tokens.
pub(crate) fn differentiable(args: TokenStream, item: TokenStream) -> TokenStream {
    let started = std::time::Instant::now();
    match expand::prepare(args, &item) {
        Err(tokens) => tokens,
        Ok((args, func)) if method::applies(&func, &args) => method::expand(args, func),
        Ok((args, func)) => expand::function(args, func, item, started),
    }
}
