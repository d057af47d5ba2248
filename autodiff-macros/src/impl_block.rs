//! `#[differentiable]` on an `impl` block. A trait impl (`impl Model for Mlp`) may hold only
//! the trait's items, so the attribute on a method there cannot add `loss_grad` beside it.
//! On the block, each method marked `#[differentiable(..)]` is expanded as a method (see
//! `method.rs`); the method itself stays in the trait impl and its generated items go to an
//! inherent `impl Mlp` block written after it, with the same generics. On an inherent impl
//! the attribute changes nothing: its methods' own attributes expand in place.

use proc_macro2::{TokenStream, TokenTree};
use quote::{quote, ToTokens};
use syn::{ImplItem, Item, ItemFn, ItemImpl};

/// Whether `item` is an `impl` block (after its attributes and `unsafe`).
pub(crate) fn is_impl(item: &TokenStream) -> bool {
    let mut tokens = item.clone().into_iter().peekable();
    while let Some(t) = tokens.next() {
        match t {
            // `#[attr]`
            TokenTree::Punct(p) if p.as_char() == '#' => {
                tokens.next();
            }
            TokenTree::Ident(id) if id == "unsafe" || id == "default" => {}
            TokenTree::Ident(id) => return id == "impl",
            _ => return false,
        }
    }
    false
}

/// `#[differentiable(args)] impl .. { .. }`; `expand_method` expands one method's attribute
/// (`entry::differentiable`, passed in so that this module does not import its caller).
pub(crate) fn expand(
    args: TokenStream,
    item: TokenStream,
    expand_method: fn(TokenStream, TokenStream) -> TokenStream,
) -> TokenStream {
    let mut imp: ItemImpl = match syn::parse2(item.clone()) {
        Ok(i) => i,
        // rustc reports the syntax error itself, at the token.
        Err(_) => return item,
    };
    // Reported, and the block expanded as if they were not there.
    let args_error = (!args.is_empty()).then(|| {
        syn::Error::new_spanned(
            &args,
            "#[differentiable] on an `impl` block takes no arguments; write them on each method's `#[differentiable(..)]`",
        )
        .into_compile_error()
    });
    if imp.trait_.is_none() {
        return quote!(#args_error #imp);
    }
    let mut inherent = TokenStream::new();
    let mut marked = 0;
    for entry_item in &mut imp.items {
        let ImplItem::Fn(method) = entry_item else {
            continue;
        };
        let Some(at) = method.attrs.iter().position(is_differentiable) else {
            continue;
        };
        marked += 1;
        let attr = method.attrs.remove(at);
        let method_args = match &attr.meta {
            syn::Meta::List(list) => list.tokens.clone(),
            _ => TokenStream::new(),
        };
        let name = method.sig.ident.clone();
        // The generated items are public like the trait's method.
        let func = ItemFn {
            attrs: method.attrs.clone(),
            vis: syn::parse_quote!(pub),
            sig: method.sig.clone(),
            block: Box::new(method.block.clone()),
        };
        let expanded = expand_method(method_args, func.into_token_stream());
        let file: syn::File = match syn::parse2(expanded.clone()) {
            Ok(f) => f,
            Err(_) => {
                inherent.extend(expanded);
                continue;
            }
        };
        for generated in file.items {
            match generated {
                Item::Fn(f) if f.sig.ident == name => {
                    method.attrs = f.attrs;
                    method.sig = f.sig;
                    method.block = *f.block;
                }
                other => inherent.extend(other.into_token_stream()),
            }
        }
    }
    if marked == 0 {
        let err = syn::Error::new_spanned(
            imp.impl_token,
            "mark the methods of this trait impl to differentiate with `#[differentiable]` (their items go to an inherent impl beside it)",
        )
        .into_compile_error();
        return quote!(#err #imp);
    }
    let (impl_generics, _, where_clause) = imp.generics.split_for_impl();
    let self_ty = &imp.self_ty;
    quote! {
        #args_error
        #imp
        impl #impl_generics #self_ty #where_clause {
            #inherent
        }
    }
}

/// `#[differentiable]` or `#[differentiable(..)]`, also as `#[autodiff::differentiable]`.
fn is_differentiable(attr: &syn::Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "differentiable")
}
