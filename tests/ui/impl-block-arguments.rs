use autodiff::{differentiable, Differentiable};

#[derive(Clone, Differentiable)]
struct Lin {
    w: f64,
}

trait Model {
    fn loss(&self, x: f64) -> f64;
}

#[differentiable(wrt(x))]
impl Model for Lin {
    #[differentiable]
    fn loss(&self, x: f64) -> f64 {
        self.w * x
    }
}

fn main() {}
