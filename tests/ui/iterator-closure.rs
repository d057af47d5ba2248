use autodiff::differentiable;

#[differentiable]
fn f(x: &[f64]) -> f64 {
    x.iter().filter(|v| v.is_sign_positive()).sum()
}

fn main() {}
