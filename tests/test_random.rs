//! Property test over a few hundred generated scalar functions of 1 to 3 variables
//! (`tests/random_cases.rs`, written by `tests/gen_random.rs`): `+ - * /`, `**` with integer,
//! float and expression exponents in varied spacing and precedence, unary minus, smooth
//! methods, `let` reuse and shadowing, `let mut` with compound assignment, and `if` on
//! comparisons. At each of three points per function:
//!
//! - `f` equals a plain-Rust transcription (`powi`/`powf`, every parenthesis explicit) to
//!   rounding, so the `**` rewrite parsed the precedence the generator meant;
//! - `f_value_and_grad`'s value is exactly `f`'s, and its gradient exactly `f_grad`'s;
//! - `f_grad` matches central differences: |g - fd| <= 1e-5 + 1e-4 |fd| (torch.autograd.gradcheck's
//!   idea).
//!
//! All functions are checked and every mismatch is listed before the test fails.

use autodiff::{differentiable, Activations};

struct Case {
    name: &'static str,
    /// The body as written in the `#[differentiable]` function.
    src: &'static str,
    arity: usize,
    /// Unused trailing coordinates are 0.
    points: &'static [[f64; 3]],
    f: fn(&[f64]) -> f64,
    reference: fn(&[f64]) -> f64,
    grad: fn(&[f64]) -> Vec<f64>,
    value_and_grad: fn(&[f64]) -> (f64, Vec<f64>),
}

// Emits the generated items; see the comment at the top of random_cases.rs.
macro_rules! random_cases {
    ($($items:tt)*) => {
        $($items)*
    };
}

include!("random_cases.rs");

/// Central difference in coordinate `i`, step 1e-6 scaled like the generator's check.
fn fd(f: fn(&[f64]) -> f64, point: &[f64], i: usize) -> f64 {
    let h = 1e-6 * point[i].abs().max(1.0);
    let mut p = point.to_vec();
    p[i] = point[i] + h;
    let hi = f(&p);
    p[i] = point[i] - h;
    let lo = f(&p);
    (hi - lo) / (2.0 * h)
}

/// Every mismatch of one case at one point.
fn check(case: &Case, point: &[f64], failures: &mut Vec<String>) {
    let mut fail = |what: String| {
        failures.push(format!(
            "{} at {point:?}: {what}\n    body:\n{}",
            case.name, case.src
        ))
    };
    let value = (case.f)(point);
    let expected = (case.reference)(point);
    if (value - expected).abs() > 1e-12 * (1.0 + expected.abs()) {
        fail(format!("value {value}, plain Rust gives {expected}"));
    }
    let grad = (case.grad)(point);
    let (v2, g2) = (case.value_and_grad)(point);
    if v2.to_bits() != value.to_bits() {
        fail(format!("_value_and_grad value {v2} != f {value}"));
    }
    if g2 != grad {
        fail(format!("_value_and_grad gradient {g2:?} != _grad {grad:?}"));
    }
    for (i, &g) in grad.iter().enumerate() {
        let numeric = fd(case.f, point, i);
        // Written so that a NaN gradient fails too.
        let within = (g - numeric).abs() <= 1e-5 + 1e-4 * numeric.abs();
        if !within {
            fail(format!(
                "d/d{} = {g}, finite difference {numeric}",
                ["x", "y", "z"][i]
            ));
        }
    }
}

#[test]
fn random_functions_match_finite_differences() {
    assert!(CASES.len() >= 300, "only {} generated cases", CASES.len());
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in CASES {
        assert_eq!(case.points.len(), 3, "{}", case.name);
        for point in case.points {
            check(case, &point[..case.arity], &mut failures);
            checked += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
