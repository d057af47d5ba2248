//! A struct parameter taken by value (`fn loss(m: Quad, ..)` with `wrt(m)`): every generated
//! item takes it by value too, and each is checked against central or directional
//! differences and hand formulas.

use autodiff::{differentiable, Differentiable};

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Quad {
    a: f64,
    b: f64,
}

/// `a x² + sin(b x)`.
#[differentiable(wrt(m, x))]
fn energy(m: Quad, x: f64) -> f64 {
    m.a * x * x + (m.b * x).sin()
}

fn quad() -> Quad {
    Quad { a: 0.7, b: -1.3 }
}

/// [∂/∂a, ∂/∂b, ∂/∂x] by hand.
fn hand(m: &Quad, x: f64) -> [f64; 3] {
    let c = (m.b * x).cos();
    [x * x, x * c, 2.0 * m.a * x + m.b * c]
}

fn flat(g: &(Quad, f64)) -> Vec<f64> {
    vec![g.0.a, g.0.b, g.1]
}

fn central(m: &Quad, x: f64) -> Vec<f64> {
    let h = 1e-6;
    let f = |a: f64, b: f64, x: f64| energy(Quad { a, b }, x);
    vec![
        (f(m.a + h, m.b, x) - f(m.a - h, m.b, x)) / (2.0 * h),
        (f(m.a, m.b + h, x) - f(m.a, m.b - h, x)) / (2.0 * h),
        (f(m.a, m.b, x + h) - f(m.a, m.b, x - h)) / (2.0 * h),
    ]
}

fn assert_close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (k, (a, b)) in got.iter().zip(want).enumerate() {
        assert!((a - b).abs() < tol, "{what}, entry {k}: {a} vs {b}");
    }
}

#[test]
fn reverse_items_match_hand_formulas_and_central_differences() {
    let (m, x) = (quad(), 0.9);
    let g = energy_grad(m.clone(), x);
    assert_close(&flat(&g), &hand(&m, x), 1e-12, "grad vs hand");
    assert_close(&flat(&g), &central(&m, x), 1e-6, "grad vs central");
    let (v, vg) = energy_value_and_grad(m.clone(), x);
    assert_eq!(v, energy(m.clone(), x));
    assert_close(&flat(&vg), &flat(&g), 1e-15, "value_and_grad");
    let vjp = energy_vjp(m.clone(), x, -2.0);
    let want: Vec<f64> = flat(&g).iter().map(|d| -2.0 * d).collect();
    assert_close(&flat(&vjp), &want, 1e-12, "vjp");
}

#[test]
fn forward_items_match_directional_differences() {
    let (m, x) = (quad(), 0.9);
    let (t, tx) = (Quad { a: 0.4, b: -0.6 }, 0.25);
    let h = 1e-5;
    let along = |s: f64| {
        let p = Quad {
            a: m.a + s * t.a,
            b: m.b + s * t.b,
        };
        (p, x + s * tx)
    };
    let (v, d) = energy_jvp(m.clone(), x, t.clone(), tx);
    assert_eq!(v, energy(m.clone(), x));
    let (p, q) = (along(h), along(-h));
    let want = (energy(p.0, p.1) - energy(q.0, q.1)) / (2.0 * h);
    assert!((d - want).abs() < 1e-6, "jvp {d} vs {want}");
    let hv = energy_hvp(m.clone(), x, t.clone(), tx);
    let (p, q) = (along(h), along(-h));
    let (gp, gq) = (energy_grad(p.0, p.1), energy_grad(q.0, q.1));
    let fd: Vec<f64> = flat(&gp)
        .iter()
        .zip(flat(&gq))
        .map(|(a, b)| (a - b) / (2.0 * h))
        .collect();
    assert_close(&flat(&hv), &fd, 1e-5, "hvp");
}

#[test]
fn hessian_over_the_flat_parameters() {
    let (m, x) = (quad(), 0.9);
    let hs = energy_hessian(m.clone(), x);
    let (s, c) = ((m.b * x).sin(), (m.b * x).cos());
    // Flat order: a, b, x.
    let want = [
        [0.0, 0.0, 2.0 * x],
        [0.0, -x * x * s, c - m.b * x * s],
        [2.0 * x, c - m.b * x * s, 2.0 * m.a - m.b * m.b * s],
    ];
    for (row, w) in hs.iter().zip(want) {
        assert_close(row, &w, 1e-12, "hessian");
    }
}
