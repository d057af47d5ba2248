//! Forward mode on the 8-variable chained Rosenbrock function: `rosen8_jvp` against a
//! hand-written directional derivative, `rosen8_hessian` (8×8) against the hand-written
//! tridiagonal Hessian, and `rosen8_hvp` against `rosen8_grad` (the Hessian-vector product
//! should cost a few gradients). The comparison with num-dual is in `benches/compare`
//! (`cargo bench --bench forward` there), which has num-dual as a dependency.
//!
//! Every benchmark maps one function over the same 1024 inputs into a preallocated buffer;
//! per call = criterion's estimate / 1024. Every result is first checked against the
//! hand-written one.

use std::hint::black_box;
use std::time::Duration;

use autodiff::differentiable;
use criterion::{criterion_group, criterion_main, Criterion};

include!("rosen8.rs");

fn config() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

fn bench_forward(c: &mut Criterion) {
    let ps = points();
    check_against_hand(&ps);
    let mut out2 = vec![(0.0f64, 0.0f64); N];
    let mut g = c.benchmark_group("rosen8_jvp_x1024");
    g.bench_function("autodiff rosen8_jvp", |b| {
        b.iter(|| {
            map_into(black_box(&ps), black_box(&mut out2), |(x, t)| {
                rosen8_jvp(x, t)
            })
        })
    });
    g.bench_function("hand", |b| {
        b.iter(|| {
            map_into(black_box(&ps), black_box(&mut out2), |(x, t)| {
                rosen8_jvp_hand(x, t)
            })
        })
    });
    g.finish();

    let mut out8 = vec![[0.0f64; 8]; N];
    let mut g = c.benchmark_group("rosen8_hvp_x1024");
    g.bench_function("autodiff rosen8_hvp", |b| {
        b.iter(|| {
            map_into(black_box(&ps), black_box(&mut out8), |(x, t)| {
                rosen8_hvp(x, t)
            })
        })
    });
    g.bench_function("autodiff rosen8_grad", |b| {
        b.iter(|| {
            map_into(black_box(&ps), black_box(&mut out8), |(x, _)| {
                rosen8_grad(x)
            })
        })
    });
    g.finish();

    let mut out64 = vec![[[0.0f64; 8]; 8]; N];
    let mut g = c.benchmark_group("rosen8_hessian_x1024");
    g.bench_function("autodiff rosen8_hessian", |b| {
        b.iter(|| {
            map_into(black_box(&ps), black_box(&mut out64), |(x, _)| {
                rosen8_hessian(x)
            })
        })
    });
    g.bench_function("hand", |b| {
        b.iter(|| {
            map_into(black_box(&ps), black_box(&mut out64), |(x, _)| {
                rosen8_hessian_hand(x)
            })
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_forward
}
criterion_main!(benches);
