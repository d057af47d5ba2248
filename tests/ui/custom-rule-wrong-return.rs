use autodiff::differentiable;

// The rule must return the gradient type, one entry per parameter: `(f64, f64)` here.
#[differentiable(vjp = product_rule)]
fn product(x: f64, y: f64) -> f64 {
    x * y
}

fn product_rule(x: f64, y: f64, cotangent: f64) -> f64 {
    cotangent * (x + y)
}

fn main() {
    let _ = product_grad(1.0, 2.0);
}
