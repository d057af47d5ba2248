//! Runtime of the `autodiff` crate: the [`Tensor`] type with NumPy broadcasting,
//! the float activations, and the hidden helpers that generated code calls.
//!
//! Users depend on the `autodiff` facade, which re-exports everything here.

#![warn(missing_docs)]

mod activations;
mod differentiable;
mod display;
mod error;
mod forward;
mod fused;
mod hyperdual;
#[cfg(feature = "ndarray")]
mod interop;
mod kernels;
mod linalg;
mod models;
mod ops;
mod parallel;
mod reduce;
pub mod shape;
mod tensor;
mod trace;

#[doc(hidden)]
pub mod __private;

pub use activations::Activations;
pub use differentiable::Differentiable;
pub use error::ShapeError;
pub use hyperdual::HyperDual;
pub use tensor::Tensor;
pub use trace::{NodeKind, Trace, TraceNode};
