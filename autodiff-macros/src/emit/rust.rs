//! Graph → Rust statements.
//!
//! Each needed node becomes one `let __tN = ...;` in id order (so operands come first);
//! parameters and constants are written in place. Nodes of an `if` arm are written inside
//! that arm, and the arm's `Phi`s become the values of one `let (..) = if c { .. } else { .. };`.
//! Scalar arithmetic is written with operators and float methods; anything that may be a
//! tensor goes through `::autodiff::__private`, whose traits work for every value type.

use std::collections::HashSet;

use proc_macro2::{Literal, TokenStream, TokenTree};
use quote::{format_ident, quote, ToTokens};

use crate::ir::graph::ROOT;
use crate::ir::ops::{self, Style};
use crate::ir::{BlockId, Graph, Id, Kind, Op};
use crate::parse::sig::Sig;

pub(crate) struct Emitter<'a> {
    g: &'a Graph,
    sig: &'a Sig,
    needed: Vec<bool>,
    /// Nodes written in place at the end (a result used nowhere else) instead of in a `let`.
    inline: HashSet<Id>,
    done_branches: HashSet<u32>,
    /// Final values already moved out (a second use clones).
    moved: std::cell::RefCell<HashSet<Id>>,
}

impl<'a> Emitter<'a> {
    /// Prepares to write the nodes that `roots` depend on.
    pub fn new(g: &'a Graph, sig: &'a Sig, roots: &[Id]) -> Emitter<'a> {
        let mut needed = vec![false; g.len()];
        let mut stack: Vec<Id> = roots.to_vec();
        while let Some(id) = stack.pop() {
            if std::mem::replace(&mut needed[id.index()], true) {
                continue;
            }
            stack.extend(g[id].args.iter().copied());
            if let Op::Phi(b) = g[id].op {
                stack.push(g.branches[b as usize].cond);
            }
        }
        Emitter {
            g,
            sig,
            needed,
            inline: HashSet::new(),
            done_branches: HashSet::new(),
            moved: Default::default(),
        }
    }

    /// Writes `id` in place as the final expression if nothing else uses it; call before
    /// `statements`.
    pub fn tail(&mut self, id: Id) {
        let leaf = matches!(
            self.g[id].op,
            Op::Param(_) | Op::Const(_) | Op::Cotangent | Op::Phi(_)
        );
        let used = self
            .g
            .ids()
            .any(|u| self.needed[u.index()] && self.g[u].args.contains(&id))
            || self.g.branches.iter().any(|b| b.cond == id);
        if !leaf && !used && self.g.block_of(id) == ROOT && self.g.kind(id) == Kind::Scalar {
            self.inline.insert(id);
        }
    }

    /// The final value of `id`: its expression if written in place, else its name.
    pub fn value(&self, id: Id) -> TokenStream {
        if self.inline.contains(&id) {
            return self.expr(id);
        }
        let named = !matches!(self.g[id].op, Op::Param(_) | Op::Const(_) | Op::Cotangent);
        if named && self.moved.borrow_mut().insert(id) {
            self.operand(id)
        } else {
            self.owned(id)
        }
    }

    /// The statements computing every needed node of the body.
    pub fn statements(&mut self) -> TokenStream {
        self.block(ROOT)
    }

    fn block(&mut self, block: BlockId) -> TokenStream {
        let mut out = TokenStream::new();
        for id in self.g.ids() {
            if !self.needed[id.index()] || self.g.block_of(id) != block || self.inline.contains(&id)
            {
                continue;
            }
            let node = &self.g[id];
            match node.op {
                Op::Param(_) | Op::Const(_) | Op::Cotangent => {}
                Op::Phi(b) => {
                    if self.done_branches.insert(b) {
                        out.extend(self.branch(b));
                    }
                }
                _ => {
                    let name = self.name(id);
                    let expr = self.expr(id);
                    out.extend(quote!(let #name = #expr;));
                }
            }
        }
        out
    }

    /// `let (__tA, __tB) = if c { ..; (a1, b1) } else { ..; (a2, b2) };` for every needed Phi
    /// of branch `b`.
    fn branch(&mut self, b: u32) -> TokenStream {
        let phis: Vec<Id> = self
            .g
            .ids()
            .filter(|&id| self.needed[id.index()] && self.g[id].op == Op::Phi(b))
            .collect();
        let br = self.g.branches[b as usize].clone();
        let cond = self.operand(br.cond);
        let then_body = self.block(br.then_block);
        let else_body = self.block(br.else_block);
        let arm_values = |this: &Self, arm: usize, block: BlockId| -> Vec<TokenStream> {
            let mut seen = HashSet::new();
            phis.iter()
                .map(|&p| {
                    let v = this.g[p].args[arm];
                    let moved = this.g.block_of(v) == block && seen.insert(v);
                    if moved {
                        this.operand(v)
                    } else {
                        this.owned(v)
                    }
                })
                .collect()
        };
        let tv = arm_values(self, 0, br.then_block);
        let ev = arm_values(self, 1, br.else_block);
        let names: Vec<TokenStream> = phis.iter().map(|&p| self.name(p)).collect();
        if phis.len() == 1 {
            let (n, t, e) = (&names[0], &tv[0], &ev[0]);
            quote!(let #n = if #cond { #then_body #t } else { #else_body #e };)
        } else {
            quote!(let (#(#names),*) = if #cond { #then_body (#(#tv),*) } else { #else_body (#(#ev),*) };)
        }
    }

    fn name(&self, id: Id) -> TokenStream {
        format_ident!("__t{}", id.index()).into_token_stream()
    }

    /// A node as an operand, by value: a name, a parameter or a literal.
    pub fn operand(&self, id: Id) -> TokenStream {
        match self.g[id].op {
            Op::Param(i) => self.sig.params[i as usize].ident.to_token_stream(),
            Op::Const(bits) => self.literal(f64::from_bits(bits), false),
            Op::Cotangent => quote!(cotangent),
            _ => self.name(id),
        }
    }

    /// Whether the node's value is already a reference (`&Tensor` parameter, cotangent).
    fn is_ref(&self, id: Id) -> bool {
        match self.g[id].op {
            Op::Param(i) => self.sig.params[i as usize].by_ref,
            Op::Cotangent => self.sig.ret_kind == Kind::Tensor,
            _ => false,
        }
    }

    /// A node borrowed, for runtime calls outside the computation.
    pub fn reference(&self, id: Id) -> TokenStream {
        self.by_ref(id)
    }

    /// A node as a borrowed operand.
    fn by_ref(&self, id: Id) -> TokenStream {
        if let Op::Const(bits) = self.g[id].op {
            let lit = self.literal(f64::from_bits(bits), true);
            return quote!(&#lit);
        }
        let v = self.operand(id);
        if self.is_ref(id) {
            v
        } else {
            quote!(&#v)
        }
    }

    /// A node as an owned value: scalars are copied, anything else cloned.
    pub fn owned(&self, id: Id) -> TokenStream {
        let v = self.operand(id);
        if self.g.kind(id) == Kind::Scalar && !self.is_ref(id) {
            return v;
        }
        let r = self.by_ref(id);
        quote!(::core::clone::Clone::clone(#r))
    }

    /// A float literal of the function's float type. `typed`: with a suffix, for positions
    /// where inference has nothing else to go on.
    pub fn literal(&self, v: f64, typed: bool) -> TokenStream {
        let float = &self.sig.float;
        if let Some((negative, name)) = named_constant(v)
            .map(|n| (false, n))
            .or_else(|| named_constant(-v).map(|n| (true, n)))
        {
            let name = format_ident!("{}", name);
            let c = if self.sig.generic_float {
                quote!(::autodiff::__private::lit::<#float>(::core::f64::consts::#name))
            } else {
                quote!(::core::#float::consts::#name)
            };
            return if negative { quote!((-#c)) } else { c };
        }
        if self.sig.generic_float {
            let lit = f64_literal(v);
            return quote!(::autodiff::__private::lit::<#float>(#lit));
        }
        let is_f32 = float.to_string() == "f32";
        if !v.is_finite() {
            let c = if v.is_nan() {
                quote!(NAN)
            } else if v > 0.0 {
                quote!(INFINITY)
            } else {
                quote!(NEG_INFINITY)
            };
            return quote!(#float::#c);
        }
        let lit = match (typed, is_f32) {
            (true, true) => Literal::f32_suffixed(v as f32),
            (true, false) => Literal::f64_suffixed(v),
            (false, true) => Literal::f32_unsuffixed(v as f32),
            (false, false) => Literal::f64_unsuffixed(v),
        };
        if v < 0.0 {
            // A negative literal is two tokens; keep it one operand.
            let pos = match (typed, is_f32) {
                (true, true) => Literal::f32_suffixed(-v as f32),
                (true, false) => Literal::f64_suffixed(-v),
                (false, true) => Literal::f32_unsuffixed(-v as f32),
                (false, false) => Literal::f64_unsuffixed(-v),
            };
            return quote!((-#pos));
        }
        lit.into_token_stream()
    }

    /// Whether a node and its float operands are all plain scalars.
    fn scalar(&self, id: Id) -> bool {
        self.g.kind(id) == Kind::Scalar
            && self.g[id]
                .args
                .iter()
                .all(|&a| self.g.kind(a) == Kind::Scalar)
    }

    /// The expression computing one node.
    fn expr(&self, id: Id) -> TokenStream {
        let node = &self.g[id];
        let args = &node.args;
        let op = node.op;
        let name = format_ident!("{}", ops::name(op));
        let rt = quote!(::autodiff::__private);
        let refs: Vec<TokenStream> = args.iter().map(|&a| self.by_ref(a)).collect();
        let vals: Vec<TokenStream> = args.iter().map(|&a| self.operand(a)).collect();
        match ops::style(op) {
            Style::Infix(sym) => {
                let sym: TokenStream = sym.parse().expect("operator token");
                let (a, b) = (&vals[0], &vals[1]);
                let boolean = self.g.kind(id) == Kind::Bool;
                if self.scalar(id) || boolean {
                    quote!(#a #sym #b)
                } else {
                    let (a, b) = (&refs[0], &refs[1]);
                    quote!(#rt::#name(#a, #b))
                }
            }
            Style::Prefix(sym) => {
                let sym: TokenStream = sym.parse().expect("operator token");
                let a = &vals[0];
                if self.scalar(id) || op == Op::Not {
                    quote!(#sym #a)
                } else {
                    let a = &refs[0];
                    quote!(#rt::#name(#a))
                }
            }
            Style::FloatMethod => {
                if self.scalar(id) {
                    // A literal receiver needs its type written: `0.5f64.powf(y)`.
                    let recv = match self.g[args[0]].op {
                        Op::Const(bits) => self.literal(f64::from_bits(bits), true),
                        _ => vals[0].clone(),
                    };
                    let rest = &vals[1..];
                    quote!(#recv.#name(#(#rest),*))
                } else {
                    quote!(#rt::#name(#(#refs),*))
                }
            }
            Style::Runtime => quote!(#rt::#name(#(#refs),*)),
            Style::Special => self.special(id),
        }
    }

    fn special(&self, id: Id) -> TokenStream {
        let node = &self.g[id];
        let rt = quote!(::autodiff::__private);
        let refs: Vec<TokenStream> = node.args.iter().map(|&a| self.by_ref(a)).collect();
        match node.op {
            Op::Param(_) | Op::Const(_) | Op::Cotangent => self.operand(id),
            Op::Opaque(k) => {
                let o = &self.g.opaques[k as usize];
                self.fill(o.tokens.clone(), &node.args)
            }
            Op::Reshape(k) => {
                let o = &self.g.opaques[k as usize];
                let shape = self.fill(o.tokens.clone(), &node.args[1..]);
                let x = &refs[0];
                quote!(#rt::reshape(#x, #shape))
            }
            Op::Index(k) => {
                let arr = self.operand(node.args[0]);
                let k = Literal::usize_unsuffixed(k as usize);
                quote!(#arr[#k])
            }
            Op::Powi(n) => {
                if self.scalar(id) {
                    let x = match self.g[node.args[0]].op {
                        Op::Const(bits) => self.literal(f64::from_bits(bits), true),
                        _ => self.operand(node.args[0]),
                    };
                    let n = Literal::i32_unsuffixed(n);
                    quote!(#x.powi(#n))
                } else {
                    let x = &refs[0];
                    let n = Literal::i32_unsuffixed(n);
                    quote!(#rt::powi(#x, #n))
                }
            }
            Op::SumAxis(k) | Op::MeanAxis(k) | Op::UnsumAxis(k) | Op::UnmeanAxis(k) => {
                let name = format_ident!("{}", ops::name(node.op));
                let k = Literal::usize_unsuffixed(k as usize);
                quote!(#rt::#name(#(#refs,)* #k))
            }
            Op::Call(k) => {
                let site = &self.g.calls[k as usize];
                let path = &site.path;
                let args = self.call_args(&node.args, &site.by_ref);
                quote!(#path(#(#args),*))
            }
            Op::Pullback(k) => {
                let site = &self.g.calls[k as usize];
                let path = pullback_path(&site.path);
                let (call_args, d) = node.args.split_at(node.args.len() - 1);
                let args = self.call_args(call_args, &site.by_ref);
                let d = self.by_ref(d[0]);
                quote!(#path(#(#args,)* #d))
            }
            Op::Project(i) => {
                let pb = self.operand(node.args[0]);
                let field = syn::Index::from(i as usize);
                quote!(#pb.#field)
            }
            Op::Phi(_) => unreachable!("a Phi is written by its branch"),
            _ => unreachable!("not a special op"),
        }
    }

    fn call_args(&self, args: &[Id], by_ref: &[bool]) -> Vec<TokenStream> {
        args.iter()
            .zip(by_ref)
            .map(|(&a, &r)| match (r, self.g.kind(a)) {
                (true, _) => self.by_ref(a),
                (false, Kind::Scalar | Kind::Array | Kind::Int | Kind::Bool) => self.operand(a),
                (false, _) => self.owned(a),
            })
            .collect()
    }

    /// Replaces `__ad_refK` in an opaque expression by its K-th operand.
    fn fill(&self, tokens: TokenStream, deps: &[Id]) -> TokenStream {
        tokens
            .into_iter()
            .flat_map(|tt| -> Vec<TokenTree> {
                match tt {
                    TokenTree::Group(g) => {
                        let mut ng =
                            proc_macro2::Group::new(g.delimiter(), self.fill(g.stream(), deps));
                        ng.set_span(g.span());
                        vec![TokenTree::Group(ng)]
                    }
                    TokenTree::Ident(ref id) => match id
                        .to_string()
                        .strip_prefix("__ad_ref")
                        .and_then(|k| k.parse::<usize>().ok())
                    {
                        Some(k) => {
                            let v = self.operand(deps[k]);
                            let mut ts: Vec<TokenTree> = v.into_iter().collect();
                            if ts.len() > 1 {
                                ts = vec![TokenTree::Group(proc_macro2::Group::new(
                                    proc_macro2::Delimiter::Parenthesis,
                                    ts.into_iter().collect(),
                                ))];
                            }
                            ts
                        }
                        None => vec![tt],
                    },
                    other => vec![other],
                }
            })
            .collect()
    }
}

/// For every differentiated argument of a call, a compile-time check that the callee
/// differentiates that parameter (its `__f_wrt`), reported at the argument.
pub(crate) fn call_checks(g: &Graph) -> TokenStream {
    let mut out = TokenStream::new();
    for id in g.ids() {
        let Op::Call(k) = g[id].op else { continue };
        let site = &g.calls[k as usize];
        let callee = site
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        let mut wrt = site.path.clone();
        if let Some(last) = wrt.segments.last_mut() {
            last.ident = crate::expand::wrt_ident(&last.ident);
            last.arguments = syn::PathArguments::None;
        }
        for (i, &arg) in g[id].args.iter().enumerate() {
            if !g.is_active(arg) {
                continue;
            }
            let span = site
                .arg_spans
                .get(i)
                .copied()
                .unwrap_or_else(proc_macro2::Span::call_site);
            let msg = format!(
                "argument {} of `{callee}` depends on a differentiated value, but `{callee}` does not differentiate that parameter; add it to `{callee}`'s `wrt(..)` or pass a constant",
                i + 1
            );
            out.extend(
                quote::quote_spanned!(span=> const _: () = ::core::assert!(#wrt[#i], #msg);),
            );
        }
    }
    out
}

/// `path::to::f` → `path::to::__f_pullback`, keeping generic arguments.
pub(crate) fn pullback_path(path: &syn::Path) -> syn::Path {
    let mut p = path.clone();
    if let Some(last) = p.segments.last_mut() {
        last.ident = pullback_ident(&last.ident);
    }
    p
}

pub(crate) fn pullback_ident(ident: &syn::Ident) -> syn::Ident {
    let mut id = format_ident!("__{}_pullback", ident);
    id.set_span(ident.span());
    id
}

/// The `std::f64::consts` constant with exactly this value, if any (clippy rightly flags
/// their digits written out).
fn named_constant(v: f64) -> Option<&'static str> {
    use std::f64::consts as c;
    let table = [
        (c::E, "E"),
        (c::PI, "PI"),
        (c::TAU, "TAU"),
        (c::LN_2, "LN_2"),
        (c::LN_10, "LN_10"),
        (c::LOG2_E, "LOG2_E"),
        (c::LOG10_E, "LOG10_E"),
        (c::LOG2_10, "LOG2_10"),
        (c::LOG10_2, "LOG10_2"),
        (c::SQRT_2, "SQRT_2"),
        (c::FRAC_1_SQRT_2, "FRAC_1_SQRT_2"),
        (c::FRAC_PI_2, "FRAC_PI_2"),
        (c::FRAC_PI_3, "FRAC_PI_3"),
        (c::FRAC_PI_4, "FRAC_PI_4"),
        (c::FRAC_PI_6, "FRAC_PI_6"),
        (c::FRAC_PI_8, "FRAC_PI_8"),
        (c::FRAC_1_PI, "FRAC_1_PI"),
        (c::FRAC_2_PI, "FRAC_2_PI"),
        (c::FRAC_2_SQRT_PI, "FRAC_2_SQRT_PI"),
    ];
    table.iter().find(|(k, _)| *k == v).map(|(_, n)| *n)
}

fn f64_literal(v: f64) -> TokenStream {
    if v.is_nan() {
        quote!(::core::f64::NAN)
    } else if v.is_infinite() {
        if v > 0.0 {
            quote!(::core::f64::INFINITY)
        } else {
            quote!(::core::f64::NEG_INFINITY)
        }
    } else if v < 0.0 {
        let l = Literal::f64_suffixed(-v);
        quote!((-#l))
    } else {
        Literal::f64_suffixed(v).into_token_stream()
    }
}
