//! Custom derivative rules (`#[differentiable(vjp = rule)]`) in every generated item: the
//! forward items derived from the `vjp` rule (`_jvp`, `_jacobian`, and those of callers), the
//! second-order items of a differentiable rule (`vjp_differentiable`: `_hvp`, `_hessian`, and
//! callers' `_hvp`), and `_grad_formulas`. Each value is checked against a hand formula and
//! against central differences (Hessian-vector products against central differences of
//! `_grad`); what stays unavailable is checked to panic with its reason.

#![allow(clippy::needless_range_loop)]

use std::f64::consts::PI;

use autodiff::{differentiable, Tensor};

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

#[track_caller]
fn assert_close(a: f64, b: f64, tol: f64) {
    assert!(close(a, b, tol), "{a} vs {b}");
}

/// Central-difference step.
const H: f64 = 1e-5;
/// Agreement required with central differences.
const FD: f64 = 1e-7;

/// `(f(x + h) - f(x - h)) / 2h`.
fn fd(f: impl Fn(f64) -> f64, x: f64) -> f64 {
    (f(x + H) - f(x - H)) / (2.0 * H)
}

// ---------------------------------------------------------------------------------------------
// erf: a primal the macro cannot see into, with a first-order rule.

/// erf by its Taylor series, `2/√π Σ (-1)ⁿ x²ⁿ⁺¹ / (n! (2n + 1))`: to the last bits for
/// |x| <= 2, the range used here.
fn erf_series(x: f64) -> f64 {
    let mut term = x; // (-1)ⁿ x²ⁿ⁺¹ / n!
    let mut sum = x;
    for n in 1..80 {
        term *= -x * x / n as f64;
        sum += term / (2 * n + 1) as f64;
    }
    2.0 / PI.sqrt() * sum
}

/// erf'(x) = 2/√π e^{-x²}.
fn erf_d(x: f64) -> f64 {
    2.0 / PI.sqrt() * (-x * x).exp()
}

#[differentiable(vjp = erf_rule)]
fn erf(x: f64) -> f64 {
    erf_series(x)
}

fn erf_rule(x: f64, cotangent: f64) -> f64 {
    cotangent * 2.0 / PI.sqrt() * (-x * x).exp()
}

// uses_erf = erf(xy)·x + y: ∂x = erf'(xy)·xy + erf(xy), ∂y = erf'(xy)·x² + 1.
#[differentiable]
fn uses_erf(x: f64, y: f64) -> f64 {
    erf(x * y) * x + y
}

// vec_out = [erf(x), x, x²]: d/dx = [erf'(x), 1, 2x].
#[differentiable]
fn vec_out(x: f64) -> [f64; 3] {
    [erf(x), x, x * x]
}

#[test]
fn erf_first_order_items() {
    for &x in &[-1.3f64, 0.4, 1.1] {
        assert_eq!(erf(x), erf_series(x));
        let g = erf_grad(x);
        assert_close(g, erf_d(x), 1e-15);
        assert_close(g, fd(erf, x), FD);
        let (v, g2) = erf_value_and_grad(x);
        assert_eq!((v, g2), (erf(x), g));
        assert_close(erf_vjp(x, -2.5), -2.5 * erf_d(x), 1e-15);
        let (v, t) = erf_jvp(x, 1.0);
        assert_eq!(v, erf(x));
        assert_close(t, erf_d(x), 1e-15);
        assert_close(t, fd(erf, x), FD);
        let (_, t) = erf_jvp(x, 0.3);
        assert_close(t, 0.3 * erf_d(x), 1e-15);
        assert_close(erf_jacobian(x), erf_d(x), 1e-15);
    }
}

#[test]
fn erf_grad_formulas_name_the_derivative() {
    assert_eq!(erf_grad_formulas(), &[("x", "erf'(x)")]);
}

#[test]
fn caller_of_erf_first_order_items() {
    let (x, y) = (0.5f64, 0.7);
    let want = (
        erf_d(x * y) * x * y + erf(x * y),
        erf_d(x * y) * x * x + 1.0,
    );
    let fdx = fd(|x| uses_erf(x, y), x);
    let fdy = fd(|y| uses_erf(x, y), y);
    let g = uses_erf_grad(x, y);
    assert_close(g.0, want.0, 1e-14);
    assert_close(g.1, want.1, 1e-14);
    assert_close(g.0, fdx, FD);
    assert_close(g.1, fdy, FD);
    let (v, g2) = uses_erf_value_and_grad(x, y);
    assert_eq!(v, uses_erf(x, y));
    assert_close(g2.0, want.0, 1e-14);
    assert_close(g2.1, want.1, 1e-14);
    let vj = uses_erf_vjp(x, y, 2.0);
    assert_close(vj.0, 2.0 * want.0, 1e-14);
    assert_close(vj.1, 2.0 * want.1, 1e-14);
    // The example of the issue: along x only.
    let (v, t) = uses_erf_jvp(x, y, 1.0, 0.0);
    assert_eq!(v, uses_erf(x, y));
    assert_close(t, want.0, 1e-14);
    assert_close(t, fdx, FD);
    let (_, t) = uses_erf_jvp(x, y, 0.6, -0.8);
    assert_close(t, 0.6 * want.0 - 0.8 * want.1, 1e-14);
    let fdt = (uses_erf(x + 0.6 * H, y - 0.8 * H) - uses_erf(x - 0.6 * H, y + 0.8 * H)) / (2.0 * H);
    assert_close(t, fdt, FD);
    let j = uses_erf_jacobian(x, y);
    assert_close(j.0, want.0, 1e-14);
    assert_close(j.1, want.1, 1e-14);
    assert_eq!(
        uses_erf_grad_formulas(),
        &[
            ("x", "erf'(x*y)*x*y + erf(x*y)"),
            ("y", "erf'(x*y)*x**2 + 1")
        ]
    );
}

#[test]
fn array_result_through_erf() {
    let x = 0.4f64;
    let want = [erf_d(x), 1.0, 2.0 * x];
    let (v, t) = vec_out_jvp(x, 1.0);
    assert_eq!(v, vec_out(x));
    let (_, t2) = vec_out_jvp(x, -1.5);
    let j = vec_out_jacobian(x);
    for o in 0..3 {
        let fdo = fd(|x| vec_out(x)[o], x);
        assert_close(t[o], want[o], 1e-14);
        assert_close(t[o], fdo, FD);
        assert_close(t2[o], -1.5 * want[o], 1e-14);
        assert_close(j[o], want[o], 1e-14);
    }
    // The reverse mode agrees: <c, J·1> = Jᵀc.
    let c = [0.3, -1.0, 2.0];
    let vj = vec_out_vjp(x, c);
    assert_close(vj, (0..3).map(|o| c[o] * want[o]).sum(), 1e-14);
}

#[test]
#[should_panic(
    expected = "`erf_hvp` is not available: the derivative of `erf` is the first-order rule `erf_rule`; for second derivatives make the rule #[differentiable] and add `vjp_differentiable`"
)]
fn erf_hvp_panics() {
    erf_hvp(0.4, 1.0);
}

#[test]
#[should_panic(
    expected = "the Hessian of `erf` is not available: its derivative is the first-order rule `erf_rule`"
)]
fn erf_hessian_panics() {
    erf_hessian(0.4);
}

#[test]
#[should_panic(expected = "second derivatives through `erf` are not available")]
fn caller_hvp_through_erf_panics() {
    uses_erf_hvp(0.5, 0.7, 1.0, 0.0);
}

#[test]
#[should_panic(expected = "second derivatives through `erf` are not available")]
fn caller_hessian_through_erf_panics() {
    uses_erf_hessian(0.5, 0.7);
}

// ---------------------------------------------------------------------------------------------
// cube: a rule that is itself differentiable, so second derivatives go through it.

#[rustfmt::skip]
#[differentiable]
fn cube_rule(x: f64, cotangent: f64) -> f64 {
    cotangent * 3 * x**2
}

#[differentiable(vjp = cube_rule, vjp_differentiable)]
fn cube(x: f64) -> f64 {
    x * x * x
}

// uses_cube = sin(x³): ' = 3x² cos(x³), '' = 6x cos(x³) - 9x⁴ sin(x³).
#[differentiable]
fn uses_cube(x: f64) -> f64 {
    cube(x).sin()
}

#[test]
fn cube_every_item() {
    for &x in &[-0.8f64, 0.7, 2.0] {
        let d = 3.0 * x * x;
        let dd = 6.0 * x;
        assert_eq!(cube(x), x * x * x);
        assert_close(cube_grad(x), d, 1e-15);
        assert_close(cube_grad(x), fd(cube, x), FD);
        assert_eq!(cube_value_and_grad(x), (cube(x), cube_grad(x)));
        assert_close(cube_vjp(x, 0.5), 0.5 * d, 1e-15);
        let (v, t) = cube_jvp(x, 1.0);
        assert_eq!(v, cube(x));
        assert_close(t, d, 1e-15);
        assert_close(t, fd(cube, x), FD);
        assert_close(cube_jacobian(x), d, 1e-15);
        assert_close(cube_hessian(x), dd, 1e-15);
        assert_close(cube_hessian(x), fd(cube_grad, x), FD);
        assert_close(cube_hvp(x, 1.0), dd, 1e-15);
        assert_close(cube_hvp(x, -0.25), -0.25 * dd, 1e-15);
        assert_close(cube_hvp(x, 1.0), fd(cube_grad, x), FD);
    }
    assert_eq!(cube_hessian(2.0), 12.0);
    assert_eq!(cube_hvp(2.0, 1.0), 12.0);
    assert_eq!(cube_grad_formulas(), &[("x", "cube'(x)")]);
}

#[test]
fn caller_of_cube_every_item() {
    for &x in &[-0.8f64, 0.7, 1.2] {
        let c = x * x * x;
        let d = 3.0 * x * x * c.cos();
        let dd = 6.0 * x * c.cos() - 9.0 * x.powi(4) * c.sin();
        assert_close(uses_cube_grad(x), d, 1e-14);
        assert_close(uses_cube_grad(x), fd(uses_cube, x), FD);
        assert_eq!(
            uses_cube_value_and_grad(x),
            (uses_cube(x), uses_cube_grad(x))
        );
        assert_close(uses_cube_vjp(x, -2.0), -2.0 * d, 1e-14);
        let (v, t) = uses_cube_jvp(x, 1.0);
        assert_eq!(v, uses_cube(x));
        assert_close(t, d, 1e-14);
        assert_close(t, fd(uses_cube, x), FD);
        assert_close(uses_cube_jacobian(x), d, 1e-14);
        assert_close(uses_cube_hessian(x), dd, 1e-13);
        assert_close(uses_cube_hessian(x), fd(uses_cube_grad, x), FD);
        assert_close(uses_cube_hvp(x, 1.0), dd, 1e-13);
        assert_close(uses_cube_hvp(x, 0.5), 0.5 * dd, 1e-13);
        assert_close(uses_cube_hvp(x, 1.0), fd(uses_cube_grad, x), FD);
    }
    assert_eq!(
        uses_cube_grad_formulas(),
        &[("x", "(cube(x)).cos()*cube'(x)")]
    );
}

// ---------------------------------------------------------------------------------------------
// The derived forward items for other parameter kinds: several floats, an array, a slice, a
// tensor by reference; and a rule for an array result, whose `_jvp` needs a forward rule.

/// atan(x)·y, out of the macro's sight.
fn atan_times(x: f64, y: f64) -> f64 {
    x.atan() * y
}

#[differentiable(vjp = at_rule)]
fn at(x: f64, y: f64) -> f64 {
    atan_times(x, y)
}

fn at_rule(x: f64, y: f64, cotangent: f64) -> (f64, f64) {
    (cotangent * y / (1.0 + x * x), cotangent * x.atan())
}

// Σ aᵢ³ + s·a₀: ∂a = [3a₀² + s, 3a₁², 3a₂²], ∂s = a₀.
fn cubes(a: [f64; 3], s: f64) -> f64 {
    a.iter().map(|v| v * v * v).sum::<f64>() + s * a[0]
}

#[differentiable(vjp = arr_rule)]
fn arr(a: [f64; 3], s: f64) -> f64 {
    cubes(a, s)
}

fn arr_rule(a: [f64; 3], s: f64, cotangent: f64) -> ([f64; 3], f64) {
    let mut g = [0.0; 3];
    for i in 0..3 {
        g[i] = cotangent * 3.0 * a[i] * a[i];
    }
    g[0] += cotangent * s;
    (g, cotangent * a[0])
}

// Σ i·sin(aᵢ) (i from 1): ∂aᵢ = i·cos(aᵢ).
fn weighted_sines(a: &[f64]) -> f64 {
    a.iter()
        .enumerate()
        .map(|(i, v)| (i + 1) as f64 * v.sin())
        .sum()
}

#[differentiable(vjp = sines_rule)]
fn sines(a: &[f64]) -> f64 {
    weighted_sines(a)
}

fn sines_rule(a: &[f64], cotangent: f64) -> Vec<f64> {
    a.iter()
        .enumerate()
        .map(|(i, v)| cotangent * (i + 1) as f64 * v.cos())
        .collect()
}

// Σ wᵢ⁴: ∂w = 4w³.
fn quartic_sum(w: &Tensor<f64>) -> f64 {
    w.as_slice().iter().map(|v| v.powi(4)).sum()
}

#[differentiable(vjp = quartic_rule)]
fn quartic(w: &Tensor<f64>) -> f64 {
    quartic_sum(w)
}

fn quartic_rule(w: &Tensor<f64>, cotangent: f64) -> Tensor<f64> {
    let data = w.as_slice().iter().map(|v| cotangent * 4.0 * v.powi(3));
    Tensor::from_vec(data.collect(), w.shape())
}

#[differentiable]
fn uses_quartic(w: &Tensor<f64>, k: f64) -> f64 {
    quartic(w) * k + k * k
}

// pair = [x·y, x + y] with a rule and no forward rule.
fn pair_impl(x: f64, y: f64) -> [f64; 2] {
    [x * y, x + y]
}

#[differentiable(vjp = pair_rule)]
fn pair(x: f64, y: f64) -> [f64; 2] {
    pair_impl(x, y)
}

fn pair_rule(x: f64, y: f64, cotangent: [f64; 2]) -> (f64, f64) {
    (
        cotangent[0] * y + cotangent[1],
        cotangent[0] * x + cotangent[1],
    )
}

#[test]
fn two_float_parameters() {
    let (x, y) = (0.6f64, -1.4);
    let want = (y / (1.0 + x * x), x.atan());
    let (v, t) = at_jvp(x, y, 0.5, 2.0);
    assert_eq!(v, at(x, y));
    assert_close(t, 0.5 * want.0 + 2.0 * want.1, 1e-15);
    let fdt = (at(x + 0.5 * H, y + 2.0 * H) - at(x - 0.5 * H, y - 2.0 * H)) / (2.0 * H);
    assert_close(t, fdt, FD);
    let j = at_jacobian(x, y);
    assert_close(j.0, want.0, 1e-15);
    assert_close(j.1, want.1, 1e-15);
    assert_close(j.0, fd(|x| at(x, y), x), FD);
    assert_close(j.1, fd(|y| at(x, y), y), FD);
    assert_eq!(
        at_grad_formulas(),
        &[("x", "∂₁at(x, y)"), ("y", "∂₂at(x, y)")]
    );
}

#[test]
fn array_parameter() {
    let (a, s) = ([0.5, -1.0, 2.0], 0.7);
    let ta = [1.0, 0.25, -0.5];
    let ts = -2.0;
    let want_a = [3.0 * 0.25 + s, 3.0, 12.0];
    let want = (0..3).map(|i| want_a[i] * ta[i]).sum::<f64>() + a[0] * ts;
    let (v, t) = arr_jvp(a, s, ta, ts);
    assert_eq!(v, arr(a, s));
    assert_close(t, want, 1e-15);
    let shifted = |h: f64| {
        let mut b = a;
        for i in 0..3 {
            b[i] += h * ta[i];
        }
        arr(b, s + h * ts)
    };
    assert_close(t, fd(shifted, 0.0), FD);
    let (ja, js) = arr_jacobian(a, s);
    for i in 0..3 {
        assert_close(ja[i], want_a[i], 1e-15);
    }
    assert_close(js, a[0], 1e-15);
    assert_eq!(
        arr_grad_formulas(),
        &[("a", "∂₁arr(a, s)"), ("s", "∂₂arr(a, s)")]
    );
}

#[test]
fn slice_parameter() {
    let a: Vec<f64> = vec![0.3, -0.9, 1.7, 0.1];
    let ta = vec![1.0, -2.0, 0.5, 3.0];
    let want: f64 = (0..4).map(|i| (i + 1) as f64 * a[i].cos() * ta[i]).sum();
    let (v, t) = sines_jvp(&a, &ta);
    assert_eq!(v, sines(&a));
    assert_close(t, want, 1e-15);
    let shifted = |h: f64| {
        let b: Vec<f64> = a.iter().zip(&ta).map(|(x, d)| x + h * d).collect();
        sines(&b)
    };
    assert_close(t, fd(shifted, 0.0), FD);
    let j = sines_jacobian(&a);
    for i in 0..4 {
        assert_close(j[i], (i + 1) as f64 * a[i].cos(), 1e-15);
    }
}

#[test]
fn tensor_parameter_and_its_caller() {
    let w: Tensor<f64> = Tensor::from_vec(vec![0.5, -1.2, 0.8, 2.0, -0.3, 1.1], &[2, 3]);
    let tw = Tensor::from_vec(vec![1.0, 0.5, -1.0, 0.25, 2.0, -0.75], &[2, 3]);
    let dot: f64 = (0..6)
        .map(|i| 4.0 * w.as_slice()[i].powi(3) * tw.as_slice()[i])
        .sum();
    let (v, t) = quartic_jvp(&w, &tw);
    assert_eq!(v, quartic(&w));
    assert_close(t, dot, 1e-14);
    let shifted = |h: f64| quartic(&(&w + &(&tw * h)));
    assert_close(t, fd(shifted, 0.0), FD);
    let j = quartic_jacobian(&w);
    assert_eq!(j.shape(), &[2, 3]);
    for i in 0..6 {
        assert_close(j.as_slice()[i], 4.0 * w.as_slice()[i].powi(3), 1e-15);
    }
    // Through a call: uses = quartic(w)·k + k², tangent (tw, tk).
    let k = 1.5;
    let tk = -0.4;
    let (v, t) = uses_quartic_jvp(&w, k, &tw, tk);
    assert_eq!(v, uses_quartic(&w, k));
    assert_close(t, k * dot + (quartic(&w) + 2.0 * k) * tk, 1e-14);
    let shifted = |h: f64| uses_quartic(&(&w + &(&tw * h)), k + h * tk);
    assert_close(t, fd(shifted, 0.0), FD);
}

#[test]
fn array_result_rule_jacobian_by_reverse_passes() {
    let (x, y) = (0.8, -1.5);
    let (jx, jy) = pair_jacobian(x, y);
    assert_eq!(jx, [y, 1.0]);
    assert_eq!(jy, [x, 1.0]);
    for o in 0..2 {
        assert_close(jx[o], fd(|x| pair(x, y)[o], x), FD);
        assert_close(jy[o], fd(|y| pair(x, y)[o], y), FD);
    }
    let vj = pair_vjp(x, y, [2.0, -1.0]);
    assert_close(vj.0, 2.0 * y - 1.0, 1e-15);
    assert_close(vj.1, 2.0 * x - 1.0, 1e-15);
    assert_eq!(
        pair_grad_formulas(),
        &[("x", "∂₁pair(x, y)"), ("y", "∂₂pair(x, y)")]
    );
}

#[test]
#[should_panic(
    expected = "forward mode through `pair` is not available: it has a custom `vjp` rule only and its result is not a float; add a forward rule with `#[differentiable(vjp = .., jvp = rule)]`"
)]
fn array_result_rule_jvp_panics() {
    pair_jvp(0.8, -1.5, 1.0, 0.0);
}

#[test]
#[should_panic(
    expected = "`at_hvp` is not available: the derivative of `at` is the first-order rule `at_rule`"
)]
fn first_order_rule_hvp_panics() {
    at_hvp(0.6, -1.4, 1.0, 0.0);
}

// A tensor by value: `squares_jvp` clones it for the call of `squares`, then moves it into the rule.
fn sum_of_squares(w: Tensor<f64>) -> f64 {
    w.as_slice().iter().map(|v| v * v).sum()
}

#[differentiable(vjp = squares_rule)]
fn squares(w: Tensor<f64>) -> f64 {
    sum_of_squares(w)
}

fn squares_rule(w: Tensor<f64>, cotangent: f64) -> Tensor<f64> {
    &w * (2.0 * cotangent)
}

#[test]
fn tensor_by_value_parameter() {
    let w: Tensor<f64> = Tensor::from_vec(vec![0.5, -1.0, 2.0], &[3]);
    let tw = Tensor::from_vec(vec![1.0, 2.0, -0.5], &[3]);
    let (v, t) = squares_jvp(w.clone(), tw.clone());
    assert_eq!(v, 5.25);
    assert_close(t, 2.0 * (0.5 - 2.0 - 1.0), 1e-15);
    assert_close(t, fd(|h| squares(&w + &(&tw * h)), 0.0), FD);
}

// A generic function of `T: Float` with a generic rule.
fn softsign_impl<T: autodiff::Float>(x: T) -> T {
    x / (T::one() + x.abs())
}

#[differentiable(vjp = softsign_rule)]
fn softsign<T: autodiff::Float>(x: T) -> T {
    softsign_impl(x)
}

fn softsign_rule<T: autodiff::Float>(x: T, cotangent: T) -> T {
    cotangent / (T::one() + x.abs()).powi(2)
}

#[differentiable]
fn uses_softsign<T: autodiff::Float>(x: T, y: T) -> T {
    softsign(x * y) + y
}

#[test]
fn generic_rule_forward_items() {
    let (x, y) = (0.8f64, -1.5);
    let d = |u: f64| 1.0 / (1.0 + u.abs()).powi(2);
    let (v, t) = softsign_jvp(x, 2.0);
    assert_eq!(v, softsign(x));
    assert_close(t, 2.0 * d(x), 1e-15);
    assert_close(t, 2.0 * fd(softsign, x), FD);
    let (v, t) = uses_softsign_jvp(x, y, 1.0, 0.5);
    assert_eq!(v, uses_softsign(x, y));
    let want = d(x * y) * y + 0.5 * (d(x * y) * x + 1.0);
    assert_close(t, want, 1e-15);
    let fdt = (uses_softsign(x + H, y + 0.5 * H) - uses_softsign(x - H, y - 0.5 * H)) / (2.0 * H);
    assert_close(t, fdt, FD);
    let (v32, t32) = softsign_jvp(0.5f32, 1.0f32);
    assert_eq!(v32, softsign(0.5f32));
    assert!((t32 - 1.0 / 2.25).abs() < 1e-6);
}

/// The rule of `halfsq`: x·cotangent.
fn halfsq_rule(x: f64, cotangent: f64) -> f64 {
    cotangent * x
}

/// A custom-rule function whose body uses `**` and integer literals: rewritten like any body.
#[rustfmt::skip]
#[differentiable(vjp = halfsq_rule)]
fn halfsq(x: f64) -> f64 {
    x**2 / 2
}

#[test]
fn a_custom_rule_body_is_rewritten() {
    assert_eq!(halfsq(3.0), 4.5);
    assert_eq!(halfsq_grad(3.0), 3.0);
    let h = 1e-6;
    assert!((halfsq_grad(1.7) - (halfsq(1.7 + h) - halfsq(1.7 - h)) / (2.0 * h)).abs() < 1e-8);
}

#[test]
fn a_custom_rule_function_has_a_trace() {
    let t = halfsq_trace(3.0);
    assert_eq!(t.value("x").item(), 3.0);
    assert_eq!(t.grad("x").item(), halfsq_grad(3.0));
    assert!(t.to_string().contains("halfsq"));
}
