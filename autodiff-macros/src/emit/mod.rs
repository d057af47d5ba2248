//! From the graph to output: Rust code (`rust`).

pub(crate) mod formula;
pub(crate) mod rust;
