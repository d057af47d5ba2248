use autodiff::differentiable;

#[differentiable]
fn f(x: f64) -> f64 {
    let g = |t: f64| t * x;
    let h = g;
    h(x)
}

fn main() {}
