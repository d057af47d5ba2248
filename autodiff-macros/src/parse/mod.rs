//! From tokens to the expression graph.

pub(crate) mod body;
pub(crate) mod desugar;
pub(crate) mod power;
pub(crate) mod sig;
