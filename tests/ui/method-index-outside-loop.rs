use autodiff::{differentiable, Differentiable};

#[derive(Clone, Differentiable)]
struct Model {
    w: Vec<f64>,
}

impl Model {
    // A run-time index outside a loop: not supported.
    #[differentiable(wrt(self))]
    fn f(&self, x: f64, k: usize) -> f64 {
        self.w[k] * x
    }
}

fn main() {}
