//! Tensor benchmarks: generated gradients (eager `Tensor` runtime) against hand-written
//! backward passes over slices.
//!
//! Before timing, the setup asserts that the generated and the hand-written gradients agree
//! (relative tolerance 1e-10), so both sides compute the same thing.
//!
//! The differentiable functions carry `#[rustfmt::skip]` to keep the `**` spelling of the
//! issue. rustfmt would print `y**2` as `y * *2`; the macro reads that as a power too, but
//! only because the exponent is a literal (a spaced `x * *y` stays a dereference).

use std::hint::black_box;
use std::time::Duration;

use autodiff::{differentiable, Activations, Tensor};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode};

// ---------------------------------------------------------------------------------------------
// (a) The seed function: z = x*y + y**2 with x: [n], y: [n, 1], so z: [n, n].

#[rustfmt::skip]
#[differentiable]
fn seed(x: &Tensor<f64>, y: &Tensor<f64>) -> f64 {
    let z = x*y + y**2;
    z.sum()
}

/// Hand-written gradient of `seed`, fused, never materialising the [n, n] broadcast:
/// z[i][j] = x[j]·y[i] + y[i]², so ∂/∂x[j] = Σ_i y[i] and ∂/∂y[i] = Σ_j x[j] + 2·m·y[i]
/// with m = len(x) (the number of columns y[i] is broadcast over).
fn seed_grad_hand(x: &Tensor<f64>, y: &Tensor<f64>) -> (Tensor<f64>, Tensor<f64>) {
    let (xs, ys) = (x.as_slice(), y.as_slice());
    let sum_x: f64 = xs.iter().sum();
    let sum_y: f64 = ys.iter().sum();
    let m = xs.len() as f64;
    let gx = vec![sum_y; xs.len()];
    let gy = ys.iter().map(|&yi| sum_x + 2.0 * m * yi).collect();
    (
        Tensor::from_vec(gx, x.shape()),
        Tensor::from_vec(gy, y.shape()),
    )
}

/// Hand-written gradient of `seed` as one pass over the [n, n] broadcast index (no temporary):
/// what a careful person writes without the algebra above.
fn seed_grad_single_pass(x: &Tensor<f64>, y: &Tensor<f64>) -> (Tensor<f64>, Tensor<f64>) {
    let (xs, ys) = (x.as_slice(), y.as_slice());
    let mut gx = vec![0.0; xs.len()];
    let mut gy = vec![0.0; ys.len()];
    for (i, &yi) in ys.iter().enumerate() {
        let mut row = 0.0;
        for (j, &xj) in xs.iter().enumerate() {
            gx[j] += yi;
            row += xj + 2.0 * yi;
        }
        gy[i] = row;
    }
    (
        Tensor::from_vec(gx, x.shape()),
        Tensor::from_vec(gy, y.shape()),
    )
}

// ---------------------------------------------------------------------------------------------
// (b) A small MLP: batch 32, 16 -> 32 -> 1, sigmoid hidden layer, MSE loss.

const BATCH: usize = 32;
const IN: usize = 16;
const HID: usize = 32;

#[rustfmt::skip]
#[differentiable(wrt(w1, b1, w2, b2))]
fn loss(
    w1: &Tensor<f64>,
    b1: &Tensor<f64>,
    w2: &Tensor<f64>,
    b2: &Tensor<f64>,
    x: &Tensor<f64>,
    y: &Tensor<f64>,
) -> f64 {
    let h = (x.matmul(w1) + b1).sigmoid();
    let out = h.matmul(w2) + b2;
    ((out - y)**2).mean()
}

type MlpGrad = (Tensor<f64>, Tensor<f64>, Tensor<f64>, Tensor<f64>);

/// Hand-written backprop for `loss`, plain loops over slices, row-major layouts:
/// x [B, I], w1 [I, H], b1 [H], w2 [H, 1], b2 [1], y [B, 1].
fn loss_grad_hand(
    w1: &Tensor<f64>,
    b1: &Tensor<f64>,
    w2: &Tensor<f64>,
    b2: &Tensor<f64>,
    x: &Tensor<f64>,
    y: &Tensor<f64>,
) -> MlpGrad {
    let (w1s, b1s, w2s, b2s) = (w1.as_slice(), b1.as_slice(), w2.as_slice(), b2.as_slice());
    let (xs, ys) = (x.as_slice(), y.as_slice());
    let (nb, ni, nh) = (x.shape()[0], x.shape()[1], b1.len());

    let mut gw1 = vec![0.0; ni * nh];
    let mut gb1 = vec![0.0; nh];
    let mut gw2 = vec![0.0; nh];
    let mut gb2 = 0.0;
    let mut h = vec![0.0; nh];
    let scale = 2.0 / nb as f64;

    for b in 0..nb {
        let xrow = &xs[b * ni..(b + 1) * ni];
        // Forward: h = sigmoid(x·w1 + b1), out = h·w2 + b2.
        h.copy_from_slice(b1s);
        for (i, &xi) in xrow.iter().enumerate() {
            for (hk, &w) in h.iter_mut().zip(&w1s[i * nh..(i + 1) * nh]) {
                *hk += xi * w;
            }
        }
        let mut out = b2s[0];
        for (hk, &w) in h.iter_mut().zip(w2s) {
            *hk = hk.sigmoid();
            out += *hk * w;
        }
        // Backward: d out = 2 (out - y) / B.
        let dout = scale * (out - ys[b]);
        gb2 += dout;
        for k in 0..nh {
            gw2[k] += h[k] * dout;
            // d pre = d out · w2 · σ'(pre), σ' = h (1 - h); reuse `h` for d pre.
            h[k] = dout * w2s[k] * h[k] * (1.0 - h[k]);
            gb1[k] += h[k];
        }
        for (i, &xi) in xrow.iter().enumerate() {
            for (g, &d) in gw1[i * nh..(i + 1) * nh].iter_mut().zip(&h) {
                *g += xi * d;
            }
        }
    }
    (
        Tensor::from_vec(gw1, w1.shape()),
        Tensor::from_vec(gb1, b1.shape()),
        Tensor::from_vec(gw2, w2.shape()),
        Tensor::from_vec(vec![gb2], b2.shape()),
    )
}

// ---------------------------------------------------------------------------------------------
// Inputs and checks.

/// Deterministic pseudo-random values in [-1, 1) (a 64-bit LCG; no extra dependency).
fn values(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

fn assert_close(name: &str, got: &Tensor<f64>, want: &Tensor<f64>) {
    assert_eq!(got.shape(), want.shape(), "{name}: shapes differ");
    for (k, (&g, &w)) in got.as_slice().iter().zip(want.as_slice()).enumerate() {
        assert!(
            (g - w).abs() <= 1e-10 * (1.0 + w.abs()),
            "{name}[{k}]: generated {g}, hand-written {w}"
        );
    }
}

fn bench_seed(c: &mut Criterion) {
    let mut g = c.benchmark_group("seed");
    for n in [100usize, 1000] {
        let x = Tensor::from_vec(values(n, 1), &[n]);
        let y = Tensor::from_vec(values(n, 2), &[n, 1]);
        let (gx, gy) = seed_grad(&x, &y);
        let (hx, hy) = seed_grad_hand(&x, &y);
        assert_close("seed d/dx", &gx, &hx);
        assert_close("seed d/dy", &gy, &hy);
        let (px, py) = seed_grad_single_pass(&x, &y);
        assert_close("seed d/dx, single pass", &px, &hx);
        assert_close("seed d/dy, single pass", &py, &hy);

        if n >= 1000 {
            // Milliseconds per call: flat sampling keeps the run within the time budget.
            g.sampling_mode(SamplingMode::Flat);
        }
        g.bench_with_input(BenchmarkId::new("primal seed", n), &n, |b, _| {
            b.iter(|| seed(black_box(&x), black_box(&y)))
        });
        g.bench_with_input(BenchmarkId::new("generated seed_grad", n), &n, |b, _| {
            b.iter(|| seed_grad(black_box(&x), black_box(&y)))
        });
        g.bench_with_input(BenchmarkId::new("hand fused grad", n), &n, |b, _| {
            b.iter(|| seed_grad_hand(black_box(&x), black_box(&y)))
        });
        g.bench_with_input(BenchmarkId::new("hand single pass grad", n), &n, |b, _| {
            b.iter(|| seed_grad_single_pass(black_box(&x), black_box(&y)))
        });
    }
    g.finish();
}

fn bench_mlp(c: &mut Criterion) {
    let w1 = Tensor::from_vec(values(IN * HID, 3), &[IN, HID]);
    let b1 = Tensor::from_vec(values(HID, 4), &[HID]);
    let w2 = Tensor::from_vec(values(HID, 5), &[HID, 1]);
    let b2 = Tensor::from_vec(values(1, 6), &[1]);
    let x = Tensor::from_vec(values(BATCH * IN, 7), &[BATCH, IN]);
    let y = Tensor::from_vec(values(BATCH, 8), &[BATCH, 1]);

    let (g1, g2, g3, g4) = loss_grad(&w1, &b1, &w2, &b2, &x, &y);
    let (h1, h2, h3, h4) = loss_grad_hand(&w1, &b1, &w2, &b2, &x, &y);
    assert_close("mlp d/dw1", &g1, &h1);
    assert_close("mlp d/db1", &g2, &h2);
    assert_close("mlp d/dw2", &g3, &h3);
    assert_close("mlp d/db2", &g4, &h4);

    let mut g = c.benchmark_group("mlp_32x16x32x1");
    g.bench_function("primal loss", |b| {
        b.iter(|| {
            loss(
                black_box(&w1),
                black_box(&b1),
                black_box(&w2),
                black_box(&b2),
                black_box(&x),
                black_box(&y),
            )
        })
    });
    g.bench_function("generated loss_grad", |b| {
        b.iter(|| {
            loss_grad(
                black_box(&w1),
                black_box(&b1),
                black_box(&w2),
                black_box(&b2),
                black_box(&x),
                black_box(&y),
            )
        })
    });
    g.bench_function("hand backprop", |b| {
        b.iter(|| {
            loss_grad_hand(
                black_box(&w1),
                black_box(&b1),
                black_box(&w2),
                black_box(&b2),
                black_box(&x),
                black_box(&y),
            )
        })
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_seed, bench_mlp
}
criterion_main!(benches);
