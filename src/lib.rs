//! Compile-time reverse-mode automatic differentiation.
//!
//! `#[differentiable]` reads a function body, applies the chain rule symbolically, and writes
//! the gradient as plain Rust next to the function: no tape, no runtime graph, and no
//! allocation for scalar code.
//!
//! ```
//! use autodiff::differentiable;
//!
//! #[differentiable]
//! fn poly(x: f64) -> f64 {
//!     2*x**4 + x**3 + 3*x**2 + 5*x + 1
//! }
//!
//! assert_eq!(poly(2.0), 63.0);
//! assert_eq!(poly_grad(2.0), 93.0); // 8x³ + 3x² + 6x + 5
//! assert_eq!(poly_grad_formulas(), [("x", "8*x**3 + 3*x**2 + 6*x + 5")]);
//! assert_eq!(poly_hessian(2.0), 114.0);
//! ```
//!
//! # Tensors
//!
//! [`Tensor<T>`] broadcasts like NumPy, and gradients follow PyTorch: every broadcast is
//! summed back to the shape of its operand.
//!
//! ```
//! use autodiff::{differentiable, tensor, Tensor};
//!
//! #[differentiable]
//! fn z_sum(x: &Tensor<f64>, y: &Tensor<f64>) -> f64 {
//!     let z = x * y + y**2;
//!     z.sum()
//! }
//!
//! let (x, y) = (tensor![1., 2., 3.], tensor![[4.], [5.]]);
//! let (value, (gx, gy)) = z_sum_value_and_grad(&x, &y);
//! assert_eq!(value, 177.0);
//! assert_eq!(gx, tensor![9., 9., 9.]);
//! assert_eq!(gy, tensor![[30.], [36.]]);
//!
//! // Every intermediate value and gradient, as PyTorch's `retain_grad` would keep them.
//! let trace = z_sum_trace(&x, &y);
//! assert_eq!(trace.grad("z"), Tensor::ones(&[2, 3]));
//! ```
//!
//! # Loops and slices
//!
//! `for` loops over integer ranges are differentiated in reverse: the backward pass replays the
//! iterations backwards, reading from a tape only the carried values it needs.
//!
//! ```
//! use autodiff::differentiable;
//!
//! #[differentiable]
//! fn rosenbrock(x: &[f64]) -> f64 {
//!     let mut s = 0.0;
//!     for i in 0..x.len() - 1 {
//!         s += 100 * (x[i + 1] - x[i] * x[i]).powi(2) + (1 - x[i]).powi(2);
//!     }
//!     s
//! }
//!
//! assert_eq!(rosenbrock_grad(&[1.0, 1.0, 1.0]), vec![0.0, 0.0, 0.0]);
//! assert_eq!(rosenbrock_grad(&[0.5, 1.5, -1.0]), vec![-251.0, 2201.0, -650.0]);
//! ```
//!
//! # Idiomatic Rust in a body
//!
//! Iterator chains, closures, `while`, `loop`, `break`, `continue` and `match` are rewritten
//! into the loops and branches above before they are differentiated: a chain is one loop over
//! the indices, a closure is inlined where it is called, a `while` loop keeps a tape that grows
//! with its trip count, and `match` on a non-differentiated value is an `if` chain.
//!
//! ```
//! use autodiff::differentiable;
//!
//! #[differentiable(wrt(w))]
//! fn loss(w: f64, xs: &[f64], ys: &[f64]) -> f64 {
//!     let residual = |x: &f64, y: &f64| w * x - y;
//!     xs.iter().zip(ys).map(|(x, y)| residual(x, y).powi(2)).sum::<f64>()
//! }
//!
//! #[differentiable]
//! fn halvings(x: f64) -> f64 {
//!     let mut y = x;
//!     while y > 1.0 {
//!         y = y / 2.0;
//!     }
//!     y
//! }
//!
//! assert_eq!(loss_grad(2.0, &[1.0, 2.0], &[1.0, 3.0]), 2.0 * 1.0 + 2.0 * 2.0);
//! assert_eq!(halvings_grad(6.0), 0.125); // three halvings
//! ```
//!
//! # What is generated
//!
//! For `fn f(p1, ..., pn) -> R` with differentiated parameters `w1..wk` (by default every
//! `f32`, `f64`, `T: Float`, `[T; N]`, `&[T]`, `Vec<T>` and `Tensor<T>` parameter; choose with
//! `#[differentiable(wrt(w, b))]`):
//!
//! | item | signature | when |
//! |---|---|---|
//! | `f` | unchanged | always |
//! | `f_grad` | `(p1, ..., pn) -> G` | R is a scalar |
//! | `f_value_and_grad` | `(p1, ..., pn) -> (R, G)` | R is a scalar |
//! | `f_vjp` | `(p1, ..., pn, cotangent: R or &Tensor<T>) -> G` | always |
//! | `f_hessian` | `(p1, ..., pn) -> T` or `[[T; k]; k]` | every wi is a scalar float |
//! | `f_grad_formulas` | `() -> &'static [(&'static str, &'static str)]` | always |
//! | `f_trace` | `(p1, ..., pn) -> Trace<T>` | R is a scalar |
//!
//! G is the gradient of the one differentiated parameter, or a tuple of them in order, each of
//! its parameter's type (`Vec<T>` for slices, `Tensor<T>` for `&Tensor<T>`).
//!
//! Calls from one differentiable function to another go through the callee's generated
//! pullback; a function can state its own rule instead with
//! `#[differentiable(vjp = rule)]`, where `rule(p1, ..., pn, cotangent) -> G`.
//!
//! # Gradients at non-differentiable points
//!
//! As PyTorch computes them: the true gradient where it exists, else the sub- or
//! super-gradient of minimum norm, else the continuous limit.
//!
//! | expression | at | gradient |
//! |---|---|---|
//! | `x.abs()`, `x.relu()` | x = 0 | 0 |
//! | `x.sqrt()`, `x.ln()` | x = 0 | +inf |
//! | `signum`, `floor`, `ceil`, `round`, `trunc` | everywhere | 0 |
//! | `x**c`, constant c | c = 0 | 0 everywhere, x = 0 included |
//! | `x**2` | x = 0 | 0 (never NaN) |
//! | `x**y`, both differentiated | y = 0 | d/dx = 0 |
//! | `x**y` | x = 0, y >= 0 | d/dy = 0 |
//! | `a.max(b)`, `a.min(b)` | a = b | 0.5 to each |
//! | `x.clamp(lo, hi)` | x = lo or x = hi | 0 |
//!
//! # How it works
//!
//! The macro is a small compiler. A token pass turns `**` into a power operator (Python's
//! precedence; a spaced `* *` before a number literal too, which is how rustfmt prints `x**2`).
//! The body is lowered to an SSA expression graph, hash-consed, with `if` arms as nested blocks
//! and each loop body as a graph of its own. One reverse sweep applies a single table of
//! derivative rules; smart constructors fold constants and drop `1*x` and `x + 0` as they
//! build; a gradient that is a polynomial in one value is rewritten in Horner form. The
//! emitter writes each needed node once, as a named `let`, so shared
//! subexpressions are computed once and the backward pass reuses forward values. Scalar code
//! uses plain operators; values that may be tensors go through small runtime traits, so one
//! generated body serves `f64`, `f32`, a generic `T: Float` and `Tensor<T>`.
//!
//! To read the generated code, set `AUTODIFF_PRINT` to a function name (or `*`) while
//! building: `AUTODIFF_PRINT=poly cargo build`. `AUTODIFF_TIMING=1` prints how long each
//! expansion took.
//!
//! # Errors
//!
//! Anything unsupported that touches a differentiated value is a compile error at the
//! offending token, saying what to write instead: `%`, `match` on a float, `while let`,
//! labeled or valued `break`, escaping closures, iterator adaptors other than those listed in
//! README.md, macros, unknown methods, casts to integers. rustc rejects
//! `x **= e` before any macro runs; write `x = x**e`.

#![warn(missing_docs)]

pub use autodiff_macros::differentiable;
/// The float trait generic functions are written against (`T: Float`).
pub use autodiff_runtime::__private::Float;
pub use autodiff_runtime::{
    shape, tensor, Activations, NodeKind, ShapeError, Tensor, Trace, TraceNode,
};

#[doc(hidden)]
pub use autodiff_runtime::__private;
