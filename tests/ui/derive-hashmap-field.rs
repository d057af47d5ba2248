use std::collections::HashMap;

use autodiff::Differentiable;

#[derive(Clone, Differentiable)]
struct Model {
    w: f64,
    table: HashMap<String, f64>,
}

fn main() {}
