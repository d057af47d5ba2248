//! Every float method that a `#[differentiable]` body accepts (the crate documentation, "Methods on floats
//! and tensors"), each composed with something so that the chain rule is exercised, checked at
//! a few points inside its domain twice: against the hand-derived closed form stated in the
//! comment, and against a central finite difference.

use autodiff::{differentiable, Activations, Float};

/// Central difference, step 1e-6 scaled to the magnitude of `x`.
fn fd(f: impl Fn(f64) -> f64, x: f64) -> f64 {
    let h = 1e-6 * x.abs().max(1.0);
    (f(x + h) - f(x - h)) / (2.0 * h)
}

/// `got` agrees with the closed form to rounding, and with finite differences to ~1e-6.
fn agree(what: &str, at: &str, got: f64, closed: f64, numeric: f64) {
    assert!(
        (got - closed).abs() <= 1e-12 * (1.0 + closed.abs()),
        "{what} at {at}: gradient {got}, closed form {closed}"
    );
    assert!(
        (got - numeric).abs() <= 1e-6 * (1.0 + numeric.abs()),
        "{what} at {at}: gradient {got}, finite difference {numeric}"
    );
}

/// One differentiated scalar: `f`, its `f_grad`, `f_value_and_grad` and the closed form.
fn check1(
    what: &str,
    f: fn(f64) -> f64,
    grad: fn(f64) -> f64,
    value_and_grad: fn(f64) -> (f64, f64),
    closed: fn(f64) -> f64,
    xs: &[f64],
) {
    for &x in xs {
        let g = grad(x);
        agree(what, &format!("x = {x}"), g, closed(x), fd(f, x));
        let (v, g2) = value_and_grad(x);
        // The value may be evaluated in Horner form, as the gradient is: equal within rounding.
        let tol = 1e-12 * f(x).abs().max(1.0);
        assert!(
            (v - f(x)).abs() <= tol,
            "{what}: value of _value_and_grad at {x}: {v} vs {}",
            f(x)
        );
        assert_eq!(g2, g, "{what}: gradient of _value_and_grad at {x}");
    }
}

type F2 = fn(f64, f64) -> f64;
type G2 = fn(f64, f64) -> (f64, f64);

/// Two differentiated scalars: both partial derivatives.
fn check2(what: &str, f: F2, grad: G2, closed: G2, points: &[(f64, f64)]) {
    for &(x, y) in points {
        let (gx, gy) = grad(x, y);
        let (cx, cy) = closed(x, y);
        let at = format!("({x}, {y})");
        agree(&format!("{what} d/dx"), &at, gx, cx, fd(|t| f(t, y), x));
        agree(&format!("{what} d/dy"), &at, gy, cy, fd(|t| f(x, t), y));
    }
}

const LN2: f64 = std::f64::consts::LN_2;
const LN10: f64 = std::f64::consts::LN_10;

// ---------------------------------------------------------------------------------------------
// Powers and roots.

// d/dx (2x + 1)^3 = 6 (2x + 1)^2
#[differentiable]
fn m_powi(x: f64) -> f64 {
    (2.0 * x + 1.0).powi(3)
}

#[test]
fn powi() {
    let closed = |x: f64| 6.0 * (2.0 * x + 1.0).powi(2);
    check1(
        "powi",
        m_powi,
        m_powi_grad,
        m_powi_value_and_grad,
        closed,
        &[0.3, -1.2, 2.0],
    );
}

// f = (x² + 1)^(y/2)
// d/dx = (y/2) (x² + 1)^(y/2 - 1) · 2x,  d/dy = (x² + 1)^(y/2) · ln(x² + 1) / 2
#[differentiable]
fn m_powf(x: f64, y: f64) -> f64 {
    (x * x + 1.0).powf(0.5 * y)
}

#[test]
fn powf() {
    let closed = |x: f64, y: f64| {
        let b = x * x + 1.0;
        (
            0.5 * y * b.powf(0.5 * y - 1.0) * 2.0 * x,
            b.powf(0.5 * y) * b.ln() * 0.5,
        )
    };
    check2(
        "powf",
        m_powf,
        m_powf_grad,
        closed,
        &[(0.7, 1.3), (1.5, -0.4), (-2.0, 2.5)],
    );
}

// d/dx sqrt(3x + 1) = 3 / (2 sqrt(3x + 1))
#[differentiable]
fn m_sqrt(x: f64) -> f64 {
    (3 * x + 1).sqrt()
}

#[test]
fn sqrt() {
    let closed = |x: f64| 3.0 / (2.0 * (3.0 * x + 1.0).sqrt());
    check1(
        "sqrt",
        m_sqrt,
        m_sqrt_grad,
        m_sqrt_value_and_grad,
        closed,
        &[0.5, 2.0, 10.0],
    );
}

// d/dx cbrt(2x) = 2 / (3 cbrt(2x)^2)   (also for x < 0)
#[differentiable]
fn m_cbrt(x: f64) -> f64 {
    (2 * x).cbrt()
}

#[test]
fn cbrt() {
    let closed = |x: f64| 2.0 / (3.0 * (2.0 * x).cbrt().powi(2));
    check1(
        "cbrt",
        m_cbrt,
        m_cbrt_grad,
        m_cbrt_value_and_grad,
        closed,
        &[0.4, -1.5, 3.0],
    );
}

// d/dx 1/(x² + 1) = -2x / (x² + 1)^2
#[differentiable]
fn m_recip(x: f64) -> f64 {
    (x * x + 1).recip()
}

#[test]
fn recip() {
    let closed = |x: f64| -2.0 * x / (x * x + 1.0).powi(2);
    check1(
        "recip",
        m_recip,
        m_recip_grad,
        m_recip_value_and_grad,
        closed,
        &[0.3, -1.7, 4.0],
    );
}

// d/dx hypot(2x, y) = 4x / hypot(2x, y),  d/dy = y / hypot(2x, y)
#[differentiable]
fn m_hypot(x: f64, y: f64) -> f64 {
    (2 * x).hypot(y)
}

#[test]
fn hypot() {
    let closed = |x: f64, y: f64| {
        let h = (2.0 * x).hypot(y);
        (4.0 * x / h, y / h)
    };
    check2(
        "hypot",
        m_hypot,
        m_hypot_grad,
        closed,
        &[(0.5, 1.0), (-1.5, 0.3), (2.0, -3.0)],
    );
}

// f = (2x)·y + z²:  d/dx = 2y,  d/dy = 2x,  d/dz = 2z
#[differentiable]
fn m_mul_add(x: f64, y: f64, z: f64) -> f64 {
    (2 * x).mul_add(y, z * z)
}

#[test]
fn mul_add() {
    for &(x, y, z) in &[(0.5, 1.5, -2.0), (-1.0, 3.0, 0.25), (2.0, -0.5, 1.0)] {
        let (gx, gy, gz) = m_mul_add_grad(x, y, z);
        let at = format!("({x}, {y}, {z})");
        agree(
            "mul_add d/dx",
            &at,
            gx,
            2.0 * y,
            fd(|t| m_mul_add(t, y, z), x),
        );
        agree(
            "mul_add d/dy",
            &at,
            gy,
            2.0 * x,
            fd(|t| m_mul_add(x, t, z), y),
        );
        agree(
            "mul_add d/dz",
            &at,
            gz,
            2.0 * z,
            fd(|t| m_mul_add(x, y, t), z),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Exponentials and logarithms.

// d/dx e^(x/2) = e^(x/2) / 2
#[differentiable]
fn m_exp(x: f64) -> f64 {
    (0.5 * x).exp()
}

#[test]
fn exp() {
    let closed = |x: f64| 0.5 * (0.5 * x).exp();
    check1(
        "exp",
        m_exp,
        m_exp_grad,
        m_exp_value_and_grad,
        closed,
        &[0.0, 1.3, -2.5],
    );
}

// d/dx 2^(3x) = 3 ln2 · 2^(3x)
#[differentiable]
fn m_exp2(x: f64) -> f64 {
    (3 * x).exp2()
}

#[test]
fn exp2() {
    let closed = |x: f64| 3.0 * LN2 * (3.0 * x).exp2();
    check1(
        "exp2",
        m_exp2,
        m_exp2_grad,
        m_exp2_value_and_grad,
        closed,
        &[0.2, -1.0, 1.5],
    );
}

// d/dx (e^(x²) - 1) = 2x e^(x²)
#[differentiable]
fn m_exp_m1(x: f64) -> f64 {
    (x * x).exp_m1()
}

#[test]
fn exp_m1() {
    let closed = |x: f64| 2.0 * x * (x * x).exp();
    check1(
        "exp_m1",
        m_exp_m1,
        m_exp_m1_grad,
        m_exp_m1_value_and_grad,
        closed,
        &[0.1, -0.8, 1.2],
    );
}

// d/dx ln(x² + 1) = 2x / (x² + 1)
#[differentiable]
fn m_ln(x: f64) -> f64 {
    (x * x + 1).ln()
}

#[test]
fn ln() {
    let closed = |x: f64| 2.0 * x / (x * x + 1.0);
    check1(
        "ln",
        m_ln,
        m_ln_grad,
        m_ln_value_and_grad,
        closed,
        &[0.5, -2.0, 3.0],
    );
}

// d/dx ln(1 + 2x) = 2 / (1 + 2x)
#[differentiable]
fn m_ln_1p(x: f64) -> f64 {
    (2 * x).ln_1p()
}

#[test]
fn ln_1p() {
    let closed = |x: f64| 2.0 / (1.0 + 2.0 * x);
    check1(
        "ln_1p",
        m_ln_1p,
        m_ln_1p_grad,
        m_ln_1p_value_and_grad,
        closed,
        &[0.1, 1.0, -0.3],
    );
}

// f = log_(b+1)(x²) = ln(x²) / ln(b + 1)
// d/dx = 2 / (x ln(b + 1)),  d/db = -ln(x²) / ((b + 1) ln(b + 1)²)
#[differentiable]
fn m_log(x: f64, b: f64) -> f64 {
    (x * x).log(b + 1)
}

#[test]
fn log() {
    let closed = |x: f64, b: f64| {
        let lb = (b + 1.0).ln();
        (2.0 / (x * lb), -(x * x).ln() / ((b + 1.0) * lb * lb))
    };
    check2(
        "log",
        m_log,
        m_log_grad,
        closed,
        &[(1.3, 1.0), (0.6, 3.0), (-2.5, 0.5)],
    );
}

// d/dx log2(3x) = 1 / (x ln2)
#[differentiable]
fn m_log2(x: f64) -> f64 {
    (3 * x).log2()
}

#[test]
fn log2() {
    let closed = |x: f64| 1.0 / (x * LN2);
    check1(
        "log2",
        m_log2,
        m_log2_grad,
        m_log2_value_and_grad,
        closed,
        &[0.2, 1.0, 7.5],
    );
}

// d/dx log10(x + 2) = 1 / ((x + 2) ln10)
#[differentiable]
fn m_log10(x: f64) -> f64 {
    (x + 2).log10()
}

#[test]
fn log10() {
    let closed = |x: f64| 1.0 / ((x + 2.0) * LN10);
    check1(
        "log10",
        m_log10,
        m_log10_grad,
        m_log10_value_and_grad,
        closed,
        &[-1.5, 0.0, 8.0],
    );
}

// ---------------------------------------------------------------------------------------------
// Trigonometric.

// d/dx sin(2x) = 2 cos(2x)
#[differentiable]
fn m_sin(x: f64) -> f64 {
    (2 * x).sin()
}

#[test]
fn sin() {
    let closed = |x: f64| 2.0 * (2.0 * x).cos();
    check1(
        "sin",
        m_sin,
        m_sin_grad,
        m_sin_value_and_grad,
        closed,
        &[0.3, 1.1, -2.0],
    );
}

// d/dx cos(x²) = -2x sin(x²)
#[differentiable]
fn m_cos(x: f64) -> f64 {
    (x * x).cos()
}

#[test]
fn cos() {
    let closed = |x: f64| -2.0 * x * (x * x).sin();
    check1(
        "cos",
        m_cos,
        m_cos_grad,
        m_cos_value_and_grad,
        closed,
        &[0.3, 1.1, -2.0],
    );
}

// d/dx tan(x/2) = 1 / (2 cos²(x/2))
#[differentiable]
fn m_tan(x: f64) -> f64 {
    (0.5 * x).tan()
}

#[test]
fn tan() {
    let closed = |x: f64| 0.5 / (0.5 * x).cos().powi(2);
    check1(
        "tan",
        m_tan,
        m_tan_grad,
        m_tan_value_and_grad,
        closed,
        &[0.3, 1.1, -2.0],
    );
}

// d/dx asin(x/2) = 1 / (2 sqrt(1 - x²/4))
#[differentiable]
fn m_asin(x: f64) -> f64 {
    (x / 2).asin()
}

#[test]
fn asin() {
    let closed = |x: f64| 0.5 / (1.0 - 0.25 * x * x).sqrt();
    check1(
        "asin",
        m_asin,
        m_asin_grad,
        m_asin_value_and_grad,
        closed,
        &[0.3, 1.5, -1.1],
    );
}

// d/dx acos(x/3) = -1 / (3 sqrt(1 - x²/9))
#[differentiable]
fn m_acos(x: f64) -> f64 {
    (x / 3).acos()
}

#[test]
fn acos() {
    let closed = |x: f64| -1.0 / (3.0 * (1.0 - x * x / 9.0).sqrt());
    check1(
        "acos",
        m_acos,
        m_acos_grad,
        m_acos_value_and_grad,
        closed,
        &[0.3, 2.5, -1.1],
    );
}

// d/dx atan(2x) = 2 / (1 + 4x²)
#[differentiable]
fn m_atan(x: f64) -> f64 {
    (2 * x).atan()
}

#[test]
fn atan() {
    let closed = |x: f64| 2.0 / (1.0 + 4.0 * x * x);
    check1(
        "atan",
        m_atan,
        m_atan_grad,
        m_atan_value_and_grad,
        closed,
        &[0.3, 1.1, -2.0],
    );
}

// f = atan2(2y, x - 1); with a = 2y, b = x - 1, r = a² + b²:
// d/dy = 2b / r,  d/dx = -a / r
#[differentiable]
fn m_atan2(y: f64, x: f64) -> f64 {
    (2 * y).atan2(x - 1)
}

#[test]
fn atan2() {
    let closed = |y: f64, x: f64| {
        let (a, b) = (2.0 * y, x - 1.0);
        let r = a * a + b * b;
        (2.0 * b / r, -a / r)
    };
    // One point in each of three quadrants, including b < 0 where atan2 ≠ atan(a/b).
    check2(
        "atan2",
        m_atan2,
        m_atan2_grad,
        closed,
        &[(0.5, 2.0), (1.0, -1.0), (-0.7, 0.2)],
    );
}

// ---------------------------------------------------------------------------------------------
// Hyperbolic.

// d/dx sinh(2x) = 2 cosh(2x)
#[differentiable]
fn m_sinh(x: f64) -> f64 {
    (2 * x).sinh()
}

#[test]
fn sinh() {
    let closed = |x: f64| 2.0 * (2.0 * x).cosh();
    check1(
        "sinh",
        m_sinh,
        m_sinh_grad,
        m_sinh_value_and_grad,
        closed,
        &[0.3, 1.1, -2.0],
    );
}

// d/dx cosh(x²) = 2x sinh(x²)
#[differentiable]
fn m_cosh(x: f64) -> f64 {
    (x * x).cosh()
}

#[test]
fn cosh() {
    let closed = |x: f64| 2.0 * x * (x * x).sinh();
    check1(
        "cosh",
        m_cosh,
        m_cosh_grad,
        m_cosh_value_and_grad,
        closed,
        &[0.3, 1.1, -1.6],
    );
}

// d/dx tanh(3x) = 3 (1 - tanh²(3x))
#[differentiable]
fn m_tanh(x: f64) -> f64 {
    (3 * x).tanh()
}

#[test]
fn tanh() {
    let closed = |x: f64| 3.0 * (1.0 - (3.0 * x).tanh().powi(2));
    check1(
        "tanh",
        m_tanh,
        m_tanh_grad,
        m_tanh_value_and_grad,
        closed,
        &[0.1, 0.6, -0.4],
    );
}

// d/dx asinh(2x) = 2 / sqrt(4x² + 1)
#[differentiable]
fn m_asinh(x: f64) -> f64 {
    (2 * x).asinh()
}

#[test]
fn asinh() {
    let closed = |x: f64| 2.0 / (4.0 * x * x + 1.0).sqrt();
    check1(
        "asinh",
        m_asinh,
        m_asinh_grad,
        m_asinh_value_and_grad,
        closed,
        &[0.3, 1.1, -2.0],
    );
}

// d/dx acosh(x² + 1) = 2x / sqrt((x² + 1)² - 1)
#[differentiable]
fn m_acosh(x: f64) -> f64 {
    (x * x + 1).acosh()
}

#[test]
fn acosh() {
    let closed = |x: f64| 2.0 * x / ((x * x + 1.0).powi(2) - 1.0).sqrt();
    check1(
        "acosh",
        m_acosh,
        m_acosh_grad,
        m_acosh_value_and_grad,
        closed,
        &[0.5, 1.5, -2.0],
    );
}

// d/dx atanh(x/2) = 1 / (2 (1 - x²/4))
#[differentiable]
fn m_atanh(x: f64) -> f64 {
    (x / 2).atanh()
}

#[test]
fn atanh() {
    let closed = |x: f64| 0.5 / (1.0 - 0.25 * x * x);
    check1(
        "atanh",
        m_atanh,
        m_atanh_grad,
        m_atanh_value_and_grad,
        closed,
        &[0.3, 1.5, -1.1],
    );
}

// ---------------------------------------------------------------------------------------------
// Piecewise: abs, signum, max, min, clamp, floor, ceil, round, trunc.

// d/dx |2x - 1| = 2 sign(2x - 1)
#[differentiable]
fn m_abs(x: f64) -> f64 {
    (2 * x - 1).abs()
}

#[test]
fn abs() {
    let closed = |x: f64| 2.0 * (2.0 * x - 1.0).signum();
    check1(
        "abs",
        m_abs,
        m_abs_grad,
        m_abs_value_and_grad,
        closed,
        &[0.1, 1.3, -2.0],
    );
}

// d/dx (x · sign(3x)) = sign(3x)  (signum has derivative 0)
#[differentiable]
fn m_signum(x: f64) -> f64 {
    x * (3 * x).signum()
}

#[test]
fn signum() {
    let closed = |x: f64| (3.0 * x).signum();
    check1(
        "signum",
        m_signum,
        m_signum_grad,
        m_signum_value_and_grad,
        closed,
        &[-1.0, 0.5, 2.0],
    );
}

// f = max(2x, y²): (2, 0) where 2x > y², else (0, 2y)
#[differentiable]
fn m_max(x: f64, y: f64) -> f64 {
    (2 * x).max(y * y)
}

#[test]
fn max() {
    let closed = |x: f64, y: f64| {
        if 2.0 * x > y * y {
            (2.0, 0.0)
        } else {
            (0.0, 2.0 * y)
        }
    };
    check2(
        "max",
        m_max,
        m_max_grad,
        closed,
        &[(1.0, 0.5), (0.2, -1.5), (-3.0, 0.1)],
    );
}

// f = min(x + 1, 3y): (1, 0) where x + 1 < 3y, else (0, 3)
#[differentiable]
fn m_min(x: f64, y: f64) -> f64 {
    (x + 1).min(3 * y)
}

#[test]
fn min() {
    let closed = |x: f64, y: f64| {
        if x + 1.0 < 3.0 * y {
            (1.0, 0.0)
        } else {
            (0.0, 3.0)
        }
    };
    check2(
        "min",
        m_min,
        m_min_grad,
        closed,
        &[(0.5, 1.0), (2.0, 0.4), (-2.0, -1.0)],
    );
}

// f = x · clamp(2x, -1, 1): 4x inside |2x| < 1, else clamp(2x, -1, 1)
#[differentiable]
fn m_clamp(x: f64) -> f64 {
    x * (2 * x).clamp(-1.0, 1.0)
}

#[test]
fn clamp() {
    let closed = |x: f64| {
        if (2.0 * x).abs() < 1.0 {
            4.0 * x
        } else {
            (2.0 * x).clamp(-1.0, 1.0)
        }
    };
    check1(
        "clamp",
        m_clamp,
        m_clamp_grad,
        m_clamp_value_and_grad,
        closed,
        &[0.2, 0.9, -3.0],
    );
}

// d/dx (floor(2x) + x²) = 2x  (floor has derivative 0)
#[differentiable]
fn m_floor(x: f64) -> f64 {
    (2 * x).floor() + x * x
}

#[test]
fn floor() {
    let closed = |x: f64| 2.0 * x;
    check1(
        "floor",
        m_floor,
        m_floor_grad,
        m_floor_value_and_grad,
        closed,
        &[0.3, -1.3, 2.6],
    );
}

// d/dx (ceil(2x) · x) = ceil(2x)
#[differentiable]
fn m_ceil(x: f64) -> f64 {
    (2 * x).ceil() * x
}

#[test]
fn ceil() {
    let closed = |x: f64| (2.0 * x).ceil();
    check1(
        "ceil",
        m_ceil,
        m_ceil_grad,
        m_ceil_value_and_grad,
        closed,
        &[0.3, -1.3, 2.6],
    );
}

// d/dx (round(3x) + sin x) = cos x
#[differentiable]
fn m_round(x: f64) -> f64 {
    (3 * x).round() + x.sin()
}

#[test]
fn round() {
    let closed = |x: f64| x.cos();
    check1(
        "round",
        m_round,
        m_round_grad,
        m_round_value_and_grad,
        closed,
        &[0.3, -1.1, 2.9],
    );
}

// d/dx (trunc(x²) + 3x) = 3
#[differentiable]
fn m_trunc(x: f64) -> f64 {
    (x * x).trunc() + 3 * x
}

#[test]
fn trunc() {
    let closed = |_: f64| 3.0;
    check1(
        "trunc",
        m_trunc,
        m_trunc_grad,
        m_trunc_value_and_grad,
        closed,
        &[0.3, -1.3, 2.1],
    );
}

// ---------------------------------------------------------------------------------------------
// Activations from the runtime.

// d/dx σ(2x) = 2 σ(2x) (1 - σ(2x))
#[differentiable]
fn m_sigmoid(x: f64) -> f64 {
    (2 * x).sigmoid()
}

#[test]
fn sigmoid() {
    let closed = |x: f64| {
        let s = (2.0 * x).sigmoid();
        2.0 * s * (1.0 - s)
    };
    check1(
        "sigmoid",
        m_sigmoid,
        m_sigmoid_grad,
        m_sigmoid_value_and_grad,
        closed,
        &[0.3, -1.1, 2.0],
    );
}

// d/dx (x · relu(x - 1)) = relu(x - 1) + x·[x > 1]
#[differentiable]
fn m_relu(x: f64) -> f64 {
    x * (x - 1).relu()
}

#[test]
fn relu() {
    let closed = |x: f64| if x > 1.0 { (x - 1.0) + x } else { 0.0 };
    check1(
        "relu",
        m_relu,
        m_relu_grad,
        m_relu_value_and_grad,
        closed,
        &[0.5, 2.0, 3.5],
    );
}

// d/dx softplus(3x) = 3 σ(3x)
#[differentiable]
fn m_softplus(x: f64) -> f64 {
    (3 * x).softplus()
}

#[test]
fn softplus() {
    let closed = |x: f64| 3.0 * (3.0 * x).sigmoid();
    check1(
        "softplus",
        m_softplus,
        m_softplus_grad,
        m_softplus_value_and_grad,
        closed,
        &[0.3, -1.1, 2.0],
    );
}

// ---------------------------------------------------------------------------------------------
// The same methods through a generic `T: Float`, in f32 and f64.

// d/dx (sin(x) · e^x + ln(x² + 1)) = (cos x + sin x) e^x + 2x / (x² + 1)
#[differentiable]
fn m_generic<T: Float>(x: T) -> T {
    x.sin() * x.exp() + (x * x + 1).ln()
}

#[test]
fn generic_float() {
    let closed = |x: f64| (x.cos() + x.sin()) * x.exp() + 2.0 * x / (x * x + 1.0);
    for &x in &[0.3, -1.1, 2.0] {
        agree(
            "generic f64",
            &format!("{x}"),
            m_generic_grad(x),
            closed(x),
            fd(m_generic, x),
        );
        let g32 = m_generic_grad(x as f32) as f64;
        assert!(
            (g32 - closed(x)).abs() <= 1e-5 * (1.0 + closed(x).abs()),
            "f32 at {x}: {g32}"
        );
    }
}

// d/dx (x²).to_degrees() = 2x · 180/π; d/dx x.to_radians().sin() = cos(x π/180) π/180.
#[differentiable]
fn m_to_degrees(x: f64) -> f64 {
    (x * x).to_degrees()
}

#[differentiable]
fn m_to_radians(x: f64) -> f64 {
    x.to_radians().sin()
}

// fract(3x) = 3x - trunc(3x): derivative 3 away from the integers.
#[differentiable]
fn m_fract(x: f64) -> f64 {
    (3 * x).fract()
}

#[test]
fn angle_conversions_and_fract() {
    const K: f64 = 180.0 / std::f64::consts::PI;
    check1(
        "to_degrees",
        m_to_degrees,
        m_to_degrees_grad,
        m_to_degrees_value_and_grad,
        |x| 2.0 * x * K,
        &[0.1, -0.8, 1.2],
    );
    check1(
        "to_radians",
        m_to_radians,
        m_to_radians_grad,
        m_to_radians_value_and_grad,
        |x| (x / K).cos() / K,
        &[10.0, -80.0, 120.0],
    );
    check1(
        "fract",
        m_fract,
        m_fract_grad,
        m_fract_value_and_grad,
        |_| 3.0,
        &[0.1, -0.8, 1.2],
    );
}
