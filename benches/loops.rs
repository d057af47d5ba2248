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
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion};

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

/// A group over N = 8, 1000, 100000, short runs.
fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    group
}

type Primal = fn(&[f64]) -> f64;
type Grad = fn(&[f64]) -> Vec<f64>;

/// The primal, the generated gradient and the hand-written one of one function, at `x`.
fn three(
    group: &mut BenchmarkGroup<'_, WallTime>,
    x: &[f64],
    (primal, generated, hand): (Primal, Grad, Grad),
) {
    let x = x.to_vec();
    let n = x.len();
    group.bench_with_input(BenchmarkId::new("primal", n), &x, |bch, x| {
        bch.iter(|| primal(black_box(x)))
    });
    group.bench_with_input(BenchmarkId::new("generated_grad", n), &x, |bch, x| {
        bch.iter(|| generated(black_box(x)))
    });
    group.bench_with_input(BenchmarkId::new("hand_grad", n), &x, |bch, x| {
        bch.iter(|| hand(black_box(x)))
    });
}

fn bench(c: &mut Criterion) {
    let mut g = group(c, "rosenbrock_n");
    for n in [8usize, 1000, 100_000] {
        let x = inputs(n);
        let (generated, hand) = (rosenbrock_grad(&x), rosenbrock_grad_hand(&x));
        for (g, h) in generated.iter().zip(&hand) {
            assert!(
                (g - h).abs() <= 1e-9 * h.abs().max(1.0),
                "generated {g} vs hand-written {h}"
            );
        }
        three(
            &mut g,
            &x,
            (rosenbrock, rosenbrock_grad, rosenbrock_grad_hand),
        );
        let t: Vec<f64> = x.iter().map(|v| 1.0 - v).collect();
        g.bench_with_input(BenchmarkId::new("generated_jvp", n), &x, |bch, x| {
            bch.iter(|| rosenbrock_jvp(black_box(x), black_box(&t)))
        });
    }
    g.finish();

    let mut g = group(c, "guarded_n");
    for n in [8usize, 1000, 100_000] {
        let x: Vec<f64> = inputs(n).iter().map(|v| v - 0.7).collect();
        assert_eq!(guarded_grad(&x), guarded_grad_hand(&x));
        three(&mut g, &x, (guarded, guarded_grad, guarded_grad_hand));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
