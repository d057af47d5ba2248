//! The route of `#[differentiable]`: an `impl` block (`impl_block.rs`, which comes back here
//! for each method), or a function, prepared, then expanded as a method (`method.rs`) or as a
//! free function (`expand.rs`).

use proc_macro2::TokenStream;

use crate::expand;
use crate::impl_block;
use crate::method;

/// `#[differentiable(args)] item`, on `proc_macro2` tokens.
pub(crate) fn differentiable(args: TokenStream, item: TokenStream) -> TokenStream {
    let started = std::time::Instant::now();
    if impl_block::is_impl(&item) {
        return impl_block::expand(args, item, differentiable);
    }
    match expand::prepare(args, &item) {
        Err(tokens) => tokens,
        Ok((args, func)) if method::applies(&func, &args) => method::expand(args, func),
        Ok((args, func)) => expand::function(args, func, item, started),
    }
}
