use autodiff::differentiable;

// `**=` is not Rust syntax: rustc's own parse error, at the token, and no other.
#[differentiable]
fn f(x: f64) -> f64 {
    let mut y = x;
    y **= 2;
    y
}

fn main() {}
