use autodiff::differentiable;

// A body error in a function of one array parameter: its `_hessian` and `_hvp` stubs exist.
#[differentiable]
fn f(x: [f64; 2]) -> f64 {
    x[0] % x[1]
}

fn main() {
    let _ = f_hessian([1.0, 2.0]);
    let _ = f_hvp([1.0, 2.0], [1.0, 0.0]);
    let _ = f_jvp([1.0, 2.0], [1.0, 0.0]);
}
