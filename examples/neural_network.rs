//! A two-input, two-hidden-unit (sigmoid), one-output network with the loss
//! `L = 0.5 * (ŷ - y)²`, as in the PyTorch autograd notebook: the gradients from
//! `#[differentiable]` beside the chain rule worked by hand, then gradient descent on XOR.

use autodiff::{differentiable, tensor, Tensor};

/// One sample: `x` has shape [2], `w1` [2, 2] (row j holds the weights into hidden unit j),
/// `b1` [2], `w2` [2], `b2` and `y` scalars.
#[differentiable(wrt(w1, b1, w2, b2))]
fn sample_loss(
    w1: &Tensor<f64>,
    b1: &Tensor<f64>,
    w2: &Tensor<f64>,
    b2: f64,
    x: &Tensor<f64>,
    y: f64,
) -> f64 {
    let z1 = w1.matmul(x) + b1;
    let a1 = z1.sigmoid();
    let y_hat = w2.dot(&a1) + b2;
    0.5 * (y_hat - y) * *2
}

/// The same network on a batch: `xs` has shape [n, 2], `ys` [n]; the loss is the mean.
#[differentiable(wrt(w1, b1, w2, b2))]
fn batch_loss(
    w1: &Tensor<f64>,
    b1: &Tensor<f64>,
    w2: &Tensor<f64>,
    b2: f64,
    xs: &Tensor<f64>,
    ys: &Tensor<f64>,
) -> f64 {
    let h = (xs.matmul(&w1.transpose()) + b1).sigmoid();
    let y_hat = h.matmul(w2) + b2;
    let err = y_hat - ys;
    0.5 * (err * *2).mean()
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

fn main() {
    // --- One sample: the generated gradients against the chain rule by hand. ---
    let w1 = tensor![[0.15, 0.20], [0.25, 0.30]];
    let b1 = tensor![0.35, 0.35];
    let w2 = tensor![0.40, 0.45];
    let b2 = 0.60;
    let x = tensor![0.05, 0.10];
    let y = 0.01;

    let (loss, (g_w1, g_b1, g_w2, g_b2)) = sample_loss_value_and_grad(&w1, &b1, &w2, b2, &x, y);
    println!("loss L = 0.5 (ŷ - y)² = {loss:.6}");

    // Chain rule by hand: ∂L/∂ŷ = ŷ - y; ∂ŷ/∂w2_j = a_j; ∂ŷ/∂a_j = w2_j;
    // ∂a_j/∂z_j = a_j (1 - a_j); ∂z_j/∂w1_jk = x_k.
    let a: Vec<f64> = (0..2)
        .map(|j| sigmoid(w1[[j, 0]] * x[[0]] + w1[[j, 1]] * x[[1]] + b1[[j]]))
        .collect();
    let y_hat = w2[[0]] * a[0] + w2[[1]] * a[1] + b2;
    let dl_dyhat = y_hat - y;
    let dz: Vec<f64> = (0..2)
        .map(|j| dl_dyhat * w2[[j]] * a[j] * (1.0 - a[j]))
        .collect();
    println!(
        "\n{:<10} {:>14} {:>14}   formula",
        "parameter", "autodiff", "by hand"
    );
    for j in 0..2 {
        for k in 0..2 {
            let hand = dz[j] * x[[k]];
            println!(
                "{:<10} {:>14.10} {:>14.10}   (ŷ - y)·w2_{j}·a_{j}(1 - a_{j})·x_{k}",
                format!("w1[{j},{k}]"),
                g_w1[[j, k]],
                hand
            );
        }
    }
    for j in 0..2 {
        println!(
            "{:<10} {:>14.10} {:>14.10}   (ŷ - y)·w2_{j}·a_{j}(1 - a_{j})",
            format!("b1[{j}]"),
            g_b1[[j]],
            dz[j]
        );
    }
    for j in 0..2 {
        println!(
            "{:<10} {:>14.10} {:>14.10}   (ŷ - y)·a_{j}",
            format!("w2[{j}]"),
            g_w2[[j]],
            dl_dyhat * a[j]
        );
    }
    println!("{:<10} {:>14.10} {:>14.10}   (ŷ - y)", "b2", g_b2, dl_dyhat);

    // --- Training: gradient descent on XOR. ---
    let xs = tensor![[0., 0.], [0., 1.], [1., 0.], [1., 1.]];
    let ys = tensor![0., 1., 1., 0.];
    let mut w1 = tensor![[0.8, -0.6], [-0.7, 0.9]];
    let mut b1 = tensor![0.1, -0.1];
    let mut w2 = tensor![0.5, 0.4];
    let mut b2 = 0.0;
    let lr = 0.5;
    println!("\ntraining on XOR (4 samples, learning rate {lr}):");
    for epoch in 0..=1500 {
        let (loss, (g_w1, g_b1, g_w2, g_b2)) =
            batch_loss_value_and_grad(&w1, &b1, &w2, b2, &xs, &ys);
        if epoch % 150 == 0 {
            println!("epoch {epoch:>5}  loss {loss:.6}");
        }
        w1 -= lr * g_w1;
        b1 -= lr * g_b1;
        w2 -= lr * g_w2;
        b2 -= lr * g_b2;
    }
    let h = (xs.matmul(&w1.transpose()) + &b1).sigmoid();
    let out: Tensor<f64> = h.matmul(&w2) + b2;
    println!("\npredictions for [0 0], [0 1], [1 0], [1 1]: {out:.3}");
}
