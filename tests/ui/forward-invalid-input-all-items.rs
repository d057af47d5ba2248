use autodiff::differentiable;

// A body error: every generated item, forward mode included, still exists as a stub.
#[differentiable]
fn f(x: f64, y: f64) -> f64 {
    x % y
}

fn main() {
    let _ = f_jvp(1.0, 2.0, 1.0, 0.0);
    let _ = f_hvp(1.0, 2.0, 1.0, 0.0);
    let _ = f_jacobian(1.0, 2.0);
}
