use autodiff::Differentiable;

#[derive(Clone, Differentiable)]
enum Model {
    A(f64),
}

fn main() {}
