//! Differential corpus in the spirit of `torch.autograd.gradcheck`: a few hundred generated
//! functions (`tests/random_cases.rs`, written by `tests/gen_random.rs`, which lists the
//! coverage per feature in the file's header) checked against plain Rust and finite
//! differences.
//!
//! - Scalar functions of 1 to 3 `f64` variables: `+ - * /`, `**` in every spacing and
//!   precedence situation, every float method of the crate documentation within its domain, calls to the
//!   helpers below, `let` reuse and shadowing, `let mut` with compound assignments, `if`/`else
//!   if`/`else` and early returns. At each of three points: `f` equals a plain-Rust
//!   transcription (`powi`/`powf`, every parenthesis explicit) to rounding, so the `**` rewrite
//!   parsed the precedence the generator meant; `f_value_and_grad` equals `f` and `f_grad`
//!   exactly; `f_grad` matches central differences, |g - fd| <= 1e-5 + 1e-4 |fd|; `f_hessian`
//!   matches central differences of `f_grad`, |H - fd| <= 1e-5 + 1e-4 |fd|.
//! - Loop functions over `&[f64]`, `[f64; 3]` and `&[f64; 3]` (and a scalar, differentiated
//!   or passed through with `wrt(..)`): the same checks but the Hessian.
//! - Tensor functions of two `&Tensor<f64>` of broadcasting shapes (and sometimes a scalar),
//!   ending in `.sum()` or `.mean()`: the value against a hand loop over the broadcast, and the
//!   same gradient checks, element by element.
//!
//! The generator keeps every point away from kinks, branch thresholds and domain edges.
//! All cases are checked and every mismatch is listed before a test fails. Generated functions
//! the macro does not compile would be kept out of the build and listed (`COMPILE_FAILURES`,
//! empty now).

use autodiff::{differentiable, Activations, Tensor};

// ---------------------------------------------------------------------------------------------
// Helpers called by the generated functions (tests/gen_random.rs evaluates the same formulas),
// each with a plain-Rust twin for the reference transcriptions.

#[rustfmt::skip]
#[differentiable]
fn helper_cubic(a: f64) -> f64 {
    a**3 - 2*a + 1
}

fn helper_cubic_ref(a: f64) -> f64 {
    a.powi(3) - 2.0 * a + 1.0
}

#[differentiable]
fn helper_mix(a: f64, b: f64) -> f64 {
    let t = a * b.sin();
    t + (a * a + 1).ln() * b
}

fn helper_mix_ref(a: f64, b: f64) -> f64 {
    a * b.sin() + (a * a + 1.0).ln() * b
}

// Differentiated in `a` only; the generated calls pass a constant `k`.
#[rustfmt::skip]
#[differentiable(wrt(a))]
fn helper_scaled(a: f64, k: f64) -> f64 {
    k * a.tanh() + a**2 / 2
}

fn helper_scaled_ref(a: f64, k: f64) -> f64 {
    k * a.tanh() + a.powi(2) / 2.0
}

// ---------------------------------------------------------------------------------------------
// The cases.

struct Case {
    name: &'static str,
    /// The body as written in the `#[differentiable]` function.
    src: &'static str,
    /// One coordinate per parameter.
    points: &'static [&'static [f64]],
    f: fn(&[f64]) -> f64,
    reference: fn(&[f64]) -> f64,
    grad: fn(&[f64]) -> Vec<f64>,
    value_and_grad: fn(&[f64]) -> (f64, Vec<f64>),
    hessian: fn(&[f64]) -> Vec<Vec<f64>>,
}

struct LoopCase {
    name: &'static str,
    src: &'static str,
    /// The last coordinate is a scalar `y` passed through with `wrt(x)`, not differentiated.
    data_y: bool,
    /// The slice or array, then the scalar `y` if the function has one.
    points: &'static [&'static [f64]],
    f: fn(&[f64]) -> f64,
    reference: fn(&[f64]) -> f64,
    grad: fn(&[f64]) -> Vec<f64>,
    value_and_grad: fn(&[f64]) -> (f64, Vec<f64>),
}

struct TensorCase {
    name: &'static str,
    src: &'static str,
    /// The data of `x`, then of `y`, then the scalar `s` if the function has one.
    points: &'static [&'static [f64]],
    f: fn(&[f64]) -> f64,
    reference: fn(&[f64]) -> f64,
    grad: fn(&[f64]) -> Vec<f64>,
    value_and_grad: fn(&[f64]) -> (f64, Vec<f64>),
}

/// The tensor of `shape` whose data starts at `v[start]`.
fn at(v: &[f64], start: usize, shape: &[usize]) -> Tensor<f64> {
    let n: usize = shape.iter().product();
    Tensor::from_vec(v[start..start + n].to_vec(), shape)
}

/// A gradient's data, after checking that it has its parameter's shape.
fn flat(g: &Tensor<f64>, shape: &[usize]) -> Vec<f64> {
    assert_eq!(g.shape(), shape, "gradient shape");
    g.to_vec()
}

// Emits the generated items; see the comment at the top of random_cases.rs.
macro_rules! random_cases {
    ($($items:tt)*) => {
        $($items)*
    };
}

include!("random_cases.rs");

// ---------------------------------------------------------------------------------------------
// Every generated function compiles. The generator writes a function the macro rejects to
// `COMPILE_FAILURES` (name, bug, source) instead of as an item; the four bugs found that way
// are fixed, and their minimal reproductions live on in tests/test_loops.rs.

#[test]
fn every_generated_function_compiles() {
    let names: Vec<&str> = COMPILE_FAILURES.iter().map(|(name, _, _)| *name).collect();
    assert!(names.is_empty(), "the macro rejects {names:?}");
}

// ---------------------------------------------------------------------------------------------
// The checks.

/// Central difference in coordinate `i`, step 1e-6 scaled like the generator's check.
fn fd<R>(f: impl Fn(&[f64]) -> R, point: &[f64], i: usize, sub: impl Fn(R, R) -> R) -> R
where
    R: Clone,
{
    let h = 1e-6 * point[i].abs().max(1.0);
    let mut p = point.to_vec();
    p[i] = point[i] + h;
    let hi = f(&p);
    p[i] = point[i] - h;
    let lo = f(&p);
    sub(hi, lo)
}

fn fd_scalar(f: fn(&[f64]) -> f64, point: &[f64], i: usize) -> f64 {
    let h = 1e-6 * point[i].abs().max(1.0);
    fd(f, point, i, |hi, lo| (hi - lo) / (2.0 * h))
}

/// gradcheck's tolerance; written so that a NaN fails.
fn within(got: f64, numeric: f64) -> bool {
    (got - numeric).abs() <= 1e-5 + 1e-4 * numeric.abs()
}

/// Failures of one case, and the number of individual comparisons made.
#[derive(Default)]
struct Report {
    failures: Vec<String>,
    checks: usize,
}

impl Report {
    fn expect(
        &mut self,
        ok: bool,
        name: &str,
        src: &str,
        point: &[f64],
        what: impl FnOnce() -> String,
    ) {
        self.checks += 1;
        if !ok {
            self.failures
                .push(format!("{name} at {point:?}: {}\n    body:\n{src}", what()));
        }
    }

    fn finish(self, what: &str) {
        eprintln!("{what}: {} checks", self.checks);
        assert!(
            self.failures.is_empty(),
            "{what}: {} of {} checks failed:\n{}",
            self.failures.len(),
            self.checks,
            self.failures.join("\n")
        );
    }
}

/// Value against the transcription, `_value_and_grad` against `f` and `_grad`, `_grad` against
/// central differences in the first `grad.len()` coordinates.
#[allow(clippy::too_many_arguments)]
fn check_first_order(
    r: &mut Report,
    name: &str,
    src: &str,
    point: &[f64],
    f: fn(&[f64]) -> f64,
    reference: fn(&[f64]) -> f64,
    value_tolerance: f64,
    grad: fn(&[f64]) -> Vec<f64>,
    value_and_grad: fn(&[f64]) -> (f64, Vec<f64>),
    differentiated: usize,
) {
    let value = f(point);
    let expected = reference(point);
    r.expect(
        (value - expected).abs() <= value_tolerance * (1.0 + expected.abs()),
        name,
        src,
        point,
        || format!("value {value}, plain Rust gives {expected}"),
    );
    let g = grad(point);
    let (v2, g2) = value_and_grad(point);
    r.expect(v2.to_bits() == value.to_bits(), name, src, point, || {
        format!("_value_and_grad value {v2} != f {value}")
    });
    r.expect(g2 == g, name, src, point, || {
        format!("_value_and_grad gradient {g2:?} != _grad {g:?}")
    });
    r.expect(g.len() == differentiated, name, src, point, || {
        format!("gradient of length {}, expected {differentiated}", g.len())
    });
    for (i, &gi) in g.iter().enumerate().take(differentiated) {
        let numeric = fd_scalar(f, point, i);
        r.expect(within(gi, numeric), name, src, point, || {
            format!("d/dv[{i}] = {gi}, finite difference {numeric}")
        });
    }
}

fn check_scalar(case: &Case, r: &mut Report) {
    for point in case.points {
        check_first_order(
            r,
            case.name,
            case.src,
            point,
            case.f,
            case.reference,
            1e-12,
            case.grad,
            case.value_and_grad,
            point.len(),
        );
    }
}

/// `_hessian` against central differences of `_grad`: column i is
/// (∇f(p + h eᵢ) − ∇f(p − h eᵢ)) / 2h.
fn check_hessian(case: &Case, r: &mut Report) {
    for point in case.points {
        let h = (case.hessian)(point);
        let n = point.len();
        r.expect(
            h.len() == n && h.iter().all(|row| row.len() == n),
            case.name,
            case.src,
            point,
            || format!("Hessian {h:?} is not {n}x{n}"),
        );
        for i in 0..n {
            let step = 1e-6 * point[i].abs().max(1.0);
            let column = fd(case.grad, point, i, |hi, lo| {
                hi.iter()
                    .zip(&lo)
                    .map(|(a, b)| (a - b) / (2.0 * step))
                    .collect()
            });
            for (j, &numeric) in column.iter().enumerate() {
                let got = h
                    .get(j)
                    .and_then(|row| row.get(i))
                    .copied()
                    .unwrap_or(f64::NAN);
                r.expect(within(got, numeric), case.name, case.src, point, || {
                    format!(
                        "H[{j}][{i}] = {got}, finite difference of _grad {numeric} (Hessian {h:?})"
                    )
                });
            }
        }
    }
}

fn check_loop(case: &LoopCase, r: &mut Report) {
    for point in case.points {
        let differentiated = point.len() - usize::from(case.data_y);
        check_first_order(
            r,
            case.name,
            case.src,
            point,
            case.f,
            case.reference,
            1e-12,
            case.grad,
            case.value_and_grad,
            differentiated,
        );
    }
}

fn check_tensor(case: &TensorCase, r: &mut Report) {
    for point in case.points {
        // The hand loop sums in another order than the runtime's reduction.
        check_first_order(
            r,
            case.name,
            case.src,
            point,
            case.f,
            case.reference,
            1e-10,
            case.grad,
            case.value_and_grad,
            point.len(),
        );
    }
}

#[test]
fn corpus_size() {
    assert!(CASES.len() >= 300, "only {} scalar cases", CASES.len());
    assert!(
        LOOP_CASES.len() >= 50,
        "only {} loop cases",
        LOOP_CASES.len()
    );
    assert!(
        TENSOR_CASES.len() >= 30,
        "only {} tensor cases",
        TENSOR_CASES.len()
    );
    for p in CASES.iter().map(|c| c.points.len()) {
        assert_eq!(p, 3);
    }
}

#[test]
fn scalar_values_and_gradients() {
    let mut r = Report::default();
    for case in CASES.iter() {
        check_scalar(case, &mut r);
    }
    r.finish("scalar functions, values and gradients");
}

#[test]
fn scalar_hessians() {
    let mut r = Report::default();
    for case in CASES.iter() {
        check_hessian(case, &mut r);
    }
    r.finish("scalar functions, Hessians");
}

#[test]
fn loops_values_and_gradients() {
    let mut r = Report::default();
    for case in LOOP_CASES.iter() {
        check_loop(case, &mut r);
    }
    r.finish("loop functions");
}

#[test]
fn tensors_values_and_gradients() {
    let mut r = Report::default();
    for case in TENSOR_CASES.iter() {
        check_tensor(case, &mut r);
    }
    r.finish("tensor functions");
}
