//! Generator of `tests/random_cases.rs`, the random functions that `tests/test_random.rs`
//! checks. Run it after changing the generator:
//!
//! ```text
//! cargo test --test gen_random -- --ignored
//! ```
//!
//! Deterministic (a fixed xorshift seed, no dependencies). Three corpora:
//!
//! - scalar functions of 1 to 3 `f64` variables: `+ - * /`, `**` in every spacing and precedence
//!   situation, every float method of the crate documentation, calls to the helper functions of
//!   `tests/test_random.rs` (one differentiated in one parameter only), `let` reuse and
//!   shadowing, `let mut` with compound assignments (also inside `if`/`else if`/`else`),
//!   `if`/`else if`/`else` expressions and early returns;
//! - loop functions over a `&[f64]` or a `[f64; 3]` / `&[f64; 3]` parameter (plus, sometimes, a
//!   scalar `y`, sometimes passed through with `wrt(x)`): accumulators, carried state,
//!   neighbour reads `x[i + 1]` / `x[i - 1]` with the matching bound, inclusive and nested
//!   ranges, `if` in the body, literal indices outside the loop;
//! - tensor functions of two `&Tensor<f64>` of broadcasting shapes (and sometimes a scalar),
//!   element-wise, ending in `.sum()` or `.mean()`.
//!
//! Every function is built as a small AST, printed twice (once in the `#[differentiable]` syntax
//! with `**`, varied spacing and only the parentheses precedence needs, once as plain Rust with
//! `powi`/`powf` and every parenthesis; a tensor function's plain version is a hand loop over
//! the broadcast), and evaluated here at candidate points: a function or point is rejected when
//! a value leaves a safe range, a method argument comes near the edge of its domain, a
//! comparison or a kink (`abs`, `relu`, `max`, `min`, `clamp`, `floor`, ...) is within 1e-3 of
//! its threshold, or finite differences with two step sizes disagree (a kink or a branch
//! boundary nearby). Scalar points must also have second differences that agree at two step
//! sizes, so that the test can judge `_hessian` by finite differences of `_grad`.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

/// Number of scalar functions generated.
const COUNT: usize = 300;
/// Number of loop functions generated.
const LOOP_COUNT: usize = 90;
/// Number of tensor functions generated.
const TENSOR_COUNT: usize = 40;
/// Points checked per function.
const POINTS: usize = 3;

/// Generated functions that the macro fails to compile (found by compiling the corpus), with
/// the bug each shows. They are written to the table `COMPILE_FAILURES` instead of as items,
/// so that the rest compiles, and `tests/test_random.rs` fails while the table is not empty.
/// Update after regenerating (names change with the generator). Empty: every function
/// compiles.
const COMPILE_FAILS: &[(&str, &str)] = &[];

/// xorshift64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }

    /// A coordinate in [-2, 2], rounded to 4 decimals so the file stays readable.
    fn coord(&mut self) -> f64 {
        ((self.unit() * 4.0 - 2.0) * 1e4).round() / 1e4
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

impl Op {
    fn text(self) -> &'static str {
        match self {
            Op::Add => "+",
            Op::Sub => "-",
            Op::Mul => "*",
            Op::Div => "/",
        }
    }

    fn prec(self) -> u8 {
        match self {
            Op::Add | Op::Sub => 1,
            Op::Mul | Op::Div => 2,
        }
    }

    fn apply(self, a: f64, b: f64) -> Result<f64, Reject> {
        ok(match self {
            Op::Add => a + b,
            Op::Sub => a - b,
            Op::Mul => a * b,
            Op::Div => a / away(b)?,
        })
    }
}

#[derive(Clone)]
enum Expon {
    /// `x**2`, `x**-1`: `powi`.
    Int(i32),
    /// `x**1.5`, `x**-0.5`: `powf`, text as written.
    Float(&'static str),
    /// `x**y`: `powf` with a differentiated exponent.
    Expr(Box<E>),
}

#[derive(Clone)]
enum E {
    /// A name, printed as it is: a parameter, a `let`, or in loops `x[i + 1]`, `(i as f64)`.
    Var(String),
    /// A non-negative integer literal, a float in the body.
    Int(i64),
    /// A non-negative float literal, text as written.
    Float(&'static str),
    Neg(Box<E>),
    Bin(Op, Box<E>, Box<E>),
    Pow(Box<E>, Expon),
    /// `2**e`, `0.5**e`: a literal base.
    LitPow(&'static str, Box<E>),
    /// A unary method call `e.name()`.
    Method(&'static str, Box<E>),
    /// A method with float arguments `e.name(a, ..)`: `powf log atan2 max min hypot mul_add
    /// clamp`.
    Method2(&'static str, Box<E>, Vec<E>),
    /// `e.powi(k)`.
    Powi(Box<E>, i32),
    /// A call of a helper function of tests/test_random.rs.
    Call(&'static str, Vec<E>),
}

/// Precedence levels of the printed syntax.
const P_NEG: u8 = 3;
const P_POW: u8 = 4;
const P_ATOM: u8 = 5;

fn lit(s: &str) -> f64 {
    s.trim_end_matches("_f64").parse().unwrap()
}

impl E {
    fn prec(&self) -> u8 {
        match self {
            E::Var(_)
            | E::Int(_)
            | E::Float(_)
            | E::Method(..)
            | E::Method2(..)
            | E::Powi(..)
            | E::Call(..) => P_ATOM,
            E::Neg(_) => P_NEG,
            E::Bin(op, ..) => op.prec(),
            E::Pow(..) | E::LitPow(..) => P_POW,
        }
    }

    fn is_literal(&self) -> bool {
        matches!(self, E::Int(_) | E::Float(_))
    }

    /// Names read by the expression.
    fn uses(&self, out: &mut Vec<String>) {
        match self {
            E::Var(v) => out.push(v.clone()),
            E::Int(_) | E::Float(_) => {}
            E::Neg(a) | E::Method(_, a) | E::LitPow(_, a) | E::Powi(a, _) => a.uses(out),
            E::Bin(_, a, b) => {
                a.uses(out);
                b.uses(out);
            }
            E::Pow(a, e) => {
                a.uses(out);
                if let Expon::Expr(b) = e {
                    b.uses(out);
                }
            }
            E::Method2(_, a, args) => {
                a.uses(out);
                for x in args {
                    x.uses(out);
                }
            }
            E::Call(_, args) => {
                for x in args {
                    x.uses(out);
                }
            }
        }
    }

    fn reads(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.uses(&mut out);
        out
    }

    /// The syntax features the expression exercises, for the coverage table.
    fn features(&self, out: &mut Vec<String>) {
        let mut add = |s: String| out.push(s);
        match self {
            E::Var(_) | E::Int(_) | E::Float(_) => {}
            E::Neg(a) => {
                if matches!(**a, E::Pow(..)) {
                    add("** under a unary minus: -x**2".into());
                }
            }
            E::Bin(op, ..) => add(format!("operator {}", op.text())),
            E::Pow(a, ex) => {
                if let E::Bin(Op::Add | Op::Sub, ..) = **a {
                    add("** on a sum: (a+b)**3".into());
                }
                add(match ex {
                    Expon::Int(k) if *k < 0 => "** negative integer: x**-1".into(),
                    Expon::Int(_) => "** integer: x**2".into(),
                    Expon::Float(_) => "** float literal: x**0.5".into(),
                    Expon::Expr(x) if matches!(**x, E::Pow(..)) => {
                        "** right-associative: x**y**2".into()
                    }
                    Expon::Expr(_) => "** expression: x**y".into(),
                });
            }
            E::LitPow(_, x) => {
                add("** literal base: 2**x".into());
                if matches!(**x, E::Pow(..)) {
                    add("** literal base, power exponent: 2**x**2".into());
                }
            }
            E::Method(m, _) | E::Method2(m, ..) => add(format!("method {m}")),
            E::Powi(..) => add("method powi".into()),
            E::Call(f, _) => add(format!("call {f}")),
        }
        match self {
            E::Var(_) | E::Int(_) | E::Float(_) => {}
            E::Neg(a) | E::Method(_, a) | E::LitPow(_, a) | E::Powi(a, _) => a.features(out),
            E::Bin(_, a, b) => {
                a.features(out);
                b.features(out);
            }
            E::Pow(a, e) => {
                a.features(out);
                if let Expon::Expr(b) = e {
                    b.features(out);
                }
            }
            E::Method2(_, a, args) => {
                a.features(out);
                for x in args {
                    x.features(out);
                }
            }
            E::Call(_, args) => {
                for x in args {
                    x.features(out);
                }
            }
        }
    }
}

/// Prints in the `#[differentiable]` syntax: minimal parentheses (plus a few redundant ones),
/// `**` spaced four ways.
struct Printer<'r> {
    rng: &'r mut Rng,
}

impl Printer<'_> {
    fn pow_op(&mut self) -> &'static str {
        self.rng.pick(&["**", "**", "**", " ** ", "** ", " **"])
    }

    fn print(&mut self, e: &E, min: u8) -> String {
        let s = self.bare(e);
        if e.prec() < min || (e.prec() < P_ATOM && self.rng.chance(0.08)) {
            format!("({s})")
        } else {
            s
        }
    }

    fn args(&mut self, args: &[E]) -> String {
        let args: Vec<String> = args.iter().map(|a| self.bare(a)).collect();
        args.join(", ")
    }

    fn bare(&mut self, e: &E) -> String {
        match e {
            E::Var(v) => v.clone(),
            E::Int(k) => k.to_string(),
            E::Float(s) => s.to_string(),
            E::Neg(a) => format!("-{}", self.print(a, P_NEG)),
            E::Bin(op, a, b) => {
                let p = op.prec();
                let l = self.print(a, p);
                let r = self.print(b, p + 1);
                let spaced = matches!(op, Op::Add | Op::Sub) || self.rng.chance(0.5);
                if spaced {
                    format!("{l} {} {r}", op.text())
                } else {
                    format!("{l}{}{r}", op.text())
                }
            }
            E::Pow(base, ex) => {
                let b = self.print(base, P_ATOM);
                let op = self.pow_op();
                let x = match ex {
                    Expon::Int(k) => k.to_string(),
                    Expon::Float(s) => s.to_string(),
                    Expon::Expr(x) => self.exponent(x),
                };
                format!("{b}{op}{x}")
            }
            E::LitPow(base, x) => {
                let op = self.pow_op();
                let x = self.exponent(x);
                format!("{base}{op}{x}")
            }
            E::Method(m, a) => format!("{}.{m}()", self.print(a, P_ATOM)),
            E::Method2(m, a, args) => {
                let recv = self.print(a, P_ATOM);
                format!("{recv}.{m}({})", self.args(args))
            }
            E::Powi(a, k) => format!("{}.powi({k})", self.print(a, P_ATOM)),
            E::Call(f, args) => format!("{f}({})", self.args(args)),
        }
    }

    /// The right operand of `**`: a unary minus, then an atom or (right-associative) a power.
    fn exponent(&mut self, x: &E) -> String {
        match x {
            E::Neg(a) if a.prec() >= P_POW && !a.is_literal() => {
                format!("-{}", self.print(a, P_POW))
            }
            _ => self.print(x, P_POW),
        }
    }
}

/// Prints as plain Rust on `f64`, every operation parenthesised.
fn reference(e: &E) -> String {
    let list = |args: &[E]| {
        let args: Vec<String> = args.iter().map(reference).collect();
        args.join(", ")
    };
    match e {
        E::Var(v) => v.clone(),
        E::Int(k) => format!("{k}.0_f64"),
        E::Float(s) if s.ends_with("_f64") => s.to_string(),
        E::Float(s) => format!("{s}_f64"),
        E::Neg(a) => format!("(-{})", reference(a)),
        E::Bin(op, a, b) => format!("({} {} {})", reference(a), op.text(), reference(b)),
        E::Pow(b, Expon::Int(k)) => format!("({}).powi({k})", reference(b)),
        E::Pow(b, Expon::Float(s)) => format!("({}).powf({s}_f64)", reference(b)),
        E::Pow(b, Expon::Expr(x)) => format!("({}).powf({})", reference(b), reference(x)),
        E::LitPow(base, x) => format!("({base}_f64).powf({})", reference(x)),
        E::Method(m, a) => format!("({}).{m}()", reference(a)),
        E::Method2(m, a, args) => format!("({}).{m}({})", reference(a), list(args)),
        E::Powi(a, k) => format!("({}).powi({k})", reference(a)),
        E::Call(f, args) => format!("{f}_ref({})", list(args)),
    }
}

/// Why an evaluation is unusable.
struct Reject;

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// Values and margins must stay in a range where f64 differences are meaningful.
fn ok(v: f64) -> Result<f64, Reject> {
    if v.is_finite() && v.abs() <= 1e3 {
        Ok(v)
    } else {
        Err(Reject)
    }
}

/// A domain argument (divisor, `powf` base, `cbrt`, `recip`) kept away from 0.
fn away(v: f64) -> Result<f64, Reject> {
    if v.abs() >= 1e-2 {
        Ok(v)
    } else {
        Err(Reject)
    }
}

/// A domain argument that must be at least `lo` (`sqrt`, `ln`: 1e-2).
fn at_least(v: f64, lo: f64) -> Result<f64, Reject> {
    if v >= lo {
        Ok(v)
    } else {
        Err(Reject)
    }
}

/// Kinks and jumps: the argument stays 1e-3 away from where the derivative changes.
fn kink(v: f64, at: f64) -> Result<(), Reject> {
    if (v - at).abs() >= 1e-3 {
        Ok(())
    } else {
        Err(Reject)
    }
}

/// The helper functions of tests/test_random.rs (keep in step with them).
const HELPERS: &[(&str, usize)] = &[("helper_cubic", 1), ("helper_mix", 2), ("helper_scaled", 2)];

fn helper(name: &str, args: &[f64]) -> Result<f64, Reject> {
    ok(match name {
        // a**3 - 2*a + 1
        "helper_cubic" => args[0].powi(3) - 2.0 * args[0] + 1.0,
        // let t = a * b.sin(); t + (a*a + 1).ln() * b
        "helper_mix" => args[0] * args[1].sin() + (args[0] * args[0] + 1.0).ln() * args[1],
        // wrt(a): k * a.tanh() + a**2 / 2
        "helper_scaled" => args[1] * args[0].tanh() + args[0].powi(2) / 2.0,
        other => unreachable!("{other}"),
    })
}

fn method(m: &str, a: f64) -> Result<f64, Reject> {
    Ok(match m {
        "sin" => a.sin(),
        "cos" => a.cos(),
        "tan" => {
            if a.cos().abs() < 0.1 {
                return Err(Reject);
            }
            a.tan()
        }
        "exp" => a.exp(),
        "exp2" => a.exp2(),
        "exp_m1" => a.exp_m1(),
        "sinh" => a.sinh(),
        "cosh" => a.cosh(),
        "tanh" => a.tanh(),
        "asinh" => a.asinh(),
        "atan" => a.atan(),
        "sigmoid" => sigmoid(a),
        "softplus" => softplus(a),
        "sqrt" => at_least(a, 1e-2)?.sqrt(),
        "ln" => at_least(a, 1e-2)?.ln(),
        "log2" => at_least(a, 1e-2)?.log2(),
        "log10" => at_least(a, 1e-2)?.log10(),
        "ln_1p" => at_least(a, -0.99)?.ln_1p(),
        "cbrt" => away(a)?.cbrt(),
        "recip" => away(a)?.recip(),
        "acosh" => at_least(a, 1.05)?.acosh(),
        "asin" | "acos" | "atanh" => {
            if a.abs() > 0.95 {
                return Err(Reject);
            }
            match m {
                "asin" => a.asin(),
                "acos" => a.acos(),
                _ => a.atanh(),
            }
        }
        "abs" | "relu" | "signum" => {
            kink(a, 0.0)?;
            match m {
                "abs" => a.abs(),
                "relu" => a.max(0.0),
                _ => a.signum(),
            }
        }
        "floor" | "ceil" | "trunc" => {
            kink(a, a.round())?;
            match m {
                "floor" => a.floor(),
                "ceil" => a.ceil(),
                _ => a.trunc(),
            }
        }
        "round" => {
            kink(a, a.floor() + 0.5)?;
            a.round()
        }
        other => unreachable!("{other}"),
    })
}

fn method2(m: &str, a: f64, args: &[f64]) -> Result<f64, Reject> {
    Ok(match m {
        "powf" => at_least(a, 1e-2)?.powf(args[0]),
        "log" => {
            let b = at_least(args[0], 1e-2)?;
            away(b.ln())?;
            at_least(a, 1e-2)?.log(b)
        }
        "atan2" => {
            let b = args[0];
            if a.hypot(b) < 1e-2 || (b < 0.0 && a.abs() < 1e-3) {
                return Err(Reject);
            }
            a.atan2(b)
        }
        "hypot" => at_least(a.hypot(args[0]), 1e-2)?,
        "max" | "min" => {
            kink(a, args[0])?;
            if m == "max" {
                a.max(args[0])
            } else {
                a.min(args[0])
            }
        }
        "mul_add" => a.mul_add(args[0], args[1]),
        "clamp" => {
            kink(a, args[0])?;
            kink(a, args[1])?;
            a.clamp(args[0], args[1])
        }
        other => unreachable!("{other}"),
    })
}

fn eval(e: &E, env: &HashMap<String, f64>) -> Result<f64, Reject> {
    let v = match e {
        E::Var(v) => env[v],
        E::Int(k) => *k as f64,
        E::Float(s) => lit(s),
        E::Neg(a) => -eval(a, env)?,
        E::Bin(op, a, b) => op.apply(eval(a, env)?, eval(b, env)?)?,
        E::Pow(b, Expon::Int(k)) => {
            let b = eval(b, env)?;
            if *k < 0 {
                away(b)?;
            }
            b.powi(*k)
        }
        E::Pow(b, Expon::Float(s)) => away(eval(b, env)?)?.powf(lit(s)),
        E::Pow(b, Expon::Expr(x)) => away(eval(b, env)?)?.powf(eval(x, env)?),
        E::LitPow(base, x) => lit(base).powf(eval(x, env)?),
        E::Method(m, a) => method(m, eval(a, env)?)?,
        E::Method2(m, a, args) => {
            let a = eval(a, env)?;
            let args = args
                .iter()
                .map(|x| eval(x, env))
                .collect::<Result<Vec<_>, _>>()?;
            method2(m, a, &args)?
        }
        E::Powi(a, k) => {
            let b = eval(a, env)?;
            if *k < 0 {
                away(b)?;
            }
            b.powi(*k)
        }
        E::Call(f, args) => {
            let args = args
                .iter()
                .map(|x| eval(x, env))
                .collect::<Result<Vec<_>, _>>()?;
            helper(f, &args)?
        }
    };
    ok(v)
}

#[derive(Clone, Copy)]
enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    fn text(self) -> &'static str {
        match self {
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
        }
    }

    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Gt => a > b,
            Cmp::Ge => a >= b,
        }
    }
}

#[derive(Clone)]
struct Cond {
    lhs: E,
    cmp: Cmp,
    rhs: E,
}

impl Cond {
    fn decide(&self, env: &HashMap<String, f64>) -> Result<bool, Reject> {
        let (a, b) = (eval(&self.lhs, env)?, eval(&self.rhs, env)?);
        kink(a, b)?;
        Ok(self.cmp.holds(a, b))
    }

    fn uses(&self, out: &mut Vec<String>) {
        self.lhs.uses(out);
        self.rhs.uses(out);
    }
}

/// One update of a `let mut` variable.
#[derive(Clone)]
enum MutOp {
    /// `n op= e;`
    Plain(Op, E),
    /// `if c1 { n op= e1; } else if c2 { .. } else { n op= e; }`
    Branch(Vec<(Cond, Op, E)>, Op, E),
}

#[derive(Clone)]
enum Stmt {
    /// `let name = e;` (also shadowing an earlier `name`).
    Let(String, E),
    /// `let mut name = e;` followed by compound assignments.
    Mut(String, E, Vec<MutOp>),
    /// `let name = if c1 { a } else if c2 { b } else { c };`
    LetIf(String, Vec<(Cond, E)>, E),
    /// `if c { return e; }`
    Guard(Cond, E),
}

impl Stmt {
    fn defines(&self) -> Option<&String> {
        match self {
            Stmt::Let(n, _) | Stmt::Mut(n, ..) | Stmt::LetIf(n, ..) => Some(n),
            Stmt::Guard(..) => None,
        }
    }

    /// Names read, the defined name's own earlier value (in `n op= e`) excluded.
    fn reads(&self) -> Vec<String> {
        let mut out = Vec::new();
        match self {
            Stmt::Let(_, e) => e.uses(&mut out),
            Stmt::Mut(n, e, ops) => {
                let mut inner = Vec::new();
                for op in ops {
                    match op {
                        MutOp::Plain(_, x) => x.uses(&mut inner),
                        MutOp::Branch(arms, _, x) => {
                            for (c, _, a) in arms {
                                c.uses(&mut inner);
                                a.uses(&mut inner);
                            }
                            x.uses(&mut inner);
                        }
                    }
                }
                inner.retain(|r| r != n);
                out = inner;
                e.uses(&mut out);
            }
            Stmt::LetIf(_, arms, e) => {
                for (c, a) in arms {
                    c.uses(&mut out);
                    a.uses(&mut out);
                }
                e.uses(&mut out);
            }
            Stmt::Guard(c, e) => {
                c.uses(&mut out);
                e.uses(&mut out);
            }
        }
        out
    }

    fn exprs(&self) -> Vec<&E> {
        let mut out = Vec::new();
        match self {
            Stmt::Let(_, e) => out.push(e),
            Stmt::Mut(_, e, ops) => {
                out.push(e);
                for op in ops {
                    match op {
                        MutOp::Plain(_, x) => out.push(x),
                        MutOp::Branch(arms, _, x) => {
                            for (c, _, a) in arms {
                                out.extend([&c.lhs, &c.rhs, a]);
                            }
                            out.push(x);
                        }
                    }
                }
            }
            Stmt::LetIf(_, arms, e) => {
                for (c, a) in arms {
                    out.extend([&c.lhs, &c.rhs, a]);
                }
                out.push(e);
            }
            Stmt::Guard(c, e) => out.extend([&c.lhs, &c.rhs, e]),
        }
        out
    }
}

struct Func {
    params: Vec<String>,
    stmts: Vec<Stmt>,
    ret: E,
}

fn exec(stmts: &[Stmt], env: &mut HashMap<String, f64>) -> Result<Option<f64>, Reject> {
    for s in stmts {
        match s {
            Stmt::Let(n, e) => {
                let v = eval(e, env)?;
                env.insert(n.clone(), v);
            }
            Stmt::Mut(n, e, ops) => {
                let v = eval(e, env)?;
                env.insert(n.clone(), v);
                for op in ops {
                    let (op, rhs) = match op {
                        MutOp::Plain(op, rhs) => (*op, rhs),
                        MutOp::Branch(arms, op, rhs) => {
                            let mut taken = (*op, rhs);
                            for (c, op, rhs) in arms {
                                if c.decide(env)? {
                                    taken = (*op, rhs);
                                    break;
                                }
                            }
                            taken
                        }
                    };
                    let r = eval(rhs, env)?;
                    let v = op.apply(env[n], r)?;
                    env.insert(n.clone(), v);
                }
            }
            Stmt::LetIf(n, arms, e) => {
                let mut taken = e;
                for (c, a) in arms {
                    if c.decide(env)? {
                        taken = a;
                        break;
                    }
                }
                let v = eval(taken, env)?;
                env.insert(n.clone(), v);
            }
            Stmt::Guard(c, e) => {
                if c.decide(env)? {
                    return eval(e, env).map(Some);
                }
            }
        }
    }
    Ok(None)
}

/// The function's value at a point.
fn run(f: &Func, point: &[f64]) -> Result<f64, Reject> {
    let mut env: HashMap<String, f64> = HashMap::new();
    for (p, &v) in f.params.iter().zip(point) {
        env.insert(p.clone(), v);
    }
    if let Some(v) = exec(&f.stmts, &mut env)? {
        return Ok(v);
    }
    eval(&f.ret, &env)
}

type Run<'a> = &'a dyn Fn(&[f64]) -> Result<f64, Reject>;

/// The same step as the test's central difference.
fn fd(f: Run, point: &[f64], i: usize, scale: f64) -> Result<f64, Reject> {
    let h = scale * point[i].abs().max(1.0);
    let mut p = point.to_vec();
    p[i] = point[i] + h;
    let hi = f(&p)?;
    p[i] = point[i] - h;
    let lo = f(&p)?;
    Ok((hi - lo) / (2.0 * h))
}

/// Second central difference in coordinate `i`.
fn fd2(f: Run, point: &[f64], i: usize, scale: f64) -> Result<f64, Reject> {
    let h = scale * point[i].abs().max(1.0);
    let mut p = point.to_vec();
    let mid = f(&p)?;
    p[i] = point[i] + h;
    let hi = f(&p)?;
    p[i] = point[i] - h;
    let lo = f(&p)?;
    Ok((hi - 2.0 * mid + lo) / (h * h))
}

/// A point is usable when the function is defined around it and smooth there: finite
/// differences with steps 1e-6 and 1e-4 agree well within the test's tolerance (and, for
/// `second`, second differences with steps 1e-3 and 2e-3 agree to 1e-3).
fn usable(f: Run, point: &[f64], second: bool) -> bool {
    if f(point).is_err() {
        return false;
    }
    let first = (0..point.len()).all(|i| match (fd(f, point, i, 1e-6), fd(f, point, i, 1e-4)) {
        (Ok(a), Ok(b)) => a.abs() <= 1e3 && (a - b).abs() <= 1e-6 + 1e-5 * b.abs(),
        _ => false,
    });
    first
        && (!second
            || (0..point.len()).all(|i| match (fd2(f, point, i, 1e-3), fd2(f, point, i, 2e-3)) {
                (Ok(a), Ok(b)) => a.abs() <= 1e4 && (a - b).abs() <= 1e-3 * (1.0 + b.abs()),
                _ => false,
            }))
}

/// Which expressions the generator may build.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Scalar functions: everything.
    Scalar,
    /// Loop bodies: everything but helper calls (kept small).
    Loop,
    /// Element-wise tensor expressions: operators, `**` with literal exponents, and the unary
    /// methods below.
    Tensor,
}

const SMOOTH: &[&str] = &[
    "sin", "cos", "exp", "tanh", "sigmoid", "softplus", "atan", "exp2", "exp_m1", "sinh", "cosh",
    "asinh", "tan",
];
const TENSOR_SMOOTH: &[&str] = &["sin", "cos", "exp", "tanh", "sigmoid", "softplus", "atan"];

struct Gen {
    rng: Rng,
    mode: Mode,
}

impl Gen {
    /// A name to read: a parameter or an earlier `let`.
    fn leaf(&mut self, scope: &[String]) -> E {
        match self.rng.below(10) {
            0 | 1 => E::Int(self.rng.below(4) as i64 + 2),
            2 => E::Float(self.rng.pick(&["0.5", "1.5", "0.25", "2.5"])),
            _ => E::Var(scope[self.rng.below(scope.len())].clone()),
        }
    }

    /// An expression that reads at least one name: a method receiver, a power base, or a
    /// statement's value. (Rust leaves a constant-only `let c = 2.0;` an ambiguous `{float}`
    /// on which `c.cos()` does not compile, with or without the macro.)
    fn non_literal(&mut self, depth: u32, scope: &[String]) -> E {
        loop {
            let e = self.expr(depth, scope);
            if !e.reads().is_empty() {
                return e;
            }
        }
    }

    /// An expression whose value is positive by construction (and away from 0 after the
    /// generator's checks): `e*e + c`, `e.exp()`, `e.cos() + 2`, `e.softplus() + 1`, `e**2 + c`.
    fn positive(&mut self, depth: u32, scope: &[String]) -> E {
        let d = depth.saturating_sub(1);
        let e = self.non_literal(d, scope);
        let c = E::Float(self.rng.pick(&["1.0", "0.5", "2.0"]));
        let c_int = E::Int(self.rng.below(3) as i64 + 1);
        match self.rng.below(5) {
            0 => E::Bin(
                Op::Add,
                Box::new(E::Bin(Op::Mul, Box::new(e.clone()), Box::new(e))),
                Box::new(c),
            ),
            1 => E::Method("exp", Box::new(e)),
            2 => E::Bin(
                Op::Add,
                Box::new(E::Method("cos", Box::new(e))),
                Box::new(E::Int(2)),
            ),
            3 => E::Bin(
                Op::Add,
                Box::new(E::Method("softplus", Box::new(e))),
                Box::new(c_int),
            ),
            _ => E::Bin(
                Op::Add,
                Box::new(E::Pow(Box::new(e), Expon::Int(2))),
                Box::new(c),
            ),
        }
    }

    /// An expression in (-0.95, 0.95): `0.9*e.tanh()` or `e.sin()/2`.
    fn bounded(&mut self, depth: u32, scope: &[String]) -> E {
        let e = self.non_literal(depth.saturating_sub(1), scope);
        if self.rng.chance(0.5) {
            E::Bin(
                Op::Mul,
                Box::new(E::Float("0.9")),
                Box::new(E::Method("tanh", Box::new(e))),
            )
        } else {
            E::Bin(
                Op::Div,
                Box::new(E::Method("sin", Box::new(e))),
                Box::new(E::Int(2)),
            )
        }
    }

    fn expr(&mut self, depth: u32, scope: &[String]) -> E {
        if depth == 0 || self.rng.chance(0.2) {
            return self.leaf(scope);
        }
        let d = depth - 1;
        loop {
            let arm = self.rng.below(22);
            let tensor = self.mode == Mode::Tensor;
            if tensor && matches!(arm, 9 | 15 | 17..=21) {
                continue;
            }
            if self.mode != Mode::Scalar && arm == 20 {
                continue;
            }
            return match arm {
                0..=4 => {
                    let op = self.rng.pick(&[Op::Add, Op::Sub, Op::Mul, Op::Div]);
                    let a = self.expr(d, scope);
                    let b = if op == Op::Div {
                        self.positive(d, scope)
                    } else {
                        self.expr(d, scope)
                    };
                    E::Bin(op, Box::new(a), Box::new(b))
                }
                5 => {
                    let a = self.non_literal(d, scope);
                    match a {
                        E::Neg(_) => a,
                        a => E::Neg(Box::new(a)),
                    }
                }
                6 | 7 => {
                    let k = self.rng.pick(&[2, 2, 3, 4, -1, -2, 1, 0]);
                    let base = if k < 0 || (self.rng.chance(0.3) && !tensor) {
                        // Sometimes a sum as the base: `(a + b)**3`.
                        let a = self.positive(d, scope);
                        let b = self.leaf(scope);
                        if k < 0 {
                            a
                        } else {
                            E::Bin(Op::Add, Box::new(a), Box::new(b))
                        }
                    } else {
                        self.non_literal(d, scope)
                    };
                    E::Pow(Box::new(base), Expon::Int(k))
                }
                8 => {
                    let c = self.rng.pick(&["0.5", "1.5", "2.5", "-0.5", "0.3"]);
                    E::Pow(Box::new(self.positive(d, scope)), Expon::Float(c))
                }
                9 => {
                    let base = self.positive(d, scope);
                    let mut x = self.non_literal(d.min(1), scope);
                    if self.rng.chance(0.3) {
                        // A power in the exponent: `x**y**2`, right-associative.
                        x = E::Pow(Box::new(x), Expon::Int(2));
                    } else if self.rng.chance(0.3) {
                        x = E::Neg(Box::new(x));
                    }
                    E::Pow(Box::new(base), Expon::Expr(Box::new(x)))
                }
                10 => {
                    let base = self.rng.pick(&["2", "0.5", "3", "1.5"]);
                    let mut x = self.non_literal(d.min(1), scope);
                    if self.rng.chance(0.3) && !tensor {
                        // A power in the exponent: `2**x**2`, right-associative.
                        x = E::Pow(Box::new(x), Expon::Int(2));
                    }
                    E::LitPow(base, Box::new(x))
                }
                11 => {
                    // `-a**k`: a unary minus on the left of `**` applies after the power.
                    let a = self.non_literal(d, scope);
                    E::Neg(Box::new(E::Pow(
                        Box::new(a),
                        Expon::Int(self.rng.pick(&[2, 3])),
                    )))
                }
                12 | 13 => {
                    let m = self.rng.pick(if tensor { TENSOR_SMOOTH } else { SMOOTH });
                    E::Method(m, Box::new(self.non_literal(d, scope)))
                }
                14 => {
                    let m = if tensor {
                        self.rng.pick(&["sqrt", "ln"])
                    } else {
                        self.rng.pick(&[
                            "sqrt", "ln", "log2", "log10", "ln_1p", "cbrt", "recip", "acosh",
                        ])
                    };
                    let mut a = self.positive(d, scope);
                    if m == "acosh" {
                        a = E::Bin(Op::Add, Box::new(a), Box::new(E::Int(1)));
                    }
                    E::Method(m, Box::new(a))
                }
                15 => {
                    let m = self.rng.pick(&["asin", "acos", "atanh"]);
                    E::Method(m, Box::new(self.bounded(d, scope)))
                }
                16 => {
                    let m = if tensor {
                        self.rng.pick(&["abs", "relu"])
                    } else {
                        self.rng.pick(&[
                            "abs", "relu", "signum", "floor", "ceil", "round", "trunc", "abs",
                            "relu",
                        ])
                    };
                    E::Method(m, Box::new(self.non_literal(d, scope)))
                }
                17 | 18 => self.method2(d, scope),
                19 => {
                    let k = self.rng.pick(&[2, 3, -1, -2, 0, 1, 4]);
                    let a = if k < 0 {
                        self.positive(d, scope)
                    } else {
                        self.non_literal(d, scope)
                    };
                    E::Powi(Box::new(a), k)
                }
                20 => {
                    let (f, arity) = self.rng.pick(HELPERS);
                    let mut args = vec![self.non_literal(d.min(1), scope)];
                    if arity == 2 {
                        if f == "helper_scaled" {
                            // The second parameter is not differentiated (`wrt(a)`): a constant.
                            args.push(self.rng.pick(&[
                                E::Float("0.5"),
                                E::Float("1.5"),
                                E::Int(2),
                                E::Int(3),
                            ]));
                        } else {
                            args.push(self.expr(d.min(1), scope));
                        }
                    }
                    E::Call(f, args)
                }
                _ => {
                    let m = self.rng.pick(&["sin", "exp", "tanh"]);
                    E::Method(m, Box::new(self.non_literal(d, scope)))
                }
            };
        }
    }

    /// A method with arguments.
    fn method2(&mut self, d: u32, scope: &[String]) -> E {
        let m = self.rng.pick(&[
            "powf", "log", "atan2", "max", "min", "hypot", "mul_add", "clamp",
        ]);
        let (recv, args) = match m {
            "powf" => {
                let x = if self.rng.chance(0.5) {
                    self.non_literal(d.min(1), scope)
                } else {
                    E::Float(self.rng.pick(&["0.5", "1.5", "2.5"]))
                };
                (self.positive(d, scope), vec![x])
            }
            "log" => {
                let b = if self.rng.chance(0.5) {
                    self.positive(d.min(1), scope)
                } else {
                    self.rng
                        .pick(&[E::Int(2), E::Int(10), E::Float("0.5"), E::Float("3.0")])
                };
                (self.positive(d, scope), vec![b])
            }
            "atan2" | "hypot" => {
                let x = self.non_literal(d, scope);
                (self.non_literal(d, scope), vec![x])
            }
            "max" | "min" => {
                let x = self.expr(d, scope);
                (self.non_literal(d, scope), vec![x])
            }
            "mul_add" => {
                let (a, b) = (self.expr(d.min(1), scope), self.expr(d.min(1), scope));
                (self.non_literal(d, scope), vec![a, b])
            }
            _ => {
                let neg = |e: E| E::Neg(Box::new(e));
                let (lo, hi) = self.rng.pick(&[
                    (neg(E::Int(1)), E::Int(1)),
                    (neg(E::Float("0.5")), E::Float("1.5")),
                    (E::Int(0), E::Int(2)),
                ]);
                (self.non_literal(d, scope), vec![lo, hi])
            }
        };
        E::Method2(m, Box::new(recv), args)
    }

    fn cond(&mut self, scope: &[String]) -> Cond {
        let lhs = E::Var(scope[self.rng.below(scope.len())].clone());
        let rhs = if self.rng.chance(0.5) {
            E::Var(scope[self.rng.below(scope.len())].clone())
        } else {
            E::Float(self.rng.pick(&["0.5", "0.0", "1.0", "0.25", "-0.5"]))
        };
        let cmp = self.rng.pick(&[Cmp::Lt, Cmp::Le, Cmp::Gt, Cmp::Ge]);
        Cond { lhs, cmp, rhs }
    }

    fn compound(&mut self, scope: &[String]) -> (Op, E) {
        let op = self.rng.pick(&[Op::Add, Op::Sub, Op::Mul, Op::Div]);
        let e = if op == Op::Div {
            self.positive(1, scope)
        } else {
            self.expr(1, scope)
        };
        (op, e)
    }

    fn func(&mut self, arity: usize) -> Func {
        let params: Vec<String> = ["x", "y", "z"][..arity]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut scope = params.clone();
        let mut stmts = Vec::new();
        let mut next = 0;
        for _ in 0..self.rng.below(5) {
            let fresh = ["a", "b", "c", "d", "e"][next].to_string();
            match self.rng.below(7) {
                0 | 1 => {
                    let e = self.non_literal(2, &scope);
                    // Sometimes shadow an earlier let, reading it: `let a = a * e;`.
                    let lets: Vec<&String> = scope[arity..].iter().collect();
                    let (name, e) = if !lets.is_empty() && self.rng.chance(0.4) {
                        let name = lets[self.rng.below(lets.len())].clone();
                        let op = self.rng.pick(&[Op::Add, Op::Sub, Op::Mul]);
                        let e = E::Bin(op, Box::new(E::Var(name.clone())), Box::new(e));
                        (name, e)
                    } else {
                        next += 1;
                        (fresh, e)
                    };
                    stmts.push(Stmt::Let(name.clone(), e));
                    if !scope.contains(&name) {
                        scope.push(name);
                    }
                }
                2 | 3 => {
                    let init = self.non_literal(2, &scope);
                    // The updates may read the variable itself: `a *= a.sin()`.
                    let mut inner = scope.clone();
                    inner.push(fresh.clone());
                    let ops = (0..self.rng.below(3) + 1)
                        .map(|_| {
                            if self.rng.chance(0.3) {
                                let arms = (0..self.rng.below(2) + 1)
                                    .map(|_| {
                                        let c = self.cond(&inner);
                                        let (op, e) = self.compound(&inner);
                                        (c, op, e)
                                    })
                                    .collect();
                                let (op, e) = self.compound(&inner);
                                MutOp::Branch(arms, op, e)
                            } else {
                                let (op, e) = self.compound(&inner);
                                MutOp::Plain(op, e)
                            }
                        })
                        .collect();
                    next += 1;
                    stmts.push(Stmt::Mut(fresh.clone(), init, ops));
                    scope.push(fresh);
                }
                4 | 5 => {
                    let arms = (0..self.rng.below(2) + 1)
                        .map(|_| (self.cond(&scope), self.non_literal(2, &scope)))
                        .collect();
                    let e = self.non_literal(2, &scope);
                    next += 1;
                    stmts.push(Stmt::LetIf(fresh.clone(), arms, e));
                    scope.push(fresh);
                }
                _ => {
                    let c = self.cond(&scope);
                    stmts.push(Stmt::Guard(c, self.non_literal(2, &scope)));
                }
            }
        }
        let mut ret = loop {
            let e = self.non_literal(3, &scope);
            if !matches!(e, E::Var(_)) {
                break e;
            }
        };
        // Every parameter and binding is read after its definition, so rustc has nothing
        // to warn about: append the unread ones to the result.
        let mut read = ret.reads();
        for s in stmts.iter().rev() {
            if let Some(n) = s.defines() {
                if !read.contains(n) {
                    ret = E::Bin(Op::Add, Box::new(ret), Box::new(E::Var(n.clone())));
                    read.push(n.clone());
                }
                read.retain(|r| r != n);
            }
            read.extend(s.reads());
        }
        for p in &params {
            if !read.contains(p) {
                ret = E::Bin(Op::Add, Box::new(ret), Box::new(E::Var(p.clone())));
            }
        }
        Func { params, stmts, ret }
    }
}

fn cond_src(p: &mut Printer, c: &Cond) -> String {
    format!("{} {} {}", p.bare(&c.lhs), c.cmp.text(), p.bare(&c.rhs))
}

fn cond_ref(c: &Cond) -> String {
    format!(
        "{} {} {}",
        reference(&c.lhs),
        c.cmp.text(),
        reference(&c.rhs)
    )
}

/// `if c1 { A } else if c2 { B } else { C }` from printed arms.
fn if_chain(arms: &[(String, String)], last: &str) -> String {
    let mut out = String::new();
    for (i, (c, a)) in arms.iter().enumerate() {
        if i > 0 {
            out.push_str(" else ");
        }
        write!(out, "if {c} {{ {a} }}").unwrap();
    }
    write!(out, " else {{ {last} }}").unwrap();
    out
}

/// The statements twice: differentiable syntax and plain Rust, indented by `indent`.
fn print_stmts(stmts: &[Stmt], p: &mut Printer, indent: &str) -> (String, String) {
    let mut src = String::new();
    let mut plain = String::new();
    for s in stmts {
        match s {
            Stmt::Let(n, e) => {
                writeln!(src, "{indent}let {n} = {};", p.bare(e)).unwrap();
                writeln!(plain, "{indent}let {n} = {};", reference(e)).unwrap();
            }
            Stmt::Mut(n, e, ops) => {
                writeln!(src, "{indent}let mut {n} = {};", p.bare(e)).unwrap();
                writeln!(plain, "{indent}let mut {n} = {};", reference(e)).unwrap();
                for op in ops {
                    match op {
                        MutOp::Plain(op, rhs) => {
                            let op = op.text();
                            writeln!(src, "{indent}{n} {op}= {};", p.bare(rhs)).unwrap();
                            writeln!(plain, "{indent}{n} {op}= {};", reference(rhs)).unwrap();
                        }
                        MutOp::Branch(arms, op, rhs) => {
                            let mut s_arms = Vec::new();
                            let mut p_arms = Vec::new();
                            for (c, op, e) in arms {
                                let op = op.text();
                                s_arms.push((cond_src(p, c), format!("{n} {op}= {};", p.bare(e))));
                                p_arms.push((cond_ref(c), format!("{n} {op}= {};", reference(e))));
                            }
                            let op = op.text();
                            let s_last = format!("{n} {op}= {};", p.bare(rhs));
                            let p_last = format!("{n} {op}= {};", reference(rhs));
                            writeln!(src, "{indent}{}", if_chain(&s_arms, &s_last)).unwrap();
                            writeln!(plain, "{indent}{}", if_chain(&p_arms, &p_last)).unwrap();
                        }
                    }
                }
            }
            Stmt::LetIf(n, arms, e) => {
                let s_arms: Vec<(String, String)> = arms
                    .iter()
                    .map(|(c, a)| (cond_src(p, c), p.bare(a)))
                    .collect();
                let s_last = p.bare(e);
                writeln!(src, "{indent}let {n} = {};", if_chain(&s_arms, &s_last)).unwrap();
                let p_arms: Vec<(String, String)> = arms
                    .iter()
                    .map(|(c, a)| (cond_ref(c), reference(a)))
                    .collect();
                let p_last = reference(e);
                writeln!(plain, "{indent}let {n} = {};", if_chain(&p_arms, &p_last)).unwrap();
            }
            Stmt::Guard(c, e) => {
                let (c_src, e_src) = (cond_src(p, c), p.bare(e));
                writeln!(src, "{indent}if {c_src} {{ return {e_src}; }}").unwrap();
                writeln!(
                    plain,
                    "{indent}if {} {{ return {}; }}",
                    cond_ref(c),
                    reference(e)
                )
                .unwrap();
            }
        }
    }
    (src, plain)
}

/// The syntax features of a statement list, for the coverage table.
fn stmt_features(stmts: &[Stmt], out: &mut Vec<String>) {
    let mut defined: Vec<&String> = Vec::new();
    for s in stmts {
        match s {
            Stmt::Let(n, _) => out.push(if defined.contains(&n) {
                "let shadowing an earlier let".into()
            } else {
                "let".into()
            }),
            Stmt::Mut(_, _, ops) => {
                out.push("let mut".into());
                for op in ops {
                    match op {
                        MutOp::Plain(op, _) => out.push(format!("compound {}=", op.text())),
                        MutOp::Branch(arms, op, _) => {
                            out.push(format!("compound {}=", op.text()));
                            out.push("if/else statement assigning a let mut".into());
                            if arms.len() > 1 {
                                out.push("else if".into());
                            }
                        }
                    }
                }
            }
            Stmt::LetIf(_, arms, _) => {
                out.push("if/else expression".into());
                if arms.len() > 1 {
                    out.push("else if".into());
                }
            }
            Stmt::Guard(..) => out.push("early return in if".into()),
        }
        for e in s.exprs() {
            e.features(out);
        }
        if let Some(n) = s.defines() {
            defined.push(n);
        }
    }
}

/// Counts every feature once per function.
fn tally(coverage: &mut BTreeMap<String, usize>, mut features: Vec<String>) {
    features.sort();
    features.dedup();
    for f in features {
        *coverage.entry(f).or_default() += 1;
    }
}

/// Spelling of `**` in a printed body.
fn spelling_features(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in src.match_indices("**") {
        let before = src[..i].chars().last().unwrap_or(' ');
        let after = src[i + 2..].chars().next().unwrap_or(' ');
        out.push(
            match (before == ' ', after == ' ') {
                (false, false) => "** spelled x**2",
                (true, true) => "** spelled x ** 2",
                (false, true) => "** spelled x** 2",
                (true, false) => "** spelled x **2",
            }
            .to_string(),
        );
    }
    out
}

fn points_text(points: &[Vec<f64>]) -> String {
    let pts: Vec<String> = points
        .iter()
        .map(|p| {
            let xs: Vec<String> = p.iter().map(|v| format!("{v:?}")).collect();
            format!("&[{}]", xs.join(", "))
        })
        .collect();
    pts.join(", ")
}

// ---------------------------------------------------------------------------------------------
// Scalar functions.

fn scalar_corpus(gen: &mut Gen, coverage: &mut BTreeMap<String, usize>) -> (String, String) {
    let mut items = String::new();
    let mut table = String::new();
    let mut made = 0;
    while made < COUNT {
        let arity = made % 3 + 1;
        let f = gen.func(arity);
        let runner = |p: &[f64]| run(&f, p);
        let mut points: Vec<Vec<f64>> = Vec::new();
        for _ in 0..40 {
            if points.len() == POINTS {
                break;
            }
            let p: Vec<f64> = (0..arity).map(|_| gen.rng.coord()).collect();
            if usable(&runner, &p, true) {
                points.push(p);
            }
        }
        if points.len() < POINTS {
            continue;
        }
        let name = format!("r{made:03}");
        let mut printer = Printer { rng: &mut gen.rng };
        let (mut src, mut plain) = print_stmts(&f.stmts, &mut printer, "    ");
        writeln!(src, "    {}", printer.bare(&f.ret)).unwrap();
        writeln!(plain, "    {}", reference(&f.ret)).unwrap();
        let mut features = spelling_features(&src);
        stmt_features(&f.stmts, &mut features);
        f.ret.features(&mut features);
        features.push(format!("scalar, {arity} variable(s)"));
        tally(coverage, features);

        let params: Vec<String> = f.params.iter().map(|p| format!("{p}: f64")).collect();
        let params = params.join(", ");
        writeln!(
            items,
            "#[differentiable]\nfn {name}({params}) -> f64 {{\n{src}}}\n"
        )
        .unwrap();
        writeln!(
            items,
            "{REF_ALLOW}\nfn {name}_ref({params}) -> f64 {{\n{plain}}}\n"
        )
        .unwrap();

        let args: Vec<String> = (0..arity).map(|i| format!("v[{i}]")).collect();
        let args = args.join(", ");
        let (to_vec, hess) = if arity == 1 {
            ("vec![g]".to_string(), "vec![vec![h]]".to_string())
        } else {
            let parts: Vec<String> = (0..arity).map(|i| format!("g.{i}")).collect();
            (
                format!("vec![{}]", parts.join(", ")),
                "h.iter().map(|row| row.to_vec()).collect()".to_string(),
            )
        };
        writeln!(
            table,
            "    Case {{\n        name: {name:?},\n        src: {src:?},\n        \
             points: &[{}],\n        f: |v| {name}({args}),\n        reference: |v| {name}_ref({args}),\n        \
             grad: |v| {{\n            let g = {name}_grad({args});\n            {to_vec}\n        }},\n        \
             value_and_grad: |v| {{\n            let (value, g) = {name}_value_and_grad({args});\n            \
             (value, {to_vec})\n        }},\n        \
             hessian: |v| {{\n            let h = {name}_hessian({args});\n            {hess}\n        }},\n    }},",
            points_text(&points),
        )
        .unwrap();
        made += 1;
    }
    (items, table)
}

/// The lints the plain-Rust transcriptions trip on purpose: they mirror the random body term
/// by term, so every operation is parenthesised (`unused_parens`, `double_parens`,
/// `precedence`), literals are spelled `2.0_f64` (`neg_multiply`, `unnecessary_cast`), loops
/// index as the differentiable syntax does (`needless_range_loop`), and random bodies contain
/// degenerate forms the macro must handle too: `x - x`, `y < y` (`eq_op`), `b += b + x`
/// (`misrefactored_assign_op`), equal branches (`if_same_then_else`), `let t = ..; t` in a
/// branch (`let_and_return`).
const REF_ALLOW: &str = "#[allow(unused_parens, clippy::double_parens, clippy::precedence, \
clippy::needless_range_loop, clippy::neg_multiply, clippy::unnecessary_cast, clippy::eq_op, \
clippy::misrefactored_assign_op, clippy::if_same_then_else, clippy::let_and_return)]";

// ---------------------------------------------------------------------------------------------
// Loop functions.

#[derive(Clone, Copy, PartialEq)]
enum Range {
    /// `0..n`: `x[i]`.
    All,
    /// `0..n - 1`: `x[i]`, `x[i + 1]`.
    Pairs,
    /// `1..n`: `x[i]`, `x[i - 1]`.
    Back,
    /// `0..=n - 1`: `x[i]`.
    Incl,
    /// `0..n` then `0..=i`: `x[i]`, `x[j]`.
    Nested,
}

#[derive(Clone)]
enum LStmt {
    /// `let t = e;`
    Let(String, E),
    /// `s op= e;`
    Update(String, Op, E),
    /// `if c { s op= e; } else { q op= e; }`
    IfElse(Cond, (String, Op, E), (String, Op, E)),
    /// `prev = e;` (carried state)
    Set(String, E),
}

struct LoopFunc {
    /// `w: [f64; 3]` (`Some(false)`), `w: &[f64; 3]` (`Some(true)`), or `x: &[f64]` (`None`).
    array: Option<bool>,
    /// A scalar parameter `y`: `Some(true)` when passed through as data with `wrt(x)`.
    y: Option<bool>,
    pre: Vec<(String, E)>,
    accs: Vec<(String, E)>,
    range: Range,
    body: Vec<LStmt>,
    ret: E,
}

impl LoopFunc {
    fn xname(&self) -> &'static str {
        if self.array.is_some() {
            "w"
        } else {
            "x"
        }
    }

    fn len_text(&self) -> &'static str {
        if self.array.is_some() {
            "3"
        } else {
            "x.len()"
        }
    }

    fn elems(&self) -> Vec<String> {
        let x = self.xname();
        let names: &[&str] = match self.range {
            Range::All | Range::Incl => &["i"],
            Range::Pairs => &["i", "i + 1"],
            Range::Back => &["i", "i - 1"],
            Range::Nested => &["i", "j"],
        };
        names.iter().map(|i| format!("{x}[{i}]")).collect()
    }

    fn outer(&self) -> Vec<String> {
        let x = self.xname();
        let k = if self.array.is_some() { 3 } else { 2 };
        let mut out: Vec<String> = (0..k).map(|i| format!("{x}[{i}]")).collect();
        if self.y.is_some() {
            out.push("y".into());
        }
        out
    }

    fn header(&self) -> String {
        let n = self.len_text();
        match self.range {
            Range::All | Range::Nested => format!("for i in 0..{n}"),
            Range::Pairs => format!("for i in 0..{n} - 1"),
            Range::Back => format!("for i in 1..{n}"),
            Range::Incl => format!("for i in 0..={n} - 1"),
        }
    }

    /// (i, j) of every iteration.
    fn iterations(&self, n: usize) -> Vec<(usize, usize)> {
        match self.range {
            Range::All => (0..n).map(|i| (i, 0)).collect(),
            Range::Pairs => (0..n - 1).map(|i| (i, 0)).collect(),
            Range::Back => (1..n).map(|i| (i, 0)).collect(),
            Range::Incl => (0..=n - 1).map(|i| (i, 0)).collect(),
            Range::Nested => (0..n).flat_map(|i| (0..=i).map(move |j| (i, j))).collect(),
        }
    }
}

fn run_loop(f: &LoopFunc, point: &[f64]) -> Result<f64, Reject> {
    let (xs, y) = if f.y.is_some() {
        (&point[..point.len() - 1], Some(point[point.len() - 1]))
    } else {
        (point, None)
    };
    let x = f.xname();
    let mut env: HashMap<String, f64> = HashMap::new();
    let k = if f.array.is_some() { 3 } else { 2 };
    for (i, &v) in xs.iter().enumerate().take(k) {
        env.insert(format!("{x}[{i}]"), v);
    }
    if let Some(y) = y {
        env.insert("y".into(), y);
    }
    for (n, e) in f.pre.iter().chain(&f.accs) {
        let v = eval(e, &env)?;
        env.insert(n.clone(), v);
    }
    let update = |env: &mut HashMap<String, f64>, n: &String, op: Op, e: &E| {
        let r = eval(e, env)?;
        let v = op.apply(env[n], r)?;
        env.insert(n.clone(), v);
        Ok::<(), Reject>(())
    };
    for (i, j) in f.iterations(xs.len()) {
        env.insert(format!("{x}[i]"), xs[i]);
        env.insert("(i as f64)".into(), i as f64);
        match f.range {
            Range::Pairs => {
                env.insert(format!("{x}[i + 1]"), xs[i + 1]);
            }
            Range::Back => {
                env.insert(format!("{x}[i - 1]"), xs[i - 1]);
            }
            Range::Nested => {
                env.insert(format!("{x}[j]"), xs[j]);
            }
            _ => {}
        }
        for s in &f.body {
            match s {
                LStmt::Let(n, e) => {
                    let v = eval(e, &env)?;
                    env.insert(n.clone(), v);
                }
                LStmt::Update(n, op, e) => update(&mut env, n, *op, e)?,
                LStmt::IfElse(c, a, b) => {
                    let (n, op, e) = if c.decide(&env)? { a } else { b };
                    update(&mut env, n, *op, e)?;
                }
                LStmt::Set(n, e) => {
                    let v = eval(e, &env)?;
                    env.insert(n.clone(), v);
                }
            }
        }
    }
    eval(&f.ret, &env)
}

impl Gen {
    /// An expression reading one of `must` (retrying a few times, else `must[0]` itself).
    fn reading(&mut self, depth: u32, scope: &[String], must: &[String]) -> E {
        for _ in 0..20 {
            let e = self.non_literal(depth, scope);
            if e.reads().iter().any(|r| must.contains(r)) {
                return e;
            }
        }
        E::Var(must[0].clone())
    }

    fn loop_update(&mut self, scope: &[String]) -> (Op, E) {
        let op = self
            .rng
            .pick(&[Op::Add, Op::Add, Op::Sub, Op::Mul, Op::Div]);
        let e = match op {
            Op::Div => self.positive(2, scope),
            // A factor in (0, 2) keeps products in range: `s *= 1 + e.tanh()`.
            Op::Mul => E::Bin(
                Op::Add,
                Box::new(E::Int(1)),
                Box::new(E::Method("tanh", Box::new(self.non_literal(1, scope)))),
            ),
            _ => self.non_literal(2, scope),
        };
        (op, e)
    }

    fn loop_func(&mut self) -> LoopFunc {
        let array = match self.rng.below(4) {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        };
        let y = match self.rng.below(4) {
            0 => Some(true),
            1 | 2 => Some(false),
            _ => None,
        };
        let range = self.rng.pick(&[
            Range::All,
            Range::All,
            Range::Pairs,
            Range::Back,
            Range::Incl,
            Range::Nested,
        ]);
        let mut f = LoopFunc {
            array,
            y,
            pre: Vec::new(),
            accs: Vec::new(),
            range,
            body: Vec::new(),
            ret: E::Int(0),
        };
        let mut outer = f.outer();
        if self.rng.chance(0.4) {
            let e = self.non_literal(2, &outer);
            f.pre.push(("u".into(), e));
            outer.push("u".into());
        }
        let n_accs = self.rng.below(2) + 1;
        let mut accs: Vec<String> = Vec::new();
        for name in ["s", "q"].iter().take(n_accs) {
            // A literal start is typed (`0.0_f64`): the body may call methods on it.
            let init = if self.rng.chance(0.3) {
                E::Float(self.rng.pick(&["0.0_f64", "1.0_f64", "0.5_f64"]))
            } else {
                self.non_literal(1, &outer)
            };
            f.accs.push((name.to_string(), init));
            accs.push(name.to_string());
        }
        let carried = range != Range::Nested && self.rng.chance(0.4);
        if carried {
            let init = E::Var(format!("{}[0]", f.xname()));
            f.accs.push(("prev".into(), init));
        }
        let elems = f.elems();
        let mut scope: Vec<String> = elems.clone();
        scope.extend(accs.iter().cloned());
        if carried {
            scope.push("prev".into());
        }
        if f.y.is_some() {
            scope.push("y".into());
        }
        if self.rng.chance(0.2) {
            scope.push("(i as f64)".into());
        }
        // What the first update must read, so that every loop name is used.
        let mut must = if range == Range::Nested {
            vec![elems[1].clone()]
        } else {
            elems.clone()
        };
        if self.rng.chance(0.3) {
            let e = self.reading(2, &scope, &must);
            f.body.push(LStmt::Let("t".into(), e));
            scope.push("t".into());
            must = vec!["t".into()];
        }
        // Each accumulator is updated at least once; the first update reads an element.
        for (k, acc) in accs.iter().enumerate() {
            let (op, mut e) = self.loop_update(&scope);
            if k == 0 && !e.reads().iter().any(|r| must.contains(r)) {
                e = E::Bin(Op::Mul, Box::new(e), Box::new(E::Var(must[0].clone())));
            }
            if self.rng.chance(0.3) {
                let c = Cond {
                    lhs: E::Var(elems[self.rng.below(elems.len())].clone()),
                    cmp: self.rng.pick(&[Cmp::Lt, Cmp::Le, Cmp::Gt, Cmp::Ge]),
                    rhs: if self.rng.chance(0.6) {
                        E::Float(self.rng.pick(&["0.5", "0.0", "-0.5", "1.0"]))
                    } else {
                        E::Var(scope[self.rng.below(scope.len())].clone())
                    },
                };
                let other = accs[self.rng.below(accs.len())].clone();
                let (op2, e2) = self.loop_update(&scope);
                f.body
                    .push(LStmt::IfElse(c, (acc.clone(), op, e), (other, op2, e2)));
            } else {
                f.body.push(LStmt::Update(acc.clone(), op, e));
            }
        }
        if carried {
            let e = if self.rng.chance(0.5) {
                E::Var(elems[0].clone())
            } else {
                // A recurrence: `prev = 0.5 * prev + x[i].sin()`.
                let x = self.reading(1, &scope, &elems);
                E::Bin(
                    Op::Add,
                    Box::new(E::Bin(
                        Op::Mul,
                        Box::new(E::Float("0.5")),
                        Box::new(E::Var("prev".into())),
                    )),
                    Box::new(x),
                )
            };
            f.body.push(LStmt::Set("prev".into(), e));
        }
        // The result reads the accumulators, the state, the scalars.
        let mut rscope: Vec<String> = accs.clone();
        if carried {
            rscope.push("prev".into());
        }
        rscope.extend(outer.iter().cloned());
        let mut ret = self.reading(2, &rscope, &accs);
        let read = ret.reads();
        let mut unread: Vec<String> = accs.clone();
        if carried {
            unread.push("prev".into());
        }
        if !f.pre.is_empty() && !f.body_reads("u") {
            unread.push("u".into());
        }
        if f.y.is_some() && !f.body_reads("y") && !f.pre_reads("y") {
            unread.push("y".into());
        }
        for n in unread {
            if !read.contains(&n) {
                ret = E::Bin(Op::Add, Box::new(ret), Box::new(E::Var(n)));
            }
        }
        f.ret = ret;
        f
    }
}

impl LoopFunc {
    fn body_exprs(&self) -> Vec<&E> {
        let mut out = Vec::new();
        for s in &self.body {
            match s {
                LStmt::Let(_, e) | LStmt::Update(_, _, e) | LStmt::Set(_, e) => out.push(e),
                LStmt::IfElse(c, a, b) => out.extend([&c.lhs, &c.rhs, &a.2, &b.2]),
            }
        }
        out.extend(self.accs.iter().map(|(_, e)| e));
        out
    }

    fn body_reads(&self, name: &str) -> bool {
        self.body_exprs()
            .iter()
            .any(|e| e.reads().iter().any(|r| r == name))
    }

    fn pre_reads(&self, name: &str) -> bool {
        self.pre
            .iter()
            .any(|(_, e)| e.reads().iter().any(|r| r == name))
    }
}

fn print_loop(f: &LoopFunc, name: &str, p: &mut Printer) -> (String, String, String) {
    let xparam = match f.array {
        None => "x: &[f64]",
        Some(false) => "w: [f64; 3]",
        Some(true) => "w: &[f64; 3]",
    };
    let params = match f.y {
        Some(_) => format!("{xparam}, y: f64"),
        None => xparam.to_string(),
    };
    let mut src = String::new();
    let mut plain = String::new();
    for (n, e) in &f.pre {
        writeln!(src, "    let {n} = {};", p.bare(e)).unwrap();
        writeln!(plain, "    let {n} = {};", reference(e)).unwrap();
    }
    for (n, e) in &f.accs {
        writeln!(src, "    let mut {n} = {};", p.bare(e)).unwrap();
        writeln!(plain, "    let mut {n} = {};", reference(e)).unwrap();
    }
    let header = f.header();
    writeln!(src, "    {header} {{").unwrap();
    writeln!(plain, "    {header} {{").unwrap();
    let mut ind = "        ";
    if f.range == Range::Nested {
        src.push_str("        for j in 0..=i {\n");
        plain.push_str("        for j in 0..=i {\n");
        ind = "            ";
    }
    for s in &f.body {
        match s {
            LStmt::Let(n, e) => {
                writeln!(src, "{ind}let {n} = {};", p.bare(e)).unwrap();
                writeln!(plain, "{ind}let {n} = {};", reference(e)).unwrap();
            }
            LStmt::Update(n, op, e) => {
                let op = op.text();
                writeln!(src, "{ind}{n} {op}= {};", p.bare(e)).unwrap();
                writeln!(plain, "{ind}{n} {op}= {};", reference(e)).unwrap();
            }
            LStmt::IfElse(c, (n1, op1, e1), (n2, op2, e2)) => {
                let (o1, o2) = (op1.text(), op2.text());
                let c_src = cond_src(p, c);
                let (a, b) = (p.bare(e1), p.bare(e2));
                writeln!(
                    src,
                    "{ind}if {c_src} {{\n{ind}    {n1} {o1}= {a};\n{ind}}} else {{\n{ind}    {n2} {o2}= {b};\n{ind}}}"
                )
                .unwrap();
                let (a, b) = (reference(e1), reference(e2));
                writeln!(
                    plain,
                    "{ind}if {} {{\n{ind}    {n1} {o1}= {a};\n{ind}}} else {{\n{ind}    {n2} {o2}= {b};\n{ind}}}",
                    cond_ref(c)
                )
                .unwrap();
            }
            LStmt::Set(n, e) => {
                writeln!(src, "{ind}{n} = {};", p.bare(e)).unwrap();
                writeln!(plain, "{ind}{n} = {};", reference(e)).unwrap();
            }
        }
    }
    if f.range == Range::Nested {
        src.push_str("        }\n");
        plain.push_str("        }\n");
    }
    src.push_str("    }\n");
    plain.push_str("    }\n");
    writeln!(src, "    {}", p.bare(&f.ret)).unwrap();
    writeln!(plain, "    {}", reference(&f.ret)).unwrap();
    let _ = name;
    (params, src, plain)
}

fn loop_features(f: &LoopFunc, src: &str) -> Vec<String> {
    let mut out = spelling_features(src);
    out.push(
        match f.array {
            None => "loop over x: &[f64]",
            Some(false) => "loop over w: [f64; 3]",
            Some(true) => "loop over w: &[f64; 3]",
        }
        .into(),
    );
    out.push(
        match f.range {
            Range::All => "range 0..n reading x[i]",
            Range::Pairs => "range 0..n - 1 reading x[i + 1]",
            Range::Back => "range 1..n reading x[i - 1]",
            Range::Incl => "range 0..=n - 1",
            Range::Nested => "nested range 0..=i reading x[j]",
        }
        .into(),
    );
    match f.y {
        Some(true) => out.push("loop with a data scalar y, wrt(x)".into()),
        Some(false) => out.push("loop with a differentiated scalar y".into()),
        None => {}
    }
    if f.accs.iter().any(|(n, _)| n == "prev") {
        out.push("carried state prev".into());
    }
    if f.accs.iter().filter(|(n, _)| n != "prev").count() > 1 {
        out.push("two accumulators".into());
    }
    if !f.pre.is_empty() {
        out.push("let before the loop (literal indices)".into());
    }
    for s in &f.body {
        match s {
            LStmt::Let(..) => out.push("let in the loop body".into()),
            LStmt::Update(_, op, _) => out.push(format!("loop compound {}=", op.text())),
            LStmt::IfElse(..) => out.push("if/else in the loop body".into()),
            LStmt::Set(..) => {}
        }
    }
    if src.contains("(i as f64)") {
        out.push("i as f64".into());
    }
    for e in f.body_exprs() {
        e.features(&mut out);
    }
    f.ret.features(&mut out);
    out
}

fn loop_corpus(
    gen: &mut Gen,
    coverage: &mut BTreeMap<String, usize>,
    failing: &mut String,
) -> (String, String) {
    let mut items = String::new();
    let mut table = String::new();
    let mut made = 0;
    while made < LOOP_COUNT {
        let f = gen.loop_func();
        let runner = |p: &[f64]| run_loop(&f, p);
        let mut points: Vec<Vec<f64>> = Vec::new();
        for _ in 0..40 {
            if points.len() == POINTS {
                break;
            }
            let n = if f.array.is_some() {
                3
            } else {
                gen.rng.below(4) + 2
            };
            let n = n + usize::from(f.y.is_some());
            let p: Vec<f64> = (0..n).map(|_| gen.rng.coord()).collect();
            if usable(&runner, &p, false) {
                points.push(p);
            }
        }
        if points.len() < POINTS {
            continue;
        }
        let name = format!("l{made:03}");
        let mut printer = Printer { rng: &mut gen.rng };
        let (params, src, plain) = print_loop(&f, &name, &mut printer);
        tally(coverage, loop_features(&f, &src));
        let attr = if f.y == Some(true) {
            "#[differentiable(wrt(x))]".replace('x', f.xname())
        } else {
            "#[differentiable]".to_string()
        };
        let item = format!("{attr}\nfn {name}({params}) -> f64 {{\n{src}}}\n");
        if let Some((_, bug)) = COMPILE_FAILS.iter().find(|(n, _)| *n == name) {
            writeln!(failing, "    ({name:?}, {bug:?}, {item:?}),").unwrap();
            made += 1;
            continue;
        }
        writeln!(items, "{item}").unwrap();
        writeln!(
            items,
            "{REF_ALLOW}\nfn {name}_ref({params}) -> f64 {{\n{plain}}}\n"
        )
        .unwrap();

        let last = "v[v.len() - 1]";
        let xarg = match f.array {
            None => "&v[..v.len() - 1]".to_string(),
            Some(by_ref) => format!("{}[v[0], v[1], v[2]]", if by_ref { "&" } else { "" }),
        };
        let xarg = if f.y.is_some() {
            xarg
        } else {
            xarg.replace("&v[..v.len() - 1]", "v")
        };
        let args = if f.y.is_some() {
            format!("{xarg}, {last}")
        } else {
            xarg
        };
        let gx = if f.array.is_some() {
            "gx.to_vec()"
        } else {
            "gx"
        };
        let to_vec = if f.y == Some(false) {
            format!("{{\n                let mut g = {gx};\n                g.push(gy);\n                g\n            }}")
        } else {
            gx.to_string()
        };
        let pat = if f.y == Some(false) { "(gx, gy)" } else { "gx" };
        let grad = if to_vec == "gx" {
            format!("{name}_grad({args})")
        } else {
            format!("{{\n            let {pat} = {name}_grad({args});\n            {to_vec}\n        }}")
        };
        writeln!(
            table,
            "    LoopCase {{\n        name: {name:?},\n        src: {src:?},\n        \
             data_y: {},\n        points: &[{}],\n        f: |v| {name}({args}),\n        \
             reference: |v| {name}_ref({args}),\n        \
             grad: |v| {grad},\n        \
             value_and_grad: |v| {{\n            let (value, {pat}) = {name}_value_and_grad({args});\n            \
             (value, {to_vec})\n        }},\n    }},",
            f.y == Some(true),
            points_text(&points),
        )
        .unwrap();
        made += 1;
    }
    (items, table)
}

// ---------------------------------------------------------------------------------------------
// Tensor functions.

struct TensorFunc {
    shapes: [&'static [usize]; 2],
    scalar: bool,
    stmts: Vec<(String, E)>,
    ret: E,
    mean: bool,
}

/// Shapes as [rows, cols].
fn rc(shape: &[usize]) -> (usize, usize) {
    match shape {
        [c] => (1, *c),
        [r, c] => (*r, *c),
        _ => unreachable!(),
    }
}

impl TensorFunc {
    fn out(&self) -> (usize, usize) {
        let (a, b) = (rc(self.shapes[0]), rc(self.shapes[1]));
        (a.0.max(b.0), a.1.max(b.1))
    }

    /// Index into the data of parameter `k` at output position (r, c), as text.
    fn index_text(&self, k: usize) -> String {
        let (rows, cols) = rc(self.shapes[k]);
        match (rows > 1, cols > 1) {
            (true, true) => format!("r * {cols} + c"),
            (true, false) => "r".into(),
            (false, true) => "c".into(),
            (false, false) => "0".into(),
        }
    }

    fn index(&self, k: usize, r: usize, c: usize) -> usize {
        let (rows, cols) = rc(self.shapes[k]);
        (if rows > 1 { r } else { 0 }) * cols + if cols > 1 { c } else { 0 }
    }

    fn sizes(&self) -> [usize; 2] {
        [
            self.shapes[0].iter().product(),
            self.shapes[1].iter().product(),
        ]
    }
}

fn run_tensor(f: &TensorFunc, point: &[f64]) -> Result<f64, Reject> {
    let [nx, ny] = f.sizes();
    let (rows, cols) = f.out();
    let mut total = 0.0;
    for r in 0..rows {
        for c in 0..cols {
            let mut env: HashMap<String, f64> = HashMap::new();
            env.insert("x".into(), point[f.index(0, r, c)]);
            env.insert("y".into(), point[nx + f.index(1, r, c)]);
            if f.scalar {
                env.insert("s".into(), point[nx + ny]);
            }
            for (n, e) in &f.stmts {
                let v = eval(e, &env)?;
                env.insert(n.clone(), v);
            }
            total += eval(&f.ret, &env)?;
        }
    }
    if f.mean {
        total /= (rows * cols) as f64;
    }
    ok(total)
}

const SHAPES: &[[&[usize]; 2]] = &[
    [&[3], &[2, 1]],
    [&[2, 3], &[3]],
    [&[2, 3], &[2, 1]],
    [&[3], &[3]],
    [&[2, 1], &[1, 3]],
    [&[2, 3], &[2, 3]],
];

impl Gen {
    fn tensor_func(&mut self) -> TensorFunc {
        let shapes = self.rng.pick(SHAPES);
        let scalar = self.rng.chance(0.3);
        let mut scope: Vec<String> = vec!["x".into(), "y".into()];
        if scalar {
            scope.push("s".into());
        }
        let mut stmts: Vec<(String, E)> = Vec::new();
        for name in ["a", "b"].iter().take(self.rng.below(3)) {
            // Reading a tensor (a let of the scalar alone would be an f64).
            let e = self.reading(2, &scope, &["x".to_string(), "y".to_string()]);
            stmts.push((name.to_string(), e));
            scope.push(name.to_string());
        }
        let mut ret = loop {
            let e = self.non_literal(3, &scope);
            if !matches!(e, E::Var(_)) {
                break e;
            }
        };
        let mut read = ret.reads();
        for (n, e) in stmts.iter().rev() {
            if !read.contains(n) {
                ret = E::Bin(Op::Add, Box::new(ret), Box::new(E::Var(n.clone())));
                read.push(n.clone());
            }
            read.extend(e.reads());
        }
        for p in &scope[..if scalar { 3 } else { 2 }] {
            if !read.contains(p) {
                ret = E::Bin(Op::Add, Box::new(ret), Box::new(E::Var(p.clone())));
            }
        }
        TensorFunc {
            shapes,
            scalar,
            stmts,
            ret,
            mean: self.rng.chance(0.5),
        }
    }
}

fn shape_text(s: &[usize]) -> String {
    let parts: Vec<String> = s.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

fn tensor_corpus(gen: &mut Gen, coverage: &mut BTreeMap<String, usize>) -> (String, String) {
    let mut items = String::new();
    let mut table = String::new();
    let mut made = 0;
    while made < TENSOR_COUNT {
        let f = gen.tensor_func();
        let runner = |p: &[f64]| run_tensor(&f, p);
        let [nx, ny] = f.sizes();
        let n = nx + ny + usize::from(f.scalar);
        let mut points: Vec<Vec<f64>> = Vec::new();
        for _ in 0..40 {
            if points.len() == POINTS {
                break;
            }
            let p: Vec<f64> = (0..n).map(|_| gen.rng.coord()).collect();
            if usable(&runner, &p, false) {
                points.push(p);
            }
        }
        if points.len() < POINTS {
            continue;
        }
        let name = format!("t{made:03}");
        let mut p = Printer { rng: &mut gen.rng };
        let mut src = String::new();
        let mut plain = String::new();
        for (n, e) in &f.stmts {
            writeln!(src, "    let {n} = {};", p.bare(e)).unwrap();
            writeln!(plain, "            let {n} = {};", reference(e)).unwrap();
        }
        let reduce = if f.mean { "mean" } else { "sum" };
        writeln!(src, "    {}.{reduce}()", p.print(&f.ret, P_ATOM)).unwrap();
        let (sx, sy) = (shape_text(f.shapes[0]), shape_text(f.shapes[1]));
        let mut features = spelling_features(&src);
        features.push(format!("tensor shapes {sx} and {sy}"));
        features.push(format!("tensor .{reduce}()"));
        if f.scalar {
            features.push("tensor function with a scalar parameter".into());
        }
        for (_, e) in &f.stmts {
            e.features(&mut features);
        }
        f.ret.features(&mut features);
        tally(coverage, features);

        let params = if f.scalar {
            "x: &Tensor<f64>, y: &Tensor<f64>, s: f64"
        } else {
            "x: &Tensor<f64>, y: &Tensor<f64>"
        };
        writeln!(
            items,
            "#[differentiable]\nfn {name}({params}) -> f64 {{\n{src}}}\n"
        )
        .unwrap();
        let (rows, cols) = f.out();
        let (ix, iy) = (f.index_text(0), f.index_text(1));
        let uses = |v: char| ix.contains(v) || iy.contains(v);
        let rv = if uses('r') { "r" } else { "_r" };
        let cv = if uses('c') { "c" } else { "_c" };
        let ret = reference(&f.ret);
        let finish = if f.mean {
            format!("total / {}.0", rows * cols)
        } else {
            "total".into()
        };
        writeln!(
            items,
            "{REF_ALLOW}\nfn {name}_ref({params}) -> f64 {{\n    let (xd, yd) = (x.as_slice(), y.as_slice());\n    \
             let mut total = 0.0;\n    for {rv} in 0..{rows} {{\n        for {cv} in 0..{cols} {{\n            \
             let x = xd[{ix}];\n            let y = yd[{iy}];\n{plain}            total += {ret};\n        }}\n    }}\n    \
             {finish}\n}}\n"
        )
        .unwrap();

        let sarg = if f.scalar {
            format!(", v[{}]", nx + ny)
        } else {
            String::new()
        };
        let args = format!("&at(v, 0, &{sx}), &at(v, {nx}, &{sy}){sarg}");
        let (pat, to_vec) = if f.scalar {
            (
                "(gx, gy, gs)",
                format!("{{\n                let mut g = flat(&gx, &{sx});\n                g.extend(flat(&gy, &{sy}));\n                g.push(gs);\n                g\n            }}"),
            )
        } else {
            (
                "(gx, gy)",
                format!("{{\n                let mut g = flat(&gx, &{sx});\n                g.extend(flat(&gy, &{sy}));\n                g\n            }}"),
            )
        };
        writeln!(
            table,
            "    TensorCase {{\n        name: {name:?},\n        src: {src:?},\n        \
             points: &[{}],\n        f: |v| {name}({args}),\n        \
             reference: |v| {name}_ref({args}),\n        \
             grad: |v| {{\n            let {pat} = {name}_grad({args});\n            {to_vec}\n        }},\n        \
             value_and_grad: |v| {{\n            let (value, {pat}) = {name}_value_and_grad({args});\n            \
             (value, {to_vec})\n        }},\n    }},",
            points_text(&points),
        )
        .unwrap();
        made += 1;
    }
    (items, table)
}

/// Features every corpus must exercise, with the minimum number of functions.
const REQUIRED: &[(&str, usize)] = &[
    ("** spelled x**2", 20),
    ("** spelled x ** 2", 10),
    ("** spelled x** 2", 10),
    ("** spelled x **2", 10),
    ("** integer: x**2", 20),
    ("** negative integer: x**-1", 10),
    ("** float literal: x**0.5", 10),
    ("** expression: x**y", 10),
    ("** right-associative: x**y**2", 3),
    ("** literal base: 2**x", 10),
    ("** literal base, power exponent: 2**x**2", 3),
    ("** under a unary minus: -x**2", 10),
    ("** on a sum: (a+b)**3", 5),
    ("let", 30),
    ("let shadowing an earlier let", 5),
    ("let mut", 30),
    ("compound +=", 10),
    ("compound -=", 10),
    ("compound *=", 10),
    ("compound /=", 10),
    ("if/else expression", 20),
    ("else if", 10),
    ("if/else statement assigning a let mut", 10),
    ("early return in if", 10),
    ("call helper_cubic", 3),
    ("call helper_mix", 3),
    ("call helper_scaled", 3),
    ("loop over x: &[f64]", 10),
    ("loop over w: [f64; 3]", 5),
    ("loop over w: &[f64; 3]", 5),
    ("range 0..n reading x[i]", 5),
    ("range 0..n - 1 reading x[i + 1]", 5),
    ("range 1..n reading x[i - 1]", 5),
    ("range 0..=n - 1", 5),
    ("nested range 0..=i reading x[j]", 5),
    ("carried state prev", 5),
    ("if/else in the loop body", 5),
    ("loop with a data scalar y, wrt(x)", 5),
    ("tensor .sum()", 5),
    ("tensor .mean()", 5),
    ("tensor shapes [3] and [2, 1]", 3),
];

const METHODS: &[&str] = &[
    "powi", "powf", "sqrt", "cbrt", "exp", "exp2", "exp_m1", "ln", "ln_1p", "log", "log2", "log10",
    "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh", "asinh", "acosh",
    "atanh", "abs", "signum", "max", "min", "clamp", "recip", "hypot", "mul_add", "sigmoid",
    "relu", "softplus", "floor", "ceil", "round", "trunc",
];

#[test]
#[ignore = "writes tests/random_cases.rs; run with --ignored after changing the generator"]
fn regenerate() {
    let mut gen = Gen {
        rng: Rng(0x9E37_79B9_7F4A_7C15),
        mode: Mode::Scalar,
    };
    let mut coverage = BTreeMap::new();
    let (scalar_items, scalar_table) = scalar_corpus(&mut gen, &mut coverage);
    gen.mode = Mode::Loop;
    let mut failing = String::new();
    let (loop_items, loop_table) = loop_corpus(&mut gen, &mut coverage, &mut failing);
    gen.mode = Mode::Tensor;
    let (tensor_items, tensor_table) = tensor_corpus(&mut gen, &mut coverage);

    let mut missing = Vec::new();
    for (feature, min) in REQUIRED {
        if coverage.get(*feature).copied().unwrap_or(0) < *min {
            missing.push(format!("{feature} (wanted {min})"));
        }
    }
    for m in METHODS {
        if coverage.get(&format!("method {m}")).copied().unwrap_or(0) < 3 {
            missing.push(format!("method {m}"));
        }
    }
    let mut table = String::new();
    for (feature, n) in &coverage {
        writeln!(table, "//   {n:4}  {feature}").unwrap();
    }
    println!("{table}");
    assert!(missing.is_empty(), "too rare: {missing:?}");

    let n_failing = failing.lines().count();
    let out = format!(
        "// @generated by tests/gen_random.rs (`cargo test --test gen_random -- --ignored`).\n\
         // Do not edit by hand; included by tests/test_random.rs.\n\
         //\n\
         // {COUNT} scalar functions (r*), {LOOP_COUNT} loop functions (l*; {n_failing} of them in \
         COMPILE_FAILURES), {TENSOR_COUNT} tensor functions (t*), {POINTS} points each.\n\
         // Coverage (number of functions using each feature):\n{table}\
         //\n\
         // Cargo also builds every `tests/*.rs` as its own test target. Standalone, the bare\n\
         // `random_cases!` below resolves to the imported no-op, so that target is empty; inside\n\
         // tests/test_random.rs, the `macro_rules! random_cases` defined before the `include!`\n\
         // takes precedence (textual scope first) and emits everything.\n\
         #[allow(unused_macros)]\n\
         macro_rules! random_cases_skipped {{\n    ($($t:tt)*) => {{}};\n}}\n\
         #[allow(unused_imports)]\n\
         use random_cases_skipped as random_cases;\n\n\
         random_cases! {{\n\n{scalar_items}{loop_items}{tensor_items}\
         // Random points such as -0.7854 look like π/4 to clippy.\n\
         #[allow(clippy::approx_constant)]\n\
         const CASES: &[Case] = &[\n{scalar_table}];\n\n\
         #[allow(clippy::approx_constant)]\n\
         const LOOP_CASES: &[LoopCase] = &[\n{loop_table}];\n\n\
         #[allow(clippy::approx_constant)]\n\
         const TENSOR_CASES: &[TensorCase] = &[\n{tensor_table}];\n\n\
         /// Generated functions the macro does not compile: (name, bug, source).\n\
         const COMPILE_FAILURES: &[(&str, &str, &str)] = &[\n{failing}];\n\n}}\n"
    );
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/random_cases.rs");
    std::fs::write(path, out).unwrap();
}
