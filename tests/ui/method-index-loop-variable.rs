use autodiff::{differentiable, Differentiable};

#[derive(Clone, Differentiable)]
struct Model {
    w: Vec<f64>,
}

impl Model {
    #[differentiable(wrt(self))]
    fn f(&self, x: f64) -> f64 {
        let mut s = 0.0;
        for i in 0..self.w.len() {
            s += self.w[i] * x;
        }
        s
    }
}

fn main() {}
