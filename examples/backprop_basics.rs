//! The first autograd notebook: y = x² at 4, then `y = x³ + x²` summed over a 3×3 tensor.

use autodiff::{differentiable, tensor, Tensor};

#[differentiable]
fn square(x: f64) -> f64 {
    x * *2
}

/// z = Σ (x³ + x²), so ∂z/∂x = 3x² + 2x element by element.
#[differentiable]
fn cubic_sum(x: &Tensor<f64>) -> f64 {
    let y = x * *3 + x * *2;
    y.sum()
}

fn main() {
    // y = x², so dy/dx = 2x = 8 at x = 4.
    let x = 4.0;
    let [(_, formula)] = square_grad_formulas() else {
        unreachable!("one parameter")
    };
    println!(
        "y = x**2 at x = {x}: y = {}, dy/dx = {formula} = {}",
        square(x),
        square_grad(x)
    );

    let t = tensor![[2., 3., 1.], [4., 5., 3.], [7., 6., 4.]];
    println!("\nx =\n{t}");
    println!("x**3 + x**2 =\n{}", t.powi(3) + t.powi(2));
    let (z, grad) = cubic_sum_value_and_grad(&t);
    println!("z = (x**3 + x**2).sum() = {z}");
    let [(_, formula)] = cubic_sum_grad_formulas() else {
        unreachable!("one parameter")
    };
    println!("dz/dx = {formula} =\n{grad}");
    let by_hand = t.map(|v| 3.0 * v * v + 2.0 * v);
    println!("3*x**2 + 2*x (by hand) =\n{by_hand}");
    assert_eq!(grad, by_hand);
}
