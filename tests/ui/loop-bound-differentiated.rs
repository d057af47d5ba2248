use autodiff::differentiable;

#[differentiable]
fn f(x: &[f64], y: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..(y as usize) {
        s += x[i];
    }
    s
}

fn main() {}
