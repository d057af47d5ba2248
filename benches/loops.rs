//! Rosenbrock in N dimensions written with a loop over a slice: the generated gradient against
//! a hand-written gradient and against the primal alone, at N = 8, 1000 and 100000.
//!
//! Goals (issue text): gradient ≤ 3× the primal at every N, and within 1.2× of hand-written.
//! `generated_jvp`: the value and a directional derivative, one loop.
//!
//! `guarded_n`: a loop whose body reads elements inside an `if` (a hinge-like sum), against a
//! hand-written gradient: the generated gradient must scatter each read once, not build a
//! sequence per iteration (which made it quadratic in N).

use std::hint::black_box;
use std::time::Duration;

use autodiff::differentiable;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

#[differentiable]
fn rosenbrock(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = 1 - x[i];
        s += 100 * a * a + b * b;
    }
    s
}

/// The hand-written gradient: one pass, each term's two partials added where they belong.
fn rosenbrock_grad_hand(x: &[f64]) -> Vec<f64> {
    let mut g = vec![0.0; x.len()];
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = 1.0 - x[i];
        g[i] += -400.0 * a * x[i] - 2.0 * b;
        g[i + 1] += 200.0 * a;
    }
    g
}

/// Σ (x_i > 0 ? x_i² : -3 x_i).
#[differentiable]
fn guarded(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        if x[i] > 0.0 {
            s += x[i] * x[i];
        } else {
            s -= 3.0 * x[i];
        }
    }
    s
}

fn guarded_grad_hand(x: &[f64]) -> Vec<f64> {
    x.iter()
        .map(|&v| if v > 0.0 { 2.0 * v } else { -3.0 })
        .collect()
}

fn inputs(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| 0.5 + 0.37 * ((i * 7919) % 101) as f64 / 101.0)
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("rosenbrock_n");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    for n in [8usize, 1000, 100_000] {
        let x = inputs(n);
        let (generated, hand) = (rosenbrock_grad(&x), rosenbrock_grad_hand(&x));
        for (g, h) in generated.iter().zip(&hand) {
            assert!(
                (g - h).abs() <= 1e-9 * h.abs().max(1.0),
                "generated {g} vs hand-written {h}"
            );
        }
        group.bench_with_input(BenchmarkId::new("primal", n), &x, |bch, x| {
            bch.iter(|| rosenbrock(black_box(x)))
        });
        group.bench_with_input(BenchmarkId::new("generated_grad", n), &x, |bch, x| {
            bch.iter(|| rosenbrock_grad(black_box(x)))
        });
        group.bench_with_input(BenchmarkId::new("hand_grad", n), &x, |bch, x| {
            bch.iter(|| rosenbrock_grad_hand(black_box(x)))
        });
        let t: Vec<f64> = x.iter().map(|v| 1.0 - v).collect();
        group.bench_with_input(BenchmarkId::new("generated_jvp", n), &x, |bch, x| {
            bch.iter(|| rosenbrock_jvp(black_box(x), black_box(&t)))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("guarded_n");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    for n in [8usize, 1000, 100_000] {
        let x: Vec<f64> = inputs(n).iter().map(|v| v - 0.7).collect();
        assert_eq!(guarded_grad(&x), guarded_grad_hand(&x));
        group.bench_with_input(BenchmarkId::new("primal", n), &x, |bch, x| {
            bch.iter(|| guarded(black_box(x)))
        });
        group.bench_with_input(BenchmarkId::new("generated_grad", n), &x, |bch, x| {
            bch.iter(|| guarded_grad(black_box(x)))
        });
        group.bench_with_input(BenchmarkId::new("hand_grad", n), &x, |bch, x| {
            bch.iter(|| guarded_grad_hand(black_box(x)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
