use autodiff::differentiable;

#[differentiable]
fn f(x: f64) -> f64 {
    let a = x % 2.0;
    let b = x.copysign(1.0);
    let c = match a > b {
        true => a,
        false => b,
    };
    c
}

fn main() {}
