use autodiff::Differentiable;

#[derive(Clone)]
struct Config {
    depth: usize,
}

#[derive(Clone, Differentiable)]
struct Model {
    w: f64,
    config: Config,
}

fn main() {}
