use autodiff::{differentiable, Differentiable, Tensor};

#[derive(Clone, Differentiable)]
struct Lin {
    w: Tensor<f64>,
}

#[derive(Clone, Differentiable)]
struct Two {
    l: Lin,
}

impl Lin {
    #[differentiable]
    fn fwd(&self, x: &Tensor<f64>) -> f64 {
        x.matmul(&self.w).sum()
    }
}

impl Two {
    #[differentiable(wrt(self))]
    fn top(&self, x: &Tensor<f64>) -> f64 {
        self.l.fwd(x)
    }
}

fn main() {
    let m = Two { l: Lin { w: Tensor::zeros(&[2, 1]) } };
    let x = Tensor::zeros(&[1, 2]);
    // Reverse mode works through the call; forward mode is not written for it.
    let _g = m.top_grad(&x);
    let _ = m.top_jvp(&x, &m);
}
