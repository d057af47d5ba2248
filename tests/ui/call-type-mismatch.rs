use autodiff::{differentiable, Tensor};

#[differentiable]
fn g(v: &Tensor<f64>) -> f64 {
    v.sum()
}

#[differentiable]
fn f(x: f64) -> f64 {
    g(x) * 2.0
}

fn main() {}
