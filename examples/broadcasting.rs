//! z = x·y + y² with x of shape [3] and y of shape [2, 1]: broadcasting in the forward pass,
//! summing back over the broadcast axes in the backward pass (PyTorch's semantics).

use autodiff::{differentiable, tensor, Tensor};

#[differentiable]
fn z_sum(x: &Tensor<f64>, y: &Tensor<f64>) -> f64 {
    let z = x * y + y * *2;
    z.sum()
}

fn main() {
    let x = tensor![1., 2., 3.];
    let y = tensor![[4.], [5.]];
    let z = &x * &y + y.powi(2);
    println!(
        "x: shape {:?}, y: shape {:?}, x*y: shape {:?}",
        x.shape(),
        y.shape(),
        z.shape()
    );
    println!("z = x*y + y**2 =\n{z}");
    let (sum, (gx, gy)) = z_sum_value_and_grad(&x, &y);
    println!("z.sum() = {sum}");
    // ∂/∂x_j Σ_ij (x_j y_i + y_i²) = Σ_i y_i = 9; ∂/∂y_i = Σ_j x_j + 3·2y_i = 6 + 6y_i.
    println!("gradient of x: {gx}");
    println!("gradient of y: {gy}");
}
