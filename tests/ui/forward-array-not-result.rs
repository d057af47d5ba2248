use autodiff::differentiable;

// An array literal is the result of a function returning `[T; M]`, not a value inside it.
#[differentiable]
fn f(x: f64) -> [f64; 2] {
    let a = [x, 2.0 * x];
    a
}

fn main() {
    let _ = f_jvp(1.0, 1.0);
    let _ = f_vjp(1.0, [1.0, 0.0]);
}
