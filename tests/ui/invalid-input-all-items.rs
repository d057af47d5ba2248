use autodiff::differentiable;

#[differentiable]
fn f(x: f64, y: f64) -> f64 {
    x % y
}

fn main() {
    let _ = f(1.0, 2.0);
    let _ = f_grad(1.0, 2.0);
    let _ = f_hessian(1.0, 2.0);
    let _ = f_grad_formulas();
    let _ = f_trace(1.0, 2.0);
}
