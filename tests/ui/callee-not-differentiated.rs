use autodiff::differentiable;

#[differentiable(wrt(a))]
fn g(a: f64, b: f64) -> f64 {
    a * b
}

#[differentiable]
fn f(x: f64) -> f64 {
    g(1.0, x)
}

fn main() {}
