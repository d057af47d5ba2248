//! The polynomial notebook: y = 2x⁴ + x³ + 3x² + 5x + 1 at 2, then two layers
//! y = 3x + 2, z = 2y², out = z.mean() on a 2×3 tensor.

use autodiff::{differentiable, tensor, Tensor};

#[differentiable]
fn poly(x: f64) -> f64 {
    2 * x * *4 + x * *3 + 3 * x * *2 + 5 * x + 1
}

/// out = mean(2 (3x + 2)²), so ∂out/∂x_i = 12 (3x_i + 2) / n.
#[differentiable]
fn two_layers(x: &Tensor<f64>) -> f64 {
    let y = 3 * x + 2;
    let z = 2 * y * *2;
    z.mean()
}

fn main() {
    let x = 2.0;
    let (y, dy) = poly_value_and_grad(x);
    println!("y = 2x^4 + x^3 + 3x^2 + 5x + 1 at x = {x}: y = {y}");
    println!("dy/dx = 8x^3 + 3x^2 + 6x + 5 = {dy}");

    let x = tensor![[1., 2., 3.], [3., 2., 1.]];
    let (out, grad) = two_layers_value_and_grad(&x);
    println!("\nx =\n{x}");
    println!("out = (2 (3x + 2)**2).mean() = {out}");
    println!("d out/dx =\n{grad}");
}
