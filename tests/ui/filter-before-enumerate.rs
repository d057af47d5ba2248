use autodiff::differentiable;

#[differentiable]
fn f(x: &[f64]) -> f64 {
    x.iter()
        .filter(|v| v.is_sign_positive())
        .enumerate()
        .map(|(i, v)| i as f64 * v)
        .sum::<f64>()
}

fn main() {}
