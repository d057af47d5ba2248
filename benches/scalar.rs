//! Scalar benchmarks: the generated derivative code against hand-written derivatives.
//!
//! Every benchmark maps one function over the same 1024 inputs (built once, passed through
//! `black_box`) into a preallocated output buffer, so one iteration is 1024 calls. `ns per call` in
//! BENCHMARKS.md is criterion's estimate divided by 1024.
//!
//! The differentiable functions carry `#[rustfmt::skip]` to keep the `**` spelling of the
//! issue. rustfmt would print `x**4` as `x * *4`; the macro reads that as a power too, but
//! only because the exponent is a literal (a spaced `x * *y` stays a dereference).

use std::hint::black_box;
use std::time::Duration;

use autodiff::differentiable;
use criterion::{criterion_group, criterion_main, Criterion};

/// Number of inputs per benchmark iteration.
const N: usize = 1024;

#[rustfmt::skip]
#[differentiable]
fn poly(x: f64) -> f64 {
    2*x**4 + x**3 + 3*x**2 + 5*x + 1
}

/// Hand-written derivative 8x³ + 3x² + 6x + 5, Horner form: 3 mul + 3 add.
#[inline]
fn poly_grad_horner(x: f64) -> f64 {
    ((8.0 * x + 3.0) * x + 6.0) * x + 5.0
}

/// Hand-written derivative 8x³ + 3x² + 6x + 5, direct form with shared powers
/// (x² = x·x, x³ = x²·x): 5 mul + 3 add.
#[inline]
fn poly_grad_direct(x: f64) -> f64 {
    let x2 = x * x;
    let x3 = x2 * x;
    8.0 * x3 + 3.0 * x2 + 6.0 * x + 5.0
}

/// Hand-written value and derivative, Horner form for both.
#[inline]
fn poly_value_and_grad_horner(x: f64) -> (f64, f64) {
    let v = (((2.0 * x + 1.0) * x + 3.0) * x + 5.0) * x + 1.0;
    let g = ((8.0 * x + 3.0) * x + 6.0) * x + 5.0;
    (v, g)
}

#[rustfmt::skip]
#[differentiable]
fn rosenbrock(x: f64, y: f64) -> f64 {
    (1 - x)**2 + 100*(y - x**2)**2
}

/// Hand-written Rosenbrock gradient: (−2(1−x) − 400x(y−x²), 200(y−x²)).
#[inline]
fn rosenbrock_grad_hand(x: f64, y: f64) -> (f64, f64) {
    let r = y - x * x;
    (-2.0 * (1.0 - x) - 400.0 * x * r, 200.0 * r)
}

/// Hand-written Rosenbrock value and gradient in one pass, sharing 1 − x and y − x².
#[inline]
fn rosenbrock_value_and_grad_hand(x: f64, y: f64) -> (f64, (f64, f64)) {
    let (a, r) = (1.0 - x, y - x * x);
    (a * a + 100.0 * r * r, (-2.0 * a - 400.0 * x * r, 200.0 * r))
}

fn inputs() -> Vec<f64> {
    // Deterministic values in [-2, 2): no special points, no denormals.
    (0..N)
        .map(|i| -2.0 + 4.0 * (i as f64 + 0.5) / N as f64)
        .collect()
}

fn inputs2() -> Vec<(f64, f64)> {
    (0..N)
        .map(|i| {
            let t = (i as f64 + 0.5) / N as f64;
            (-1.5 + 3.0 * t, 2.0 - 3.0 * (t * 7.0).fract())
        })
        .collect()
}

fn check(xs: &[f64], ps: &[(f64, f64)]) {
    for &x in xs {
        let g = poly_grad(x);
        let h = poly_grad_horner(x);
        let d = poly_grad_direct(x);
        assert!(
            (g - h).abs() <= 1e-12 * (1.0 + h.abs()),
            "poly_grad({x}) = {g}, expected {h}"
        );
        assert!((d - h).abs() <= 1e-12 * (1.0 + h.abs()));
        let (v, g2) = poly_value_and_grad(x);
        let (vh, gh) = poly_value_and_grad_horner(x);
        assert!((v - vh).abs() <= 1e-12 * (1.0 + vh.abs()));
        assert!((v - poly(x)).abs() <= 1e-12 * (1.0 + vh.abs()));
        assert!((g2 - gh).abs() <= 1e-12 * (1.0 + gh.abs()));
    }
    for &(x, y) in ps {
        let (gx, gy) = rosenbrock_grad(x, y);
        let (hx, hy) = rosenbrock_grad_hand(x, y);
        assert!(
            (gx - hx).abs() <= 1e-10 * (1.0 + hx.abs()),
            "rosenbrock d/dx at ({x}, {y})"
        );
        assert!(
            (gy - hy).abs() <= 1e-10 * (1.0 + hy.abs()),
            "rosenbrock d/dy at ({x}, {y})"
        );
        let (v, (vx, vy)) = rosenbrock_value_and_grad(x, y);
        let (vh, (vhx, vhy)) = rosenbrock_value_and_grad_hand(x, y);
        for (got, want) in [(v, vh), (vx, vhx), (vy, vhy)] {
            assert!(
                (got - want).abs() <= 1e-10 * (1.0 + want.abs()),
                "rosenbrock value_and_grad at ({x}, {y})"
            );
        }
    }
}

/// Maps `f` over `xs` into the preallocated `out`. Writing into a buffer instead of summing keeps
/// the elements independent (no loop-carried add chain), so the compiler may vectorise and the
/// timing measures the function, not the reduction.
#[inline(always)]
fn map_into<I: Copy, O>(xs: &[I], out: &mut [O], f: impl Fn(I) -> O) {
    for (o, &x) in out.iter_mut().zip(xs) {
        *o = f(x);
    }
}

/// Dependent calls, as in an optimiser's iterations: each call's input is computed from the
/// previous call's value (`x ← 0.5 − 10⁻³·value`, which stays in [0.49, 0.5]), so the timing is
/// the latency of one call on that path, not the throughput of independent calls. The gradient
/// `f` also returns is summed beside the chain (`acc`) so that it is computed and kept.
#[inline(always)]
fn chain<O, A: Copy>(
    ys: &[f64],
    acc0: A,
    f: impl Fn(f64, f64) -> O,
    step: impl Fn(O, A) -> (f64, A),
) -> (f64, A) {
    let (mut x, mut acc) = (0.7, acc0);
    for &y in ys {
        (x, acc) = step(f(x, y), acc);
    }
    (x, acc)
}

/// The next input of [`chain`] from a value.
#[inline(always)]
fn next(v: f64) -> f64 {
    0.5 - 1e-3 * v
}

fn bench_chain(c: &mut Criterion) {
    let ys: Vec<f64> = inputs2().iter().map(|p| p.1).collect();
    let mut g = c.benchmark_group("poly_chain1024");
    g.bench_function("primal poly", |b| {
        b.iter(|| chain(black_box(&ys), (), |x, _| poly(x), |v, a| (next(v), a)))
    });
    g.bench_function("generated poly_value_and_grad", |b| {
        b.iter(|| {
            chain(
                black_box(&ys),
                0.0,
                |x, _| poly_value_and_grad(x),
                |(v, d), a| (next(v), a + d),
            )
        })
    });
    g.bench_function("hand value_and_grad (Horner)", |b| {
        b.iter(|| {
            chain(
                black_box(&ys),
                0.0,
                |x, _| poly_value_and_grad_horner(x),
                |(v, d), a| (next(v), a + d),
            )
        })
    });
    g.finish();

    let mut g = c.benchmark_group("rosenbrock_chain1024");
    g.bench_function("primal rosenbrock", |b| {
        b.iter(|| chain(black_box(&ys), (), rosenbrock, |v, a| (next(v), a)))
    });
    let add =
        |(v, (dx, dy)): (f64, (f64, f64)), (ax, ay): (f64, f64)| (next(v), (ax + dx, ay + dy));
    g.bench_function("generated rosenbrock_value_and_grad", |b| {
        b.iter(|| chain(black_box(&ys), (0.0, 0.0), rosenbrock_value_and_grad, add))
    });
    g.bench_function("hand value_and_grad", |b| {
        b.iter(|| {
            chain(
                black_box(&ys),
                (0.0, 0.0),
                rosenbrock_value_and_grad_hand,
                add,
            )
        })
    });
    g.finish();
}

fn bench_poly(c: &mut Criterion) {
    let xs = inputs();
    let ps = inputs2();
    check(&xs, &ps);
    let mut out1 = vec![0.0f64; N];
    let mut out2 = vec![(0.0f64, 0.0f64); N];
    let mut out3 = vec![(0.0f64, (0.0f64, 0.0f64)); N];

    let mut g = c.benchmark_group("poly_x1024");
    g.bench_function("primal poly", |b| {
        b.iter(|| map_into(black_box(&xs), black_box(&mut out1), poly))
    });
    g.bench_function("generated poly_grad", |b| {
        b.iter(|| map_into(black_box(&xs), black_box(&mut out1), poly_grad))
    });
    g.bench_function("hand grad (Horner)", |b| {
        b.iter(|| map_into(black_box(&xs), black_box(&mut out1), poly_grad_horner))
    });
    g.bench_function("hand grad (direct)", |b| {
        b.iter(|| map_into(black_box(&xs), black_box(&mut out1), poly_grad_direct))
    });
    g.bench_function("generated poly_value_and_grad", |b| {
        b.iter(|| map_into(black_box(&xs), black_box(&mut out2), poly_value_and_grad))
    });
    g.bench_function("hand value_and_grad (Horner)", |b| {
        b.iter(|| {
            map_into(
                black_box(&xs),
                black_box(&mut out2),
                poly_value_and_grad_horner,
            )
        })
    });
    g.finish();

    let mut g = c.benchmark_group("rosenbrock_x1024");
    g.bench_function("primal rosenbrock", |b| {
        b.iter(|| {
            map_into(black_box(&ps), black_box(&mut out1), |(x, y)| {
                rosenbrock(x, y)
            })
        })
    });
    g.bench_function("generated rosenbrock_grad", |b| {
        b.iter(|| {
            map_into(black_box(&ps), black_box(&mut out2), |(x, y)| {
                rosenbrock_grad(x, y)
            })
        })
    });
    g.bench_function("hand grad", |b| {
        b.iter(|| {
            map_into(black_box(&ps), black_box(&mut out2), |(x, y)| {
                rosenbrock_grad_hand(x, y)
            })
        })
    });
    g.bench_function("generated rosenbrock_value_and_grad", |b| {
        b.iter(|| {
            map_into(black_box(&ps), black_box(&mut out3), |(x, y)| {
                rosenbrock_value_and_grad(x, y)
            })
        })
    });
    g.bench_function("hand value_and_grad", |b| {
        b.iter(|| {
            map_into(black_box(&ps), black_box(&mut out3), |(x, y)| {
                rosenbrock_value_and_grad_hand(x, y)
            })
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
    targets = bench_poly, bench_chain
}
criterion_main!(benches);
