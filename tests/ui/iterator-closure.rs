use autodiff::differentiable;

#[differentiable]
fn f(x: &[f64]) -> f64 {
    x.iter().take_while(|v| v.is_sign_positive()).sum()
}

fn main() {}
