use autodiff::{differentiable, Tensor};

// The runtime's constructors are not differentiable functions.
#[differentiable]
fn f(x: f64) -> f64 {
    let t = Tensor::scalar(x);
    t.sum()
}

// The iterator habit `sum::<f64>()` on a tensor.
#[differentiable]
fn g(x: &Tensor<f64>) -> f64 {
    (x * x).sum::<f64>()
}

fn main() {}
