//! The `**` pass, on tokens before syn sees them.
//!
//! Rust lexes `x**2` as `x * *2` (a multiplication by a dereference), and syn's output no
//! longer says whether the two stars touched. This pass runs on the raw token stream, where
//! the first star of a touching pair is `Spacing::Joint`, and rewrites
//!
//! ```text
//! Before: 2*x**-y**2 + 1        After: 2*__autodiff_pow((x), (-__autodiff_pow((y), (2)))) + 1
//! ```
//!
//! with Python's rules: `**` binds tighter than `*`, `/` and a unary minus on its left, looser
//! than a unary minus on its right, and associates to the right. `x * *r` (spaced) is left alone.

use proc_macro2::{Delimiter, Group, Ident, Punct, Spacing, Span, TokenStream, TokenTree};

/// The marker call that `parse::body` recognises as the power operator.
pub(crate) const POW: &str = "__autodiff_pow";

/// Rewrites every joint `**` with a left operand in `tokens` (recursively into groups).
pub(crate) fn rewrite(tokens: TokenStream) -> TokenStream {
    let trees: Vec<TokenTree> = tokens
        .into_iter()
        .map(|tt| match tt {
            TokenTree::Group(g) => {
                let mut new = Group::new(g.delimiter(), rewrite(g.stream()));
                new.set_span(g.span());
                TokenTree::Group(new)
            }
            other => other,
        })
        .collect();
    rewrite_level(trees).into_iter().collect()
}

fn rewrite_level(mut trees: Vec<TokenTree>) -> Vec<TokenTree> {
    let mut i = 0;
    while i < trees.len() {
        if is_pow_at(&trees, i) {
            let start = left_operand_start(&trees, i);
            if start < i {
                let (right, end) = right_operand(&trees, i + 2);
                if !right.is_empty() {
                    let left: Vec<TokenTree> = trees[start..i].to_vec();
                    let span = trees[i].span();
                    let call = pow_call(left, right, span);
                    trees.splice(start..end, [call]);
                    i = start + 1;
                    continue;
                }
            }
        }
        i += 1;
    }
    trees
}

/// `trees[i]` and `trees[i + 1]` are two stars with the first joint to the second, or two
/// spaced stars before a number literal (`x * *2`, `x * *-1`): a literal cannot be
/// dereferenced, and this is what rustfmt makes of `x**2`.
fn is_pow_at(trees: &[TokenTree], i: usize) -> bool {
    let stars = matches!((trees.get(i), trees.get(i + 1)),
        (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b))) if a.as_char() == '*' && b.as_char() == '*');
    if !stars {
        return false;
    }
    let joint = matches!(trees.get(i), Some(TokenTree::Punct(a)) if a.spacing() == Spacing::Joint);
    let literal_at = |j: usize| matches!(trees.get(j), Some(TokenTree::Literal(_)));
    joint || literal_at(i + 2) || (is_punct(trees.get(i + 2), '-') && literal_at(i + 3))
}

fn is_punct(tt: Option<&TokenTree>, c: char) -> bool {
    matches!(tt, Some(TokenTree::Punct(p)) if p.as_char() == c)
}

/// Keywords after which an expression starts: an identifier like these never ends an operand.
fn is_keyword(ident: &Ident) -> bool {
    matches!(
        ident.to_string().as_str(),
        "return"
            | "in"
            | "if"
            | "else"
            | "while"
            | "match"
            | "let"
            | "mut"
            | "break"
            | "for"
            | "loop"
            | "move"
            | "ref"
            | "box"
            | "yield"
    )
}

/// Start of the postfix expression (`a.b(c)[0]`, `f(x)`, `2.0`, `(..)`) that ends at `end`.
/// Returns `end` when there is no left operand (then the stars are two dereferences).
fn left_operand_start(trees: &[TokenTree], end: usize) -> usize {
    let mut i = end;
    loop {
        if i == 0 {
            return i;
        }
        let atom = match &trees[i - 1] {
            TokenTree::Ident(id) if !is_keyword(id) => true,
            TokenTree::Literal(_) => true,
            TokenTree::Group(g) => g.delimiter() != Delimiter::Brace,
            _ => false,
        };
        if !atom {
            return i;
        }
        i -= 1;
        // A call or index: the group continues a postfix chain begun by what precedes it.
        if let TokenTree::Group(_) = &trees[i] {
            if i > 0 {
                match &trees[i - 1] {
                    TokenTree::Ident(id) if !is_keyword(id) => continue,
                    TokenTree::Group(g) if g.delimiter() != Delimiter::Brace => continue,
                    _ => {}
                }
            }
        }
        // `.method`, `.field`, and `path::segment` continue the chain.
        if i > 0 && is_punct(trees.get(i - 1), '.') && !(i > 1 && is_punct(trees.get(i - 2), '.')) {
            i -= 1;
            continue;
        }
        if i > 1 && is_punct(trees.get(i - 1), ':') && is_punct(trees.get(i - 2), ':') {
            i -= 2;
            continue;
        }
        return i;
    }
}

/// The operand right of `**` starting at `start`: unary minus or `!` prefixes, a postfix
/// expression, and, right-associatively, a further `** operand`. Returns the rewritten
/// operand and the index after it.
fn right_operand(trees: &[TokenTree], start: usize) -> (Vec<TokenTree>, usize) {
    let mut i = start;
    let mut prefix = Vec::new();
    while is_punct(trees.get(i), '-') || is_punct(trees.get(i), '!') {
        prefix.push(trees[i].clone());
        i += 1;
    }
    let atom_start = i;
    match trees.get(i) {
        Some(TokenTree::Ident(id)) if !is_keyword(id) => i += 1,
        Some(TokenTree::Literal(_)) => i += 1,
        Some(TokenTree::Group(g)) if g.delimiter() != Delimiter::Brace => i += 1,
        _ => return (Vec::new(), start),
    }
    loop {
        match trees.get(i) {
            Some(TokenTree::Group(g)) if g.delimiter() != Delimiter::Brace => i += 1,
            Some(TokenTree::Punct(p))
                if p.as_char() == '.' && matches!(trees.get(i + 1), Some(TokenTree::Ident(_))) =>
            {
                i += 2
            }
            Some(TokenTree::Punct(p))
                if p.as_char() == ':'
                    && p.spacing() == Spacing::Joint
                    && is_punct(trees.get(i + 1), ':') =>
            {
                i += 2;
                if matches!(trees.get(i), Some(TokenTree::Ident(_))) {
                    i += 1;
                }
            }
            Some(TokenTree::Punct(p)) if p.as_char() == '?' => i += 1,
            _ => break,
        }
    }
    let mut operand: Vec<TokenTree> = trees[atom_start..i].to_vec();
    if is_pow_at(trees, i) {
        let (exponent, end) = right_operand(trees, i + 2);
        if !exponent.is_empty() {
            let span = trees[i].span();
            operand = vec![pow_call(operand, exponent, span)];
            i = end;
        }
    }
    prefix.extend(operand);
    (prefix, i)
}

fn pow_call(left: Vec<TokenTree>, right: Vec<TokenTree>, span: Span) -> TokenTree {
    let paren = |inner: Vec<TokenTree>| {
        TokenTree::Group(Group::new(
            Delimiter::Parenthesis,
            inner.into_iter().collect(),
        ))
    };
    let mut comma = Punct::new(',', Spacing::Alone);
    comma.set_span(span);
    let args = vec![paren(left), TokenTree::Punct(comma), paren(right)];
    let mut args_group = Group::new(Delimiter::Parenthesis, args.into_iter().collect());
    args_group.set_span(span);
    let call: TokenStream = [
        TokenTree::Ident(Ident::new(POW, span)),
        TokenTree::Group(args_group),
    ]
    .into_iter()
    .collect();
    let mut g = Group::new(Delimiter::None, call);
    g.set_span(span);
    TokenTree::Group(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rewrites `src` and prints it back with the marker shortened to `P`.
    fn pow(src: &str) -> String {
        let tokens: TokenStream = src.parse().unwrap();
        let out = rewrite(tokens).to_string();
        out.replace(POW, "P").replace("  ", " ")
    }

    #[test]
    fn precedence_table() {
        let cases = [
            ("x**2", "P ((x) , (2))"),
            ("x ** 2", "P ((x) , (2))"),
            ("2*x**4", "2 * P ((x) , (4))"),
            ("-x**2", "- P ((x) , (2))"),
            ("x**-1", "P ((x) , (- 1))"),
            ("2**x**2", "P ((2) , (P ((x) , (2))))"),
            ("x**y**z", "P ((x) , (P ((y) , (z))))"),
            ("x.sin()**2", "P ((x . sin ()) , (2))"),
            ("(x + y)**2", "P (((x + y)) , (2))"),
            ("f(x)**2", "P ((f (x)) , (2))"),
            ("a[0]**2", "P ((a [0]) , (2))"),
            ("x**y.sin()", "P ((x) , (y . sin ()))"),
            (
                "std::f64::consts::PI**2",
                "P ((std :: f64 :: consts :: PI) , (2))",
            ),
            ("x**2.5", "P ((x) , (2.5))"),
            ("x/y**2", "x / P ((y) , (2))"),
        ];
        for (src, want) in cases {
            let got = pow(src);
            let got: String = got.split_whitespace().collect::<Vec<_>>().join(" ");
            let want: String = want.split_whitespace().collect::<Vec<_>>().join(" ");
            assert_eq!(got, want, "for `{src}`");
        }
    }

    #[test]
    fn rustfmt_spacing_before_a_literal_is_power() {
        // rustfmt prints `2*x**4` as `2 * x * *4`: a literal cannot be dereferenced.
        assert_eq!(
            pow("2 * x * *4").split_whitespace().collect::<String>(),
            "2*P((x),(4))"
        );
        assert_eq!(
            pow("x * *-1").split_whitespace().collect::<String>(),
            "P((x),(-1))"
        );
    }

    #[test]
    fn spaced_stars_and_derefs_stay() {
        for src in ["x * *r", "**r", "let a = **r;", "return **r", "a * * b"] {
            let got = pow(src);
            assert!(!got.contains('P'), "`{src}` became `{got}`");
        }
    }

    #[test]
    fn inside_groups_and_statements() {
        let got = pow("{ let y = x**2; if c { return y**3; } (x + y).sin()**2 }");
        assert_eq!(got.matches('P').count(), 3, "{got}");
        // The rewrite never reaches across a statement boundary.
        assert!(got.contains("; }"), "{got}");
    }
}
