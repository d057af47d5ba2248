use autodiff::{differentiable, Differentiable, Tensor};

#[derive(Clone, Differentiable)]
struct Linear {
    w: Tensor<f64>,
}

impl Linear {
    // Differentiates `self` only: its gradient with respect to `x` is not available.
    #[differentiable(wrt(self))]
    fn forward(&self, x: &Tensor<f64>) -> Tensor<f64> {
        x.matmul(&self.w)
    }
}

#[derive(Clone, Differentiable)]
struct Two {
    a: Linear,
    b: Linear,
}

impl Two {
    #[differentiable(wrt(self))]
    fn loss(&self, x: &Tensor<f64>) -> f64 {
        let h = self.a.forward(x).tanh();
        self.b.forward(&h).sum()
    }
}

fn main() {}
