//! Conditions that read a differentiated struct's fields: a `bool` field (`if self.on`), an
//! integer field compared (`if self.k > 1`, `while n < self.k`), an integer field matched
//! (`match self.k`), and a float field compared and also differentiated (`if self.a >
//! self.b`). The condition has no derivative; the arms do. Every generated item is checked
//! against hand formulas, central differences, or directional differences.

use autodiff::{differentiable, Differentiable};

#[derive(Clone, Debug, Differentiable)]
struct Gate {
    a: f64,
    b: f64,
    ws: Vec<f64>,
    on: bool,
    k: usize,
}

impl Gate {
    #[differentiable]
    fn gated(&self, x: f64) -> f64 {
        if self.on {
            self.a * x * x
        } else {
            self.b * x
        }
    }

    #[differentiable]
    fn counted(&self, x: f64) -> f64 {
        if self.k > 1 {
            self.a * x
        } else {
            self.b * x * x
        }
    }

    #[differentiable]
    fn compared(&self, x: f64) -> f64 {
        // An integer literal against a float field is a float, as everywhere in a body.
        if self.a > self.b && self.a > 0 {
            self.a * x.sin()
        } else {
            self.b * x.cos()
        }
    }

    #[differentiable]
    fn matched(&self, x: f64) -> f64 {
        match self.k {
            0 => self.a * x,
            1 => self.b * x * x,
            _ => self.a * self.b * x,
        }
    }

    /// The first `k` weights add `w x`, the rest subtract `w a`; all only when `on`.
    #[differentiable]
    fn in_loop(&self, x: f64) -> f64 {
        let mut s = 0.0;
        for i in 0..self.ws.len() {
            let w = self.ws[i];
            if self.on && i < self.k {
                s += w * x;
            } else {
                s -= w * self.a;
            }
        }
        s
    }

    /// Every weight but the second, by the enumerate index.
    #[differentiable]
    fn skip_second(&self, x: f64) -> f64 {
        let mut s = 0.0;
        for (i, w) in self.ws.iter().enumerate() {
            if i != 1 {
                s += w * x;
            }
        }
        s
    }

    /// `k` steps of `s = s a + b`.
    #[differentiable]
    fn iterated(&self, x: f64) -> f64 {
        let mut s = x;
        let mut n: usize = 0;
        while n < self.k {
            s = s * self.a + self.b;
            n += 1;
        }
        s
    }
}

mod support;
use support::shifted;

type Method = fn(&Gate, f64) -> f64;
type Grad = fn(&Gate, f64) -> (Gate, f64);
type ValueAndGrad = fn(&Gate, f64) -> (f64, (Gate, f64));

/// A method and its generated items.
struct Items {
    name: &'static str,
    f: Method,
    grad: Grad,
    value_and_grad: ValueAndGrad,
    vjp: fn(&Gate, f64, f64) -> (Gate, f64),
    jvp: fn(&Gate, f64, &Gate, f64) -> (f64, f64),
    hvp: fn(&Gate, f64, &Gate, f64) -> (Gate, f64),
}

macro_rules! items {
    ($f:ident, $grad:ident, $vag:ident, $vjp:ident, $jvp:ident, $hvp:ident) => {
        Items {
            name: stringify!($f),
            f: Gate::$f,
            grad: Gate::$grad,
            value_and_grad: Gate::$vag,
            vjp: Gate::$vjp,
            jvp: Gate::$jvp,
            hvp: Gate::$hvp,
        }
    };
}

fn gate(on: bool, k: usize) -> Gate {
    Gate {
        a: 0.8,
        b: -1.4,
        ws: vec![0.5, 2.0, -0.7],
        on,
        k,
    }
}

/// Central differences over the flat parameters (a, b, ws) and then x.
fn central(m: &Gate, x: f64, f: Method) -> Vec<f64> {
    let h = 1e-6;
    let flat = m.to_flat();
    let mut out: Vec<f64> = (0..flat.len())
        .map(|k| {
            let (mut p, mut q) = (flat.clone(), flat.clone());
            p[k] += h;
            q[k] -= h;
            (f(&m.from_flat(&p), x) - f(&m.from_flat(&q), x)) / (2.0 * h)
        })
        .collect();
    out.push((f(m, x + h) - f(m, x - h)) / (2.0 * h));
    out
}

fn flat_grad(g: &(Gate, f64)) -> Vec<f64> {
    let mut v = g.0.to_flat();
    v.push(g.1);
    v
}

fn assert_close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (k, (a, b)) in got.iter().zip(want).enumerate() {
        assert!((a - b).abs() < tol, "{what}, entry {k}: {a} vs {b}");
    }
}

/// Every method, at models taking each branch.
fn cases() -> Vec<(Items, Gate)> {
    let all = || {
        [
            items!(
                gated,
                gated_grad,
                gated_value_and_grad,
                gated_vjp,
                gated_jvp,
                gated_hvp
            ),
            items!(
                counted,
                counted_grad,
                counted_value_and_grad,
                counted_vjp,
                counted_jvp,
                counted_hvp
            ),
            items!(
                matched,
                matched_grad,
                matched_value_and_grad,
                matched_vjp,
                matched_jvp,
                matched_hvp
            ),
            items!(
                in_loop,
                in_loop_grad,
                in_loop_value_and_grad,
                in_loop_vjp,
                in_loop_jvp,
                in_loop_hvp
            ),
            items!(
                iterated,
                iterated_grad,
                iterated_value_and_grad,
                iterated_vjp,
                iterated_jvp,
                iterated_hvp
            ),
        ]
    };
    let compared = || {
        items!(
            compared,
            compared_grad,
            compared_value_and_grad,
            compared_vjp,
            compared_jvp,
            compared_hvp
        )
    };
    let mut out = Vec::new();
    for (on, k) in [(true, 0), (false, 1), (true, 2), (false, 3)] {
        out.extend(all().into_iter().map(|it| (it, gate(on, k))));
    }
    let mut swapped = gate(true, 0);
    std::mem::swap(&mut swapped.a, &mut swapped.b);
    out.push((compared(), gate(true, 0)));
    out.push((compared(), swapped));
    out
}

#[test]
fn gradients_match_central_differences_in_every_branch() {
    let x = 0.7;
    for (it, m) in cases() {
        let what = format!("{} (on = {}, k = {})", it.name, m.on, m.k);
        let g = (it.grad)(&m, x);
        assert_eq!((g.0.on, g.0.k), (m.on, m.k), "{what}: constants copied");
        assert_close(&flat_grad(&g), &central(&m, x, it.f), 1e-6, &what);
    }
}

#[test]
fn gradients_match_hand_formulas() {
    let x = 0.7;
    let on = gate(true, 0).gated_grad(x);
    assert_eq!((on.0.a, on.0.b, on.1), (x * x, 0.0, 2.0 * 0.8 * x));
    let off = gate(false, 0).gated_grad(x);
    assert_eq!((off.0.a, off.0.b, off.1), (0.0, x, -1.4));
    let many = gate(true, 2).counted_grad(x);
    assert_eq!((many.0.a, many.0.b, many.1), (x, 0.0, 0.8));
    let one = gate(true, 1).counted_grad(x);
    assert_eq!((one.0.a, one.0.b, one.1), (0.0, x * x, 2.0 * -1.4 * x));
    let m = gate(true, 5);
    let g = m.matched_grad(x);
    assert_eq!((g.0.a, g.0.b, g.1), (m.b * x, m.a * x, m.a * m.b));
    // in_loop with on, k = 2: s = (w0 + w1) x - w2 a.
    let m = gate(true, 2);
    let g = m.in_loop_grad(x);
    assert_close(&g.0.ws, &[x, x, -m.a], 1e-15, "in_loop ws");
    assert_close(
        &[g.0.a, g.1],
        &[-m.ws[2], m.ws[0] + m.ws[1]],
        1e-15,
        "in_loop a, x",
    );
    // iterated, k = 2: s = (x a + b) a + b.
    let (v, g) = m.iterated_value_and_grad(x);
    assert!((v - ((x * m.a + m.b) * m.a + m.b)).abs() < 1e-15);
    assert_close(
        &[g.0.a, g.0.b, g.1],
        &[2.0 * x * m.a + m.b, m.a + 1.0, m.a * m.a],
        1e-15,
        "iterated",
    );
}

#[test]
fn value_and_grad_and_vjp_agree_with_grad() {
    let x = -0.35;
    for (it, m) in cases() {
        let what = format!("{} (on = {}, k = {})", it.name, m.on, m.k);
        let g = flat_grad(&(it.grad)(&m, x));
        let (v, vg) = (it.value_and_grad)(&m, x);
        assert_eq!(v, (it.f)(&m, x), "{what}: value");
        assert_close(&flat_grad(&vg), &g, 1e-12, &what);
        let scaled: Vec<f64> = g.iter().map(|d| 3.0 * d).collect();
        assert_close(&flat_grad(&(it.vjp)(&m, x, 3.0)), &scaled, 1e-12, &what);
    }
}

#[test]
fn jvp_and_hvp_match_directional_differences() {
    let (x, tx) = (0.45, 0.7);
    let h = 1e-5;
    for (it, m) in cases() {
        let what = format!("{} (on = {}, k = {})", it.name, m.on, m.k);
        let t = Gate {
            a: 0.3,
            b: -0.2,
            ws: vec![0.9, 0.1, -0.4],
            on: m.on,
            k: m.k,
        };
        let (v, d) = (it.jvp)(&m, x, &t, tx);
        assert_eq!(v, (it.f)(&m, x), "{what}: value");
        let shift = |s: f64| (it.f)(&shifted(&m, &t, s), x + s * tx);
        let want = (shift(h) - shift(-h)) / (2.0 * h);
        assert!((d - want).abs() < 1e-6, "{what}: jvp {d} vs {want}");
        let hv = (it.hvp)(&m, x, &t, tx);
        let at = |s: f64| flat_grad(&(it.grad)(&shifted(&m, &t, s), x + s * tx));
        let fd: Vec<f64> = at(h)
            .iter()
            .zip(at(-h))
            .map(|(p, q)| (p - q) / (2.0 * h))
            .collect();
        assert_close(&flat_grad(&hv), &fd, 1e-5, &format!("{what}: hvp"));
    }
}

#[test]
fn trace_and_formulas_of_a_gated_method() {
    let m = gate(true, 0);
    let t = m.gated_trace(1.5);
    assert_eq!(t.value("x").item(), 1.5);
    assert_eq!(t.grad("x").item(), 2.0 * m.a * 1.5);
    let names: Vec<&str> = Gate::gated_grad_formulas().iter().map(|p| p.0).collect();
    assert_eq!(names, ["self.a", "self.b", "x"]);
}

/// An enum field kept constant with `#[autodiff(skip)]`, matched in the body.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Act {
    Relu,
    Tanh,
}

#[derive(Clone, Debug, Differentiable)]
struct Layer {
    w: f64,
    c: f64,
    #[autodiff(skip)]
    act: Act,
}

impl Layer {
    #[differentiable]
    fn fwd(&self, x: f64) -> f64 {
        let z = self.w * x + self.c;
        match self.act {
            Act::Relu => z.max(0.0),
            Act::Tanh => z.tanh(),
        }
    }
}

#[test]
fn a_matched_enum_field() {
    let x = 1.5;
    for act in [Act::Relu, Act::Tanh] {
        let l = Layer {
            w: 0.5,
            c: -0.2,
            act,
        };
        let (g, gx) = l.fwd_grad(x);
        assert_eq!(g.act, act);
        let z: f64 = l.w * x + l.c;
        let dz = match act {
            Act::Relu => 1.0,
            Act::Tanh => 1.0 - z.tanh() * z.tanh(),
        };
        assert_eq!((g.w, g.c, gx), (dz * x, dz, dz * l.w), "{act:?}");
        let h = 1e-6;
        let at = |w: f64| Layer { w, ..l.clone() }.fwd(x);
        assert!((g.w - (at(l.w + h) - at(l.w - h)) / (2.0 * h)).abs() < 1e-6);
    }
}

/// The same rule in a free function: a constant float parameter and a constant struct's
/// integer field compared with integer literals, inside a condition kept as written.
#[differentiable(wrt(x))]
fn clipped(x: f64, c: f64, m: &Gate) -> f64 {
    if c > 0 && c < 10 && m.k >= 2 && c > -5 {
        c * x * x
    } else {
        x
    }
}

#[test]
fn literals_in_conditions_of_a_free_function() {
    let m = gate(true, 2);
    assert_eq!(clipped_grad(1.5, 2.0, &m), 6.0);
    assert_eq!(clipped_grad(1.5, 20.0, &m), 1.0);
    assert_eq!(clipped_grad(1.5, 2.0, &gate(true, 1)), 1.0);
}

/// `!=` in a condition kept as written reads the locals it names, like `==`: a shadowed
/// parameter (`let k = k + 1`) and a loop index bound again (`let i = j`). The `!` of `!=`
/// once read as a macro name (`i!`), so the name was left as written: the primal then
/// compared the parameter `k`, not the local, and `i` did not compile.
#[differentiable(wrt(x))]
fn shadowed(x: f64, k: usize) -> f64 {
    let k = k + 1;
    if k != 3 {
        x * x
    } else {
        x
    }
}

#[differentiable]
fn aliased_index(ws: &[f64], x: f64) -> f64 {
    let mut s = 0.0;
    for j in 0..ws.len() {
        let i = j;
        let c = if i != 1 { 1.0 } else { 0.0 };
        s += ws[j] * x * c;
    }
    s
}

#[test]
fn not_equal_reads_the_locals_it_names() {
    assert_eq!((shadowed(2.0, 2), shadowed_grad(2.0, 2)), (2.0, 1.0));
    assert_eq!((shadowed(2.0, 1), shadowed_grad(2.0, 1)), (4.0, 4.0));
    let ws = [1.0, 2.0, 3.0];
    assert_eq!(aliased_index(&ws, 1.5), 6.0);
    assert_eq!(aliased_index_grad(&ws, 1.5), (vec![1.5, 0.0, 1.5], 4.0));
    let m = gate(true, 0);
    // The enumerate index of a model's field, in a condition.
    assert_eq!(m.skip_second_grad(1.5).0.ws, vec![1.5, 0.0, 1.5]);
}
