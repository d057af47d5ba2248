//! The forward-mode items: `f_jvp`, the hidden `__f_pushforward` (what a caller's forward
//! sweep calls), `f_jacobian`, `f_hvp`, and `f_hessian` of one vector parameter.
//!
//! `f_jvp` and `__f_pushforward` are the forward sweep (`diff_forward`) over the body as
//! lowered, written by the same emitter as everything else. `f_hvp` is reverse over forward:
//! the reverse sweep of `<∇f, v>` (the tangent of the result). `f_jacobian` calls `f_jvp`
//! once per input float or `f_vjp` once per output float, whichever is fewer. `f_hessian` of
//! an array read only at constant indices is unrolled: one symbolic forward-and-reverse sweep
//! per element, all in one function, with the zeros folded away; otherwise it calls `f_hvp`
//! once per element.
//!
//! When the result and every parameter with a gradient are floats and the body calls no
//! other function, the scalar items are calls instead of sweeps written out again: `f_jvp`
//! is `f_value_and_grad` and the gradient's dot product with the tangents, and (for at most
//! four differentiated parameters) `__f_pushforward_pullback` is `(c·H t, c·∇f)` from
//! `f_hessian` and `f_grad`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, ToTokens};
use syn::Ident;

use super::ctx::{adj_of, has_grad_type, Items};
use crate::diff;
use crate::diff::forward::{self as diff_forward, zero_like};
use crate::emit::rust::Emitter;
use crate::ir::graph::{ParamInfo, ROOT};
use crate::ir::{Graph, Id, Kind, Op};
use crate::names;
use crate::parse::sig::Param;

/// The most nodes a reverse sweep over the forward sweep (`_hvp`, `__f_pushforward_pullback`)
/// may add: past it (a long chain of `if`s, whose second-order sweep grows exponentially)
/// the item says so when called rather than the expansion running out of memory.
const SECOND_ORDER_LIMIT: usize = 200_000;

impl Items<'_> {
    /// `fn name<generics>(params.., extra..) -> ty { body }`.
    fn forward_item(
        &self,
        name: Ident,
        doc: Option<&str>,
        extra: &[TokenStream],
        ty: TokenStream,
        body: TokenStream,
    ) -> TokenStream {
        let vis = &self.func.vis;
        let (generics, where_clause) = (
            &self.func.sig.generics.params,
            &self.func.sig.generics.where_clause,
        );
        let inputs = self.func.sig.inputs.iter();
        // Straight-line derivative code is as fast as the hand-written one once inlined into
        // its caller; the hint keeps rustc from declining for its length.
        let inline = if name == "jacobian" || name.to_string().ends_with("_jacobian") {
            quote!()
        } else {
            quote!(#[inline])
        };
        let doc = match doc {
            Some(d) => quote!(#[doc = #d]),
            None => quote!(#[doc(hidden)]),
        };
        quote! {
            #doc
            #[allow(unused_variables, clippy::too_many_arguments, clippy::type_complexity)]
            #inline
            #vis fn #name<#generics>(#(#inputs,)* #(#extra),*) -> #ty #where_clause {
                #body
            }
        }
    }

    /// The type of a tangent of `p`: the parameter's own type.
    fn tangent_type(p: &Param) -> TokenStream {
        p.ty.to_token_stream()
    }

    /// A body that panics with `msg` (a combination forward mode does not support).
    fn unsupported(&self, what: &str, why: &str) -> TokenStream {
        let msg = format!("`{}_{what}` is not available: {why}", self.func.sig.ident);
        quote!(::core::panic!(#msg))
    }

    /// All forward-mode items, from the body as lowered (before any sweep).
    /// The forward-mode items; `pushforward_pullback` is `pushforward_pullback_body`'s result
    /// (computed by the caller, which also decides `__f_pullback2` from it).
    pub(super) fn forward_items(
        &self,
        g0: &Graph,
        output: Id,
        params: &[Id],
        pushforward_pullback: Result<TokenStream, String>,
    ) -> TokenStream {
        let mut out = TokenStream::new();
        out.extend(self.jvp_items(g0, output, params));
        let body = pushforward_pullback.unwrap_or_else(|why| self.unsupported("hvp", &why));
        out.extend(self.pushforward_pullback_item(body));
        out.extend(self.jacobian_item());
        if self.sig.ret_kind == Kind::Scalar {
            out.extend(self.hvp_item(g0, output, params));
            out.extend(self.vector_hessian_item(g0, output, params));
        }
        out
    }

    /// The statements and `(value, tangent)` of the forward sweep seeded on `seeded`
    /// parameters, the tangent of parameter i written as `names[i]`.
    fn jvp_body(
        &self,
        g0: &Graph,
        output: Id,
        params: &[Id],
        tangents: &[Option<(TokenStream, bool)>],
    ) -> Result<TokenStream, String> {
        let mut g = g0.clone();
        let n = g.len();
        let base = g.params.len();
        let mut names: Vec<(TokenStream, bool)> = self
            .sig
            .params
            .iter()
            .map(|p| (p.ident.to_token_stream(), p.by_ref))
            .collect();
        let mut seeds = Vec::new();
        for (i, t) in tangents.iter().enumerate() {
            if let Some(name) = t {
                g.params.push(ParamInfo {
                    kind: self.sig.params[i].kind,
                    active: false,
                });
                let tp = g.param(g.params.len() - 1);
                names.push(name.clone());
                seeds.push((params[i], tp));
            }
        }
        debug_assert_eq!(names.len(), g.params.len(), "{base}");
        let tan = diff_forward::forward_upto(&mut g, &seeds, n).map_err(|list| {
            list.into_iter()
                .map(|e| e.message)
                .collect::<Vec<_>>()
                .join("; ")
        })?;
        g.current = ROOT;
        let tout = match adj_of(&tan, output) {
            Some(t) => t,
            None => zero_like(&mut g, output),
        };
        let [output, tout] = diff_forward::share_loops(&mut g, &tan, &[output, tout])[..] else {
            unreachable!("two roots in, two out")
        };
        let mut e = Emitter::with_params(&g, self.sig, &[output, tout], names, "__".to_string());
        let stmts = e.statements();
        let value = e.value(output);
        let t = e.value(tout);
        Ok(quote!(#stmts (#value, #t)))
    }

    /// When every parameter with a gradient is a float and the result is a float, `f_jvp`
    /// is the value and the gradient's dot product with the tangents: a call of
    /// `f_value_and_grad` (inlined) instead of a forward sweep emitted again. A zero tangent
    /// adds nothing, also where its partial derivative is infinite (`x**y` at x = 0 along y
    /// only). `None` otherwise.
    fn jvp_by_value_and_grad(&self) -> Option<TokenStream> {
        let k = self.sig.diff_params().count();
        if !self.float_closed() || k == 0 {
            return None;
        }
        let args = self.sig.params.iter().map(|p| &p.ident);
        let vag = self.ident("value_and_grad");
        let terms = self.sig.diff_params().enumerate().map(|(a, (_, p))| {
            let t = names::tangent(&p.ident);
            let g = if k == 1 {
                quote!(__g)
            } else {
                let a = syn::Index::from(a);
                quote!(__g.#a)
            };
            quote!(::autodiff::__private::tangent_term(#g, #t))
        });
        Some(quote! {
            let (__v, __g) = #vag(#(#args),*);
            (__v, #(#terms)+*)
        })
    }

    /// `f_jvp(params.., tangents..) -> (R, R)` and `__f_pushforward`, its form with one
    /// tangent slot per parameter for callers.
    fn jvp_items(&self, g0: &Graph, output: Id, params: &[Id]) -> TokenStream {
        let r = &self.sig.ret_ty;
        let ty = quote!((#r, #r));
        let name = self.func.sig.ident.to_string();
        let tangents: Vec<Option<(TokenStream, bool)>> = self
            .sig
            .params
            .iter()
            .map(|p| {
                p.diff
                    .then(|| (names::tangent(&p.ident).into_token_stream(), p.by_ref))
            })
            .collect();
        let body = match super::has_calls(g0) {
            false => self.jvp_by_value_and_grad().map(Ok),
            true => None,
        }
        .unwrap_or_else(|| self.jvp_body(g0, output, params, &tangents))
        .unwrap_or_else(|why| self.unsupported("jvp", &why));
        // Each tensor or sequence tangent must have its parameter's shape.
        let checks = self.sig.diff_params().filter_map(|(_, p)| {
            if !matches!(p.kind, Kind::Tensor | Kind::Slice) {
                return None;
            }
            let (x, t) = (&p.ident, names::tangent(&p.ident));
            let what = format!("the tangent `{t}` of `{name}_jvp`");
            Some(quote!(::autodiff::__private::check_same_shape(&#x, &#t, #what);))
        });
        let body = quote!(#(#checks)* #body);
        let extra = self.tangent_params();
        let doc = format!(
            "Forward mode: the value of [`{name}`] and its directional derivative along the \
             tangents (one per differentiated parameter, of the parameter's type)."
        );
        let mut out = self.forward_item(self.ident("jvp"), Some(&doc), &extra, ty.clone(), body);
        // The pushforward: every parameter with a gradient type has a tangent slot.
        let slots: Vec<TokenStream> = self
            .sig
            .params
            .iter()
            .enumerate()
            .map(|(i, p)| {
                if has_grad_type(p) {
                    let t = names::tangent_local(i);
                    let ty = Self::tangent_type(p);
                    quote!(#t: #ty)
                } else {
                    let t = names::tangent_local(i);
                    quote!(#t: ::autodiff::__private::NoGrad)
                }
            })
            .collect();
        // Its body calls `f_jvp` (inlined) rather than sweeping and emitting the body again.
        let jvp_name = self.ident("jvp");
        let args = self.sig.params.iter().map(|p| &p.ident);
        let pass = self.sig.diff_params().map(|(i, _)| names::tangent_local(i));
        let body = quote!(#jvp_name(#(#args,)* #(#pass),*));
        out.extend(self.forward_item(
            names::pushforward(&self.func.sig.ident),
            None,
            &slots,
            ty,
            body,
        ));
        out
    }

    /// The forward items of a function with a custom rule. `f_jvp` is `jvp = rule` if given;
    /// else, for a float result, the value and `Σᵢ <vjp_rule(x.., 1)ᵢ, tᵢ>` (one rule call),
    /// and for another result a panic saying to add a forward rule (`f_jacobian` then takes
    /// reverse passes only). With `second_order` (`vjp_differentiable`: `f(x)` of one float
    /// and a `#[differentiable]` rule), `__f_pushforward_pullback` and `f_hvp` come from the
    /// rule's own pullback: `∂rule/∂x (x, 1)` is f''(x).
    pub(super) fn custom_forward_items(
        &self,
        rule: &syn::Path,
        jvp: Option<&syn::Path>,
        second_order: bool,
    ) -> TokenStream {
        let r = &self.sig.ret_ty;
        let ty = quote!((#r, #r));
        let f = &self.func.sig.ident;
        let float = &self.sig.float;
        let one = quote!(::autodiff::__private::lit::<#float>(1.0));
        let rule_name = rule.to_token_stream().to_string().replace(' ', "");
        let names: Vec<&Ident> = self.sig.params.iter().map(|p| &p.ident).collect();
        let tangents: Vec<Ident> = self
            .sig
            .diff_params()
            .map(|(_, p)| names::tangent(&p.ident))
            .collect();
        let scalar = self.sig.ret_kind == Kind::Scalar;
        let body = match jvp {
            Some(fwd) => quote!(#fwd(#(#names,)* #(#tangents),*)),
            // Through `f_vjp`, which calls the rule (and is where a rule of the wrong
            // signature is reported).
            None if scalar => self.jvp_by_vjp_rule(&self.ident("vjp").into()),
            None => {
                let msg = format!(
                    "forward mode through `{f}` is not available: it has a custom `vjp` rule \
                     only and its result is not a float; add a forward rule with \
                     `#[differentiable(vjp = .., jvp = rule)]`, \
                     `rule(params.., tangents..) -> (value, tangent)`"
                );
                quote!(::core::panic!(#msg))
            }
        };
        let extra = self.tangent_params();
        let doc = format!(
            "Forward mode: the value of [`{f}`] and its directional derivative (from its custom rule)."
        );
        let mut out = self.forward_item(self.ident("jvp"), Some(&doc), &extra, ty.clone(), body);
        let slots = self.tangent_slots();
        let jvp_name = self.ident("jvp");
        let pass: Vec<Ident> = self
            .sig
            .diff_params()
            .map(|(i, _)| names::tangent_local(i))
            .collect();
        out.extend(self.forward_item(
            names::pushforward(f),
            None,
            &slots,
            ty,
            quote!(#jvp_name(#(#names,)* #(#pass),*)),
        ));
        if second_order {
            // The tangent out is f'(x)·t: its pullback is (c·t·f''(x), c·f'(x)).
            let x = &names[0];
            let t = names::tangent_local(0);
            let rule_pb = names::path_to(rule, names::pullback);
            out.extend(self.pushforward_pullback_item(quote! {
                let __c = *__cotangent;
                let __d1 = #rule(#x, #one);
                let __d2 = #rule_pb(#x, #one, &#one).0;
                (__c * #t * __d2, __c * __d1)
            }));
        } else {
            let msg = format!(
                "second derivatives through `{f}` are not available: its derivative is the \
                 first-order rule `{rule_name}`"
            );
            out.extend(self.pushforward_pullback_item(quote!(::core::panic!(#msg))));
        }
        out.extend(self.jacobian_item_by(jvp.is_none() && !scalar));
        if scalar {
            let (doc, body) = match self.hvp_by_pushforward_pullback() {
                Some(body) if second_order => (
                    format!(
                        "The Hessian of [`{f}`] times the direction `v`, from the derivative \
                         of its differentiable rule `{rule_name}`."
                    ),
                    body,
                ),
                _ => {
                    let msg = format!(
                        "`{f}_hvp` is not available: the derivative of `{f}` is the first-order \
                         rule `{rule_name}`; for second derivatives make the rule \
                         #[differentiable] and add `vjp_differentiable` (a function of one float)"
                    );
                    (
                        format!(
                            "The Hessian of [`{f}`] times a direction: not available through \
                             the first-order rule `{rule_name}` (panics)."
                        ),
                        quote!(::core::panic!(#msg)),
                    )
                }
            };
            out.extend(self.forward_item(
                self.ident("hvp"),
                Some(&doc),
                &extra,
                self.grad_type(),
                body,
            ));
        }
        out
    }

    /// `f_jvp`'s body from the `vjp` rule, for a float result: the value and the inner
    /// product of the gradient `rule(x.., 1)` with the tangents.
    fn jvp_by_vjp_rule(&self, rule: &syn::Path) -> TokenStream {
        let f = &self.func.sig.ident;
        let float = &self.sig.float;
        let rt = quote!(::autodiff::__private);
        let k = self.sig.diff_params().count();
        let first = self.sig.params.iter().map(Self::pass);
        let names = self.sig.params.iter().map(|p| &p.ident);
        let terms: Vec<TokenStream> = self
            .sig
            .diff_params()
            .enumerate()
            .map(|(a, (_, p))| {
                let g = if k == 1 {
                    quote!(__g)
                } else {
                    let a = syn::Index::from(a);
                    quote!(__g.#a)
                };
                let t = names::tangent(&p.ident);
                let t_ref = if p.by_ref { quote!(#t) } else { quote!(&#t) };
                // Arrays, sequences and tensors (a rule takes no struct parameter).
                match p.kind {
                    Kind::Scalar if p.by_ref => quote!(#g * *#t),
                    Kind::Scalar => quote!(#g * #t),
                    _ => quote!(#rt::tangent_dot(&#g, #t_ref)),
                }
            })
            .collect();
        let tangent = if terms.is_empty() {
            quote!(#rt::lit::<#float>(0.0))
        } else {
            quote!(#(#terms)+*)
        };
        quote! {
            let __v = #f(#(#first),*);
            let __g = #rule(#(#names,)* #rt::lit::<#float>(1.0));
            (__v, #tangent)
        }
    }

    /// The tangent parameters of the public forward items: `t_w: W` per differentiated `w`.
    fn tangent_params(&self) -> Vec<TokenStream> {
        self.sig
            .diff_params()
            .map(|(_, p)| {
                let t = names::tangent(&p.ident);
                let ty = Self::tangent_type(p);
                quote!(#t: #ty)
            })
            .collect()
    }

    /// The tangent slots of the hidden forward items: one per parameter, `NoGrad` for a type
    /// without gradients.
    fn tangent_slots(&self) -> Vec<TokenStream> {
        self.sig
            .params
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let t = names::tangent_local(i);
                if has_grad_type(p) {
                    let ty = Self::tangent_type(p);
                    quote!(#t: #ty)
                } else {
                    quote!(#t: ::autodiff::__private::NoGrad)
                }
            })
            .collect()
    }

    /// `__f_pushforward_pullback(params.., tangent slots.., cotangent: &R) -> (slots.., slots..)`:
    /// the vjp of the pushforward's tangent, for callers' Hessian-vector products (their
    /// reverse sweep over their own forward sweep goes through this function's).
    fn pushforward_pullback_item(&self, body: TokenStream) -> TokenStream {
        let slots = self.pullback_slots();
        let tangents = self.tangent_slots();
        let r = &self.sig.ret_ty;
        let cot = if self.sig.ret_kind == Kind::Slice {
            let float = &self.sig.float;
            quote!(__cotangent: &[#float])
        } else {
            quote!(__cotangent: &#r)
        };
        let mut extra = tangents;
        extra.push(cot);
        let name = names::pushforward_pullback(&self.func.sig.ident);
        self.forward_item(name, None, &extra, quote!((#(#slots,)* #(#slots,)*)), body)
    }

    pub(super) fn pushforward_pullback_body(
        &self,
        g0: &Graph,
        output: Id,
        params: &[Id],
    ) -> Result<TokenStream, String> {
        if !matches!(self.sig.ret_kind, Kind::Scalar | Kind::Tensor) {
            return Err("its result is not a float or a tensor".to_string());
        }
        let mut g = g0.clone();
        let n = g.len();
        let mut names: Vec<(TokenStream, bool)> = self
            .sig
            .params
            .iter()
            .map(|p| (p.ident.to_token_stream(), p.by_ref))
            .collect();
        let mut seeds = Vec::new();
        let mut tparams: Vec<Option<Id>> = vec![None; params.len()];
        for (i, p) in self.sig.diff_params() {
            g.params.push(ParamInfo {
                kind: p.kind,
                active: true,
            });
            let tp = g.param(g.params.len() - 1);
            names.push((names::tangent_local(i).into_token_stream(), p.by_ref));
            seeds.push((params[i], tp));
            tparams[i] = Some(tp);
        }
        let join = |list: Vec<crate::diff::SweepError>| {
            list.into_iter()
                .map(|e| e.message)
                .collect::<Vec<_>>()
                .join("; ")
        };
        let tan = diff_forward::forward_upto(&mut g, &seeds, n).map_err(join)?;
        g.current = ROOT;
        let cot = g.add_raw(Op::Cotangent, vec![]);
        let adj = match adj_of(&tan, output) {
            Some(t) => {
                diff::reverse_within(&mut g, &[(t, cot)], SECOND_ORDER_LIMIT).map_err(join)?
            }
            None => vec![None; g.len()],
        };
        g.current = ROOT;
        // The adjoints of the parameters, then of the tangents (as if they were parameters).
        let mut roots = Vec::new();
        let (proots, _) = self.gradient(&g, &adj, params);
        roots.extend(proots);
        let mut as_params: Vec<Vec<Id>> = Vec::new();
        for (i, _) in self.sig.diff_params() {
            let mut ps = params.to_vec();
            ps[i] = tparams[i].expect("a tangent per differentiated parameter");
            let (r, _) = self.gradient(&g, &adj, &ps);
            roots.extend(r);
            as_params.push(ps);
        }
        let mut e = Emitter::with_params(&g, self.sig, &roots, names, "__".to_string());
        let stmts = e.statements();
        let mut parts = Vec::new();
        for (i, p) in self.sig.params.iter().enumerate() {
            parts.push(if p.diff {
                self.param_grad(&e, &g, &adj, params, i)
            } else {
                self.constant_slot(p)
            });
        }
        let mut a = 0;
        for (i, p) in self.sig.params.iter().enumerate() {
            parts.push(if p.diff {
                let part = self.param_grad(&e, &g, &adj, &as_params[a], i);
                a += 1;
                part
            } else {
                self.constant_slot(p)
            });
        }
        let deref = if self.sig.ret_kind == Kind::Scalar {
            quote!(let __cotangent = *__cotangent;)
        } else {
            quote!()
        };
        Ok(quote!(#deref #stmts (#(#parts,)*)))
    }

    /// A parameter passed on to another generated item: by reference, copied (floats,
    /// integers, booleans) or cloned.
    pub(super) fn pass(p: &Param) -> TokenStream {
        let x = &p.ident;
        if p.by_ref || matches!(p.kind, Kind::Scalar | Kind::Int | Kind::Bool) {
            quote!(#x)
        } else {
            quote!(::core::clone::Clone::clone(&#x))
        }
    }

    /// The tangent of parameter `q` for a pass along element `j` of parameter `i`.
    fn direction(&self, q: &Param, seeded: bool, j: &TokenStream) -> TokenStream {
        let float = &self.sig.float;
        let x = &q.ident;
        let rt = quote!(::autodiff::__private);
        let d = match (q.kind, seeded) {
            (Kind::Scalar, true) => quote!(#rt::lit::<#float>(1.0)),
            (Kind::Scalar, false) => quote!(#rt::lit::<#float>(0.0)),
            (_, true) => quote!(#rt::basis(&#x, #j)),
            (_, false) => quote!(#rt::basis_zero(&#x)),
        };
        if q.by_ref {
            quote!(&#d)
        } else {
            d
        }
    }

    /// J: the gradient for a float result; else one block per differentiated parameter.
    fn jacobian_type(&self) -> TokenStream {
        if self.sig.ret_kind == Kind::Scalar {
            return self.grad_type();
        }
        let float = &self.sig.float;
        let ret_len = self.sig.ret_len.as_ref();
        let tys: Vec<TokenStream> = self
            .sig
            .diff_params()
            .map(
                |(_, p)| match (self.sig.ret_kind, p.kind, ret_len, &p.array_len) {
                    (Kind::Array, Kind::Scalar, Some(m), _) => quote!([#float; #m]),
                    (Kind::Array, Kind::Array, Some(m), Some(n)) => quote!([[#float; #n]; #m]),
                    _ => quote!(::autodiff::Tensor<#float>),
                },
            )
            .collect();
        if tys.len() == 1 {
            tys[0].clone()
        } else {
            quote!((#(#tys),*))
        }
    }

    /// Stubs of the forward-mode items for a failed expansion.
    pub(super) fn forward_stubs(&self, stub: &TokenStream) -> TokenStream {
        let r = &self.sig.ret_ty;
        let tangents = self.tangent_params();
        let mut out = self.forward_item(
            self.ident("jvp"),
            None,
            &tangents,
            quote!((#r, #r)),
            stub.clone(),
        );
        out.extend(self.forward_item(
            self.ident("jacobian"),
            None,
            &[],
            self.jacobian_type(),
            stub.clone(),
        ));
        if self.sig.ret_kind == Kind::Scalar {
            out.extend(self.forward_item(
                self.ident("hvp"),
                None,
                &tangents,
                self.grad_type(),
                stub.clone(),
            ));
            let diff: Vec<&Param> = self.sig.diff_params().map(|(_, p)| p).collect();
            let float = &self.sig.float;
            let ty = match diff[..] {
                [p] => match (p.kind, &p.array_len) {
                    (Kind::Array, Some(n)) => Some(quote!([[#float; #n]; #n])),
                    (Kind::Slice, _) => Some(quote!(::std::vec::Vec<::std::vec::Vec<#float>>)),
                    (Kind::Tensor, _) => Some(quote!(::autodiff::Tensor<#float>)),
                    _ => None,
                },
                _ => None,
            };
            if let Some(ty) = ty {
                out.extend(self.hessian_item(ty, stub.clone()));
            }
        }
        out
    }

    /// `f_jacobian(params..) -> J`.
    fn jacobian_item(&self) -> TokenStream {
        self.jacobian_item_by(false)
    }

    /// `f_jacobian`; `reverse_only`: by `f_vjp` passes whatever the sizes (`f_jvp` is not
    /// available).
    fn jacobian_item_by(&self, reverse_only: bool) -> TokenStream {
        let float = &self.sig.float;
        let rt = quote!(::autodiff::__private);
        let name = self.func.sig.ident.to_string();
        let passes = if reverse_only {
            "from one reverse pass per output float (its custom rule has no forward form)"
        } else {
            "from one forward pass per input float or one reverse pass per output float, \
             whichever is fewer"
        };
        let doc = format!(
            "Every partial derivative of [`{name}`]: for each differentiated parameter, the \
             block of shape `shape(result) ++ shape(parameter)` (JAX's `jacobian` layout), \
             {passes}."
        );
        let diff: Vec<(usize, &Param)> = self.sig.diff_params().collect();
        let k = diff.len();
        if self.sig.ret_kind == Kind::Scalar {
            let g = self.grad_type();
            let grad = self.ident("grad");
            let args = self.sig.params.iter().map(Self::pass);
            return self.forward_item(
                self.ident("jacobian"),
                Some(&doc),
                &[],
                g,
                quote!(#grad(#(#args),*)),
            );
        }
        let ty = self.jacobian_type();
        let f = &self.func.sig.ident;
        let jvp = self.ident("jvp");
        let vjp = self.ident("vjp");
        let args: Vec<TokenStream> = self.sig.params.iter().map(Self::pass).collect();
        let len_of = |p: &Param| -> TokenStream {
            let x = &p.ident;
            if p.kind == Kind::Scalar {
                quote!(1usize)
            } else {
                quote!(#rt::flat_len(&#x))
            }
        };
        let lens: Vec<TokenStream> = diff.iter().map(|(_, p)| len_of(p)).collect();
        // Forward passes: columns of each block.
        let mut fwd = TokenStream::new();
        for (a, &(i, p)) in diff.iter().enumerate() {
            let cols = format_ident!("__c{}", a);
            let n = &lens[a];
            let j = quote!(__j);
            let tangents = diff.iter().map(|&(q, qp)| self.direction(qp, q == i, &j));
            let _ = p;
            fwd.extend(quote! {
                let mut #cols: ::std::vec::Vec<::std::vec::Vec<#float>> = ::std::vec::Vec::new();
                for __j in 0..#n {
                    let (_, __t) = #jvp(#(#args,)* #(#tangents),*);
                    #cols.push(#rt::flat_values(&__t));
                }
            });
        }
        // Reverse passes: rows of each block.
        let cot = match self.sig.ret_kind {
            Kind::Array => quote!(#rt::basis(&__value, __o)),
            _ => quote!(&#rt::basis(&__value, __o)),
        };
        let mut rev_init = TokenStream::new();
        let mut rev_push = TokenStream::new();
        for (a, (_, p)) in diff.iter().enumerate() {
            let rows = format_ident!("__r{}", a);
            rev_init.extend(quote!(let mut #rows: ::std::vec::Vec<::std::vec::Vec<#float>> = ::std::vec::Vec::with_capacity(__n_out);));
            let part = if k == 1 {
                quote!(__g)
            } else {
                let idx = syn::Index::from(a);
                quote!(__g.#idx)
            };
            let flat = if p.kind == Kind::Scalar {
                quote!(::std::vec![#part])
            } else {
                quote!(#rt::flat_values(&#part))
            };
            rev_push.extend(quote!(#rows.push(#flat);));
        }
        let from_cols = self.jacobian_blocks(&diff, true);
        let from_rows = self.jacobian_blocks(&diff, false);
        let reverse = quote! {
            #rev_init
            for __o in 0..__n_out {
                let __g = #vjp(#(#args,)* #cot);
                #rev_push
            }
            #from_rows
        };
        let body = if reverse_only {
            quote! {
                let __value = #f(#(#args),*);
                let __out_shape: ::std::vec::Vec<usize> = #rt::flat_shape(&__value);
                let __n_out: usize = #rt::flat_len(&__value);
                #reverse
            }
        } else {
            quote! {
                let __value = #f(#(#args),*);
                let __out_shape: ::std::vec::Vec<usize> = #rt::flat_shape(&__value);
                let __n_out: usize = #rt::flat_len(&__value);
                let __n_in: usize = 0 #(+ #lens)*;
                if __n_in <= __n_out {
                    #fwd
                    #from_cols
                } else {
                    #reverse
                }
            }
        };
        self.forward_item(self.ident("jacobian"), Some(&doc), &[], ty, body)
    }

    /// Each block of the Jacobian from the columns (`__c{a}`, forward passes) or the rows
    /// (`__r{a}`, reverse passes) of differentiated parameter `a`; a tuple of them for more
    /// than one.
    fn jacobian_blocks(&self, diff: &[(usize, &Param)], from_cols: bool) -> TokenStream {
        let rt = quote!(::autodiff::__private);
        let k = diff.len();
        let shape_of = |p: &Param| -> TokenStream {
            let x = &p.ident;
            if p.kind == Kind::Scalar {
                quote!(::std::vec::Vec::<usize>::new())
            } else {
                quote!(#rt::flat_shape(&#x))
            }
        };
        let blocks: Vec<TokenStream> = diff
            .iter()
            .enumerate()
            .map(|(a, (_, p))| {
                let src = if from_cols {
                    format_ident!("__c{}", a)
                } else {
                    format_ident!("__r{}", a)
                };
                // Entry (o, j) of the block.
                let at = |o: TokenStream, j: TokenStream| {
                    if from_cols {
                        quote!(#src[#j][#o])
                    } else {
                        quote!(#src[#o][#j])
                    }
                };
                match (self.sig.ret_kind, p.kind) {
                    (Kind::Array, Kind::Scalar) => {
                        let e = at(quote!(__o), quote!(0));
                        quote!(::core::array::from_fn(|__o| #e))
                    }
                    (Kind::Array, Kind::Array) => {
                        let e = at(quote!(__o), quote!(__j));
                        quote!(::core::array::from_fn(|__o| ::core::array::from_fn(|__j| #e)))
                    }
                    _ => {
                        let shape = shape_of(p);
                        if from_cols {
                            quote!(#rt::jac_from_columns(#src, &__out_shape, &#shape))
                        } else {
                            quote!(#rt::jac_from_rows(#src, &__out_shape, &#shape))
                        }
                    }
                }
            })
            .collect();
        if k == 1 {
            blocks[0].clone()
        } else {
            quote!((#(#blocks),*))
        }
    }

    /// `f_hvp(params.., v..) -> G`: the gradient of `<∇f, v>`, the reverse sweep of the
    /// forward sweep's tangent.
    fn hvp_item(&self, g0: &Graph, output: Id, params: &[Id]) -> TokenStream {
        let name = self.func.sig.ident.to_string();
        let doc = format!(
            "The Hessian of [`{name}`] times the direction `v` (one per differentiated \
             parameter, of its type), at the cost of a few gradients (reverse over forward)."
        );
        let extra = self.tangent_params();
        let ty = self.grad_type();
        let body = match self.hvp_by_pushforward_pullback() {
            Some(body) => body,
            None => self
                .hvp_body(g0, output, params)
                .unwrap_or_else(|why| self.unsupported("hvp", &why)),
        };
        self.forward_item(self.ident("hvp"), Some(&doc), &extra, ty, body)
    }

    /// When every parameter with a gradient is a float: `f_hvp` is `__f_pushforward_pullback`
    /// with the cotangent 1 (the gradient of `<grad f, v>`), whose other half (the gradient)
    /// is dead code once inlined. This saves a third forward-and-reverse sweep and its
    /// emission per function. With arrays or tensors the extra half would allocate, so those
    /// keep their own body (`hvp_body`).
    fn hvp_by_pushforward_pullback(&self) -> Option<TokenStream> {
        if !self.float_closed() {
            return None;
        }
        let float = &self.sig.float;
        let args = self.sig.params.iter().map(|p| &p.ident);
        let tangents = self.sig.params.iter().map(|p| {
            if p.diff {
                names::tangent(&p.ident).into_token_stream()
            } else if has_grad_type(p) {
                self.constant_slot(p)
            } else {
                quote!(::autodiff::__private::NoGrad)
            }
        });
        let pp = names::pushforward_pullback(&self.func.sig.ident);
        let parts: Vec<TokenStream> = self
            .sig
            .diff_params()
            .map(|(i, _)| {
                let i = syn::Index::from(i);
                quote!(__h.#i)
            })
            .collect();
        let value = match &parts[..] {
            [one] => one.clone(),
            _ => quote!((#(#parts),*)),
        };
        Some(quote! {
            let __h = #pp(#(#args,)* #(#tangents,)* &::autodiff::__private::lit::<#float>(1.0));
            #value
        })
    }

    fn hvp_body(&self, g0: &Graph, output: Id, params: &[Id]) -> Result<TokenStream, String> {
        let mut g = g0.clone();
        let n = g.len();
        let mut names: Vec<(TokenStream, bool)> = self
            .sig
            .params
            .iter()
            .map(|p| (p.ident.to_token_stream(), p.by_ref))
            .collect();
        let mut seeds = Vec::new();
        for (i, p) in self.sig.diff_params() {
            g.params.push(ParamInfo {
                kind: p.kind,
                active: false,
            });
            let tp = g.param(g.params.len() - 1);
            names.push((names::tangent(&p.ident).into_token_stream(), p.by_ref));
            seeds.push((params[i], tp));
        }
        let join = |list: Vec<crate::diff::SweepError>| {
            list.into_iter()
                .map(|e| e.message)
                .collect::<Vec<_>>()
                .join("; ")
        };
        let tan = diff_forward::forward_upto(&mut g, &seeds, n).map_err(join)?;
        g.current = ROOT;
        let adj = match adj_of(&tan, output) {
            Some(t) => {
                let one = g.constant(1.0);
                diff::reverse_within(&mut g, &[(t, one)], SECOND_ORDER_LIMIT).map_err(join)?
            }
            None => vec![None; g.len()],
        };
        g.current = ROOT;
        let (roots, grad) = self.gradient(&g, &adj, params);
        let mut e = Emitter::with_params(&g, self.sig, &roots, names, "__".to_string());
        let stmts = e.statements();
        let value = grad(&e);
        Ok(quote!(#stmts #value))
    }

    /// `f_hessian` for one `[T; N]`, `&[T]`, `Vec<T>` or `Tensor<T>` parameter.
    fn vector_hessian_item(&self, g0: &Graph, output: Id, params: &[Id]) -> Option<TokenStream> {
        let diff: Vec<(usize, &Param)> = self.sig.diff_params().collect();
        let [(i, p)] = diff[..] else { return None };
        if p.kind == Kind::Scalar {
            return None;
        }
        let float = &self.sig.float;
        let rt = quote!(::autodiff::__private);
        if let Some(tokens) = self.unrolled_hessian(g0, output, params, i, p) {
            return Some(tokens);
        }
        let x = &p.ident;
        let hvp = self.ident("hvp");
        let args: Vec<TokenStream> = self.sig.params.iter().map(Self::pass).collect();
        let dir = self.direction(p, true, &quote!(__j));
        let columns = quote! {
            let __n = #rt::flat_len(&#x);
            let mut __cols: ::std::vec::Vec<::std::vec::Vec<#float>> = ::std::vec::Vec::with_capacity(__n);
            for __j in 0..__n {
                let __h = #hvp(#(#args,)* #dir);
                __cols.push(#rt::flat_values(&__h));
            }
        };
        let (ty, value) = match p.kind {
            Kind::Array => {
                let n = p.array_len.as_ref().expect("array length");
                (
                    quote!([[#float; #n]; #n]),
                    quote!(::core::array::from_fn(|__a| ::core::array::from_fn(
                        |__b| __cols[__b][__a]
                    ))),
                )
            }
            Kind::Slice => (
                quote!(::std::vec::Vec<::std::vec::Vec<#float>>),
                quote!((0..__n)
                    .map(|__a| (0..__n).map(|__b| __cols[__b][__a]).collect())
                    .collect()),
            ),
            _ => (
                quote!(::autodiff::Tensor<#float>),
                quote!({
                    let __shape = #rt::flat_shape(&#x);
                    #rt::jac_from_columns(__cols, &__shape, &__shape)
                }),
            ),
        };
        Some(self.hessian_item(ty, quote!(#columns #value)))
    }

    /// The Hessian of an array read only as `x[k]` with literal `k` (and `N` a literal):
    /// element j's column is the reverse sweep of the tangent along element j, all columns
    /// in one function.
    fn unrolled_hessian(
        &self,
        g0: &Graph,
        output: Id,
        params: &[Id],
        i: usize,
        p: &Param,
    ) -> Option<TokenStream> {
        if p.kind != Kind::Array {
            return None;
        }
        let n: usize = match p.array_len.as_ref()? {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(l),
                ..
            }) => l.base10_parse().ok()?,
            _ => return None,
        };
        if n > 16 {
            return None;
        }
        let x = params[i];
        let mut elements: Vec<Option<Id>> = vec![None; n];
        for id in g0.ids() {
            if !g0[id].args.contains(&x) {
                continue;
            }
            match g0[id].op {
                Op::Index(k) if g0.block_of(id) == ROOT && (k as usize) < n => {
                    elements[k as usize] = Some(id)
                }
                _ => return None,
            }
        }
        let mut g = g0.clone();
        let len = g.len();
        let mut h = vec![vec![None; n]; n];
        for j in 0..n {
            let Some(ej) = elements[j] else { continue };
            g.current = ROOT;
            let one = g.constant(1.0);
            let tan = diff_forward::forward_upto(&mut g, &[(ej, one)], len).ok()?;
            let Some(t) = adj_of(&tan, output) else {
                continue;
            };
            g.current = ROOT;
            let adj = diff::reverse(&mut g, t, one).ok()?;
            for (k, ek) in elements.iter().enumerate() {
                h[k][j] = ek.and_then(|e| adj_of(&adj, e));
            }
        }
        let roots: Vec<Id> = h.iter().flatten().flatten().copied().collect();
        let mut e = Emitter::new(&g, self.sig, &roots);
        let stmts = e.statements();
        let zero = e.literal(0.0, true);
        let rows = h.iter().map(|row| {
            let cells = row
                .iter()
                .map(|c| c.map(|id| e.owned(id)).unwrap_or_else(|| zero.clone()));
            quote!([#(#cells),*])
        });
        let float = &self.sig.float;
        let len_tokens = p.array_len.as_ref()?;
        Some(self.hessian_item(
            quote!([[#float; #len_tokens]; #len_tokens]),
            quote!(#stmts [#(#rows),*]),
        ))
    }
}
