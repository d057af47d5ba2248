//! z = x·y + y² with x of shape [3] and y of shape [2, 1]: broadcasting in the forward pass,
//! summing back over the broadcast axes in the backward pass (PyTorch's semantics). The trace
//! shows z's own gradient (all ones: ∂z.sum()/∂z) and is written as a Graphviz file,
//! `target/broadcasting.dot` by default (`cargo run --example broadcasting -- graph.dot` to
//! choose; `dot -Tpng graph.dot -o graph.png` draws it).

use autodiff::{differentiable, tensor, Tensor};

#[differentiable]
fn z_sum(x: &Tensor<f64>, y: &Tensor<f64>) -> f64 {
    let z = x * y + y * *2;
    z.sum()
}

fn main() -> std::io::Result<()> {
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

    // Every node with its value and gradient, as PyTorch's `retain_grad` would keep them.
    let trace = z_sum_trace(&x, &y);
    println!("z.grad (from the trace) =\n{}", trace.grad("z"));
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        let dir = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".to_string());
        format!("{dir}/broadcasting.dot")
    });
    std::fs::write(&path, trace.to_dot())?;
    println!("graph written to {path}");
    Ok(())
}
