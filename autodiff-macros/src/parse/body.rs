//! The body: `syn::Block` → `ir::Graph`. Unsupported syntax is reported here, at its token.

use proc_macro2::{Ident, TokenStream, TokenTree};
use quote::{quote, ToTokens};
use syn::spanned::Spanned;
use syn::{BinOp, Expr, ExprIf, Lit, Pat, Stmt, Type, UnOp};

use super::desugar;
use super::power::POW;
use super::sig::Sig;
use crate::errors::Errors;
use crate::ir::graph::{LoopInfo, Opaque, ParamInfo, ROOT};
use crate::ir::ops;
use crate::ir::{Graph, Id, Kind, Op};

/// The lowered body: the graph, the output node, and the parameters' nodes.
pub(crate) struct Lowered {
    pub graph: Graph,
    pub output: Id,
    pub params: Vec<Id>,
}

/// Lowers a body. Every unsupported construct is recorded in `errors`; the result is `None`
/// if there was any.
pub(crate) fn lower(sig: &Sig, block: &syn::Block, errors: &Errors) -> Option<Lowered> {
    let infos = sig
        .params
        .iter()
        .map(|p| ParamInfo {
            kind: p.kind,
            active: p.diff,
        })
        .collect();
    let mut graph = Graph::new(infos, sig.ret_kind);
    let params: Vec<Id> = (0..sig.params.len()).map(|i| graph.param(i)).collect();
    let env = sig
        .params
        .iter()
        .zip(&params)
        .map(|(p, &id)| (p.ident.to_string(), Some(id)))
        .collect();
    let mut lower = Lower {
        g: graph,
        errors,
        env,
        sig,
        failed: false,
        closures: Vec::new(),
        refs: Default::default(),
        in_loop: false,
    };
    let flow = lower.stmts(&block.stmts, Mode::Top);
    let output = match flow {
        Flow::Open(Some(v)) | Flow::Return(v) => Some(v),
        Flow::Open(None) => {
            if !lower.failed {
                match block.stmts.last() {
                    Some(last) => errors.at(last, "the body has no final value after this statement; end it with an expression of the return type"),
                    None => errors.at_span(block.brace_token.span.join(), "the body is empty; end it with an expression of the return type"),
                }
            }
            None
        }
    };
    if lower.failed || !errors.is_empty() {
        return None;
    }
    Some(Lowered {
        graph: lower.g,
        output: output?,
        params,
    })
}

/// Where a statement sequence is: the function body, an arm of one of its `if`s, or a block
/// inside an expression.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Top,
    Arm,
    Inner,
}

enum Flow {
    /// Falls through, with the block's value if it has one.
    Open(Option<Id>),
    /// The function's result is decided.
    Return(Id),
}

struct Lower<'a> {
    g: Graph,
    errors: &'a Errors,
    /// Variables in scope, innermost last; `None` for `let x;` not yet assigned.
    env: Vec<(String, Option<Id>)>,
    sig: &'a Sig,
    failed: bool,
    /// Closures bound with `let`, innermost last (see `parse/desugar.rs`).
    closures: Vec<ClosureDef>,
    /// Locals bound to a reference (`let x = &xs[i];`, iterator items): `*x` reads them.
    refs: std::collections::HashSet<String>,
    /// Lowering a loop body.
    in_loop: bool,
}

/// A closure bound with `let`: inlined where it is called.
#[derive(Clone)]
struct ClosureDef {
    name: String,
    closure: syn::ExprClosure,
    /// The locals its body reads.
    captured: Vec<String>,
    /// A captured local rebound or assigned since the definition: calls are refused.
    stale: Option<String>,
}

impl Lower<'_> {
    fn error(&mut self, tokens: impl ToTokens, msg: impl std::fmt::Display) -> Option<Id> {
        self.errors.at(tokens, msg);
        self.failed = true;
        None
    }

    fn lookup(&self, name: &str) -> Option<Option<Id>> {
        self.env
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    }

    fn assign(&mut self, name: &str, v: Id) -> bool {
        match self.env.iter_mut().rev().find(|(n, _)| n == name) {
            Some(slot) => {
                slot.1 = Some(v);
                true
            }
            None => false,
        }
    }

    fn stmts(&mut self, stmts: &[Stmt], mode: Mode) -> Flow {
        for (i, stmt) in stmts.iter().enumerate() {
            let last = i + 1 == stmts.len();
            // A `match` that touches a differentiated value is an `if` chain.
            let rewritten;
            let stmt = match stmt {
                Stmt::Expr(Expr::Match(m), semi) if self.touches_active(m) => {
                    match self.match_to_if(m) {
                        Some(e) => {
                            rewritten = Stmt::Expr(e, *semi);
                            &rewritten
                        }
                        None => continue,
                    }
                }
                // `if let` is a `match` with one arm and `_`.
                Stmt::Expr(Expr::If(ifx), semi) if matches!(*ifx.cond, Expr::Let(_)) => {
                    let m = desugar::if_let_to_match(ifx).expect("an `if let`");
                    match self.match_to_if(&m) {
                        Some(e) => {
                            rewritten = Stmt::Expr(e, *semi);
                            &rewritten
                        }
                        None => continue,
                    }
                }
                other => other,
            };
            match stmt {
                Stmt::Local(local) if is_closure_let(local) => self.closure_let(local),
                Stmt::Local(local) => self.local(local),
                Stmt::Item(item) => {
                    self.error(item, "items are not supported inside a #[differentiable] body; define them outside the function");
                }
                Stmt::Macro(m)
                    if last
                        && m.semi_token.is_none()
                        && mode != Mode::Inner
                        && m.mac.path.is_ident("vec")
                        && self.sig.ret_kind == Kind::Slice =>
                {
                    let e = Expr::Macro(syn::ExprMacro {
                        attrs: m.attrs.clone(),
                        mac: m.mac.clone(),
                    });
                    return Flow::Open(self.result_expr(&e));
                }
                Stmt::Macro(m) => {
                    self.error(&m.mac.path, "macro calls are not supported in a #[differentiable] body; compute the value with expressions, or outside the function");
                }
                Stmt::Expr(expr, semi) => match expr {
                    Expr::Return(r) => {
                        if mode == Mode::Inner || (mode == Mode::Arm && !last) {
                            self.error(r.return_token, "`return` is supported only at the end of the body or at the end of an `if` arm at the top of the body; write the `if`/`else` as an expression instead");
                            continue;
                        }
                        let Some(e) = &r.expr else {
                            self.error(
                                r.return_token,
                                "`return` needs a value in a #[differentiable] function",
                            );
                            continue;
                        };
                        match self.result_expr(e) {
                            Some(v) => return Flow::Return(v),
                            None => continue,
                        }
                    }
                    Expr::If(ifx) => {
                        let rest = if mode == Mode::Top {
                            Some(&stmts[i + 1..])
                        } else {
                            None
                        };
                        match self.lower_if(ifx, rest, mode) {
                            Some(Flow::Return(v)) => return Flow::Return(v),
                            Some(Flow::Open(v)) if last && semi.is_none() => return Flow::Open(v),
                            _ => {}
                        }
                    }
                    Expr::ForLoop(f) if f.label.is_none() && desugar::has_jump(&f.body.stmts) => {
                        match desugar::for_with_jumps(f) {
                            Ok(stmts) => {
                                self.env_scope_stmts(&stmts);
                            }
                            Err(e) => {
                                self.desugar_error(e);
                            }
                        }
                    }
                    Expr::ForLoop(f) => self.for_loop(f),
                    Expr::Macro(m)
                        if last
                            && semi.is_none()
                            && mode != Mode::Inner
                            && m.mac.path.is_ident("vec")
                            && self.sig.ret_kind == Kind::Slice =>
                    {
                        return Flow::Open(self.result_expr(expr))
                    }
                    Expr::While(w) => self.while_loop(w),
                    Expr::Loop(l) => match desugar::loop_to_while(l) {
                        Ok(stmts) => self.env_scope_stmts(&stmts),
                        Err(e) => {
                            self.desugar_error(e);
                        }
                    },
                    Expr::Closure(_) | Expr::Macro(_) | Expr::Break(_) | Expr::Continue(_) => {
                        self.reject(expr);
                    }
                    Expr::Assign(a) => self.assignment(&a.left, None, &a.right),
                    Expr::Binary(b) if compound(&b.op).is_some() => {
                        self.assignment(&b.left, compound(&b.op), &b.right)
                    }
                    _ if last && semi.is_none() && mode != Mode::Inner => {
                        return Flow::Open(self.result_expr(expr))
                    }
                    _ if last && semi.is_none() => return Flow::Open(self.expr(expr)),
                    _ => {
                        self.error(expr, "this statement has no effect: a #[differentiable] body is pure; use its value in a `let` or in the result");
                    }
                },
            }
        }
        Flow::Open(None)
    }

    fn local(&mut self, local: &syn::Local) {
        let (ident, ty) = match &local.pat {
            Pat::Ident(p) if p.subpat.is_none() => (p.ident.clone(), None),
            Pat::Type(t) => match &*t.pat {
                Pat::Ident(p) if p.subpat.is_none() => (p.ident.clone(), Some(&t.ty)),
                other => {
                    self.error(other, "destructuring `let` is not supported in a #[differentiable] body; bind one name per `let`");
                    return;
                }
            },
            Pat::Wild(_) => return,
            other => {
                self.error(other, "destructuring `let` is not supported in a #[differentiable] body; bind one name per `let`");
                return;
            }
        };
        if let Some(init) = &local.init {
            if let Some((_, diverge)) = &init.diverge {
                self.error(
                    diverge,
                    "`let ... else` is not supported in a #[differentiable] body",
                );
                return;
            }
        }
        // An integer counter (`let mut i: usize = 0;`, `let mut i = 0usize;`): kept as written.
        let int_typed = ty.is_some_and(|t| is_int_type(t))
            || local
                .init
                .as_ref()
                .is_some_and(|i| matches!(strip(&i.expr), Expr::Lit(l) if matches!(&l.lit, Lit::Int(n) if super::sig::is_integer_name(n.suffix()))));
        let value = match &local.init {
            Some(init) if int_typed && !self.touches_active(&init.expr) => {
                Some(self.opaque(&init.expr, Kind::Int))
            }
            Some(init) => match self.expr(&init.expr) {
                Some(v) => Some(v),
                None => Some(self.g.poison(ident.span())),
            },
            None => None,
        };
        if let Some(v) = value {
            if !ident.to_string().starts_with("__ad_") {
                self.g.names.entry(v).or_insert_with(|| ident.to_string());
            }
            // `let k: f64 = K;`: the declared float type tells what `K` is.
            let opaque = matches!(self.g[v].op, Op::Opaque(_));
            if let (true, Some(Type::Path(p))) = (opaque, ty.map(|t| &**t)) {
                let name = p.path.to_token_stream().to_string();
                if name == "f64" || name == "f32" || name == self.sig.float.to_string() {
                    self.g.declare_kind(v, Kind::Scalar);
                }
            }
        }
        let name = ident.to_string();
        // A reference: `&..`, another reference local, or a `let x: &T`.
        let is_ref = match local.init.as_ref().map(|i| strip(&i.expr)) {
            Some(Expr::Reference(_)) => true,
            Some(Expr::Path(p)) => p
                .path
                .get_ident()
                .is_some_and(|id| self.refs.contains(&id.to_string())),
            _ => false,
        } || matches!(ty.map(|t| &**t), Some(syn::Type::Reference(_)));
        if is_ref {
            self.refs.insert(name.clone());
        } else {
            self.refs.remove(&name);
        }
        self.rebound(&name);
        self.env.push((name, value));
    }

    /// `let f = |x| ..;`: the closure is kept, and inlined where it is called.
    fn closure_let(&mut self, local: &syn::Local) {
        let Some(init) = &local.init else { return };
        let Expr::Closure(c) = strip(&init.expr) else {
            return;
        };
        let name = match &local.pat {
            Pat::Ident(p) => p.ident.to_string(),
            Pat::Type(t) => match &*t.pat {
                Pat::Ident(p) => p.ident.to_string(),
                other => {
                    self.error(other, "bind a closure to one name: `let f = |x| ..;`");
                    return;
                }
            },
            other => {
                self.error(other, "bind a closure to one name: `let f = |x| ..;`");
                return;
            }
        };
        if let Some(a) = &c.asyncness {
            self.error(
                a,
                "async closures are not supported in a #[differentiable] body",
            );
            return;
        }
        let params: Vec<String> = c
            .inputs
            .iter()
            .flat_map(|p| {
                let mut names = Vec::new();
                pat_names(p, &mut names);
                names
            })
            .collect();
        let mut captured = Vec::new();
        self.visit_locals(c.body.to_token_stream(), &mut |id, _| {
            let n = id.to_string();
            if !params.contains(&n) && !captured.contains(&n) {
                captured.push(n);
            }
        });
        // Closures it calls: their captures are its own.
        for def in &self.closures {
            if mentions(&c.body.to_token_stream(), &def.name) {
                for n in &def.captured {
                    if !captured.contains(n) {
                        captured.push(n.clone());
                    }
                }
            }
        }
        self.rebound(&name);
        self.closures.push(ClosureDef {
            name,
            closure: c.clone(),
            captured,
            stale: None,
        });
    }

    /// `name` is bound again or assigned: a value of that name shadows a closure, and a closure
    /// that captured it can no longer be inlined.
    fn rebound(&mut self, name: &str) {
        self.closures.retain(|c| c.name != name);
        for c in &mut self.closures {
            if c.stale.is_none() && c.captured.iter().any(|n| n == name) {
                c.stale = Some(name.to_string());
            }
        }
    }

    fn closure(&self, name: &str) -> Option<&ClosureDef> {
        self.closures.iter().rev().find(|c| c.name == name)
    }

    /// `f(args)` for a closure `f` bound with `let`: `{ let p1 = a1; ..; body }`.
    fn inline_call(&mut self, c: &syn::ExprCall, def: ClosureDef) -> Option<Id> {
        if let Some(n) = &def.stale {
            return self.error(&c.func, format!("the closure `{}` reads `{n}`, which is bound again or assigned after the closure is defined; define the closure after it, or pass the value as a parameter", def.name));
        }
        let items: Vec<desugar::Item> = c
            .args
            .iter()
            .map(|a| desugar::Item::One(a.clone()))
            .collect();
        let f = desugar::Fun::Closure(def.closure);
        match desugar::apply(&f, &items, &c.func.to_token_stream()) {
            Ok(e) => self.expr(&e),
            Err(e) => self.error(e.at, e.message),
        }
    }

    fn desugar_error(&mut self, e: desugar::DesugarError) -> Option<Id> {
        self.error(e.at, e.message)
    }

    /// A `match` that touches a differentiated value, as an `if` chain.
    fn match_to_if(&mut self, m: &syn::ExprMatch) -> Option<Expr> {
        let scrut_active = self.touches_active(&m.expr);
        if scrut_active {
            let v = self.expr(&m.expr)?;
            if self.g.kind(v) != Kind::Bool {
                self.error(&m.expr, "`match` on a differentiated value is not supported; compare it in an `if`: `if x > 0.0 { .. } else { .. }`");
                return None;
            }
        }
        match desugar::match_to_if(m, scrut_active) {
            Ok(e) => Some(e),
            Err(e) => {
                self.desugar_error(e);
                None
            }
        }
    }

    /// A chain ending in `sum`, `product` or `fold`: a block with a loop.
    fn reduction(&mut self, m: &syn::ExprMethodCall) -> Option<Id> {
        let closures = self.closures.clone();
        let find = |n: &str| {
            closures
                .iter()
                .rev()
                .find(|c| c.name == n)
                .map(|c| c.closure.clone())
        };
        let r = match desugar::reduction(m, &find) {
            Ok(r) => r,
            Err(e) => return self.desugar_error(e),
        };
        let init = self.expr(&r.init)?;
        let depth = self.env.len();
        self.env.push((r.acc.to_string(), Some(init)));
        let lo = self.trusted_bound(&r.lo);
        let hi = self.trusted_bound(&r.hi);
        if let (Some(lo), Some(hi)) = (lo, hi) {
            self.loop_with(&r.body, lo, hi, false);
        }
        let v = self.env[depth].1;
        self.env.truncate(depth);
        if self.failed {
            return None;
        }
        v
    }

    /// A bound written by the rewriting (sizes, user bounds checked by `bound`).
    fn trusted_bound(&mut self, e: &Expr) -> Option<Id> {
        if int_literal(e).is_some() {
            return Some(self.opaque(e, Kind::Int));
        }
        // The parts the user wrote (`skip(n)`, range bounds) must not be differentiated.
        if let Some(at) = self.active_beyond_sizes(&e.to_token_stream()) {
            return self.error(at, "the bounds of an iterated range, `skip`, `take` and `step_by` must not depend on a differentiated value");
        }
        let id = self.opaque(e, Kind::Int);
        Some(id)
    }

    /// An active local read other than as `x.len()`.
    fn active_beyond_sizes(&self, tokens: &TokenStream) -> Option<Ident> {
        let trees: Vec<TokenTree> = tokens.clone().into_iter().collect();
        let mut found = None;
        for (i, tt) in trees.iter().enumerate() {
            let size = matches!(trees.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == '.')
                && matches!(trees.get(i + 2), Some(TokenTree::Ident(m)) if m == "len");
            match tt {
                TokenTree::Group(_) if size => {}
                TokenTree::Group(g) => {
                    if let Some(id) = self.active_beyond_sizes(&g.stream()) {
                        found.get_or_insert(id);
                    }
                }
                TokenTree::Ident(id) if is_local_position(&trees, i) => {
                    let active = self
                        .lookup(&id.to_string())
                        .flatten()
                        .is_some_and(|v| self.g.is_active(v));
                    if active && !size {
                        found.get_or_insert(id.clone());
                    }
                }
                _ => {}
            }
        }
        found
    }

    fn assignment(&mut self, left: &Expr, op: Option<Op>, right: &Expr) {
        let name = match left {
            Expr::Path(p) if p.path.get_ident().is_some() => {
                p.path.get_ident().unwrap().to_string()
            }
            Expr::Index(ix) => {
                self.error(ix, "writing into an element is not supported in a #[differentiable] body; accumulate in a `let mut` variable, or return a value computed from the elements");
                return;
            }
            other => {
                self.error(other, "only local variables can be assigned in a #[differentiable] body; bind a new name with `let`");
                return;
            }
        };
        let Some(current) = self.lookup(&name) else {
            self.error(left, format!("cannot find variable `{name}` in this body"));
            return;
        };
        // Integer counters stay integers: `i += 1`.
        if let Some(cur) = current {
            if self.g.kind(cur) == Kind::Int && !self.touches_active(right) {
                let whole: Expr = match op {
                    None => right.clone(),
                    Some(Op::Add) => syn::parse_quote!(#left + (#right)),
                    Some(Op::Sub) => syn::parse_quote!(#left - (#right)),
                    Some(Op::Mul) => syn::parse_quote!(#left * (#right)),
                    Some(_) => syn::parse_quote!(#left / (#right)),
                };
                let v = self.opaque(&whole, Kind::Int);
                self.refs.remove(&name);
                self.assign(&name, v);
                return;
            }
        }
        let Some(rhs) = self.expr(right) else { return };
        let value = match op {
            None => rhs,
            Some(op) => {
                let Some(cur) = current else {
                    self.error(left, format!("`{name}` is used before it is assigned"));
                    return;
                };
                self.g.binary(op, cur, rhs)
            }
        };
        if !name.starts_with("__ad_") {
            self.g.names.entry(value).or_insert_with(|| name.clone());
        }
        self.refs.remove(&name);
        let closures = std::mem::take(&mut self.closures);
        self.closures = closures
            .into_iter()
            .map(|mut c| {
                if c.stale.is_none() && c.captured.contains(&name) {
                    c.stale = Some(name.clone());
                }
                c
            })
            .collect();
        self.assign(&name, value);
    }

    /// Lowers an `if`. At the top of the body (`rest` given), an arm that returns makes the
    /// statements after the `if` the other arm's continuation.
    fn lower_if(&mut self, ifx: &ExprIf, rest: Option<&[Stmt]>, mode: Mode) -> Option<Flow> {
        let cond = self.condition(&ifx.cond)?;
        let branch = self.g.new_branch(cond);
        let (then_block, else_block) = {
            let b = &self.g.branches[branch as usize];
            (b.then_block, b.else_block)
        };
        let parent = self.g.current;
        let arm_mode = if mode == Mode::Inner {
            Mode::Inner
        } else {
            Mode::Arm
        };
        let snapshot = self.env.clone();

        self.g.current = then_block;
        let then_flow = self.scoped(&ifx.then_branch.stmts, arm_mode);
        let then_env = std::mem::replace(&mut self.env, snapshot.clone());

        self.g.current = else_block;
        let else_flow = match &ifx.else_branch {
            None => Flow::Open(None),
            Some((_, e)) => match &**e {
                Expr::Block(b) => self.scoped(&b.block.stmts, arm_mode),
                Expr::If(nested) => self
                    .lower_if(nested, rest, mode)
                    .unwrap_or(Flow::Open(None)),
                other => {
                    self.error(other, "expected a block after `else`");
                    Flow::Open(None)
                }
            },
        };
        let else_env = std::mem::replace(&mut self.env, snapshot.clone());

        // A returning arm: the rest of the body continues in the other arm.
        let continue_in = |lower: &mut Self, block, env: Vec<(String, Option<Id>)>| -> Option<Id> {
            lower.g.current = block;
            lower.env = env;
            let flow = lower.stmts(rest.unwrap_or(&[]), Mode::Top);
            match flow {
                Flow::Open(Some(v)) | Flow::Return(v) => Some(v),
                Flow::Open(None) => None,
            }
        };
        let (then_v, else_v, done) = match (then_flow, else_flow) {
            (Flow::Open(t), Flow::Open(e)) => (t, e, false),
            (Flow::Return(t), Flow::Return(e)) => (Some(t), Some(e), true),
            (Flow::Return(t), Flow::Open(_)) if rest.is_some() => (
                Some(t),
                continue_in(self, else_block, else_env.clone()),
                true,
            ),
            (Flow::Open(_), Flow::Return(e)) if rest.is_some() => (
                continue_in(self, then_block, then_env.clone()),
                Some(e),
                true,
            ),
            _ => {
                self.g.current = parent;
                self.env = snapshot;
                self.error(ifx.if_token, "only one arm of this `if` returns, and the code after it is not at the top of the body; give both arms a `return` or none");
                return None;
            }
        };
        self.g.current = parent;
        self.env = snapshot;
        if done {
            return match (then_v, else_v) {
                (Some(t), Some(e)) => {
                    Some(Flow::Return(self.g.add_raw(Op::Phi(branch), vec![t, e])))
                }
                _ => {
                    self.failed = true;
                    None
                }
            };
        }
        // Variables assigned in either arm meet in a Phi.
        for i in 0..self.env.len() {
            let (t, e) = (then_env[i].1, else_env[i].1);
            if t != e {
                if let (Some(t), Some(e)) = (t, e) {
                    self.env[i].1 = Some(self.g.add_raw(Op::Phi(branch), vec![t, e]));
                }
            }
        }
        let value = match (then_v, else_v) {
            (Some(t), Some(e)) => Some(self.g.add_raw(Op::Phi(branch), vec![t, e])),
            _ => None,
        };
        Some(Flow::Open(value))
    }

    fn scoped(&mut self, stmts: &[Stmt], mode: Mode) -> Flow {
        let depth = self.env.len();
        let flow = self.stmts(stmts, mode);
        self.env.truncate(depth);
        flow
    }

    fn condition(&mut self, cond: &Expr) -> Option<Id> {
        let c = self.expr(cond)?;
        match self.g.kind(c) {
            Kind::Bool | Kind::Unknown => Some(c),
            _ => self.error(
                cond,
                "an `if` condition must be a comparison such as `x > 0`",
            ),
        }
    }

    /// Lowers the function's result: for a `[T; M]` or `Vec<T>` result, an array literal
    /// `[a, b]` or `vec![a, b]` becomes one `Pack` of its elements.
    fn result_expr(&mut self, e: &Expr) -> Option<Id> {
        if !matches!(self.sig.ret_kind, Kind::Array | Kind::Slice) {
            return self.expr(e);
        }
        let elems: Vec<Expr> = match e {
            Expr::Array(a) => a.elems.iter().cloned().collect(),
            Expr::Macro(m) if m.mac.path.is_ident("vec") => {
                let parser = syn::punctuated::Punctuated::<Expr, syn::Token![,]>::parse_terminated;
                match m.mac.parse_body_with(parser) {
                    Ok(list) => list.into_iter().collect(),
                    Err(_) => {
                        return self.error(
                            &m.mac,
                            "write the result as `vec![a, b, ..]`, one value per element",
                        )
                    }
                }
            }
            Expr::Paren(p) => return self.result_expr(&p.expr),
            _ => return self.expr(e),
        };
        let mut parts = Vec::with_capacity(elems.len());
        for el in &elems {
            parts.push(self.expr(el)?);
        }
        Some(self.g.add_raw(Op::Pack, parts))
    }

    /// Lowers an expression to a node.
    fn expr(&mut self, e: &Expr) -> Option<Id> {
        match e {
            Expr::Lit(l) => match &l.lit {
                Lit::Int(i) => match i.base10_parse::<f64>() {
                    Ok(v) => Some(self.g.constant(v)),
                    Err(err) => self.error(i, err),
                },
                Lit::Float(f) => match f.base10_parse::<f64>() {
                    Ok(v) => Some(self.g.constant(v)),
                    Err(err) => self.error(f, err),
                },
                Lit::Bool(_) => Some(self.opaque(e, Kind::Bool)),
                other => self.error(other, "only number literals can be used as values in a #[differentiable] body"),
            },
            Expr::Path(p) => {
                if let Some(id) = p.path.get_ident() {
                    if self.closure(&id.to_string()).is_some() {
                        return self.error(id, format!("the closure `{id}` can only be called (`{id}(x)`) or passed to `map` or `fold` in a #[differentiable] body; it cannot be returned, stored or passed elsewhere"));
                    }
                    match self.lookup(&id.to_string()) {
                        Some(Some(v)) => return Some(v),
                        Some(None) => return self.error(id, format!("`{id}` is used before it is assigned")),
                        None => {}
                    }
                }
                Some(self.opaque(e, Kind::Unknown))
            }
            Expr::Paren(p) => self.expr(&p.expr),
            Expr::Group(g) => self.expr(&g.expr),
            // `&m.w` of a constant struct's field: a copy of the field (it may be a tensor,
            // which cannot be moved out of the struct).
            Expr::Reference(r)
                if r.mutability.is_none()
                    && matches!(strip(&r.expr), Expr::Field(_))
                    && !self.touches_active(&r.expr) =>
            {
                let inner = &r.expr;
                let copy: Expr = syn::parse_quote!(::core::clone::Clone::clone(&#inner));
                Some(self.opaque(&copy, Kind::Unknown))
            }
            Expr::Reference(r) if r.mutability.is_none() => self.expr(&r.expr),
            Expr::Binary(b) => self.binary(e, b),
            Expr::Unary(u) => self.unary(e, u),
            Expr::MethodCall(m) => self.method(e, m),
            Expr::Call(c) => self.call(e, c),
            // `if let`: kept as written when it reads no differentiated value, else a `match`.
            Expr::If(ifx) if matches!(*ifx.cond, Expr::Let(_)) && !self.touches_active(e) => {
                Some(self.opaque(e, Kind::Unknown))
            }
            Expr::If(ifx) if matches!(*ifx.cond, Expr::Let(_)) => {
                let m = desugar::if_let_to_match(ifx).expect("an `if let`");
                let chain = self.match_to_if(&m)?;
                self.expr(&chain)
            }
            Expr::If(ifx) => match self.lower_if(ifx, None, Mode::Inner)? {
                Flow::Open(Some(v)) | Flow::Return(v) => Some(v),
                Flow::Open(None) => self.error(ifx.if_token, "this `if` has no value: give it an `else` arm and end both arms with an expression"),
            },
            Expr::Block(b) if b.label.is_none() => match self.scoped(&b.block.stmts, Mode::Inner) {
                Flow::Open(Some(v)) | Flow::Return(v) => Some(v),
                Flow::Open(None) if self.failed => None,
                Flow::Open(None) => self.error(b, "this block has no value; end it with an expression"),
            },
            Expr::Cast(c) => self.cast(e, c),
            // Control flow and closures can change locals or hide calls: never kept as written.
            Expr::While(_) | Expr::Loop(_) | Expr::ForLoop(_) => self.reject(e),
            Expr::Closure(c) => self.error(c.or1_token, "a closure must be bound with `let` and called (`let f = |x| ..; f(y)`), or passed to `map` or `fold`, in a #[differentiable] body; it cannot be returned or stored"),
            Expr::Match(m) if self.touches_active(e) => {
                let ifx = self.match_to_if(m)?;
                self.expr(&ifx)
            }
            Expr::Index(ix) => self.index(e, ix),
            // A field of a local bound to a struct leaf's element (`let l = &self.layers[i];`
            // then `l.w`): the derive's reader, which differentiates like the field.
            Expr::Field(f) if self.is_leaf(&f.base) => {
                let name = crate::names::member_name(&f.member);
                let reader = crate::names::field_reader(&name);
                let base = &f.base;
                let call: syn::ExprMethodCall = syn::parse_quote_spanned!(f.member.span()=> #base.#reader());
                self.method_call(&call)
            }
            // `[a, b]` of differentiated values: a `[T; M]` value (a call's argument).
            Expr::Array(a) if self.touches_active(e) => {
                let mut parts = Vec::with_capacity(a.elems.len());
                for el in &a.elems {
                    parts.push(self.expr(el)?);
                }
                if parts.iter().any(|&p| !matches!(self.g.kind(p), Kind::Scalar | Kind::Unknown)) {
                    return self.error(e, "an array literal of differentiated values holds floats; use a `Tensor` for arrays of arrays or tensors");
                }
                Some(self.g.add_raw(Op::ArrayLit, parts))
            }
            _ => self.unsupported(e),
        }
    }

    /// A construct the differentiator does not know: kept as written if it does not touch a
    /// differentiated value, else an error naming what to write instead.
    fn unsupported(&mut self, e: &Expr) -> Option<Id> {
        if !self.touches_active(e) {
            return Some(self.opaque(e, Kind::Unknown));
        }
        self.reject(e)
    }

    /// Reports `e` as unsupported, at its keyword, with what to write instead.
    fn reject(&mut self, e: &Expr) -> Option<Id> {
        let (at, msg): (TokenStream, &str) = match e {
            Expr::Match(m) => (m.match_token.to_token_stream(), "`match` is not supported in a #[differentiable] body; use `if`/`else`"),
            Expr::While(w) => (w.while_token.to_token_stream(), "a `while` loop has no value; write it as a statement and read the variables it updates"),
            Expr::Loop(l) => (l.loop_token.to_token_stream(), "a `loop` with a value (`let r = loop { .. break v; }`) is not supported; write the loop as a statement and assign the value to a `let mut` before `break`"),
            Expr::Break(b) => (b.break_token.to_token_stream(), "`break` is not supported in a #[differentiable] body: a loop runs its whole range; guard the body with `if` instead"),
            Expr::Continue(c) => (c.continue_token.to_token_stream(), "`continue` is not supported in a #[differentiable] body; guard the rest of the body with `if` instead"),
            Expr::ForLoop(f) => (f.for_token.to_token_stream(), "a `for` loop has no value; write it as a statement and read the variables it updates"),
            Expr::Closure(c) => (c.or1_token.to_token_stream(), "closures are not supported in a #[differentiable] body; write the expression inline or as another #[differentiable] function"),
            Expr::Macro(m) => (m.mac.path.to_token_stream(), "macro calls are not supported in a #[differentiable] body; compute the value with expressions"),
            Expr::Tuple(_) => (e.to_token_stream(), "tuples are not supported in a #[differentiable] body; return one float or tensor and use one `let` per value"),
            Expr::Array(_) => (e.to_token_stream(), "an array literal of differentiated values is supported only as the function's `[T; M]` or `Vec<T>` result, in the tail expression or a `return`; use a `Tensor` or separate values otherwise"),
            Expr::Field(_) => (e.to_token_stream(), "field access on a differentiated value is not supported"),
            Expr::Assign(_) => (e.to_token_stream(), "an assignment has no value; assign in a statement of its own"),
            _ => (e.to_token_stream(), "this expression is not supported in a #[differentiable] body"),
        };
        self.error(at, msg)
    }

    fn binary(&mut self, whole: &Expr, b: &syn::ExprBinary) -> Option<Id> {
        let arith = match b.op {
            BinOp::Add(_) => Some(Op::Add),
            BinOp::Sub(_) => Some(Op::Sub),
            BinOp::Mul(_) => Some(Op::Mul),
            BinOp::Div(_) => Some(Op::Div),
            _ => None,
        };
        let cmp = comparison(&b.op);
        if let Some(op) = arith.or(cmp) {
            let l = self.expr(&b.left)?;
            let r = self.expr(&b.right)?;
            // An expression kept as written (`self.k` of an integer field) compared with an
            // integer literal: the comparison is kept as written too, the literal converted to
            // the expression's own type (an integer or a float: `self.t > 0` on an `f64`).
            let as_written = |id: Id| {
                matches!(self.g[id].op, Op::Opaque(_))
                    && self.g.kind(id) == Kind::Unknown
                    && !self.g.is_active(id)
            };
            if cmp.is_some()
                && ((is_int_literal(&b.right) && as_written(l))
                    || (is_int_literal(&b.left) && as_written(r)))
            {
                let kept = self.typed_literals(whole);
                return Some(self.opaque(&kept, Kind::Bool));
            }
            let (lk, rk) = (self.g.kind(l), self.g.kind(r));
            if lk == Kind::Int || rk == Kind::Int {
                // Integer arithmetic (sizes, counters) is kept as written.
                if self.g.is_active(l) || self.g.is_active(r) {
                    let int_side = if lk == Kind::Int { &b.left } else { &b.right };
                    return self.error(int_side, "this is an integer; convert it to the float type with `as` before mixing it with a differentiated value (integer literals are floats here: declare an integer counter with its type, `let mut i: usize = 0;`)");
                }
                let kind = if cmp.is_some() { Kind::Bool } else { Kind::Int };
                return Some(self.opaque(whole, kind));
            }
            let id = self.g.binary(op, l, r);
            self.g.note_span(id, b.op.span());
            return Some(id);
        }
        match b.op {
            BinOp::And(_) | BinOp::Or(_) => {
                if !self.touches_active(whole) {
                    // Kept as written (it may short-circuit: `i < n && w[i] > 0`).
                    let kept = self.typed_literals(whole);
                    return Some(self.opaque(&kept, Kind::Bool));
                }
                let l = self.expr(&b.left)?;
                let r = self.expr(&b.right)?;
                let op = if matches!(b.op, BinOp::And(_)) {
                    Op::And
                } else {
                    Op::Or
                };
                Some(self.g.binary(op, l, r))
            }
            BinOp::Rem(_) => {
                // A remainder of values that carry no gradient (counters, sizes) is kept as
                // written; of integers it is an integer (`i % 2 == 0` compares integers).
                let l = self.expr(&b.left)?;
                let r = self.expr(&b.right)?;
                if !self.g.is_active(l) && !self.g.is_active(r) {
                    let (lk, rk) = (self.g.kind(l), self.g.kind(r));
                    let kind = if lk == Kind::Int || rk == Kind::Int {
                        Kind::Int
                    } else {
                        Kind::Unknown
                    };
                    return Some(self.opaque(whole, kind));
                }
                // A counter started from an untyped literal is a float here, and carried
                // through the loop it may depend on a differentiated value.
                let counter = self.in_loop
                    && [&b.left, &b.right].iter().any(|e| match strip(e) {
                        Expr::Path(p) => p
                            .path
                            .get_ident()
                            .is_some_and(|id| !self.sig.params.iter().any(|q| q.ident == *id)),
                        _ => false,
                    });
                let hint = if counter {
                    " (an integer counter is declared with its type, `let mut k: usize = 0;`: integer literals are floats here)"
                } else {
                    ""
                };
                self.error(b.op, format!("`%` is not supported on differentiated values; write `x - m * (x / m).trunc()`{hint}"))
            }
            _ if compound(&b.op).is_some() || matches!(b.op, BinOp::RemAssign(_)) => self.error(
                b.op,
                "a compound assignment has no value; write it as a statement of its own",
            ),
            _ => {
                if !self.touches_active(whole) {
                    return Some(self.opaque(whole, Kind::Unknown));
                }
                self.error(
                    b.op,
                    "bit and shift operators are not defined on floats; use arithmetic",
                )
            }
        }
    }

    fn unary(&mut self, whole: &Expr, u: &syn::ExprUnary) -> Option<Id> {
        match u.op {
            UnOp::Neg(_) => {
                let v = self.expr(&u.expr)?;
                if self.g.kind(v) == Kind::Int {
                    return Some(self.opaque(whole, Kind::Int));
                }
                Some(self.g.neg(v))
            }
            UnOp::Not(_) => {
                if !self.touches_active(whole) {
                    return Some(self.opaque(whole, Kind::Bool));
                }
                let v = self.expr(&u.expr)?;
                Some(self.g.unary(Op::Not, v))
            }
            UnOp::Deref(star) => {
                let v = self.expr(&u.expr)?;
                // A reference to a float is the float itself in the graph.
                let reference = match strip(&u.expr) {
                    Expr::Reference(_) => true,
                    Expr::Path(p) => p
                        .path
                        .get_ident()
                        .is_some_and(|id| self.refs.contains(&id.to_string())),
                    Expr::Lit(_) => false,
                    _ => true,
                };
                if !reference && matches!(self.g.kind(v), Kind::Scalar | Kind::Tensor) {
                    return self.error(star, "`*` here dereferences a float; for a power write `x**y` with the stars touching (rustfmt spaces them: mark the function `#[rustfmt::skip]`) or `x.powf(y)`");
                }
                Some(v)
            }
            _ => self.unsupported(whole),
        }
    }

    fn method(&mut self, whole: &Expr, m: &syn::ExprMethodCall) -> Option<Id> {
        let name = m.method.to_string();
        if matches!(
            name.as_str(),
            "is_nan"
                | "is_finite"
                | "is_infinite"
                | "is_sign_positive"
                | "is_sign_negative"
                | "is_normal"
        ) {
            return Some(self.opaque(whole, Kind::Bool));
        }
        // Sizes carry no gradient: `x.len()`, `x.shape()`, `x.ndim()`.
        if m.args.is_empty() && matches!(name.as_str(), "len" | "is_empty" | "shape" | "ndim") {
            let id = self.opaque(whole, Kind::Int);
            self.g.mark_constant(id);
            return Some(id);
        }
        let chain = desugar::is_chain(&m.receiver);
        if matches!(name.as_str(), "sum" | "product" | "fold")
            && chain
            && self.touches_active(whole)
        {
            return self.reduction(m);
        }
        if (chain || desugar::ADAPTORS.contains(&name.as_str()) || desugar::is_other_adaptor(&name))
            && self.touches_active(whole)
        {
            if desugar::is_other_adaptor(&name) {
                let closures = self.closures.clone();
                let find = |n: &str| {
                    closures
                        .iter()
                        .rev()
                        .find(|c| c.name == n)
                        .map(|c| c.closure.clone())
                };
                if let Err(e) = desugar::stream(whole, &find) {
                    return self.desugar_error(e);
                }
            }
            return self.error(&m.method, format!("an iterator chain must end in `sum::<T>()`, `product::<T>()` or `fold(init, |acc, x| ..)`, or be looped over with `for`, in a #[differentiable] body; `{name}` does not end one"));
        }
        // A copy is the value itself in the graph: its gradient passes straight through.
        if matches!(name.as_str(), "clone" | "to_owned" | "to_vec")
            && m.args.is_empty()
            && m.turbofish.is_none()
            && self.touches_active(whole)
        {
            return self.expr(&m.receiver);
        }
        // Linear and piecewise-linear methods: written with operations that have rules.
        if m.args.is_empty() && self.touches_active(whole) {
            let factor = match name.as_str() {
                "to_degrees" => Some(180.0 / std::f64::consts::PI),
                "to_radians" => Some(std::f64::consts::PI / 180.0),
                _ => None,
            };
            if let Some(c) = factor {
                let x = self.expr(&m.receiver)?;
                let c = self.g.constant(c);
                return Some(self.g.mul(x, c));
            }
            if name == "fract" {
                let x = self.expr(&m.receiver)?;
                let t = self.g.unary(Op::Trunc, x);
                return Some(self.g.minus(x, t));
            }
        }
        let known = ops::from_method(&name).is_some()
            || matches!(name.as_str(), "powi" | "sum_axis" | "mean_axis" | "reshape")
            || ops::axis_method(&name, 0).is_some();
        if !known && self.is_leaf(&m.receiver) {
            return self.method_call(m);
        }
        if !known || m.turbofish.is_some() {
            if !self.touches_active(whole) {
                return Some(self.opaque(whole, Kind::Unknown));
            }
            if known {
                return self.error(&m.method, format!("`{name}` of a differentiated value takes no type arguments (`::<..>` is for iterator chains): write `{name}()`"));
            }
            return self.error(&m.method, format!("unknown method `{name}` on a differentiated value; the methods with a derivative rule are: {}", ops::method_names()));
        }
        let receiver = self.expr(&m.receiver)?;
        if !matches!(
            self.g.kind(receiver),
            Kind::Scalar | Kind::Tensor | Kind::Unknown
        ) {
            if !self.g.is_active(receiver) {
                return Some(self.opaque(whole, Kind::Unknown));
            }
            return self.error(&m.receiver, "this value has no float methods");
        }
        let args: Vec<&Expr> = m.args.iter().collect();
        self.apply_method(&name, &m.method, receiver, &args, whole)
    }

    /// `receiver.name(args)`, also for `f64::name(receiver, args)`.
    fn apply_method(
        &mut self,
        name: &str,
        at: &Ident,
        receiver: Id,
        args: &[&Expr],
        whole: &Expr,
    ) -> Option<Id> {
        let literal_arg = |lower: &mut Self, what: &str| -> Option<i64> {
            match args {
                [a] => match int_literal(a) {
                    Some(n) => Some(n),
                    None => lower
                        .error(a, format!("`{name}` needs an integer literal {what} here"))
                        .map(|_| 0),
                },
                _ => lower
                    .error(at, format!("`{name}` takes one argument"))
                    .map(|_| 0),
            }
        };
        match name {
            "powi" => {
                if args.len() == 1 && int_literal(args[0]).is_none() {
                    if !self.touches_active(whole) {
                        return Some(self.opaque(whole, Kind::Unknown));
                    }
                    if self.touches_active(args[0]) {
                        return self.error(args[0], "the exponent of `powi` must not depend on a differentiated value; use `powf` for a differentiated exponent");
                    }
                    // A run-time `i32` exponent: `powf` of it as a float, a constant.
                    let a = args[0];
                    // Of the receiver's type: the float type, or hyper-dual in `f_hessian`.
                    let mut deps = vec![receiver];
                    let exponent = self.substitute(a.to_token_stream(), &mut deps);
                    self.g.opaques.push(Opaque {
                        tokens: quote!(::autodiff::__private::lit_like(&__ad_ref0, ((#exponent) as f64))),
                        span: a.span(),
                        kind: Kind::Scalar,
                    });
                    let k = (self.g.opaques.len() - 1) as u32;
                    let e = self.g.add_raw(Op::Opaque(k), deps);
                    self.g.mark_constant(e);
                    return Some(self.g.binary(Op::Powf, receiver, e));
                }
                let n = literal_arg(self, "exponent")?;
                return Some(self.g.unary(Op::Powi(n as i32), receiver));
            }
            "sum_axis" | "mean_axis" => {
                let k = literal_arg(self, "axis")? as u32;
                let op = if name == "sum_axis" {
                    Op::SumAxis(k)
                } else {
                    Op::MeanAxis(k)
                };
                return Some(self.g.unary(op, receiver));
            }
            _ if ops::axis_method(name, 0).is_some() => {
                let k = literal_arg(self, "axis")? as u32;
                let op = ops::axis_method(name, k).expect("checked above");
                let id = self.g.unary(op, receiver);
                self.g.note_span(id, at.span());
                return Some(id);
            }
            "reshape" => {
                let [shape] = args else {
                    return self.error(at, "`reshape` takes one argument, the new shape");
                };
                if self.touches_active(shape) {
                    return self.error(
                        shape,
                        "the shape given to `reshape` must not depend on a differentiated value",
                    );
                }
                let (k, deps) = self.opaque_entry(shape, Kind::Unknown);
                let mut all = vec![receiver];
                all.extend(deps);
                return Some(self.g.add_raw(Op::Reshape(k), all));
            }
            _ => {}
        }
        let (op, arity) = ops::from_method(name).expect("checked by the caller");
        if args.len() + 1 != arity {
            let n = arity - 1;
            return self.error(
                at,
                format!(
                    "`{name}` takes {n} argument{}",
                    if n == 1 { "" } else { "s" }
                ),
            );
        }
        let mut operands = vec![receiver];
        for a in args {
            operands.push(self.expr(a)?);
        }
        if op == Op::MulAdd && operands.iter().any(|&o| self.g.kind(o) != Kind::Scalar) {
            let p = self.g.mul(operands[0], operands[1]);
            return Some(self.g.plus(p, operands[2]));
        }
        let id = self.g.add(op, operands);
        self.g.note_span(id, at.span());
        Some(id)
    }

    /// Names a parameter that stands for a leaf of a differentiated struct.
    fn is_leaf(&self, e: &Expr) -> bool {
        match e {
            Expr::Path(p) => p.path.get_ident().is_some_and(|id| {
                self.sig.params.iter().any(|p| p.leaf && p.ident == *id)
                    || self.is_leaf_element(&id.to_string())
            }),
            Expr::Paren(p) => self.is_leaf(&p.expr),
            Expr::Reference(r) => self.is_leaf(&r.expr),
            // `self.layers[i]` and its fields `self.layers[i].w` (see `method.rs`).
            Expr::Index(ix) => self.is_leaf(&ix.expr),
            Expr::MethodCall(m) => {
                m.method.to_string().starts_with(crate::names::FIELD_READER)
                    && self.is_leaf(&m.receiver)
            }
            _ => false,
        }
    }

    /// Whether the local `name` is bound to an element of a struct leaf read in a loop body
    /// (`let l = &self.layers[i];`, and `for l in &self.layers` read inside an `if`), so that
    /// `l.forward(h)` calls the element's method.
    fn is_leaf_element(&self, name: &str) -> bool {
        let Some(Some(v)) = self.lookup(name) else {
            return false;
        };
        self.g[v].op == Op::IndexDyn
            && self.g.kind(v) == Kind::Unknown
            && matches!(self.g[self.g[v].args[0]].op, Op::Param(_))
    }

    /// `leaf.name(args)`: a call to a `#[differentiable]` method of a struct leaf
    /// (`self.l1.forward(x)`); the chain rule goes through its pullback method.
    fn method_call(&mut self, m: &syn::ExprMethodCall) -> Option<Id> {
        let mut args = vec![self.expr(&m.receiver)?];
        let mut by_ref = vec![true];
        let mut arg_spans = vec![m.receiver.span()];
        for a in &m.args {
            let (inner, r) = match a {
                Expr::Reference(r) if r.mutability.is_none() => (&*r.expr, true),
                // A parameter that is a reference already (`x: &Tensor<T>`, a leaf) is passed
                // as it is.
                Expr::Path(p)
                    if p.path.get_ident().is_some_and(|id| {
                        // A leaf written by value (`self.c`) is copied (see `call_args`).
                        self.sig
                            .params
                            .iter()
                            .any(|q| q.by_ref && !q.leaf && q.ident == *id)
                    }) =>
                {
                    (a, true)
                }
                other => (other, false),
            };
            args.push(self.expr(inner)?);
            by_ref.push(r);
            arg_spans.push(a.span());
        }
        self.g.calls.push(crate::ir::graph::CallSite {
            path: syn::Path::from(m.method.clone()),
            int_literal: vec![false; by_ref.len()],
            by_ref,
            arg_spans,
            span: m.method.span(),
            method: true,
        });
        let k = (self.g.calls.len() - 1) as u32;
        Some(self.g.add_raw(Op::Call(k), args))
    }

    fn call(&mut self, whole: &Expr, c: &syn::ExprCall) -> Option<Id> {
        let path = match &*c.func {
            Expr::Path(p) if p.qself.is_none() => &p.path,
            _ => return self.unsupported(whole),
        };
        if path.is_ident(POW) && c.args.len() == 2 {
            return self.pow(&c.args[0], &c.args[1]);
        }
        if let Some(id) = path.get_ident() {
            if let Some(def) = self.closure(&id.to_string()).cloned() {
                return self.inline_call(c, def);
            }
        }
        // `f64::sin(x)`, `T::max(a, b)`: a method in function form.
        if path.segments.len() == 2 && !c.args.is_empty() {
            let ty = path.segments[0].ident.to_string();
            let method = &path.segments[1].ident;
            let is_float_ty =
                ty == "f64" || ty == "f32" || ty == "Float" || ty == self.sig.float.to_string();
            let known = ops::from_method(&method.to_string()).is_some() || method == "powi";
            if is_float_ty && known && self.touches_active(whole) {
                let receiver = self.expr(&c.args[0])?;
                let rest: Vec<&Expr> = c.args.iter().skip(1).collect();
                return self.apply_method(&method.to_string(), method, receiver, &rest, whole);
            }
        }
        if !self.touches_active(whole) {
            // Kept as written. An integer literal argument of a function (`helper(a, 2)`,
            // not a constructor `Some(2)` or an associated `f64::from(2)`) is a float in a
            // body but an integer to rustc: converted to the parameter's type (every float
            // and integer type but `i8` is `From<u8>`).
            let function = path.get_ident().is_some_and(|id| {
                id.to_string()
                    .starts_with(|c: char| c.is_lowercase() || c == '_')
            });
            let mut kept = c.clone();
            for a in kept.args.iter_mut().filter(|_| function) {
                let small = int_literal(a).and_then(|v| u8::try_from(v).ok());
                if let Some(v) = small {
                    *a = syn::parse_quote_spanned!(a.span()=> ::core::convert::Into::into(#v))
                }
            }
            return Some(self.opaque(&Expr::Call(kept), Kind::Unknown));
        }
        // `Tensor::scalar(x)`, `Tensor::from_vec(..)`: the runtime's constructors have no
        // generated pullback; only a `#[differentiable]` function can be called with a
        // differentiated value.
        if path.segments.len() >= 2 && path.segments[path.segments.len() - 2].ident == "Tensor" {
            let name = &path.segments[path.segments.len() - 1].ident;
            return self.error(name, format!("`Tensor::{name}` of a differentiated value is not differentiated; take the value as a `Tensor` parameter, compute with it as a float, or build the tensor outside the function"));
        }
        let mut args = Vec::new();
        let mut by_ref = Vec::new();
        let mut int_literal = Vec::new();
        let arg_spans = c.args.iter().map(|a| a.span()).collect();
        for a in &c.args {
            let (inner, r) = match a {
                Expr::Reference(r) if r.mutability.is_none() => (&*r.expr, true),
                // A struct leaf is a reference already; it is passed as it is.
                Expr::Path(p)
                    if p.path.get_ident().is_some_and(|id| {
                        self.sig.params.iter().any(|q| q.leaf && q.ident == *id)
                    }) =>
                {
                    (a, true)
                }
                other => (other, false),
            };
            // The callee's parameter may be an integer (`n: usize`), which only its signature
            // tells; a generic float has no such conversion.
            int_literal.push(
                !self.sig.generic_float
                    && matches!(
                        inner,
                        Expr::Lit(syn::ExprLit {
                            lit: Lit::Int(_),
                            ..
                        })
                    ),
            );
            args.push(self.expr(inner)?);
            by_ref.push(r);
        }
        self.g.calls.push(crate::ir::graph::CallSite {
            path: path.clone(),
            by_ref,
            arg_spans,
            int_literal,
            span: path.span(),
            method: false,
        });
        let k = (self.g.calls.len() - 1) as u32;
        Some(self.g.add_raw(Op::Call(k), args))
    }

    /// `base ** exponent`: an integer literal exponent is exact `powi`, anything else `powf`.
    fn pow(&mut self, base: &Expr, exponent: &Expr) -> Option<Id> {
        let b = self.expr(base)?;
        if let Some(n) = int_literal(exponent) {
            if let Ok(n) = i32::try_from(n) {
                return Some(self.g.unary(Op::Powi(n), b));
            }
        }
        let e = self.expr(exponent)?;
        if self.g.kind(e) == Kind::Int && !self.g.is_active(e) {
            // An integer exponent (`x**k`, `k: i32`): `powf` of it as a float, a constant.
            let float = &self.sig.float;
            let as_float: Expr =
                syn::parse_quote!(::autodiff::__private::lit::<#float>((#exponent) as f64));
            let ef = self.opaque(&as_float, Kind::Scalar);
            self.g.mark_constant(ef);
            return Some(self.g.binary(Op::Powf, b, ef));
        }
        Some(self.g.binary(Op::Powf, b, e))
    }

    fn cast(&mut self, whole: &Expr, c: &syn::ExprCast) -> Option<Id> {
        let target = c.ty.to_token_stream().to_string();
        let to_float = target == "f64" || target == "f32" || target == self.sig.float.to_string();
        if !self.touches_active(&c.expr) {
            return Some(self.opaque(
                whole,
                if to_float {
                    Kind::Scalar
                } else {
                    Kind::Unknown
                },
            ));
        }
        let v = self.expr(&c.expr)?;
        if to_float && self.g.kind(v) == Kind::Scalar {
            return Some(v);
        }
        if !self.g.is_active(v) {
            // `x.len() as f64`: reads a differentiated value's size, not its value.
            let id = self.opaque(
                whole,
                if to_float {
                    Kind::Scalar
                } else {
                    Kind::Unknown
                },
            );
            self.g.mark_constant(id);
            return Some(id);
        }
        self.error(&c.ty, format!("casting a differentiated value to `{target}` has no derivative; keep it a float (use `floor`, `round` or `trunc` for integral values)"))
    }

    fn index(&mut self, whole: &Expr, ix: &syn::ExprIndex) -> Option<Id> {
        let base = match strip(&ix.expr) {
            Expr::Path(p) => p
                .path
                .get_ident()
                .and_then(|id| self.lookup(&id.to_string()))
                .flatten(),
            _ => None,
        };
        let base = match base {
            Some(b) if matches!(self.g.kind(b), Kind::Array | Kind::Slice) => b,
            Some(b) if self.in_loop && self.g.kind(b) == Kind::Unknown && self.g.is_active(b) && !self.sig.params.iter().any(|p| p.leaf) => {
                return self.error(&ix.expr, "an element of a call's array result is read outside loops (`let p = polar(r, t); p[0]`); inside a loop, bind each element before the loop: `let p0 = p[0];`");
            }
            // An element of a call's `[T; M]` or `Vec<T>` result (`let p = polar(r, t); p[0]`).
            Some(b) if matches!(self.g[b].op, Op::Call(_)) && self.g.is_active(b) => {
                let at = match int_literal(&ix.index).and_then(|k| u32::try_from(k).ok()) {
                    Some(k) if !self.in_loop => return Some(self.g.add_raw(Op::Index(k), vec![b])),
                    _ => self.expr(&ix.index)?,
                };
                if self.g.is_active(at) || !matches!(self.g.kind(at), Kind::Int | Kind::Unknown) {
                    return self.error(&ix.index, "an index must be an integer that does not depend on a differentiated value");
                }
                return Some(self.g.add_raw(Op::IndexDyn, vec![b, at]));
            }
            // `self.layers[i]`: an element of a struct leaf, read in a loop (see `method.rs`).
            Some(b)
                if self.g.kind(b) == Kind::Unknown
                    && self.in_loop
                    && self.g.current == ROOT
                    && self.sig.params.iter().any(|p| p.leaf) =>
            {
                let at = self.expr(&ix.index)?;
                if self.g.is_active(at) || !matches!(self.g.kind(at), Kind::Int | Kind::Unknown) {
                    return self.error(&ix.index, "an index must be an integer that does not depend on a differentiated value, such as a loop variable `self.layers[i]`");
                }
                return Some(self.g.add_raw(Op::IndexDyn, vec![b, at]));
            }
            Some(b)
                if self.g.kind(b) == Kind::Unknown
                    && self.sig.params.iter().any(|p| p.leaf)
                    && self.touches_active(whole) =>
            {
                return self.error(&ix.index, "an element of a differentiated struct's field (`self.layers[i]`) can be read with a loop variable directly in a `for` body (inside an `if` or `match` there, bind it before: `let l = &self.layers[i];`, then `l.forward(h)`, `l.w`, or the float `*l`), or with an integer literal (`self.layers[0]`); outside a loop, pass the whole collection to a #[differentiable] method or function");
            }
            _ if !self.touches_active(whole) => return Some(self.opaque(whole, Kind::Unknown)),
            // `x.shape()[0]`: a size, a constant like `x.len()`.
            _ if matches!(strip(&ix.expr), Expr::MethodCall(m) if m.method == "shape" && m.args.is_empty()) =>
            {
                let id = self.opaque(whole, Kind::Int);
                self.g.mark_constant(id);
                return Some(id);
            }
            _ => {
                return self.error(
                    &ix.expr,
                    "only `[T; N]`, `&[T]` and `Vec<T>` values can be indexed in a #[differentiable] body",
                )
            }
        };
        // In a loop body, `w[0]` is read like `w[i]` (the loop's backward pass accumulates
        // the gradients of such reads).
        let literal = int_literal(&ix.index).and_then(|k| u32::try_from(k).ok());
        // An element of an array literal (`let v = [a, b]; v[0]`) is the element itself.
        if let (Some(k), Op::ArrayLit) = (literal, self.g[base].op) {
            if let Some(&el) = self.g[base].args.get(k as usize) {
                return Some(el);
            }
        }
        if let (Some(_), true) = (literal, self.in_loop) {
            // The literal lives at the top of the body, beside the sequence.
            let here = std::mem::replace(&mut self.g.current, ROOT);
            let at = self.opaque(&ix.index, Kind::Int);
            self.g.current = here;
            return Some(self.element_read(base, at));
        }
        if let Some(k) = literal {
            // Element reads live in the root block, beside the parameter.
            let here = std::mem::replace(&mut self.g.current, ROOT);
            let id = self.g.add_raw(Op::Index(k), vec![base]);
            self.g.current = here;
            return Some(id);
        }
        let at = self.expr(&ix.index)?;
        if !self.g.is_active(at) && self.g.kind(at) == Kind::Scalar {
            return self.error(
                &ix.index,
                "this index is a float here (integer literals are floats in a #[differentiable] body); declare the counter with its type: `let mut i: usize = 0;`",
            );
        }
        if self.g.is_active(at) || !matches!(self.g.kind(at), Kind::Int | Kind::Unknown) {
            return self.error(
                &ix.index,
                "an index must be an integer that does not depend on a differentiated value, such as a loop variable `x[i]` or `x[n - 1 - i]`",
            );
        }
        Some(self.element_read(base, at))
    }

    /// `base[at]`; inside an `if` arm, with a twin read at the top of the body when both are
    /// defined there (see `Graph::element_slots`).
    fn element_read(&mut self, base: Id, at: Id) -> Id {
        let read = self.g.add_raw(Op::IndexDyn, vec![base, at]);
        let top = |g: &Graph, id: Id| g.block_of(id) == ROOT;
        if self.g.current != ROOT
            && top(&self.g, base)
            && top(&self.g, at)
            && self.g.kind(read) == Kind::Scalar
            && self.g.is_active(read)
        {
            let here = std::mem::replace(&mut self.g.current, ROOT);
            let slot = self.g.add_raw(Op::IndexDyn, vec![base, at]);
            self.g.current = here;
            self.g.element_slots.insert(read, slot);
        }
        read
    }

    /// A `for` loop over an integer range. Its body becomes a graph of its own (see
    /// `LoopInfo`); the variables it assigns are carried from one iteration to the next.
    fn for_loop(&mut self, f: &syn::ExprForLoop) {
        if let Some(label) = &f.label {
            self.error(
                label,
                "loop labels are not supported in a #[differentiable] body (nor `break`); remove the label",
            );
            return;
        }
        let range = match strip(&f.expr) {
            Expr::Range(r) if matches!(&*f.pat, Pat::Ident(_) | Pat::Wild(_)) => r,
            _ => {
                // Over a sequence or an iterator chain: a loop over its indices.
                let closures = self.closures.clone();
                let find = |n: &str| {
                    closures
                        .iter()
                        .rev()
                        .find(|c| c.name == n)
                        .map(|c| c.closure.clone())
                };
                match desugar::for_chain(f, &find) {
                    Ok((lo, hi, lp)) => {
                        let lo = self.trusted_bound(&lo);
                        let hi = self.trusted_bound(&hi);
                        if let (Some(lo), Some(hi)) = (lo, hi) {
                            self.loop_with(&lp, lo, hi, false);
                        }
                    }
                    Err(e) => {
                        self.desugar_error(e);
                    }
                }
                return;
            }
        };
        let (Some(lo), Some(hi)) = (&range.start, &range.end) else {
            self.error(range, "a loop range needs both bounds, as in `0..n`");
            return;
        };
        let (Some(lo), Some(hi)) = (self.bound(lo), self.bound(hi)) else {
            return;
        };
        let inclusive = matches!(range.limits, syn::RangeLimits::Closed(_));
        self.loop_with(f, lo, hi, inclusive);
    }

    /// The loop `f` over `lo..hi` (`..=` if `inclusive`); its range as written is not read.
    fn loop_with(&mut self, f: &syn::ExprForLoop, lo: Id, hi: Id, inclusive: bool) {
        self.loop_general(f, lo, hi, inclusive, None)
    }

    /// A loop: over `lo..hi`, or, with `cond`, while `cond` holds (`f`'s body then reads the
    /// condition as `__ad_while`, see `LoopInfo::while_cond`).
    fn loop_general(
        &mut self,
        f: &syn::ExprForLoop,
        lo: Id,
        hi: Id,
        inclusive: bool,
        cond: Option<&Expr>,
    ) {
        let var = match &*f.pat {
            Pat::Ident(p) if p.subpat.is_none() && p.by_ref.is_none() && p.mutability.is_none() => {
                crate::parse::sig::generated_binding(&p.ident).to_token_stream()
            }
            Pat::Wild(w) => w.to_token_stream(),
            other => {
                self.error(other, "a `for` loop variable must be a name, such as `i`");
                return;
            }
        };

        // The body's inputs: every variable in scope (the unused ones cost nothing).
        let inputs: Vec<(usize, String, Id)> = self
            .env
            .iter()
            .enumerate()
            .filter_map(|(pos, (name, v))| v.map(|v| (pos, name.clone(), v)))
            .collect();
        let mut assigned = Assigned::default();
        syn::visit::Visit::visit_block(&mut assigned, &f.body);
        let any_active = inputs.iter().any(|(_, _, v)| self.g.is_active(*v));
        let mut infos: Vec<ParamInfo> = inputs
            .iter()
            .map(|(_, name, v)| {
                let kind = self.g.kind(*v);
                // A float assigned in the body carries gradient once any input does.
                let carries = any_active
                    && assigned.0.contains(name)
                    && matches!(kind, Kind::Scalar | Kind::Tensor | Kind::Unknown);
                ParamInfo {
                    kind,
                    active: self.g.is_active(*v) || carries,
                }
            })
            .collect();
        infos.push(ParamInfo {
            kind: Kind::Int,
            active: false,
        });
        let mut body_graph = Graph::new(infos, Kind::Unknown);
        let params: Vec<Id> = (0..inputs.len()).map(|p| body_graph.param(p)).collect();
        let var_param = inputs.len();
        let var_id = body_graph.param(var_param);
        let mut env: Vec<(String, Option<Id>)> = inputs
            .iter()
            .zip(&params)
            .map(|((_, name, _), &p)| (name.clone(), Some(p)))
            .collect();
        if let Pat::Ident(p) = &*f.pat {
            env.push((p.ident.to_string(), Some(var_id)));
        }
        let mut body = Lower {
            g: body_graph,
            errors: self.errors,
            env,
            sig: self.sig,
            failed: false,
            closures: self.closures.clone(),
            refs: self.refs.clone(),
            in_loop: true,
        };
        let mut while_cond = None;
        if let Some(c) = cond {
            match body.condition(c) {
                Some(v) => {
                    while_cond = Some(v);
                    body.env.push(("__ad_while".to_string(), Some(v)));
                }
                None => {
                    self.failed = true;
                    return;
                }
            }
        }
        body.scoped(&f.body.stmts, Mode::Inner);
        if body.failed {
            self.failed = true;
            return;
        }
        let carried: Vec<(usize, Id)> = (0..inputs.len())
            .filter_map(|p| match body.env[p].1 {
                Some(v) if v != params[p] => Some((p, v)),
                _ => None,
            })
            .collect();
        let mut body_graph = body.g;
        // One seed parameter per carried variable: the adjoint of its value after an iteration.
        let mut seeds = Vec::new();
        let mut seed_pairs = Vec::new();
        for &(_, out) in &carried {
            let kind = body_graph.kind(out);
            body_graph.params.push(ParamInfo {
                kind,
                active: false,
            });
            let idx = body_graph.params.len() - 1;
            let seed = body_graph.param(idx);
            seeds.push(idx);
            if matches!(kind, Kind::Scalar | Kind::Tensor | Kind::Unknown) {
                seed_pairs.push((out, seed));
            }
        }
        let adj = if any_active && !seed_pairs.is_empty() {
            match crate::diff::reverse_from(&mut body_graph, &seed_pairs) {
                Ok(adj) => Some(adj),
                Err(list) => {
                    for e in list {
                        self.errors
                            .at_span(e.span.unwrap_or(f.for_token.span), e.message);
                    }
                    self.failed = true;
                    return;
                }
            }
        } else {
            None
        };
        let k = self.g.loops.len() as u32;
        self.g.loops.push(LoopInfo {
            body: body_graph,
            var,
            inclusive,
            n_inputs: inputs.len(),
            carried: carried.clone(),
            seeds,
            adj,
            while_cond,
        });
        let mut args = vec![lo, hi];
        args.extend(inputs.iter().map(|(_, _, v)| *v));
        let loop_id = self.g.add_raw(Op::Loop(k), args);
        for (j, &(p, out)) in carried.iter().enumerate() {
            let id = self.g.add_raw(Op::LoopOut(j as u32), vec![loop_id]);
            if !self.g.loops[k as usize].body.is_active(out) {
                self.g.mark_constant(id);
            }
            let (pos, name, _) = &inputs[p];
            if !name.starts_with("__ad_") {
                self.g.names.entry(id).or_insert_with(|| name.clone());
            }
            self.env[*pos].1 = Some(id);
        }
    }

    /// Statements written by the rewriting, lowered in the current scope (their `let`s stay
    /// visible: they are the rewriting's own names).
    fn env_scope_stmts(&mut self, stmts: &[Stmt]) {
        if let Flow::Return(_) = self.stmts(stmts, Mode::Inner) {
            self.failed = true;
        }
    }

    /// `while cond { body }`: a loop whose body is `if cond { body }`, run until the
    /// condition is false (`LoopInfo::while_cond`). `break` and `continue` are flags.
    fn while_loop(&mut self, w: &syn::ExprWhile) {
        if let Some(label) = &w.label {
            self.error(label, "loop labels are not supported in a #[differentiable] body; remove the label (a `break` leaves the innermost loop)");
            return;
        }
        if let Expr::Let(l) = strip(&w.cond) {
            self.error(l.let_token, "`while let` is not supported in a #[differentiable] body; write `while cond { .. }` with a test, or a `for` loop over the items");
            return;
        }
        let (pre, cond, lp) = match desugar::while_parts(w) {
            Ok(parts) => parts,
            Err(e) => {
                self.desugar_error(e);
                return;
            }
        };
        self.env_scope_stmts(&pre);
        if self.failed {
            return;
        }
        let zero: Expr = syn::parse_quote!(0);
        let lo = self.opaque(&zero, Kind::Int);
        self.loop_general(&lp, lo, lo, false, Some(&cond));
    }

    /// `x.len()` and other sizes: they read a differentiated value's shape, not its value.
    fn is_size(&self, e: &Expr) -> bool {
        matches!(strip(e), Expr::MethodCall(m) if m.args.is_empty() && matches!(m.method.to_string().as_str(), "len" | "ndim"))
    }

    /// A loop bound: an integer that does not depend on a differentiated value.
    fn bound(&mut self, e: &Expr) -> Option<Id> {
        if int_literal(e).is_some() {
            return Some(self.opaque(e, Kind::Int));
        }
        if let Expr::Cast(c) = strip(e) {
            if self.touches_active(&c.expr) && !self.is_size(&c.expr) {
                return self.error(e, "loop bounds must not depend on a differentiated value; pass the number of steps as a `usize` parameter");
            }
        }
        let v = self.expr(e)?;
        if self.g.is_active(v) {
            return self.error(e, "loop bounds must not depend on a differentiated value");
        }
        if self.g.kind(v) != Kind::Int {
            if let Some(c) = self.g.as_const(v) {
                // `let n = 3; 0..n`: the literal was read as a float; the bound is its integer.
                if c >= 0.0 && c.fract() == 0.0 && c < 1e15 {
                    let n = proc_macro2::Literal::u64_unsuffixed(c as u64);
                    let lit: Expr = syn::parse_quote!(#n);
                    return Some(self.opaque(&lit, Kind::Int));
                }
                return Some(self.opaque(e, Kind::Int));
            }
        }
        Some(v)
    }

    /// Whether `e` reads a local variable or parameter that depends on a differentiated one.
    fn touches_active(&self, e: &impl ToTokens) -> bool {
        let tokens = e.to_token_stream();
        let mut found = false;
        self.visit_locals(tokens.clone(), &mut |_, id| {
            found |= id.is_some_and(|id| self.g.is_active(id))
        });
        // A closure is inlined, never kept as written.
        found || self.closures.iter().any(|c| mentions(&tokens, &c.name))
    }

    fn visit_locals(&self, tokens: TokenStream, f: &mut dyn FnMut(&Ident, Option<Id>)) {
        self.visit_locals_in(tokens, &[], Binders::Plain, f)
    }

    /// `visit_locals` where `shadowed` are names bound around `tokens` (by a closure, a
    /// `match` arm, an `if let`); `arms`: `tokens` are a `match`'s arms.
    fn visit_locals_in(
        &self,
        tokens: TokenStream,
        shadowed: &[String],
        arms: Binders,
        f: &mut dyn FnMut(&Ident, Option<Id>),
    ) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let scopes = binder_scopes(&trees, arms);
        for (i, tt) in trees.iter().enumerate() {
            match tt {
                TokenTree::Group(g) => self.visit_locals_in(
                    g.stream(),
                    &bound_at(&scopes, shadowed, i),
                    is_match_body(&trees, i),
                    f,
                ),
                TokenTree::Ident(id) if is_local_position(&trees, i) => {
                    let name = id.to_string();
                    if is_bound(&scopes, shadowed, i, &name) {
                        continue;
                    }
                    if let Some(v) = self.lookup(&name) {
                        f(id, v);
                    }
                }
                _ => {}
            }
        }
    }

    /// An expression kept as written, reading the current values of the locals it names.
    /// A condition kept as written, each comparison of a value that is not an integer with an
    /// integer literal (`self.t > 0`, `x > 1` of a constant float) written with the literal
    /// in the value's type (`literal_like`), since integer literals are floats in a body but
    /// rustc reads them as integers in code kept as written. Integers compare as written.
    fn typed_literals(&mut self, e: &Expr) -> Expr {
        match e {
            Expr::Paren(p) => {
                let inner = self.typed_literals(&p.expr);
                syn::parse_quote!((#inner))
            }
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Not(_)) => {
                let inner = self.typed_literals(&u.expr);
                syn::parse_quote!(!#inner)
            }
            Expr::Binary(b) if matches!(b.op, BinOp::And(_) | BinOp::Or(_)) => {
                let (l, r) = (self.typed_literals(&b.left), self.typed_literals(&b.right));
                let op = &b.op;
                syn::parse_quote!(#l #op #r)
            }
            Expr::Binary(b)
                if comparison(&b.op).is_some()
                    && (is_int_literal(&b.left) != is_int_literal(&b.right)) =>
            {
                let (lit, other, lit_left) = match is_int_literal(&b.left) {
                    true => (&b.left, &b.right, true),
                    false => (&b.right, &b.left, false),
                };
                let is_int = self
                    .expr(other)
                    .is_some_and(|id| self.g.kind(id) == Kind::Int);
                if is_int {
                    return e.clone();
                }
                let like: Expr =
                    syn::parse_quote!(::autodiff::__private::literal_like(|| #other, #lit));
                let op = &b.op;
                match lit_left {
                    true => syn::parse_quote!(#like #op #other),
                    false => syn::parse_quote!(#other #op #like),
                }
            }
            _ => e.clone(),
        }
    }

    fn opaque(&mut self, e: &Expr, kind: Kind) -> Id {
        let (k, deps) = self.opaque_entry(e, kind);
        let id = self.g.add_raw(Op::Opaque(k), deps);
        // Integers and booleans never carry a gradient.
        if matches!(kind, Kind::Int | Kind::Bool) {
            self.g.mark_constant(id);
        }
        id
    }

    fn opaque_entry(&mut self, e: &Expr, kind: Kind) -> (u32, Vec<Id>) {
        let mut deps = Vec::new();
        let tokens = self.substitute(e.to_token_stream(), &mut deps);
        self.g.opaques.push(Opaque {
            tokens,
            span: e.span(),
            kind,
        });
        ((self.g.opaques.len() - 1) as u32, deps)
    }

    fn substitute(&self, tokens: TokenStream, deps: &mut Vec<Id>) -> TokenStream {
        self.substitute_in(tokens, &[], Binders::Plain, deps)
    }

    /// `substitute` where `shadowed` are names bound around `tokens` (`|v| **v > t` reads the
    /// local `t`, not a local `v`; likewise `match` arms and `if let`); `arms`: `tokens` are
    /// a `match`'s arms.
    fn substitute_in(
        &self,
        tokens: TokenStream,
        shadowed: &[String],
        arms: Binders,
        deps: &mut Vec<Id>,
    ) -> TokenStream {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let scopes = binder_scopes(&trees, arms);
        let mut out = Vec::with_capacity(trees.len());
        for (i, tt) in trees.iter().enumerate() {
            match tt {
                TokenTree::Group(g) => {
                    let inner = self.substitute_in(
                        g.stream(),
                        &bound_at(&scopes, shadowed, i),
                        is_match_body(&trees, i),
                        deps,
                    );
                    let mut ng = proc_macro2::Group::new(g.delimiter(), inner);
                    ng.set_span(g.span());
                    out.push(TokenTree::Group(ng));
                }
                TokenTree::Ident(id) if id == POW => {
                    out.extend(quote!(::autodiff::__private::pow));
                }
                TokenTree::Ident(id)
                    if is_local_position(&trees, i)
                        && !is_bound(&scopes, shadowed, i, &id.to_string()) =>
                {
                    match self.lookup(&id.to_string()) {
                        Some(Some(v)) => {
                            let k = deps.iter().position(|&d| d == v).unwrap_or_else(|| {
                                deps.push(v);
                                deps.len() - 1
                            });
                            out.push(TokenTree::Ident(Ident::new(
                                &format!("__ad_ref{k}"),
                                id.span(),
                            )));
                        }
                        _ => out.push(tt.clone()),
                    }
                }
                _ => out.push(tt.clone()),
            }
        }
        out.into_iter().collect()
    }
}

/// The names bound at this level of `trees` and where: a closure's parameters (`|v| ..`,
/// `move |(i, w)| ..`) from its first `|` to the next `,` at this level or the end; an
/// `if let` pattern in the pattern and the block after it; and, when `trees` are a `match`'s
/// arms (`arms`), each arm's pattern in the arm. Each entry: a token range and the names.
fn binder_scopes(trees: &[TokenTree], arms: Binders) -> Vec<(usize, usize, Vec<String>)> {
    let punct =
        |j: usize, c: char| matches!(trees.get(j), Some(TokenTree::Punct(p)) if p.as_char() == c);
    let brace = |j: usize| matches!(trees.get(j), Some(TokenTree::Group(g)) if g.delimiter() == proc_macro2::Delimiter::Brace);
    let names_in = |range: std::ops::Range<usize>| {
        let mut names = Vec::new();
        for t in &trees[range] {
            collect_idents(t, &mut names);
        }
        names
    };
    let mut scopes = Vec::new();
    if arms == Binders::MatchesArgs {
        // `matches!(e, pat if guard)`: the pattern binds in itself and the guard.
        if let Some(comma) = (0..trees.len()).find(|&j| punct(j, ',')) {
            let guard = (comma..trees.len())
                .find(|&j| matches!(&trees[j], TokenTree::Ident(id) if id == "if"));
            let names = names_in(comma + 1..guard.unwrap_or(trees.len()));
            scopes.push((comma + 1, trees.len(), names));
        }
        return scopes;
    }
    if arms == Binders::Arms {
        let mut start = 0;
        while start < trees.len() {
            // `pat (if guard)? => body`, the body a block or up to the next `,`.
            let Some(arrow) = (start..trees.len()).find(|&j| punct(j, '=') && punct(j + 1, '>'))
            else {
                break;
            };
            let guard =
                (start..arrow).find(|&j| matches!(&trees[j], TokenTree::Ident(id) if id == "if"));
            let names = names_in(start..guard.unwrap_or(arrow));
            let end = if brace(arrow + 2) {
                arrow + 3
            } else {
                (arrow + 2..trees.len())
                    .find(|&j| punct(j, ','))
                    .unwrap_or(trees.len())
            };
            scopes.push((start, end, names));
            start = end + usize::from(punct(end, ','));
        }
        return scopes;
    }
    let mut i = 0;
    while i < trees.len() {
        // `if let pat = expr { .. }`: the pattern and the block, not the expression.
        let if_let = matches!(&trees[i], TokenTree::Ident(id) if id == "let")
            && matches!(i.checked_sub(1).map(|p| &trees[p]), Some(TokenTree::Ident(id)) if id == "if" || id == "while");
        let eq = if_let
            .then(|| {
                (i + 1..trees.len()).find(|&j| {
                    matches!(&trees[j], TokenTree::Punct(p) if p.as_char() == '=' && p.spacing() == proc_macro2::Spacing::Alone)
                })
            })
            .flatten();
        if let Some(eq) = eq {
            let names = names_in(i + 1..eq);
            if let Some(body) = (eq + 1..trees.len()).find(|&j| brace(j)) {
                scopes.push((body, body + 1, names.clone()));
            }
            scopes.push((i + 1, eq, names));
            i = eq + 1;
            continue;
        }
        let starts = punct(i, '|')
            && match i.checked_sub(1).map(|p| &trees[p]) {
                None => true,
                Some(TokenTree::Punct(p)) => matches!(p.as_char(), ',' | '=' | '('),
                Some(TokenTree::Ident(id)) => id == "move",
                _ => false,
            };
        if !starts {
            i += 1;
            continue;
        }
        let Some(close) = (i + 1..trees.len()).find(|&j| punct(j, '|')) else {
            break;
        };
        let names = names_in(i + 1..close);
        let end = (close..trees.len())
            .find(|&j| punct(j, ','))
            .unwrap_or(trees.len());
        scopes.push((i, end, names));
        i = close + 1;
    }
    scopes
}

/// What binds names in a token stream besides closures and `if let`: nothing more, a
/// `match`'s arms, or the arguments of `matches!(e, pat)`.
#[derive(Clone, Copy, PartialEq)]
enum Binders {
    Plain,
    Arms,
    MatchesArgs,
}

/// What the group at `i` is: a `match`'s arms (`match` before it at this level, with no
/// block or `;` between), the arguments of `matches!`, or neither.
fn is_match_body(trees: &[TokenTree], i: usize) -> Binders {
    let TokenTree::Group(g) = &trees[i] else {
        return Binders::Plain;
    };
    if g.delimiter() == proc_macro2::Delimiter::Parenthesis && i >= 2 {
        let bang = matches!(&trees[i - 1], TokenTree::Punct(p) if p.as_char() == '!');
        if bang && matches!(&trees[i - 2], TokenTree::Ident(id) if id == "matches") {
            return Binders::MatchesArgs;
        }
    }
    if g.delimiter() != proc_macro2::Delimiter::Brace {
        return Binders::Plain;
    }
    for t in trees[..i].iter().rev() {
        match t {
            TokenTree::Ident(id) if id == "match" => return Binders::Arms,
            TokenTree::Group(g) if g.delimiter() == proc_macro2::Delimiter::Brace => {
                return Binders::Plain
            }
            TokenTree::Punct(p) if p.as_char() == ';' => return Binders::Plain,
            _ => {}
        }
    }
    Binders::Plain
}

fn collect_idents(t: &TokenTree, out: &mut Vec<String>) {
    match t {
        TokenTree::Ident(id) => out.push(id.to_string()),
        TokenTree::Group(g) => g.stream().into_iter().for_each(|t| collect_idents(&t, out)),
        _ => {}
    }
}

/// The names bound by closures around position `i`: `shadowed` from outside, and those of
/// this level's closures whose scope holds `i`. Borrowed when no closure of this level does.
fn bound_at<'a>(
    scopes: &[(usize, usize, Vec<String>)],
    shadowed: &'a [String],
    i: usize,
) -> std::borrow::Cow<'a, [String]> {
    let mut around = scopes
        .iter()
        .filter(|(start, end, _)| (*start..*end).contains(&i));
    let Some(first) = around.next() else {
        return std::borrow::Cow::Borrowed(shadowed);
    };
    let mut out = shadowed.to_vec();
    for (_, _, names) in std::iter::once(first).chain(around) {
        out.extend(names.iter().cloned());
    }
    std::borrow::Cow::Owned(out)
}

/// Whether `name` at position `i` is bound by a closure (see `bound_at`).
fn is_bound(
    scopes: &[(usize, usize, Vec<String>)],
    shadowed: &[String],
    i: usize,
    name: &str,
) -> bool {
    shadowed.iter().any(|s| s == name)
        || scopes.iter().any(|(start, end, names)| {
            (*start..*end).contains(&i) && names.iter().any(|n| n == name)
        })
}

/// Names assigned (`x = ..`, `x += ..`) anywhere in a loop body.
#[derive(Default)]
struct Assigned(std::collections::HashSet<String>);

impl<'ast> syn::visit::Visit<'ast> for Assigned {
    fn visit_expr(&mut self, e: &'ast Expr) {
        let target = match e {
            Expr::Assign(a) => Some(&*a.left),
            Expr::Binary(b) if compound(&b.op).is_some() => Some(&*b.left),
            _ => None,
        };
        if let Some(Expr::Path(p)) = target {
            if let Some(id) = p.path.get_ident() {
                self.0.insert(id.to_string());
            }
        }
        syn::visit::visit_expr(self, e);
    }
}

/// Whether `tokens` name the local `name`.
pub(crate) fn mentions(tokens: &TokenStream, name: &str) -> bool {
    let trees: Vec<TokenTree> = tokens.clone().into_iter().collect();
    trees.iter().enumerate().any(|(i, tt)| match tt {
        TokenTree::Group(g) => mentions(&g.stream(), name),
        TokenTree::Ident(id) => id == name && is_local_position(&trees, i),
        _ => false,
    })
}

/// An integer type: `usize`, `i32`, ...
fn is_int_type(t: &syn::Type) -> bool {
    matches!(t, syn::Type::Path(p) if p.qself.is_none() && p.path.get_ident().is_some_and(|id| super::sig::is_integer_name(&id.to_string())))
}

/// Whether a `let` binds a closure.
fn is_closure_let(local: &syn::Local) -> bool {
    matches!(
        local.init.as_ref().map(|i| strip(&i.expr)),
        Some(Expr::Closure(_))
    )
}

/// The names a pattern binds.
fn pat_names(p: &Pat, out: &mut Vec<String>) {
    match p {
        Pat::Ident(i) => out.push(i.ident.to_string()),
        Pat::Type(t) => pat_names(&t.pat, out),
        Pat::Reference(r) => pat_names(&r.pat, out),
        Pat::Paren(p) => pat_names(&p.pat, out),
        Pat::Tuple(t) => t.elems.iter().for_each(|e| pat_names(e, out)),
        _ => {}
    }
}

fn strip(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => strip(&p.expr),
        Expr::Group(g) => strip(&g.expr),
        other => other,
    }
}

/// An identifier that can name a local: not a field or method after `.`, not a path segment.
fn is_local_position(trees: &[TokenTree], i: usize) -> bool {
    let punct =
        |j: usize, c: char| matches!(trees.get(j), Some(TokenTree::Punct(p)) if p.as_char() == c);
    let after_dot = i > 0 && punct(i - 1, '.') && !(i > 1 && punct(i - 2, '.'));
    let after_path = i > 1 && punct(i - 1, ':') && punct(i - 2, ':');
    let before_path = punct(i + 1, ':') && punct(i + 2, ':');
    // `name!(..)`, not `i != 1` (whose `!` is joined to the `=`).
    let macro_name = matches!(trees.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == '!' && p.spacing() == proc_macro2::Spacing::Alone);
    !(after_dot || after_path || before_path || macro_name)
}

/// An integer literal, possibly negated or in parentheses.
fn int_literal(e: &Expr) -> Option<i64> {
    match e {
        Expr::Lit(l) => match &l.lit {
            Lit::Int(i) => i.base10_parse().ok(),
            _ => None,
        },
        Expr::Unary(u) if matches!(u.op, UnOp::Neg(_)) => int_literal(&u.expr).map(|n| -n),
        Expr::Paren(p) => int_literal(&p.expr),
        Expr::Group(g) => int_literal(&g.expr),
        _ => None,
    }
}

fn compound(op: &BinOp) -> Option<Op> {
    match op {
        BinOp::AddAssign(_) => Some(Op::Add),
        BinOp::SubAssign(_) => Some(Op::Sub),
        BinOp::MulAssign(_) => Some(Op::Mul),
        BinOp::DivAssign(_) => Some(Op::Div),
        _ => None,
    }
}

/// The graph's op of a comparison operator.
fn comparison(op: &BinOp) -> Option<Op> {
    match op {
        BinOp::Lt(_) => Some(Op::Lt),
        BinOp::Le(_) => Some(Op::Le),
        BinOp::Gt(_) => Some(Op::Gt),
        BinOp::Ge(_) => Some(Op::Ge),
        BinOp::Eq(_) => Some(Op::Eq),
        BinOp::Ne(_) => Some(Op::Ne),
        _ => None,
    }
}

/// An integer literal without a float suffix (`1`, `0usize`, `-1`).
fn is_int_literal(e: &Expr) -> bool {
    int_literal(e).is_some()
}
