use autodiff::{differentiable, Differentiable};

#[derive(Clone, Differentiable)]
struct Model<'a> {
    w: f64,
    #[autodiff(skip)]
    name: &'a str,
}

impl<'a> Model<'a> {
    #[differentiable]
    fn f(&'a self, x: f64) -> f64 {
        self.w * x
    }
}

fn main() {}
