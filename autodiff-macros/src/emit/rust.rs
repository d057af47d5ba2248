//! Graph → Rust statements.
//!
//! Each needed node becomes one `let __tN = ...;` in id order (so operands come first);
//! parameters and constants are written in place. Nodes of an `if` arm are written inside
//! that arm, and the arm's `Phi`s become the values of one `let (..) = if c { .. } else { .. };`.
//! Scalar arithmetic is written with operators and float methods; anything that may be a
//! tensor goes through `::autodiff::__private`, whose traits work for every value type.

use rustc_hash::FxHashSet;
use std::fmt::Write;

use proc_macro2::{Literal, TokenStream, TokenTree};
use quote::{format_ident, quote, ToTokens};

use crate::ir::graph::ROOT;
use crate::ir::ops::{self, Style};
use crate::ir::{BlockId, Graph, Id, Kind, Op};
use crate::names;
use crate::parse::sig::Sig;

pub(crate) struct Emitter<'a> {
    g: &'a Graph,
    sig: &'a Sig,
    needed: Vec<bool>,
    /// Nodes written in place at the end (a result used nowhere else) instead of in a `let`.
    inline: FxHashSet<Id>,
    done_branches: FxHashSet<u32>,
    /// Final values already moved out (a second use clones).
    moved: std::cell::RefCell<FxHashSet<Id>>,
    /// How each parameter is written, and whether it is a reference.
    params: Vec<(TokenStream, bool)>,
    /// The same as source text, for statements written as text (see `block`).
    param_text: Vec<String>,
    /// Prefix of generated names: `__t` in a function, `__l0_t` in loop 0's body.
    prefix: String,
    /// How many needed nodes read each node.
    uses: Vec<u32>,
    /// The last needed node (in id order, which is the order of the statements) reading each
    /// node; a root counts as read after every node.
    last_reader: Vec<Option<Id>>,
    /// Writing over hyper-dual numbers (`sig.float` is `HyperDual<F>`): every scalar is one.
    /// Constants computed as written and elements read from data become constant hyper-dual
    /// numbers, the scalars an expression kept as written reads are their values, and calls
    /// go to the callees' `__g_dual`, each scalar converted into its slot's type.
    dual: bool,
    /// In hyper-dual code: constants of unknown type that differentiated arithmetic reads
    /// (`PI * x`), so floats, written as constant hyper-dual numbers.
    lifted: FxHashSet<Id>,
    /// The needed nodes of each block, in id order (so each block's statements are found
    /// without a scan of the whole graph).
    members: Vec<Vec<Id>>,
}

impl<'a> Emitter<'a> {
    /// Prepares to write the nodes that `roots` depend on.
    pub fn new(g: &'a Graph, sig: &'a Sig, roots: &[Id]) -> Emitter<'a> {
        let params = sig
            .params
            .iter()
            .map(|p| (p.ident.to_token_stream(), p.by_ref))
            .collect();
        Emitter::with_params(g, sig, roots, params, "__".to_string())
    }

    /// An emitter for a loop body, whose parameters are written as given.
    pub(crate) fn with_params(
        g: &'a Graph,
        sig: &'a Sig,
        roots: &[Id],
        params: Vec<(TokenStream, bool)>,
        prefix: String,
    ) -> Emitter<'a> {
        let mut needed = vec![false; g.len()];
        let mut stack: Vec<Id> = roots.to_vec();
        while let Some(id) = stack.pop() {
            if std::mem::replace(&mut needed[id.index()], true) {
                continue;
            }
            match g[id].op {
                // A backward loop needs the forward loop only for its tape.
                Op::LoopPullback(k)
                    if taped_carried(g, k).is_empty()
                        && g.loops[k as usize].while_cond.is_none() =>
                {
                    let the_loop = g[id].args[0];
                    stack.extend(g[the_loop].args.iter().copied());
                    stack.extend(g[id].args[1..].iter().copied());
                }
                _ => stack.extend(g[id].args.iter().copied()),
            }
            if let Op::Phi(b) = g[id].op {
                stack.push(g.branches[b as usize].cond);
            }
        }
        // Readers of each node among the needed ones; a root counts as read (it is returned).
        // One plain loop: iterator adaptors cost several times as much in the macro's debug
        // build, and this runs over the whole graph once per generated item.
        let mut uses = vec![0u32; g.len()];
        let mut last_reader = vec![None; g.len()];
        let mut members = vec![Vec::new(); g.blocks.len()];
        for (i, &need) in needed.iter().enumerate() {
            if need {
                let id = g.id(i);
                members[g.block_of(id).0 as usize].push(id);
                for &a in &g[id].args {
                    uses[a.index()] += 1;
                    last_reader[a.index()] = Some(id);
                }
            }
        }
        for &r in roots {
            uses[r.index()] += 1;
            last_reader[r.index()] = None;
        }
        let param_text = params.iter().map(|(p, _)| p.to_string()).collect();
        Emitter {
            g,
            sig,
            needed,
            inline: FxHashSet::default(),
            done_branches: FxHashSet::default(),
            moved: Default::default(),
            params,
            param_text,
            prefix,
            uses,
            last_reader,
            dual: false,
            lifted: FxHashSet::default(),
            members,
        }
    }

    /// The same emitter, writing over hyper-dual numbers (see `dual`).
    pub(crate) fn over_dual(mut self) -> Emitter<'a> {
        self.mark_dual();
        self
    }

    fn mark_dual(&mut self) {
        self.dual = true;
        let g = self.g;
        for id in g.ids().filter(|id| self.needed[id.index()]) {
            // A call takes its arguments as written; a loop's inputs are lifted where the body
            // reads them as floats (a constant `Vec` or a `usize` bound stays what it is).
            if !g.is_active(id) || matches!(g[id].op, Op::Call(_) | Op::Loop(_)) {
                continue;
            }
            for &a in &g[id].args {
                if g.kind(a) == Kind::Unknown && !g.is_active(a) && matches!(g[a].op, Op::Opaque(_))
                {
                    self.lifted.insert(a);
                }
            }
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
        let mut code = Code::default();
        self.block(ROOT, &mut code);
        code.finish()
    }

    /// `statements`, written into `code`.
    pub fn write_statements(&mut self, code: &mut Code) {
        self.block(ROOT, code);
    }

    /// Writes the statements of one block. Statements are source text, lexed once at the end
    /// (building them token by token cost one proc-macro bridge call per small token stream,
    /// and dominated expansion time); what cannot be text (user tokens, calls, loops, fused
    /// kernels) is spliced in as tokens.
    fn block(&mut self, block: BlockId, code: &mut Code) {
        let members = std::mem::take(&mut self.members[block.0 as usize]);
        for &id in &members {
            if self.inline.contains(&id) {
                continue;
            }
            match self.g[id].op {
                // `NoGrad` is written in place, where its slot gives it a type.
                Op::Param(_) | Op::Const(_) | Op::Cotangent | Op::NoGrad => {}
                Op::Phi(b) => {
                    if self.done_branches.insert(b) {
                        self.branch(b, &members, code);
                    }
                }
                _ => {
                    code.text.push_str("let ");
                    self.name_text(id, &mut code.text);
                    code.text.push_str(" = ");
                    if !self.expr_text(id, &mut code.text) {
                        code.splice(self.special(id));
                    }
                    code.text.push(';');
                }
            }
        }
        self.members[block.0 as usize] = members;
    }

    /// `let (__tA, __tB) = if c { ..; (a1, b1) } else { ..; (a2, b2) };` for every needed Phi
    /// of branch `b`; the Phis are among `members`, the needed nodes of the parent block.
    fn branch(&mut self, b: u32, members: &[Id], code: &mut Code) {
        let phis: Vec<Id> = members
            .iter()
            .copied()
            .filter(|&id| self.g[id].op == Op::Phi(b))
            .collect();
        let br = self.g.branches[b as usize].clone();
        let tuple = |out: &mut String, items: &mut dyn FnMut(&mut String, Id)| {
            if phis.len() > 1 {
                out.push('(');
            }
            for (i, &p) in phis.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                items(out, p);
            }
            if phis.len() > 1 {
                out.push(')');
            }
        };
        code.text.push_str("let ");
        tuple(&mut code.text, &mut |out, p| self.name_text(p, out));
        code.text.push_str(" = if ");
        self.operand_text(br.cond, false, &mut code.text);
        for (arm, block) in [(0, br.then_block), (1, br.else_block)] {
            code.text
                .push_str(if arm == 0 { " { " } else { " } else { " });
            self.block(block, code);
            // A value computed in this arm is moved out (once); anything else is copied.
            let mut seen = FxHashSet::default();
            tuple(&mut code.text, &mut |out, p| {
                let v = self.g[p].args[arm];
                if self.g.block_of(v) == block && seen.insert(v) {
                    self.operand_text(v, false, out);
                } else {
                    self.owned_text(v, out);
                }
            });
        }
        code.text.push_str(" };");
    }

    /// A name for something of loop k: `__l0_tape`, `__l0_c3`.
    fn loop_name(&self, k: u32, what: &str) -> proc_macro2::Ident {
        format_ident!("{}l{}_{}", self.prefix, k, what)
    }

    /// A node as an operand, by value: a name, a parameter or a literal.
    pub fn operand(&self, id: Id) -> TokenStream {
        self.lexed(|out| self.operand_text(id, false, out))
    }

    /// Whether the node's value is already a reference (`&Tensor` parameter, cotangent).
    fn is_ref(&self, id: Id) -> bool {
        match self.g[id].op {
            Op::Param(i) => self.params[i as usize].1,
            Op::Cotangent => self.sig.ret_kind == Kind::Tensor,
            _ => false,
        }
    }

    /// A parameter standing for a struct leaf (`__leaf0`, see `method.rs`), also as a loop
    /// input.
    fn is_leaf_param(&self, id: Id) -> bool {
        let Op::Param(i) = self.g[id].op else {
            return false;
        };
        let Some((name, _)) = self.params.get(i as usize) else {
            return false;
        };
        let name = name.to_string();
        self.sig.params.iter().any(|p| p.leaf && p.ident == name)
    }

    /// A node as a borrowed operand.
    fn by_ref(&self, id: Id) -> TokenStream {
        self.lexed(|out| self.ref_text(id, out))
    }

    /// A node as an owned value: scalars are copied, anything else cloned.
    pub fn owned(&self, id: Id) -> TokenStream {
        self.lexed(|out| self.owned_text(id, out))
    }

    /// A float literal of the function's float type. `typed`: with a suffix, for positions
    /// where inference has nothing else to go on.
    pub fn literal(&self, v: f64, typed: bool) -> TokenStream {
        self.lexed(|out| self.literal_text(v, typed, out))
    }

    /// Tokens of text written by one of the `*_text` methods.
    fn lexed(&self, write: impl FnOnce(&mut String)) -> TokenStream {
        let mut text = String::new();
        write(&mut text);
        lex(&text)
    }

    /// A non-scalar temporary that only one needed node reads (and that is not a final value
    /// written later): it can be moved into its reader.
    fn movable(&self, id: Id) -> bool {
        let temporary = !matches!(
            self.g[id].op,
            Op::Param(_) | Op::Const(_) | Op::Cotangent | Op::Phi(_)
        );
        temporary
            && self.g.kind(id) == Kind::Tensor
            && self.uses[id.index()] == 1
            && !self.inline.contains(&id)
    }

    /// Whether a call's argument of unknown type (another call's result: a float or a tensor)
    /// can be moved into `reader`: its last reader, in the same block, reading it once.
    fn moves_into(&self, id: Id, reader: Id) -> bool {
        let temporary = !matches!(
            self.g[id].op,
            Op::Param(_) | Op::Const(_) | Op::Cotangent | Op::Phi(_) | Op::Opaque(_)
        );
        temporary
            && self.last_reader[id.index()] == Some(reader)
            && self.g.block_of(id) == self.g.block_of(reader)
            && self.g[reader].args.iter().filter(|&&a| a == id).count() == 1
            && !self.inline.contains(&id)
            && !self.g.branches.iter().any(|b| b.cond == id)
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
        let mut text = String::new();
        if self.expr_text(id, &mut text) {
            lex(&text)
        } else {
            self.special(id)
        }
    }

    /// Writes the expression computing one node as source text; `false` (writing nothing)
    /// for the nodes `special` builds as tokens.
    fn expr_text(&self, id: Id, out: &mut String) -> bool {
        const RT: &str = "::autodiff::__private::";
        let node = &self.g[id];
        let args = &node.args;
        let op = node.op;
        let style = ops::style(op);
        let name = ops::name(op);
        let scalar = self.scalar(id) || matches!(self.g.kind(id), Kind::Bool) || op == Op::Not;
        let by_value = scalar && !matches!(style, Style::Runtime);
        // The operands, comma-separated: by value for scalar code, else borrowed.
        let list = |out: &mut String, args: &[Id]| {
            for (i, &a) in args.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                if by_value {
                    self.operand_text(a, false, out);
                } else {
                    self.ref_text(a, out);
                }
            }
        };
        let call = |out: &mut String, f: &str, args: &[Id]| {
            out.push_str(RT);
            out.push_str(f);
            out.push('(');
            list(out, args);
            out.push(')');
        };
        match style {
            Style::Infix(_)
                if op == Op::Add && matches!(self.g.kind(id), Kind::Array | Kind::Slice) =>
            {
                call(out, "seq_add", args)
            }
            Style::Infix(_)
                if op == Op::Add && self.g.grad_sums.contains(&id) && self.leaf_like(id) =>
            {
                call(out, "leaf_add", args)
            }
            Style::Infix(sym) if scalar => {
                self.operand_text(args[0], false, out);
                out.push(' ');
                out.push_str(sym);
                out.push(' ');
                self.operand_text(args[1], false, out);
            }
            Style::Prefix(sym) if scalar => {
                out.push_str(sym);
                self.operand_text(args[0], false, out);
            }
            Style::FloatMethod if scalar => {
                // A literal receiver needs its type written: `0.5f64.powf(y)`.
                self.operand_text(args[0], true, out);
                out.push('.');
                out.push_str(name);
                out.push('(');
                list(out, &args[1..]);
                out.push(')');
            }
            Style::Infix(_) | Style::Prefix(_) | Style::FloatMethod => call(out, name, args),
            Style::Runtime
                if op == Op::ZerosLike && matches!(self.g.kind(id), Kind::Array | Kind::Slice) =>
            {
                call(out, "seq_zeros", args)
            }
            // A zero shaped like an element of a struct leaf, read as `&leaf[i]` (the element
            // value is itself a reference for a struct element).
            Style::Runtime
                if op == Op::ZerosLike
                    && self.leaf_like(id)
                    && self.g[args[0]].op == Op::IndexDyn
                    && self.g.kind(args[0]) == Kind::Unknown =>
            {
                let element = &self.g[args[0]].args;
                out.push_str(RT);
                out.push_str("leaf_zeros(&");
                self.operand_text(element[0], false, out);
                out.push('[');
                self.operand_text(element[1], false, out);
                out.push_str("])");
            }
            Style::Runtime if op == Op::ZerosLike && self.leaf_like(id) => {
                call(out, "leaf_zeros", args)
            }
            // A contribution read only here is moved, so that an equal shape costs no copy.
            Style::Runtime if op == Op::SumTo && self.movable(args[0]) => {
                out.push_str(RT);
                out.push_str("sum_to_owned(");
                self.operand_text(args[0], false, out);
                out.push_str(", ");
                self.ref_text(args[1], out);
                out.push(')');
            }
            Style::Runtime => call(out, name, args),
            Style::Special => match op {
                Op::Powi(n) if self.scalar(id) => {
                    self.operand_text(args[0], true, out);
                    let _ = write!(out, ".powi({n})");
                }
                Op::Powi(n) => {
                    call(out, "powi", args);
                    out.pop();
                    let _ = write!(out, ", {n})");
                }
                _ => return false,
            },
        }
        true
    }

    /// A node's generated name as text: `__t7`.
    fn name_text(&self, id: Id, out: &mut String) {
        // By hand: `write!` costs about ten times as much in the macro's debug build, and
        // this runs once per operand written.
        out.push_str(&self.prefix);
        out.push('t');
        push_index(out, id.index());
    }

    /// `operand` as text; `typed` writes a constant with its type suffix.
    fn operand_text(&self, id: Id, typed: bool, out: &mut String) {
        match self.g[id].op {
            Op::Param(i) => out.push_str(&self.param_text[i as usize]),
            Op::Const(bits) => self.literal_text(f64::from_bits(bits), typed, out),
            Op::Cotangent => out.push_str(names::COTANGENT),
            _ => self.name_text(id, out),
        }
    }

    /// `by_ref` as text.
    pub fn ref_text(&self, id: Id, out: &mut String) {
        if let Op::Const(bits) = self.g[id].op {
            out.push('&');
            return self.literal_text(f64::from_bits(bits), true, out);
        }
        if !self.is_ref(id) {
            out.push('&');
        }
        self.operand_text(id, false, out);
    }

    /// `owned` as text.
    fn owned_text(&self, id: Id, out: &mut String) {
        if let Op::Const(bits) = self.g[id].op {
            return self.literal_text(f64::from_bits(bits), true, out);
        }
        if self.g.kind(id) == Kind::Scalar && !self.is_ref(id) {
            return self.operand_text(id, false, out);
        }
        out.push_str("::core::clone::Clone::clone(");
        self.ref_text(id, out);
        out.push(')');
    }

    /// `literal` as text: a constant of the function's float type, named when it is one of
    /// `core`'s constants (`::core::f64::consts::PI`), through `lit` for a generic float.
    fn literal_text(&self, v: f64, typed: bool, out: &mut String) {
        let float = if self.sig.is_f32 { "f32" } else { "f64" };
        let named = named_constant(v)
            .map(|n| (false, n))
            .or_else(|| named_constant(-v).map(|n| (true, n)));
        if let Some((negative, name)) = named {
            let c = if self.sig.generic_float {
                format!(
                    "::autodiff::__private::lit::<{}>(::core::f64::consts::{name})",
                    self.sig.float
                )
            } else {
                format!("::core::{float}::consts::{name}")
            };
            let _ = if negative {
                write!(out, "(-{c})")
            } else {
                write!(out, "{c}")
            };
            return;
        }
        if !v.is_finite() {
            let c = if v.is_nan() {
                "NAN"
            } else if v > 0.0 {
                "INFINITY"
            } else {
                "NEG_INFINITY"
            };
            let _ = if self.sig.generic_float {
                write!(
                    out,
                    "::autodiff::__private::lit::<{}>(::core::f64::{c})",
                    self.sig.float
                )
            } else {
                write!(out, "::core::{float}::{c}")
            };
            return;
        }
        let (float, typed) = if self.sig.generic_float {
            let _ = write!(out, "::autodiff::__private::lit::<{}>(", self.sig.float);
            ("f64", true)
        } else {
            (float, typed)
        };
        let negative = v.is_sign_negative();
        if negative {
            out.push_str("(-");
        }
        let start = out.len();
        let _ = if float == "f32" {
            write!(out, "{}", v.abs() as f32)
        } else {
            write!(out, "{}", v.abs())
        };
        if typed {
            out.push_str(float);
        } else if !out[start..].contains('.') {
            out.push_str(".0");
        }
        if negative {
            out.push(')');
        }
        if self.sig.generic_float {
            out.push(')');
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
                let value = self.fill(o.tokens.clone(), &node.args);
                self.lift(id, value)
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
                self.lift(id, quote!(#arr[#k]))
            }
            Op::Powi(_) => self.expr(id),
            Op::SumAxis(k)
            | Op::MeanAxis(k)
            | Op::UnsumAxis(k)
            | Op::UnmeanAxis(k)
            | Op::MaxAxis(k)
            | Op::MinAxis(k)
            | Op::LogsumexpAxis(k)
            | Op::Softmax(k)
            | Op::LogSoftmax(k)
            | Op::Unsqueeze(k)
            | Op::ExtremumAxisGrad(k) => {
                let name = format_ident!("{}", ops::name(node.op));
                let k = Literal::usize_unsuffixed(k as usize);
                quote!(#rt::#name(#(#refs,)* #k))
            }
            Op::Call(_)
            | Op::Pullback(_)
            | Op::Pullback2(_)
            | Op::Pushforward(_)
            | Op::PushforwardPullback(_) => self.call(id),
            Op::NoGrad => quote!(::core::default::Default::default()),
            Op::Pack | Op::ArrayLit => {
                let parts: Vec<TokenStream> = node.args.iter().map(|&a| self.owned(a)).collect();
                if node.op == Op::Pack && self.sig.ret_kind == Kind::Slice {
                    quote!(::std::vec![#(#parts),*])
                } else {
                    quote!([#(#parts),*])
                }
            }
            Op::Project(i) => {
                let pb = self.operand(node.args[0]);
                let field = syn::Index::from(i as usize);
                // `&x` of a `[T; N]` passed to a `&[T]` callee: its `Vec<T>` gradient back
                // into the array's type.
                let pbn = &self.g[node.args[0]];
                if let Op::Pullback(k) | Op::PushforwardPullback(k) = pbn.op {
                    // Operand i: an argument, or (after them) the tangent of one.
                    let site = &self.g.calls[k as usize];
                    let (i, n) = (i as usize, site.by_ref.len().max(1));
                    let arg = pbn.args[i];
                    let by_ref = site.by_ref.get(i % n) == Some(&true);
                    if by_ref && self.g.kind(arg) == Kind::Array {
                        let like = self.by_ref(arg);
                        return quote!(::autodiff::__private::seq_like(&#pb.#field, #like));
                    }
                }
                quote!(#pb.#field)
            }
            Op::IndexDyn => {
                let seq = self.operand(node.args[0]);
                let at = self.operand(node.args[1]);
                if self.g.kind(id) == Kind::Unknown {
                    // An element of a struct leaf (`self.layers[i]`): a float by value, a
                    // struct by reference.
                    return quote!({
                        use ::autodiff::__private::{ElemFloat as _, ElemRef as _};
                        (&&::autodiff::__private::Elem(&#seq[#at])).elem()
                    });
                }
                self.lift(id, quote!(#seq[#at]))
            }
            Op::Fused(k) => self.fused(id, k, false),
            Op::FusedGrad(k) => self.fused(id, k, true),
            Op::FusedPart(i) => {
                let fg = self.operand(node.args[0]);
                let operand = self.g[node.args[0]].args[1 + i as usize];
                let i = Literal::usize_unsuffixed(i as usize);
                if self.g.kind(operand) == Kind::Scalar {
                    quote!(#fg[#i].scalar())
                } else {
                    quote!(#fg[#i].tensor())
                }
            }
            Op::OneHot => {
                let (d, seq, at) = (
                    self.operand(node.args[0]),
                    self.by_ref(node.args[1]),
                    self.operand(node.args[2]),
                );
                quote!(::autodiff::__private::one_hot(#seq, #at, #d))
            }
            Op::Loop(k) => self.forward_loop(id, k),
            Op::LoopPullback(k) => self.backward_loop(id, k),
            Op::LoopOut(j) | Op::LoopGrad(j) => {
                let tuple = self.operand(node.args[0]);
                let field = syn::Index::from(j as usize);
                quote!(#tuple.#field)
            }
            Op::Phi(_) => unreachable!("a Phi is written by its branch"),
            _ => unreachable!("not a special op"),
        }
    }

    /// A call of a user function or of one of its generated items (`__g_pullback`,
    /// `__g_pullback2`, `__g_pushforward`, `__g_pushforward_pullback`, `__g_dual`).
    fn call(&self, id: Id) -> TokenStream {
        let node = &self.g[id];
        match node.op {
            Op::Call(k) if self.dual => {
                let site = &self.g.calls[k as usize];
                let path = names::path_to(&site.path, names::dual);
                let args = node
                    .args
                    .iter()
                    .zip(&site.int_literal)
                    .zip(self.call_args(k, id, &node.args));
                // A scalar goes into a hyper-dual slot, or into a plain float one where the
                // callee does not differentiate the parameter (a constant).
                let args = args.map(|((&a, &int), tokens)| {
                    if !int && matches!(self.g.kind(a), Kind::Scalar | Kind::Unknown) {
                        quote!(::autodiff::__private::DualArg::dual_arg(#tokens))
                    } else {
                        tokens
                    }
                });
                quote!(#path(#(#args),*))
            }
            Op::Call(k) => {
                let site = &self.g.calls[k as usize];
                let path = &site.path;
                // At the user's arguments, so that a type mismatch points there.
                let args: Vec<TokenStream> = self
                    .call_args(k, id, &node.args)
                    .into_iter()
                    .zip(&site.arg_spans)
                    .map(|(a, &span)| respan(a, span))
                    .collect();
                if site.method {
                    let (recv, rest) = args.split_first().expect("a receiver");
                    let recv = paren_ref(recv);
                    return quote!(#recv.#path(#(#rest),*));
                }
                quote!(#path(#(#args),*))
            }
            Op::Pullback(k) => {
                let site = &self.g.calls[k as usize];
                let path = names::path_to(&site.path, names::pullback);
                let (call_args, d) = node.args.split_at(node.args.len() - 1);
                let args = self.call_args(k, id, call_args);
                let d = self.by_ref(d[0]);
                if site.method {
                    let (recv, rest) = args.split_first().expect("a receiver");
                    let recv = paren_ref(recv);
                    return quote!(#recv.#path(#(#rest,)* #d));
                }
                quote!(#path(#(#args,)* #d))
            }
            Op::Pullback2(k) => {
                let site = &self.g.calls[k as usize];
                let path = names::path_to(&site.path, names::pullback2);
                let n = site.by_ref.len();
                let args = self.call_args(k, id, &node.args[..n]);
                let d = self.by_ref(node.args[n]);
                // `NoGrad` nodes are shared by hash-consing, but each fills a slot of its own
                // type: written in place.
                let seeds: Vec<TokenStream> = node.args[n + 1..]
                    .iter()
                    .map(|&e| match self.g[e].op {
                        Op::NoGrad => quote!(::core::default::Default::default()),
                        _ => self.owned(e),
                    })
                    .collect();
                if site.method {
                    let (recv, rest) = args.split_first().expect("a receiver");
                    return quote!(#recv.#path(#(#rest,)* #d, &(#(#seeds,)*)));
                }
                quote!(#path(#(#args,)* #d, &(#(#seeds,)*)))
            }
            Op::Pushforward(k) => {
                let site = &self.g.calls[k as usize];
                let path = names::path_to(&site.path, names::pushforward);
                let n = site.by_ref.len();
                let args = self.call_args(k, id, &node.args[..n]);
                let tangents: Vec<TokenStream> = node.args[n..]
                    .iter()
                    .zip(&site.by_ref)
                    .map(|(&t, &r)| match self.g[t].op {
                        Op::NoGrad => quote!(::core::default::Default::default()),
                        _ if r => self.by_ref(t),
                        _ if self.is_ref(t) => self.operand(t),
                        _ => self.owned(t),
                    })
                    .collect();
                quote!(#path(#(#args,)* #(#tangents),*))
            }
            Op::PushforwardPullback(k) => {
                let site = &self.g.calls[k as usize];
                let path = names::path_to(&site.path, names::pushforward_pullback);
                let n = site.by_ref.len();
                let args = self.call_args(k, id, &node.args[..n]);
                let tangents: Vec<TokenStream> = node.args[n..2 * n]
                    .iter()
                    .zip(&site.by_ref)
                    .map(|(&t, &r)| match self.g[t].op {
                        Op::NoGrad => quote!(::core::default::Default::default()),
                        _ if r => self.by_ref(t),
                        _ if self.is_ref(t) => self.operand(t),
                        _ => self.owned(t),
                    })
                    .collect();
                let d = self.by_ref(node.args[2 * n]);
                quote!(#path(#(#args,)* #(#tangents,)* #d))
            }
            _ => unreachable!("not a call"),
        }
    }

    /// A fused reduction (`backward`: its gradient): the runtime walks the broadcast index and
    /// calls a closure written from the kernel's scalar graph.
    fn fused(&self, id: Id, k: u32, backward: bool) -> TokenStream {
        let kernel = &self.g.kernels[k as usize];
        let args = &self.g[id].args;
        let operands = if backward { &args[1..] } else { &args[..] };
        let n = operands.len();
        let rt = quote!(::autodiff::__private);
        let float = &self.sig.float;
        let ops = operands.iter().map(|&o| {
            let r = self.by_ref(o);
            quote!(#rt::AsOperand::operand(#r))
        });
        let prefix = format!("{}k{}_", self.prefix, k);
        let vars: Vec<proc_macro2::Ident> =
            (0..n).map(|i| format_ident!("{}v{}", prefix, i)).collect();
        let seed = format_ident!("{}d", prefix);
        let mut names: Vec<(TokenStream, bool)> =
            vars.iter().map(|v| (v.to_token_stream(), false)).collect();
        names.push((seed.to_token_stream(), false));
        let body = &kernel.body;
        if !backward {
            let mut e = Emitter::with_params(body, self.sig, &[kernel.out], names, prefix);
            e.tail(kernel.out);
            let stmts = e.statements();
            let value = e.value(kernel.out);
            let closure = quote!(|[#(#vars),*]: [#float; #n]| { #stmts #value });
            return match self.poly_terms(kernel) {
                Some(terms) => {
                    let reduce = if kernel.mean {
                        quote!(fused_mean_poly)
                    } else {
                        quote!(fused_sum_poly)
                    };
                    quote!(#rt::#reduce([#(#ops),*], &#terms, #closure))
                }
                None => {
                    let reduce = if kernel.mean {
                        quote!(fused_mean)
                    } else {
                        quote!(fused_sum)
                    };
                    quote!(#rt::#reduce([#(#ops),*], #closure))
                }
            };
        }
        let roots: Vec<Id> = kernel.partials.iter().flatten().copied().collect();
        let mut e = Emitter::with_params(body, self.sig, &roots, names, prefix);
        let stmts = e.statements();
        let parts: Vec<TokenStream> = kernel
            .partials
            .iter()
            .map(|p| match p {
                Some(a) => e.owned(*a),
                None => self.literal(0.0, true),
            })
            .collect();
        let d = self.operand(args[0]);
        let closure = quote!(|[#(#vars),*]: [#float; #n], #seed: #float| -> [#float; #n] { #stmts [#(#parts),*] });
        match self.poly_terms(kernel) {
            Some(terms) => {
                let grad = if kernel.mean {
                    quote!(fused_mean_poly_grad)
                } else {
                    quote!(fused_sum_poly_grad)
                };
                quote!(#rt::#grad([#(#ops),*], #d, &#terms, #closure))
            }
            None => {
                let grad = if kernel.mean {
                    quote!(fused_mean_grad)
                } else {
                    quote!(fused_sum_grad)
                };
                quote!(#rt::#grad([#(#ops),*], #d, #closure))
            }
        }
    }

    /// A polynomial kernel's terms as an array literal `[(c, [p0, p1]), ..]`.
    fn poly_terms(&self, kernel: &crate::ir::graph::Kernel) -> Option<TokenStream> {
        let terms = kernel.poly.as_ref()?;
        let items = terms.iter().map(|(c, powers)| {
            let c = self.literal(*c, true);
            let powers = powers.iter().map(|&p| Literal::u32_unsuffixed(p));
            quote!((#c, [#(#powers),*]))
        });
        Some(quote!([#(#items),*]))
    }

    /// How a loop body's parameters are written: carried variables as `__lK_cP`, other inputs
    /// as the enclosing values, then the loop variable and the seeds `__lK_dJ`.
    fn body_params(&self, loop_id: Id, k: u32) -> Vec<(TokenStream, bool)> {
        let info = &self.g.loops[k as usize];
        let args = &self.g[loop_id].args;
        let mut params: Vec<(TokenStream, bool)> = (0..info.n_inputs)
            .map(|p| {
                if info.carried.iter().any(|&(c, _)| c == p) {
                    (
                        self.loop_name(k, &format!("c{p}")).into_token_stream(),
                        false,
                    )
                } else {
                    (self.operand(args[2 + p]), self.is_ref(args[2 + p]))
                }
            })
            .collect();
        params.push((info.var.clone(), false));
        for j in 0..info.seeds.len() {
            params.push((
                self.loop_name(k, &format!("d{j}")).into_token_stream(),
                false,
            ));
        }
        params
    }

    fn body_emitter(&self, loop_id: Id, k: u32, roots: &[Id]) -> Emitter<'a> {
        let info = &self.g.loops[k as usize];
        let prefix = format!("{}l{}_", self.prefix, k);
        let mut e = Emitter::with_params(
            &info.body,
            self.sig,
            roots,
            self.body_params(loop_id, k),
            prefix,
        );
        if self.dual {
            e.mark_dual();
        }
        e
    }

    fn range(&self, loop_id: Id, k: u32) -> TokenStream {
        let info = &self.g.loops[k as usize];
        let (lo, hi) = (
            self.operand(self.g[loop_id].args[0]),
            self.operand(self.g[loop_id].args[1]),
        );
        if info.inclusive {
            quote!(#lo..=#hi)
        } else {
            quote!(#lo..#hi)
        }
    }

    /// The loop itself; its value is the tuple of carried variables' final values, and the tape
    /// of their values at the start of every iteration when a pullback of this loop is written.
    fn forward_loop(&self, id: Id, k: u32) -> TokenStream {
        let info = &self.g.loops[k as usize];
        let args = &self.g[id].args;
        let taped = !taped_carried(self.g, k).is_empty()
            && self.g.ids().any(|u| {
                self.needed[u.index()]
                    && matches!(self.g[u].op, Op::LoopPullback(_))
                    && self.g[u].args[0] == id
            });
        let carried: Vec<(proc_macro2::Ident, TokenStream)> = info
            .carried
            .iter()
            .map(|&(p, _)| (self.loop_name(k, &format!("c{p}")), self.owned(args[2 + p])))
            .collect();
        let mut roots: Vec<Id> = info.carried.iter().map(|&(_, out)| out).collect();
        roots.extend(info.while_cond);
        let mut body = self.body_emitter(id, k, &roots);
        let stmts = body.statements();
        let next: Vec<proc_macro2::Ident> = info
            .carried
            .iter()
            .map(|&(p, _)| self.loop_name(k, &format!("n{p}")))
            .collect();
        let next_values: Vec<TokenStream> = info
            .carried
            .iter()
            .map(|&(_, out)| body.owned(out))
            .collect();
        let vars: Vec<&proc_macro2::Ident> = carried.iter().map(|(v, _)| v).collect();
        let inits: Vec<&TokenStream> = carried.iter().map(|(_, i)| i).collect();
        let var = &info.var;
        let range = self.range(id, k);
        let tape = self.loop_name(k, "tape");
        let (make_tape, record, result_tape) = if taped {
            let (lo, hi) = (self.operand(args[0]), self.operand(args[1]));
            let make_tape = |capacity: TokenStream| -> TokenStream {
                if info.while_cond.is_some() {
                    quote!(let mut #tape = ::std::vec::Vec::new();)
                } else {
                    capacity
                }
            };
            let inclusive = info.inclusive;
            let keep = taped_carried(self.g, k);
            let saved = info
                .carried
                .iter()
                .filter(|(p, _)| keep.contains(p))
                .map(|&(p, out)| {
                    let v = self.loop_name(k, &format!("c{p}"));
                    if info.body.kind(out) == Kind::Scalar || info.body.kind(out) == Kind::Int {
                        quote!(#v)
                    } else {
                        quote!(::core::clone::Clone::clone(&#v))
                    }
                });
            (
                make_tape(
                    quote!(let mut #tape = ::std::vec::Vec::with_capacity(::autodiff::__private::trip_count(#lo, #hi, #inclusive));),
                ),
                quote!(#tape.push((#(#saved,)*));),
                quote!(#tape,),
            )
        } else {
            (quote!(), quote!(), quote!())
        };
        if let Some(cond) = info.while_cond {
            // The iteration where the condition is false changes nothing; it is counted and
            // taped like the others, so the backward pass replays exactly what ran.
            let cond = body.operand(cond);
            let trips = self.loop_name(k, "trips");
            return quote!({
                #(let mut #vars = #inits;)*
                #make_tape
                let mut #trips: usize = 0;
                loop {
                    #record
                    #stmts
                    #(let #next = #next_values;)*
                    #(#vars = #next;)*
                    #trips += 1;
                    if !(#cond) {
                        break;
                    }
                }
                (#(#vars,)* #result_tape #trips,)
            });
        }
        quote!({
            #(let mut #vars = #inits;)*
            #make_tape
            for #var in #range {
                #record
                #stmts
                #(let #next = #next_values;)*
                #(#vars = #next;)*
            }
            (#(#vars,)* #result_tape)
        })
    }

    /// The backward loop: iterations in reverse, each restoring the carried variables from the
    /// tape, recomputing the body, and running its backward pass.
    fn backward_loop(&self, id: Id, k: u32) -> TokenStream {
        let info = &self.g.loops[k as usize];
        let loop_id = self.g[id].args[0];
        let seeds = &self.g[id].args[1..];
        let args = &self.g[loop_id].args;
        let body = &info.body;
        let adj = info
            .adj
            .as_ref()
            .expect("a pullback is built only for a differentiated loop");
        let adj_of = |b: Id| adj.get(b.index()).copied().flatten();
        let param_of = |p: usize| body.ids().find(|&b| body[b].op == Op::Param(p as u16));
        let tape = self.loop_name(k, "tape");
        let nc = syn::Index::from(info.carried.len());
        let mut roots = Vec::new();
        let mut pre = TokenStream::new();
        let mut post = TokenStream::new();
        // Seeds: the adjoints of the carried variables, updated every iteration.
        for (j, &(p, _)) in info.carried.iter().enumerate() {
            let d = self.loop_name(k, &format!("d{j}"));
            let seed = self.owned(seeds[j]);
            pre.extend(quote!(let mut #d = #seed;));
            let next = self.loop_name(k, &format!("e{j}"));
            match param_of(p).and_then(adj_of) {
                Some(a) => {
                    roots.push(a);
                    let a = node_ref(a);
                    post.extend(quote!(let #next = #a;));
                }
                None => {
                    let zero = self.zero_of(body.kind(info.carried[j].1), &d.to_token_stream());
                    post.extend(quote!(let #next = #zero;));
                }
            }
        }
        // Accumulators for the other inputs.
        let mut grads = Vec::new();
        for p in 0..info.n_inputs {
            if info.carried.iter().any(|&(c, _)| c == p) || !self.g.loop_input_has_grad(k, p) {
                continue;
            }
            let acc = self.loop_name(k, &format!("a{p}"));
            let outer = args[2 + p];
            let kind = self.g.kind(outer);
            let outer_ref = self.by_ref(outer);
            let param = param_of(p);
            // A struct leaf indexed in the body (`self.layers[i]`): its gradient is a
            // collection of the element type, accumulated with `Differentiable`.
            let elements = kind == Kind::Unknown
                && body
                    .ids()
                    .any(|b| body[b].op == Op::IndexDyn && Some(body[b].args[0]) == param);
            let zero = match kind {
                _ if elements => quote!(::autodiff::__private::leaf_zeros(#outer_ref)),
                Kind::Array | Kind::Slice => quote!(::autodiff::__private::seq_zeros(#outer_ref)),
                Kind::Scalar => self.literal(0.0, true),
                // A value of a type the macro does not know (a struct leaf, `self.cell`, or a
                // call's result): its `Differentiable` zero.
                Kind::Unknown => quote!(::autodiff::Differentiable::zeros_like(#outer_ref)),
                _ => quote!(::autodiff::__private::zeros_like(#outer_ref)),
            };
            pre.extend(quote!(let mut #acc = #zero;));
            if let Some(a) = param.and_then(adj_of) {
                roots.push(a);
                let a = node_ref(a);
                let sum = match kind {
                    Kind::Scalar => quote!(#acc + #a),
                    Kind::Array | Kind::Slice => quote!(::autodiff::__private::seq_add(&#acc, &#a)),
                    Kind::Unknown if self.has_leaves() && !self.dual => {
                        quote!(::autodiff::__private::leaf_add(&#acc, &#a))
                    }
                    _ => quote!(::autodiff::__private::add(&#acc, &#a)),
                };
                // Through a temporary: `acc = acc + a` reads as a missed `+=` (which `T: Float`
                // does not have).
                post.extend(quote!(let __s = #sum; #acc = __s;));
            }
            if let Some(param) = param {
                post.extend(element_scatter(
                    body, adj, param, &acc, elements, &mut roots,
                ));
            }
            grads.push((2 + p, acc));
        }
        let mut e = self.body_emitter(loop_id, k, &roots);
        let stmts = e.statements();
        // `@N` in `post` stands for body node N.
        let post = substitute_nodes(post, &|n| e.operand(body.id(n)));
        let keep = taped_carried(self.g, k);
        let carried_vars: Vec<proc_macro2::Ident> = info
            .carried
            .iter()
            .filter(|(p, _)| keep.contains(p))
            .map(|&(p, _)| self.loop_name(k, &format!("c{p}")))
            .collect();
        let d_vars: Vec<proc_macro2::Ident> = (0..info.carried.len())
            .map(|j| self.loop_name(k, &format!("d{j}")))
            .collect();
        let e_vars: Vec<proc_macro2::Ident> = (0..info.carried.len())
            .map(|j| self.loop_name(k, &format!("e{j}")))
            .collect();
        let var = &info.var;
        let the_loop = self.operand(loop_id);
        let range = if info.while_cond.is_some() {
            // The trip count follows the tape (if any) in the forward loop's value.
            let at = syn::Index::from(
                info.carried.len() + usize::from(!taped_carried(self.g, k).is_empty()),
            );
            quote!(0..#the_loop.#at)
        } else {
            self.range(loop_id, k)
        };
        let components = (0..args.len()).map(|i| {
            if let Some(j) = info.carried.iter().position(|&(p, _)| p + 2 == i) {
                let d = &d_vars[j];
                quote!(#d)
            } else if let Some((_, acc)) = grads.iter().find(|(a, _)| *a == i) {
                quote!(#acc)
            } else {
                quote!(())
            }
        });
        let (take_tape, restore) = if keep.is_empty() {
            (quote!(), quote!())
        } else {
            (
                quote!(let mut #tape = #the_loop.#nc;),
                quote!(let (#(#carried_vars,)*) = #tape.pop().expect("one tape entry per iteration");),
            )
        };
        quote!({
            #take_tape
            #pre
            for #var in (#range).rev() {
                #restore
                #stmts
                #post
                #(#d_vars = #e_vars;)*
            }
            (#(#components,)*)
        })
    }

    /// Whether the function reads struct leaves (`method.rs`): then a value of unknown type
    /// may be a collection or a struct, whose zero and sum come from `Differentiable`.
    fn has_leaves(&self) -> bool {
        self.sig.params.iter().any(|p| p.leaf)
    }

    /// A value of unknown type in a function with struct leaves, outside hyper-dual code.
    fn leaf_like(&self, id: Id) -> bool {
        self.g.kind(id) == Kind::Unknown && self.has_leaves() && !self.dual
    }

    /// In hyper-dual code, a plain scalar (kept as written, or read from data) as a constant
    /// hyper-dual number.
    fn lift(&self, id: Id, value: TokenStream) -> TokenStream {
        if self.dual && (self.g.kind(id) == Kind::Scalar || self.lifted.contains(&id)) {
            quote!(::autodiff::__private::HyperDual::constant(#value))
        } else {
            value
        }
    }

    /// A zero of the given kind, shaped like `like` for tensors.
    fn zero_of(&self, kind: Kind, like: &TokenStream) -> TokenStream {
        match kind {
            Kind::Unknown if self.has_leaves() && !self.dual => {
                quote!(::autodiff::__private::leaf_zeros(&#like))
            }
            Kind::Tensor | Kind::Unknown => quote!(::autodiff::__private::zeros_like(&#like)),
            _ => self.literal(0.0, true),
        }
    }

    /// The arguments of call `k` (or of its pullbacks): as the user wrote them, references
    /// and integer literals included.
    fn call_args(&self, k: u32, reader: Id, args: &[Id]) -> Vec<TokenStream> {
        let site = &self.g.calls[k as usize];
        args.iter()
            .zip(&site.by_ref)
            .zip(&site.int_literal)
            .map(|((&a, &r), &int)| match (r, self.g.kind(a)) {
                _ if int => {
                    let n = self.g.as_const(a).unwrap_or_default() as i128;
                    let n = Literal::i128_unsuffixed(n);
                    quote!(::autodiff::__private::int_lit(#n))
                }
                (true, _) => self.by_ref(a),
                // A struct leaf written by value (`self.l.fwd(x, self.c)`): a copy, as
                // the field read is in the original body.
                (false, _) if self.is_leaf_param(a) => {
                    let v = self.operand(a);
                    quote!(::core::clone::Clone::clone(#v))
                }
                // A reference passed on as it is (`sq_norm(v)` with `v: &Tensor<T>`).
                (false, _) if self.is_ref(a) => self.operand(a),
                (false, Kind::Scalar | Kind::Array | Kind::Int | Kind::Bool) => self.operand(a),
                (false, _) if self.moves_into(a, reader) => self.operand(a),
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
                            let mut v = self.operand(deps[k]);
                            if self.dual && self.g.kind(deps[k]) == Kind::Scalar {
                                v = quote!(#v.v);
                            }
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
        // A method's `__f_wrt` is an associated constant of a type the macro cannot name, and
        // `Self::f` cannot be named inside a `const` item.
        if site.method
            || site
                .path
                .segments
                .first()
                .is_some_and(|s| s.ident == "Self")
        {
            continue;
        }
        let callee = site
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        let mut wrt = site.path.clone();
        if let Some(last) = wrt.segments.last_mut() {
            last.ident = names::wrt(&last.ident);
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

/// The carried variables (input positions) whose values the backward loop reads: only these
/// go on the tape.
pub(crate) fn taped_carried(g: &Graph, k: u32) -> Vec<usize> {
    let info = &g.loops[k as usize];
    let Some(adj) = &info.adj else {
        return Vec::new();
    };
    let body = &info.body;
    let adj_of = |b: Id| adj.get(b.index()).copied().flatten();
    let mut roots = Vec::new();
    for b in body.ids() {
        match body[b].op {
            Op::Param(p) if (p as usize) < info.n_inputs => roots.extend(adj_of(b)),
            Op::IndexDyn if body.block_of(b) == ROOT => {
                if let Some(a) = adj_of(b) {
                    roots.push(a);
                    roots.push(body[b].args[1]);
                }
            }
            _ => {}
        }
    }
    let mut seen = vec![false; body.len()];
    while let Some(b) = roots.pop() {
        if std::mem::replace(&mut seen[b.index()], true) {
            continue;
        }
        roots.extend(body[b].args.iter().copied());
        if let Op::Phi(br) = body[b].op {
            roots.push(body.branches[br as usize].cond);
        }
    }
    info.carried
        .iter()
        .map(|&(p, _)| p)
        .filter(|&p| {
            body.ids()
                .any(|b| seen[b.index()] && body[b].op == Op::Param(p as u16))
        })
        .collect()
}

/// An operator's tokens (`+`, `<=`, `&&`), built without lexing a string.
/// Generated code under construction: source text, into which token streams that must stay
/// tokens (the user's own, carrying their spans) are spliced by placeholder names. It is
/// lexed once, by `finish`.
#[derive(Default)]
pub(crate) struct Code {
    pub text: String,
    splices: Vec<TokenStream>,
}

const SPLICE: &str = "__ad_splice";

impl Code {
    /// Appends tokens at the current position of the text.
    pub fn splice(&mut self, tokens: TokenStream) {
        let _ = write!(self.text, " {SPLICE}{} ", self.splices.len());
        self.splices.push(tokens);
    }

    /// The code as tokens.
    pub fn finish(self) -> TokenStream {
        let lexed = lex(&self.text);
        if self.splices.is_empty() {
            return lexed;
        }
        let mut splices: Vec<Option<TokenStream>> = self.splices.into_iter().map(Some).collect();
        fill_splices(lexed, &mut splices)
    }
}

fn fill_splices(tokens: TokenStream, splices: &mut [Option<TokenStream>]) -> TokenStream {
    let mut out = TokenStream::new();
    for tt in tokens {
        match tt {
            TokenTree::Group(g) => {
                let inner = fill_splices(g.stream(), splices);
                out.extend(std::iter::once(TokenTree::Group(proc_macro2::Group::new(
                    g.delimiter(),
                    inner,
                ))));
            }
            TokenTree::Ident(ref id) => {
                let text = id.to_string();
                let slot = text
                    .strip_prefix(SPLICE)
                    .and_then(|k| k.parse::<usize>().ok())
                    .and_then(|k| splices.get_mut(k))
                    .and_then(Option::take);
                match slot {
                    Some(tokens) => out.extend(tokens),
                    None => out.extend(std::iter::once(tt)),
                }
            }
            other => out.extend(std::iter::once(other)),
        }
    }
    out
}

/// Lexes generated source text. The text is built from names, operators, float literals
/// and printed tokens, so it always lexes. Inside the compiler it is lexed by rustc directly
/// (`proc_macro2` would first lex it once more to validate it).
fn lex(text: &str) -> TokenStream {
    if proc_macro::is_available() {
        if let Ok(tokens) = text.parse::<proc_macro::TokenStream>() {
            return tokens.into();
        }
    }
    text.parse().unwrap_or_else(|e| {
        let msg = format!("#[differentiable] generated code that does not lex ({e}); please report this with the function");
        quote!(::core::compile_error!(#msg);)
    })
}

/// The backward loop body's scatter of each element read `param[at]` at its top into the
/// accumulator `acc` (`elements`: a struct leaf's elements, added with `Differentiable`);
/// the adjoints and indices it reads go to `roots`.
fn element_scatter(
    body: &Graph,
    adj: &[Option<Id>],
    param: Id,
    acc: &proc_macro2::Ident,
    elements: bool,
    roots: &mut Vec<Id>,
) -> TokenStream {
    let mut post = TokenStream::new();
    for b in body.ids() {
        if body[b].op != Op::IndexDyn || body[b].args[0] != param || body.block_of(b) != ROOT {
            continue;
        }
        let Some(a) = adj.get(b.index()).copied().flatten() else {
            continue;
        };
        let at = body[b].args[1];
        roots.push(a);
        roots.push(at);
        let (a, at) = (node_ref(a), node_ref(at));
        post.extend(if elements {
            quote!(::autodiff::__private::leaf_add_at(&mut #acc, #at, &#a);)
        } else if body.is_element_slot(b) {
            // The guard of an `if` may be what keeps `at` in range; the adjoint is zero
            // where it does not hold.
            quote!(if #at < #acc.len() { let __e = #acc[#at]; #acc[#at] = __e + #a; })
        } else {
            quote!(let __e = #acc[#at]; #acc[#at] = __e + #a;)
        });
    }
    post
}

/// `@N`: a placeholder for body node N, filled in once the body's emitter exists.
fn node_ref(id: Id) -> TokenStream {
    let n = Literal::usize_unsuffixed(id.index());
    quote!(@#n)
}

/// Replaces `@N` (a `Punct('@')` then an integer literal) by `node(N)`.
fn substitute_nodes(tokens: TokenStream, node: &dyn Fn(usize) -> TokenStream) -> TokenStream {
    let mut out = Vec::new();
    let mut iter = tokens.into_iter().peekable();
    while let Some(tt) = iter.next() {
        match tt {
            TokenTree::Punct(p) if p.as_char() == '@' => {
                if let Some(TokenTree::Literal(l)) = iter.next() {
                    let n: usize = l
                        .to_string()
                        .trim_end_matches("usize")
                        .parse()
                        .expect("node number");
                    out.extend(node(n));
                }
            }
            TokenTree::Group(g) => {
                let mut ng =
                    proc_macro2::Group::new(g.delimiter(), substitute_nodes(g.stream(), node));
                ng.set_span(g.span());
                out.push(TokenTree::Group(ng));
            }
            other => out.push(other),
        }
    }
    out.into_iter().collect()
}

/// `tokens`, every one of them located at `span`, with the hygiene generated names have.
fn respan(tokens: TokenStream, span: proc_macro2::Span) -> TokenStream {
    let span = proc_macro2::Span::call_site().located_at(span);
    tokens
        .into_iter()
        .map(|mut tt| {
            if let TokenTree::Group(g) = &tt {
                let mut ng = proc_macro2::Group::new(g.delimiter(), respan(g.stream(), span));
                ng.set_span(span);
                tt = TokenTree::Group(ng);
            } else {
                tt.set_span(span);
            }
            tt
        })
        .collect()
}

/// A method receiver `&x` as `(&x)`: `&x.f()` would borrow the call's result.
fn paren_ref(recv: &TokenStream) -> TokenStream {
    match recv.clone().into_iter().next() {
        Some(TokenTree::Punct(p)) if p.as_char() == '&' => quote!((#recv)),
        _ => recv.clone(),
    }
}

/// Appends the decimal digits of `n`.
fn push_index(out: &mut String, n: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(d as char);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Spliced tokens land where their placeholders were, also inside groups, and are not
    /// re-read as text.
    #[test]
    fn code_splices_tokens_into_text() {
        let mut code = Code::default();
        code.text.push_str("let a = f(");
        code.splice(quote!(x + 1));
        code.text.push_str(", [");
        code.splice(quote!(__ad_splice0));
        code.text.push_str("]);");
        assert_eq!(
            code.finish().to_string(),
            quote!(let a = f(x + 1, [__ad_splice0]);).to_string()
        );
    }

    /// Text alone is lexed as written.
    #[test]
    fn code_without_splices() {
        let mut code = Code::default();
        code.text.push_str("let __t2 = x * (-3.5);");
        assert_eq!(
            code.finish().to_string(),
            quote!(let __t2 = x * (-3.5);).to_string()
        );
    }
}
