use autodiff::differentiable;

#[differentiable]
fn f(x: &[f64], w: f64) -> f64 {
    x.iter().take(w as usize).map(|v| v * w).sum::<f64>()
}

fn main() {}
