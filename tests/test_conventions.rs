//! the crate documentation, "Gradients at non-differentiable points": the table, row by row, with the exact
//! numbers PyTorch gives. Also: NaN outside the domain propagates instead of being hidden.
//!
//! This file deliberately does not import `autodiff::Activations`: inside a differentiable body
//! `relu` must work without it.

use autodiff::differentiable;

// `x.abs()` at 0 → 0 (the minimum-norm subgradient of [-1, 1]).
#[differentiable]
fn abs(x: f64) -> f64 {
    x.abs()
}

// `relu(x)` at 0 → 0.
#[differentiable]
fn relu(x: f64) -> f64 {
    x.relu()
}

#[test]
fn abs_and_relu_at_zero() {
    assert_eq!(abs_grad(0.0), 0.0);
    assert_eq!(relu_grad(0.0), 0.0);
    // And away from the kink, the true derivative.
    assert_eq!(abs_grad(-2.0), -1.0);
    assert_eq!(abs_grad(2.0), 1.0);
    assert_eq!(relu_grad(-2.0), 0.0);
    assert_eq!(relu_grad(2.0), 1.0);
}

// sqrt and ln at 0: the derivative 1/(2 sqrt x), 1/x tends to +inf.
#[differentiable]
fn sqrt(x: f64) -> f64 {
    x.sqrt()
}

#[differentiable]
fn ln(x: f64) -> f64 {
    x.ln()
}

#[test]
fn sqrt_and_ln_at_zero_are_plus_inf() {
    assert_eq!(sqrt_grad(0.0), f64::INFINITY);
    assert_eq!(ln_grad(0.0), f64::INFINITY);
    assert_eq!(sqrt_grad(4.0), 0.25);
    assert_eq!(ln_grad(4.0), 0.25);
}

// Piecewise-constant methods: derivative 0 everywhere, also at their jumps.
#[differentiable]
fn signum(x: f64) -> f64 {
    x.signum()
}

#[differentiable]
fn floor(x: f64) -> f64 {
    x.floor()
}

#[differentiable]
fn ceil(x: f64) -> f64 {
    x.ceil()
}

#[differentiable]
fn round(x: f64) -> f64 {
    x.round()
}

#[differentiable]
fn trunc(x: f64) -> f64 {
    x.trunc()
}

#[test]
fn piecewise_constant_methods_have_zero_gradient() {
    // Jumps (0, 1, 0.5, -1.5) and ordinary points.
    for &x in &[-2.7, -1.5, -1.0, -0.0, 0.0, 0.5, 1.0, 1.3, 2.5] {
        assert_eq!(signum_grad(x), 0.0, "signum at {x}");
        assert_eq!(floor_grad(x), 0.0, "floor at {x}");
        assert_eq!(ceil_grad(x), 0.0, "ceil at {x}");
        assert_eq!(round_grad(x), 0.0, "round at {x}");
        assert_eq!(trunc_grad(x), 0.0, "trunc at {x}");
    }
}

// `x**0` is the constant 1: derivative 0 everywhere, x = 0 included (0 · 0^-1 would be NaN).
#[rustfmt::skip]
#[differentiable]
fn pow_zero(x: f64) -> f64 {
    x**0
}

// Also with a float exponent 0, which goes through powf.
#[rustfmt::skip]
#[differentiable]
fn pow_zero_float(x: f64) -> f64 {
    x**0.0
}

#[test]
fn pow_zero_exponent_has_zero_gradient_everywhere() {
    for &x in &[-2.0, -0.0, 0.0, 0.5, 3.0] {
        assert_eq!(pow_zero(x), 1.0, "value at {x}");
        assert_eq!(pow_zero_grad(x), 0.0, "x**0 at {x}");
        assert_eq!(pow_zero_float_grad(x), 0.0, "x**0.0 at {x}");
    }
}

// `x**2` at 0: 2·0 = 0, never NaN; `x**1` at 0 is 1.
#[rustfmt::skip]
#[differentiable]
fn square(x: f64) -> f64 {
    x**2
}

#[rustfmt::skip]
#[differentiable]
fn pow_one(x: f64) -> f64 {
    x**1
}

#[test]
fn square_at_zero_is_zero() {
    assert_eq!(square_grad(0.0), 0.0);
    assert_eq!(square_grad(-0.0), 0.0);
    assert_eq!(pow_one_grad(0.0), 1.0);
}

// `x**y` with both differentiated.
#[rustfmt::skip]
#[differentiable]
fn pow_xy(x: f64, y: f64) -> f64 {
    x**y
}

#[test]
fn pow_xy_at_y_zero_has_zero_x_derivative() {
    // y = 0: x**0 = 1 for every x, so d/dx = 0, at x = 0 too; d/dy = ln x.
    assert_eq!(pow_xy_grad(0.0, 0.0).0, 0.0);
    assert_eq!(pow_xy_grad(2.0, 0.0).0, 0.0);
    assert_eq!(pow_xy_grad(-3.0, 0.0).0, 0.0);
    assert_eq!(pow_xy_grad(2.0, 0.0).1, 2f64.ln());
}

#[test]
fn pow_xy_at_x_zero_has_zero_y_derivative() {
    // x = 0, y >= 0: d/dy = 0^y ln 0 is taken as 0.
    for &y in &[0.0, 0.5, 1.0, 2.0, 3.5] {
        assert_eq!(pow_xy_grad(0.0, y).1, 0.0, "d/dy at (0, {y})");
    }
    // The x derivative there is y·0^(y-1): 0 for y > 1, 1 for y = 1.
    assert_eq!(pow_xy_grad(0.0, 2.0).0, 0.0);
    assert_eq!(pow_xy_grad(0.0, 1.0).0, 1.0);
}

#[test]
fn pow_xy_at_x_zero_in_forward_mode_and_second_order() {
    // A direction along y alone at x = 0 is d/dy = 0, although d/dx is infinite there for
    // y < 1 (the zero tangent along x adds nothing).
    assert_eq!(pow_xy_jvp(0.0, 0.5, 0.0, 1.0), (0.0, 0.0));
    assert_eq!(pow_xy_jvp(-3.0, 0.0, 1.0, 0.0), (1.0, 0.0));
    // The Hessian keeps the same convention: at (0, 2), x**y = x² along x and 0 along y.
    assert_eq!(pow_xy_hessian(0.0, 2.0), [[2.0, 0.0], [0.0, 0.0]]);
    assert_eq!(pow_xy_hessian(0.0, 3.0), [[0.0, 0.0], [0.0, 0.0]]);
    assert_eq!(pow_xy_hvp(0.0, 2.0, 1.0, 0.0), (2.0, 0.0));
    // Away from 0 the helpers are the ordinary second derivatives: against central
    // differences of the gradient.
    let (x, y, h) = (1.3, 2.1, 1e-6);
    let hess = pow_xy_hessian(x, y);
    let (gp, gm) = (pow_xy_grad(x + h, y), pow_xy_grad(x - h, y));
    let (gq, gn) = (pow_xy_grad(x, y + h), pow_xy_grad(x, y - h));
    let fd = [
        [(gp.0 - gm.0) / (2.0 * h), (gp.1 - gm.1) / (2.0 * h)],
        [(gq.0 - gn.0) / (2.0 * h), (gq.1 - gn.1) / (2.0 * h)],
    ];
    for i in 0..2 {
        for j in 0..2 {
            assert!(
                (hess[i][j] - fd[i][j]).abs() < 1e-7,
                "H[{i}][{j}] {hess:?} vs {fd:?}"
            );
        }
    }
    // By hand: H_xy = x^(y-1)(1 + y ln x), H_yy = x^y (ln x)².
    assert!((hess[0][1] - x.powf(y - 1.0) * (1.0 + y * x.ln())).abs() < 1e-12);
    assert!((hess[1][1] - x.powf(y) * x.ln().powi(2)).abs() < 1e-12);
}

// `a.max(b)`, `a.min(b)` at a = b: 0.5 each (PyTorch's evenly split gradient).
#[differentiable]
fn max(a: f64, b: f64) -> f64 {
    a.max(b)
}

#[differentiable]
fn min(a: f64, b: f64) -> f64 {
    a.min(b)
}

#[test]
fn max_min_ties_split_evenly() {
    assert_eq!(max_grad(1.5, 1.5), (0.5, 0.5));
    assert_eq!(min_grad(1.5, 1.5), (0.5, 0.5));
    assert_eq!(max_grad(0.0, 0.0), (0.5, 0.5));
    assert_eq!(min_grad(-2.0, -2.0), (0.5, 0.5));
    // Off the tie, all to the winner.
    assert_eq!(max_grad(2.0, 1.0), (1.0, 0.0));
    assert_eq!(max_grad(1.0, 2.0), (0.0, 1.0));
    assert_eq!(min_grad(2.0, 1.0), (0.0, 1.0));
    assert_eq!(min_grad(1.0, 2.0), (1.0, 0.0));
}

// `x.clamp(lo, hi)` at x = lo and x = hi: 0; strictly inside: 1; outside: 0.
#[differentiable]
fn clamp(x: f64) -> f64 {
    x.clamp(-1.0, 2.0)
}

#[test]
fn clamp_at_bounds_is_zero() {
    assert_eq!(clamp_grad(-1.0), 0.0);
    assert_eq!(clamp_grad(2.0), 0.0);
    assert_eq!(clamp_grad(0.5), 1.0);
    assert_eq!(clamp_grad(-3.0), 0.0);
    assert_eq!(clamp_grad(5.0), 0.0);
}

// Differentiated bounds: the gradient goes to the bound that is active; at a tie, to none.
#[differentiable]
fn clamp_bounds(x: f64, lo: f64, hi: f64) -> f64 {
    x.clamp(lo, hi) * hi
}

#[test]
fn clamp_with_differentiated_bounds() {
    // Inside: x·hi. Below: lo·hi. Above: hi². At a bound: the bound's own factor only.
    assert_eq!(clamp_bounds_grad(0.5, -1.0, 2.0), (2.0, 0.0, 0.5));
    assert_eq!(clamp_bounds_grad(-3.0, -1.0, 2.0), (0.0, 2.0, -1.0));
    assert_eq!(clamp_bounds_grad(5.0, -1.0, 2.0), (0.0, 0.0, 4.0));
    assert_eq!(clamp_bounds_grad(-1.0, -1.0, 2.0), (0.0, 0.0, -1.0));
    // Against central differences away from the ties, in every item that has a gradient.
    let h = 1e-6;
    for &(x, lo, hi) in &[(0.3, -1.0, 2.0), (-2.5, -1.0, 1.5), (3.0, 0.0, 2.5)] {
        let g = clamp_bounds_grad(x, lo, hi);
        let fd = [
            (clamp_bounds(x + h, lo, hi) - clamp_bounds(x - h, lo, hi)) / (2.0 * h),
            (clamp_bounds(x, lo + h, hi) - clamp_bounds(x, lo - h, hi)) / (2.0 * h),
            (clamp_bounds(x, lo, hi + h) - clamp_bounds(x, lo, hi - h)) / (2.0 * h),
        ];
        for (got, want) in [g.0, g.1, g.2].into_iter().zip(fd) {
            assert!(
                (got - want).abs() < 1e-8,
                "{g:?} vs {fd:?} at ({x}, {lo}, {hi})"
            );
        }
        let (_, d) = clamp_bounds_jvp(x, lo, hi, 0.3, -0.7, 1.1);
        assert!((d - (0.3 * g.0 - 0.7 * g.1 + 1.1 * g.2)).abs() < 1e-12);
        let hess = clamp_bounds_hessian(x, lo, hi);
        let (gp, gm) = (
            clamp_bounds_grad(x, lo, hi + h),
            clamp_bounds_grad(x, lo, hi - h),
        );
        let col = [
            (gp.0 - gm.0) / (2.0 * h),
            (gp.1 - gm.1) / (2.0 * h),
            (gp.2 - gm.2) / (2.0 * h),
        ];
        for i in 0..3 {
            assert!(
                (hess[i][2] - col[i]).abs() < 1e-6,
                "{hess:?} column 2 vs {col:?}"
            );
        }
    }
}

// Out of the domain the gradient is NaN, and NaN flows through the chain rule.
#[differentiable]
fn sqrt_chain(x: f64) -> f64 {
    3 * x.sqrt() + x
}

#[test]
fn nan_propagates() {
    assert!(sqrt_grad(-1.0).is_nan());
    assert!(sqrt(-1.0).is_nan());
    assert!(sqrt_chain_grad(-1.0).is_nan());
    let (v, g) = sqrt_value_and_grad(-1.0);
    assert!(v.is_nan() && g.is_nan());
}

// Second derivatives where the exponent is 0 or 1: none, also at x = 0 (no 0·∞).
#[rustfmt::skip]
#[differentiable(wrt(x))]
fn pow_c(x: f64, c: f64) -> f64 {
    x**c
}

#[differentiable]
fn power_series(x: f64, n: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..n {
        s += x.powi(i as i32) / (i as f64 + 1.0);
    }
    s
}

#[test]
fn second_derivatives_of_constant_powers_at_zero() {
    assert_eq!(pow_c_hessian(0.0, 0.0), 0.0);
    assert_eq!(pow_c_hessian(0.0, 1.0), 0.0);
    assert_eq!(pow_c_hessian(2.0, 3.0), 12.0);
    // Σ xⁱ/(i + 1): at 0 only the x²/3 term has a second derivative, 2/3.
    assert!((power_series_hessian(0.0, 5) - 2.0 / 3.0).abs() < 1e-15);
    let (x, h) = (0.4, 1e-6);
    let fd = (power_series_grad(x + h, 5) - power_series_grad(x - h, 5)) / (2.0 * h);
    assert!((power_series_hessian(x, 5) - fd).abs() < 1e-7);
}
