//! Compile-time reverse-mode automatic differentiation.
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
//! assert_eq!(poly_grad(2.0), 93.0);
//! ```

pub use autodiff_macros::differentiable;
/// The float trait generic functions are written against (`T: Float`).
pub use autodiff_runtime::__private::Float;
pub use autodiff_runtime::{
    shape, tensor, Activations, NodeKind, ShapeError, Tensor, Trace, TraceNode,
};

#[doc(hidden)]
pub use autodiff_runtime::__private;
