//! The broadcasting notebook's function traced: every node with its value and gradient (the
//! `retain_grad` of every intermediate), as a table and as a Graphviz graph.
//!
//! `cargo run --example computation_graph -- graph.dot` writes the graph (default:
//! `target/computation_graph.dot`); `dot -Tpng graph.dot -o graph.png` draws it.

use autodiff::{differentiable, tensor, Tensor};

#[differentiable]
fn z_sum(x: &Tensor<f64>, y: &Tensor<f64>) -> f64 {
    let z = x * y + y * *2;
    z.sum()
}

fn main() -> std::io::Result<()> {
    let x = tensor![1., 2., 3.];
    let y = tensor![[4.], [5.]];
    let trace = z_sum_trace(&x, &y);
    println!("{trace}");
    println!("z.grad =\n{}", trace.grad("z"));
    println!("x.grad = {}", trace.grad("x"));
    println!("y.grad =\n{}", trace.grad("y"));

    let path = std::env::args().nth(1).unwrap_or_else(|| {
        let dir = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".to_string());
        format!("{dir}/computation_graph.dot")
    });
    std::fs::write(&path, trace.to_dot())?;
    println!("graph written to {path}; draw it with `dot -Tpng {path} -o graph.png`");
    Ok(())
}
