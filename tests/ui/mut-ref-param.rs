use autodiff::differentiable;

#[differentiable]
fn f(x: &mut f64) -> f64 {
    *x * *x
}

fn main() {}
