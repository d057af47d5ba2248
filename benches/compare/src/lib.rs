//! Comparison benchmarks live in `benches/compare.rs`.
