//! `f_grad_formulas()`: the text of every partial derivative, checked twice.
//!
//! 1. As an exact string, one line per case in the table below (the `case!` macro defines the
//!    function in its own module and asserts its formulas). Polynomials print collected, in
//!    descending powers; the other strings record what the formatter prints, each checked by
//!    hand to be the right derivative (the closed form is in the comment above the line).
//! 2. Re-parsed: a small recursive-descent evaluator of the body's syntax (Python's `**`
//!    precedence and right-associativity, unary minus, postfix method calls) reads each scalar
//!    formula back and evaluates it at 5 deterministic random points, against `f_grad`
//!    (relative 1e-9). A formula that prints wrong math fails here even if its string was
//!    recorded as it is.
//!
//! Every case uses `**` inside a macro invocation, which rustfmt leaves alone; the `case!`
//! macro puts `#[rustfmt::skip]` on the function it defines.

use autodiff::{differentiable, Tensor};

// ---------------------------------------------------------------------------------------------
// The table.

/// `case!(name(x, y) { body } => ["d/dx", "d/dy"]);` defines `name::f(x: f64, y: f64) -> f64`,
/// asserts its formulas as strings (test `name::formulas`) and re-parses them against `f_grad`
/// (test `name::reparse`). Attributes before the name go on both tests; `; reparse #[...]` at
/// the end goes on the re-parse test only.
/// `case!(text name(x) { .. } => [..]);`: the string only, for text the evaluator does not read
/// (`if`); `case!(tensor name(x) { .. } => [..]);`: the same for `&Tensor<f64>` parameters.
macro_rules! case {
    (tensor $name:ident($($p:ident),+) { $($body:tt)* } => [$($want:literal),+]) => {
        // Only `f_grad_formulas` is used of the generated items.
        #[allow(dead_code)]
        mod $name {
            use super::*;

            #[rustfmt::skip]
            #[differentiable]
            pub fn f($($p: &Tensor<f64>),+) -> f64 { $($body)* }

            #[test]
            fn formulas() {
                super::check_text(f_grad_formulas(), &[$(stringify!($p)),+], &[$($want),+]);
            }
        }
    };
    (text $name:ident($($p:ident),+) { $($body:tt)* } => [$($want:literal),+]) => {
        #[allow(dead_code)]
        mod $name {
            use super::*;

            #[rustfmt::skip]
            #[differentiable]
            pub fn f($($p: f64),+) -> f64 { $($body)* }

            #[test]
            fn formulas() {
                super::check_text(f_grad_formulas(), &[$(stringify!($p)),+], &[$($want),+]);
            }
        }
    };
    (
        $(#[$both:meta])*
        $name:ident($($p:ident),+) { $($body:tt)* } => [$($want:literal),+]
        $(; reparse #[$only:meta])?
    ) => {
        // Only `f_grad` and `f_grad_formulas` are used of the generated items.
        #[allow(dead_code)]
        mod $name {
            use super::*;

            #[rustfmt::skip]
            #[differentiable]
            pub fn f($($p: f64),+) -> f64 { $($body)* }

            #[test]
            $(#[$both])*
            fn formulas() {
                super::check_text(f_grad_formulas(), &[$(stringify!($p)),+], &[$($want),+]);
            }

            #[test]
            $(#[$both])*
            $(#[$only])?
            fn reparse() {
                super::check_reparse(f_grad_formulas(), |a: &[f64]| {
                    let mut it = a.iter().copied();
                    $(let $p = it.next().unwrap();)+
                    super::Grad::to_vec(f_grad($($p),+))
                });
            }
        }
    };
}

// Polynomials: like terms collected, descending powers.
// 2x⁴ + x³ + 3x² + 5x + 1 → 8x³ + 3x² + 6x + 5
case!(quartic(x) { 2*x**4 + x**3 + 3*x**2 + 5*x + 1 } => ["8*x**3 + 3*x**2 + 6*x + 5"]);
// x³ + x² → 3x² + 2x
case!(cubic(x) { x**3 + x**2 } => ["3*x**2 + 2*x"]);
// x² → 2x
case!(square(x) { x**2 } => ["2*x"]);
// 3x + 2 → 3
case!(linear(x) { 3*x + 2 } => ["3"]);
// x − x → 0
case!(cancels(x) { x - x } => ["0"]);
// (x + 1)² → 2x + 2
case!(binomial(x) { (x + 1)**2 } => ["2*x + 2"]);
// (2x − 3)³ → 6(2x − 3)² = 24x² − 72x + 54
case!(shifted_cube(x) { (2*x - 3)**3 } => ["24*x**2 - 72*x + 54"]);
// (−x)³ = −x³ → −3x²
case!(neg_base_cubed(x) { (-x)**3 } => ["-3*x**2"]);
// −x² + x/2 → −2x + 0.5 (−x**2 is −(x²))
case!(neg_power(x) { -x**2 + x/2 } => ["-2*x + 0.5"]);
// x − (−x)² − (−x) = 2x − x² → 2 − 2x
case!(minus_minus(x) { x - (-x)**2 - -x } => ["-2*x + 2"]);
// x³/3 − 2x³ = −5x³/3 → −5x²
case!(cubic_third(x) { x**3/3 - 2*x**3 } => ["-5*x**2"]);
// x.powi(3) − 4·x.powi(2) → 3x² − 8x
case!(powi_method(x) { x.powi(3) - 4.0*x.powi(2) } => ["3*x**2 - 8*x"]);
// (x²)³ = x⁶ → 6x⁵; (sin²x)⁸ → 16 (sin²x)⁷ cos x sin x
case!(pow_of_pow(x) { (x**2)**3 + (x.sin()**2)**8 } => ["6*x**5 + 16*((x.sin()**2)**7)*x.cos()*x.sin()"]);
// Shadowing and compound assignment: y = 2(x·x + x) → 4x + 2
case!(shadowing(x) { let mut y = x; y = y * x; y += x; y *= 2; y } => ["4*x + 2"]);
// 0.1x + 0.2x + 1e-7x² → 2e-7x + 0.3 (0.1 + 0.2 in floating point)
case!(small_coefficients(x) { 0.1*x + 0.2*x + 1e-7*x**2 } => ["0.0000002*x + 0.30000000000000004"]);
// 1e20x² → 2e20x
case!(big_coefficient(x) { 1e20*x**2 } => ["200000000000000000000*x"]);

// Negative and fractional powers.
// x⁻¹ → −1/x²
case!(reciprocal(x) { x**-1 } => ["-1/x**2"]);
// x⁷ − x⁻⁷ → 7x⁶ + 7x⁻⁸
case!(pow7(x) { x**7 - x**-7 } => ["7*x**6 + 7*(x**-8)"]);
// (x + 1)⁻² → −2(x + 1)⁻³
case!(neg_power_of_sum(x) { (x + 1)**-2 } => ["-2*((x + 1)**-3)"]);
// x^2.5 → 2.5x^1.5
case!(powf_const(x) { x.powf(2.5) } => ["2.5*(x**1.5)"]);
// x^-0.5 → −0.5x^-1.5
case!(powf_negative(x) { x**-0.5 } => ["-0.5*(x**(-1.5))"]);
// x**0.5**2 is x^(0.5²) = x^0.25 (right-associative) → 0.25x^-0.75
case!(powf_tower(x) { x**0.5**2 } => ["0.25*(x**(-0.75))"]);
// 2^(x²) → 2^(x²)·ln 2·2x
case!(tower(x) { 2**x**2 } => ["2*(2**(x**2)*2.ln())*x"]);
// 0.5ˣ → 0.5ˣ ln 0.5
case!(const_base(x) { 0.5**x } => ["(0.5**x*0.5.ln())"]);

// Products and quotients.
// x·sin x → x cos x + sin x
case!(product(x) { x * x.sin() } => ["x*x.cos() + x.sin()"]);
// x²eˣ → x²eˣ + 2xeˣ
case!(poly_times_exp(x) { x**2 * x.exp() } => ["x**2*x.exp() + 2*x*x.exp()"]);
// eˣ·eˣ → 2(eˣ)²
case!(exp_squared(x) { x.exp() * x.exp() } => ["2*x.exp()**2"]);
// sin x / x → cos x/x − sin x/x²
case!(quotient(x) { x.sin() / x } => ["x.cos()/x - x.sin()/x**2"]);
// (x + 1)/(x − 1) → 1/(x − 1) − (x + 1)/(x − 1)² (= −2/(x − 1)², not simplified)
case!(rational(x) { (x + 1) / (x - 1) } => ["-x/(x - 1)**2 + 1/(x - 1) - 1/(x - 1)**2"]);
// x/(2x + 1) → 1/(2x + 1) − 2x/(2x + 1)²
case!(self_ratio(x) { x / (2*x + 1) } => ["-2*x/(2*x + 1)**2 + 1/(2*x + 1)"]);
// 1/(1 + x²) → −2x/(1 + x²)²
case!(lorentz(x) { 1 / (1 + x**2) } => ["-2*x/(x**2 + 1)**2"]);
// 1/(1/x + 1) → 1/(x²(1 + 1/x)²)
case!(nested_div(x) { 1 / (1 / x + 1) } => ["1/((1 + 1/x)**2*x**2)"]);
// 1/sin x → −cos x/sin²x
case!(inv_sin(x) { 1 / x.sin() } => ["-x.cos()/x.sin()**2"]);
// sin⁻²x → −2 cos x/sin³x
case!(sin_powi(x) { x.sin().powi(-2) } => ["-2*x.cos()/x.sin()**3"]);
// x/(y sin x): ∂x = 1/(y sin x) − x cos x/(y sin²x), ∂y = −x/(y² sin x)
case!(div_div(x, y) { x / y / x.sin() } => ["-x*x.cos()/(x.sin()**2*y) + 1/(x.sin()*y)", "-x/(x.sin()*y**2)"]);

// Trigonometry.
// sin x cos x → cos²x − sin²x
case!(sin_cos(x) { x.sin() * x.cos() } => ["x.cos()**2 - x.sin()**2"]);
// tan x → 1 + tan²x
case!(tan(x) { x.tan() } => ["x.tan()**2 + 1"]);
// sin(x²) → 2x cos(x²)
case!(sin_of_square(x) { (x**2).sin() } => ["2*(x**2).cos()*x"]);
// sin²x + cos²x → 0
case!(pythagoras(x) { x.sin()**2 + x.cos()**2 } => ["0"]);
// tanh(2x) → 2(1 − tanh²(2x))
case!(tanh(x) { (2*x).tanh() } => ["-2*(2*x).tanh()**2 + 2"]);
// cosh·sinh + 1/x + ∛x → sinh² + cosh² − 1/x² + 1/(3∛x²)
case!(hyperbolic(x) { x.cosh() * x.sinh() + x.recip() + x.cbrt() } => ["x.cosh()**2 - x.recip()**2 + x.sinh()**2 + 1/(3*x.cbrt()**2)"]);
// asin(x/2) + acos(x/2) is constant; atan' = 1/(1 + x²), asinh' = 1/√(x² + 1),
// acosh(x + 1)' = 1/√((x + 1)² − 1), atanh(x/2)' = ½/(1 − x²/4)
case!(inverse_trig(x) { (x/2).asin() + (x/2).acos() + x.atan() + x.asinh() + (x + 1).acosh() + (x/2).atanh() } => ["1/(x**2 + 1).sqrt() + 1/(x**2 + 2*x).sqrt() + 0.5/(-0.25*x**2 + 1) + 1/(x**2 + 1)"]);
// atan2(y, x): ∂x = −y/(x² + y²), ∂y = x/(x² + y²)
case!(atan2(x, y) { y.atan2(x) } => ["-y/(x**2 + y**2)", "x/(x**2 + y**2)"]);
// hypot(x, y): ∂x = x/hypot, ∂y = y/hypot
case!(hypot(x, y) { x.hypot(y) } => ["x/x.hypot(y)", "y/x.hypot(y)"]);

// exp / ln chains.
// e^(x²) → 2x e^(x²)
case!(gauss(x) { (x**2).exp() } => ["2*(x**2).exp()*x"]);
// ln(eˣ + 1) → eˣ/(eˣ + 1)
case!(softplus_by_hand(x) { (x.exp() + 1).ln() } => ["x.exp()/(x.exp() + 1)"]);
// ln ln(x + 2) → 1/((x + 2) ln(x + 2))
case!(ln_ln(x) { (x + 2).ln().ln() } => ["1/((x + 2).ln()*(x + 2))"]);
// e^(sin x) → cos x·e^(sin x)
case!(exp_sin(x) { x.sin().exp() } => ["(x.sin()).exp()*x.cos()"]);
// e^(−x) + √x → −e^(−x) + 1/(2√x)
case!(exp_neg(x) { (-x).exp() + x.sqrt() } => ["-(-x).exp() + 1/(2*x.sqrt())"]);
// √(x² + 1) → 2x/(2√(x² + 1)) (the 2s are not cancelled)
case!(sqrt_chain(x) { (x**2 + 1).sqrt() } => ["2*x/(2*(x**2 + 1).sqrt())"]);
// Bindings are substituted: y = x², y·ln y → 2x ln(x²) + 2x³/x² (not cancelled)
case!(with_lets(x) { let y = x**2; let z = y.ln(); z * y } => ["2*(x**2).ln()*x + 2*x**3/(x**2)"]);
// 2ˣ + eˣ − 1 + log₂x + log₁₀x + ln(1 + x) → 2ˣ ln 2 + eˣ + 1/(x ln 2) + 1/(x ln 10) + 1/(x + 1)
case!(logs(x) { x.log2() + x.log10() + x.exp2() + x.ln_1p() + x.exp_m1() } => ["0.6931471805599453*x.exp2() + x.exp_m1() + 1 + 1/(0.6931471805599453*x) + 1/(2.302585092994046*x) + 1/(x + 1)"]);
// log_y x: ∂x = 1/(x ln y), ∂y = −log_y x/(y ln y)
case!(log_base(x, y) { x.log(y) } => ["1/(x*y.ln())", "-x.log(y)/(y*y.ln())"]);
// ln x/ln y: ∂x = 1/(x ln y), ∂y = −ln x/(y ln²y)
case!(log_ratio(x, y) { x.ln() / y.ln() } => ["1/(x*y.ln())", "-x.ln()/(y*y.ln()**2)"]);

// Piecewise: abs, relu, sigmoid, max, clamp, if.
// |x − 1|·x → sgn(x − 1)·x + |x − 1|
case!(abs(x) { (x - 1).abs() * x } => ["(x - 1).signum()*x + (x - 1).abs()"]);
// relu(x − 1)·x → step(x − 1)·x + relu(x − 1); the step prints as an `if` (text only).
case!(text relu(x) { (x - 1).relu() * x } => ["(if (x - 1) > 0 { 1 } else { 0 })*x + (x - 1).relu()"]);
// σ(2x) → 2σ(2x)(1 − σ(2x))
case!(sigmoid(x) { (2*x).sigmoid() } => ["-2*(2*x).sigmoid()**2 + 2*(2*x).sigmoid()"]);
// max(x, 2x − 1) → 1 where x > 2x − 1, else 2; the weights print as `if`s (text only).
case!(text max(x) { x.max(2*x - 1) } => ["2*(if (2*x - 1) > x { 1 } else if (2*x - 1) == x { 0.5 } else { 0 }) + (if x > (2*x - 1) { 1 } else if x == (2*x - 1) { 0.5 } else { 0 })"]);
// clamp(3x, 1, 4) → 3 inside (1, 4), else 0 (text only).
case!(text clamp(x) { (3*x).clamp(1.0, 4.0) } => ["3*(if 1 < (3*x) && (3*x) < 4 { 1 } else { 0 })"]);
// if x > 1 { x² } else { 3x } → if x > 1 { 2x } else { 3 }
case!(text branch(x) { if x > 1 { x**2 } else { 3*x } } => ["(if (x > 1) { 2*x } else { 3 })"]);
// x.mul_add(y, x²) = xy + x²: ∂x = y + 2x, ∂y = x
case!(mul_add(x, y) { x.mul_add(y, x**2) } => ["2*x + y", "x"]);

// Several variables.
// Rosenbrock (1 − x)² + 100(y − x²)²: ∂x = 400x³ − 400xy + 2x − 2, ∂y = 200y − 200x²
case!(rosenbrock(x, y) { (1 - x)**2 + 100*(y - x**2)**2 } => ["400*x**3 - 400*x*y + 2*x - 2", "-200*x**2 + 200*y"]);
// xy + y²: ∂x = y, ∂y = x + 2y
case!(xy(x, y) { x * y + y**2 } => ["y", "x + 2*y"]);
// xʸ: ∂x = y·x^(y−1), ∂y = xʸ ln x
case!(x_pow_y(x, y) { x**y } => ["(y*x**(y - 1))", "(x**y*x.ln())"]);
// (x + 1)ʸ: ∂x = y(x + 1)^(y−1), ∂y = (x + 1)ʸ ln(x + 1)
case!(base_expr(x, y) { (x + 1)**y } => ["(y*(x + 1)**(y - 1))", "((x + 1)**y*(x + 1).ln())"]);
// x^(y+1) + x^(−y): ∂x = (y + 1)x^y − y·x^(−y−1), ∂y = x^(y+1) ln x − x^(−y) ln x
case!(powf_expr(x, y) { x**(y + 1) + x**(-y) } => ["((-y)*x**(-y - 1)) + ((y + 1)*x**(y + 1 - 1))", "-(x**(-y)*x.ln()) + (x**(y + 1)*x.ln())"]);
// xyz + z²: ∂x = yz, ∂y = xz, ∂z = xy + 2z
case!(three(x, y, z) { x * y * z + z**2 } => ["y*z", "x*z", "x*y + 2*z"]);
// sin x·eʸ/z: ∂x = cos x eʸ/z, ∂y = sin x eʸ/z, ∂z = −sin x eʸ/z²
case!(mixed(x, y, z) { x.sin() * y.exp() / z } => ["x.cos()*y.exp()/z", "x.sin()*y.exp()/z", "-x.sin()*y.exp()/z**2"]);
// A parameter named like a float that `str::parse::<f64>` accepts: inf²·x has ∂inf = 2·inf·x and
// ∂x = inf². The formatter reads the atom `inf` back as the number ∞.
case!(param_named_inf(inf, x) { inf**2 * x } => ["2*inf*x", "inf**2"]);

// Tensor functions (strings only).
// Σ(x³ + x²) → 3x² + 2x element-wise
case!(tensor tensor_cubic(x) { (x**3 + x**2).sum() } => ["3*x**2 + 2*x"]);
// Σ sin x → cos x
case!(tensor tensor_sin(x) { x.sin().sum() } => ["x.cos()"]);
// Σ xy: ∂x = y, ∂y = x
case!(tensor tensor_product(x, y) { (x * y).sum() } => ["y", "x"]);
// mean(2x²) → 4x/n (n printed as the length of the averaged operand)
case!(tensor tensor_mean(x) { (2*x**2).mean() } => ["4*x/(2*x**2).len()"]);

// ---------------------------------------------------------------------------------------------
// Checks.

#[track_caller]
fn check_text(got: &[(&str, &str)], names: &[&str], want: &[&str]) {
    let got_names: Vec<&str> = got.iter().map(|(n, _)| *n).collect();
    let got_text: Vec<&str> = got.iter().map(|(_, t)| *t).collect();
    assert_eq!(got_names, names, "parameter names of the formulas");
    assert_eq!(got_text, want, "formula text");
}

/// The gradient of `f_grad` as a `Vec`, whatever its arity.
trait Grad {
    fn to_vec(self) -> Vec<f64>;
}

impl Grad for f64 {
    fn to_vec(self) -> Vec<f64> {
        vec![self]
    }
}

impl Grad for (f64, f64) {
    fn to_vec(self) -> Vec<f64> {
        vec![self.0, self.1]
    }
}

impl Grad for (f64, f64, f64) {
    fn to_vec(self) -> Vec<f64> {
        vec![self.0, self.1, self.2]
    }
}

/// xorshift64: deterministic points in [0.5, 1.5) (every case is smooth there).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        0.5 + (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Every formula, evaluated from its text at 5 random points, equals `f_grad` there.
#[track_caller]
fn check_reparse(formulas: &[(&str, &str)], grad: impl Fn(&[f64]) -> Vec<f64>) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..5 {
        let point: Vec<f64> = formulas.iter().map(|_| rng.next()).collect();
        let env: Vec<(&str, f64)> = formulas
            .iter()
            .map(|(n, _)| *n)
            .zip(point.clone())
            .collect();
        let want = grad(&point);
        for (k, (name, text)) in formulas.iter().enumerate() {
            let got = eval(text, &env);
            let tol = 1e-9 * got.abs().max(want[k].abs()) + 1e-300;
            assert!(
                (got - want[k]).abs() <= tol,
                "d/d{name} = `{text}` at {env:?} evaluates to {got}, f_grad gives {}",
                want[k]
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The evaluator: numbers, variables, `+ - * /`, unary minus, `**` (tighter than unary minus on
// its left, right-associative, its exponent may carry a unary minus), parentheses, and postfix
// method calls.
//
//   expr    = term (("+" | "-") term)*
//   term    = unary (("*" | "/") unary)*
//   unary   = "-" unary | power
//   power   = postfix ("**" unary)?
//   postfix = primary ("." ident "(" (expr ("," expr)*)? ")")*
//   primary = number | ident | "(" expr ")"

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Num(f64),
    Ident(String),
    Sym(&'static str),
}

fn lex(text: &str) -> Vec<Tok> {
    let c: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
        } else if ch.is_ascii_digit() {
            let start = i;
            while i < c.len() && c[i].is_ascii_digit() {
                i += 1;
            }
            // A fraction only if a digit follows the dot: `2.ln()` is 2 then `.ln()`.
            if i + 1 < c.len() && c[i] == '.' && c[i + 1].is_ascii_digit() {
                i += 1;
                while i < c.len() && c[i].is_ascii_digit() {
                    i += 1;
                }
            }
            if i < c.len() && (c[i] == 'e' || c[i] == 'E') {
                let mut j = i + 1;
                if j < c.len() && (c[j] == '-' || c[j] == '+') {
                    j += 1;
                }
                if j < c.len() && c[j].is_ascii_digit() {
                    i = j;
                    while i < c.len() && c[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            let s: String = c[start..i].iter().collect();
            out.push(Tok::Num(
                s.parse()
                    .unwrap_or_else(|_| panic!("bad number `{s}` in `{text}`")),
            ));
        } else if ch.is_alphabetic() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(c[start..i].iter().collect()));
        } else {
            let sym = match ch {
                '*' if c.get(i + 1) == Some(&'*') => "**",
                '+' => "+",
                '-' => "-",
                '*' => "*",
                '/' => "/",
                '(' => "(",
                ')' => ")",
                '.' => ".",
                ',' => ",",
                _ => panic!("unexpected `{ch}` in `{text}`"),
            };
            i += sym.len();
            out.push(Tok::Sym(sym));
        }
    }
    out
}

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    env: &'a [(&'a str, f64)],
    text: &'a str,
}

impl Parser<'_> {
    fn peek_sym(&self, s: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Sym(t)) if *t == s)
    }

    fn eat(&mut self, s: &str) -> bool {
        let hit = self.peek_sym(s);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn expect(&mut self, s: &str) {
        assert!(
            self.eat(s),
            "expected `{s}` at token {} of `{}`",
            self.pos,
            self.text
        );
    }

    fn expr(&mut self) -> f64 {
        let mut v = self.term();
        loop {
            if self.eat("+") {
                v += self.term();
            } else if self.eat("-") {
                v -= self.term();
            } else {
                return v;
            }
        }
    }

    fn term(&mut self) -> f64 {
        let mut v = self.unary();
        loop {
            if self.eat("*") {
                v *= self.unary();
            } else if self.eat("/") {
                v /= self.unary();
            } else {
                return v;
            }
        }
    }

    fn unary(&mut self) -> f64 {
        if self.eat("-") {
            -self.unary()
        } else {
            self.power()
        }
    }

    fn power(&mut self) -> f64 {
        let base = self.postfix();
        if self.eat("**") {
            let e = self.unary();
            if e.fract() == 0.0 && e.abs() < 1e9 {
                base.powi(e as i32)
            } else {
                base.powf(e)
            }
        } else {
            base
        }
    }

    fn postfix(&mut self) -> f64 {
        let mut v = self.primary();
        while self.eat(".") {
            let name = match self.toks.get(self.pos) {
                Some(Tok::Ident(s)) => s.clone(),
                t => panic!("expected a method name, found {t:?} in `{}`", self.text),
            };
            self.pos += 1;
            self.expect("(");
            let mut args = Vec::new();
            if !self.eat(")") {
                args.push(self.expr());
                while self.eat(",") {
                    args.push(self.expr());
                }
                self.expect(")");
            }
            v = method(v, &name, &args, self.text);
        }
        v
    }

    fn primary(&mut self) -> f64 {
        match self.toks.get(self.pos).cloned() {
            Some(Tok::Num(n)) => {
                self.pos += 1;
                n
            }
            Some(Tok::Ident(name)) => {
                self.pos += 1;
                match self.env.iter().find(|(n, _)| *n == name) {
                    Some(&(_, v)) => v,
                    None => panic!("unknown variable `{name}` in `{}`", self.text),
                }
            }
            Some(Tok::Sym("(")) => {
                self.pos += 1;
                let v = self.expr();
                self.expect(")");
                v
            }
            t => panic!("unexpected {t:?} in `{}`", self.text),
        }
    }
}

fn method(v: f64, name: &str, args: &[f64], text: &str) -> f64 {
    let arity = |n: usize| {
        assert_eq!(args.len(), n, "`.{name}` takes {n} argument(s) in `{text}`");
    };
    match name {
        "powi" => {
            arity(1);
            assert_eq!(args[0].fract(), 0.0, "non-integer powi in `{text}`");
            v.powi(args[0] as i32)
        }
        "powf" | "max" | "min" | "log" | "atan2" | "hypot" => {
            arity(1);
            let f: fn(f64, f64) -> f64 = match name {
                "powf" => f64::powf,
                "max" => f64::max,
                "min" => f64::min,
                "log" => f64::log,
                "atan2" => f64::atan2,
                _ => f64::hypot,
            };
            f(v, args[0])
        }
        "clamp" => {
            arity(2);
            v.clamp(args[0], args[1])
        }
        "mul_add" => {
            arity(2);
            v.mul_add(args[0], args[1])
        }
        _ => {
            let f: fn(f64) -> f64 = match name {
                "sin" => f64::sin,
                "cos" => f64::cos,
                "tan" => f64::tan,
                "tanh" => f64::tanh,
                "sinh" => f64::sinh,
                "cosh" => f64::cosh,
                "exp" => f64::exp,
                "ln" => f64::ln,
                "sqrt" => f64::sqrt,
                "abs" => f64::abs,
                "signum" => f64::signum,
                "recip" => f64::recip,
                "cbrt" => f64::cbrt,
                "exp2" => f64::exp2,
                "exp_m1" => f64::exp_m1,
                "ln_1p" => f64::ln_1p,
                "log2" => f64::log2,
                "log10" => f64::log10,
                "asin" => f64::asin,
                "acos" => f64::acos,
                "atan" => f64::atan,
                "asinh" => f64::asinh,
                "acosh" => f64::acosh,
                "atanh" => f64::atanh,
                "sigmoid" => |v| 1.0 / (1.0 + (-v).exp()),
                "relu" => |v| v.max(0.0),
                _ => panic!("unknown method `.{name}()` in `{text}`"),
            };
            arity(0);
            f(v)
        }
    }
}

fn eval(text: &str, env: &[(&str, f64)]) -> f64 {
    let mut p = Parser {
        toks: lex(text),
        pos: 0,
        env,
        text,
    };
    let v = p.expr();
    assert_eq!(p.pos, p.toks.len(), "trailing tokens in `{text}`");
    v
}

// The evaluator itself, on the precedence rules it must share with the formulas.
#[test]
fn evaluator_precedence() {
    let env = [("x", 3.0), ("y", 2.0)];
    let cases: &[(&str, f64)] = &[
        ("2*x**2", 18.0),
        ("-x**2", -9.0),
        ("x**-1", 1.0 / 3.0),
        ("2**3**2", 512.0),
        ("(2**3)**2", 64.0),
        ("x - y - 1", 0.0),
        ("x/y/2", 0.75),
        ("-x*y", -6.0),
        ("2.ln()", std::f64::consts::LN_2),
        ("(x + 1).sqrt()", 2.0),
        ("x.powi(2)*y.powf(0.5)", 9.0 * 2f64.sqrt()),
        ("-(x - 5).abs().signum()", -1.0),
        ("x**y.exp().ln()", 9.0),
        ("1.5e2 + 0.25", 150.25),
        ("x.max(y) - x.min(y)", 1.0),
    ];
    for &(text, want) in cases {
        let got = eval(text, &env);
        assert!(
            (got - want).abs() <= 1e-12 * want.abs().max(1.0),
            "`{text}`: {got} ≠ {want}"
        );
    }
}

// The re-parse check catches wrong math: a derivative off by a sign or a power fails.
#[test]
#[should_panic(expected = "evaluates to")]
fn reparse_rejects_wrong_math() {
    check_reparse(&[("x", "3*x**2 - 2*x")], |a| {
        vec![3.0 * a[0] * a[0] + 2.0 * a[0]]
    });
}

// Sequence parameters read at literal indices: one formula per element, as for arrays.
mod sequence_elements {
    use autodiff::differentiable;

    #[differentiable]
    pub fn slice(x: &[f64]) -> f64 {
        x[0] * x[1]
    }

    #[differentiable]
    pub fn owned(x: Vec<f64>) -> f64 {
        x[0] * x[2]
    }

    #[test]
    fn formulas() {
        assert_eq!(slice_grad_formulas(), &[("x", "[x[1], x[0]]")]);
        assert_eq!(owned_grad_formulas(), &[("x", "[x[2], 0, x[0]]")]);
    }
}
