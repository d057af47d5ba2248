use autodiff::{differentiable, Differentiable};

#[derive(Clone, Differentiable)]
struct Lin {
    w: f64,
}

trait Model {
    fn loss(&self, x: f64) -> f64;
}

// The attribute on the block needs `#[differentiable]` on the methods to differentiate.
#[differentiable]
impl Model for Lin {
    fn loss(&self, x: f64) -> f64 {
        self.w * x
    }
}

fn main() {}
