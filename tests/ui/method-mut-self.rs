use autodiff::{differentiable, Differentiable};

#[derive(Clone, Differentiable)]
struct Model {
    w: f64,
}

impl Model {
    #[differentiable]
    fn f(&mut self, x: f64) -> f64 {
        self.w * x
    }
}

fn main() {}
