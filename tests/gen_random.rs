//! Generator of `tests/random_cases.rs`, the random functions that `tests/test_random.rs`
//! checks. Run it after changing the generator:
//!
//! ```text
//! cargo test --test gen_random -- --ignored
//! ```
//!
//! Deterministic (a fixed xorshift seed, no dependencies). Every function is built as a small
//! AST, printed twice (once in the `#[differentiable]` syntax with `**`, varied spacing and only
//! the parentheses precedence needs, once as plain Rust with `powi`/`powf` and every
//! parenthesis), and evaluated here at candidate points: a function or point is rejected when a
//! value leaves a safe range, a comparison is within 1e-3 of its threshold, or finite differences
//! with two step sizes disagree (a kink or a branch boundary nearby). What remains is smooth at
//! every checked point, so central differences are a fair judge of `_grad`.

use std::collections::HashMap;
use std::fmt::Write as _;

/// Number of functions generated.
const COUNT: usize = 300;
/// Points checked per function.
const POINTS: usize = 3;

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

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
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
}

/// Precedence levels of the printed syntax.
const P_NEG: u8 = 3;
const P_POW: u8 = 4;
const P_ATOM: u8 = 5;

fn lit(s: &str) -> f64 {
    s.parse().unwrap()
}

impl E {
    fn prec(&self) -> u8 {
        match self {
            E::Var(_) | E::Int(_) | E::Float(_) | E::Method(..) => P_ATOM,
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
            E::Neg(a) | E::Method(_, a) | E::LitPow(_, a) => a.uses(out),
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
    match e {
        E::Var(v) => v.clone(),
        E::Int(k) => format!("{k}.0_f64"),
        E::Float(s) => format!("{s}_f64"),
        E::Neg(a) => format!("(-{})", reference(a)),
        E::Bin(op, a, b) => format!("({} {} {})", reference(a), op.text(), reference(b)),
        E::Pow(b, Expon::Int(k)) => format!("({}).powi({k})", reference(b)),
        E::Pow(b, Expon::Float(s)) => format!("({}).powf({s}_f64)", reference(b)),
        E::Pow(b, Expon::Expr(x)) => format!("({}).powf({})", reference(b), reference(x)),
        E::LitPow(base, x) => format!("({base}_f64).powf({})", reference(x)),
        E::Method(m, a) => format!("({}).{m}()", reference(a)),
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

/// A domain argument (divisor, `sqrt`/`ln` argument, `powf` base) kept away from 0.
fn away(v: f64) -> Result<f64, Reject> {
    if v.abs() >= 1e-2 {
        Ok(v)
    } else {
        Err(Reject)
    }
}

fn eval(e: &E, env: &HashMap<String, f64>) -> Result<f64, Reject> {
    let v = match e {
        E::Var(v) => env[v],
        E::Int(k) => *k as f64,
        E::Float(s) => lit(s),
        E::Neg(a) => -eval(a, env)?,
        E::Bin(op, a, b) => {
            let (a, b) = (eval(a, env)?, eval(b, env)?);
            match op {
                Op::Add => a + b,
                Op::Sub => a - b,
                Op::Mul => a * b,
                Op::Div => a / away(b)?,
            }
        }
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
        E::Method(m, a) => {
            let a = eval(a, env)?;
            match *m {
                "sin" => a.sin(),
                "cos" => a.cos(),
                "exp" => a.exp(),
                "tanh" => a.tanh(),
                "atan" => a.atan(),
                "sigmoid" => sigmoid(a),
                "softplus" => softplus(a),
                "sqrt" => away(a)?.sqrt(),
                "ln" => away(a)?.ln(),
                other => unreachable!("{other}"),
            }
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

#[derive(Clone)]
enum Stmt {
    /// `let name = e;` (also shadowing an earlier `name`).
    Let(String, E),
    /// `let mut name = e;` followed by compound assignments.
    Mut(String, E, Vec<(Op, E)>),
    /// `let name = if c { a } else { b };`
    LetIf(String, Cond, E, E),
    /// `if c { return e; }`
    Guard(Cond, E),
}

struct Func {
    params: Vec<String>,
    stmts: Vec<Stmt>,
    ret: E,
}

/// Result of running a function at a point: its value, or `None` when unusable.
fn run(f: &Func, point: &[f64]) -> Result<f64, Reject> {
    let mut env: HashMap<String, f64> = HashMap::new();
    for (p, &v) in f.params.iter().zip(point) {
        env.insert(p.clone(), v);
    }
    let decide = |c: &Cond, env: &HashMap<String, f64>| -> Result<bool, Reject> {
        let (a, b) = (eval(&c.lhs, env)?, eval(&c.rhs, env)?);
        if (a - b).abs() < 1e-3 {
            return Err(Reject);
        }
        Ok(c.cmp.holds(a, b))
    };
    for s in &f.stmts {
        match s {
            Stmt::Let(n, e) => {
                let v = eval(e, &env)?;
                env.insert(n.clone(), v);
            }
            Stmt::Mut(n, e, ops) => {
                let mut v = eval(e, &env)?;
                for (op, rhs) in ops {
                    let r = eval(rhs, &env)?;
                    v = ok(match op {
                        Op::Add => v + r,
                        Op::Sub => v - r,
                        Op::Mul => v * r,
                        Op::Div => v / away(r)?,
                    })?;
                }
                env.insert(n.clone(), v);
            }
            Stmt::LetIf(n, c, a, b) => {
                let v = if decide(c, &env)? {
                    eval(a, &env)?
                } else {
                    eval(b, &env)?
                };
                env.insert(n.clone(), v);
            }
            Stmt::Guard(c, e) => {
                if decide(c, &env)? {
                    return eval(e, &env);
                }
            }
        }
    }
    eval(&f.ret, &env)
}

/// The same step as the test's central difference.
fn fd(f: &Func, point: &[f64], i: usize, scale: f64) -> Result<f64, Reject> {
    let h = scale * point[i].abs().max(1.0);
    let mut p = point.to_vec();
    p[i] = point[i] + h;
    let hi = run(f, &p)?;
    p[i] = point[i] - h;
    let lo = run(f, &p)?;
    Ok((hi - lo) / (2.0 * h))
}

/// A point is usable when the function is defined around it and smooth there: finite
/// differences with steps 1e-6 and 1e-4 agree well within the test's tolerance.
fn usable(f: &Func, point: &[f64]) -> bool {
    if run(f, point).is_err() {
        return false;
    }
    (0..point.len()).all(|i| match (fd(f, point, i, 1e-6), fd(f, point, i, 1e-4)) {
        (Ok(a), Ok(b)) => a.abs() <= 1e3 && (a - b).abs() <= 1e-6 + 1e-5 * b.abs(),
        _ => false,
    })
}

struct Gen {
    rng: Rng,
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
            let mut read = Vec::new();
            e.uses(&mut read);
            if !read.is_empty() {
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

    fn expr(&mut self, depth: u32, scope: &[String]) -> E {
        if depth == 0 || self.rng.chance(0.2) {
            return self.leaf(scope);
        }
        let d = depth - 1;
        match self.rng.below(16) {
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
                let base = if k < 0 {
                    self.positive(d, scope)
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
                    x = E::Neg(Box::new(x));
                }
                E::Pow(Box::new(base), Expon::Expr(Box::new(x)))
            }
            10 => {
                let base = self.rng.pick(&["2", "0.5", "3", "1.5"]);
                let mut x = self.non_literal(d.min(1), scope);
                if self.rng.chance(0.3) {
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
            12..=14 => {
                let m = self
                    .rng
                    .pick(&["sin", "cos", "exp", "tanh", "sigmoid", "softplus", "atan"]);
                E::Method(m, Box::new(self.non_literal(d, scope)))
            }
            _ => {
                let m = self.rng.pick(&["sqrt", "ln"]);
                E::Method(m, Box::new(self.positive(d, scope)))
            }
        }
    }

    fn cond(&mut self, scope: &[String]) -> Cond {
        let lhs = E::Var(scope[self.rng.below(scope.len())].clone());
        let rhs = if self.rng.chance(0.5) {
            E::Var(scope[self.rng.below(scope.len())].clone())
        } else {
            E::Float(self.rng.pick(&["0.5", "0.0", "1.0", "0.25"]))
        };
        let cmp = self.rng.pick(&[Cmp::Lt, Cmp::Le, Cmp::Gt, Cmp::Ge]);
        Cond { lhs, cmp, rhs }
    }

    fn func(&mut self, arity: usize) -> Func {
        let params: Vec<String> = ["x", "y", "z"][..arity]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut scope = params.clone();
        let mut stmts = Vec::new();
        let mut next = 0;
        for _ in 0..self.rng.below(4) {
            let fresh = ["a", "b", "c", "d"][next].to_string();
            match self.rng.below(6) {
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
                2 => {
                    let init = self.non_literal(2, &scope);
                    let ops = (0..self.rng.below(3) + 1)
                        .map(|_| {
                            let op = self.rng.pick(&[Op::Add, Op::Sub, Op::Mul, Op::Div]);
                            let e = if op == Op::Div {
                                self.positive(1, &scope)
                            } else {
                                self.expr(1, &scope)
                            };
                            (op, e)
                        })
                        .collect();
                    next += 1;
                    stmts.push(Stmt::Mut(fresh.clone(), init, ops));
                    scope.push(fresh);
                }
                3 | 4 => {
                    let c = self.cond(&scope);
                    let (a, b) = (self.non_literal(2, &scope), self.non_literal(2, &scope));
                    next += 1;
                    stmts.push(Stmt::LetIf(fresh.clone(), c, a, b));
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
        let mut read = Vec::new();
        ret.uses(&mut read);
        for s in stmts.iter().rev() {
            match s {
                Stmt::Let(n, e) => {
                    if !read.contains(n) {
                        ret = E::Bin(Op::Add, Box::new(ret), Box::new(E::Var(n.clone())));
                        read.push(n.clone());
                    }
                    read.retain(|r| r != n);
                    e.uses(&mut read);
                }
                Stmt::Mut(n, e, ops) => {
                    if !read.contains(n) {
                        ret = E::Bin(Op::Add, Box::new(ret), Box::new(E::Var(n.clone())));
                        read.push(n.clone());
                    }
                    read.retain(|r| r != n);
                    e.uses(&mut read);
                    for (_, o) in ops {
                        o.uses(&mut read);
                    }
                }
                Stmt::LetIf(n, c, a, b) => {
                    if !read.contains(n) {
                        ret = E::Bin(Op::Add, Box::new(ret), Box::new(E::Var(n.clone())));
                        read.push(n.clone());
                    }
                    read.retain(|r| r != n);
                    for e in [&c.lhs, &c.rhs, a, b] {
                        e.uses(&mut read);
                    }
                }
                Stmt::Guard(c, e) => {
                    for e in [&c.lhs, &c.rhs, e] {
                        e.uses(&mut read);
                    }
                }
            }
        }
        for p in &params {
            if !read.contains(p) {
                ret = E::Bin(Op::Add, Box::new(ret), Box::new(E::Var(p.clone())));
            }
        }
        Func { params, stmts, ret }
    }
}

/// The body twice: differentiable syntax and plain Rust.
fn bodies(f: &Func, rng: &mut Rng) -> (String, String) {
    let mut p = Printer { rng };
    let mut src = String::new();
    let mut plain = String::new();
    let cond = |p: &mut Printer, c: &Cond| {
        format!("{} {} {}", p.bare(&c.lhs), c.cmp.text(), p.bare(&c.rhs))
    };
    let cond_ref = |c: &Cond| {
        format!(
            "{} {} {}",
            reference(&c.lhs),
            c.cmp.text(),
            reference(&c.rhs)
        )
    };
    for s in &f.stmts {
        match s {
            Stmt::Let(n, e) => {
                writeln!(src, "    let {n} = {};", p.bare(e)).unwrap();
                writeln!(plain, "    let {n} = {};", reference(e)).unwrap();
            }
            Stmt::Mut(n, e, ops) => {
                writeln!(src, "    let mut {n} = {};", p.bare(e)).unwrap();
                writeln!(plain, "    let mut {n} = {};", reference(e)).unwrap();
                for (op, rhs) in ops {
                    let op = op.text();
                    writeln!(src, "    {n} {op}= {};", p.bare(rhs)).unwrap();
                    writeln!(plain, "    {n} {op}= {};", reference(rhs)).unwrap();
                }
            }
            Stmt::LetIf(n, c, a, b) => {
                let (c_src, a_src, b_src) = (cond(&mut p, c), p.bare(a), p.bare(b));
                writeln!(
                    src,
                    "    let {n} = if {c_src} {{ {a_src} }} else {{ {b_src} }};"
                )
                .unwrap();
                let (c, a, b) = (cond_ref(c), reference(a), reference(b));
                writeln!(plain, "    let {n} = if {c} {{ {a} }} else {{ {b} }};").unwrap();
            }
            Stmt::Guard(c, e) => {
                let (c_src, e_src) = (cond(&mut p, c), p.bare(e));
                writeln!(src, "    if {c_src} {{ return {e_src}; }}").unwrap();
                writeln!(
                    plain,
                    "    if {} {{ return {}; }}",
                    cond_ref(c),
                    reference(e)
                )
                .unwrap();
            }
        }
    }
    writeln!(src, "    {}", p.bare(&f.ret)).unwrap();
    writeln!(plain, "    {}", reference(&f.ret)).unwrap();
    (src, plain)
}

#[test]
#[ignore = "writes tests/random_cases.rs; run with --ignored after changing the generator"]
fn regenerate() {
    let mut gen = Gen {
        rng: Rng(0x9E37_79B9_7F4A_7C15),
    };
    let mut items = String::new();
    let mut table = String::new();
    let mut made = 0;
    while made < COUNT {
        let arity = made % 3 + 1;
        let f = gen.func(arity);
        let mut points: Vec<Vec<f64>> = Vec::new();
        for _ in 0..40 {
            if points.len() == POINTS {
                break;
            }
            // Round to 4 decimals so the file stays readable; the value is exact as printed.
            let p: Vec<f64> = (0..arity)
                .map(|_| ((gen.rng.unit() * 4.0 - 2.0) * 1e4).round() / 1e4)
                .collect();
            if usable(&f, &p) {
                points.push(p);
            }
        }
        if points.len() < POINTS {
            continue;
        }
        let name = format!("r{made:03}");
        let (src, plain) = bodies(&f, &mut gen.rng);
        let params: Vec<String> = f.params.iter().map(|p| format!("{p}: f64")).collect();
        let params = params.join(", ");
        writeln!(
            items,
            "#[differentiable]\nfn {name}({params}) -> f64 {{\n{src}}}\n"
        )
        .unwrap();
        writeln!(
            items,
            "#[allow(unused_parens, clippy::all)]\nfn {name}_ref({params}) -> f64 {{\n{plain}}}\n"
        )
        .unwrap();

        let args: Vec<String> = (0..arity).map(|i| format!("v[{i}]")).collect();
        let args = args.join(", ");
        let to_vec = if arity == 1 {
            "vec![g]".to_string()
        } else {
            let parts: Vec<String> = (0..arity).map(|i| format!("g.{i}")).collect();
            format!("vec![{}]", parts.join(", "))
        };
        let pts: Vec<String> = points
            .iter()
            .map(|p| {
                let mut full = p.clone();
                full.resize(3, 0.0);
                format!("[{:?}, {:?}, {:?}]", full[0], full[1], full[2])
            })
            .collect();
        writeln!(
            table,
            "    Case {{\n        name: {name:?},\n        src: {src:?},\n        arity: {arity},\n        \
             points: &[{}],\n        f: |v| {name}({args}),\n        reference: |v| {name}_ref({args}),\n        \
             grad: |v| {{\n            let g = {name}_grad({args});\n            {to_vec}\n        }},\n        \
             value_and_grad: |v| {{\n            let (value, g) = {name}_value_and_grad({args});\n            \
             (value, {to_vec})\n        }},\n    }},",
            pts.join(", "),
        )
        .unwrap();
        made += 1;
    }

    let out = format!(
        "// @generated by tests/gen_random.rs (`cargo test --test gen_random -- --ignored`).\n\
         // Do not edit by hand; included by tests/test_random.rs.\n\
         //\n\
         // Cargo also builds every `tests/*.rs` as its own test target. Standalone, the bare\n\
         // `random_cases!` below resolves to the imported no-op, so that target is empty; inside\n\
         // tests/test_random.rs, the `macro_rules! random_cases` defined before the `include!`\n\
         // takes precedence (textual scope first) and emits everything.\n\
         #[allow(unused_macros)]\n\
         macro_rules! random_cases_skipped {{\n    ($($t:tt)*) => {{}};\n}}\n\
         #[allow(unused_imports)]\n\
         use random_cases_skipped as random_cases;\n\n\
         random_cases! {{\n\n{items}// Random points such as -0.7854 look like π/4 to clippy.\n\
         #[allow(clippy::approx_constant)]\n\
         const CASES: &[Case] = &[\n{table}];\n\n}}\n"
    );
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/random_cases.rs");
    std::fs::write(path, out).unwrap();
}
