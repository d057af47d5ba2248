//! A two-input, two-hidden-unit (sigmoid), one-output network with the loss
//! `L = 0.5 * (ŷ - y)²`, as in the PyTorch autograd notebook: the gradients from
//! `#[differentiable]` beside the chain rule worked by hand, then gradient descent on XOR.
//! The network is a struct; its loss is a method, and its gradient is a `Network` too.

use autodiff::{differentiable, tensor, Differentiable, Tensor};

/// The network's parameters: `w1` has shape [2, 2] (row j holds the weights into hidden unit
/// j), `b1` [2], `w2` [2], `b2` is a scalar. Its gradient is a `Network` too.
#[derive(Clone, Debug, Differentiable)]
struct Network {
    w1: Tensor<f64>,
    b1: Tensor<f64>,
    w2: Tensor<f64>,
    b2: f64,
}

impl Network {
    /// One sample: `x` has shape [2], `y` is a scalar.
    #[rustfmt::skip]
    #[differentiable(wrt(self))]
    fn sample_loss(&self, x: &Tensor<f64>, y: f64) -> f64 {
        let z1 = self.w1.matmul(x) + &self.b1;
        let a1 = z1.sigmoid();
        let y_hat = self.w2.dot(&a1) + self.b2;
        0.5 * (y_hat - y)**2
    }

    /// The outputs for a batch `xs` of shape [n, 2].
    #[rustfmt::skip]
    #[differentiable(wrt(self))]
    fn forward(&self, xs: &Tensor<f64>) -> Tensor<f64> {
        let h = (xs.matmul(&self.w1.transpose()) + &self.b1).sigmoid();
        h.matmul(&self.w2) + self.b2
    }

    /// The loss on a batch, `ys` of shape [n]: the mean over the samples.
    #[rustfmt::skip]
    #[differentiable(wrt(self))]
    fn batch_loss(&self, xs: &Tensor<f64>, ys: &Tensor<f64>) -> f64 {
        let err = self.forward(xs) - ys;
        0.5 * (err**2).mean()
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

// `j` and `k` are the indices of the formulas printed beside the numbers.
#[allow(clippy::needless_range_loop)]
fn main() {
    // --- One sample: the generated gradients against the chain rule by hand. ---
    let net = Network {
        w1: tensor![[0.15, 0.20], [0.25, 0.30]],
        b1: tensor![0.35, 0.35],
        w2: tensor![0.40, 0.45],
        b2: 0.60,
    };
    let x = tensor![0.05, 0.10];
    let y = 0.01;

    let (loss, g) = net.sample_loss_value_and_grad(&x, y);
    let Network { w1, b1, w2, b2 } = &net;
    let b2 = *b2;
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
                g.w1[[j, k]],
                hand
            );
        }
    }
    for j in 0..2 {
        println!(
            "{:<10} {:>14.10} {:>14.10}   (ŷ - y)·w2_{j}·a_{j}(1 - a_{j})",
            format!("b1[{j}]"),
            g.b1[[j]],
            dz[j]
        );
    }
    for j in 0..2 {
        println!(
            "{:<10} {:>14.10} {:>14.10}   (ŷ - y)·a_{j}",
            format!("w2[{j}]"),
            g.w2[[j]],
            dl_dyhat * a[j]
        );
    }
    println!("{:<10} {:>14.10} {:>14.10}   (ŷ - y)", "b2", g.b2, dl_dyhat);

    // --- Training: gradient descent on XOR. ---
    let xs = tensor![[0., 0.], [0., 1.], [1., 0.], [1., 1.]];
    let ys = tensor![0., 1., 1., 0.];
    let mut net = Network {
        w1: tensor![[0.8, -0.6], [-0.7, 0.9]],
        b1: tensor![0.1, -0.1],
        w2: tensor![0.5, 0.4],
        b2: 0.0,
    };
    let lr = 0.5;
    println!("\ntraining on XOR (4 samples, learning rate {lr}):");
    for epoch in 0..=1500 {
        let (loss, g) = net.batch_loss_value_and_grad(&xs, &ys);
        if epoch % 150 == 0 {
            println!("epoch {epoch:>5}  loss {loss:.6}");
        }
        net.scaled_add(-lr, &g); // gradient descent: net -= lr * g, leaf by leaf
    }
    let out = net.forward(&xs);
    println!("\npredictions for [0 0], [0 1], [1 0], [1 1]: {out:.3}");
}
