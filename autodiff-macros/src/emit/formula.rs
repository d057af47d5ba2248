//! Graph → the derivative as text, in the body's own syntax: `8*x**3 + 3*x**2 + 6*x + 5`.
//!
//! Serves `f_grad_formulas` only; the numbers come from the generated code. Sums, products
//! and integer powers are expanded into a polynomial whose atoms are the parameters and any
//! other subexpression (`x.sin()`), so like terms collect; terms print by descending degree.

use rustc_hash::FxHashMap;
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::ir::ops::{self, Style};
use crate::ir::{Graph, Id, Op};
use crate::parse::sig::Sig;

/// A monomial: atoms (sorted by text) with their powers. Atom texts are shared, not
/// copied, as products multiply them out.
type Monomial = Vec<(Rc<str>, i32)>;
type Poly = BTreeMap<Monomial, f64>;

/// Beyond this many terms a product is printed as written, not expanded.
const MAX_TERMS: usize = 40;

/// Operands longer than this print as `(…)`: text repeats what the graph shares, and would
/// grow exponentially.
const MAX_TEXT: usize = 600;

pub(crate) struct Formula<'a> {
    g: &'a Graph,
    sig: &'a Sig,
    /// Each node's polynomial, computed once: the graph shares subexpressions, and a tree
    /// walk would revisit them exponentially often.
    memo: std::cell::RefCell<FxHashMap<Id, Rc<Poly>>>,
    /// Each node's text as an operand, likewise.
    texts: std::cell::RefCell<FxHashMap<Id, String>>,
}

impl<'a> Formula<'a> {
    pub fn new(g: &'a Graph, sig: &'a Sig) -> Formula<'a> {
        Formula {
            g,
            sig,
            memo: Default::default(),
            texts: Default::default(),
        }
    }

    /// The text of a node, simplified.
    pub fn text(&self, id: Option<Id>) -> String {
        match id {
            None => "0".to_string(),
            Some(id) => print_poly(&self.poly(id)),
        }
    }

    /// A node's polynomial, shared with the memo (a reader that changes it clones it).
    fn poly(&self, id: Id) -> Rc<Poly> {
        if let Some(p) = self.memo.borrow().get(&id) {
            return Rc::clone(p);
        }
        let p = Rc::new(self.poly_uncached(id));
        self.memo.borrow_mut().insert(id, Rc::clone(&p));
        p
    }

    /// A node's polynomial, to change.
    fn owned(&self, id: Id) -> Poly {
        Rc::unwrap_or_clone(self.poly(id))
    }

    fn poly_uncached(&self, id: Id) -> Poly {
        let g = self.g;
        let node = &g[id];
        let a = |i: usize| node.args[i];
        match node.op {
            Op::Const(bits) => constant(f64::from_bits(bits)),
            Op::Add => add(self.owned(a(0)), &self.poly(a(1)), 1.0),
            Op::Sub => add(self.owned(a(0)), &self.poly(a(1)), -1.0),
            Op::Neg => scale(self.owned(a(0)), -1.0),
            Op::Mul => {
                let (p, q) = (self.poly(a(0)), self.poly(a(1)));
                if p.len() * q.len() > MAX_TERMS {
                    return self.atom(id);
                }
                mul(&p, &q)
            }
            Op::Div => match g.as_const(a(1)) {
                Some(c) => scale(self.owned(a(0)), 1.0 / c),
                None => {
                    // a / b = a · b⁻¹, so that b cancels against a factor b.
                    let p = self.poly(a(0));
                    let den = self.poly(a(1));
                    let key = match den.iter().next() {
                        Some((m, c))
                            if den.len() == 1 && *c == 1.0 && m.len() == 1 && m[0].1 == 1 =>
                        {
                            m[0].0.clone()
                        }
                        _ => Rc::from(print_poly(&den)),
                    };
                    mul(&p, &Poly::from([(vec![(key, -1)], 1.0)]))
                }
            },
            Op::Powi(n) if (0..=6).contains(&n) => {
                let p = self.poly(a(0));
                let mut out = constant(1.0);
                for _ in 0..n {
                    if out.len() * p.len() > MAX_TERMS {
                        return self.atom(id);
                    }
                    out = mul(&out, &p);
                }
                out
            }
            Op::Powi(n) if (-6..0).contains(&n) => {
                // x**-n as x with a negative power, so that it prints as `1/x**n`.
                let p = self.poly(a(0));
                match p.iter().next() {
                    Some((m, c)) if p.len() == 1 && *c == 1.0 && m.len() == 1 => {
                        Poly::from([(vec![(m[0].0.clone(), m[0].1 * n)], 1.0)])
                    }
                    _ => self.atom(id),
                }
            }
            // Broadcasting is implicit in the text.
            Op::SumTo | Op::BroadcastLike => self.owned(a(0)),
            // Component i of a call's pullback, d·∂ᵢf(args): the chain rule as a person writes
            // it, with the callee's derivative by name.
            Op::Project(i) => match g[a(0)].op {
                Op::Pullback(k) => {
                    let pb = &g[a(0)].args;
                    let (call_args, d) = pb.split_at(pb.len() - 1);
                    let partial = self.partial_text(k, i as usize, call_args);
                    let atom = Poly::from([(vec![(Rc::from(partial), 1)], 1.0)]);
                    mul(&self.poly(d[0]), &atom)
                }
                _ => self.atom(id),
            },
            _ => self.atom(id),
        }
    }

    /// The derivative of call `k`'s callee in its argument `i`, at `args`: `f'(x)` for a
    /// function of one argument, else `∂ᵢf(x, y)` (arguments counted from 1).
    fn partial_text(&self, k: u32, i: usize, args: &[Id]) -> String {
        let path = &self.g.calls[k as usize].path;
        let path = quote::quote!(#path).to_string().replace(' ', "");
        let list: Vec<String> = args.iter().map(|&x| self.text(Some(x))).collect();
        if args.len() == 1 {
            format!("{path}'({})", list[0])
        } else {
            const SUB: [char; 10] = ['₀', '₁', '₂', '₃', '₄', '₅', '₆', '₇', '₈', '₉'];
            let sub: String = (i + 1)
                .to_string()
                .chars()
                .map(|c| SUB[c.to_digit(10).unwrap_or(0) as usize])
                .collect();
            format!("∂{sub}{path}({})", list.join(", "))
        }
    }

    fn atom(&self, id: Id) -> Poly {
        if let Some(v) = self.g.as_const(id) {
            return constant(v);
        }
        Poly::from([(vec![(Rc::from(self.atom_text(id)), 1)], 1.0)])
    }

    /// An operand inside a larger expression: bare if it is a name or a number, else
    /// parenthesised.
    fn operand(&self, id: Id) -> String {
        if let Some(t) = self.texts.borrow().get(&id) {
            return t.clone();
        }
        let t = self.text(Some(id));
        // A graph shares subexpressions that text repeats: past a size, elide.
        let t = if t.chars().count() > MAX_TEXT {
            "(…)".to_string()
        } else if is_simple(&t) {
            t
        } else {
            format!("({t})")
        };
        self.texts.borrow_mut().insert(id, t.clone());
        t
    }

    fn atom_text(&self, id: Id) -> String {
        let g = self.g;
        let node = &g[id];
        let args = &node.args;
        let name = ops::name(node.op);
        match node.op {
            Op::Param(i) => self.sig.params[i as usize].ident.to_string(),
            Op::Const(bits) => number(f64::from_bits(bits)),
            Op::Cotangent => "cotangent".to_string(),
            Op::Index(k) => format!("{}[{k}]", self.operand(args[0])),
            Op::Powi(n) => format!("{}**{n}", self.operand(args[0])),
            Op::Powf => format!("{}**{}", self.operand(args[0]), self.operand(args[1])),
            Op::Div => format!("{}/{}", self.operand(args[0]), self.operand(args[1])),
            Op::Mul => format!("{}*{}", self.operand(args[0]), self.operand(args[1])),
            Op::Phi(b) => {
                let cond = self.text(Some(g.branches[b as usize].cond));
                format!(
                    "if {cond} {{ {} }} else {{ {} }}",
                    self.text(Some(args[0])),
                    self.text(Some(args[1]))
                )
            }
            Op::Opaque(k) => {
                let raw = g.opaques[k as usize].tokens.to_string();
                let mut out = raw;
                for (i, &d) in args.iter().enumerate() {
                    out = out.replace(&format!("__ad_ref{i}"), &self.operand(d));
                }
                out
            }
            Op::Call(k) | Op::Pullback(k) => {
                let path = &g.calls[k as usize].path;
                let path = quote::quote!(#path).to_string().replace(' ', "");
                let list: Vec<String> = args.iter().map(|&x| self.text(Some(x))).collect();
                let suffix = if node.op == Op::Call(k) { "" } else { "_vjp" };
                format!("{path}{suffix}({})", list.join(", "))
            }
            Op::Project(i) => format!("{}.{i}", self.operand(args[0])),
            Op::MaxAxis(k)
            | Op::MinAxis(k)
            | Op::LogsumexpAxis(k)
            | Op::Softmax(k)
            | Op::LogSoftmax(k)
            | Op::Unsqueeze(k) => format!("{}.{name}({k})", self.operand(args[0])),
            Op::Pullback2(_) | Op::NoGrad => "(second-order pullback)".to_string(),
            // A cotangent that is `d` at index k and zero elsewhere: d times the unit vector.
            Op::OneHot if matches!(self.g[args[1]].op, Op::Call(_)) => {
                format!("{}*e{}", self.operand(args[0]), self.text(Some(args[2])))
            }
            Op::Loop(_) | Op::LoopOut(_) | Op::LoopPullback(_) | Op::LoopGrad(_) | Op::OneHot => {
                "(for loop)".to_string()
            }
            // Derivative helpers, in the body's syntax (their values at the kinks aside).
            Op::PowfGradX => format!(
                "{}*{}**({} - 1)",
                self.operand(args[1]),
                self.operand(args[0]),
                self.text(Some(args[1]))
            ),
            Op::PowfGradY => format!(
                "{}**{}*{}.ln()",
                self.operand(args[0]),
                self.operand(args[1]),
                self.operand(args[0])
            ),
            // The gradients of `a.matmul(b)`, in the body's syntax (2-d operands).
            Op::MatmulGradLhs => format!(
                "{}.matmul({}.transpose())",
                self.operand(args[0]),
                self.operand(args[2])
            ),
            Op::MatmulGradRhs => format!(
                "{}.transpose().matmul({})",
                self.operand(args[1]),
                self.text(Some(args[0]))
            ),
            Op::Pack | Op::ArrayLit => {
                let parts: Vec<String> = args.iter().map(|&x| self.text(Some(x))).collect();
                format!("[{}]", parts.join(", "))
            }
            Op::PowfGradXX => format!(
                "{y}*({y} - 1)*{x}**({y} - 2)",
                x = self.operand(args[0]),
                y = self.operand(args[1])
            ),
            Op::PowfGradYY => format!(
                "{}**{}*{}.ln()**2",
                self.operand(args[0]),
                self.operand(args[1]),
                self.operand(args[0])
            ),
            Op::Sgn => format!("{}.signum()", self.operand(args[0])),
            Op::Step => format!("(if {} > 0 {{ 1 }} else {{ 0 }})", self.operand(args[0])),
            Op::MaxWeight => format!(
                "(if {a} > {b} {{ 1 }} else if {a} == {b} {{ 0.5 }} else {{ 0 }})",
                a = self.operand(args[0]),
                b = self.operand(args[1])
            ),
            Op::ClampWeight => format!(
                "(if {lo} < {x} && {x} < {hi} {{ 1 }} else {{ 0 }})",
                x = self.operand(args[0]),
                lo = self.operand(args[1]),
                hi = self.operand(args[2])
            ),
            // The count of elements: the operand's structure, not its expansion.
            Op::Numel => {
                let expanded = self.text(Some(args[0]));
                let inner = if expanded.len() <= 40 {
                    expanded
                } else {
                    self.atom_text(args[0])
                };
                if is_simple(&inner) || is_postfix(&inner) {
                    format!("{inner}.len()")
                } else {
                    format!("({inner}).len()")
                }
            }
            _ => match ops::style(node.op) {
                Style::Infix(sym) => {
                    format!("{} {sym} {}", self.operand(args[0]), self.operand(args[1]))
                }
                Style::Prefix(sym) => format!("{sym}{}", self.operand(args[0])),
                _ => {
                    let rest: Vec<String> =
                        args.iter().skip(1).map(|&x| self.text(Some(x))).collect();
                    format!("{}.{name}({})", self.operand(args[0]), rest.join(", "))
                }
            },
        }
    }
}

fn constant(v: f64) -> Poly {
    if v == 0.0 {
        Poly::new()
    } else {
        Poly::from([(Vec::new(), v)])
    }
}

fn add(mut p: Poly, q: &Poly, sign: f64) -> Poly {
    for (m, c) in q {
        let e = p.entry(m.clone()).or_insert(0.0);
        *e += sign * c;
        if *e == 0.0 {
            p.remove(m);
        }
    }
    p
}

fn scale(p: Poly, k: f64) -> Poly {
    p.into_iter()
        .map(|(m, c)| (m, c * k))
        .filter(|(_, c)| *c != 0.0)
        .collect()
}

fn mul(p: &Poly, q: &Poly) -> Poly {
    let mut out = Poly::new();
    for (m1, c1) in p {
        for (m2, c2) in q {
            *out.entry(mul_monomials(m1, m2)).or_insert(0.0) += c1 * c2;
        }
    }
    out.retain(|_, c| *c != 0.0);
    out
}

/// The product of two monomials: a merge of their sorted atoms, adding powers.
fn mul_monomials(a: &Monomial, b: &Monomial) -> Monomial {
    use std::cmp::Ordering;
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            Ordering::Less => {
                out.push(a[i].clone());
                i += 1;
            }
            Ordering::Greater => {
                out.push(b[j].clone());
                j += 1;
            }
            Ordering::Equal => {
                let k = a[i].1 + b[j].1;
                if k != 0 {
                    out.push((a[i].0.clone(), k));
                }
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

fn degree(m: &Monomial) -> i32 {
    m.iter().map(|(_, k)| k).sum()
}

fn print_poly(p: &Poly) -> String {
    if p.is_empty() {
        return "0".to_string();
    }
    let mut terms: Vec<(&Monomial, f64)> = p.iter().map(|(m, c)| (m, *c)).collect();
    terms.sort_by(|a, b| degree(b.0).cmp(&degree(a.0)).then_with(|| a.0.cmp(b.0)));
    let mut out = String::new();
    for (i, (m, c)) in terms.into_iter().enumerate() {
        let (sign, mag) = if c < 0.0 { ("-", -c) } else { ("+", c) };
        let body = if m.is_empty() {
            number(mag)
        } else {
            let factor = |atom: &Rc<str>, k: i32| {
                let a = if is_simple(atom) || is_postfix(atom) {
                    atom.to_string()
                } else {
                    format!("({atom})")
                };
                if k == 1 {
                    a
                } else {
                    format!("{a}**{k}")
                }
            };
            let num: Vec<String> = m
                .iter()
                .filter(|(_, k)| *k > 0)
                .map(|(a, k)| factor(a, *k))
                .collect();
            let den: Vec<String> = m
                .iter()
                .filter(|(_, k)| *k < 0)
                .map(|(a, k)| factor(a, -k))
                .collect();
            let mut f = num.join("*");
            if mag != 1.0 || f.is_empty() {
                f = if f.is_empty() {
                    number(mag)
                } else {
                    format!("{}*{f}", number(mag))
                };
            }
            match den.len() {
                0 => f,
                1 => format!("{f}/{}", den[0]),
                _ => format!("{f}/({})", den.join("*")),
            }
        };
        if i == 0 {
            if sign == "-" {
                out.push('-');
            }
        } else {
            out.push_str(&format!(" {sign} "));
        }
        out.push_str(&body);
    }
    out
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn is_simple(t: &str) -> bool {
    t.chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
        && !t.is_empty()
        && !t.starts_with('.')
}

/// `x.sin()`, `x[0]`, `(a + b).cos()`: binds tighter than `**`.
fn is_postfix(t: &str) -> bool {
    let mut depth = 0i32;
    for c in t.chars() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ' ' | '*' | '/' | '+' | '-' if depth == 0 => return false,
            _ => {}
        }
    }
    t.ends_with(')') || t.ends_with(']')
}
