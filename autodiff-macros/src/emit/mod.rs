//! From the graph to output: Rust code (`rust`).

pub(crate) mod rust;
