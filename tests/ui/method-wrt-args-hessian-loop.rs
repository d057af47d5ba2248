use autodiff::{differentiable, Differentiable};

#[derive(Clone, Differentiable)]
struct Model {
    ws: Vec<f64>,
}

impl Model {
    #[differentiable(wrt(x))]
    fn looped(&self, x: f64) -> f64 {
        let mut s = 0.0;
        for i in 0..self.ws.len() {
            s += self.ws[i] * x * x;
        }
        s
    }
}

fn main() {
    let m = Model { ws: vec![1.0] };
    // The gradient and the Hessian-vector product exist; the Hessian of a loop body does not.
    let _g = m.looped_grad(2.0);
    let _hv = m.looped_hvp(2.0, 1.0);
    let _h = m.looped_hessian(2.0);
}
