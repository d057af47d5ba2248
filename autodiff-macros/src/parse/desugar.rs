//! Idiomatic Rust in a body, rewritten into the constructs the lowering knows (`parse/body.rs`
//! calls these while it lowers, so a rewritten piece is lowered like hand-written code and its
//! gradient, Hessian, trace and formulas follow):
//!
//! - `match scrutinee { p1 => e1, p2 if g => e2, _ => e3 }` on a value that does not depend on
//!   a differentiated one becomes `if matches!(scrutinee, p1) { e1 } else if matches!(scrutinee,
//!   p2 if g) { e2 } else { e3 }`; the last arm needs no test (the primal function is compiled
//!   from the original body, so rustc has checked that the `match` is exhaustive). A name bound
//!   by an arm's pattern is read with a `match` of its own, kept as written. On a `bool` that
//!   depends on a differentiated value (`match x > 0.0 { true => .., false => .. }`) the arms
//!   test the condition itself; on a differentiated float the `match` is an error.
//! - An iterator chain is a loop. A chain is read into a [`Stream`]: an index domain `lo..hi`
//!   and the item at index `k` (`&xs[k]` for a sequence, `k` for a range); each adaptor maps
//!   one stream to another (`rev` reads index `hi - 1 - (k - lo)`, `skip(n)` starts at
//!   `lo + n`, `zip` walks both from their starts up to the shorter length, `map` applies its
//!   closure to the item, `filter` adds a test at the index, so it must come after the
//!   adaptors that count items). `chain.sum()` is then
//!   `{ let mut acc = 0.0; for k in lo..hi { acc += item(k); } acc }`, `product` multiplies,
//!   `fold(init, f)` assigns `acc = f(acc, item(k))`, and `for pat in chain { body }` is
//!   `for k in lo..hi { let pat = item(k); body }`. Items are references, as in Rust; a
//!   reference is the value itself in the graph.
//! - A closure is inlined where it is applied: its parameters become `let`s bound to the
//!   arguments (evaluated first), then its body. Its captured variables are read where it is
//!   applied, so `body.rs` refuses a call after one of them was rebound or assigned (a
//!   closure that is stored, returned or passed elsewhere is refused too).
//! - `break` and `continue` become flags: `break` clears `run` and `next`, `continue` clears
//!   `next` (declared fresh at the top of each iteration), and the statements after an `if`
//!   that may jump are guarded by `if next { .. }`. A `for` loop with `break` runs its
//!   remaining iterations as no-ops (`if run { .. }`: the range is fixed, the gradient is that
//!   of the iterations that did work); `while cond` becomes `while run && cond`, and
//!   `loop { .. }` becomes `while run { .. }`. The flags do not depend on differentiated
//!   values but may be set under conditions that do: they are ordinary `bool` branches.
//! - `while cond { body }` itself is not a rewriting: `body.rs` lowers it as a loop node whose
//!   body graph is `if cond { body }` and whose condition is `LoopInfo::while_cond`. The
//!   forward loop runs until an iteration finds the condition false (that last iteration
//!   changes nothing), counts its trips and pushes the carried values the backward pass needs
//!   to a `Vec` that grows as it runs; the backward pass runs `0..trips` in reverse, popping
//!   that tape. The Hessian re-runs the same forward loop on hyper-dual numbers.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, ToTokens};
use syn::{parse_quote, Expr, ExprClosure, Pat};

/// An error at a token, with its message.
pub(crate) struct DesugarError {
    pub at: TokenStream,
    pub message: String,
}

fn err<T>(at: impl ToTokens, message: impl Into<String>) -> Result<T, DesugarError> {
    Err(DesugarError {
        at: at.to_token_stream(),
        message: message.into(),
    })
}

/// What `map` or `fold` applies: a closure (written there or bound with `let`), or a function.
#[derive(Clone)]
pub(crate) enum Fun {
    Closure(ExprClosure),
    Path(Expr),
}

/// An iterator: the items at the indices `lo..hi` of its domain.
pub(crate) enum Stream {
    Range {
        lo: Expr,
        hi: Expr,
    },
    Seq(Expr),
    Rev(Box<Stream>),
    Skip(Box<Stream>, Expr),
    Take(Box<Stream>, Expr),
    StepBy(Box<Stream>, Expr),
    Enumerate(Box<Stream>),
    Zip(Box<Stream>, Box<Stream>),
    Map(Box<Stream>, Fun),
    Copied(Box<Stream>),
    /// `filter(pred)`: the item at `k` is skipped where `pred(&item)` is false.
    Filter(Box<Stream>, Fun, TokenStream),
}

/// An item: one value, or a tuple of items (`zip`, `enumerate`).
#[derive(Clone)]
pub(crate) enum Item {
    One(Expr),
    Tuple(Vec<Item>),
}

/// Iterator adaptors that are rewritten.
pub(crate) const ADAPTORS: &[&str] = &[
    "iter",
    "into_iter",
    "zip",
    "enumerate",
    "map",
    "rev",
    "skip",
    "take",
    "step_by",
    "copied",
    "cloned",
    "filter",
];

/// Adaptors and consumers of `Iterator` that are not rewritten: an error says what to write.
const OTHER_ADAPTORS: &[&str] = &[
    "filter_map",
    "flat_map",
    "flatten",
    "windows",
    "chunks",
    "chunks_exact",
    "take_while",
    "skip_while",
    "map_while",
    "scan",
    "chain",
    "peekable",
    "inspect",
    "cycle",
    "iter_mut",
    "for_each",
    "collect",
    "count",
    "last",
    "nth",
    "min_by",
    "max_by",
    "min_by_key",
    "max_by_key",
    "reduce",
    "any",
    "all",
    "position",
    "find",
    "try_fold",
];

/// Whether `e` is an iterator chain: a range, or a call of an adaptor.
pub(crate) fn is_chain(e: &Expr) -> bool {
    match strip(e) {
        Expr::Range(_) => true,
        Expr::MethodCall(m) => {
            let name = m.method.to_string();
            ADAPTORS.contains(&name.as_str()) || OTHER_ADAPTORS.contains(&name.as_str())
        }
        _ => false,
    }
}

/// Whether `name` is an `Iterator` method that is not rewritten.
pub(crate) fn is_other_adaptor(name: &str) -> bool {
    OTHER_ADAPTORS.contains(&name)
}

fn other_adaptor_message(name: &str) -> String {
    let instead = match name {
        "take_while" | "map_while" => {
            "loop over the items and leave with `break`: `for x in xs.iter() { if !cond { break; } s += *x; }`"
        }
        "filter_map" | "skip_while" | "find" | "position" | "any" | "all" => {
            "loop over the items and guard the body with `if`: `for x in xs.iter() { if cond { s += *x; } }`"
        }
        "windows" | "chunks" | "chunks_exact" => {
            "zip the sequence with itself shifted, `xs.iter().zip(xs.iter().skip(1))`, or index: `for i in 0..xs.len() - 1 { .. xs[i] .. xs[i + 1] .. }`"
        }
        "collect" | "count" | "last" | "nth" => {
            "end the chain with `sum::<T>()`, `product::<T>()` or `fold(init, |acc, x| ..)`, or index the sequence directly"
        }
        _ => "write the loop out: `for (i, x) in xs.iter().enumerate() { .. }`, or end the chain with `sum::<T>()`, `product::<T>()` or `fold(init, |acc, x| ..)`",
    };
    format!(
        "the iterator adaptor `{name}` is not supported in a #[differentiable] body (supported: {}; ending in `sum`, `product` or `fold`); {instead}",
        ADAPTORS.join(", ")
    )
}

/// Reads an iterator chain (or anything a `for` or `zip` accepts: a sequence, `&xs`, a range).
/// `closure` finds a closure bound with `let` by its name.
pub(crate) fn stream(
    e: &Expr,
    closure: &dyn Fn(&str) -> Option<ExprClosure>,
) -> Result<Stream, DesugarError> {
    let e = strip(e);
    match e {
        Expr::Range(r) => {
            let (Some(lo), Some(hi)) = (&r.start, &r.end) else {
                return err(r, "an iterated range needs both bounds, as in `0..n`");
            };
            let hi: Expr = match r.limits {
                syn::RangeLimits::Closed(_) => parse_quote!((#hi + 1)),
                syn::RangeLimits::HalfOpen(_) => paren(hi),
            };
            Ok(Stream::Range { lo: paren(lo), hi })
        }
        Expr::Reference(r) if r.mutability.is_none() => Ok(Stream::Seq(seq_base(&r.expr))),
        Expr::MethodCall(m) => {
            let name = m.method.to_string();
            let inner = |closure| stream(&m.receiver, closure).map(Box::new);
            let one_arg = || -> Result<Expr, DesugarError> {
                match m.args.len() {
                    1 => Ok(paren(&m.args[0])),
                    _ => err(&m.method, format!("`{name}` takes one argument")),
                }
            };
            match name.as_str() {
                "iter" | "into_iter" if m.args.is_empty() => {
                    if is_chain(&m.receiver) {
                        stream(&m.receiver, closure)
                    } else {
                        match strip(&m.receiver) {
                            Expr::Reference(r) => Ok(Stream::Seq(seq_base(&r.expr))),
                            other => Ok(Stream::Seq(seq_base(other))),
                        }
                    }
                }
                "rev" => Ok(Stream::Rev(inner(closure)?)),
                "enumerate" => Ok(Stream::Enumerate(inner(closure)?)),
                "copied" | "cloned" => Ok(Stream::Copied(inner(closure)?)),
                "filter" => {
                    let f = fun(&one_arg()?, closure)?;
                    Ok(Stream::Filter(
                        inner(closure)?,
                        f,
                        m.method.to_token_stream(),
                    ))
                }
                "skip" => Ok(Stream::Skip(inner(closure)?, one_arg()?)),
                "take" => Ok(Stream::Take(inner(closure)?, one_arg()?)),
                "step_by" => Ok(Stream::StepBy(inner(closure)?, one_arg()?)),
                "zip" => {
                    let other = stream(&one_arg()?, closure)?;
                    Ok(Stream::Zip(inner(closure)?, Box::new(other)))
                }
                "map" => {
                    let f = fun(&one_arg()?, closure)?;
                    Ok(Stream::Map(inner(closure)?, f))
                }
                other if is_other_adaptor(other) => err(&m.method, other_adaptor_message(other)),
                _ => Ok(Stream::Seq(e.clone())),
            }
        }
        other => Ok(Stream::Seq(seq_base(other))),
    }
}

/// The sequence a `&xs`, `&*xs` or `(xs)` reads: `xs` (indexed like a parameter).
fn seq_base(e: &Expr) -> Expr {
    let mut inner = e;
    loop {
        inner = match inner {
            Expr::Paren(p) => &p.expr,
            Expr::Group(g) => &g.expr,
            Expr::Reference(r) if r.mutability.is_none() => &r.expr,
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => &u.expr,
            Expr::Path(_) => return inner.clone(),
            _ => return paren(e),
        };
    }
}

/// `e`, in parentheses unless it is a primary expression (a name, a call, a literal).
fn paren(e: &Expr) -> Expr {
    match e {
        Expr::Path(_)
        | Expr::Lit(_)
        | Expr::MethodCall(_)
        | Expr::Call(_)
        | Expr::Field(_)
        | Expr::Index(_)
        | Expr::Paren(_) => e.clone(),
        other => parse_quote!((#other)),
    }
}

/// The function given to `map` or `fold`.
pub(crate) fn fun(
    e: &Expr,
    closure: &dyn Fn(&str) -> Option<ExprClosure>,
) -> Result<Fun, DesugarError> {
    match strip(e) {
        Expr::Closure(c) => Ok(Fun::Closure(c.clone())),
        Expr::Path(p) => {
            if let Some(id) = p.path.get_ident() {
                if let Some(c) = closure(&id.to_string()) {
                    return Ok(Fun::Closure(c));
                }
            }
            Ok(Fun::Path(Expr::Path(p.clone())))
        }
        other => err(
            other,
            "pass a closure (`|x| ..`), the name of a closure bound with `let`, or a function path",
        ),
    }
}

fn zero() -> Expr {
    parse_quote!(0)
}

fn is_zero(e: &Expr) -> bool {
    matches!(strip(e), Expr::Lit(l) if matches!(&l.lit, syn::Lit::Int(i) if i.base10_digits() == "0"))
}

fn add(a: &Expr, b: &Expr) -> Expr {
    if is_zero(a) {
        b.clone()
    } else if is_zero(b) {
        a.clone()
    } else {
        parse_quote!((#a + #b))
    }
}

fn sub(a: &Expr, b: &Expr) -> Expr {
    if is_zero(b) {
        a.clone()
    } else {
        parse_quote!((#a - #b))
    }
}

impl Stream {
    /// The index domain `lo..hi`. `hi` may be below `lo` (an empty loop).
    pub(crate) fn domain(&self) -> (Expr, Expr) {
        match self {
            Stream::Range { lo, hi } => (lo.clone(), hi.clone()),
            Stream::Seq(base) => (zero(), parse_quote!(#base.len())),
            Stream::Rev(s)
            | Stream::Enumerate(s)
            | Stream::Map(s, _)
            | Stream::Copied(s)
            | Stream::Filter(s, _, _) => s.domain(),
            Stream::Skip(s, n) => {
                let (lo, hi) = s.domain();
                (add(&lo, n), hi)
            }
            Stream::Take(s, n) => {
                let (lo, hi) = s.domain();
                let end = add(&lo, n);
                (lo, parse_quote!(::core::cmp::min(#hi, #end)))
            }
            Stream::StepBy(s, _) | Stream::Zip(s, _) => (zero(), self.count_of(s)),
        }
    }

    /// The number of items of a zipped or stepped stream (its domain starts at 0).
    fn count_of(&self, s: &Stream) -> Expr {
        let len = |s: &Stream| -> Expr {
            let (lo, hi) = s.domain();
            if is_zero(&lo) {
                hi
            } else {
                parse_quote!((::core::cmp::max(#hi, #lo) - #lo))
            }
        };
        match self {
            Stream::StepBy(_, step) => {
                let n = len(s);
                // (`div_ceil`, written so that it also infers for a literal range.)
                parse_quote!((#n / #step + ::core::primitive::usize::from(#n % #step != 0)))
            }
            Stream::Zip(a, b) => {
                let (na, nb) = (len(a), len(b));
                parse_quote!(::core::cmp::min(#na, #nb))
            }
            _ => len(s),
        }
    }

    /// The item at index `k` of the domain.
    pub(crate) fn item(&self, k: &Expr) -> Result<Item, DesugarError> {
        match self {
            Stream::Range { .. } => Ok(Item::One(k.clone())),
            Stream::Seq(base) => Ok(Item::One(parse_quote!(&#base[#k]))),
            Stream::Rev(s) => {
                let (lo, hi) = s.domain();
                let back = sub(&parse_quote!((#hi - 1)), &sub(k, &lo));
                s.item(&back)
            }
            Stream::Skip(s, _) | Stream::Take(s, _) => s.item(k),
            Stream::StepBy(s, step) => {
                let (lo, _) = s.domain();
                s.item(&add(&lo, &parse_quote!((#k * #step))))
            }
            Stream::Enumerate(s) => {
                let (lo, _) = s.domain();
                Ok(Item::Tuple(vec![Item::One(sub(k, &lo)), s.item(k)?]))
            }
            Stream::Zip(a, b) => {
                let (la, _) = a.domain();
                let (lb, _) = b.domain();
                Ok(Item::Tuple(vec![
                    a.item(&add(&la, k))?,
                    b.item(&add(&lb, k))?,
                ]))
            }
            Stream::Copied(s) => Ok(match s.item(k)? {
                Item::One(Expr::Reference(r)) => Item::One(*r.expr),
                Item::One(e) => Item::One(parse_quote!(*#e)),
                tuple => tuple,
            }),
            Stream::Map(s, f) => {
                let item = s.item(k)?;
                Ok(Item::One(apply(f, &[item], &map_span(f))?))
            }
            Stream::Filter(s, _, _) => s.item(k),
        }
    }

    /// The tests `filter` makes at index `k` (all must hold for the item to count).
    pub(crate) fn guards(&self, k: &Expr) -> Result<Vec<Expr>, DesugarError> {
        match self {
            Stream::Range { .. } | Stream::Seq(_) => Ok(Vec::new()),
            Stream::Map(s, _) | Stream::Copied(s) => s.guards(k),
            Stream::Rev(s) => {
                let (lo, hi) = s.domain();
                s.guards(&sub(&parse_quote!((#hi - 1)), &sub(k, &lo)))
            }
            Stream::Filter(s, f, _) => {
                let mut g = s.guards(k)?;
                let arg = match s.item(k)? {
                    Item::One(e) => Item::One(parse_quote!(&#e)),
                    tuple => tuple,
                };
                g.push(apply(f, &[arg], &map_span(f))?);
                Ok(g)
            }
            Stream::Enumerate(s)
            | Stream::Skip(s, _)
            | Stream::Take(s, _)
            | Stream::StepBy(s, _) => match s.filtered() {
                Some(at) => err(at, "`filter` is supported only after the adaptors that count items (`enumerate`, `skip`, `take`, `step_by`, `zip`); move it after them, or test the item in the loop body"),
                None => Ok(Vec::new()),
            },
            Stream::Zip(a, b) => match a.filtered().or_else(|| b.filtered()) {
                Some(at) => err(at, "`filter` is supported only after the adaptors that count items (`enumerate`, `skip`, `take`, `step_by`, `zip`); move it after them, or test the item in the loop body"),
                None => Ok(Vec::new()),
            },
        }
    }

    /// The `filter` token of a filtered stream.
    fn filtered(&self) -> Option<TokenStream> {
        match self {
            Stream::Filter(_, _, at) => Some(at.clone()),
            Stream::Range { .. } | Stream::Seq(_) => None,
            Stream::Rev(s)
            | Stream::Enumerate(s)
            | Stream::Map(s, _)
            | Stream::Copied(s)
            | Stream::Skip(s, _)
            | Stream::Take(s, _)
            | Stream::StepBy(s, _) => s.filtered(),
            Stream::Zip(a, b) => a.filtered().or_else(|| b.filtered()),
        }
    }
}

/// `stmt` under the tests of a `filter`.
fn guarded(guards: Vec<Expr>, stmts: Vec<syn::Stmt>) -> Vec<syn::Stmt> {
    if guards.is_empty() {
        return stmts;
    }
    let cond = guards
        .into_iter()
        .reduce(|a, b| parse_quote!(#a && #b))
        .expect("not empty");
    vec![parse_quote!(if #cond { #(#stmts)* })]
}

fn map_span(f: &Fun) -> TokenStream {
    match f {
        Fun::Closure(c) => c.or1_token.to_token_stream(),
        Fun::Path(p) => p.to_token_stream(),
    }
}

/// `f(items..)`, inlined: `{ let p1 = item1; ..; body }`.
pub(crate) fn apply(f: &Fun, items: &[Item], at: &TokenStream) -> Result<Expr, DesugarError> {
    match f {
        Fun::Path(p) => {
            let mut args = Vec::new();
            for item in items {
                match item {
                    Item::One(e) => args.push(e.clone()),
                    Item::Tuple(_) => {
                        return err(at, "this function is given a tuple item; pass a closure that destructures it: `|(a, b)| ..`")
                    }
                }
            }
            Ok(parse_quote!(#p(#(#args),*)))
        }
        Fun::Closure(c) => {
            if c.inputs.len() != items.len() {
                return err(
                    c.or1_token,
                    format!(
                        "this closure takes {} parameter{}, and is given {}",
                        c.inputs.len(),
                        if c.inputs.len() == 1 { "" } else { "s" },
                        items.len()
                    ),
                );
            }
            let mut stmts = Vec::new();
            for (pat, item) in c.inputs.iter().zip(items) {
                bind(pat, item, &mut stmts)?;
            }
            let body = &c.body;
            Ok(parse_quote!({ #(#stmts)* #body }))
        }
    }
}

/// `let` statements that bind `pat` to `item`.
pub(crate) fn bind(pat: &Pat, item: &Item, out: &mut Vec<syn::Stmt>) -> Result<(), DesugarError> {
    match (pat, item) {
        // `|t: &f64|`: the type is kept (it says whether `*t` is a dereference).
        (Pat::Type(t), Item::One(e)) if matches!(&*t.pat, Pat::Ident(p) if p.subpat.is_none() && p.by_ref.is_none()) => {
            let (pat, ty) = (&t.pat, &t.ty);
            out.push(parse_quote!(let #pat: #ty = #e;));
            Ok(())
        }
        (Pat::Type(t), _) => bind(&t.pat, item, out),
        (Pat::Paren(p), _) => bind(&p.pat, item, out),
        (Pat::Wild(_), _) => Ok(()),
        (Pat::Ident(p), Item::One(e)) if p.subpat.is_none() && p.by_ref.is_none() => {
            let (m, name) = (&p.mutability, &p.ident);
            out.push(parse_quote!(let #m #name = #e;));
            Ok(())
        }
        (Pat::Reference(r), Item::Tuple(_)) => bind(&r.pat, item, out),
        (Pat::Reference(r), Item::One(e)) => {
            let inner: Expr = match strip(e) {
                Expr::Reference(re) => (*re.expr).clone(),
                other => parse_quote!(*#other),
            };
            bind(&r.pat, &Item::One(inner), out)
        }
        (Pat::Tuple(t), Item::Tuple(items)) if t.elems.len() == items.len() => {
            for (p, i) in t.elems.iter().zip(items) {
                bind(p, i, out)?;
            }
            Ok(())
        }
        // An item that is a tuple value (`&pairs[k]` of a `&[(f64, f64)]`): its fields.
        (Pat::Tuple(t), Item::One(e)) => {
            for (i, p) in t.elems.iter().enumerate() {
                let field = syn::Index::from(i);
                bind(p, &Item::One(parse_quote!((#e).#field)), out)?;
            }
            Ok(())
        }
        (Pat::Ident(_), Item::Tuple(items)) => err(
            pat,
            format!(
                "this item is a tuple of {}; destructure it in the pattern: `({})`",
                items.len(),
                (0..items.len())
                    .map(|i| format!("x{i}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        _ => err(
            pat,
            "this pattern is not supported here; bind names, `&name` or tuples of them: `|(i, &x)| ..`",
        ),
    }
}

fn fresh(what: &str) -> syn::Ident {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format_ident!(
        "__ad_{}{}",
        what,
        NEXT.fetch_add(1, Ordering::Relaxed),
        span = Span::call_site()
    )
}

/// A `for` loop over a chain, as a loop over its index domain: `(lo, hi, the loop)`.
pub(crate) fn for_chain(
    f: &syn::ExprForLoop,
    closure: &dyn Fn(&str) -> Option<ExprClosure>,
) -> Result<(Expr, Expr, syn::ExprForLoop), DesugarError> {
    let s = stream(&f.expr, closure)?;
    let (lo, hi) = s.domain();
    let k = fresh("k");
    let item = s.item(&parse_quote!(#k))?;
    let guards = s.guards(&parse_quote!(#k))?;
    let mut stmts = Vec::new();
    bind(&f.pat, &item, &mut stmts)?;
    stmts.extend(f.body.stmts.iter().cloned());
    let stmts = guarded(guards, stmts);
    let lp: syn::ExprForLoop = parse_quote!(for #k in 0..1 { #(#stmts)* });
    Ok((lo, hi, lp))
}

/// A chain ending in `sum`, `product` or `fold`, as a block with a loop:
/// `(lo, hi, init, the accumulator's name, the loop)`; the value is `{ let mut acc = init;
/// loop; acc }`.
pub(crate) struct Reduction {
    pub lo: Expr,
    pub hi: Expr,
    pub acc: syn::Ident,
    pub init: Expr,
    pub body: syn::ExprForLoop,
}

pub(crate) fn reduction(
    m: &syn::ExprMethodCall,
    closure: &dyn Fn(&str) -> Option<ExprClosure>,
) -> Result<Reduction, DesugarError> {
    let s = stream(&m.receiver, closure)?;
    let (lo, hi) = s.domain();
    let k = fresh("k");
    let acc = fresh("acc");
    let item = s.item(&parse_quote!(#k))?;
    let name = m.method.to_string();
    let one = |item: Item| -> Result<Expr, DesugarError> {
        match item {
            Item::One(e) => Ok(e),
            Item::Tuple(_) => err(
                &m.method,
                format!("`{name}` of tuple items; `map` them to one value first: `.map(|(a, b)| a * b)`"),
            ),
        }
    };
    let (init, step): (Expr, syn::Stmt) = match name.as_str() {
        "sum" | "product" => {
            if !m.args.is_empty() {
                return err(&m.method, format!("`{name}` takes no argument"));
            }
            let e = one(item)?;
            if name == "sum" {
                (parse_quote!(0.0), parse_quote!(#acc += #e;))
            } else {
                (parse_quote!(1.0), parse_quote!(#acc *= #e;))
            }
        }
        _ => {
            if m.args.len() != 2 {
                return err(
                    &m.method,
                    "`fold` takes two arguments: `fold(init, |acc, x| ..)`",
                );
            }
            let f = fun(&m.args[1], closure)?;
            let acc_item = Item::One(parse_quote!(#acc));
            let e = apply(&f, &[acc_item, item], &m.method.to_token_stream())?;
            (m.args[0].clone(), parse_quote!(#acc = #e;))
        }
    };
    let step = guarded(s.guards(&parse_quote!(#k))?, vec![step]);
    let body: syn::ExprForLoop = parse_quote!(for #k in 0..1 { #(#step)* });
    Ok(Reduction {
        lo,
        hi,
        acc,
        init,
        body,
    })
}

/// `if let pat = e { a } else { b }` as `match e { pat => { a } _ => { b } }` (an empty
/// `else` without one), which `match_to_if` lowers. `None` for another `if`.
pub(crate) fn if_let_to_match(ifx: &syn::ExprIf) -> Option<syn::ExprMatch> {
    let Expr::Let(l) = &*ifx.cond else {
        return None;
    };
    let (pat, scrut, then) = (&l.pat, &l.expr, &ifx.then_branch);
    let otherwise: Expr = match &ifx.else_branch {
        Some((_, e)) => (**e).clone(),
        None => parse_quote!({}),
    };
    Some(parse_quote!(match #scrut { #pat => #then, _ => #otherwise }))
}

/// `match` as an `if` chain; `active`: the scrutinee depends on a differentiated value (a
/// `bool`: the arms must be `true`, `false` or `_`).
pub(crate) fn match_to_if(m: &syn::ExprMatch, active: bool) -> Result<Expr, DesugarError> {
    let scrut = &m.expr;
    let n = m.arms.len();
    if n == 0 {
        return err(m.match_token, "a `match` without arms has no value");
    }
    let mut chain: Option<Expr> = None;
    for (i, arm) in m.arms.iter().enumerate().rev() {
        let mut prefix: Vec<syn::Stmt> = Vec::new();
        let cond: Option<Expr> = if active {
            let guard = arm.guard.as_ref().map(|(_, g)| (**g).clone());
            let test: Option<Expr> = match &arm.pat {
                Pat::Lit(l) if matches!(&l.lit, syn::Lit::Bool(b) if b.value) => {
                    Some(parse_quote!((#scrut)))
                }
                Pat::Lit(l) if matches!(&l.lit, syn::Lit::Bool(_)) => Some(parse_quote!(!(#scrut))),
                Pat::Wild(_) => None,
                other => {
                    return err(other, "a `match` on a value that depends on a differentiated one can only test `true` and `false`; compare floats with `if x > c { .. } else { .. }`")
                }
            };
            match (test, guard) {
                (Some(t), Some(g)) => Some(parse_quote!(#t && (#g))),
                (Some(t), None) => Some(t),
                (None, Some(g)) => Some(g),
                (None, None) => None,
            }
        } else {
            let pat = &arm.pat;
            let guard = arm.guard.as_ref().map(|(_, g)| quote!(if #g));
            for name in bindings(pat) {
                prefix.push(parse_quote!(
                    let #name = match #scrut {
                        #pat => #name,
                        #[allow(unreachable_patterns)]
                        _ => ::core::unreachable!(),
                    };
                ));
            }
            // The bindings are read in the arm (`prefix`); the test binds nothing unless its
            // guard reads them.
            let test_pat = match guard {
                Some(_) => pat.clone(),
                None => without_bindings(pat),
            };
            Some(parse_quote!(::core::matches!(#scrut, #test_pat #guard)))
        };
        let body = &arm.body;
        let block: syn::Block = match &**body {
            Expr::Block(b) if b.label.is_none() && prefix.is_empty() => b.block.clone(),
            Expr::Block(b) if b.label.is_none() => {
                let stmts = &b.block.stmts;
                parse_quote!({ #(#prefix)* #(#stmts)* })
            }
            other => parse_quote!({ #(#prefix)* #other }),
        };
        let last = i + 1 == n;
        chain = Some(match (last, cond, chain) {
            (true, _, _) | (false, None, _) => Expr::Block(syn::ExprBlock {
                attrs: Vec::new(),
                label: None,
                block,
            }),
            (false, Some(c), Some(rest)) => {
                parse_quote!(if #c #block else #rest)
            }
            (false, Some(c), None) => parse_quote!(if #c #block),
        });
    }
    Ok(chain.expect("a match has arms"))
}

/// Names a pattern binds (identifiers that start with a lower-case letter or `_`).
fn bindings(pat: &Pat) -> Vec<syn::Ident> {
    let mut out = Vec::new();
    collect_bindings(pat, &mut out);
    out
}

/// `pat` with each binding (as `collect_bindings` finds them) a `_`: `Some(m)` is `Some(_)`,
/// `P { x, .. }` is `P { x: _, .. }`, `v @ 1..=3` is `1..=3`.
fn without_bindings(pat: &Pat) -> Pat {
    let is_binding = |id: &syn::Ident| {
        let s = id.to_string();
        s.starts_with(|c: char| c.is_lowercase() || c == '_') && s != "_"
    };
    let mut out = pat.clone();
    match &mut out {
        Pat::Ident(p) if is_binding(&p.ident) => {
            return match &p.subpat {
                Some((_, sub)) => without_bindings(sub),
                None => parse_quote!(_),
            }
        }
        Pat::Or(o) => o.cases.iter_mut().for_each(|c| *c = without_bindings(c)),
        Pat::Paren(p) => *p.pat = without_bindings(&p.pat),
        Pat::Reference(r) => *r.pat = without_bindings(&r.pat),
        Pat::Slice(s) => s.elems.iter_mut().for_each(|p| *p = without_bindings(p)),
        Pat::Struct(s) => {
            for f in s.fields.iter_mut() {
                if f.colon_token.is_none() {
                    f.colon_token = Some(Default::default());
                }
                *f.pat = without_bindings(&f.pat);
            }
        }
        Pat::Tuple(t) => t.elems.iter_mut().for_each(|p| *p = without_bindings(p)),
        Pat::TupleStruct(t) => t.elems.iter_mut().for_each(|p| *p = without_bindings(p)),
        Pat::Type(t) => *t.pat = without_bindings(&t.pat),
        _ => {}
    }
    out
}

fn collect_bindings(pat: &Pat, out: &mut Vec<syn::Ident>) {
    match pat {
        Pat::Ident(p) => {
            let s = p.ident.to_string();
            if s.starts_with(|c: char| c.is_lowercase() || c == '_') && s != "_" {
                out.push(p.ident.clone());
            }
            if let Some((_, sub)) = &p.subpat {
                collect_bindings(sub, out);
            }
        }
        Pat::Or(o) => {
            if let Some(first) = o.cases.first() {
                collect_bindings(first, out);
            }
        }
        Pat::Paren(p) => collect_bindings(&p.pat, out),
        Pat::Reference(r) => collect_bindings(&r.pat, out),
        Pat::Slice(s) => s.elems.iter().for_each(|p| collect_bindings(p, out)),
        Pat::Struct(s) => s.fields.iter().for_each(|f| collect_bindings(&f.pat, out)),
        Pat::Tuple(t) => t.elems.iter().for_each(|p| collect_bindings(p, out)),
        Pat::TupleStruct(t) => t.elems.iter().for_each(|p| collect_bindings(p, out)),
        Pat::Type(t) => collect_bindings(&t.pat, out),
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

/// Whether `break` or `continue` of this loop occurs in `stmts` (not in a nested loop or
/// closure).
pub(crate) fn has_jump(stmts: &[syn::Stmt]) -> bool {
    let mut j = Jumps::default();
    stmts
        .iter()
        .for_each(|s| syn::visit::Visit::visit_stmt(&mut j, s));
    j.breaks || j.continues
}

fn has_break(stmts: &[syn::Stmt]) -> bool {
    let mut j = Jumps::default();
    stmts
        .iter()
        .for_each(|s| syn::visit::Visit::visit_stmt(&mut j, s));
    j.breaks
}

#[derive(Default)]
struct Jumps {
    breaks: bool,
    continues: bool,
    /// The first jump's keyword.
    first: Option<TokenStream>,
}

impl<'ast> syn::visit::Visit<'ast> for Jumps {
    fn visit_expr_break(&mut self, b: &'ast syn::ExprBreak) {
        self.breaks = true;
        self.first
            .get_or_insert_with(|| b.break_token.to_token_stream());
    }
    fn visit_expr_continue(&mut self, c: &'ast syn::ExprContinue) {
        self.continues = true;
        self.first
            .get_or_insert_with(|| c.continue_token.to_token_stream());
    }
    fn visit_expr_for_loop(&mut self, _: &'ast syn::ExprForLoop) {}
    fn visit_expr_while(&mut self, _: &'ast syn::ExprWhile) {}
    fn visit_expr_loop(&mut self, _: &'ast syn::ExprLoop) {}
    fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
}

/// `break` and `continue` as flags: `break` clears `run` and `next`, `continue` clears
/// `next`, and the statements after an `if` that may jump run under `if next { .. }`.
fn guard(
    stmts: &[syn::Stmt],
    run: &syn::Ident,
    next: &syn::Ident,
) -> Result<Vec<syn::Stmt>, DesugarError> {
    let mut out: Vec<syn::Stmt> = Vec::new();
    for (i, s) in stmts.iter().enumerate() {
        match s {
            syn::Stmt::Expr(Expr::Break(b), _) => {
                if let Some(l) = &b.label {
                    return err(l, "labeled `break` is not supported in a #[differentiable] body; a `break` leaves the innermost loop: set a flag and test it in the outer loop");
                }
                if let Some(v) = &b.expr {
                    return err(v, "`break` with a value is not supported in a #[differentiable] body; assign the value to a `let mut` variable declared before the loop, then `break;`");
                }
                out.push(parse_quote!(#run = false;));
                out.push(parse_quote!(#next = false;));
                return Ok(out);
            }
            syn::Stmt::Expr(Expr::Continue(c), _) => {
                if let Some(l) = &c.label {
                    return err(l, "labeled `continue` is not supported in a #[differentiable] body; a `continue` goes to the next iteration of the innermost loop");
                }
                out.push(parse_quote!(#next = false;));
                return Ok(out);
            }
            syn::Stmt::Expr(Expr::If(ifx), _) if has_jump(std::slice::from_ref(s)) => {
                out.push(syn::Stmt::Expr(
                    Expr::If(guard_if(ifx, run, next)?),
                    Some(Default::default()),
                ));
                let rest = guard(&stmts[i + 1..], run, next)?;
                if !rest.is_empty() {
                    out.push(parse_quote!(if #next { #(#rest)* }));
                }
                return Ok(out);
            }
            other if has_jump(std::slice::from_ref(other)) => {
                let mut j = Jumps::default();
                syn::visit::Visit::visit_stmt(&mut j, other);
                let at = j.first.unwrap_or_else(|| other.to_token_stream());
                return err(at, "`break` and `continue` are supported as statements, or inside `if`/`else` arms, in a #[differentiable] body (not in a `match` arm or a block with a value); write `if cond { break; }`");
            }
            other => out.push(other.clone()),
        }
    }
    Ok(out)
}

fn guard_if(
    ifx: &syn::ExprIf,
    run: &syn::Ident,
    next: &syn::Ident,
) -> Result<syn::ExprIf, DesugarError> {
    let mut new = ifx.clone();
    new.then_branch.stmts = guard(&ifx.then_branch.stmts, run, next)?;
    if let Some((e, other)) = &ifx.else_branch {
        let other: Expr = match &**other {
            Expr::If(nested) => Expr::If(guard_if(nested, run, next)?),
            Expr::Block(b) => {
                let mut b = b.clone();
                b.block.stmts = guard(&b.block.stmts, run, next)?;
                Expr::Block(b)
            }
            other => other.clone(),
        };
        new.else_branch = Some((*e, Box::new(other)));
    }
    Ok(new)
}

/// A `for` loop with `break` or `continue`: its body runs under flags (after a `break`, the
/// remaining iterations do nothing).
pub(crate) fn for_with_jumps(f: &syn::ExprForLoop) -> Result<Vec<syn::Stmt>, DesugarError> {
    let (run, next) = (fresh("run"), fresh("next"));
    let body = guard(&f.body.stmts, &run, &next)?;
    let (pat, expr) = (&f.pat, &f.expr);
    Ok(if has_break(&f.body.stmts) {
        vec![
            parse_quote!(let mut #run = true;),
            parse_quote!(for #pat in #expr { if #run { let mut #next = true; #(#body)* } }),
        ]
    } else {
        vec![parse_quote!(for #pat in #expr { let mut #next = true; #(#body)* })]
    })
}

/// `loop { body }`: `while run { body }`, with `break` clearing `run`.
pub(crate) fn loop_to_while(l: &syn::ExprLoop) -> Result<Vec<syn::Stmt>, DesugarError> {
    if let Some(label) = &l.label {
        return err(label, "loop labels are not supported in a #[differentiable] body; remove the label (a `break` leaves the innermost loop)");
    }
    if !has_break(&l.body.stmts) {
        return err(
            l.loop_token,
            "this `loop` has no `break`, so it never ends; add `if cond { break; }`, or write `while cond { .. }`",
        );
    }
    let (run, next) = (fresh("run"), fresh("next"));
    let body = guard(&l.body.stmts, &run, &next)?;
    Ok(vec![
        parse_quote!(let mut #run = true;),
        parse_quote!(while #run { let mut #next = true; #(#body)* }),
    ])
}

/// `while cond { body }`: statements before the loop, the condition, and the body as a loop
/// over nothing whose statements are `if __ad_while { body }` (see `LoopInfo::while_cond`).
pub(crate) fn while_parts(
    w: &syn::ExprWhile,
) -> Result<(Vec<syn::Stmt>, Expr, syn::ExprForLoop), DesugarError> {
    let cond = &w.cond;
    let (pre, cond, body): (Vec<syn::Stmt>, Expr, Vec<syn::Stmt>) = if has_jump(&w.body.stmts) {
        let (run, next) = (fresh("run"), fresh("next"));
        let mut body = vec![parse_quote!(let mut #next = true;)];
        body.extend(guard(&w.body.stmts, &run, &next)?);
        if has_break(&w.body.stmts) {
            (
                vec![parse_quote!(let mut #run = true;)],
                parse_quote!(#run && (#cond)),
                body,
            )
        } else {
            (Vec::new(), (**cond).clone(), body)
        }
    } else {
        (Vec::new(), (**cond).clone(), w.body.stmts.clone())
    };
    let lp: syn::ExprForLoop = parse_quote!(for _ in 0..0 { if __ad_while { #(#body)* } });
    Ok((pre, cond, lp))
}
