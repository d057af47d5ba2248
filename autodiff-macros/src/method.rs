//! Models as structs: `#[differentiable]` on a method taking `&self`, and on a function
//! differentiating a struct parameter named in `wrt(..)` (`fn loss(m: &Mlp, ..)`).
//!
//! Each field path the body reads from a differentiated struct (`self.l1.w`, or `self.l1` as
//! the receiver of a differentiable method) becomes a leaf: a parameter of a flat function
//! (`__leaf0`, bound to `&self.l1.w`) that the ordinary pipeline differentiates as a value of
//! unknown type. The generated items then take the struct again: their bodies bind the leaves
//! first, and the struct's gradient is assembled as a value of its own type,
//! `{ let mut g = self.zeros_like(); g.l1.w = <adjoint of __leaf0>; .. g }`. The pullback and
//! `__f_wrt` are written here, with one slot per parameter of the method as written.
//!
//! Before: `fn loss(&self, x: f64) -> f64 { self.w * x }`. The flat function:
//! `fn loss(__leaf0: &__Leaf0, x: f64) -> f64 { __leaf0 * x }`. After: `fn loss_grad(&self, x:
//! f64) -> (Self, f64) { let __leaf0 = &self.w; let (__g0, __g1) = { .. }; ({ let mut __gm =
//! zeros_like(self); __gm.w = __g0; __gm }, __g1) }`.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::{FnArg, Ident, Item, ItemFn, Member, Pat, ReturnType, Type};

use crate::args::Args;
use crate::errors::Errors;
use crate::ir::Kind;
use crate::items::Items;
use crate::names::member_name;
use crate::names::pullback as pullback_ident;
use crate::names::wrt as wrt_ident;
use crate::parse::body;
use crate::parse::sig::Sig;

/// Methods that read a size: `self.layers.len()` is a constant, not a leaf.
const SIZE_METHODS: &[&str] = &["len", "is_empty", "shape", "ndim"];

/// `#[differentiable]` on a method, or with `wrt(..)` naming a struct parameter.
pub(crate) fn applies(func: &ItemFn, args: &Args) -> bool {
    if func
        .sig
        .inputs
        .iter()
        .any(|i| matches!(i, FnArg::Receiver(_)))
    {
        return true;
    }
    let Some(wrt) = &args.wrt else { return false };
    typed_inputs(func).any(|(ident, ty)| wrt.contains(ident) && is_struct_type(ty, func))
}

/// A differentiated struct: `self`, or a parameter named in `wrt(..)`.
struct Root {
    /// `self` or the parameter's name, as written.
    ident: Ident,
    /// Position among the inputs.
    pos: usize,
    /// Its gradient type: `Self`, or the parameter's type without `&`.
    grad_ty: TokenStream,
    /// How the generated code refers to it by reference: `self`, `m`, or `&m`.
    by_ref: TokenStream,
    diff: bool,
}

/// A field path read from a root: the parameter of the flat function that stands for it.
struct Leaf {
    root: usize,
    path: Vec<Step>,
    /// For a collection indexed in a loop (`self.layers[i]`), which `for` it was read after
    /// (each loop accumulates its own gradient of the collection; they are added at the end);
    /// 0 for any other read.
    tag: usize,
    name: Ident,
    /// The path as written (`self.l1.w`), for formulas and traces.
    text: String,
    /// The expression as written, bound by reference at the top of each generated body.
    original: TokenStream,
}

/// One step of a field path: `.w`, `.0`, or `[2]` (an integer literal index).
#[derive(Clone)]
enum Step {
    Field(Member),
    At(usize),
}

impl PartialEq for Step {
    fn eq(&self, other: &Step) -> bool {
        match (self, other) {
            (Step::Field(a), Step::Field(b)) => a == b,
            (Step::At(a), Step::At(b)) => a == b,
            _ => false,
        }
    }
}

impl ToTokens for Step {
    fn to_tokens(&self, out: &mut TokenStream) {
        match self {
            Step::Field(m) => out.extend(quote!(.#m)),
            Step::At(i) => {
                let i = proc_macro2::Literal::usize_unsuffixed(*i);
                out.extend(quote!([#i]));
            }
        }
    }
}

struct Collect<'a> {
    roots: &'a [Root],
    leaves: Vec<Leaf>,
    /// The `for` loops seen so far.
    loops: usize,
}

impl Collect<'_> {
    fn leaf(&mut self, tokens: TokenStream, root: usize, path: Vec<Step>, tag: usize) -> Ident {
        if let Some(l) = self
            .leaves
            .iter()
            .find(|l| l.root == root && l.path == path && l.tag == tag)
        {
            return l.name.clone();
        }
        let name = format_ident!("__leaf{}", self.leaves.len(), span = Span::call_site());
        let mut text = self.roots[root].ident.to_string();
        for step in &path {
            match step {
                Step::Field(m) => {
                    text.push('.');
                    text.push_str(&member_name(m));
                }
                Step::At(i) => text.push_str(&format!("[{i}]")),
            }
        }
        self.leaves.push(Leaf {
            root,
            path,
            tag,
            name: name.clone(),
            text,
            original: tokens,
        });
        name
    }

    /// Replaces each field path `root.a.b` in `tokens` by its leaf. A path followed by `(` ends
    /// before the method name (`self.l1.forward(x)` reads the leaf `self.l1`); one followed by
    /// a size method (`self.layers.len()`) is left as written, a constant. So are paths where
    /// only constants can stand: in a `for` loop's range, an `if` or `while` condition, a
    /// `match` scrutinee, inside `[..]` (an index), and before `as` (`self.n as f64`): there
    /// they are integer, `bool` or compared fields, read from the struct as written.
    fn rewrite(&mut self, tokens: TokenStream, constant: bool) -> TokenStream {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let mut out: Vec<TokenTree> = Vec::new();
        let mut i = 0;
        let mut for_header = false;
        while i < trees.len() {
            match &trees[i] {
                TokenTree::Ident(id) if id == "for" => {
                    for_header = true;
                    self.loops += 1;
                }
                // A condition or a scrutinee has no derivative: the fields it reads (a `bool`,
                // an integer, or a float compared) are read from the struct as written.
                TokenTree::Ident(id) if id == "if" || id == "while" || id == "match" => {
                    for_header = true
                }
                TokenTree::Group(g) if g.delimiter() == proc_macro2::Delimiter::Brace => {
                    for_header = false
                }
                _ => {}
            }
            let constant_here = constant || for_header;
            let root = match &trees[i] {
                TokenTree::Ident(id) => self.roots.iter().position(|r| r.diff && r.ident == *id),
                _ => None,
            };
            // Not a path segment (`a::m`) or a field (`x.m`).
            let after_sep = matches!(out.last(), Some(TokenTree::Punct(p)) if p.as_char() == '.' || p.as_char() == ':');
            let Some(root) = root.filter(|_| !after_sep && !constant_here) else {
                out.push(match &trees[i] {
                    TokenTree::Group(g) => {
                        let inner = constant_here
                            || g.delimiter() == proc_macro2::Delimiter::Bracket
                            || (g.delimiter() == proc_macro2::Delimiter::Parenthesis
                                && integer_arguments(&out));
                        let mut ng =
                            proc_macro2::Group::new(g.delimiter(), self.rewrite(g.stream(), inner));
                        ng.set_span(g.span());
                        TokenTree::Group(ng)
                    }
                    other => other.clone(),
                });
                i += 1;
                continue;
            };
            // `root (. member)*`
            let mut j = i + 1;
            let mut path = Vec::new();
            let mut ends = vec![j];
            while j < trees.len() {
                // `[2]` after a field: a constant index.
                if let TokenTree::Group(g) = &trees[j] {
                    let lit = match g.stream().into_iter().collect::<Vec<_>>()[..] {
                        [TokenTree::Literal(ref l)] => l.to_string().parse::<usize>().ok(),
                        _ => None,
                    };
                    match lit {
                        Some(k)
                            if g.delimiter() == proc_macro2::Delimiter::Bracket
                                && !path.is_empty() =>
                        {
                            path.push(Step::At(k));
                            j += 1;
                            ends.push(j);
                            continue;
                        }
                        _ => break,
                    }
                }
                if j + 1 >= trees.len() {
                    break;
                }
                let TokenTree::Punct(dot) = &trees[j] else {
                    break;
                };
                if dot.as_char() != '.' || dot.spacing() != proc_macro2::Spacing::Alone {
                    break;
                }
                let member = match &trees[j + 1] {
                    TokenTree::Ident(id) => Member::Named(id.clone()),
                    TokenTree::Literal(l) => match l.to_string().parse::<u32>() {
                        Ok(index) => Member::Unnamed(syn::Index {
                            index,
                            span: l.span(),
                        }),
                        Err(_) => break,
                    },
                    _ => break,
                };
                path.push(Step::Field(member));
                j += 2;
                ends.push(j);
            }
            // A method name is not a field.
            let is_call = |at: usize| {
                matches!(trees.get(at), Some(TokenTree::Group(g)) if g.delimiter() == proc_macro2::Delimiter::Parenthesis)
                    || matches!(trees.get(at), Some(TokenTree::Punct(p)) if p.as_char() == ':')
            };
            if matches!(path.last(), Some(Step::Field(_))) && is_call(j) {
                let Some(Step::Field(method)) = path.pop() else {
                    unreachable!("checked above")
                };
                let method = member_name(&method);
                j -= 2;
                if SIZE_METHODS.contains(&method.as_str()) {
                    out.extend(trees[i..j].iter().cloned());
                    i = j;
                    continue;
                }
            }
            if !path.is_empty() {
                if let Some(TokenTree::Group(g)) = trees.get(j) {
                    if g.delimiter() == proc_macro2::Delimiter::Bracket {
                        // `self.layers[i]..`: the whole collection is the leaf, indexed in the
                        // body (in a loop, whose backward pass accumulates into the element
                        // read); field reads of the element go through the derive's readers.
                        let original: TokenStream = trees[i..j].iter().cloned().collect();
                        let tag = self.loops + 1;
                        let name = self.leaf(original, root, path, tag);
                        out.push(TokenTree::Ident(name));
                        let mut ng =
                            proc_macro2::Group::new(g.delimiter(), self.rewrite(g.stream(), true));
                        ng.set_span(g.span());
                        out.push(TokenTree::Group(ng));
                        j += 1;
                        j = crate::field_loops::element_fields(&trees, j, &mut out);
                        i = j;
                        continue;
                    }
                }
            }
            if matches!(trees.get(j), Some(TokenTree::Ident(id)) if id == "as") {
                out.extend(trees[i..j].iter().cloned());
                i = j;
                continue;
            }
            let original: TokenStream = trees[i..j].iter().cloned().collect();
            let name = self.leaf(original, root, path, 0);
            out.push(TokenTree::Ident(name));
            i = j;
        }
        out.into_iter().collect()
    }
}

/// Methods whose arguments are integers (an exponent, an axis, a shape): a field read there
/// (`x.powi(self.k)`, `t.sum_axis(self.axis)`) is a constant of the model.
const INTEGER_METHODS: &[&str] = &[
    "powi",
    "sum_axis",
    "mean_axis",
    "max_axis",
    "min_axis",
    "logsumexp_axis",
    "softmax",
    "log_softmax",
    "unsqueeze",
    "reshape",
];

/// Whether the argument list that follows `out` takes integers only: a call of one of
/// `INTEGER_METHODS`, or of a `Tensor` constructor (`Tensor::one_hot(y, self.classes)`,
/// `Tensor::zeros(..)`), whose arguments are data and sizes, never differentiated.
fn integer_arguments(out: &[TokenTree]) -> bool {
    let n = out.len();
    let Some(TokenTree::Ident(name)) = out.last() else {
        return false;
    };
    let name = name.to_string();
    let after_dot =
        matches!(out.get(n.wrapping_sub(2)), Some(TokenTree::Punct(p)) if p.as_char() == '.');
    if after_dot && INTEGER_METHODS.contains(&name.as_str()) {
        return true;
    }
    // `Tensor :: name`
    n >= 4
        && matches!(&out[n - 2], TokenTree::Punct(p) if p.as_char() == ':')
        && matches!(&out[n - 3], TokenTree::Punct(p) if p.as_char() == ':')
        && matches!(&out[n - 4], TokenTree::Ident(t) if t == "Tensor")
}

/// The typed parameters: name and type.
fn typed_inputs(func: &ItemFn) -> impl Iterator<Item = (&Ident, &Type)> {
    func.sig.inputs.iter().filter_map(|i| match i {
        FnArg::Typed(t) => match &*t.pat {
            Pat::Ident(p) => Some((&p.ident, &*t.ty)),
            _ => None,
        },
        FnArg::Receiver(_) => None,
    })
}

/// A user type (a model struct), not a float, array, tensor, `Vec`, integer or generic.
fn is_struct_type(ty: &Type, func: &ItemFn) -> bool {
    let ty = match ty {
        Type::Reference(r) => &*r.elem,
        t => t,
    };
    let Type::Path(p) = ty else { return false };
    let Some(last) = p.path.segments.last() else {
        return false;
    };
    let name = last.ident.to_string();
    let known = matches!(name.as_str(), "f32" | "f64" | "Tensor" | "Vec" | "bool")
        || crate::parse::sig::is_integer_name(&name);
    // A generic of the function, or (a short all-capital name such as `T`) of the `impl`.
    let generic = p.path.segments.len() == 1
        && last.arguments.is_empty()
        && (func
            .sig
            .generics
            .type_params()
            .any(|t| t.ident == last.ident)
            || (name.len() <= 2 && !name.chars().any(|c| c.is_ascii_lowercase())));
    !known && !generic
}

/// Float generics of the `impl` block that the method's types use (`Tensor<T>`, `-> T`) but
/// its own generics do not declare: the flat function declares them `T: Float` so that the
/// signature analysis knows the float type.
fn impl_float_generics(func: &ItemFn) -> Vec<Ident> {
    let declared: Vec<&Ident> = func.sig.generics.type_params().map(|t| &t.ident).collect();
    let mut out: Vec<Ident> = Vec::new();
    let mut consider = |ty: &Type| {
        let mut stack = vec![ty];
        while let Some(t) = stack.pop() {
            match t {
                Type::Reference(r) => stack.push(&r.elem),
                Type::Array(a) => stack.push(&a.elem),
                Type::Slice(s) => stack.push(&s.elem),
                Type::Path(p) if p.qself.is_none() => {
                    if let Some(id) = p.path.get_ident() {
                        let s = id.to_string();
                        let upper = s.chars().next().is_some_and(|c| c.is_ascii_uppercase());
                        if upper && s.len() <= 2 && !declared.contains(&id) && !out.contains(id) {
                            out.push(id.clone());
                        }
                    } else if let Some(last) = p.path.segments.last() {
                        if last.ident == "Tensor" || last.ident == "Vec" {
                            if let syn::PathArguments::AngleBracketed(a) = &last.arguments {
                                for arg in &a.args {
                                    if let syn::GenericArgument::Type(t) = arg {
                                        stack.push(t);
                                    }
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    };
    for (_, ty) in typed_inputs(func) {
        consider(ty);
    }
    if let ReturnType::Type(_, ty) = &func.sig.output {
        consider(ty);
    }
    out
}

/// Checks the receiver and the lifetimes: `&self` only, no lifetime from the `impl`.
fn check_signature(func: &ItemFn, errors: &Errors) {
    for input in &func.sig.inputs {
        if let FnArg::Receiver(r) = input {
            match &r.reference {
                None => errors.at(r, "a #[differentiable] method takes `&self`; a receiver by value would be consumed by the first generated item"),
                Some((_, Some(lt))) => errors.at(lt, "a #[differentiable] method of a type with lifetime parameters is not supported; give the model owned fields (a gradient would share its borrows)"),
                Some((_, None)) => {
                    if let Some(m) = &r.mutability {
                        errors.at(m, "`&mut self` is not supported: a #[differentiable] method must not change its struct; take `&self` and apply the gradient with `scaled_add` outside");
                    } else if r.colon_token.is_some() {
                        errors.at(&r.ty, "a #[differentiable] method takes `&self`; write the receiver without a type");
                    }
                }
            }
        }
    }
    let declared: Vec<String> = func
        .sig
        .generics
        .lifetimes()
        .map(|l| l.lifetime.ident.to_string())
        .collect();
    for (_, ty) in typed_inputs(func) {
        let mut found = None;
        find_lifetime(ty.to_token_stream(), &declared, &mut found);
        if let Some(span) = found {
            errors.at_span(span, "a #[differentiable] method of a type with lifetime parameters is not supported; give the model owned fields (a gradient would share its borrows)");
            break;
        }
    }
}

fn find_lifetime(tokens: TokenStream, declared: &[String], found: &mut Option<Span>) {
    let mut prev_quote = None;
    for tt in tokens {
        match tt {
            TokenTree::Punct(p) if p.as_char() == '\'' => prev_quote = Some(p.span()),
            TokenTree::Ident(id) if prev_quote.is_some() => {
                let s = id.to_string();
                if found.is_none() && s != "static" && s != "_" && !declared.contains(&s) {
                    *found = prev_quote;
                }
                prev_quote = None;
            }
            TokenTree::Group(g) => {
                find_lifetime(g.stream(), declared, found);
                prev_quote = None;
            }
            _ => prev_quote = None,
        }
    }
}

/// The entry point for methods and struct parameters.
pub(crate) fn expand(args: Args, func: ItemFn) -> TokenStream {
    let errors = Errors::default();
    if func
        .sig
        .inputs
        .iter()
        .any(|i| matches!(i, FnArg::Receiver(_)))
    {
        check_signature(&func, &errors);
    }
    if let Some(rule) = &args.vjp {
        errors.at(rule, "`vjp = rule` is not supported on a method or with a struct parameter; state the rule on a free function of floats and tensors and call it");
    }
    let is_method = func
        .sig
        .inputs
        .iter()
        .any(|i| matches!(i, FnArg::Receiver(_)));
    let roots = roots(&func, &args);
    // The leaves, and the body reading them.
    let mut collect = Collect {
        roots: &roots,
        leaves: Vec::new(),
        loops: 0,
    };
    let diff_roots: Vec<Ident> = roots
        .iter()
        .filter(|r| r.diff)
        .map(|r| r.ident.clone())
        .collect();
    let block = crate::field_loops::to_index(func.block.to_token_stream(), &diff_roots, &errors);
    let rewritten = collect.rewrite(block, false);
    let leaves = collect.leaves;
    if !errors.is_empty() {
        return fail(errors, &func);
    }
    let block: syn::Block = match syn::parse2(rewritten) {
        Ok(b) => b,
        Err(e) => {
            errors.at_span(e.span(), e);
            return fail(errors, &func);
        }
    };
    // The flat function: the receiver and each differentiated struct parameter give way to
    // their leaves.
    let mut flat = func.clone();
    *flat.block = block;
    let mut inputs = syn::punctuated::Punctuated::<FnArg, syn::Token![,]>::new();
    for (pos, input) in func.sig.inputs.iter().enumerate() {
        match roots.iter().position(|r| r.pos == pos) {
            Some(r) => {
                for l in leaves.iter().filter(|l| l.root == r) {
                    let name = &l.name;
                    let ty =
                        format_ident!("__Leaf{}", name.to_string().trim_start_matches("__leaf"));
                    inputs.push(syn::parse_quote!(#name: &#ty));
                }
            }
            None => inputs.push(input.clone()),
        }
    }
    flat.sig.inputs = inputs;
    let added = impl_float_generics(&func);
    for t in &added {
        flat.sig
            .generics
            .params
            .push(syn::parse_quote!(#t: ::autodiff::__private::Float));
    }
    let flat_args = Args {
        wrt: args.wrt.as_ref().map(|w| {
            w.iter()
                .filter(|n| !roots.iter().any(|r| r.ident == **n))
                .cloned()
                .collect()
        }),
        vjp: None,
        jvp: None,
        vjp_differentiable: false,
        leaves: leaves.iter().map(|l| l.name.clone()).collect(),
    };
    let Some(sig) = Sig::from_syn(&flat, &flat_args, &errors) else {
        return fail(errors, &func);
    };
    let mut rewrite = Rewrite {
        func: &func,
        sig: &sig,
        roots: &roots,
        leaves: &leaves,
        is_method,
        generic_impl: !added.is_empty(),
        method_checks: TokenStream::new(),
        forward: true,
    };
    // A failed body: the errors, and the items with stub bodies, rewritten to take the struct
    // like the real ones, so that callers of `m.loss_grad(..)` see no second error.
    let stubs = |rewrite: &Rewrite, errors: Errors| {
        let err = errors.finish().expect_err("a failed expansion has errors");
        let items = rewrite.items(crate::items::fallback::expand(err, Some(&flat), Some(&sig)));
        // Stub bodies never return: what the rewrite adds after them is unreachable.
        match syn::parse2::<syn::File>(items.clone()) {
            Ok(mut file) => {
                for item in &mut file.items {
                    if let Item::Fn(f) = item {
                        f.attrs.push(syn::parse_quote!(#[allow(unreachable_code)]));
                    }
                }
                file.into_token_stream()
            }
            Err(_) => items,
        }
    };
    let Some(lowered) = body::lower(&sig, &flat.block, &errors) else {
        return stubs(&rewrite, errors);
    };
    rewrite.method_checks = method_call_checks(&lowered.graph, &sig);
    rewrite.forward = !has_active_calls(&lowered.graph);
    let scalar = scalar_closed(&lowered.graph, &sig) && !mentions_roots(&flat.block, &roots);
    let generated = match Items::for_method(&flat, &sig).generate(lowered) {
        Ok(t) => t,
        Err(e) => {
            errors.at_span(e.span(), e);
            return stubs(&rewrite, errors);
        }
    };
    let mut out = rewrite.items(generated);
    // Not in a generic `impl<T: Float>` block: there `Self::Scalar` is not known to be `T`.
    if scalar && added.is_empty() {
        out.extend(rewrite.scalar_hessian(&flat, &flat_args));
    }
    crate::expand::debug_print(&func.sig.ident, &out);
    out
}

/// The differentiated structs of `func`: `self` (unless `wrt(..)` leaves it out), and each
/// struct parameter named in `wrt(..)`.
fn roots(func: &ItemFn, args: &Args) -> Vec<Root> {
    let mut roots = Vec::new();
    for (pos, input) in func.sig.inputs.iter().enumerate() {
        match input {
            FnArg::Receiver(r) => {
                let ident = Ident::new("self", r.self_token.span);
                let diff = match &args.wrt {
                    None => true,
                    Some(w) => w.iter().any(|n| n == "self"),
                };
                roots.push(Root {
                    ident,
                    pos,
                    grad_ty: quote!(Self),
                    by_ref: r.self_token.to_token_stream(),
                    diff,
                });
            }
            FnArg::Typed(t) => {
                let Pat::Ident(p) = &*t.pat else { continue };
                let named = args.wrt.as_ref().is_some_and(|w| w.contains(&p.ident));
                if !named || !is_struct_type(&t.ty, func) {
                    continue;
                }
                let x = &p.ident;
                let (grad_ty, by_ref) = match &*t.ty {
                    Type::Reference(r) => (r.elem.to_token_stream(), quote!(#x)),
                    other => (other.to_token_stream(), quote!(&#x)),
                };
                roots.push(Root {
                    ident: p.ident.clone(),
                    pos,
                    grad_ty,
                    by_ref,
                    diff: true,
                });
            }
        }
    }
    roots
}

/// Whether every differentiated value of the flat function is a float when its result is:
/// only element-wise operations, comparisons and branches touch differentiated values (no
/// calls, indexing, loops or reductions), and the result is a float. Then every leaf that
/// reaches the result is a scalar float, and `f_hessian` is generated.
fn scalar_closed(g: &crate::ir::Graph, sig: &Sig) -> bool {
    use crate::ir::Op;
    if sig.ret_kind != Kind::Scalar || !sig.params.iter().any(|p| p.leaf) {
        return false;
    }
    // Other differentiated parameters must be floats too.
    if sig
        .diff_params()
        .any(|(_, p)| !p.leaf && p.kind != Kind::Scalar)
    {
        return false;
    }
    g.ids().all(|id| {
        if !g.is_active(id) {
            return true;
        }
        !matches!(
            g[id].op,
            Op::Opaque(_)
                | Op::Index(_)
                | Op::Call(_)
                | Op::Pullback(_)
                | Op::Pullback2(_)
                | Op::Pushforward(_)
                | Op::PushforwardPullback(_)
                | Op::Project(_)
                | Op::Pack
                | Op::ArrayLit
                | Op::IndexDyn
                | Op::Loop(_)
                | Op::OneHot
                | Op::Fused(_)
                | Op::FusedGrad(_)
                | Op::FusedPart(_)
                | Op::LoopOut(_)
                | Op::LoopPullback(_)
                | Op::LoopGrad(_)
                | Op::Sum
                | Op::Mean
                | Op::SumAxis(_)
                | Op::MeanAxis(_)
                | Op::Matmul
                | Op::Dot
                | Op::Transpose
                | Op::Reshape(_)
                | Op::MaxAll
                | Op::MinAll
                | Op::Logsumexp
                | Op::MaxAxis(_)
                | Op::MinAxis(_)
                | Op::LogsumexpAxis(_)
                | Op::Softmax(_)
                | Op::LogSoftmax(_)
                | Op::Unsqueeze(_)
        )
    })
}

/// Whether a function or method is called with a differentiated argument: the forward
/// items of the callee are not written as methods, so the body's are not either.
fn has_active_calls(g: &crate::ir::Graph) -> bool {
    let mut stack = vec![g];
    while let Some(g) = stack.pop() {
        for id in g.ids() {
            if matches!(g[id].op, crate::ir::Op::Call(_)) && g.is_active(id) {
                return true;
            }
        }
        stack.extend(g.loops.iter().map(|l| &l.body));
    }
    false
}

/// Whether the flat body still names a root or `Self` (a constant field read as written,
/// `self.n as f64`): then it cannot become a free function of floats.
fn mentions_roots(block: &syn::Block, roots: &[Root]) -> bool {
    fn walk(tokens: TokenStream, roots: &[Root]) -> bool {
        tokens.into_iter().any(|tt| match tt {
            TokenTree::Ident(id) => {
                id == "Self" || id == "self" || roots.iter().any(|r| r.ident == id)
            }
            TokenTree::Group(g) => walk(g.stream(), roots),
            _ => false,
        })
    }
    walk(block.to_token_stream(), roots)
}

/// The errors, and the function with a stub body so that callers see no second error.
fn fail(errors: Errors, func: &ItemFn) -> TokenStream {
    let err = errors
        .finish()
        .err()
        .map(syn::Error::into_compile_error)
        .unwrap_or_default();
    let attrs = &func.attrs;
    let vis = &func.vis;
    let fsig = &func.sig;
    quote! {
        #err
        #(#attrs)*
        #[allow(unused_variables)]
        #vis #fsig { ::core::unimplemented!("this function failed to compile") }
    }
}

struct Rewrite<'a> {
    func: &'a ItemFn,
    /// The flat function's signature.
    sig: &'a Sig,
    roots: &'a [Root],
    leaves: &'a [Leaf],
    is_method: bool,
    /// A method of a generic `impl<T: Float>` block: `Self: Differentiable` holds for each
    /// concrete `T` but cannot be proved inside the block, so the generated methods require it.
    generic_impl: bool,
    /// Statements checking that each method called differentiates its differentiated
    /// arguments.
    method_checks: TokenStream,
    /// The body calls no function or method with differentiated arguments: the forward
    /// items (`_jvp`, `_hvp`, `_jacobian`) are written (see `forward_item`).
    forward: bool,
}

impl Rewrite<'_> {
    fn ident(&self, suffix: &str) -> Ident {
        let base = &self.func.sig.ident;
        let mut id = format_ident!("{}_{}", base, suffix);
        id.set_span(base.span());
        id
    }

    /// `let __leaf0 = &self.l1.w;` for every leaf.
    fn prelude(&self) -> TokenStream {
        let binds = self.leaves.iter().map(|l| {
            let name = &l.name;
            if l.path.is_empty() {
                let r = &self.roots[l.root].by_ref;
                quote!(let #name = #r;)
            } else {
                let e = &l.original;
                quote!(let #name = &#e;)
            }
        });
        quote!(#(#binds)*)
    }

    /// What the flat gradient is destructured into: one name per differentiated parameter of
    /// the flat function, in order.
    fn flat_grad_pattern(&self) -> TokenStream {
        let names: Vec<Ident> = (0..self.sig.diff_params().count())
            .map(|j| format_ident!("__g{}", j))
            .collect();
        if names.len() == 1 {
            names[0].to_token_stream()
        } else {
            quote!((#(#names),*))
        }
    }

    /// The flat gradient's position of a flat parameter.
    fn flat_slot(&self, name: &Ident) -> Option<Ident> {
        self.sig
            .diff_params()
            .position(|(_, p)| p.ident == *name)
            .map(|j| format_ident!("__g{}", j))
    }

    /// For each input as written: differentiated, its gradient type, the expression
    /// assembling its gradient from the flat one.
    fn parts(&self) -> Vec<(bool, TokenStream, TokenStream)> {
        let mut out = Vec::new();
        for (pos, input) in self.func.sig.inputs.iter().enumerate() {
            if let Some(ri) = self.roots.iter().position(|r| r.pos == pos) {
                let root = &self.roots[ri];
                if !root.diff {
                    out.push((
                        false,
                        quote!(::autodiff::__private::NoGrad),
                        TokenStream::new(),
                    ));
                    continue;
                }
                out.push((true, root.grad_ty.clone(), self.assemble(ri)));
                continue;
            }
            let FnArg::Typed(t) = input else { continue };
            let Pat::Ident(pi) = &*t.pat else { continue };
            let Some(p) = self.sig.params.iter().find(|p| p.ident == pi.ident) else {
                continue;
            };
            let ty = if p.kind == Kind::Slice {
                let float = &self.sig.float;
                quote!(::std::vec::Vec<#float>)
            } else {
                match &p.ty {
                    Type::Reference(r) => r.elem.to_token_stream(),
                    t => t.to_token_stream(),
                }
            };
            if p.diff {
                let g = self
                    .flat_slot(&p.ident)
                    .expect("a differentiated parameter");
                out.push((true, ty, g.to_token_stream()));
            } else {
                let has_grad = matches!(
                    p.kind,
                    Kind::Scalar | Kind::Array | Kind::Tensor | Kind::Slice
                );
                let ty = if has_grad {
                    ty
                } else {
                    quote!(::autodiff::__private::NoGrad)
                };
                out.push((false, ty, TokenStream::new()));
            }
        }
        out
    }

    /// `{ let mut __gm = zeros_like(self); __gm.l1.w = __g0; .. __gm }`. A leaf that shares a
    /// path prefix with another (`self.l1` and `self.l1.w`) is added, not assigned.
    fn assemble(&self, ri: usize) -> TokenStream {
        let mine: Vec<&Leaf> = self.leaves.iter().filter(|l| l.root == ri).collect();
        if let [only] = mine[..] {
            if only.path.is_empty() {
                return self
                    .flat_slot(&only.name)
                    .expect("a leaf")
                    .to_token_stream();
            }
        }
        let root = &self.roots[ri].by_ref;
        let acc = format_ident!("__gm");
        let mut steps = TokenStream::new();
        for l in &mine {
            let g = self.flat_slot(&l.name).expect("a leaf");
            let overlaps = mine.iter().any(|o| {
                !std::ptr::eq(*o, *l)
                    && (o.path.starts_with(&l.path) || l.path.starts_with(&o.path))
            });
            let (verb, amp) = if overlaps {
                ("add", quote!(&))
            } else {
                ("set", quote!())
            };
            // Through the derive's setters: a constant field keeps its copy.
            match &l.path[..] {
                [] => steps.extend(quote!(::autodiff::Differentiable::scaled_add(&mut #acc, ::autodiff::__private::lit(1.0), &#g);)),
                [init @ .., Step::Field(m)] => {
                    let f = crate::names::field_accessor(verb, &member_name(m), false);
                    steps.extend(quote!(#acc #(#init)* .#f(#amp #g);));
                }
                [init @ .., Step::Field(m), Step::At(k)] => {
                    let f = crate::names::field_accessor(verb, &member_name(m), true);
                    let k = proc_macro2::Literal::usize_unsuffixed(*k);
                    steps.extend(quote!(#acc #(#init)* .#f(#k, #amp #g);));
                }
                path => steps.extend(quote!(#acc #(#path)* = #g;)),
            }
        }
        quote!({ let mut #acc = ::autodiff::Differentiable::zeros_like(#root); #steps #acc })
    }

    fn grad_type(&self, parts: &[(bool, TokenStream, TokenStream)]) -> TokenStream {
        let tys: Vec<&TokenStream> = parts.iter().filter(|p| p.0).map(|p| &p.1).collect();
        if tys.len() == 1 {
            tys[0].clone()
        } else {
            quote!((#(#tys),*))
        }
    }

    fn grad_value(&self, parts: &[(bool, TokenStream, TokenStream)]) -> TokenStream {
        let vals: Vec<&TokenStream> = parts.iter().filter(|p| p.0).map(|p| &p.2).collect();
        if vals.len() == 1 {
            vals[0].clone()
        } else {
            quote!((#(#vals),*))
        }
    }

    /// `fn name(<inputs as written>, extra..) -> output`, with the item's attributes.
    fn signature(&self, ident: &Ident, extra: &[&FnArg], output: TokenStream) -> TokenStream {
        let sig = &self.func.sig;
        let generics = &sig.generics.params;
        let mut where_clause = sig.generics.where_clause.clone();
        if self.generic_impl && self.roots.iter().any(|r| r.diff && r.ident == "self") {
            where_clause
                .get_or_insert_with(|| syn::parse_quote!(where))
                .predicates
                .push(syn::parse_quote!(Self: ::autodiff::Differentiable));
        }
        let inputs = sig.inputs.iter().chain(extra.iter().copied());
        quote!(fn #ident<#generics>(#(#inputs),*) -> #output #where_clause)
    }

    /// The generated items, rewritten to take the struct.
    fn items(&self, generated: TokenStream) -> TokenStream {
        let file: syn::File = match syn::parse2(generated) {
            Ok(f) => f,
            Err(e) => return e.into_compile_error(),
        };
        let name = self.func.sig.ident.to_string();
        let r = match &self.func.sig.output {
            ReturnType::Type(_, t) => t.to_token_stream(),
            ReturnType::Default => quote!(()),
        };
        let parts = self.parts();
        let g_ty = self.grad_type(&parts);
        let g_val = self.grad_value(&parts);
        let pat = self.flat_grad_pattern();
        let prelude = self.prelude();
        let vis = &self.func.vis;
        let mut checks = TokenStream::new();
        for root in self.roots.iter().filter(|r| r.diff && !self.generic_impl) {
            let x = &root.by_ref;
            let span = root.ident.span();
            checks.extend(quote_spanned!(span=> {
                fn __assert_differentiable<D: ::autodiff::Differentiable>(_: &D) {}
                __assert_differentiable(#x);
            }));
        }
        let mut kept = Vec::new();
        let mut f_item = None;
        for item in file.items {
            match item {
                Item::Fn(f) => {
                    let id = f.sig.ident.to_string();
                    let attrs = &f.attrs;
                    let block = &f.block;
                    let suffix = id.strip_prefix(&format!("{name}_"));
                    if id == name {
                        f_item = Some(f);
                    } else if suffix == Some("grad") {
                        let s = self.signature(&f.sig.ident, &[], g_ty.clone());
                        kept.push(
                            quote!(#(#attrs)* #vis #s { #prelude let #pat = #block; #g_val }),
                        );
                    } else if suffix == Some("value_and_grad") {
                        let s = self.signature(&f.sig.ident, &[], quote!((#r, #g_ty)));
                        kept.push(quote!(#(#attrs)* #vis #s { #prelude let (__value, #pat) = #block; (__value, #g_val) }));
                    } else if suffix == Some("vjp") {
                        let cot = f.sig.inputs.last().expect("the cotangent");
                        let s = self.signature(&f.sig.ident, &[cot], g_ty.clone());
                        kept.push(
                            quote!(#(#attrs)* #vis #s { #prelude let #pat = #block; #g_val }),
                        );
                    } else if suffix == Some("trace") {
                        let out = &f.sig.output;
                        let out = match out {
                            ReturnType::Type(_, t) => t.to_token_stream(),
                            ReturnType::Default => quote!(()),
                        };
                        let s = self.signature(&f.sig.ident, &[], out);
                        kept.push(quote!(#(#attrs)* #vis #s { #prelude #block }));
                    } else if matches!(suffix, Some("jvp" | "hvp")) {
                        let suffix = suffix.expect("matched");
                        kept.push(self.forward_item(&f, suffix, &g_ty, &g_val, &pat));
                    } else if suffix == Some("jacobian") {
                        kept.push(self.jacobian_item(&f, &g_ty));
                    } else if suffix == Some("hessian") && self.constant_roots() {
                        kept.push(self.constant_hessian(&f));
                    } else if suffix == Some("hessian")
                        || id.starts_with(&format!("__{name}_pushforward"))
                        || id == format!("__{name}_dual")
                        || pullback_ident(&self.func.sig.ident) == id
                        || id == format!("{}2", pullback_ident(&self.func.sig.ident))
                    {
                        // Rewritten below (pullbacks) or not available (second order).
                    } else {
                        kept.push(f.to_token_stream());
                    }
                }
                Item::Const(c) if c.ident == "_" => checks.extend(c.to_token_stream()),
                Item::Const(c) if c.ident == wrt_ident(&self.func.sig.ident) => {}
                other => kept.push(other.to_token_stream()),
            }
        }
        let mut out = TokenStream::new();
        if let Some(f) = f_item {
            let attrs = &f.attrs;
            let fsig = &self.func.sig;
            let stmts = &f.block.stmts;
            let calls = &self.method_checks;
            out.extend(quote!(#(#attrs)* #vis #fsig { #checks #prelude #calls #(#stmts)* }));
        }
        out.extend(kept);
        out.extend(self.pullbacks(&parts, &r));
        out.extend(self.wrt_const(&parts));
        if self.is_method {
            out.extend(self.wrt_methods(&parts));
        }
        rename_strings(out, self.leaves)
    }

    /// `f_hessian` of a method whose leaves are all scalar floats (see `scalar_closed`): the
    /// flat function again, with each leaf a float parameter, through the ordinary pipeline,
    /// nested in the method; its Hessian is spread over the flat parameters of the inputs as
    /// written, each differentiated struct as `to_flat` lays it out (constants and fields
    /// the body does not read get zero rows), so the result is a `Vec<Vec<T>>`.
    fn scalar_hessian(&self, flat: &ItemFn, flat_args: &Args) -> TokenStream {
        let float = &self.sig.float;
        let mut scalar = flat.clone();
        let inner = format_ident!("__{}_scalar", self.func.sig.ident);
        scalar.sig.ident = inner.clone();
        scalar.attrs.clear();
        scalar.vis = syn::Visibility::Inherited;
        for input in scalar.sig.inputs.iter_mut() {
            if let FnArg::Typed(t) = input {
                if let Pat::Ident(p) = &*t.pat {
                    if self.leaves.iter().any(|l| l.name == p.ident) {
                        *t.ty = syn::parse_quote!(#float);
                    }
                }
            }
        }
        let mut args = Args {
            wrt: flat_args.wrt.clone(),
            vjp: None,
            jvp: None,
            vjp_differentiable: false,
            leaves: Vec::new(),
        };
        if let Some(w) = &mut args.wrt {
            w.extend(self.leaves.iter().map(|l| l.name.clone()));
        }
        let errors = Errors::default();
        let Some(sig) = Sig::from_syn(&scalar, &args, &errors) else {
            return TokenStream::new();
        };
        let Some(lowered) = body::lower(&sig, &scalar.block, &errors) else {
            return TokenStream::new();
        };
        if errors.finish().is_err() {
            return TokenStream::new();
        }
        let Ok(generated) = Items::new(&scalar, &sig).generate(lowered) else {
            return TokenStream::new();
        };
        let k = sig.diff_params().count();
        // Where each flat parameter of the Hessian goes in the full one.
        let one = quote!(::autodiff::__private::lit::<#float>(1.0));
        let mut positions = TokenStream::new();
        let mut call = Vec::new();
        let mut typed = self.func.sig.inputs.iter().filter_map(|i| match i {
            FnArg::Typed(t) => Some(t),
            FnArg::Receiver(_) => None,
        });
        for (pos, _) in self.func.sig.inputs.iter().enumerate() {
            let is_receiver = self.is_method && pos == 0;
            let arg = if is_receiver { None } else { typed.next() };
            if let Some(ri) = self.roots.iter().position(|r| r.pos == pos) {
                let root = &self.roots[ri];
                let r = &root.by_ref;
                for l in self.leaves.iter().filter(|l| l.root == ri) {
                    let e = &l.original;
                    call.push(quote!(::core::clone::Clone::clone(&#e)));
                    if !root.diff {
                        continue;
                    }
                    let set = self.setter(l, quote!(__p), one.clone());
                    positions.extend(quote! {
                        // A constant field (`#[autodiff(skip)]`) has no flat position.
                        __pos.push({
                            let mut __p = ::autodiff::Differentiable::zeros_like(#r);
                            #set
                            ::autodiff::Differentiable::to_flat(&__p)
                                .iter()
                                .position(|v| *v == #one)
                                .map(|k| __off + k)
                        });
                    });
                }
                if root.diff {
                    positions.extend(quote!(__off += ::autodiff::Differentiable::num_params(#r);));
                }
                continue;
            }
            let Some(t) = arg else { continue };
            let Pat::Ident(pi) = &*t.pat else { continue };
            let name = &pi.ident;
            call.push(quote!(#name));
            if sig.params.iter().any(|p| p.ident == *name && p.diff) {
                positions
                    .extend(quote!(__pos.push(::core::option::Option::Some(__off)); __off += 1;));
            }
        }
        let hessian = format_ident!("{}_hessian", inner);
        let h = if k == 1 {
            quote!([[#hessian(#(#call),*)]])
        } else {
            quote!(#hessian(#(#call),*))
        };
        let name = self.ident("hessian");
        let vis = &self.func.vis;
        let s = self.signature(&name, &[], quote!(::std::vec::Vec<::std::vec::Vec<#float>>));
        let doc = format!(
            "The Hessian of [`{}`](Self::{0}) over its flat parameters: each differentiated struct as `to_flat` lays it out, each other differentiated float in its place; `n × n` for `n` flat parameters.",
            self.func.sig.ident
        );
        let items: Vec<TokenStream> = match syn::parse2::<syn::File>(generated) {
            Ok(f) => f.items.iter().map(|i| i.to_token_stream()).collect(),
            Err(_) => return TokenStream::new(),
        };
        quote! {
            #[doc = #doc]
            #[allow(unused_variables, clippy::too_many_arguments, clippy::assign_op_pattern)]
            #vis #s {
                #(#[allow(dead_code, unused, clippy::all)] #items)*
                let __h = #h;
                let mut __pos: ::std::vec::Vec<::core::option::Option<usize>> = ::std::vec::Vec::new();
                let mut __off = 0usize;
                #positions
                let mut __full = ::std::vec![::std::vec![::autodiff::__private::lit::<#float>(0.0); __off]; __off];
                for (__a, __row) in __h.iter().enumerate() {
                    for (__b, __v) in __row.iter().enumerate() {
                        if let (::core::option::Option::Some(__i), ::core::option::Option::Some(__j)) = (__pos[__a], __pos[__b]) {
                            __full[__i][__j] = __full[__i][__j] + *__v;
                        }
                    }
                }
                __full
            }
        }
    }

    /// The tangent parameters as written: one per differentiated input, of its own type
    /// (`self_tangent: &Self` for `&self`, `m_tangent: &Mlp` for `m: &Mlp`), after the
    /// inputs; and the statements binding the flat function's tangent of each leaf to the
    /// same field of the struct's tangent (`let __leaf0_tangent = &self_tangent.l1.w;`).
    fn tangents(&self, flat: &ItemFn) -> (Vec<FnArg>, TokenStream) {
        let n = self.sig.params.len();
        let flat_tangent = |ident: &Ident| -> Option<&FnArg> {
            let j = self
                .sig
                .diff_params()
                .position(|(_, p)| p.ident == *ident)?;
            flat.sig.inputs.iter().nth(n + j)
        };
        let arg_name = |a: &FnArg| match a {
            FnArg::Typed(t) => match &*t.pat {
                Pat::Ident(p) => Some(p.ident.clone()),
                _ => None,
            },
            FnArg::Receiver(_) => None,
        };
        let mut args = Vec::new();
        let mut binds = TokenStream::new();
        for (pos, input) in self.func.sig.inputs.iter().enumerate() {
            if let Some(ri) = self.roots.iter().position(|r| r.pos == pos) {
                let root = &self.roots[ri];
                if !root.diff {
                    continue;
                }
                let name = format_ident!(
                    "{}_tangent",
                    root.ident.to_string(),
                    span = root.ident.span()
                );
                let (ty, by_ref) = match input {
                    FnArg::Receiver(_) => (quote!(&Self), quote!(#name)),
                    FnArg::Typed(t) => match &*t.ty {
                        Type::Reference(_) => (t.ty.to_token_stream(), quote!(#name)),
                        other => (other.to_token_stream(), quote!(&#name)),
                    },
                };
                args.push(syn::parse_quote!(#name: #ty));
                for l in self.leaves.iter().filter(|l| l.root == ri) {
                    let Some(t) = flat_tangent(&l.name).and_then(arg_name) else {
                        continue;
                    };
                    let path = &l.path;
                    if path.is_empty() {
                        binds.extend(quote!(let #t = #by_ref;));
                    } else {
                        binds.extend(quote!(let #t = &#name #(#path)*;));
                    }
                }
                continue;
            }
            let Some(id) = arg_name(input) else { continue };
            if let Some(t) = flat_tangent(&id) {
                args.push(t.clone());
            }
        }
        (args, binds)
    }

    /// `f_jvp` and `f_hvp` as methods: tangents of the struct's own type (see `tangents`).
    /// Written when the body calls no function with differentiated arguments; otherwise an
    /// item that names the limitation when called.
    fn forward_item(
        &self,
        f: &ItemFn,
        suffix: &str,
        g_ty: &TokenStream,
        g_val: &TokenStream,
        pat: &TokenStream,
    ) -> TokenStream {
        let attrs = &f.attrs;
        let vis = &self.func.vis;
        let (targs, binds) = self.tangents(f);
        let extra: Vec<&FnArg> = targs.iter().collect();
        let prelude = self.prelude();
        let block = &f.block;
        let r = match &self.func.sig.output {
            ReturnType::Type(_, t) => t.to_token_stream(),
            ReturnType::Default => quote!(()),
        };
        let (out, body) = if suffix == "jvp" {
            (quote!((#r, #r)), quote!(#prelude #binds #block))
        } else {
            (
                g_ty.clone(),
                quote!(#prelude #binds let #pat = #block; #g_val),
            )
        };
        // In a generic `impl<T: Float>` block a leaf with a zero second derivative cannot be
        // told from a constant (`T: Differentiable` is not known there), so no `_hvp`.
        if !self.forward || (suffix == "hvp" && self.generic_impl) {
            return self.unavailable(attrs, suffix, &extra, out);
        }
        let s = self.signature(&f.sig.ident, &extra, out);
        quote!(#(#attrs)* #vis #s { #body })
    }

    /// `f_jacobian` as a method: for a float result, the gradient (a struct for a struct).
    fn jacobian_item(&self, f: &ItemFn, g_ty: &TokenStream) -> TokenStream {
        let attrs = &f.attrs;
        let vis = &self.func.vis;
        if self.sig.ret_kind != Kind::Scalar {
            return self.unavailable(attrs, "jacobian", &[], quote!(()));
        }
        let grad = self.ident("grad");
        let names: Vec<Ident> = typed_inputs(self.func).map(|(id, _)| id.clone()).collect();
        let call = if self.is_method {
            quote!(self.#grad(#(#names),*))
        } else {
            quote!(#grad(#(#names),*))
        };
        let s = self.signature(&f.sig.ident, &[], g_ty.clone());
        quote!(#(#attrs)* #vis #s { #call })
    }

    /// A forward item that cannot be written for this body: it exists, and a call is a
    /// compile error naming why (`&'a (): ForwardUnavailable` holds for no type, and a
    /// bound with the method's own lifetime is checked where it is called).
    fn unavailable(
        &self,
        attrs: &[syn::Attribute],
        suffix: &str,
        extra: &[&FnArg],
        out: TokenStream,
    ) -> TokenStream {
        let vis = &self.func.vis;
        let name = self.ident(suffix);
        let inputs = self.func.sig.inputs.iter().chain(extra.iter().copied());
        let generics = &self.func.sig.generics.params;
        let lt = quote!('__autodiff_call);
        let bound = match suffix {
            "hessian" => quote!(&#lt (): ::autodiff::__private::HessianUnavailable),
            _ => quote!(&#lt (): ::autodiff::__private::ForwardUnavailable),
        };
        let mut where_clause = self.func.sig.generics.where_clause.clone();
        where_clause
            .get_or_insert_with(|| syn::parse_quote!(where))
            .predicates
            .push(syn::parse_quote!(#bound));
        let msg = format!(
            "`{}` is not available: {}",
            name,
            match suffix {
                "jacobian" => "the Jacobian of a function differentiating a struct is written for a float result only (it is the gradient); use `_vjp` per output",
                "hessian" => "the Hessian of a method with a loop or a call in its body is not written yet; use `_hvp` once per direction",
                _ => "forward mode through a call of a differentiable function or method from a body differentiating a struct (and `_hvp` in a generic `impl` block) is not supported yet; use the reverse-mode items (`_grad`, `_vjp`)",
            }
        );
        quote! {
            #(#attrs)*
            #[allow(unused_variables, clippy::too_many_arguments)]
            #vis fn #name<#lt, #generics>(#(#inputs),*) -> #out #where_clause {
                ::core::unreachable!(#msg)
            }
        }
    }

    /// Whether no struct is differentiated (`wrt(x)` on a method): then the flat function's
    /// items are the method's with the struct as a constant.
    fn constant_roots(&self) -> bool {
        self.roots.iter().all(|r| !r.diff)
    }

    /// `f_hessian` of a method differentiating only floats (`wrt(x)`): the flat function's,
    /// taking `&self`. Where that one is a call of the hyper-dual `__f_dual` (loops, calls),
    /// which is not written for methods, an item saying so when called.
    fn constant_hessian(&self, f: &ItemFn) -> TokenStream {
        let out = match &f.sig.output {
            ReturnType::Type(_, t) => t.to_token_stream(),
            ReturnType::Default => quote!(()),
        };
        let dual = format!("__{}_dual", self.func.sig.ident);
        if body::mentions(&f.block.to_token_stream(), &dual) {
            return self.unavailable(&f.attrs, "hessian", &[], out);
        }
        let (attrs, block) = (&f.attrs, &f.block);
        let vis = &self.func.vis;
        let s = self.signature(&f.sig.ident, &[], out);
        quote!(#(#attrs)* #vis #s #block)
    }

    /// `acc.l1.__autodiff_set_w(value);`: the derive's setter of a leaf's field.
    fn setter(&self, l: &Leaf, acc: TokenStream, value: TokenStream) -> TokenStream {
        match &l.path[..] {
            [] => quote!(#acc = #value;),
            [init @ .., Step::Field(m)] => {
                let f = crate::names::field_accessor("set", &member_name(m), false);
                quote!(#acc #(#init)* .#f(#value);)
            }
            [init @ .., Step::Field(m), Step::At(k)] => {
                let f = crate::names::field_accessor("set", &member_name(m), true);
                let k = proc_macro2::Literal::usize_unsuffixed(*k);
                quote!(#acc #(#init)* .#f(#k, #value);)
            }
            path => quote!(#acc #(#path)* = #value;),
        }
    }

    /// `__f_pullback`: `f_vjp` with one slot per input as written; `__f_pullback2`: a stub
    /// (second derivatives do not go through struct leaves).
    fn pullbacks(
        &self,
        parts: &[(bool, TokenStream, TokenStream)],
        r: &TokenStream,
    ) -> TokenStream {
        let vis = &self.func.vis;
        let slots: Vec<&TokenStream> = parts.iter().map(|p| &p.1).collect();
        let k = parts.iter().filter(|p| p.0).count();
        let mut zeros = TokenStream::new();
        let mut j = 0;
        let mut names = Vec::new();
        let mut values = Vec::new();
        let mut typed = self.func.sig.inputs.iter().filter_map(|i| match i {
            FnArg::Typed(t) => Some(t),
            FnArg::Receiver(_) => None,
        });
        let items = Items::new(self.func, self.sig);
        for (pos, (diff, _, _)) in parts.iter().enumerate() {
            let is_root = self.roots.iter().any(|r| r.pos == pos);
            let arg = if is_root && self.is_method && pos == 0 {
                None
            } else {
                typed.next()
            };
            if let Some(t) = arg {
                if let Pat::Ident(p) = &*t.pat {
                    names.push(p.ident.clone());
                }
            }
            if *diff {
                values.push(if k == 1 {
                    quote!(__g)
                } else {
                    let i = syn::Index::from(j);
                    quote!(__g.#i)
                });
                j += 1;
                continue;
            }
            let flat = arg.and_then(|t| match &*t.pat {
                Pat::Ident(p) => self.sig.params.iter().find(|q| q.ident == p.ident),
                _ => None,
            });
            match flat {
                Some(p) if !is_root => {
                    let z = format_ident!("__z{}", pos);
                    let slot = items.constant_slot(p);
                    zeros.extend(quote!(let #z = #slot;));
                    values.push(quote!(#z));
                }
                _ => values.push(quote!(::autodiff::__private::NoGrad)),
            }
        }
        let vjp = self.ident("vjp");
        let ret_scalar = self.sig.ret_kind == Kind::Scalar;
        let cot = if ret_scalar {
            quote!(*cotangent)
        } else {
            quote!(cotangent)
        };
        let call = if self.is_method {
            quote!(self.#vjp(#(#names,)* #cot))
        } else {
            quote!(#vjp(#(#names,)* #cot))
        };
        let pb = pullback_ident(&self.func.sig.ident);
        let cot_arg: FnArg = syn::parse_quote!(cotangent: &#r);
        let h = self.signature(&pb, &[&cot_arg], quote!((#(#slots,)*)));
        let pb2 = format_ident!("{}2", pb);
        let seeds: FnArg = syn::parse_quote!(seeds: &(#(#slots,)*));
        let h2 = self.signature(&pb2, &[&cot_arg, &seeds], quote!((#(#slots,)* #r,)));
        let msg = format!(
            "second derivatives through `{}` are not available: it differentiates a struct",
            self.func.sig.ident
        );
        quote! {
            #[doc(hidden)]
            #[allow(unused_variables, clippy::too_many_arguments)]
            #[inline]
            #vis #h { #zeros let __g = #call; (#(#values,)*) }
            #[doc(hidden)]
            #[allow(unused_variables, clippy::too_many_arguments)]
            #vis #h2 { ::core::panic!(#msg) }
        }
    }

    /// `__f_wrt_arg1`, ..: for a call `recv.f(a1, ..)`, whether `f` differentiates its `i`-th
    /// argument, as a type (`Wrt<true>`), which callers check at compile time
    /// (`method_call_checks`): a method's `__f_wrt` is a constant of a type they cannot name.
    fn wrt_methods(&self, parts: &[(bool, TokenStream, TokenStream)]) -> TokenStream {
        let vis = &self.func.vis;
        let mut out = TokenStream::new();
        for (i, p) in parts.iter().enumerate().skip(1) {
            let name = format_ident!("__{}_wrt_arg{}", self.func.sig.ident, i);
            let flag = p.0;
            let generics = &self.func.sig.generics.params;
            let where_clause = &self.func.sig.generics.where_clause;
            out.extend(quote! {
                #[doc(hidden)]
                #[inline(always)]
                #vis fn #name<#generics>(&self) -> ::autodiff::__private::Wrt<#flag> #where_clause {
                    ::autodiff::__private::Wrt
                }
            });
        }
        out
    }

    /// `__f_wrt`, one flag per input as written.
    fn wrt_const(&self, parts: &[(bool, TokenStream, TokenStream)]) -> TokenStream {
        let name = wrt_ident(&self.func.sig.ident);
        let vis = &self.func.vis;
        let flags = parts.iter().map(|p| p.0);
        let n = parts.len();
        quote! {
            #[doc(hidden)]
            #[allow(non_upper_case_globals)]
            #vis const #name: [bool; #n] = [#(#flags),*];
        }
    }
}

/// `"__leaf0"` → `"self.l1.w"` inside string literals (formulas, trace names).
fn rename_strings(tokens: TokenStream, leaves: &[Leaf]) -> TokenStream {
    tokens
        .into_iter()
        .map(|tt| match tt {
            TokenTree::Group(g) => {
                let mut ng =
                    proc_macro2::Group::new(g.delimiter(), rename_strings(g.stream(), leaves));
                ng.set_span(g.span());
                TokenTree::Group(ng)
            }
            TokenTree::Literal(l) => {
                let s = l.to_string();
                if !s.starts_with('"') || !s.contains("__leaf") {
                    return TokenTree::Literal(l);
                }
                let Ok(syn::Lit::Str(text)) = syn::parse_str::<syn::Lit>(&s) else {
                    return TokenTree::Literal(l);
                };
                let mut v = text.value();
                // Longest names first: `__leaf10` before `__leaf1`.
                let mut order: Vec<&Leaf> = leaves.iter().collect();
                order.sort_by_key(|l| std::cmp::Reverse(l.name.to_string().len()));
                for leaf in order {
                    v = v.replace(&leaf.name.to_string(), &leaf.text);
                }
                let mut nl = proc_macro2::Literal::string(&v);
                nl.set_span(l.span());
                TokenTree::Literal(nl)
            }
            other => other,
        })
        .collect()
}

/// For each call of a method on a struct leaf, `require_differentiated(recv.__f_wrt_argI())` for
/// every argument that depends on a differentiated value: a compile error at that argument
/// when the method leaves the parameter out of its `wrt(..)`.
fn method_call_checks(g: &crate::ir::Graph, sig: &Sig) -> TokenStream {
    let mut out = TokenStream::new();
    for id in g.ids() {
        let crate::ir::Op::Call(k) = g[id].op else {
            continue;
        };
        let site = &g.calls[k as usize];
        if !site.method {
            continue;
        }
        let args = &g[id].args;
        let crate::ir::Op::Param(p) = g[args[0]].op else {
            continue;
        };
        let recv = &sig.params[p as usize].ident;
        let Some(method) = site.path.get_ident() else {
            continue;
        };
        for (i, &a) in args.iter().enumerate().skip(1) {
            if !g.is_active(a) {
                continue;
            }
            let span = site
                .arg_spans
                .get(i)
                .copied()
                .unwrap_or_else(Span::call_site);
            let check = format_ident!("__{}_wrt_arg{}", method, i, span = span);
            let mut recv = recv.clone();
            recv.set_span(Span::call_site().located_at(span));
            out.extend(quote_spanned!(span=> ::autodiff::__private::require_differentiated(#recv.#check());));
        }
    }
    out
}
