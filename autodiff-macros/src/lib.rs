//! The `#[differentiable]` attribute: a small compiler from a Rust function body to its
//! gradient, written as plain Rust.
//!
//! Pipeline (one module each): `entry` routes an `impl` block (`impl_block`), a method
//! (`method`, `field_loops`) or a free function (`expand`); `parse::power` (the `**` token
//! pass) → `parse::sig` and `parse::body` (syntax → `ir::Graph`) → `diff` (reverse and forward
//! sweeps through the rule table in `ir::ops`) → `items` (one file per generated item) →
//! `emit` (graph → Rust, graph → formula text). `items::fallback` keeps a failed expansion
//! from cascading into secondary rustc errors; `names` holds every generated identifier. The
//! map with each module's job is in the `autodiff` crate's docs, "How it works".

mod args;
mod derive;
mod diff;
mod emit;
mod entry;
mod errors;
mod expand;
mod field_loops;
mod fuse;
#[cfg(test)]
mod fuzz;
mod impl_block;
mod ir;
mod items;
mod method;
mod names;
mod parse;

use proc_macro::TokenStream;

/// Differentiates a function at compile time. See the `autodiff` crate for the guide.
#[proc_macro_attribute]
pub fn differentiable(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::differentiable(args.into(), item.into()).into()
}

/// Implements `autodiff::Differentiable` for a model struct: its leaves are its fields in
/// order; integer and `bool` fields and fields marked `#[autodiff(skip)]` are constants.
#[proc_macro_derive(Differentiable, attributes(autodiff))]
pub fn derive_differentiable(input: TokenStream) -> TokenStream {
    derive::derive(input.into()).into()
}
