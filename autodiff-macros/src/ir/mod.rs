//! The expression graph and its one table of operations.

pub(crate) mod graph;
pub(crate) mod horner;
pub(crate) mod ops;
pub(crate) mod poly;

pub(crate) use graph::{BlockId, Graph, Id, Kind};
pub(crate) use ops::Op;
