use autodiff::differentiable;

#[differentiable]
fn f(x: f64) -> (f64, f64) {
    (x, x * x)
}

fn main() {}
