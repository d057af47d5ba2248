use autodiff::Differentiable;

// Leaves of one struct share one float type.
#[derive(Clone, Differentiable)]
struct Mixed {
    a: f32,
    w: Vec<f64>,
}

fn main() {}
