//! The `mnist_mlp` step of `benches/mnist_mlp.rs` (f32: x [64, 784], W1 [784, 128], tanh,
//! W2 [128, 10], softmax cross-entropy with one-hot labels, the gradient of (W1, b1, W2, b2))
//! in `autodiff` and in `candle-core` (CPU, its tape-based `backward`). The setup asserts that
//! both give the same loss and gradients (relative 1e-4 of the largest entry, f32).
//!
//! `cd benches/compare && cargo bench --bench mnist`; PyTorch and JAX: `torch_jax.py mnist`.

use std::hint::black_box;
use std::time::Duration;

use autodiff::{differentiable, Tensor};
use candle_core::{backprop::GradStore, Device, Tensor as CTensor, Var, D};
use criterion::{criterion_group, criterion_main, Criterion};

const BATCH: usize = 64;
const IN: usize = 784;
const HID: usize = 128;
const OUT: usize = 10;

#[differentiable(wrt(w1, b1, w2, b2))]
fn loss(
    w1: &Tensor<f32>,
    b1: &Tensor<f32>,
    w2: &Tensor<f32>,
    b2: &Tensor<f32>,
    x: &Tensor<f32>,
    y: &Tensor<f32>,
) -> f32 {
    let h = (x.matmul(w1) + b1).tanh();
    let logits = h.matmul(w2) + b2;
    let n = x.shape()[0] as f32;
    -(y * logits.log_softmax(1)).sum() / n
}

/// Deterministic values in [-scale, scale), as in `benches/mnist_mlp.rs`.
fn values(n: usize, seed: u64, scale: f32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0) as f32 * scale
        })
        .collect()
}

fn inputs() -> [Tensor<f32>; 6] {
    let labels: Vec<usize> = (0..BATCH).map(|i| (i * 7 + 3) % OUT).collect();
    [
        Tensor::from_vec(values(IN * HID, 1, 0.05), &[IN, HID]),
        Tensor::from_vec(values(HID, 2, 0.1), &[HID]),
        Tensor::from_vec(values(HID * OUT, 3, 0.2), &[HID, OUT]),
        Tensor::from_vec(values(OUT, 4, 0.1), &[OUT]),
        Tensor::from_vec(
            values(BATCH * IN, 5, 1.0).iter().map(|v| v.abs()).collect(),
            &[BATCH, IN],
        ),
        Tensor::one_hot(&labels, OUT),
    ]
}

struct Candle {
    w1: Var,
    b1: Var,
    w2: Var,
    b2: Var,
    x: CTensor,
    y: CTensor,
}

impl Candle {
    /// The loss, with log-softmax written as `candle_nn::ops::log_softmax` writes it.
    fn loss(&self) -> candle_core::Result<CTensor> {
        let h = self
            .x
            .matmul(self.w1.as_tensor())?
            .broadcast_add(self.b1.as_tensor())?
            .tanh()?;
        let logits = h
            .matmul(self.w2.as_tensor())?
            .broadcast_add(self.b2.as_tensor())?;
        let max = logits.max_keepdim(D::Minus1)?;
        let diff = logits.broadcast_sub(&max)?;
        let lse = diff.exp()?.sum_keepdim(D::Minus1)?.log()?;
        let logp = diff.broadcast_sub(&lse)?;
        (self.y.mul(&logp)?.sum_all()? * (-1.0 / BATCH as f64))?.sum_all()
    }

    fn loss_grad(&self) -> candle_core::Result<(f32, GradStore)> {
        let l = self.loss()?;
        let g = l.backward()?;
        Ok((l.to_scalar::<f32>()?, g))
    }
}

fn to_ctensor(t: &Tensor<f32>) -> CTensor {
    CTensor::from_vec(t.to_vec(), t.shape(), &Device::Cpu).unwrap()
}

fn grad_vec(g: &GradStore, v: &Var) -> Vec<f32> {
    g.get(v.as_tensor())
        .expect("candle: no gradient")
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap()
}

fn assert_close(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    let top = want.iter().fold(0f32, |a, v| a.max(v.abs()));
    for (k, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-4 * top.max(1e-6),
            "{what}[{k}]: candle {g}, autodiff {w}"
        );
    }
}

fn bench_mnist(c: &mut Criterion) {
    let [w1, b1, w2, b2, x, y] = inputs();
    let (v, (g1, g2, g3, g4)) = loss_value_and_grad(&w1, &b1, &w2, &b2, &x, &y);
    let var = |t: &Tensor<f32>| Var::from_tensor(&to_ctensor(t)).unwrap();
    let cm = Candle {
        w1: var(&w1),
        b1: var(&b1),
        w2: var(&w2),
        b2: var(&b2),
        x: to_ctensor(&x),
        y: to_ctensor(&y),
    };
    let (cv, cg) = cm.loss_grad().unwrap();
    assert!((cv - v).abs() <= 1e-4 * v.abs(), "loss: candle {cv}, autodiff {v}");
    assert_close("d/dw1", &grad_vec(&cg, &cm.w1), g1.as_slice());
    assert_close("d/db1", &grad_vec(&cg, &cm.b1), g2.as_slice());
    assert_close("d/dw2", &grad_vec(&cg, &cm.w2), g3.as_slice());
    assert_close("d/db2", &grad_vec(&cg, &cm.b2), g4.as_slice());

    let mut g = c.benchmark_group("mnist_mlp_64x784x128x10_f32");
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("autodiff value_and_grad", |b| {
        b.iter(|| loss_value_and_grad(black_box(&w1), &b1, &w2, &b2, black_box(&x), &y))
    });
    g.bench_function("candle-core backward", |b| {
        b.iter(|| black_box(&cm).loss_grad().unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench_mnist);
criterion_main!(benches);
