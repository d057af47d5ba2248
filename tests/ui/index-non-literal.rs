use autodiff::differentiable;

#[differentiable]
fn f(x: [f64; 2], i: usize) -> f64 {
    x[i]
}

fn main() {}
