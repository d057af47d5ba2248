use autodiff::{differentiable, Differentiable};

fn helper(x: f64) -> f64 {
    x * 2.0
}

// A call of an ordinary function with a differentiated argument: mark `helper` with
// #[differentiable] (README, "Calling a function that is not #[differentiable]").
#[differentiable]
fn f(x: f64) -> f64 {
    helper(x) * x
}

#[derive(Clone, Debug, Differentiable)]
struct M {
    a: f64,
}

impl M {
    fn scaled(&self, x: f64) -> f64 {
        self.a * x
    }

    // The same for a method of the model.
    #[differentiable]
    fn g(&self, x: f64) -> f64 {
        self.scaled(x) * x
    }
}

fn main() {}
