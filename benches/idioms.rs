//! Idiomatic bodies (iterator chains, closures) against the index-loop versions of the same
//! functions, and Rosenbrock-N in iterator form against its own primal.
//!
//! Goals (issue 15): an iterator-chain loss costs the same as the index-loop one (ratio ≤
//! 1.05), and the Rosenbrock-N gradient in iterator form is ≤ 3× its primal up to N = 10⁵.

use std::hint::black_box;
use std::time::Duration;

use autodiff::differentiable;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

/// Least squares written with `zip`, `map` and a closure.
#[differentiable(wrt(w, b))]
fn loss_iter(w: f64, b: f64, xs: &[f64], ys: &[f64]) -> f64 {
    let residual = |x: f64, y: f64| w * x + b - y;
    xs.iter()
        .zip(ys)
        .map(|(x, y)| residual(*x, *y).powi(2))
        .sum::<f64>()
}

/// The same loss as an index loop.
#[differentiable(wrt(w, b))]
fn loss_index(w: f64, b: f64, xs: &[f64], ys: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..xs.len() {
        let r = w * xs[i] + b - ys[i];
        s += r * r;
    }
    s
}

/// Rosenbrock-N in iterator form.
#[differentiable]
fn rosenbrock_iter(x: &[f64]) -> f64 {
    x.iter()
        .zip(x.iter().skip(1))
        .map(|(a, b)| 100.0 * (b - a * a).powi(2) + (1.0 - a).powi(2))
        .sum::<f64>()
}

/// Rosenbrock-N as an index loop (as in `benches/loops.rs`), for the same run.
#[differentiable]
fn rosenbrock_index(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        s += 100.0 * (x[i + 1] - x[i] * x[i]).powi(2) + (1.0 - x[i]).powi(2);
    }
    s
}

fn inputs(n: usize, seed: usize) -> Vec<f64> {
    (0..n)
        .map(|i| 0.5 + 0.37 * ((i * 7919 + seed) % 101) as f64 / 101.0)
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("idioms_loss");
    group
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    for n in [1000usize, 100_000] {
        let (xs, ys) = (inputs(n, 0), inputs(n, 13));
        let (a, b) = (
            loss_iter_grad(0.7, 0.1, &xs, &ys),
            loss_index_grad(0.7, 0.1, &xs, &ys),
        );
        assert!((a.0 - b.0).abs() <= 1e-9 * b.0.abs() && (a.1 - b.1).abs() <= 1e-9 * b.1.abs());
        let data = (xs, ys);
        group.bench_with_input(BenchmarkId::new("iter_grad", n), &data, |bch, (xs, ys)| {
            bch.iter(|| {
                loss_iter_grad(black_box(0.7), black_box(0.1), black_box(xs), black_box(ys))
            })
        });
        group.bench_with_input(BenchmarkId::new("index_grad", n), &data, |bch, (xs, ys)| {
            bch.iter(|| {
                loss_index_grad(black_box(0.7), black_box(0.1), black_box(xs), black_box(ys))
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("idioms_rosenbrock");
    group
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    for n in [8usize, 1000, 100_000] {
        let x = inputs(n, 0);
        let (chain, index) = (rosenbrock_iter_grad(&x), rosenbrock_index_grad(&x));
        for (a, b) in chain.iter().zip(&index) {
            assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{a} vs {b}");
        }
        group.bench_with_input(BenchmarkId::new("primal", n), &x, |bch, x| {
            bch.iter(|| rosenbrock_iter(black_box(x)))
        });
        group.bench_with_input(BenchmarkId::new("grad", n), &x, |bch, x| {
            bch.iter(|| rosenbrock_iter_grad(black_box(x)))
        });
        group.bench_with_input(BenchmarkId::new("index_primal", n), &x, |bch, x| {
            bch.iter(|| rosenbrock_index(black_box(x)))
        });
        group.bench_with_input(BenchmarkId::new("index_grad", n), &x, |bch, x| {
            bch.iter(|| rosenbrock_index_grad(black_box(x)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
