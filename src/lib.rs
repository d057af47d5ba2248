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
//! # Tensors for models
//!
//! `softmax(k)`, `log_softmax(k)` (stable at logits of 1000), `logsumexp`, `logsumexp_axis(k)`,
//! `max_all`, `min_all`, `max_axis(k)`, `min_axis(k)` (ties share the gradient evenly, as
//! PyTorch's `amax`), `unsqueeze(k)` and batched `matmul` are differentiable in a body;
//! [`Tensor::one_hot`] builds labels. Matrix products run on the `matrixmultiply` GEMM
//! kernels, element-wise kernels over large tensors on rayon's threads. Generated functions
//! are plain `fn`s of shared references: shards of a mini-batch can be differentiated in
//! parallel and their gradients summed.
//!
//! ```
//! use autodiff::{differentiable, tensor, Tensor};
//! use rayon::prelude::*;
//!
//! /// Softmax cross-entropy of a linear layer, summed over the rows.
//! #[differentiable(wrt(w, b))]
//! fn loss(w: &Tensor<f64>, b: &Tensor<f64>, x: &Tensor<f64>, y: &Tensor<f64>) -> f64 {
//!     let logits = x.matmul(w) + b;
//!     -(y * logits.log_softmax(1)).sum()
//! }
//!
//! let w = tensor![[0.1, -0.2, 0.3], [0.4, 0.05, -0.6]];
//! let b = tensor![0.0, 0.1, -0.1];
//! let xs = [tensor![[0.5, -1.0], [1.5, 0.3]], tensor![[-0.7, 0.8], [0.0, 2.0]]];
//! let ys = [Tensor::one_hot(&[0, 2], 3), Tensor::one_hot(&[1, 2], 3)];
//!
//! // One gradient per shard, on rayon's threads, summed.
//! let (gw, gb) = (0..2)
//!     .into_par_iter()
//!     .map(|s| loss_grad(&w, &b, &xs[s], &ys[s]))
//!     .reduce(
//!         || (Tensor::zeros(&[2, 3]), Tensor::zeros(&[3])),
//!         |(w1, b1), (w2, b2)| (&w1 + &w2, &b1 + &b2),
//!     );
//!
//! // The gradient of the whole batch.
//! let x = tensor![[0.5, -1.0], [1.5, 0.3], [-0.7, 0.8], [0.0, 2.0]];
//! let (whole_w, whole_b) = loss_grad(&w, &b, &x, &Tensor::one_hot(&[0, 2, 1, 2], 3));
//! assert!((&gw - &whole_w).as_slice().iter().all(|d| d.abs() < 1e-12));
//! assert!((&gb - &whole_b).as_slice().iter().all(|d| d.abs() < 1e-12));
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
//! | `f_hessian` | `(p1, ..., pn) -> T` or `[[T; k]; k]` | R and every wi are scalar floats, or one vector parameter |
//! | `f_jvp` | `(p1, ..., pn, t1, ..., tk) -> (R, R)` | always |
//! | `f_jacobian` | `(p1, ..., pn) -> J` | always |
//! | `f_hvp` | `(p1, ..., pn, v1, ..., vk) -> G` | R is a scalar |
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
//! Forward mode through the function comes from the same rule when the result is a float:
//! `f_jvp` is the value and `Σᵢ <rule(x.., 1)ᵢ, tᵢ>`. A forward rule
//! `#[differentiable(vjp = rule, jvp = fwd)]`, `fwd(p1, ..., pn, t1, ..., tk) -> (R, R)`, is
//! optional there (one pass instead of two calls), and needed for an array or tensor result,
//! whose `_jvp` otherwise panics (its `_jacobian` takes reverse passes). `f_grad_formulas`
//! names the derivative: `erf'(x)`, or `∂₂g(x, y)` for the second of several arguments.
//!
//! A rule gives first derivatives only: the Hessians and Hessian-vector products of the
//! function and of every function that calls it compile, and panic naming the rule when
//! called. When the rule is itself `#[differentiable]` (a function of one float), say
//! `vjp_differentiable` and second derivatives (`_hessian`, `_hvp`, and those of callers) go
//! through the rule's own pullback:
//!
//! ```
//! use autodiff::differentiable;
//!
//! #[differentiable]
//! fn cube_rule(x: f64, ct: f64) -> f64 {
//!     ct * 3.0 * x * x
//! }
//!
//! #[differentiable(vjp = cube_rule, vjp_differentiable)]
//! fn cube(x: f64) -> f64 {
//!     x * x * x
//! }
//!
//! #[differentiable]
//! fn twice(x: f64) -> f64 {
//!     let c = cube(x);
//!     c + cube(2.0 * x)
//! }
//!
//! assert_eq!(cube_grad(2.0), 12.0);
//! assert_eq!(cube_jvp(2.0, 0.5), (8.0, 6.0));
//! assert_eq!(cube_hvp(2.0, 1.0), 12.0);
//! assert_eq!(cube_grad_formulas(), &[("x", "cube'(x)")]);
//! assert_eq!(twice_hessian(2.0), 6.0 * 2.0 + 48.0 * 2.0); // (x³ + 8x³)'' = 54x
//! assert_eq!(twice_hvp(2.0, 1.0), 108.0);
//! ```
//!
//! # Models as structs
//!
//! `#[derive(Differentiable)]` makes a struct of parameters a value with a gradient of its own
//! type; `#[differentiable]` on a method taking `&self` differentiates `self` by default.
//!
//! ```
//! use autodiff::{differentiable, Differentiable};
//!
//! #[derive(Clone, Debug, PartialEq, Differentiable)]
//! struct Affine {
//!     w: f64,
//!     b: f64,
//!     #[autodiff(skip)]
//!     scale: f64, // a constant: copied into the gradient, never trained
//! }
//!
//! impl Affine {
//!     #[differentiable(wrt(self))]
//!     fn loss(&self, x: f64, y: f64) -> f64 {
//!         (self.scale * (self.w * x + self.b) - y).powi(2)
//!     }
//! }
//!
//! let mut m = Affine { w: 1.0, b: 0.0, scale: 2.0 };
//! let g: Affine = m.loss_grad(1.0, 3.0); // residual r = 2·1 - 3 = -1
//! assert_eq!(g, Affine { w: -4.0, b: -4.0, scale: 2.0 }); // 2·r·scale·x, 2·r·scale
//! assert_eq!(m.to_flat(), vec![1.0, 0.0]);
//! m.scaled_add(-0.1, &g);
//! assert_eq!(m.to_flat(), vec![1.4, 0.4]);
//! // Every leaf a float: the Hessian over the flat parameters (w, b), 2·scale²·[[x², x], [x, 1]].
//! assert_eq!(m.loss_hessian(1.0, 3.0), vec![vec![8.0, 8.0], vec![8.0, 8.0]]);
//! ```
//!
//! A stack of layers in a `Vec` field is read with a loop variable, `self.layers[i]`, in a
//! `for` body; the gradient's `layers` holds one gradient per layer (`examples/mlp_struct.rs`).
//!
//! Behind a trait, `#[differentiable]` goes on the impl block as well as on its methods: the
//! methods stay in the trait impl, their generated items are methods of the type.
//!
//! ```
//! use autodiff::{differentiable, Differentiable};
//!
//! trait Model {
//!     fn loss(&self, x: f64) -> f64;
//! }
//!
//! #[derive(Clone, Debug, Differentiable)]
//! struct Quad {
//!     a: f64,
//!     on: bool, // a constant, read as written in the condition
//! }
//!
//! #[differentiable]
//! impl Model for Quad {
//!     #[differentiable]
//!     fn loss(&self, x: f64) -> f64 {
//!         if self.on { self.a * x * x } else { x }
//!     }
//! }
//!
//! fn twice<M: Model>(m: &M, x: f64) -> f64 {
//!     2.0 * m.loss(x)
//! }
//!
//! let q = Quad { a: 3.0, on: true };
//! assert_eq!(twice(&q, 2.0), 24.0);
//! let (g, dx) = q.loss_grad(2.0);
//! assert_eq!((g.a, dx), (4.0, 12.0));
//! ```
//!
//! # Forward mode, Jacobians, Hessian-vector products
//!
//! Also generated: `f_jvp(p1, ..., pn, t1, ..., tk) -> (R, R)` (the value and the directional
//! derivative along tangents of the parameters' own types), `f_jacobian(p1, ..., pn) -> J`
//! (forward passes when inputs are fewer than outputs, reverse passes otherwise) and, for a
//! scalar R, `f_hvp(p1, ..., pn, v1, ..., vk) -> G` (reverse over forward) and `f_hessian` of
//! one `[T; N]`, `&[T]`, `Vec<T>` or `Tensor<T>` parameter. R may also be `[T; M]` (an array
//! literal in the tail) or `Vec<T>` (`vec![..]`); `f_vjp` then takes `[T; M]` or `&[T]`.
//!
//! ```
//! use autodiff::differentiable;
//!
//! #[differentiable]
//! fn polar(r: f64, t: f64) -> [f64; 2] {
//!     [r * t.cos(), r * t.sin()]
//! }
//!
//! let (p, dp) = polar_jvp(2.0, 0.0, 1.0, 0.0);
//! assert_eq!((p, dp), ([2.0, 0.0], [1.0, 0.0]));
//! let (jr, jt) = polar_jacobian(2.0, 0.0);
//! assert_eq!((jr, jt), ([1.0, 0.0], [0.0, 2.0]));
//!
//! #[differentiable]
//! fn rosen(x: [f64; 3]) -> f64 {
//!     (1.0 - x[0]) * (1.0 - x[0]) + 100.0 * (x[1] - x[0] * x[0]) * (x[1] - x[0] * x[0])
//!         + (1.0 - x[1]) * (1.0 - x[1]) + 100.0 * (x[2] - x[1] * x[1]) * (x[2] - x[1] * x[1])
//! }
//!
//! let h = rosen_hessian([1.0, 1.0, 1.0]);
//! assert_eq!(h, [[802.0, -400.0, 0.0], [-400.0, 1002.0, -400.0], [0.0, -400.0, 200.0]]);
//! assert_eq!(rosen_hvp([1.0, 1.0, 1.0], [1.0, 0.0, 0.0]), [802.0, -400.0, 0.0]);
//! ```
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
//! The macro crate (`autodiff-macros/src`) is a pipeline; every import points down it
//! (`lib → entry → expand → items → {diff, emit} → ir ← parse`), and no file imports one that
//! imports it (the test `autodiff-macros/tests/layout.rs` checks this):
//!
//! | module | job |
//! |---|---|
//! | `lib.rs` | the `proc_macro` shims only |
//! | `entry.rs` | route: an `impl` block (`impl_block.rs`: a trait impl's items go to an inherent impl), a method (`method.rs`, with `field_loops.rs` for `for w in &self.ws`), or a free function (`expand.rs`) |
//! | `derive.rs` | `#[derive(Differentiable)]` |
//! | `expand.rs` | drive the stages for one function; `AUTODIFF_TIMING`, `AUTODIFF_PRINT` |
//! | `args.rs`, `parse/` | `wrt(..)`, `vjp = ..`; `**`; signature; body → graph (`parse/body.rs`) |
//! | `ir/` | `graph.rs` (storage), `op.rs` (the op enum), `ops.rs` (THE op table: names, kinds, folding, reverse and forward rules), `build.rs` (every node goes in through the table's smart constructors), `horner.rs`, `poly.rs` |
//! | `diff/` | `reverse.rs` (adjoints), `forward.rs` (tangents): graph to more graph, no tokens |
//! | `fuse.rs` | fused tensor reductions |
//! | `items/` | one file per generated item: `grad.rs` (`_grad`, `_value_and_grad`), `vjp.rs` (`_vjp`, `__f_pullback`, `__f_pullback2`), `hessian.rs`, `dual.rs` (`__f_dual`), `forward.rs` (`_jvp`, `__f_pushforward`, `_jacobian`, `_hvp`), `trace.rs`, `formulas.rs`, `wrt.rs`, `custom_rule.rs`, `fallback.rs` (stubs beside `compile_error!`); `ctx.rs` holds what they share, `mod.rs` differentiates once and lists the items |
//! | `emit/` | graph → Rust tokens (`rust.rs`) and → formula text (`formula.rs`), blind to the item |
//! | `names.rs` | every generated identifier (`f_grad`, `__f_pullback`, `__f_wrt`, `__cotangent`, ...) |
//!
//! The path of `#[differentiable] fn f(x: f64) -> f64 { x.sin() * x }`: `entry::differentiable`
//! → `expand::prepare` (arguments, `**`, the function) → `expand::function` → `Sig::from_syn`
//! and `parse::body::lower` (graph: `Param(0)`, `Sin`, `Mul`) → `items::generate`:
//! `diff::reverse` seeded by 1 and by the cotangent (adjoints `x.cos()*x + x.sin()`), the Hessian
//! by a second sweep, then each file of `items/` writes its item through `emit::rust::Emitter`
//! (named `let`s, one per needed node) and the names of `names.rs`.
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
pub use autodiff_macros::Differentiable;
/// The float trait generic functions are written against (`T: Float`).
pub use autodiff_runtime::__private::Float;
pub use autodiff_runtime::{
    shape, tensor, Activations, Differentiable, NodeKind, ShapeError, Tensor, Trace, TraceNode,
};

#[doc(hidden)]
pub use autodiff_runtime::__private;
