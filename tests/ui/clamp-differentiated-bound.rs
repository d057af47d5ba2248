use autodiff::differentiable;

#[differentiable]
fn f(x: f64, hi: f64) -> f64 {
    x.clamp(0.0, hi)
}

fn main() {}
