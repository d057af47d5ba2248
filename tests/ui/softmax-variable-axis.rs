use autodiff::{differentiable, Tensor};

#[differentiable]
fn f(x: &Tensor<f64>, k: usize) -> f64 {
    x.softmax(k).max_axis(0).sum()
}

fn main() {}
