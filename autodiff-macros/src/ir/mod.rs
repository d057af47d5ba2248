//! The expression graph and its one table of operations.

mod build;
pub(crate) mod graph;
pub(crate) mod horner;
pub(crate) mod op;
pub(crate) mod ops;
pub(crate) mod poly;

pub(crate) use graph::{BlockId, Graph, Id, Kind};
pub(crate) use op::Op;
