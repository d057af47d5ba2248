use autodiff::{Differentiable, Tensor};

#[derive(Clone, Differentiable)]
struct Model {
    w: Tensor<f64>,
    name: String,
}

fn main() {}
