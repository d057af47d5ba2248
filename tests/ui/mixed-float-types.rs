use autodiff::differentiable;

// Two float types among the parameters: the adjoints could not be added together.
#[differentiable]
fn f(x: f64, y: f32) -> f64 {
    x * y as f64
}

// A result of another float type than the parameters.
#[differentiable]
fn g(x: f64) -> f32 {
    x as f32
}

fn main() {}
