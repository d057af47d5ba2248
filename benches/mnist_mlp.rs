//! An MNIST-sized classifier step in f32: x [64, 784], W1 [784, 128], tanh, W2 [128, 10],
//! softmax cross-entropy with one-hot labels; the gradient of (W1, b1, W2, b2).
//!
//! Side by side: the generated `_value_and_grad` (eager `Tensor` runtime, products on
//! `matrixmultiply`), and a hand-written backward pass on the same GEMM crate with fused
//! loops for everything else. Before timing, the setup asserts that both give the same loss
//! and gradients (relative tolerance 1e-4, f32).
//!
//! `cargo bench --bench mnist_mlp`; the candle, PyTorch and JAX figures of BENCHMARKS.md come
//! from `benches/compare`.

use std::hint::black_box;
use std::time::Duration;

use autodiff::{differentiable, Tensor};
use criterion::{criterion_group, Criterion};

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

type Grads = (Tensor<f32>, Tensor<f32>, Tensor<f32>, Tensor<f32>);

/// `c = a · b` for row-major operands read through strides (`a` is [m, k], `b` is [k, n]).
#[allow(clippy::too_many_arguments)]
fn sgemm(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    ars: usize,
    acs: usize,
    b: &[f32],
    brs: usize,
    bcs: usize,
    c: &mut [f32],
) {
    assert!(c.len() >= m * n);
    // SAFETY: the strides and sizes stay inside `a`, `b` and `c` (checked by the callers'
    // shapes); `c` is row-major [m, n].
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            ars as isize,
            acs as isize,
            b.as_ptr(),
            brs as isize,
            bcs as isize,
            0.0,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

/// Hand-written forward and backward pass: three GEMMs forward-and-back each way, and one
/// fused loop per layer for biases, tanh, softmax and the loss.
fn loss_value_and_grad_hand(
    w1: &Tensor<f32>,
    b1: &Tensor<f32>,
    w2: &Tensor<f32>,
    b2: &Tensor<f32>,
    x: &Tensor<f32>,
    y: &Tensor<f32>,
) -> (f32, Grads) {
    let (w1s, b1s, w2s, b2s) = (w1.as_slice(), b1.as_slice(), w2.as_slice(), b2.as_slice());
    let (xs, ys) = (x.as_slice(), y.as_slice());
    let n = x.shape()[0];
    // Forward: h = tanh(x W1 + b1), logits = h W2 + b2.
    let mut h = vec![0.0f32; n * HID];
    sgemm(n, IN, HID, xs, IN, 1, w1s, HID, 1, &mut h);
    for row in h.chunks_exact_mut(HID) {
        for (v, &b) in row.iter_mut().zip(b1s) {
            *v = (*v + b).tanh();
        }
    }
    let mut z = vec![0.0f32; n * OUT];
    sgemm(n, HID, OUT, &h, HID, 1, w2s, OUT, 1, &mut z);
    // Softmax cross-entropy, and dz = (softmax · Σy - y) / n in place of the logits.
    let inv_n = 1.0 / n as f32;
    let mut loss = 0.0f32;
    for (zr, yr) in z.chunks_exact_mut(OUT).zip(ys.chunks_exact(OUT)) {
        for (v, &b) in zr.iter_mut().zip(b2s) {
            *v += b;
        }
        let m = zr.iter().fold(f32::NEG_INFINITY, |a, &v| a.max(v));
        let s: f32 = zr.iter().map(|&v| (v - m).exp()).sum();
        let ls = s.ln();
        let ysum: f32 = yr.iter().sum();
        for (v, &t) in zr.iter_mut().zip(yr) {
            loss -= t * (*v - m - ls);
            *v = ((*v - m).exp() / s * ysum - t) * inv_n;
        }
    }
    let dz = z;
    // dW2 = hᵀ dz, db2 = Σ rows dz.
    let mut gw2 = vec![0.0f32; HID * OUT];
    sgemm(HID, n, OUT, &h, 1, HID, &dz, OUT, 1, &mut gw2);
    let mut gb2 = vec![0.0f32; OUT];
    for row in dz.chunks_exact(OUT) {
        gb2.iter_mut().zip(row).for_each(|(g, &v)| *g += v);
    }
    // dh = dz W2ᵀ; dz1 = dh (1 - h²); dW1 = xᵀ dz1; db1 = Σ rows dz1.
    let mut dh = vec![0.0f32; n * HID];
    sgemm(n, OUT, HID, &dz, OUT, 1, w2s, 1, OUT, &mut dh);
    let mut gb1 = vec![0.0f32; HID];
    for (dr, hr) in dh.chunks_exact_mut(HID).zip(h.chunks_exact(HID)) {
        for ((d, &hv), g) in dr.iter_mut().zip(hr).zip(gb1.iter_mut()) {
            *d *= 1.0 - hv * hv;
            *g += *d;
        }
    }
    let mut gw1 = vec![0.0f32; IN * HID];
    sgemm(IN, n, HID, xs, 1, IN, &dh, HID, 1, &mut gw1);
    (
        loss * inv_n,
        (
            Tensor::from_vec(gw1, &[IN, HID]),
            Tensor::from_vec(gb1, &[HID]),
            Tensor::from_vec(gw2, &[HID, OUT]),
            Tensor::from_vec(gb2, &[OUT]),
        ),
    )
}

/// Deterministic values in [-scale, scale).
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

fn assert_close(name: &str, got: &Tensor<f32>, want: &Tensor<f32>) {
    assert_eq!(got.shape(), want.shape(), "{name}: shapes differ");
    let top = want.as_slice().iter().fold(0f32, |a, v| a.max(v.abs()));
    for (k, (&g, &w)) in got.as_slice().iter().zip(want.as_slice()).enumerate() {
        assert!(
            (g - w).abs() <= 1e-4 * top.max(1e-6),
            "{name}[{k}]: generated {g}, hand-written {w}"
        );
    }
}

/// The benchmark's inputs: (w1, b1, w2, b2, x, y).
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

fn bench_mnist(c: &mut Criterion) {
    let [w1, b1, w2, b2, x, y] = inputs();
    let (v, (g1, g2, g3, g4)) = loss_value_and_grad(&w1, &b1, &w2, &b2, &x, &y);
    let (hv, (h1, h2, h3, h4)) = loss_value_and_grad_hand(&w1, &b1, &w2, &b2, &x, &y);
    assert!((v - hv).abs() <= 1e-4 * hv.abs(), "loss {v} vs {hv}");
    assert_close("d/dw1", &g1, &h1);
    assert_close("d/db1", &g2, &h2);
    assert_close("d/dw2", &g3, &h3);
    assert_close("d/db2", &g4, &h4);

    let mut g = c.benchmark_group("mnist_mlp_64x784x128x10_f32");
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("primal loss", |b| {
        b.iter(|| loss(black_box(&w1), &b1, &w2, &b2, black_box(&x), &y))
    });
    g.bench_function("generated value_and_grad", |b| {
        b.iter(|| loss_value_and_grad(black_box(&w1), &b1, &w2, &b2, black_box(&x), &y))
    });
    g.bench_function("hand backprop", |b| {
        b.iter(|| loss_value_and_grad_hand(black_box(&w1), &b1, &w2, &b2, black_box(&x), &y))
    });
    g.finish();
}

criterion_group!(benches, bench_mnist);

/// Criterion's main, and a plain loop for instruction counts: `MNIST_MLP_CALLS=generated:N`
/// (or `hand:N`, `primal:N`) calls that function N times and exits, so that
/// `valgrind --tool=callgrind` at two values of N gives the instructions of one call.
fn main() {
    if let Ok(spec) = std::env::var("MNIST_MLP_CALLS") {
        let (which, n) = spec.split_once(':').expect("MNIST_MLP_CALLS=which:count");
        let n: usize = n.parse().expect("a count");
        let [w1, b1, w2, b2, x, y] = inputs();
        let mut acc = 0.0f32;
        for _ in 0..n {
            acc += match which {
                "generated" => loss_value_and_grad(&w1, &b1, &w2, &b2, black_box(&x), &y).0,
                "hand" => loss_value_and_grad_hand(&w1, &b1, &w2, &b2, black_box(&x), &y).0,
                "primal" => loss(&w1, &b1, &w2, &b2, black_box(&x), &y),
                _ => panic!("generated, hand or primal"),
            };
        }
        println!("{acc}");
        return;
    }
    if std::env::var("MNIST_MLP_INTERLEAVED").is_ok() {
        interleaved();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

/// `MNIST_MLP_INTERLEAVED=1`: on a shared machine, alternates batches of 10 calls of the
/// generated and the hand-written gradient for about 10 s and prints the median and the
/// minimum per call of each, and the ratio of medians; both see the same load.
fn interleaved() {
    let [w1, b1, w2, b2, x, y] = inputs();
    let (mut gen, mut hand) = (Vec::new(), Vec::new());
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        let t = std::time::Instant::now();
        for _ in 0..10 {
            black_box(loss_value_and_grad(&w1, &b1, &w2, &b2, black_box(&x), &y));
        }
        gen.push(t.elapsed().as_secs_f64() / 10.0);
        let t = std::time::Instant::now();
        for _ in 0..10 {
            black_box(loss_value_and_grad_hand(
                &w1,
                &b1,
                &w2,
                &b2,
                black_box(&x),
                &y,
            ));
        }
        hand.push(t.elapsed().as_secs_f64() / 10.0);
    }
    let stats = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2] * 1e6, v[0] * 1e6)
    };
    let (gm, gmin) = stats(&mut gen);
    let (hm, hmin) = stats(&mut hand);
    println!("generated value_and_grad: median {gm:.1} µs, min {gmin:.1} µs");
    println!("hand backprop:            median {hm:.1} µs, min {hmin:.1} µs");
    println!(
        "ratio of medians {:.3}, of minima {:.3}",
        gm / hm,
        gmin / hmin
    );
}
