//! The Stanford CS231n case study "Putting it together: minimal neural network": three
//! interleaved spirals of 100 points each (2 features), a softmax linear classifier, then a
//! two-layer ReLU network with 100 hidden units, both trained by full-batch gradient descent
//! on the gradient of `_value_and_grad` (the network with momentum, so that 1000 steps do
//! what the case study's 10 000 plain ones do). The case study reports training accuracies
//! of about 0.49 and 0.98.
//!
//! Run with `cargo run --example spiral`.

use autodiff::{differentiable, Tensor};

/// A small seeded generator (xorshift64*), with Box-Muller for normal samples.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
        (bits as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }

    fn normals(&mut self, shape: &[usize], scale: f64) -> Tensor<f64> {
        let n = shape.iter().product();
        Tensor::from_vec((0..n).map(|_| scale * self.normal()).collect(), shape)
    }
}

const N: usize = 100; // points per class
const K: usize = 3; // classes
const HIDDEN: usize = 100;
const REG: f64 = 1e-3;
const STEP: f64 = 1.0;

/// The case study's data: class j's points at radius r in [0, 1] and angle
/// 4j + 4r + noise.
fn spiral(rng: &mut Rng) -> (Tensor<f64>, Vec<usize>) {
    let mut x = Vec::with_capacity(N * K * 2);
    let mut labels = Vec::with_capacity(N * K);
    for j in 0..K {
        for i in 0..N {
            let r = i as f64 / (N - 1) as f64;
            let t = 4.0 * j as f64 + 4.0 * r + 0.2 * rng.normal();
            x.extend([r * t.sin(), r * t.cos()]);
            labels.push(j);
        }
    }
    (Tensor::from_vec(x, &[N * K, 2]), labels)
}

/// Mean softmax cross-entropy of linear scores plus L2 regularisation.
#[differentiable(wrt(w, b))]
fn linear_loss(w: &Tensor<f64>, b: &Tensor<f64>, x: &Tensor<f64>, y: &Tensor<f64>) -> f64 {
    let scores = x.matmul(w) + b;
    let n = x.shape()[0] as f64;
    -(y * scores.log_softmax(1)).sum() / n + 0.5 * REG * (w * w).sum()
}

/// The same loss for a hidden ReLU layer.
#[differentiable(wrt(w1, b1, w2, b2))]
fn two_layer_loss(
    w1: &Tensor<f64>,
    b1: &Tensor<f64>,
    w2: &Tensor<f64>,
    b2: &Tensor<f64>,
    x: &Tensor<f64>,
    y: &Tensor<f64>,
) -> f64 {
    let hidden = (x.matmul(w1) + b1).relu();
    let scores = hidden.matmul(w2) + b2;
    let n = x.shape()[0] as f64;
    let reg = 0.5 * REG * ((w1 * w1).sum() + (w2 * w2).sum());
    -(y * scores.log_softmax(1)).sum() / n + reg
}

/// The fraction of rows whose largest score is at the label.
fn accuracy(scores: &Tensor<f64>, labels: &[usize]) -> f64 {
    let best = scores.max_axis(1);
    let hits = labels
        .iter()
        .enumerate()
        .filter(|&(i, &c)| scores[[i, c]] == best[[i]])
        .count();
    hits as f64 / labels.len() as f64
}

/// Gradient steps of the two-layer network, with momentum so that the debug build (which CI
/// runs) takes a few seconds.
const STEPS: usize = 1000;
const STEP_2: f64 = 0.5;
const MOMENTUM: f64 = 0.9;

fn main() {
    let mut rng = Rng(0x5EED_2026);
    let (x, labels) = spiral(&mut rng);
    let y = Tensor::one_hot(&labels, K);

    // Softmax linear classifier: 200 steps.
    let mut w = rng.normals(&[2, K], 0.01);
    let mut b = Tensor::zeros(&[K]);
    for step in 0..200 {
        let (loss, (gw, gb)) = linear_loss_value_and_grad(&w, &b, &x, &y);
        if step % 50 == 0 {
            println!("linear step {step}: loss {loss:.4}");
        }
        w = &w - &(gw * STEP);
        b = &b - &(gb * STEP);
    }
    let linear = accuracy(&(x.matmul(&w) + &b), &labels);
    println!("linear: training accuracy {linear:.2}");

    // Two-layer network with 100 ReLU units.
    let mut w1 = rng.normals(&[2, HIDDEN], 0.01);
    let mut b1 = Tensor::zeros(&[HIDDEN]);
    let mut w2 = rng.normals(&[HIDDEN, K], 0.01);
    let mut b2 = Tensor::zeros(&[K]);
    // Velocities of momentum (0.9): the case study's plain steps need 10 000 iterations.
    let mut v = [
        Tensor::zeros(&[2, HIDDEN]),
        Tensor::zeros(&[HIDDEN]),
        Tensor::zeros(&[HIDDEN, K]),
        Tensor::zeros(&[K]),
    ];
    for step in 0..STEPS {
        let (loss, grads) = two_layer_loss_value_and_grad(&w1, &b1, &w2, &b2, &x, &y);
        if step % (STEPS / 4) == 0 {
            println!("two-layer step {step}: loss {loss:.4}");
        }
        let grads = [grads.0, grads.1, grads.2, grads.3];
        for (v, g) in v.iter_mut().zip(&grads) {
            *v = &*v * MOMENTUM - &(g * STEP_2);
        }
        w1 = &w1 + &v[0];
        b1 = &b1 + &v[1];
        w2 = &w2 + &v[2];
        b2 = &b2 + &v[3];
    }
    let scores = (x.matmul(&w1) + &b1).relu().matmul(&w2) + &b2;
    let two_layer = accuracy(&scores, &labels);
    println!("two-layer: training accuracy {two_layer:.2}");
}
