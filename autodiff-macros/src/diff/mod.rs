//! Differentiation: graph to more of the same graph, no tokens. `reverse.rs` is the adjoint
//! sweep (`_grad`, `_vjp`, the Hessian by a second reverse sweep); `forward.rs` the tangent
//! sweep (`_jvp`, `_pushforward`, Hessian-vector products).

pub(crate) mod forward;
pub(crate) mod reverse;

pub(crate) use reverse::{reverse, reverse_from, reverse_within, SweepError};
