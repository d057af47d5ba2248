//! Behaviour of `#[differentiable]` on scalar code through the facade: the seed numbers of
//! the crate documentation, the `**` operator, the accepted statement forms, constants, generics, arrays,
//! composition and custom rules. Every gradient is checked against the closed form stated above
//! it and against central finite differences.
//!
//! Functions that use `**` carry `#[rustfmt::skip]`: rustfmt would respace `x**2` as `x * *2`,
//! which is a multiplication by a dereference.

use autodiff::{differentiable, Float};

/// Central difference of a one-variable function.
fn fd(f: impl Fn(f64) -> f64, x: f64) -> f64 {
    let h = 1e-6 * x.abs().max(1.0);
    (f(x + h) - f(x - h)) / (2.0 * h)
}

/// `got` agrees with the closed form to rounding and with the finite difference to ~1e-6.
#[track_caller]
fn check(got: f64, closed: f64, numeric: f64) {
    assert!(
        (got - closed).abs() <= 1e-12 * (1.0 + closed.abs()),
        "gradient {got}, closed form {closed}"
    );
    assert!(
        (got - numeric).abs() <= 1e-6 * (1.0 + numeric.abs()),
        "gradient {got}, finite difference {numeric}"
    );
}

// ---------------------------------------------------------------------------------------------
// The seed cases of the crate documentation.

// y = x², so dy/dx = 2x: 8 at 4.
#[rustfmt::skip]
#[differentiable]
fn square(x: f64) -> f64 {
    x**2
}

#[test]
fn square_at_4() {
    assert_eq!(square(4.0), 16.0);
    assert_eq!(square_grad(4.0), 8.0);
    check(square_grad(-1.5), -3.0, fd(square, -1.5));
}

// z = x·y + y², so dz/dx = y, dz/dy = x + 2y: (3, 8) at (2, 3), value 15.
#[rustfmt::skip]
#[differentiable]
fn xy(x: f64, y: f64) -> f64 {
    x * y + y**2
}

#[test]
fn xy_at_2_3() {
    assert_eq!(xy(2.0, 3.0), 15.0);
    assert_eq!(xy_grad(2.0, 3.0), (3.0, 8.0));
    assert_eq!(xy_value_and_grad(2.0, 3.0), (15.0, (3.0, 8.0)));
    assert_eq!(xy_vjp(2.0, 3.0, 0.5), (1.5, 4.0));
    let (x, y) = (-0.7, 1.9);
    let (gx, gy) = xy_grad(x, y);
    check(gx, y, fd(|t| xy(t, y), x));
    check(gy, x + 2.0 * y, fd(|t| xy(x, t), y));
}

// p = 2x⁴ + x³ + 3x² + 5x + 1, so p' = 8x³ + 3x² + 6x + 5: p(2) = 63, p'(2) = 93.
#[rustfmt::skip]
#[differentiable]
fn poly(x: f64) -> f64 {
    2*x**4 + x**3 + 3*x**2 + 5*x + 1
}

#[test]
fn quartic_at_2() {
    assert_eq!(poly(2.0), 63.0);
    assert_eq!(poly_grad(2.0), 93.0);
    assert_eq!(poly_value_and_grad(2.0), (63.0, 93.0));
    // A cotangent of 2 doubles the gradient.
    assert_eq!(poly_vjp(2.0, 2.0), 186.0);
    assert_eq!(poly_vjp(2.0, 0.0), 0.0);
    for &x in &[-1.3, 0.0, 0.4, 3.1] {
        let closed = 8.0 * x * x * x + 3.0 * x * x + 6.0 * x + 5.0;
        check(poly_grad(x), closed, fd(poly, x));
    }
}

// ---------------------------------------------------------------------------------------------
// `**`: precedence, associativity, spacing, and `* *r` as a dereference.

// -x**2 is -(x²): value -9 at 3, derivative -2x = -6.
#[rustfmt::skip]
#[differentiable]
fn neg_square(x: f64) -> f64 {
    -x**2
}

// 2**x**2 is 2^(x²): derivative 2^(x²) · ln 2 · 2x.
#[rustfmt::skip]
#[differentiable]
fn two_pow_x_sq(x: f64) -> f64 {
    2**x**2
}

// x**-1 is 1/x: derivative -1/x².
#[rustfmt::skip]
#[differentiable]
fn inverse(x: f64) -> f64 {
    x**-1
}

// `x ** 2` with spaces around the touching stars is still a power: derivative 2x.
#[rustfmt::skip]
#[differentiable]
fn spaced(x: f64) -> f64 {
    x ** 2
}

// 3*x**2/x**3 = 3/x: derivative -3/x².  (`**` binds tighter than `*` and `/`.)
#[rustfmt::skip]
#[differentiable]
fn power_in_product(x: f64) -> f64 {
    3*x**2/x**3
}

// (x + 1)**0.5 * x: a float exponent on a group; derivative sqrt(x+1) + x / (2 sqrt(x+1)).
#[rustfmt::skip]
#[differentiable]
fn float_exponent(x: f64) -> f64 {
    (x + 1)**0.5 * x
}

// 0.5**y: literal base; derivative 0.5^y · ln 0.5.
#[rustfmt::skip]
#[differentiable]
fn literal_base(y: f64) -> f64 {
    0.5**y
}

// x**2**-1 is x^(2^-1) = sqrt x (right-associative, unary minus on the right): 1/(2 sqrt x).
#[rustfmt::skip]
#[differentiable]
fn right_assoc(x: f64) -> f64 {
    x**2**-1
}

// x.sin()**2 + (2*x).cos()**2: method call as the left operand.
// Derivative 2 sin x cos x - 4 cos(2x) sin(2x).
#[rustfmt::skip]
#[differentiable]
fn method_base(x: f64) -> f64 {
    x.sin()**2 + (2*x).cos()**2
}

#[test]
fn power_precedence() {
    assert_eq!(neg_square(3.0), -9.0);
    assert_eq!(neg_square_grad(3.0), -6.0);
    check(neg_square_grad(-1.2), 2.4, fd(neg_square, -1.2));

    let x = 1.5_f64;
    assert_eq!(two_pow_x_sq(x), 2f64.powf(2.25));
    assert_ne!(
        two_pow_x_sq(x),
        4f64.powf(x),
        "2**x**2 must not be (2**x)**2"
    );
    let closed = 2f64.powf(x * x) * 2f64.ln() * 2.0 * x;
    check(two_pow_x_sq_grad(x), closed, fd(two_pow_x_sq, x));

    assert_eq!(inverse(4.0), 0.25);
    assert_eq!(inverse_grad(4.0), -0.0625);
    check(inverse_grad(-0.8), -1.0 / 0.64, fd(inverse, -0.8));

    assert_eq!(spaced(3.0), 9.0);
    assert_eq!(spaced_grad(3.0), 6.0);

    let x = 1.7_f64;
    assert!((power_in_product(x) - 3.0 / x).abs() < 1e-14);
    check(
        power_in_product_grad(x),
        -3.0 / (x * x),
        fd(power_in_product, x),
    );

    let x = 0.6_f64;
    let s = (x + 1.0).sqrt();
    check(
        float_exponent_grad(x),
        s + x / (2.0 * s),
        fd(float_exponent, x),
    );

    let y = 1.3_f64;
    assert_eq!(literal_base(y), 0.5f64.powf(y));
    check(
        literal_base_grad(y),
        0.5f64.powf(y) * 0.5f64.ln(),
        fd(literal_base, y),
    );

    let x = 2.5_f64;
    assert!((right_assoc(x) - x.sqrt()).abs() < 1e-14);
    check(right_assoc_grad(x), 0.5 / x.sqrt(), fd(right_assoc, x));

    let x = 0.9_f64;
    let closed = 2.0 * x.sin() * x.cos() - 4.0 * (2.0 * x).cos() * (2.0 * x).sin();
    check(method_base_grad(x), closed, fd(method_base, x));
}

// 2*x**-y**2 is 2·x^(-(y²)): d/dx = 2·(-y²)·x^(-y²-1), d/dy = 2·x^(-y²)·ln x·(-2y).
#[rustfmt::skip]
#[differentiable]
fn neg_power_exponent(x: f64, y: f64) -> f64 {
    2*x**-y**2
}

// x**2**y is x^(2^y), with a literal base inside the exponent:
// d/dx = 2^y·x^(2^y - 1), d/dy = x^(2^y)·ln x·2^y·ln 2.
#[rustfmt::skip]
#[differentiable]
fn tower(x: f64, y: f64) -> f64 {
    x**2**y
}

#[test]
fn power_in_exponents() {
    let (x, y) = (1.3_f64, 0.7_f64);
    let (gx, gy) = neg_power_exponent_grad(x, y);
    let e = -y * y;
    check(
        gx,
        2.0 * e * x.powf(e - 1.0),
        fd(|t| neg_power_exponent(t, y), x),
    );
    check(
        gy,
        2.0 * x.powf(e) * x.ln() * -2.0 * y,
        fd(|t| neg_power_exponent(x, t), y),
    );

    let p = 2f64.powf(y);
    assert_eq!(tower(x, y), x.powf(p));
    let (gx, gy) = tower_grad(x, y);
    check(gx, p * x.powf(p - 1.0), fd(|t| tower(t, y), x));
    check(
        gy,
        x.powf(p) * x.ln() * p * 2f64.ln(),
        fd(|t| tower(x, t), y),
    );
}

// `x * *r` (spaced) multiplies by a dereference; `r: &f64` is a constant parameter.
// d/dx (x · r) = r,  d/dx (x² · r) = 2x r.
#[differentiable]
fn deref_mul(x: f64, r: &f64) -> f64 {
    x * *r
}

#[rustfmt::skip]
#[differentiable]
fn deref_after_power(x: f64, r: &f64) -> f64 {
    x**2 * *r
}

// `*&y` in the body: a dereference of a borrow, still a product: d/dx = y, d/dy = x.
#[differentiable]
fn deref_borrow(x: f64, y: f64) -> f64 {
    x * *&y
}

#[test]
fn spaced_stars_are_a_dereference() {
    assert_eq!(deref_borrow(2.0, 3.0), 6.0);
    assert_eq!(deref_borrow_grad(2.0, 3.0), (3.0, 2.0));
    let r = 3.5;
    assert_eq!(deref_mul(2.0, &r), 7.0);
    assert_eq!(deref_mul_grad(2.0, &r), 3.5);
    assert_eq!(deref_after_power(2.0, &r), 14.0);
    assert_eq!(deref_after_power_grad(2.0, &r), 14.0);
    check(
        deref_after_power_grad(-0.3, &r),
        -2.1,
        fd(|t| deref_after_power(t, &r), -0.3),
    );
}

// ---------------------------------------------------------------------------------------------
// Integer literals are floats of the function's type.

// f = 3x + 1 - x/2 + 2·(1 - x): derivative 3 - 1/2 - 2 = 0.5.
#[differentiable]
fn int_literals(x: f64) -> f64 {
    3 * x + 1 - x / 2 + 2 * (1 - x)
}

#[differentiable]
fn int_literals_f32(x: f32) -> f32 {
    3 * x + 1 - x / 2 + 2 * (1 - x)
}

#[test]
fn integer_literals_are_floats() {
    assert_eq!(int_literals(2.0), 4.0);
    assert_eq!(int_literals_grad(2.0), 0.5);
    assert_eq!(int_literals_f32(2.0), 4.0);
    assert_eq!(int_literals_f32_grad(2.0), 0.5);
}

// ---------------------------------------------------------------------------------------------
// Statements: let, shadowing, let mut with compound assignment, blocks, return.

// y = x², y = y + x, result 2y: f = 2x² + 2x, derivative 4x + 2.
#[differentiable]
fn shadowing(x: f64) -> f64 {
    let y = x * x;
    let y = y + x;
    2 * y
}

// a = ((x + y)·x - 1) / 2 - y; da/dx = (2x + y) / 2, da/dy = x/2 - 1.
#[differentiable]
fn compound(x: f64, y: f64) -> f64 {
    let mut a = x;
    a += y;
    a *= x;
    a -= 1;
    a /= 2;
    a -= y;
    a
}

// Reassignment of a `let mut`: a = x, a = a·a + x, a = a·x: f = x³ + x², f' = 3x² + 2x.
#[differentiable]
fn reassign(x: f64) -> f64 {
    let mut a = x;
    a = a * a + x;
    a = a * x;
    a
}

// z = {t = 2x; t²} + x = 4x² + x: derivative 8x + 1.
#[differentiable]
fn block(x: f64) -> f64 {
    let z = {
        let t = x * 2;
        t * t
    };
    z + x
}

// return 3·sin x: derivative 3 cos x.
#[differentiable]
fn explicit_return(x: f64) -> f64 {
    let s = x.sin();
    return 3 * s;
}

#[test]
fn statements() {
    for &x in &[-1.4, 0.3, 2.2] {
        check(shadowing_grad(x), 4.0 * x + 2.0, fd(shadowing, x));
        check(reassign_grad(x), 3.0 * x * x + 2.0 * x, fd(reassign, x));
        check(block_grad(x), 8.0 * x + 1.0, fd(block, x));
        check(
            explicit_return_grad(x),
            3.0 * x.cos(),
            fd(explicit_return, x),
        );
    }
    assert_eq!(shadowing(3.0), 24.0);
    assert_eq!(block(1.0), 5.0);
    for &(x, y) in &[(0.5, 1.5), (-2.0, 0.75)] {
        assert_eq!(compound(x, y), ((x + y) * x - 1.0) / 2.0 - y);
        let (gx, gy) = compound_grad(x, y);
        check(gx, (2.0 * x + y) / 2.0, fd(|t| compound(t, y), x));
        check(gy, x / 2.0 - 1.0, fd(|t| compound(x, t), y));
    }
}

// ---------------------------------------------------------------------------------------------
// Control flow: the branch taken decides the gradient.

// x > 0: x² (2x), else -3x (-3).
#[differentiable]
fn if_else(x: f64) -> f64 {
    if x > 0.0 {
        x * x
    } else {
        -3 * x
    }
}

// x < -1: x³ (3x²); -1 <= x <= 1: 2x (2); x > 1: x.exp() (e^x).
#[differentiable]
fn else_if(x: f64) -> f64 {
    if x < -1.0 {
        x * x * x
    } else if x <= 1.0 {
        2 * x
    } else {
        x.exp()
    }
}

// s = min-like choice inside a let: x < y ? x·y : y²; result s + x.
// x < y: (y + 1, x);  else (1, 2y).
#[differentiable]
fn if_in_let(x: f64, y: f64) -> f64 {
    let s = if x < y { x * y } else { y * y };
    s + x
}

// Guard: x < 0 returns -x (-1); else x² + sin x (2x + cos x).
#[differentiable]
fn guard(x: f64) -> f64 {
    if x < 0.0 {
        return -x;
    }
    let y = x * x;
    y + x.sin()
}

// Comparisons of all kinds, against values and other parameters.
// x >= y: x·y (y, x);  x != 2 and x == y impossible here; else (x - y)² (2(x-y), -2(x-y)).
#[differentiable]
fn comparisons(x: f64, y: f64) -> f64 {
    if x >= y && x != 2.0 {
        x * y
    } else if x == 2.0 {
        5 * x
    } else {
        (x - y) * (x - y)
    }
}

// `**` in a guard, then more statements after it: the rewrite must not reach across `}`.
// x > 2: x**3 (3x²); else (x + 1).sin()**2 (2 sin(x+1) cos(x+1)).
#[rustfmt::skip]
#[differentiable]
fn guard_then_power(x: f64) -> f64 {
    if x > 2.0 { return x**3; } (x + 1).sin()**2
}

#[test]
fn control_flow() {
    check(if_else_grad(1.5), 3.0, fd(if_else, 1.5));
    check(if_else_grad(-1.5), -3.0, fd(if_else, -1.5));

    check(else_if_grad(-2.0), 12.0, fd(else_if, -2.0));
    check(else_if_grad(0.5), 2.0, fd(else_if, 0.5));
    check(else_if_grad(1.5), 1.5f64.exp(), fd(else_if, 1.5));

    let (gx, gy) = if_in_let_grad(0.5, 2.0);
    check(gx, 3.0, fd(|t| if_in_let(t, 2.0), 0.5));
    check(gy, 0.5, fd(|t| if_in_let(0.5, t), 2.0));
    let (gx, gy) = if_in_let_grad(3.0, -1.0);
    check(gx, 1.0, fd(|t| if_in_let(t, -1.0), 3.0));
    check(gy, -2.0, fd(|t| if_in_let(3.0, t), -1.0));

    assert_eq!(guard(-2.0), 2.0);
    check(guard_grad(-2.0), -1.0, fd(guard, -2.0));
    check(guard_grad(1.2), 2.4 + 1.2f64.cos(), fd(guard, 1.2));

    assert_eq!(comparisons_grad(3.0, 1.0), (1.0, 3.0));
    assert_eq!(comparisons_grad(2.0, 1.0), (5.0, 0.0));
    let (gx, gy) = comparisons_grad(0.5, 1.5);
    check(gx, -2.0, fd(|t| comparisons(t, 1.5), 0.5));
    check(gy, 2.0, fd(|t| comparisons(0.5, t), 1.5));

    check(guard_then_power_grad(3.0), 27.0, fd(guard_then_power, 3.0));
    let x = 0.4_f64;
    let closed = 2.0 * (x + 1.0).sin() * (x + 1.0).cos();
    check(guard_then_power_grad(x), closed, fd(guard_then_power, x));
}

// An `if` without `else` as a statement, updating a `let mut`:
// y > 0: a = x·y, a *= y → x·y² (y², 2xy);  else a = x + 1 → (1, 0).
#[differentiable]
fn if_statement(x: f64, y: f64) -> f64 {
    let mut a = x;
    if y > 0.0 {
        a = a * y;
        a *= y;
    }
    if y <= 0.0 {
        a += 1;
    }
    a
}

// A guard returning an integer literal (a float in this context), and a typed `let` with an
// exponent-notation literal: x < 0 → 0 (0); else 2x·1e-3 + x (2e-3 + 1).
#[differentiable]
fn literal_return(x: f64) -> f64 {
    if x < 0.0 {
        return 0;
    }
    let y: f64 = x * 2;
    y * 1e-3 + x
}

// Aliases and shadowing: a = x, b = a, a = b·a = x², result x² + x, derivative 2x + 1.
#[differentiable]
fn aliases(x: f64) -> f64 {
    let a = x;
    let b = a;
    let a = b * a;
    a + b
}

// A block as the whole body, and a double negation: f = 2x - (-x) = 3x, f' = 3.
#[differentiable]
fn block_body(x: f64) -> f64 {
    {
        let t = 2 * x;
        t - (-x)
    }
}

#[test]
fn more_statements() {
    assert_eq!(if_statement(2.0, 3.0), 18.0);
    assert_eq!(if_statement_grad(2.0, 3.0), (9.0, 12.0));
    check(
        if_statement_grad(2.0, 3.0).1,
        12.0,
        fd(|t| if_statement(2.0, t), 3.0),
    );
    assert_eq!(if_statement(2.0, -3.0), 3.0);
    assert_eq!(if_statement_grad(2.0, -3.0), (1.0, 0.0));

    assert_eq!(literal_return(-1.0), 0.0);
    assert_eq!(literal_return_grad(-1.0), 0.0);
    check(literal_return_grad(2.0), 1.002, fd(literal_return, 2.0));

    check(aliases_grad(3.0), 7.0, fd(aliases, 3.0));
    assert_eq!(aliases(3.0), 12.0);
    check(block_body_grad(0.4), 3.0, fd(block_body, 0.4));
}

// ---------------------------------------------------------------------------------------------
// Values that are not differentiated.

// n is a usize constant: f = x·n + n², f' = n.
#[differentiable]
fn with_usize(x: f64, n: usize) -> f64 {
    let k = n as f64;
    x * k + k * k
}

// wrt(x): y is data. f = x²·y + y, df/dx = 2xy; the gradient is a single f64.
#[differentiable(wrt(x))]
fn wrt_x(x: f64, y: f64) -> f64 {
    x * x * y + y
}

// wrt(b, c) out of (a, b, c): f = a·b² + c·a, gradient (2ab, a).
#[differentiable(wrt(b, c))]
fn wrt_subset(a: f64, b: f64, c: f64) -> f64 {
    a * b * b + c * a
}

// π as a constant: f = sin(π x) + π, f' = π cos(π x).
#[differentiable]
fn with_pi(x: f64) -> f64 {
    (std::f64::consts::PI * x).sin() + std::f64::consts::PI
}

#[test]
fn constants() {
    assert_eq!(with_usize(2.0, 3), 15.0);
    assert_eq!(with_usize_grad(2.0, 3), 3.0);
    assert_eq!(with_usize_value_and_grad(2.0, 3), (15.0, 3.0));

    let g: f64 = wrt_x_grad(1.5, 2.0);
    check(g, 6.0, fd(|t| wrt_x(t, 2.0), 1.5));
    assert_eq!(wrt_x_vjp(1.5, 2.0, 2.0), 12.0);

    let (gb, gc) = wrt_subset_grad(2.0, 3.0, 5.0);
    check(gb, 12.0, fd(|t| wrt_subset(2.0, t, 5.0), 3.0));
    check(gc, 2.0, fd(|t| wrt_subset(2.0, 3.0, t), 5.0));

    let pi = std::f64::consts::PI;
    check(with_pi_grad(0.3), pi * (pi * 0.3).cos(), fd(with_pi, 0.3));
}

// A condition on a constant parameter: n > 3 → x (1); else x² (2x).
#[differentiable]
fn branch_on_usize(x: f64, n: usize) -> f64 {
    if n > 3 {
        return x;
    }
    x * x
}

#[test]
fn branch_on_constant() {
    assert_eq!(branch_on_usize_grad(2.0, 5), 1.0);
    assert_eq!(branch_on_usize_grad(2.0, 1), 4.0);
}

// ---------------------------------------------------------------------------------------------
// Generic and f32 functions.

// g = 3x² + x - 1/x, g' = 6x + 1 + 1/x².
#[rustfmt::skip]
#[differentiable]
fn generic<T: Float>(x: T) -> T {
    3*x**2 + x - 1/x
}

// h = x³ - 2x, h' = 3x² - 2.
#[rustfmt::skip]
#[differentiable]
fn single(x: f32) -> f32 {
    x**3 - 2*x
}

#[test]
fn generic_and_f32() {
    assert_eq!(generic(2.0_f64), 13.5);
    assert_eq!(generic_grad(2.0_f64), 13.25);
    assert_eq!(generic(2.0_f32), 13.5_f32);
    assert_eq!(generic_grad(2.0_f32), 13.25_f32);
    check(
        generic_grad(-0.7),
        -4.2 + 1.0 + 1.0 / 0.49,
        fd(generic::<f64>, -0.7),
    );

    assert_eq!(single(3.0), 21.0);
    assert_eq!(single_grad(3.0), 25.0);
    assert_eq!(single_value_and_grad(3.0), (21.0_f32, 25.0_f32));
    assert_eq!(single_vjp(3.0, 2.0), 50.0_f32);
}

// Binary methods on a generic T: f = x^y + max(x, y) + clamp(x, 0, 1).
// d/dx = y·x^(y-1) + [x > y] + [0 < x < 1],  d/dy = x^y·ln x + [y > x]  (ties: 1/2 each).
#[differentiable]
fn generic_binary<T: Float>(x: T, y: T) -> T {
    x.powf(y) + x.max(y) + x.clamp(T::zero(), T::one())
}

#[test]
fn generic_binary_methods() {
    let (x, y) = (0.3_f64, 1.7_f64);
    let (gx, gy) = generic_binary_grad(x, y);
    check(
        gx,
        y * x.powf(y - 1.0) + 1.0,
        fd(|t| generic_binary(t, y), x),
    );
    check(
        gy,
        x.powf(y) * x.ln() + 1.0,
        fd(|t| generic_binary(x, t), y),
    );
    // The tie of max at x = y = 0.5, inside the clamp: (y x^(y-1) + 1/2 + 1, x^y ln x + 1/2).
    let (gx, gy) = generic_binary_grad(0.5_f64, 0.5);
    assert!((gx - (0.5 * 0.5f64.powf(-0.5) + 1.5)).abs() < 1e-15);
    assert!((gy - (0.5f64.sqrt() * 0.5f64.ln() + 0.5)).abs() < 1e-15);
    // f32 at (1, 2): clamp at its upper bound gives 0, max goes to y.
    assert_eq!(generic_binary_grad(1.0_f32, 2.0), (2.0, 1.0));
}

// ---------------------------------------------------------------------------------------------
// Arrays.

// f = x0·x1 + x2², gradient [x1, x0, 2 x2].
#[rustfmt::skip]
#[differentiable]
fn array3(x: [f64; 3]) -> f64 {
    x[0] * x[1] + x[2]**2
}

// f = sin(x0)·x1, gradient [cos(x0) x1, sin(x0)].
#[differentiable]
fn array_ref(x: &[f64; 2]) -> f64 {
    x[0].sin() * x[1]
}

// An array with a scalar: f = w·(v0 - v1), gradient ([w, -w], v0 - v1).
#[differentiable]
fn array_and_scalar(v: [f64; 2], w: f64) -> f64 {
    w * (v[0] - v[1])
}

#[test]
fn arrays() {
    let x = [1.5, -2.0, 0.5];
    assert_eq!(array3(x), -2.75);
    let g: [f64; 3] = array3_grad(x);
    assert_eq!(g, [-2.0, 1.5, 1.0]);
    assert_eq!(array3_value_and_grad(x), (-2.75, [-2.0, 1.5, 1.0]));
    assert_eq!(array3_vjp(x, 2.0), [-4.0, 3.0, 2.0]);
    for i in 0..3 {
        let along = |t: f64| {
            let mut y = x;
            y[i] = t;
            array3(y)
        };
        check(g[i], [-2.0, 1.5, 1.0][i], fd(along, x[i]));
    }

    let x = [0.7, 1.8];
    let g: [f64; 2] = array_ref_grad(&x);
    check(g[0], 0.7f64.cos() * 1.8, fd(|t| array_ref(&[t, 1.8]), 0.7));
    check(g[1], 0.7f64.sin(), fd(|t| array_ref(&[0.7, t]), 1.8));

    let (gv, gw) = array_and_scalar_grad([3.0, 1.0], 0.5);
    assert_eq!(gv, [0.5, -0.5]);
    assert_eq!(gw, 2.0);
}

// ---------------------------------------------------------------------------------------------
// Composition: differentiable functions calling differentiable functions.

// inner(u) = u² + sin u, inner'(u) = 2u + cos u.
#[differentiable]
fn inner(u: f64) -> f64 {
    u * u + u.sin()
}

// outer(x) = inner(3x) + x, outer' = 3·inner'(3x) + 1.
#[differentiable]
fn outer(x: f64) -> f64 {
    inner(3 * x) + x
}

// Two levels: top(x) = outer(x²)·2 + inner(x), top' = 4x·outer'(x²) + inner'(x).
#[differentiable]
fn top(x: f64) -> f64 {
    outer(x * x) * 2 + inner(x)
}

// A callee differentiated in x only: scale(x, k) = k·x², d/dx = 2kx.
#[differentiable(wrt(x))]
fn scale(x: f64, k: f64) -> f64 {
    k * x * x
}

// caller(x) = scale(x + 1, 3), caller' = 6(x + 1).
#[differentiable]
fn calls_wrt(x: f64) -> f64 {
    scale(x + 1, 3.0)
}

// Callee with an array: uses_array(v) = 2·array3(v) + v0, gradient 2[v1, v0, 2 v2] + [1, 0, 0].
#[differentiable]
fn uses_array(v: [f64; 3]) -> f64 {
    2 * array3(v) + v[0]
}

// A callee with two differentiated parameters: two(x, y) = xy(x·y, x) = x²y + x².
// d/dx = 2xy + 2x, d/dy = x².
#[differentiable]
fn two(x: f64, y: f64) -> f64 {
    xy(x * y, x)
}

#[test]
fn composition() {
    let inner_d = |u: f64| 2.0 * u + u.cos();
    let outer_d = |x: f64| 3.0 * inner_d(3.0 * x) + 1.0;
    for &x in &[-0.9, 0.2, 1.4] {
        check(outer_grad(x), outer_d(x), fd(outer, x));
        check(
            top_grad(x),
            4.0 * x * outer_d(x * x) + inner_d(x),
            fd(top, x),
        );
        check(calls_wrt_grad(x), 6.0 * (x + 1.0), fd(calls_wrt, x));
    }
    let v = [1.5, -2.0, 0.5];
    assert_eq!(uses_array_grad(v), [-3.0, 3.0, 2.0]);
    let (gx, gy) = two_grad(1.5, -0.5);
    check(gx, 2.0 * 1.5 * -0.5 + 3.0, fd(|t| two(t, -0.5), 1.5));
    check(gy, 2.25, fd(|t| two(1.5, t), -0.5));
}

// ---------------------------------------------------------------------------------------------
// Custom derivative rules.

mod custom {
    use super::*;

    /// softsign(x) = x / (1 + |x|), computed outside the macro's reach.
    fn softsign_impl(x: f64) -> f64 {
        x / (1.0 + x.abs())
    }

    // softsign' = 1 / (1 + |x|)².
    #[differentiable(vjp = softsign_rule)]
    fn softsign(x: f64) -> f64 {
        softsign_impl(x)
    }

    fn softsign_rule(x: f64, cotangent: f64) -> f64 {
        cotangent / (1.0 + x.abs()).powi(2)
    }

    // A caller: uses(x) = softsign(2x)·x, uses' = 2x·softsign'(2x) + softsign(2x).
    #[differentiable]
    fn uses_softsign(x: f64) -> f64 {
        softsign(2 * x) * x
    }

    // A two-parameter custom rule: rule returns a tuple.  f = x·y (a "black box").
    fn black_box_mul(x: f64, y: f64) -> f64 {
        x * y
    }

    #[differentiable(vjp = mul_rule)]
    fn mul(x: f64, y: f64) -> f64 {
        black_box_mul(x, y)
    }

    fn mul_rule(x: f64, y: f64, cotangent: f64) -> (f64, f64) {
        (cotangent * y, cotangent * x)
    }

    // through_mul(x) = mul(x, x + 1) = x² + x, derivative 2x + 1.
    #[differentiable]
    fn through_mul(x: f64) -> f64 {
        mul(x, x + 1)
    }

    #[test]
    fn custom_rules() {
        let d = |x: f64| 1.0 / (1.0 + x.abs()).powi(2);
        for &x in &[-1.5, 0.25, 2.0] {
            assert_eq!(softsign(x), softsign_impl(x));
            check(softsign_grad(x), d(x), fd(softsign, x));
            assert_eq!(softsign_vjp(x, 3.0), 3.0 * d(x));
            assert_eq!(softsign_value_and_grad(x), (softsign_impl(x), d(x)));
            let closed = 2.0 * x * d(2.0 * x) + softsign_impl(2.0 * x);
            check(uses_softsign_grad(x), closed, fd(uses_softsign, x));
        }
        assert_eq!(mul_grad(2.0, 3.0), (3.0, 2.0));
        check(through_mul_grad(1.5), 4.0, fd(through_mul, 1.5));
    }
}

// ---------------------------------------------------------------------------------------------
// Forms the macro once rejected, kept as regressions.

// `x.len() as f64` on a differentiated array is a constant: sizes carry no gradient.

mod array_len {
    use super::*;

    // mean of three: gradient [1/3; 3].
    #[differentiable]
    fn mean3(x: [f64; 3]) -> f64 {
        (x[0] + x[1] + x[2]) / x.len() as f64
    }

    #[test]
    fn len_of_a_differentiated_array() {
        assert_eq!(mean3_grad([1.0, 2.0, 3.0]), [1.0 / 3.0; 3]);
    }
}

// `return` at the end of both arms of a final `if`/`else`.

mod return_in_both_arms {
    use super::*;

    // x > 0 → x² (2x); else -x (-1).
    #[differentiable]
    fn both_return(x: f64) -> f64 {
        if x > 0.0 {
            return x * x;
        } else {
            return -x;
        }
    }

    #[test]
    fn returns_in_both_arms() {
        assert_eq!(both_return_grad(2.0), 4.0);
        assert_eq!(both_return_grad(-2.0), -1.0);
    }
}

// A literal power base gets the function's float type (`0.5**y`), with no float trait in
// scope at the call site.

mod literal_base_without_float_in_scope {
    use autodiff::differentiable;

    // 0.5^y, derivative 0.5^y · ln 0.5.
    #[rustfmt::skip]
    #[differentiable]
    fn half_pow(y: f64) -> f64 {
        0.5**y
    }

    #[test]
    fn literal_base() {
        assert_eq!(half_pow(1.0), 0.5);
        assert_eq!(half_pow_grad(1.0), 0.5 * 0.5f64.ln());
    }
}

// A function written by a `macro_rules!` macro: its names carry the macro's hygiene, and the
// generated code (lexed from text) must still bind and read them.
macro_rules! quadratic {
    ($name:ident, $x:ident) => {
        #[differentiable]
        fn $name($x: f64) -> f64 {
            $x * $x + 3.0 * $x
        }
    };
}
quadratic!(quadratic_t, t);

macro_rules! cubic_in_macro {
    () => {
        #[differentiable]
        fn cubic_m(x: f64, y: f64) -> f64 {
            let z = x * y;
            if z > 0.0 {
                z * x * x
            } else {
                -z
            }
        }
    };
}
cubic_in_macro!();

#[test]
fn functions_written_by_macro_rules() {
    // d/dt (t² + 3t) = 2t + 3.
    assert_eq!(quadratic_t(2.0), 10.0);
    assert_eq!(quadratic_t_grad(2.0), 7.0);
    assert_eq!(quadratic_t_hessian(2.0), 2.0);
    // z = xy > 0: f = x³y, ∇f = (3x²y, x³).
    assert_eq!(cubic_m(2.0, 1.5), 12.0);
    assert_eq!(cubic_m_grad(2.0, 1.5), (18.0, 8.0));
    assert_eq!(cubic_m_grad(2.0, -1.5), (1.5, -2.0));
    let trace = cubic_m_trace(2.0, 1.5);
    assert_eq!(trace.value("z").item(), 3.0);
    assert_eq!(trace.grad("x").item(), 18.0);
}

/// `_value_and_grad`'s value is `f`'s, bit for bit, also where the gradient is rewritten in
/// Horner form: found by a random corpus, `(x² + 3)² - (2.5 + 2x)` at -1.8578 differed in the
/// last bit when the value was evaluated in Horner form too.
#[rustfmt::skip]
#[differentiable]
fn squared_quadratic(x: f64) -> f64 {
    (x * x + 1.0 + 2)**2 - (2.5 + (x + x))
}

#[rustfmt::skip]
#[differentiable]
fn after_a_loop(w: [f64; 3]) -> f64 {
    let u = (w[2] * w[2] + 2.0).powi(-1);
    let mut s = u;
    for i in 0..=3 - 1 {
        let t = w[i] / w[i].exp();
        s -= s.exp_m1().tan() * t;
    }
    -(s + 5)**2
}

#[test]
fn value_and_grad_value_is_the_primal_bit_for_bit() {
    for x in [-1.8578, -0.3, 0.7, 2.2, 13.0] {
        assert_eq!(
            squared_quadratic_value_and_grad(x).0,
            squared_quadratic(x),
            "at {x}"
        );
        assert_eq!(
            squared_quadratic_jvp(x, 1.0).0,
            squared_quadratic(x),
            "jvp at {x}"
        );
    }
    for w in [[0.2583, 1.2507, -1.5337], [0.2873, 1.2222, 0.777]] {
        assert_eq!(
            after_a_loop_value_and_grad(w).0,
            after_a_loop(w),
            "at {w:?}"
        );
    }
}
