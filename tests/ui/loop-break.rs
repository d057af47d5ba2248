use autodiff::differentiable;

#[differentiable]
fn f(x: f64) -> f64 {
    let mut y = x;
    let mut z = 0.0;
    loop {
        y = y * 2.0;
        if y > 10.0 {
            break z = y;
        }
    }
    y + z
}

fn main() {}
