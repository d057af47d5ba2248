use autodiff::differentiable;

#[differentiable]
fn f(x: [f64; 3], k: f64) -> f64 {
    x[k] * k
}

fn main() {}
