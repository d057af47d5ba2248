use autodiff::differentiable;

#[differentiable]
fn pair(x: f64) -> [f64; 2] {
    [x, x * x]
}

// An element of a call's result read inside a loop.
#[differentiable]
fn f(x: f64) -> f64 {
    let p = pair(x);
    let mut s = 0.0;
    for i in 0..2 {
        s += p[i];
    }
    s
}

fn main() {}
