//! What every item reads: the function, its checked signature, and the types and headers
//! derived from them (`Items`), plus small helpers over the differentiated graph.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::{Ident, ItemFn};

use crate::ir::graph::ROOT;
use crate::ir::{Graph, Id, Kind, Op};
use crate::names;
use crate::parse::sig::Sig;

/// The items generated beside `f`, sharing its signature.
pub(crate) struct Items<'a> {
    pub(crate) func: &'a ItemFn,
    pub(crate) sig: &'a Sig,
    /// Whether an item may be written as a call of another (`f_grad` as
    /// `f_value_and_grad(..).1`). Not for a method's flat function: `method.rs` gives each
    /// item the struct's signature again, so each keeps a body of its own.
    pub(crate) sibling_calls: bool,
}

impl<'a> Items<'a> {
    pub(crate) fn new(func: &'a ItemFn, sig: &'a Sig) -> Items<'a> {
        Items {
            func,
            sig,
            sibling_calls: true,
        }
    }

    /// The items of a method's flat function: no item calls another (see `sibling_calls`).
    pub(crate) fn for_method(func: &'a ItemFn, sig: &'a Sig) -> Items<'a> {
        Items {
            sibling_calls: false,
            ..Items::new(func, sig)
        }
    }

    /// Whether an item may be written as a call of another item of float code: sibling calls
    /// allowed, every parameter with a gradient a float, and a float result.
    pub(crate) fn float_closed(&self) -> bool {
        self.sibling_calls
            && self.sig.ret_kind == Kind::Scalar
            && self
                .sig
                .params
                .iter()
                .all(|p| !has_grad_type(p) || p.kind == Kind::Scalar)
    }

    pub(crate) fn ident(&self, suffix: &str) -> Ident {
        names::public(&self.func.sig.ident, suffix)
    }

    /// The gradient type: one parameter's type, or a tuple in parameter order.
    /// The gradient type of one parameter: its type without `&`; `Vec<T>` for a slice.
    pub(crate) fn param_grad_type(&self, p: &crate::parse::sig::Param) -> TokenStream {
        if p.kind == Kind::Slice {
            let float = &self.sig.float;
            return quote!(::std::vec::Vec<#float>);
        }
        match &p.ty {
            syn::Type::Reference(r) => r.elem.to_token_stream(),
            t => t.to_token_stream(),
        }
    }

    pub(crate) fn grad_type(&self) -> TokenStream {
        let tys: Vec<TokenStream> = self
            .sig
            .diff_params()
            .map(|(_, p)| self.param_grad_type(p))
            .collect();
        if tys.len() == 1 {
            tys[0].clone()
        } else {
            quote!((#(#tys),*))
        }
    }

    /// The pullback's slot for each parameter: its gradient type, or `NoGrad` for a
    /// parameter of a type without gradients. A float parameter left out of `wrt` gets a zero
    /// of its type; `__f_wrt` tells callers which slots are real.
    pub(crate) fn pullback_type(&self) -> TokenStream {
        let tys = self.sig.params.iter().map(|p| {
            if has_grad_type(p) {
                self.param_grad_type(p)
            } else {
                quote!(::autodiff::__private::NoGrad)
            }
        });
        quote!((#(#tys,)*))
    }

    /// The slot of a parameter that is not differentiated.
    pub(crate) fn constant_slot(&self, p: &crate::parse::sig::Param) -> TokenStream {
        let float = &self.sig.float;
        let zero = quote!(::autodiff::__private::lit::<#float>(0.0));
        let x = &p.ident;
        match p.kind {
            Kind::Scalar => zero,
            Kind::Array => {
                let len = p.array_len.as_ref().expect("array length");
                quote!([#zero; #len])
            }
            Kind::Tensor => {
                let r = if p.by_ref { quote!(#x) } else { quote!(&#x) };
                quote!(::autodiff::__private::zeros_like(#r))
            }
            Kind::Slice => {
                let r = if p.by_ref { quote!(#x) } else { quote!(&#x) };
                quote!(::autodiff::__private::seq_zeros(#r))
            }
            _ => quote!(::autodiff::__private::NoGrad),
        }
    }

    /// Whether `f_hessian` is generated: a scalar result, every differentiated parameter a
    /// scalar float.
    pub(crate) fn has_hessian(&self) -> bool {
        self.sig.ret_kind == Kind::Scalar
            && self.sig.diff_params().all(|(_, p)| p.kind == Kind::Scalar)
    }

    /// `T` for one differentiated parameter, else `[[T; k]; k]`.
    pub(crate) fn hessian_type(&self) -> TokenStream {
        let float = &self.sig.float;
        let k = self.sig.diff_params().count();
        if k == 1 {
            quote!(#float)
        } else {
            quote!([[#float; #k]; #k])
        }
    }

    pub(crate) fn cotangent_type(&self) -> TokenStream {
        let r = &self.sig.ret_ty;
        match self.sig.ret_kind {
            Kind::Tensor => quote!(&#r),
            Kind::Slice => {
                let float = &self.sig.float;
                quote!(&[#float])
            }
            _ => r.to_token_stream(),
        }
    }

    /// Signatures of the generated items (for the fallback's stubs and for `generate`).
    pub(crate) fn headers(&self) -> Vec<TokenStream> {
        let vis = &self.func.vis;
        let (impl_generics, where_clause) = (
            &self.func.sig.generics.params,
            &self.func.sig.generics.where_clause,
        );
        let inputs: Vec<&syn::FnArg> = self.func.sig.inputs.iter().collect();
        let r = &self.sig.ret_ty;
        let g = self.grad_type();
        let name = self.func.sig.ident.to_string();
        let mut out = Vec::new();
        if self.sig.ret_kind == Kind::Scalar {
            let grad = self.ident("grad");
            let doc = format!(
                "The gradient of [`{name}`] with respect to its differentiated parameters."
            );
            out.push(
                quote!(#[doc = #doc] #vis fn #grad<#impl_generics>(#(#inputs),*) -> #g #where_clause),
            );
            let vg = self.ident("value_and_grad");
            let doc = format!(
                "The value of [`{name}`] and its gradient, from one forward and one backward pass."
            );
            out.push(quote!(#[doc = #doc] #vis fn #vg<#impl_generics>(#(#inputs),*) -> (#r, #g) #where_clause));
        }
        let vjp = self.ident("vjp");
        let cot = self.cotangent_type();
        let doc = format!(
            "The vector-Jacobian product of [`{name}`]: the gradient of `<cotangent, {name}(..)>`."
        );
        out.push(quote!(#[doc = #doc] #vis fn #vjp<#impl_generics>(#(#inputs,)* __cotangent: #cot) -> #g #where_clause));
        let pb = names::pullback(&self.func.sig.ident);
        let pbt = self.pullback_type();
        // The pullback's cotangent, by reference (`&[T]` for a `Vec<T>` result).
        let pb_cot = if self.sig.ret_kind == Kind::Slice {
            let float = &self.sig.float;
            quote!(&[#float])
        } else {
            quote!(&#r)
        };
        out.push(quote!(#[doc(hidden)] #vis fn #pb<#impl_generics>(#(#inputs,)* __cotangent: #pb_cot) -> #pbt #where_clause));
        let pb2 = names::pullback2(&self.func.sig.ident);
        let slots = self.pullback_slots();
        out.push(quote!(#[doc(hidden)] #vis fn #pb2<#impl_generics>(#(#inputs,)* __cotangent: #pb_cot, __seeds: &(#(#slots,)*)) -> (#(#slots,)* #r,) #where_clause));
        // Generated items take the function's parameters and more.
        out.into_iter()
            .map(|h| quote!(#[allow(clippy::too_many_arguments)] #h))
            .collect()
    }

    pub(crate) fn pullback_slots(&self) -> Vec<TokenStream> {
        self.sig
            .params
            .iter()
            .map(|p| {
                if has_grad_type(p) {
                    self.param_grad_type(p)
                } else {
                    quote!(::autodiff::__private::NoGrad)
                }
            })
            .collect()
    }

    /// `f_<suffix>(params..) -> ty { body }`, documented, beside `f`.
    pub(crate) fn extra_item(
        &self,
        suffix: &str,
        doc: &str,
        ty: TokenStream,
        body: TokenStream,
    ) -> TokenStream {
        let name = self.ident(suffix);
        let vis = &self.func.vis;
        let (generics, where_clause) = (
            &self.func.sig.generics.params,
            &self.func.sig.generics.where_clause,
        );
        let inputs = self.func.sig.inputs.iter();
        quote! {
            #[doc = #doc]
            #[allow(unused_variables, clippy::too_many_arguments)]
            #vis fn #name<#generics>(#(#inputs),*) -> #ty #where_clause {
                #body
            }
        }
    }
}

pub(crate) fn has_grad_type(p: &crate::parse::sig::Param) -> bool {
    p.diff
        || matches!(
            p.kind,
            Kind::Scalar | Kind::Array | Kind::Tensor | Kind::Slice
        )
}

pub(crate) fn adj_of(adj: &[Option<Id>], id: Id) -> Option<Id> {
    adj.get(id.index()).copied().flatten()
}

/// Where an element read of a sequence is: a literal index, or a node computing it.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum At {
    Literal(u32),
    Node(Id),
}

/// The element reads of a sequence parameter at the top level: `x[0]` and `x[i]`.
pub(crate) fn elements(g: &Graph, param: Id) -> Vec<(At, Id)> {
    g.ids()
        .filter_map(|id| match g[id].op {
            Op::Index(k) if g[id].args[0] == param => Some((At::Literal(k), id)),
            Op::IndexDyn if g[id].args[0] == param && g.block_of(id) == ROOT => {
                Some((At::Node(g[id].args[1]), id))
            }
            _ => None,
        })
        .collect()
}
