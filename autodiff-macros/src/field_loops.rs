//! `for` loops over a collection field of a differentiated struct, rewritten into the index
//! form `method.rs` reads as a leaf (a token pass, before the leaves are collected):
//!
//! - `for w in &self.ws { body }` and `for w in self.ws.iter() { body }` (also `.copied()`,
//!   `.cloned()`, `.into_iter()`) become `for __ad_e0 in 0..self.ws.len() { body' }`, where
//!   `body'` reads `self.ws[__ad_e0]` wherever `body` read `w`;
//! - `for (i, w) in self.ws.iter().enumerate() { body }` binds `let i = __ad_e0;` first.
//!
//! The element is substituted for the name rather than bound with a `let`, so a layer's method
//! call (`for l in &self.layers { h = l.forward(&h) }`) reads `self.layers[__ad_e0].forward(&h)`,
//! as if written by hand. When the body binds the same name again (`let w = ..`, a closure's
//! `|w|`), the element is bound instead: `let w = &self.ws[__ad_e0];`.
//!
//! Any other `for` over a differentiated struct's field (`self.ws.iter().rev()`,
//! `&self.ws[1..]`) is an error at the loop, since the loop header is not differentiated:
//! left alone, the collection would be a constant and its gradient silently zero.

use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};
use quote::{format_ident, quote};

use crate::errors::Errors;

/// Rewrites the loops of `tokens` over fields of `roots` (the differentiated structs' names).
pub(crate) fn to_index(tokens: TokenStream, roots: &[Ident], errors: &Errors) -> TokenStream {
    let mut next = 0;
    rewrite(tokens, roots, errors, &mut next)
}

fn rewrite(tokens: TokenStream, roots: &[Ident], errors: &Errors, next: &mut usize) -> TokenStream {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = Vec::with_capacity(trees.len());
    let mut i = 0;
    while i < trees.len() {
        if let TokenTree::Ident(id) = &trees[i] {
            if id == "for" {
                if let Some((replaced, end)) = for_loop(&trees, i, roots, errors, next) {
                    out.extend(replaced);
                    i = end;
                    continue;
                }
            }
        }
        out.push(match &trees[i] {
            TokenTree::Group(g) => regroup(g, rewrite(g.stream(), roots, errors, next)),
            other => other.clone(),
        });
        i += 1;
    }
    out.into_iter().collect()
}

fn regroup(g: &Group, stream: TokenStream) -> TokenTree {
    let mut ng = Group::new(g.delimiter(), stream);
    ng.set_span(g.span());
    TokenTree::Group(ng)
}

/// The loop starting at `trees[at]` (`for`), rewritten, and the position after its body; `None`
/// when it is not a loop over a root's field (left to the caller, token by token).
fn for_loop(
    trees: &[TokenTree],
    at: usize,
    roots: &[Ident],
    errors: &Errors,
    next: &mut usize,
) -> Option<(Vec<TokenTree>, usize)> {
    let in_at =
        (at + 1..trees.len()).find(|&j| matches!(&trees[j], TokenTree::Ident(id) if id == "in"))?;
    let body_at = (in_at + 1..trees.len())
        .find(|&j| matches!(&trees[j], TokenTree::Group(g) if g.delimiter() == Delimiter::Brace))?;
    let pat = &trees[at + 1..in_at];
    let header = &trees[in_at + 1..body_at];
    let TokenTree::Group(body) = &trees[body_at] else {
        unreachable!("found as a brace group")
    };
    let Some((field, adaptors)) = field_path(header, roots) else {
        if let Some(root) = reads_root(header, roots) {
            errors.at(
                &trees[at],
                format!("this `for` loop's header reads `{root}`, a differentiated struct, and a loop header is not differentiated; loop over an index range (`for i in 0..{root}.field.len()`) and read the elements in the body (`{root}.field[i]`)"),
            );
        }
        return None;
    };
    let enumerate = adaptors.last().is_some_and(|a| a == "enumerate");
    let plain = adaptors
        .iter()
        .all(|a| ["iter", "copied", "cloned", "into_iter"].contains(&a.as_str()));
    let mut index = None;
    let element_name = match (&pat, enumerate) {
        ([TokenTree::Ident(w)], false) if w != "_" => Some(w.clone()),
        ([TokenTree::Punct(amp), TokenTree::Ident(w)], false) if amp.as_char() == '&' => {
            Some(w.clone())
        }
        ([TokenTree::Group(g)], true) if g.delimiter() == Delimiter::Parenthesis => {
            let inner: Vec<TokenTree> = g.stream().into_iter().collect();
            match &inner[..] {
                [TokenTree::Ident(i), TokenTree::Punct(c), TokenTree::Ident(w)]
                    if c.as_char() == ',' =>
                {
                    index = Some(i.clone());
                    Some(w.clone())
                }
                _ => None,
            }
        }
        _ => None,
    };
    let ok_adaptors = plain
        || (enumerate
            && adaptors[..adaptors.len() - 1]
                .iter()
                .all(|a| ["iter", "copied", "cloned"].contains(&a.as_str())));
    let Some(w) = element_name.filter(|_| ok_adaptors) else {
        errors.at(
            &trees[at],
            format!(
                "this `for` loop over `{}` is not differentiated (the loop header is read as a constant); write `for w in &{0} {{ .. }}`, `for (i, w) in {0}.iter().enumerate() {{ .. }}`, or index it: `for i in 0..{0}.len() {{ .. {0}[i] .. }}`",
                field.to_string().replace(' ', "")
            ),
        );
        return Some((trees[at..=body_at].to_vec(), body_at + 1));
    };
    let k = format_ident!("__ad_e{}", *next, span = Span::call_site());
    *next += 1;
    let element = quote!(#field[#k]);
    let mut inner = TokenStream::new();
    if let Some(index) = index.filter(|i| i != "_") {
        inner.extend(quote!(let #index = #k;));
    }
    // Substituted first, so that a nested loop over the element's field
    // (`for v in &l.vs`) is seen as one over the root's.
    // Bound once at the top of the body, too, when the element is read inside an `if` (or a
    // `match`, a `while`) there, as a value or a receiver (`l.forward(&h)`), not by field:
    // the graph then reads it where the loop reads it, and the arm only uses it.
    if rebinds(body.stream(), &w) {
        inner.extend(quote!(let #w = &#element;));
        inner.extend(body.stream());
    } else if read_in_block(body.stream(), &w, false) {
        // Its fields (`l.w`) through the derive's readers, as for `self.layers[i].w`.
        inner.extend(quote!(let #w = &#element;));
        inner.extend(field_readers(body.stream(), &w));
    } else {
        inner.extend(substitute(body.stream(), &w, &element));
    }
    let inner = rewrite(inner, roots, errors, next);
    let for_token = &trees[at];
    let mut out: Vec<TokenTree> = quote!(#for_token #k in 0..#field.len())
        .into_iter()
        .collect();
    out.push(regroup(
        match &trees[body_at] {
            TokenTree::Group(g) => g,
            _ => unreachable!("found as a brace group"),
        },
        inner,
    ));
    Some((out, body_at + 1))
}

/// `&root.a.b` or `root.a.b.iter()..` (a chain of argument-less calls): the field path as
/// written and the names of the calls. `None` when the header does not start at a root.
fn field_path(header: &[TokenTree], roots: &[Ident]) -> Option<(TokenStream, Vec<String>)> {
    // A range (`self.lo..self.hi`): integer fields, constants.
    let range = header.windows(2).any(|w| {
        matches!(w, [TokenTree::Punct(a), TokenTree::Punct(b)] if a.as_char() == '.' && b.as_char() == '.')
    });
    if range {
        return None;
    }
    let mut j = 0;
    let by_ref = matches!(header.first(), Some(TokenTree::Punct(p)) if p.as_char() == '&');
    if by_ref {
        j = 1;
    }
    let TokenTree::Ident(root) = header.get(j)? else {
        return None;
    };
    if !roots.contains(root) {
        return None;
    }
    let mut end = j + 1;
    let mut adaptors = Vec::new();
    let mut fields = 0;
    while end + 1 < header.len() {
        let TokenTree::Punct(dot) = &header[end] else {
            break;
        };
        if dot.as_char() != '.' {
            break;
        }
        let TokenTree::Ident(name) = &header[end + 1] else {
            break;
        };
        let call = matches!(header.get(end + 2), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis);
        if call {
            adaptors.push(name.to_string());
            end += 3;
        } else if adaptors.is_empty() {
            fields += 1;
            end += 2;
        } else {
            break;
        }
    }
    if fields == 0 {
        return None;
    }
    let field_end = end - 3 * adaptors.len();
    let field: TokenStream = header[j..field_end].iter().cloned().collect();
    // Anything else after the path (an index, a range, a call with arguments): not this form.
    if end != header.len() {
        return Some((field, vec!["?".into()]));
    }
    if by_ref && !adaptors.is_empty() {
        return Some((field, vec!["?".into()]));
    }
    Some((field, adaptors))
}

/// The first root `header` reads outside a range (`0..self.n`) and a size (`self.ws.len()`).
fn reads_root(header: &[TokenTree], roots: &[Ident]) -> Option<Ident> {
    let is_range = |ts: &[TokenTree]| {
        ts.windows(2).any(|w| {
            matches!(w, [TokenTree::Punct(a), TokenTree::Punct(b)] if a.as_char() == '.' && b.as_char() == '.')
        })
    };
    if is_range(header) {
        return None;
    }
    for (i, t) in header.iter().enumerate() {
        match t {
            TokenTree::Group(g) => {
                let inner: Vec<TokenTree> = g.stream().into_iter().collect();
                if let Some(r) = reads_root(&inner, roots) {
                    return Some(r);
                }
            }
            TokenTree::Ident(id) if roots.contains(id) => {
                // `root.a.b.len()`
                let mut j = i + 1;
                while matches!(header.get(j), Some(TokenTree::Punct(p)) if p.as_char() == '.')
                    && matches!(header.get(j + 1), Some(TokenTree::Ident(_)))
                {
                    j += 2;
                }
                let size = matches!(header.get(j - 1), Some(TokenTree::Ident(m)) if m == "len" || m == "is_empty")
                    && matches!(header.get(j), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis);
                if !size {
                    return Some(id.clone());
                }
            }
            _ => {}
        }
    }
    None
}

/// Whether `tokens` binds `w` again: after `let`, `mut`, `ref` or `for`, or between `|`s.
fn rebinds(tokens: TokenStream, w: &Ident) -> bool {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    trees.iter().enumerate().any(|(i, t)| match t {
        TokenTree::Group(g) => rebinds(g.stream(), w),
        TokenTree::Ident(id) if id == w => {
            let before = i.checked_sub(1).map(|p| &trees[p]);
            let after = trees.get(i + 1);
            matches!(before, Some(TokenTree::Ident(b)) if b == "let" || b == "mut" || b == "ref" || b == "for")
                || matches!(before, Some(TokenTree::Punct(p)) if p.as_char() == '|')
                || matches!(after, Some(TokenTree::Punct(p)) if p.as_char() == '|' || p.as_char() == '@')
        }
        _ => false,
    })
}

/// Whether `w` is read inside a `{ .. }` block nested in `tokens` (`nested`: already inside
/// one).
fn read_in_block(tokens: TokenStream, w: &Ident, nested: bool) -> bool {
    tokens.into_iter().any(|t| match t {
        TokenTree::Group(g) => {
            read_in_block(g.stream(), w, nested || g.delimiter() == Delimiter::Brace)
        }
        TokenTree::Ident(id) => nested && id == *w,
        _ => false,
    })
}

/// `tokens` with each field read of the local `w` (`w.w`, `w.inner.b`) a call of the
/// derive's readers (`w.__autodiff_field_w()`), which differentiate like the fields.
fn field_readers(tokens: TokenStream, w: &Ident) -> TokenStream {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out: Vec<TokenTree> = Vec::with_capacity(trees.len());
    let mut i = 0;
    while i < trees.len() {
        match &trees[i] {
            TokenTree::Group(g) => out.push(regroup(g, field_readers(g.stream(), w))),
            TokenTree::Ident(id)
                if id == w
                    && !matches!(out.last(), Some(TokenTree::Punct(p)) if p.as_char() == '.') =>
            {
                out.push(trees[i].clone());
                i = element_fields(&trees, i + 1, &mut out);
                continue;
            }
            other => out.push(other.clone()),
        }
        i += 1;
    }
    out.into_iter().collect()
}

/// After an element read `leaf[i]`, the field reads `.w` (`.l1.w`) become calls of the
/// derive's hidden readers, `.__autodiff_field_w()`: differentiable methods whose pullback puts
/// the cotangent in that field of a zero element. A method call (`.forward(x)`) is left as it
/// is. Returns the position after the last field read.
pub(crate) fn element_fields(trees: &[TokenTree], mut j: usize, out: &mut Vec<TokenTree>) -> usize {
    while j + 1 < trees.len() {
        let TokenTree::Punct(dot) = &trees[j] else {
            break;
        };
        if dot.as_char() != '.' || dot.spacing() != proc_macro2::Spacing::Alone {
            break;
        }
        let (name, span) = match &trees[j + 1] {
            TokenTree::Ident(id) => (id.to_string(), id.span()),
            TokenTree::Literal(l) if l.to_string().parse::<u32>().is_ok() => {
                (l.to_string(), l.span())
            }
            _ => break,
        };
        let call = matches!(trees.get(j + 2), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis)
            || matches!(trees.get(j + 2), Some(TokenTree::Punct(p)) if p.as_char() == ':');
        if call {
            break;
        }
        out.push(trees[j].clone());
        out.push(TokenTree::Ident(Ident::new(
            &format!("{}{name}", crate::names::FIELD_READER),
            span,
        )));
        out.push(TokenTree::Group(Group::new(
            Delimiter::Parenthesis,
            TokenStream::new(),
        )));
        j += 2;
    }
    j
}

/// `tokens` spanned at `at`, except `self` (whose span decides what it refers to).
fn respan(tokens: TokenStream, at: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|t| match t {
            TokenTree::Group(g) => {
                let mut ng = Group::new(g.delimiter(), respan(g.stream(), at));
                ng.set_span(at);
                TokenTree::Group(ng)
            }
            TokenTree::Ident(ref r) if r == "self" => t,
            mut t => {
                t.set_span(at);
                t
            }
        })
        .collect()
}

/// `tokens` with each read of the name `w` (not a field `.w`, not a path `w::`) replaced by
/// `element`.
fn substitute(tokens: TokenStream, w: &Ident, element: &TokenStream) -> TokenStream {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = TokenStream::new();
    for (i, t) in trees.iter().enumerate() {
        match t {
            TokenTree::Group(g) => out.extend([regroup(g, substitute(g.stream(), w, element))]),
            TokenTree::Ident(id) if id == w => {
                // Spanned at the name it replaces, so errors about the read point there.
                let element = respan(element.clone(), id.span());
                let after_dot = matches!(i.checked_sub(1).map(|p| &trees[p]), Some(TokenTree::Punct(p)) if p.as_char() == '.');
                let path =
                    matches!(trees.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == ':');
                if after_dot || path {
                    out.extend([t.clone()]);
                } else {
                    out.extend(element.clone());
                }
            }
            other => out.extend([other.clone()]),
        }
    }
    out
}
