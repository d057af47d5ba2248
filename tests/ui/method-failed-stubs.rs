use autodiff::{differentiable, Differentiable};

#[derive(Clone, Debug, Differentiable)]
struct M {
    a: f64,
}

impl M {
    #[differentiable]
    fn f(&self, x: f64) -> f64 {
        self.a * x % 2.0
    }
}

// One error, at the `%`: the generated items exist (as stubs), so these calls add none.
fn main() {
    let m = M { a: 1.0 };
    let (g, dx) = m.f_grad(1.5);
    println!("{:?} {}", g, dx);
    println!("{:?}", m.f_value_and_grad(1.5));
    println!("{:?}", m.f_vjp(1.5, 1.0));
    println!("{:?}", m.f_jvp(1.5, &m, 1.0));
    println!("{:?}", M::f_grad_formulas());
}
