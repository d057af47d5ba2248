use autodiff::differentiable;

// `p_tangent` is the generated name of `p`'s tangent in `f_jvp`.
#[differentiable]
fn f(p: f64, p_tangent: f64) -> f64 {
    p * p_tangent
}

fn main() {}
