use autodiff::differentiable;

struct Params {
    w: f64,
}

#[differentiable(wrt(p))]
fn f(p: &Params, x: f64) -> f64 {
    p.w * x
}

fn main() {}
