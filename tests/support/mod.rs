//! Helpers shared by the struct-model tests.

use autodiff::Differentiable;

/// `m + s t`, leaf by leaf (constant fields from `m`).
pub fn shifted<D: Differentiable<Scalar = f64>>(m: &D, t: &D, s: f64) -> D {
    let flat: Vec<f64> = m
        .to_flat()
        .iter()
        .zip(t.to_flat())
        .map(|(a, b)| a + s * b)
        .collect();
    m.from_flat(&flat)
}
