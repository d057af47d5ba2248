use autodiff::differentiable;

// A result that is not a float, an array, a `Vec` or a `Tensor`: one error at the type, and
// the forward-mode items still exist (no second error where they are called).
#[differentiable]
fn f(x: f64) -> Option<f64> {
    Some(x)
}

fn main() {
    let _ = f_jvp(1.0, 1.0);
    let _ = f_jacobian(1.0);
}
