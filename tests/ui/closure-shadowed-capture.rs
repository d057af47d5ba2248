use autodiff::differentiable;

#[differentiable]
fn f(x: f64) -> f64 {
    let w = 2.0 * x;
    let g = move |t: f64| t * w;
    let w = 3.0;
    g(x) + w
}

fn main() {}
