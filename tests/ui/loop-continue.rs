use autodiff::differentiable;

#[differentiable]
fn f(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        match i {
            0 => continue,
            _ => {}
        }
        s += x[i];
    }
    s
}

fn main() {}
