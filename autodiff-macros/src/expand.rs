//! parse → check → lower → differentiate → emit, and the items generated for one function.

use std::fmt::Write;

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};
use quote::{format_ident, quote, ToTokens};
use syn::{Ident, ItemFn};

use crate::args::Args;
use crate::diff;
use crate::emit::formula::Formula;
use crate::emit::rust::{call_checks, Code, Emitter};
use crate::errors::Errors;
use crate::fallback;
use crate::fuse;
use crate::ir::graph::ROOT;
use crate::ir::{Graph, Id, Kind, Op};
use crate::names;
use crate::parse::body::{self, Lowered};
use crate::parse::power;
use crate::parse::sig::Sig;

mod dual;
mod forward;

/// The entry point: `#[differentiable(args)] item`.
pub(crate) fn differentiable(args: TokenStream, item: TokenStream) -> TokenStream {
    let started = std::time::Instant::now();
    if let Some(span) = too_deep(&item) {
        let msg = format!(
            "this expression is nested more than {MAX_NESTING} levels deep; bind intermediate results with `let`"
        );
        let err = syn::Error::new(span, msg).into_compile_error();
        return quote!(#err);
    }
    let args: Args = match syn::parse2(args) {
        Ok(a) => a,
        Err(e) => {
            let func = syn::parse2::<ItemFn>(rewrite_body(item.clone())).ok();
            return fallback::expand(e, func.as_ref(), None);
        }
    };
    let mut func: ItemFn = match syn::parse2(rewrite_body(item.clone())) {
        Ok(f) => f,
        Err(_) => return not_a_function(item),
    };
    crate::parse::sig::rebind_params(&mut func.sig);
    if crate::method::applies(&func, &args) {
        return crate::method::expand(args, func);
    }
    let errors = Errors::default();
    let Some(sig) = Sig::from_syn(&func, &args, &errors) else {
        return fallback::expand(errors.finish().unwrap_err(), Some(&func), None);
    };
    if let Some(rule) = &args.vjp {
        let one_scalar = sig.params.len() == 1 && sig.params[0].kind == Kind::Scalar;
        if args.vjp_differentiable && !(one_scalar && sig.ret_kind == Kind::Scalar) {
            let e = syn::Error::new_spanned(
                &func.sig.inputs,
                "`vjp_differentiable` needs a function of one float parameter returning a float, whose rule `rule(x, cotangent) -> float` is #[differentiable]; remove `vjp_differentiable`",
            );
            return fallback::expand(e, Some(&func), Some(&sig));
        }
        // The body is the user's own: keep it exactly as written.
        let original: ItemFn = syn::parse2(item).expect("parsed above");
        return Items::new(&func, &sig).custom_rule(
            rule,
            args.jvp.as_ref(),
            &original,
            args.vjp_differentiable,
        );
    }
    if args.vjp_differentiable {
        let e = syn::Error::new(
            func.sig.ident.span(),
            "`vjp_differentiable` goes with `vjp = rule`; remove it, or name the rule",
        );
        return fallback::expand(e, Some(&func), Some(&sig));
    }
    let Some(lowered) = body::lower(&sig, &func.block, &errors) else {
        return fallback::expand(errors.finish().unwrap_err(), Some(&func), Some(&sig));
    };
    match Items::new(&func, &sig).generate(lowered) {
        Ok(tokens) => {
            debug_print(&func.sig.ident, &tokens);
            if std::env::var_os("AUTODIFF_TIMING").is_some() {
                eprintln!(
                    "#[differentiable] `{}` expanded in {:.3} ms",
                    func.sig.ident,
                    started.elapsed().as_secs_f64() * 1e3
                );
            }
            tokens
        }
        Err(e) => fallback::expand(e, Some(&func), Some(&sig)),
    }
}

/// `AUTODIFF_PRINT=f` (or `*`) prints the code generated for `f` while compiling,
/// formatted by rustfmt when it is installed.
pub(crate) fn debug_print(ident: &Ident, tokens: &TokenStream) {
    let Ok(want) = std::env::var("AUTODIFF_PRINT") else {
        return;
    };
    if want != "*" && want.split(',').all(|w| *ident != w.trim()) {
        return;
    }
    let text = tokens.to_string();
    let formatted = std::process::Command::new("rustfmt")
        .args(["--edition", "2021", "--emit", "stdout"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take()?.write_all(text.as_bytes()).ok()?;
            let out = child.wait_with_output().ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
        });
    eprintln!(
        "// #[differentiable] expansion of `{ident}`\n{}",
        formatted.unwrap_or(text)
    );
}

/// Deeper nesting of parentheses, brackets and braces than this is refused: syn and the macro
/// recurse once per level, and the compiler's stack ends somewhere past 300 levels.
const MAX_NESTING: usize = 200;

/// The first group nested deeper than `MAX_NESTING`, found without recursion.
fn too_deep(tokens: &TokenStream) -> Option<proc_macro2::Span> {
    let mut stack = vec![tokens.clone().into_iter()];
    while let Some(top) = stack.last_mut() {
        match top.next() {
            Some(TokenTree::Group(g)) => {
                if stack.len() > MAX_NESTING {
                    return Some(g.span());
                }
                stack.push(g.stream().into_iter());
            }
            Some(_) => {}
            None => {
                stack.pop();
            }
        }
    }
    None
}

/// Runs the `**` pass over the function body (the last brace group of the item).
fn rewrite_body(item: TokenStream) -> TokenStream {
    let mut trees: Vec<TokenTree> = item.into_iter().collect();
    if let Some(TokenTree::Group(g)) = trees.last() {
        if g.delimiter() == Delimiter::Brace {
            let mut body = Group::new(Delimiter::Brace, power::rewrite(g.stream()));
            body.set_span(g.span());
            *trees.last_mut().unwrap() = TokenTree::Group(body);
        }
    }
    trees.into_iter().collect()
}

fn not_a_function(item: TokenStream) -> TokenStream {
    let msg = "#[differentiable] applies to a function, such as `fn f(x: f64) -> f64 { .. }`";
    let at: TokenStream = match syn::parse2::<syn::Item>(item.clone()) {
        Ok(syn::Item::Struct(s)) => s.struct_token.into_token_stream(),
        Ok(syn::Item::Enum(e)) => e.enum_token.into_token_stream(),
        Ok(syn::Item::Impl(i)) => i.impl_token.into_token_stream(),
        Ok(syn::Item::Trait(t)) => t.trait_token.into_token_stream(),
        Ok(syn::Item::Mod(m)) => m.mod_token.into_token_stream(),
        Ok(syn::Item::Const(c)) => c.const_token.into_token_stream(),
        Ok(syn::Item::Static(s)) => s.static_token.into_token_stream(),
        Ok(syn::Item::Type(t)) => t.type_token.into_token_stream(),
        _ => item.clone(),
    };
    let err = syn::Error::new_spanned(at, msg).into_compile_error();
    quote!(#err #item)
}

/// The items generated beside `f`, sharing its signature.
pub(crate) struct Items<'a> {
    func: &'a ItemFn,
    sig: &'a Sig,
}

impl<'a> Items<'a> {
    pub fn new(func: &'a ItemFn, sig: &'a Sig) -> Items<'a> {
        Items { func, sig }
    }

    fn ident(&self, suffix: &str) -> Ident {
        names::public(&self.func.sig.ident, suffix)
    }

    /// The gradient type: one parameter's type, or a tuple in parameter order.
    /// The gradient type of one parameter: its type without `&`; `Vec<T>` for a slice.
    fn param_grad_type(&self, p: &crate::parse::sig::Param) -> TokenStream {
        if p.kind == Kind::Slice {
            let float = &self.sig.float;
            return quote!(::std::vec::Vec<#float>);
        }
        match &p.ty {
            syn::Type::Reference(r) => r.elem.to_token_stream(),
            t => t.to_token_stream(),
        }
    }

    fn grad_type(&self) -> TokenStream {
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
    fn pullback_type(&self) -> TokenStream {
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

    /// Stubs of `f_hessian`, `f_grad_formulas` and `f_trace` for a failed expansion.
    pub fn stub_extras(&self, stub: &TokenStream) -> TokenStream {
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

    /// Whether `f_hessian` is generated: a scalar result, every differentiated parameter a
    /// scalar float.
    fn has_hessian(&self) -> bool {
        self.sig.ret_kind == Kind::Scalar
            && self.sig.diff_params().all(|(_, p)| p.kind == Kind::Scalar)
    }

    /// `T` for one differentiated parameter, else `[[T; k]; k]`.
    fn hessian_type(&self) -> TokenStream {
        let float = &self.sig.float;
        let k = self.sig.diff_params().count();
        if k == 1 {
            quote!(#float)
        } else {
            quote!([[#float; #k]; #k])
        }
    }

    /// `__f_wrt`: which parameters `f` differentiates, checked at compile time by callers.
    pub fn wrt_const(&self) -> TokenStream {
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

    fn cotangent_type(&self) -> TokenStream {
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
    pub fn headers(&self) -> Vec<TokenStream> {
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

    fn pullback_slots(&self) -> Vec<TokenStream> {
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

    /// `__f_pullback2`: the vjp of the pullback, so that callers can take second derivatives
    /// through `f`: a reverse sweep over the pullback's graph seeded by `seeds`. For a function
    /// whose pullback has no such sweep (tensors, loops, calls) it panics with the reason.
    fn emit_pullback2(
        &self,
        g: &mut Graph,
        adj: &[Option<Id>],
        params: &[Id],
        cot: Id,
        output: Id,
        header: TokenStream,
    ) -> TokenStream {
        let name = self.func.sig.ident.to_string();
        let stub = |why: &str| {
            let msg = format!("second derivatives through `{name}` are not available: {why}");
            quote!(#[allow(unused_variables)] #header { ::core::panic!(#msg) })
        };
        if self.sig.ret_kind != Kind::Scalar {
            return stub("its result is not a scalar float");
        }
        if self.sig.diff_params().any(|(_, p)| p.kind != Kind::Scalar) {
            return stub("it differentiates a parameter that is not a scalar float");
        }
        let base = g.params.len();
        for p in &self.sig.params {
            let kind = if p.diff { Kind::Scalar } else { Kind::Unknown };
            g.params.push(crate::ir::graph::ParamInfo {
                kind,
                active: false,
            });
        }
        let seeds: Vec<Id> = (0..self.sig.params.len())
            .map(|i| g.param(base + i))
            .collect();
        let pairs: Vec<(Id, Id)> = self
            .sig
            .diff_params()
            .filter_map(|(i, _)| adj_of(adj, params[i]).map(|a| (a, seeds[i])))
            .collect();
        let second = if pairs.is_empty() {
            vec![None; g.len()]
        } else {
            match diff::reverse_from(g, &pairs) {
                Ok(a) => a,
                Err(_) if self.dual_obstacle(g, output).is_none() => {
                    return self.pullback2_by_dual(header)
                }
                Err(_) => return stub("its body has a call or a loop without second derivatives"),
            }
        };
        let mut roots: Vec<Id> = self
            .sig
            .diff_params()
            .filter_map(|(i, _)| adj_of(&second, params[i]))
            .collect();
        roots.extend(adj_of(&second, cot));
        let mut names: Vec<(TokenStream, bool)> = self
            .sig
            .params
            .iter()
            .map(|p| (p.ident.to_token_stream(), p.by_ref))
            .collect();
        names.extend(
            (0..self.sig.params.len())
                .map(|i| (format_ident!("__s{}", i).into_token_stream(), false)),
        );
        let mut e = Emitter::with_params(g, self.sig, &roots, names, "__".to_string());
        let stmts = e.statements();
        let zero = e.literal(0.0, true);
        let parts = self.sig.params.iter().enumerate().map(|(i, p)| {
            if p.diff {
                adj_of(&second, params[i])
                    .map(|a| e.owned(a))
                    .unwrap_or_else(|| zero.clone())
            } else {
                self.constant_slot(p)
            }
        });
        let dcot = adj_of(&second, cot)
            .map(|a| e.owned(a))
            .unwrap_or_else(|| zero.clone());
        let unpack = self.sig.diff_params().map(|(i, _)| {
            let s = format_ident!("__s{}", i);
            let field = syn::Index::from(i);
            quote!(let #s = __seeds.#field;)
        });
        quote!(#[allow(unused_variables)] #header {
            let __cotangent = *__cotangent;
            #(#unpack)*
            #stmts
            (#(#parts,)* #dcot,)
        })
    }

    /// `f` itself and every generated item, from the lowered body.
    pub(crate) fn generate(&self, lowered: Lowered) -> syn::Result<TokenStream> {
        let Lowered {
            graph: mut g,
            output,
            params,
        } = lowered;
        // The body as lowered, for the forward-mode items.
        let g0 = g.clone();
        // The fused graph computes f and its first derivatives; the graph as written serves
        // what names its nodes (trace, formulas) and the second derivatives.
        let fused = fuse::has_candidates(&g).then(|| {
            let mut f = g.clone();
            fuse::fuse(&mut f);
            f
        });
        let errors = Errors::default();
        let (adj_one, cot, adj_cot, one) = self.first_order(&mut g, output, &errors);
        errors.finish()?;
        let adj_cot = adj_cot.expect("no errors");
        let (mut fg, mut adj_one_f, adj_cot_f) = match fused {
            Some(mut f) => {
                let errors = Errors::default();
                let (one_f, _, cot_f, _) = self.first_order(&mut f, output, &errors);
                errors.finish()?;
                (f, one_f, cot_f.expect("no errors"))
            }
            None => (g.clone(), adj_one.clone(), adj_cot.clone()),
        };
        // `_grad` and `_value_and_grad` read polynomial gradient components in Horner form.
        if let Some(adj) = adj_one_f.as_mut() {
            crate::ir::horner::rewrite(&mut fg, adj);
        }
        let hessian = adj_one
            .as_ref()
            .and_then(|adj| self.hessian(&mut g, adj, &params, one, output));
        let mut headers = self.headers();
        let pullback2_header = headers.pop().expect("pullback2 header");
        let pullback2 =
            self.emit_pullback2(&mut g, &adj_cot, &params, cot, output, pullback2_header);
        fg.current = ROOT;
        let (main_g, adj_one_main, adj_cot_main) = (&fg, &adj_one_f, &adj_cot_f);

        let mut out = TokenStream::new();
        // f: the forward pass.
        {
            let mut e = Emitter::new(main_g, self.sig, &[output]);
            e.tail(output);
            let stmts = e.statements();
            let value = e.value(output);
            let attrs = &self.func.attrs;
            let vis = &self.func.vis;
            let fsig = &self.func.sig;
            out.extend(quote! {
                #(#attrs)*
                #vis #fsig {
                    #stmts
                    #value
                }
            });
        }
        let mut headers = headers.into_iter();
        if let Some(adj) = adj_one_main {
            let (roots, grad) = self.gradient(main_g, adj, &params);
            let mut e = Emitter::new(main_g, self.sig, &roots);
            if let [only] = roots[..] {
                e.tail(only);
            }
            let stmts = e.statements();
            let value = grad(&e);
            let header = headers.next().expect("grad header");
            out.extend(quote!(#[allow(unused_variables)] #header { #stmts #value }));

            let mut with_value = roots.clone();
            with_value.push(output);
            let mut e = Emitter::new(main_g, self.sig, &with_value);
            let stmts = e.statements();
            let grads = grad(&e);
            let value = e.value(output);
            let header = headers.next().expect("value_and_grad header");
            out.extend(quote!(#[allow(unused_variables)] #header { #stmts (#value, #grads) }));
        }
        let (roots, grad) = self.gradient(main_g, adj_cot_main, &params);
        {
            let mut e = Emitter::new(main_g, self.sig, &roots);
            if let [only] = roots[..] {
                e.tail(only);
            }
            let stmts = e.statements();
            let value = grad(&e);
            let header = headers.next().expect("vjp header");
            out.extend(quote!(#[allow(unused_variables)] #header { #stmts #value }));
        }
        // The pullback is `f_vjp` with one slot per parameter.
        let header = headers.next().expect("pullback header");
        out.extend(self.pullback_item(header, &self.ident("vjp").to_token_stream()));
        match hessian {
            Some(h) if h.len() == 1 && h[0].is_empty() => out.extend(self.hessian_by_dual()),
            Some(h) => out.extend(self.emit_hessian(&g, &h)),
            None if self.has_hessian() => {
                let why = self
                    .dual_obstacle(&g, output)
                    .unwrap_or("its body has no second-order rule");
                let msg = format!(
                    "the Hessian of `{}` is not available: {why}",
                    self.func.sig.ident
                );
                out.extend(self.hessian_item(self.hessian_type(), quote!(::core::panic!(#msg))));
            }
            None => {}
        }
        out.extend(self.dual_item(&g, output));
        out.extend(self.emit_formulas(&g, adj_one.as_deref().unwrap_or(&adj_cot), &params));
        if let Some(adj) = &adj_one {
            out.extend(self.emit_trace(&g, adj, output));
        }
        out.extend(pullback2);
        out.extend(self.forward_items(&g0, output, &params));
        out.extend(self.wrt_const());
        out.extend(call_checks(main_g));
        Ok(out)
    }

    /// The two first-order sweeps: seeded by 1 (for `_grad`, when the result is a scalar) and
    /// by the cotangent (for `_vjp`). Returns their adjoints, the cotangent node and the 1.
    #[allow(clippy::type_complexity)]
    fn first_order(
        &self,
        g: &mut Graph,
        output: Id,
        errors: &Errors,
    ) -> (Option<Vec<Option<Id>>>, Id, Option<Vec<Option<Id>>>, Id) {
        let sweep = |g: &mut Graph, seed: Id| match diff::reverse(g, output, seed) {
            Ok(adj) => Some(adj),
            Err(list) => {
                for e in list {
                    errors.at_span(
                        e.span.unwrap_or_else(|| self.func.sig.ident.span()),
                        e.message,
                    );
                }
                None
            }
        };
        g.current = ROOT;
        let one = g.constant(1.0);
        let adj_one = if self.sig.ret_kind == Kind::Scalar {
            sweep(g, one)
        } else {
            None
        };
        g.current = ROOT;
        let cot = g.add_raw(Op::Cotangent, vec![]);
        let adj_cot = sweep(g, cot);
        (adj_one, cot, adj_cot, one)
    }

    /// Second derivatives when every differentiated parameter is a scalar: each gradient
    /// component is differentiated again by the same sweep (the graph is closed under
    /// differentiation). Row i holds ∂²f/∂wi∂wj for j >= i; the lower triangle mirrors it.
    /// `None` when a node has no second-order rule (calls, matrix products).
    fn hessian(
        &self,
        g: &mut Graph,
        adj: &[Option<Id>],
        params: &[Id],
        one: Id,
        output: Id,
    ) -> Option<Vec<Vec<Option<Id>>>> {
        let diff: Vec<usize> = self.sig.diff_params().map(|(i, _)| i).collect();
        if self.sig.ret_kind != Kind::Scalar
            || diff
                .iter()
                .any(|&i| self.sig.params[i].kind != Kind::Scalar)
        {
            return None;
        }
        let k = diff.len();
        let mut h = vec![vec![None; k]; k];
        for (a, &i) in diff.iter().enumerate() {
            let Some(gi) = adj_of(adj, params[i]) else {
                continue;
            };
            let Ok(second) = diff::reverse(g, gi, one) else {
                // No second-order rule (a loop): hyper-dual numbers through the forward code,
                // when nothing in it needs more than floats.
                return self
                    .dual_obstacle(g, output)
                    .is_none()
                    .then(|| vec![Vec::new()]);
            };
            for (b, &j) in diff.iter().enumerate().skip(a) {
                h[a][b] = adj_of(&second, params[j]);
            }
        }
        // Symmetric by construction: the lower triangle is the upper one.
        for a in 1..k {
            let (upper, lower) = h.split_at_mut(a);
            for (b, row) in upper.iter().enumerate() {
                lower[0][b] = row[a];
            }
        }
        Some(h)
    }

    /// `f_trace(..)`: every node of the body's top level (parameters, `let` bindings,
    /// operations; a branch counts as one node) with its value and gradient.
    fn emit_trace(&self, g: &Graph, adj: &[Option<Id>], output: Id) -> TokenStream {
        let mut on_path = vec![false; g.len()];
        on_path[output.index()] = true;
        for id in g.ids().take(output.index() + 1).rev() {
            if on_path[id.index()] {
                for &a in &g[id].args {
                    on_path[a.index()] = true;
                }
            }
        }
        // With struct leaves (`self.l1.w`), values of unknown type are traced too: tensors and
        // floats as usual, other values (a struct) as empty nodes (`TraceAny`).
        let any = self.sig.params.iter().any(|p| p.leaf);
        let traced: Vec<Id> = g
            .ids()
            .take(output.index() + 1)
            .filter(|&id| {
                on_path[id.index()]
                    && g.block_of(id) == ROOT
                    && (matches!(g.kind(id), Kind::Scalar | Kind::Tensor)
                        || matches!(g[id].op, Op::Call(_))
                        || (any
                            && g.kind(id) == Kind::Unknown
                            && !matches!(
                                g[id].op,
                                Op::Loop(_)
                                    | Op::LoopPullback(_)
                                    | Op::Pullback(_)
                                    | Op::Pullback2(_)
                                    | Op::Project(_)
                                    | Op::NoGrad
                                    | Op::FusedGrad(_)
                            )))
                    && !matches!(g[id].op, Op::Const(_) | Op::Cotangent | Op::Opaque(_))
            })
            .collect();
        let mut roots = traced.clone();
        roots.extend(traced.iter().filter_map(|&id| adj_of(adj, id)));
        let mut e = Emitter::new(g, self.sig, &roots);
        let mut code = Code::default();
        e.write_statements(&mut code);
        let float = self.sig.float.to_string();
        let text = &mut code.text;
        text.push_str("let mut __trace = ::autodiff::Trace::new();");
        for &id in &traced {
            let name = match g[id].op {
                Op::Param(i) => self.sig.params[i as usize].ident.to_string(),
                Op::Index(k) => {
                    let arr = &g[id].args[0];
                    let base = match g[*arr].op {
                        Op::Param(i) => self.sig.params[i as usize].ident.to_string(),
                        _ => String::new(),
                    };
                    format!("{base}[{k}]")
                }
                _ => g.names.get(&id).cloned().unwrap_or_default(),
            };
            // A call is shown by the callee's name.
            let op = match g[id].op {
                Op::Call(k) => g.calls[k as usize]
                    .path
                    .segments
                    .last()
                    .map(|s| s.ident.to_string())
                    .unwrap_or_default(),
                other => crate::ir::ops::name(other).to_string(),
            };
            let inputs: Vec<String> = g[id]
                .args
                .iter()
                .filter(|a| traced.contains(a))
                .map(|a| format!("__n{}", a.index()))
                .collect();
            let kind = if id == output {
                "Output"
            } else if matches!(g[id].op, Op::Param(_)) {
                "Param"
            } else {
                "Op"
            };
            if any && g.kind(id) == Kind::Unknown {
                let _ = write!(
                    text,
                    "let __n{} = {{ #[allow(unused_imports)] use ::autodiff::__private::{{TraceOther as _, TraceTensor as _}}; (&&::autodiff::__private::TraceAny(",
                    id.index()
                );
                e.ref_text(id, text);
                match adj_of(adj, id) {
                    Some(a) => {
                        text.push_str(", ::core::option::Option::Some(");
                        e.ref_text(a, text);
                        text.push(')');
                    }
                    None => {
                        let _ = write!(text, ", ::core::option::Option::None::<&{float}>");
                    }
                }
                let _ = write!(
                    text,
                    ")).node(&mut __trace, {name:?}, {op:?}, &[{}], ::autodiff::NodeKind::{kind}) }};",
                    inputs.join(", ")
                );
                continue;
            }
            let _ = write!(
                text,
                "let __n{} = ::autodiff::__private::trace_node(&mut __trace, {name:?}, {op:?}, &[{}], ::autodiff::NodeKind::{kind}, ",
                id.index(),
                inputs.join(", ")
            );
            e.ref_text(id, text);
            match adj_of(adj, id) {
                Some(a) => {
                    text.push_str(", ::core::option::Option::Some(");
                    e.ref_text(a, text);
                    text.push_str("));");
                }
                None => {
                    let _ = write!(text, ", ::core::option::Option::None::<&{float}>);");
                }
            }
        }
        text.push_str(names::TRACE);
        self.trace_item(code.finish())
    }

    /// `f_grad_formulas()`: each differentiated parameter's partial derivative as text.
    fn emit_formulas(&self, g: &Graph, adj: &[Option<Id>], params: &[Id]) -> TokenStream {
        let formula = Formula::new(g, self.sig);
        let pairs = self.sig.diff_params().map(|(i, p)| {
            let name = p.ident.to_string();
            let text = if p.kind == Kind::Array {
                let els = elements(g, params[i]);
                let literal = |at: &At| match at {
                    At::Literal(k) => Some(*k as usize),
                    At::Node(_) => None,
                };
                let n = els
                    .iter()
                    .filter_map(|(at, _)| literal(at))
                    .map(|k| k + 1)
                    .max()
                    .unwrap_or(0);
                let parts: Vec<String> = (0..n)
                    .map(|k| {
                        let el = els
                            .iter()
                            .find(|(at, _)| literal(at) == Some(k))
                            .map(|(_, e)| *e);
                        formula.text(el.and_then(|e| adj_of(adj, e)))
                    })
                    .collect();
                format!("[{}]", parts.join(", "))
            } else {
                formula.text(adj_of(adj, params[i]))
            };
            quote!((#name, #text))
        });
        let name = self.ident("grad_formulas");
        let vis = &self.func.vis;
        let doc = format!(
            "The partial derivatives of [`{}`] as text: `(parameter, formula)` pairs.",
            self.func.sig.ident
        );
        quote! {
            #[doc = #doc]
            #vis fn #name() -> &'static [(&'static str, &'static str)] {
                &[#(#pairs),*]
            }
        }
    }

    /// `f_hessian` with the given result type and body.
    fn hessian_item(&self, ty: TokenStream, body: TokenStream) -> TokenStream {
        let doc = format!(
            "The Hessian of [`{}`]: second derivatives with respect to its differentiated parameters.",
            self.func.sig.ident
        );
        self.extra_item("hessian", &doc, ty, body)
    }

    /// `f_<suffix>(params..) -> ty { body }`, documented, beside `f`.
    fn extra_item(
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

    /// `f_trace` with the given body.
    fn trace_item(&self, body: TokenStream) -> TokenStream {
        let float = &self.sig.float;
        let doc = format!(
            "One evaluation of [`{}`] as data: every node with its value and its gradient.",
            self.func.sig.ident
        );
        self.extra_item("trace", &doc, quote!(::autodiff::Trace<#float>), body)
    }

    fn emit_hessian(&self, g: &Graph, h: &[Vec<Option<Id>>]) -> TokenStream {
        let roots: Vec<Id> = h.iter().flatten().flatten().copied().collect();
        let mut e = Emitter::new(g, self.sig, &roots);
        let stmts = e.statements();
        let zero = e.literal(0.0, true);
        let entry = |x: &Option<Id>| x.map(|id| e.owned(id)).unwrap_or_else(|| zero.clone());
        let float = &self.sig.float;
        let k = h.len();
        let (ty, value) = if k == 1 {
            (float.clone(), entry(&h[0][0]))
        } else {
            let rows = h.iter().map(|row| {
                let cells = row.iter().map(entry);
                quote!([#(#cells),*])
            });
            (quote!([[#float; #k]; #k]), quote!([#(#rows),*]))
        };
        self.hessian_item(ty, quote!(#stmts #value))
    }

    /// The nodes a gradient needs, and a writer of the gradient expression.
    #[allow(clippy::type_complexity)]
    fn gradient<'b>(
        &'b self,
        g: &'b Graph,
        adj: &'b [Option<Id>],
        params: &'b [Id],
    ) -> (Vec<Id>, Box<dyn Fn(&Emitter) -> TokenStream + 'b>) {
        let mut roots = Vec::new();
        for (i, _) in self.sig.diff_params() {
            roots.extend(adj_of(adj, params[i]));
            for (at, e) in elements(g, params[i]) {
                if let Some(a) = adj_of(adj, e) {
                    roots.push(a);
                    if let At::Node(n) = at {
                        roots.push(n);
                    }
                }
            }
        }
        let write = move |e: &Emitter| -> TokenStream {
            let parts: Vec<TokenStream> = self
                .sig
                .diff_params()
                .map(|(i, _)| self.param_grad(e, g, adj, params, i))
                .collect();
            if parts.len() == 1 {
                parts[0].clone()
            } else {
                quote!((#(#parts),*))
            }
        };
        (roots, Box::new(write))
    }

    /// The gradient of parameter `i` as an expression.
    fn param_grad(
        &self,
        e: &Emitter,
        g: &Graph,
        adj: &[Option<Id>],
        params: &[Id],
        i: usize,
    ) -> TokenStream {
        let p = &self.sig.params[i];
        let whole = adj_of(adj, params[i]);
        let zero = e.literal(0.0, true);
        match p.kind {
            Kind::Array | Kind::Slice => {
                let x = &p.ident;
                let base = match (whole, p.kind) {
                    (Some(w), _) => e.value(w),
                    (None, Kind::Array) => {
                        let len = p.array_len.as_ref().expect("array length");
                        quote!([#zero; #len])
                    }
                    (None, _) => {
                        let r = if p.by_ref { quote!(#x) } else { quote!(&#x) };
                        quote!(::autodiff::__private::seq_zeros(#r))
                    }
                };
                let parts: Vec<TokenStream> = elements(g, params[i])
                    .into_iter()
                    .filter_map(|(at, el)| {
                        let a = adj_of(adj, el)?;
                        let v = e.value(a);
                        let at = match at {
                            At::Literal(k) => proc_macro2::Literal::usize_unsuffixed(k as usize)
                                .into_token_stream(),
                            At::Node(n) => e.operand(n),
                        };
                        Some(quote!(let __e = __g[#at]; __g[#at] = __e + #v;))
                    })
                    .collect();
                if parts.is_empty() {
                    base
                } else {
                    quote!({ let mut __g = #base; #(#parts)* __g })
                }
            }
            Kind::Tensor => match whole {
                Some(w) => e.value(w),
                None => {
                    let x = &p.ident;
                    let r = if p.by_ref { quote!(#x) } else { quote!(&#x) };
                    quote!(::autodiff::__private::zeros_like(#r))
                }
            },
            _ => match whole {
                Some(w) => e.value(w),
                None if p.leaf => {
                    let x = &p.ident;
                    quote!({
                        #[allow(unused_imports)]
                        use ::autodiff::__private::{LeafZeroConst as _, LeafZeroDiff as _};
                        (&&::autodiff::__private::LeafZero(#x)).leaf_zero()
                    })
                }
                None => zero,
            },
        }
    }

    /// `__f_pullback`: calls `vjp(params.., cotangent)` and returns one slot per parameter, the
    /// gradient for a differentiated one and a zero of its type for the others (bound first:
    /// the call consumes the parameters).
    fn pullback_item(&self, header: TokenStream, vjp: &TokenStream) -> TokenStream {
        let names = self.sig.params.iter().map(|p| &p.ident);
        let cot = if matches!(self.sig.ret_kind, Kind::Scalar | Kind::Array) {
            quote!(*__cotangent)
        } else {
            quote!(__cotangent)
        };
        let k = self.sig.diff_params().count();
        let mut j = 0;
        let mut zeros = TokenStream::new();
        let parts: Vec<TokenStream> = self
            .sig
            .params
            .iter()
            .enumerate()
            .map(|(i, p)| {
                if !p.diff {
                    let z = format_ident!("__z{}", i);
                    let slot = self.constant_slot(p);
                    zeros.extend(quote!(let #z = #slot;));
                    return quote!(#z);
                }
                let part = if k == 1 {
                    quote!(__g)
                } else {
                    let idx = syn::Index::from(j);
                    quote!(__g.#idx)
                };
                j += 1;
                part
            })
            .collect();
        quote!(#[allow(unused_variables)] #[inline] #header { #zeros let __g = #vjp(#(#names,)* #cot); (#(#parts,)*) })
    }

    /// The items for `#[differentiable(vjp = rule)]`: the body is not differentiated; every
    /// derivative comes from `rule(params.., cotangent)`.
    fn custom_rule(
        &self,
        rule: &syn::Path,
        jvp: Option<&syn::Path>,
        original: &ItemFn,
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
        let mut out = original.to_token_stream();
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
            out.extend(self.custom_forward_items(jvp));
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
        out.extend(self.custom_forward_items(jvp));
        out
    }
}

fn has_grad_type(p: &crate::parse::sig::Param) -> bool {
    p.diff
        || matches!(
            p.kind,
            Kind::Scalar | Kind::Array | Kind::Tensor | Kind::Slice
        )
}

fn adj_of(adj: &[Option<Id>], id: Id) -> Option<Id> {
    adj.get(id.index()).copied().flatten()
}

/// Where an element read of a sequence is: a literal index, or a node computing it.
#[derive(Clone, Copy, PartialEq)]
enum At {
    Literal(u32),
    Node(Id),
}

/// The element reads of a sequence parameter at the top level: `x[0]` and `x[i]`.
fn elements(g: &Graph, param: Id) -> Vec<(At, Id)> {
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

#[cfg(test)]
mod tests {
    /// Expansion time of 100 functions with a branch, calls to float methods and powers.
    /// Run with `cargo test -p autodiff-macros --release -- --ignored --nocapture expansion_time`.
    /// It also writes the same functions as a crate, `target/expansion-crate`, whose
    /// `AUTODIFF_TIMING=1 cargo check` prints each expansion's time inside the compiler.
    #[test]
    #[ignore = "a measurement, not a check"]
    fn expansion_time() {
        let methods = ["sin", "cos", "exp", "tanh", "sqrt", "ln_1p"];
        let sources: Vec<String> = (0..100)
            .map(|i| {
                let (a, b) = (methods[i % 6], methods[(i * 5 + 1) % 6]);
                format!(
                    "pub fn f{i}(x: f64, y: f64) -> f64 {{ let t = x * y + {k}*x**2; \
                     let u = (t * t + 1.0).{a}() + y.{b}() * x; \
                     if u > 0.5 {{ u * t - y**3 }} else {{ (u - t).abs() + x }} }}",
                    k = i % 7 + 1
                )
            })
            .collect();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .canonicalize()
            .unwrap();
        let dir = root.join("target/expansion-crate");
        std::fs::create_dir_all(dir.join("src")).unwrap();
        let manifest = format!(
            "[package]\nname = \"expansion-crate\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n\
             [dependencies]\nautodiff = {{ path = {:?} }}\n\n[workspace]\n\n\
             [profile.dev.build-override]\nopt-level = 3\n",
            root
        );
        std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
        let lib: String = sources
            .iter()
            .map(|src| format!("#[autodiff::differentiable]\n{src}\n"))
            .collect();
        std::fs::write(
            dir.join("src/lib.rs"),
            format!("#![allow(dead_code)]\n{lib}"),
        )
        .unwrap();
        println!("wrote {}", dir.display());
        let start = std::time::Instant::now();
        let mut tokens = 0;
        for src in &sources {
            let out = super::differentiable(proc_macro2::TokenStream::new(), src.parse().unwrap());
            tokens += out.into_iter().count();
        }
        let elapsed = start.elapsed();
        println!(
            "100 functions expanded in {:.1} ms ({:.3} ms per function, {} top-level tokens)",
            elapsed.as_secs_f64() * 1e3,
            elapsed.as_secs_f64() * 1e3 / 100.0,
            tokens
        );
    }
}
