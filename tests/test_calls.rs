//! The call matrix: callee signature × argument form × generated item × context.
//!
//! Each cell is one caller, written by a `macro_rules!` from a context (plain, `if` arm, `for`
//! body, `while` body, `match` arm, generic `T` at f32 and f64) and an argument form (a
//! parameter passed straight through, a computed value, a `let` binding, a reference to a
//! computed value, a call's result, a literal, a constant, an array literal; callees with their own `wrt(..)`,
//! custom rules, every parameter kind and both result kinds). Every cell also gets a second
//! caller that calls the first (the "call" context). Each generated item of each caller is
//! checked against
//! central differences of the function itself: `_grad`, `_value_and_grad`, `_vjp`,
//! `_hessian` (central differences of `_grad`), `_trace` (the parameters' gradients) and
//! `_grad_formulas` (no internal item names), and the forward items `_jvp`, `_jacobian` and
//! `_hvp` (against the gradient, and central differences of the gradient). Adding a callee or a form is one line below.

#![allow(clippy::excessive_precision)]

use autodiff::Float;
use autodiff::{differentiable, tensor, Tensor};

// ---- Callees -------------------------------------------------------------------------

#[differentiable]
fn c_f64(x: f64) -> f64 {
    x.sin() * x
}

#[differentiable]
fn c_two(x: f64, y: f64) -> f64 {
    x * y.exp() + y * y
}

#[differentiable]
fn c_gen<T: Float>(x: T) -> T {
    x.sin() * x + x.exp()
}

#[differentiable]
fn c_gen2<T: Float>(x: T, y: T) -> T {
    x * y + y.cos()
}

#[differentiable(wrt(x))]
fn c_wrt(x: f64, k: f64) -> f64 {
    x * x * k
}

#[differentiable]
fn c_count(x: f64, n: usize) -> f64 {
    x.powi(2) * n as f64
}

// A callee with a loop: its Hessian goes through hyper-dual numbers.
#[differentiable]
fn c_loop(x: f64) -> f64 {
    let mut s = 0.0;
    for i in 1..4 {
        s += (x * i as f64).sin();
    }
    s
}

fn c_rule_derivative(x: f64, cotangent: f64) -> f64 {
    cotangent * (x.cos() * x + x.sin())
}

// A first-order custom rule: second-order items panic naming it.
#[differentiable(vjp = c_rule_derivative)]
fn c_rule(x: f64) -> f64 {
    x.sin() * x
}

#[differentiable]
fn c_rule2_derivative(x: f64, ct: f64) -> f64 {
    ct * (x.cos() * x + x.sin())
}

// A custom rule that is itself differentiable: second order goes through it.
#[differentiable(vjp = c_rule2_derivative, vjp_differentiable)]
fn c_rule2(x: f64) -> f64 {
    x.sin() * x
}

#[differentiable]
fn c_arr(a: [f64; 3]) -> f64 {
    a[0] * a[1] + a[2].sin()
}

#[differentiable]
fn c_slice(a: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..a.len() {
        s += a[i] * a[i] * (i as f64 + 1.0);
    }
    s
}

#[differentiable]
fn c_vec(a: Vec<f64>) -> f64 {
    let mut s = 0.0;
    for i in 0..a.len() {
        s += a[i].sin();
    }
    s
}

#[differentiable]
fn c_tref(v: &Tensor<f64>) -> f64 {
    (v * v).sum()
}

#[differentiable]
fn c_town(v: Tensor<f64>) -> f64 {
    (v.sin() * 2.0).sum()
}

#[differentiable]
fn c_tret(v: &Tensor<f64>) -> Tensor<f64> {
    v.sin() * v
}

#[differentiable]
fn c_tdot(v: &Tensor<f64>, w: &Tensor<f64>) -> f64 {
    (v * w).sum()
}

const K: f64 = 1.5;

// ---- Checks --------------------------------------------------------------------------

fn close(got: f64, want: f64, tol: f64, what: &str) {
    let scale = want.abs().max(1.0);
    assert!(
        (got - want).abs() <= tol * scale,
        "{what}: got {got}, expected {want}"
    );
}

const H: f64 = 1e-5;

/// Central differences of a function of two scalars.
fn fd2(f: &dyn Fn(f64, f64) -> f64, x: f64, y: f64) -> (f64, f64) {
    (
        (f(x + H, y) - f(x - H, y)) / (2.0 * H),
        (f(x, y + H) - f(x, y - H)) / (2.0 * H),
    )
}

/// The items of a caller `f(x, y)` of two scalars, as f64 closures.
struct Scalar2<'a> {
    f: &'a dyn Fn(f64, f64) -> f64,
    grad: &'a dyn Fn(f64, f64) -> (f64, f64),
    vag: &'a dyn Fn(f64, f64) -> (f64, (f64, f64)),
    vjp: &'a dyn Fn(f64, f64, f64) -> (f64, f64),
    hessian: &'a dyn Fn(f64, f64) -> [[f64; 2]; 2],
    trace: &'a dyn Fn(f64, f64) -> (f64, f64),
    jvp: &'a dyn Fn(f64, f64, f64, f64) -> (f64, f64),
    jacobian: &'a dyn Fn(f64, f64) -> (f64, f64),
    hvp: &'a dyn Fn(f64, f64, f64, f64) -> (f64, f64),
    formulas: &'static [(&'static str, &'static str)],
    /// Calls a function with a first-order custom rule: `_hessian` must panic naming it.
    first_order: Option<&'static str>,
    /// Calls a function whose rule gives first derivatives only: `_hvp` panics naming it
    /// (`_jvp` works: it is derived from the rule).
    no_hvp: Option<&'static str>,
    tol: f64,
}

fn check_scalar2(cell: &str, s: Scalar2) {
    for &(x, y) in &[(0.7, 0.4), (-0.3, 1.1)] {
        let at = format!("{cell} at ({x}, {y})");
        let want = fd2(s.f, x, y);
        let g = (s.grad)(x, y);
        close(g.0, want.0, s.tol, &format!("{at}: _grad.0"));
        close(g.1, want.1, s.tol, &format!("{at}: _grad.1"));
        let (v, vg) = (s.vag)(x, y);
        close(
            v,
            (s.f)(x, y),
            1e-12,
            &format!("{at}: _value_and_grad value"),
        );
        close(vg.0, g.0, 1e-12, &format!("{at}: _value_and_grad.0"));
        close(vg.1, g.1, 1e-12, &format!("{at}: _value_and_grad.1"));
        let vj = (s.vjp)(x, y, 2.5);
        close(vj.0, 2.5 * g.0, 1e-10, &format!("{at}: _vjp.0"));
        close(vj.1, 2.5 * g.1, 1e-10, &format!("{at}: _vjp.1"));
        let t = (s.trace)(x, y);
        close(t.0, g.0, 1e-10, &format!("{at}: _trace grad of x"));
        close(t.1, g.1, 1e-10, &format!("{at}: _trace grad of y"));
        // Forward mode: <∇f, t> along t = (0.3, -1.2); the Jacobian of a scalar is ∇f.
        let (v, dv) = (s.jvp)(x, y, 0.3, -1.2);
        close(v, (s.f)(x, y), 1e-12, &format!("{at}: _jvp value"));
        close(
            dv,
            0.3 * g.0 - 1.2 * g.1,
            1e-9,
            &format!("{at}: _jvp tangent"),
        );
        if let Some(name) = s.no_hvp {
            let msg = panic_message(|| (s.hvp)(x, y, 1.0, 0.0));
            assert!(msg.contains(name), "{at}: _hvp panic names `{name}`: {msg}");
        }
        let j = (s.jacobian)(x, y);
        close(j.0, g.0, 1e-9, &format!("{at}: _jacobian.0"));
        close(j.1, g.1, 1e-9, &format!("{at}: _jacobian.1"));
        match s.first_order {
            Some(name) => {
                let msg = panic_message(|| (s.hessian)(x, y));
                assert!(msg.contains(name), "{at}: panic names `{name}`: {msg}");
            }
            None => {
                let h = (s.hessian)(x, y);
                let gx = |x: f64, y: f64| (s.grad)(x, y).0;
                let gy = |x: f64, y: f64| (s.grad)(x, y).1;
                let (hxx, hxy) = fd2(&gx, x, y);
                let (hyx, hyy) = fd2(&gy, x, y);
                let tol = s.tol * 10.0;
                close(h[0][0], hxx, tol, &format!("{at}: _hessian[0][0]"));
                close(h[0][1], hxy, tol, &format!("{at}: _hessian[0][1]"));
                close(h[1][0], hyx, tol, &format!("{at}: _hessian[1][0]"));
                close(h[1][1], hyy, tol, &format!("{at}: _hessian[1][1]"));
                if s.no_hvp.is_none() {
                    let hv = (s.hvp)(x, y, 0.5, 2.0);
                    close(
                        hv.0,
                        h[0][0] * 0.5 + h[0][1] * 2.0,
                        1e-8,
                        &format!("{at}: _hvp.0"),
                    );
                    close(
                        hv.1,
                        h[1][0] * 0.5 + h[1][1] * 2.0,
                        1e-8,
                        &format!("{at}: _hvp.1"),
                    );
                }
            }
        }
    }
    check_formulas(cell, s.formulas, &["x", "y"]);
}

/// The message of the panic `f` must raise.
fn panic_message<R>(f: impl FnOnce() -> R) -> String {
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .err()
        .expect("the call panics");
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|m| m.to_string()))
        .unwrap_or_default()
}

/// Formulas name each differentiated parameter and read as mathematics: no generated item.
fn check_formulas(cell: &str, formulas: &[(&str, &str)], params: &[&str]) {
    let names: Vec<&str> = formulas.iter().map(|(p, _)| *p).collect();
    assert_eq!(names, params, "{cell}: formula parameters");
    for (p, text) in formulas {
        assert!(!text.is_empty(), "{cell}: formula of {p} is empty");
        for internal in ["__", "_vjp", "_pullback", "_dual"] {
            assert!(
                !text.contains(internal),
                "{cell}: formula of {p} names an internal item: {text}"
            );
        }
    }
}

// ---- Scalar cells: f64 callers ---------------------------------------------------------

/// One cell: a caller `f(x, y)` with the given body, a caller `g` of `f` (the call context),
/// and a test of every item of both.
macro_rules! scalar_cell {
    ($name:ident, $first_order:expr, $no_hvp:expr, { $($body:tt)* }) => {
        pub mod $name {
            use super::*;

            #[differentiable]
            pub fn f(x: f64, y: f64) -> f64 {
                $($body)*
            }

            #[differentiable]
            pub fn g(x: f64, y: f64) -> f64 {
                let v = f(x, y);
                v * x + f(y, 0.5)
            }

            macro_rules! items {
                ($f:ident, $grad:ident, $vag:ident, $vjp:ident, $hessian:ident, $trace:ident, $formulas:ident, $jvp:ident, $jacobian:ident, $hvp:ident) => {
                    Scalar2 {
                        f: &$f,
                        grad: &$grad,
                        vag: &$vag,
                        vjp: &$vjp,
                        hessian: &$hessian,
                        jvp: &$jvp,
                        jacobian: &$jacobian,
                        hvp: &$hvp,
                        trace: &|x, y| {
                            let t = $trace(x, y);
                            (t.grad("x").item(), t.grad("y").item())
                        },
                        formulas: $formulas(),
                        first_order: $first_order,
                        no_hvp: $no_hvp,
                        tol: 1e-6,
                    }
                };
            }

            #[test]
            fn items() {
                let cell = concat!(stringify!($name), "::f");
                check_scalar2(cell, items!(f, f_grad, f_value_and_grad, f_vjp, f_hessian, f_trace, f_grad_formulas, f_jvp, f_jacobian, f_hvp));
                let cell = concat!(stringify!($name), "::g");
                check_scalar2(cell, items!(g, g_grad, g_value_and_grad, g_vjp, g_hessian, g_trace, g_grad_formulas, g_jvp, g_jacobian, g_hvp));
            }
        }
    };
}

/// Every form in every context: `$ctx` wraps the form's block into a body.
macro_rules! scalar_forms {
    ($ctx:ident) => {
        pub mod $ctx {
            use super::*;
            scalar_context!($ctx, straight, None, None, { c_two(x, y) });
            scalar_context!($ctx, computed, None, None, { c_f64(x * y) });
            scalar_context!($ctx, let_bound, None, None, {
                let v = x * y;
                c_f64(v) + c_two(v, x)
            });
            scalar_context!($ctx, reference, None, None, {
                let v = x * y;
                let r = &v;
                c_f64(*r) * x * *r
            });
            scalar_context!($ctx, call_result, None, None, {
                c_two(c_f64(x), c_f64(y) + x)
            });
            scalar_context!($ctx, literal, None, None, {
                c_two(x, 0.5) + c_f64(2.0) * y
            });
            scalar_context!($ctx, constant, None, None, {
                let k: f64 = K;
                c_two(k, y) * c_count(x, 3)
            });
            scalar_context!($ctx, untyped_constant, None, None, { c_two(x, y) * K });
            scalar_context!($ctx, own_wrt, None, None, {
                c_wrt(x * y, 1.5) + c_wrt(y, 2.0)
            });
            scalar_context!($ctx, generic_callee, None, None, {
                c_gen(x * y) + c_gen2(x, y)
            });
            scalar_context!($ctx, loop_callee, None, None, { c_loop(x) * y });
            scalar_context!($ctx, custom_rule, Some("c_rule"), Some("c_rule"), {
                c_rule(x * y) + x
            });
            scalar_context!($ctx, custom_rule_second_order, None, None, {
                c_rule2(x * y) + x
            });
            // An array built in place: first-order and forward items; no Hessian (the
            // callee's hyper-dual form takes scalars only), a panic saying so.
            scalar_context!($ctx, array_literal, Some("passes an array"), None, {
                c_arr([x, x * y, 2.0]) * y
            });
        }
    };
}

macro_rules! scalar_context {
    (plain, $name:ident, $fo:expr, $nf:expr, { $($form:tt)* }) => {
        scalar_cell!($name, $fo, $nf, { $($form)* });
    };
    (if_arm, $name:ident, $fo:expr, $nf:expr, { $($form:tt)* }) => {
        scalar_cell!($name, $fo, $nf, {
            if x > 0.0 {
                let r = { $($form)* };
                r * 2.0
            } else {
                let r = { $($form)* };
                -r
            }
        });
    };
    (while_body, $name:ident, $fo:expr, $nf:expr, { $($form:tt)* }) => {
        scalar_cell!($name, $fo, $nf, {
            let mut s = 0.0;
            let mut i: usize = 0;
            while i < 2 {
                let r = { $($form)* };
                s += r * (i as f64 + 0.5);
                i += 1;
            }
            s
        });
    };
    (match_arm, $name:ident, $fo:expr, $nf:expr, { $($form:tt)* }) => {
        scalar_cell!($name, $fo, $nf, {
            let mode: usize = 1;
            match mode {
                0 => x,
                _ => {
                    let r = { $($form)* };
                    r * 1.5
                }
            }
        });
    };
    (for_body, $name:ident, $fo:expr, $nf:expr, { $($form:tt)* }) => {
        scalar_cell!($name, $fo, $nf, {
            let mut s = 0.0;
            for i in 0..3 {
                let r = { $($form)* };
                s += r * (i as f64 + 1.0);
            }
            s
        });
    };
}

scalar_forms!(plain);
scalar_forms!(if_arm);
scalar_forms!(for_body);
scalar_forms!(while_body);
scalar_forms!(match_arm);

// ---- Generic callers, at f32 and f64 ----------------------------------------------------

macro_rules! generic_cell {
    ($name:ident, { $($body:tt)* }) => {
        pub mod $name {
            use super::*;

            #[differentiable]
            pub fn f<T: Float>(x: T, y: T) -> T {
                $($body)*
            }

            #[differentiable]
            pub fn g<T: Float>(x: T, y: T) -> T {
                f(x, y) * y
            }

            macro_rules! at {
                ($t:ty, $tol:expr, $f:ident, $grad:ident, $vag:ident, $vjp:ident, $hessian:ident, $trace:ident, $formulas:ident, $jvp:ident, $jacobian:ident, $hvp:ident) => {
                    Scalar2 {
                        f: &|x, y| $f::<f64>(x, y),
                        grad: &|x, y| {
                            let g = $grad(x as $t, y as $t);
                            (g.0 as f64, g.1 as f64)
                        },
                        vag: &|x, y| {
                            let (v, g) = $vag(x as $t, y as $t);
                            (v as f64, (g.0 as f64, g.1 as f64))
                        },
                        vjp: &|x, y, c| {
                            let g = $vjp(x as $t, y as $t, c as $t);
                            (g.0 as f64, g.1 as f64)
                        },
                        hessian: &|x, y| {
                            let h = $hessian(x as $t, y as $t);
                            [[h[0][0] as f64, h[0][1] as f64], [h[1][0] as f64, h[1][1] as f64]]
                        },
                        trace: &|x, y| {
                            let t = $trace(x as $t, y as $t);
                            (t.grad("x").item() as f64, t.grad("y").item() as f64)
                        },
                        jvp: &|x, y, tx, ty| {
                            let (v, d) = $jvp(x as $t, y as $t, tx as $t, ty as $t);
                            (v as f64, d as f64)
                        },
                        jacobian: &|x, y| {
                            let j = $jacobian(x as $t, y as $t);
                            (j.0 as f64, j.1 as f64)
                        },
                        hvp: &|x, y, vx, vy| {
                            let h = $hvp(x as $t, y as $t, vx as $t, vy as $t);
                            (h.0 as f64, h.1 as f64)
                        },
                        formulas: $formulas(),
                        first_order: None,
                        no_hvp: None,
                        tol: $tol,
                    }
                };
            }

            #[test]
            fn f64_items() {
                let cell = concat!("generic::", stringify!($name), "::f::<f64>");
                check_scalar2(cell, at!(f64, 1e-6, f, f_grad, f_value_and_grad, f_vjp, f_hessian, f_trace, f_grad_formulas, f_jvp, f_jacobian, f_hvp));
                let cell = concat!("generic::", stringify!($name), "::g::<f64>");
                check_scalar2(cell, at!(f64, 1e-6, g, g_grad, g_value_and_grad, g_vjp, g_hessian, g_trace, g_grad_formulas, g_jvp, g_jacobian, g_hvp));
            }

            // f32 against central differences of the f64 instance.
            #[test]
            fn f32_items() {
                let cell = concat!("generic::", stringify!($name), "::f::<f32>");
                let s = at!(f32, 2e-3, f, f_grad, f_value_and_grad, f_vjp, f_hessian, f_trace, f_grad_formulas, f_jvp, f_jacobian, f_hvp);
                check_f32(cell, s);
                let cell = concat!("generic::", stringify!($name), "::g::<f32>");
                let s = at!(f32, 2e-3, g, g_grad, g_value_and_grad, g_vjp, g_hessian, g_trace, g_grad_formulas, g_jvp, g_jacobian, g_hvp);
                check_f32(cell, s);
            }
        }
    };
}

/// `check_scalar2` for an f32 instance, whose value differs from the f64 one by rounding.
fn check_f32(cell: &str, s: Scalar2) {
    let f32_value = |x: f64, y: f64| (s.vag)(x, y).0;
    let got = (s.vag)(0.7, 0.4).0;
    close(got, (s.f)(0.7, 0.4), 1e-5, &format!("{cell}: value"));
    let _ = f32_value;
    check_scalar2_loose(cell, s);
}

/// Gradients, vjp, trace and Hessian of an f32 instance against f64 central differences.
fn check_scalar2_loose(cell: &str, s: Scalar2) {
    for &(x, y) in &[(0.7, 0.4), (-0.3, 1.1)] {
        let at = format!("{cell} at ({x}, {y})");
        let want = fd2(s.f, x, y);
        let g = (s.grad)(x, y);
        close(g.0, want.0, s.tol, &format!("{at}: _grad.0"));
        close(g.1, want.1, s.tol, &format!("{at}: _grad.1"));
        let vj = (s.vjp)(x, y, 2.5);
        close(vj.0, 2.5 * g.0, s.tol, &format!("{at}: _vjp.0"));
        let t = (s.trace)(x, y);
        close(t.1, g.1, s.tol, &format!("{at}: _trace grad of y"));
        let (_, dv) = (s.jvp)(x, y, 0.3, -1.2);
        close(
            dv,
            0.3 * g.0 - 1.2 * g.1,
            s.tol,
            &format!("{at}: _jvp tangent"),
        );
        let hv = (s.hvp)(x, y, 1.0, 0.0);
        let h = (s.hessian)(x, y);
        close(hv.0, h[0][0], s.tol, &format!("{at}: _hvp.0"));
        let gx = |x: f64, y: f64| fd2(s.f, x, y).0;
        let (hxx, hxy) = fd2(&gx, x, y);
        close(h[0][0], hxx, 1e-2, &format!("{at}: _hessian[0][0]"));
        close(h[0][1], hxy, 1e-2, &format!("{at}: _hessian[0][1]"));
    }
    check_formulas(cell, s.formulas, &["x", "y"]);
}

mod generic {
    use super::*;
    generic_cell!(straight, { c_gen2(x, y) });
    generic_cell!(computed, { c_gen(x * y) });
    generic_cell!(let_bound, {
        let v = x * y;
        c_gen(v) + c_gen2(v, x)
    });
    generic_cell!(call_result, { c_gen2(c_gen(x), y) });
    generic_cell!(literal, { c_gen2(x, 0.5) + c_gen2(0.5, y) * y });
    generic_cell!(in_if, {
        if x > y {
            c_gen(x) * y
        } else {
            c_gen2(y, x)
        }
    });
    generic_cell!(in_loop, {
        let mut s = x;
        for _i in 0..2 {
            s = c_gen2(s, y) * 0.5;
        }
        s
    });
}

// ---- Sequence parameters: arrays, slices, Vec ------------------------------------------

fn fd_vec(f: &dyn Fn(&[f64]) -> f64, a: &[f64]) -> Vec<f64> {
    (0..a.len())
        .map(|i| {
            let mut p = a.to_vec();
            let mut m = a.to_vec();
            p[i] += H;
            m[i] -= H;
            (f(&p) - f(&m)) / (2.0 * H)
        })
        .collect()
}

fn close_all(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        close(*g, *w, 1e-6, &format!("{what}[{i}]"));
    }
}

macro_rules! seq_cell {
    ($name:ident, $ty:ty, $make:expr, { $($body:tt)* }) => {
        pub mod $name {
            use super::*;

            #[differentiable]
            pub fn f(a: $ty, y: f64) -> f64 {
                $($body)*
            }

            #[test]
            fn items() {
                let make = $make;
                let a0 = [0.3, -0.8, 1.2];
                let y = 0.6;
                let value = |a: &[f64]| f(make(a), y);
                let want = fd_vec(&value, &a0);
                let want_y = (f(make(&a0), y + H) - f(make(&a0), y - H)) / (2.0 * H);
                let cell = stringify!($name);
                let (ga, gy) = f_grad(make(&a0), y);
                close_all(&ga[..], &want, &format!("{cell}: _grad.0"));
                close(gy, want_y, 1e-6, &format!("{cell}: _grad.1"));
                let (v, (va, vy)) = f_value_and_grad(make(&a0), y);
                close(v, f(make(&a0), y), 1e-12, &format!("{cell}: value"));
                close_all(&va[..], &ga[..], &format!("{cell}: _value_and_grad.0"));
                close(vy, gy, 1e-12, &format!("{cell}: _value_and_grad.1"));
                let (ja, jy) = f_vjp(make(&a0), y, 2.0);
                let twice: Vec<f64> = ga.iter().map(|g| 2.0 * g).collect();
                close_all(&ja[..], &twice, &format!("{cell}: _vjp.0"));
                close(jy, 2.0 * gy, 1e-12, &format!("{cell}: _vjp.1"));
                let t = f_trace(make(&a0), y);
                close(t.grad("y").item(), gy, 1e-10, &format!("{cell}: _trace grad of y"));
                check_formulas(cell, f_grad_formulas(), &["a", "y"]);
                // Forward mode along (ta, 0.7); the Hessian along it by central differences
                // of the gradient.
                let ta = [0.2, -0.5, 0.9];
                let (v, dv) = f_jvp(make(&a0), y, make(&ta), 0.7);
                close(v, f(make(&a0), y), 1e-12, &format!("{cell}: _jvp value"));
                let want_dv: f64 = ga.iter().zip(&ta).map(|(g, t)| g * t).sum::<f64>() + 0.7 * gy;
                close(dv, want_dv, 1e-9, &format!("{cell}: _jvp tangent"));
                let (ja, jy) = f_jacobian(make(&a0), y);
                close_all(&ja[..], &ga[..], &format!("{cell}: _jacobian.0"));
                close(jy, gy, 1e-9, &format!("{cell}: _jacobian.1"));
                let (ha, hy) = f_hvp(make(&a0), y, make(&ta), 0.7);
                let shifted = |s: f64| {
                    let a: Vec<f64> = a0.iter().zip(&ta).map(|(a, t)| a + s * t).collect();
                    f_grad(make(&a), y + s * 0.7)
                };
                let (gp, gm) = (shifted(H), shifted(-H));
                let want_ha: Vec<f64> =
                    gp.0.iter().zip(gm.0.iter()).map(|(p, m)| (p - m) / (2.0 * H)).collect();
                close_all(&ha[..], &want_ha, &format!("{cell}: _hvp.0"));
                close(hy, (gp.1 - gm.1) / (2.0 * H), 1e-6, &format!("{cell}: _hvp.1"));
            }
        }
    };
}

mod sequences {
    use super::*;
    fn arr(a: &[f64]) -> [f64; 3] {
        [a[0], a[1], a[2]]
    }
    fn slice(a: &[f64]) -> &[f64] {
        a
    }
    fn vec(a: &[f64]) -> Vec<f64> {
        a.to_vec()
    }
    seq_cell!(array_straight, [f64; 3], arr, { c_arr(a) * y });
    seq_cell!(array_in_if, [f64; 3], arr, {
        if y > 0.0 {
            c_arr(a) * y
        } else {
            c_arr(a)
        }
    });
    seq_cell!(array_in_loop, [f64; 3], arr, {
        let mut s = 0.0;
        for i in 0..2 {
            s += c_arr(a) * y * (i as f64 + 1.0);
        }
        s
    });
    seq_cell!(slice_straight, &[f64], slice, { c_slice(a) * y });
    // `&a` of an array passed to a `&[T]` callee (its gradient comes back as the array).
    seq_cell!(array_as_slice, [f64; 3], arr, { c_slice(&a) * y });
    seq_cell!(slice_with_element, &[f64], slice, {
        c_slice(a) + c_f64(a[1] * y)
    });
    seq_cell!(slice_in_if, &[f64], slice, {
        if y > 0.0 {
            c_slice(a) * y
        } else {
            c_slice(a)
        }
    });
    seq_cell!(vec_straight, Vec<f64>, vec, { c_vec(a) * y });
    seq_cell!(vec_in_if, Vec<f64>, vec, {
        if y > 0.0 {
            c_vec(a) * y
        } else {
            y
        }
    });
}

// ---- Tensor parameters and results ----------------------------------------------------

fn fd_tensor(f: &dyn Fn(&Tensor<f64>) -> f64, t: &Tensor<f64>) -> Vec<f64> {
    let shape = t.shape().to_vec();
    fd_vec(&|a| f(&Tensor::from_vec(a.to_vec(), &shape)), t.as_slice())
}

macro_rules! tensor_cell {
    ($name:ident, { $($body:tt)* }) => {
        pub mod $name {
            use super::*;

            #[differentiable]
            pub fn f(v: &Tensor<f64>, w: &Tensor<f64>) -> f64 {
                $($body)*
            }

            // The call context: `f` called with a reference and with a computed tensor.
            #[differentiable]
            pub fn g(v: &Tensor<f64>, w: &Tensor<f64>) -> f64 {
                let u = v * 0.5;
                f(v, w) + f(&u, w)
            }

            macro_rules! check {
                ($cell:expr, $f:ident, $grad:ident, $vag:ident, $vjp:ident, $trace:ident, $formulas:ident, $jvp:ident, $jacobian:ident, $hvp:ident) => {{
                    let v = tensor![0.3, -0.7, 1.1];
                    let w = tensor![0.5, 0.9, -0.4];
                    let cell = $cell;
                    let want_v = fd_tensor(&|t| $f(t, &w), &v);
                    let want_w = fd_tensor(&|t| $f(&v, t), &w);
                    let (gv, gw) = $grad(&v, &w);
                    close_all(gv.as_slice(), &want_v, &format!("{cell}: _grad.0"));
                    close_all(gw.as_slice(), &want_w, &format!("{cell}: _grad.1"));
                    let (value, (vv, vw)) = $vag(&v, &w);
                    close(value, $f(&v, &w), 1e-12, &format!("{cell}: value"));
                    close_all(vv.as_slice(), gv.as_slice(), &format!("{cell}: _value_and_grad.0"));
                    close_all(vw.as_slice(), gw.as_slice(), &format!("{cell}: _value_and_grad.1"));
                    let (jv, _) = $vjp(&v, &w, 3.0);
                    let thrice: Vec<f64> = gv.as_slice().iter().map(|g| 3.0 * g).collect();
                    close_all(jv.as_slice(), &thrice, &format!("{cell}: _vjp.0"));
                    let t = $trace(&v, &w);
                    close_all(t.grad("v").as_slice(), gv.as_slice(), &format!("{cell}: _trace grad of v"));
                    check_formulas(cell, $formulas(), &["v", "w"]);
                    let (tv, tw) = (tensor![0.2, -0.5, 0.9], tensor![1.0, 0.1, -0.3]);
                    let dot = |a: &Tensor<f64>, b: &Tensor<f64>| -> f64 {
                        a.as_slice().iter().zip(b.as_slice()).map(|(x, y)| x * y).sum()
                    };
                    let (value, dv) = $jvp(&v, &w, &tv, &tw);
                    close(value, $f(&v, &w), 1e-12, &format!("{cell}: _jvp value"));
                    close(dv, dot(&gv, &tv) + dot(&gw, &tw), 1e-9, &format!("{cell}: _jvp tangent"));
                    let (jv, jw) = $jacobian(&v, &w);
                    close_all(jv.as_slice(), gv.as_slice(), &format!("{cell}: _jacobian.0"));
                    close_all(jw.as_slice(), gw.as_slice(), &format!("{cell}: _jacobian.1"));
                    let (hv, _) = $hvp(&v, &w, &tv, &tw);
                    let shifted = |s: f64| $grad(&(&v + &(&tv * s)), &(&w + &(&tw * s)));
                    let (gp, gm) = (shifted(H), shifted(-H));
                    let want: Vec<f64> = gp.0.as_slice().iter().zip(gm.0.as_slice()).map(|(p, m)| (p - m) / (2.0 * H)).collect();
                    close_all(hv.as_slice(), &want, &format!("{cell}: _hvp.0"));
                }};
            }

            #[test]
            fn items() {
                check!(concat!(stringify!($name), "::f"), f, f_grad, f_value_and_grad, f_vjp, f_trace, f_grad_formulas, f_jvp, f_jacobian, f_hvp);
                check!(concat!(stringify!($name), "::g"), g, g_grad, g_value_and_grad, g_vjp, g_trace, g_grad_formulas, g_jvp, g_jacobian, g_hvp);
            }
        }
    };
}

mod tensors {
    use super::*;
    tensor_cell!(straight, { c_tdot(v, w) });
    tensor_cell!(reference_param, { c_tref(v) * c_tref(w) });
    tensor_cell!(computed_reference, { c_tref(&(v * w)) });
    tensor_cell!(let_bound, {
        let u = v * w;
        c_tref(&u) + c_tdot(&u, v)
    });
    tensor_cell!(owned_argument, {
        let u = v + w;
        c_town(u)
    });
    tensor_cell!(call_result, { c_tref(&c_tret(v)) + c_tdot(&c_tret(w), v) });
    tensor_cell!(tensor_result, {
        let p = c_tret(v);
        (p * w).sum()
    });
    tensor_cell!(constant, {
        c_tdot(v, &tensor![1.0, 2.0, 3.0]) * c_tref(w) * K
    });
    tensor_cell!(in_if, {
        if v.sum() > 0.0 {
            c_tdot(v, w)
        } else {
            c_tref(v)
        }
    });
    tensor_cell!(in_loop, {
        let mut s = 0.0;
        for i in 0..2 {
            s += c_tdot(v, w) * (i as f64 + 1.0);
        }
        s
    });
}

// ---- Hand-derived values for a few cells ----------------------------------------------

// f = c_two(x, y) = x·eʸ + y², so ∂f/∂x = eʸ, ∂f/∂y = x·eʸ + 2y, ∂²f/∂x∂y = eʸ.
#[test]
fn hand_derived_straight_call() {
    let (x, y) = (0.7_f64, 0.4_f64);
    let (gx, gy) = plain::straight::f_grad(x, y);
    close(gx, y.exp(), 1e-14, "∂/∂x");
    close(gy, x * y.exp() + 2.0 * y, 1e-14, "∂/∂y");
    let h = plain::straight::f_hessian(x, y);
    close(h[0][1], y.exp(), 1e-14, "∂²/∂x∂y");
    close(h[1][1], x * y.exp() + 2.0, 1e-14, "∂²/∂y²");
}

// The trace names a call's node by its `let` and the callee; the formula uses the callee's
// derivative by name: f = c_f64(v) + c_two(v, x) with v = x·y.
#[test]
fn trace_and_formula_of_a_call() {
    let t = plain::let_bound::f_trace(0.7, 0.4);
    assert!(t.names().contains(&"v"), "names: {:?}", t.names());
    let (gx, _) = plain::let_bound::f_grad(0.7, 0.4);
    close(t.grad("x").item(), gx, 1e-12, "trace grad of x");
    let dot = t.to_dot();
    assert!(dot.contains("c_f64") && dot.contains("c_two"), "{dot}");
    let formulas = plain::computed::f_grad_formulas();
    assert_eq!(formulas[0], ("x", "c_f64'(x*y)*y"));
    let formulas = plain::straight::f_grad_formulas();
    assert_eq!(formulas[1], ("y", "∂₂c_two(x, y)"));
}

// A caller written inside a `macro_rules!` definition: its names carry the macro's hygiene,
// and the arguments of its calls must still resolve.
macro_rules! caller_in_macro {
    () => {
        #[differentiable]
        pub fn hygienic(x: f64) -> f64 {
            let v = x * 2.0;
            c_f64(v) + c_count(v, 2)
        }
    };
}
caller_in_macro!();

// d/dx [c_f64(2x) + 2·(2x)²] = 2·(sin(2x) + 2x·cos(2x)) + 16x
#[test]
fn calls_written_by_macro_rules() {
    let x = 0.3_f64;
    let want = 2.0 * ((2.0 * x).sin() + 2.0 * x * (2.0 * x).cos()) + 16.0 * x;
    close(hygienic_grad(x), want, 1e-12, "hygienic_grad");
}

/// A call whose arguments are all constants is kept as written; an integer literal there is
/// a float like everywhere in a body (`scale_by(c, 2)` with `k: f64`), and stays an integer
/// for an integer parameter (`repeat(c, 3)` with `n: usize`). Found by a random corpus.
#[differentiable(wrt(a))]
fn scale_by(a: f64, k: f64) -> f64 {
    k * a
}

fn repeat(a: f64, n: usize) -> f64 {
    a * n as f64
}

#[differentiable(wrt(x))]
fn constant_calls_with_integer_literals(x: f64) -> f64 {
    let c = x.round();
    let s = Some(2);
    x * scale_by(c, 2) + repeat(c, 3) * x + s.unwrap_or(0) as f64
}

#[test]
fn integer_literals_in_constant_calls() {
    let x = 1.2;
    // c = 1: f = 2x + 3x + 2.
    assert_eq!(constant_calls_with_integer_literals(x), 5.0 * x + 2.0);
    assert_eq!(constant_calls_with_integer_literals_grad(x), 5.0);
}
