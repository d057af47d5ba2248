use autodiff::differentiable;

#[differentiable]
fn f(x: f64) -> f64 {
    let y = {
        return x;
    };
    y
}

fn main() {}
