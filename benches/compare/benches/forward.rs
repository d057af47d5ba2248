//! Forward mode against num-dual on the 8-variable chained Rosenbrock function: `rosen8_jvp`
//! against num-dual's `Dual64` (one directional derivative) and a hand-written one, and the
//! full 8×8 `rosen8_hessian` against num-dual's `hessian` (`Dual2SVec64<8>`) and the
//! hand-written tridiagonal Hessian; `rosen8_hvp` against `rosen8_grad`.
//!
//! Every result is first checked against the hand-written one (relative 1e-9). Each
//! benchmark maps over 1024 inputs into a preallocated buffer; per call = estimate / 1024.
//! Run with `cd benches/compare && cargo bench --bench forward`.

use std::hint::black_box;
use std::time::Duration;

use autodiff::differentiable;
use criterion::{criterion_group, criterion_main, Criterion};
use nalgebra::SVector;
use num_dual::{Dual2SVec64, Dual64, DualNum};

include!("../../rosen8.rs");

fn config() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

/// The same function for num-dual, generic over its dual number types.
fn rosen_dual<D: DualNum<Primitive = f64>>(x: &[D]) -> D {
    let mut s = D::from(0.0);
    for i in 0..x.len() - 1 {
        let b = -x[i].clone() + 1.0;
        let a = x[i + 1].clone() - x[i].powi(2);
        s += b.powi(2) + a.powi(2) * 100.0;
    }
    s
}

/// num-dual's directional derivative: `Dual64` numbers with the direction as their ε part.
#[inline]
fn rosen8_jvp_num_dual(x: [f64; 8], t: [f64; 8]) -> (f64, f64) {
    let xs: [Dual64; 8] = std::array::from_fn(|k| Dual64::new(x[k], t[k]));
    let r = rosen_dual(&xs);
    (r.re, r.eps)
}

#[inline]
fn rosen8_hessian_num_dual(x: [f64; 8]) -> [[f64; 8]; 8] {
    let (_, _, h) = num_dual::hessian(
        |v: SVector<Dual2SVec64<8>, 8>| rosen_dual(v.as_slice()),
        &SVector::from(x),
    );
    std::array::from_fn(|a| std::array::from_fn(|b| h[(a, b)]))
}

fn bench_forward(c: &mut Criterion) {
    let ps = points();
    check_against_hand(&ps);
    for &(x, t) in &ps {
        let (v, d) = rosen8_jvp_num_dual(x, t);
        let (hv, hd) = rosen8_jvp_hand(x, t);
        assert!(close(v, hv) && close(d, hd), "num-dual jvp at {x:?}");
        let (h, hh) = (rosen8_hessian_num_dual(x), rosen8_hessian_hand(x));
        for a in 0..8 {
            for b in 0..8 {
                assert!(close(h[a][b], hh[a][b]), "num-dual hessian[{a}][{b}] at {x:?}");
            }
        }
    }
    let mut out2 = vec![(0.0f64, 0.0f64); N];
    let mut g = c.benchmark_group("rosen8_jvp_x1024");
    g.bench_function("autodiff rosen8_jvp", |b| {
        b.iter(|| map_into(black_box(&ps), black_box(&mut out2), |(x, t)| rosen8_jvp(x, t)))
    });
    g.bench_function("num-dual Dual64", |b| {
        b.iter(|| {
            map_into(black_box(&ps), black_box(&mut out2), |(x, t)| {
                rosen8_jvp_num_dual(x, t)
            })
        })
    });
    g.bench_function("hand", |b| {
        b.iter(|| map_into(black_box(&ps), black_box(&mut out2), |(x, t)| rosen8_jvp_hand(x, t)))
    });
    g.finish();

    let mut out8 = vec![[0.0f64; 8]; N];
    let mut g = c.benchmark_group("rosen8_hvp_x1024");
    g.bench_function("autodiff rosen8_hvp", |b| {
        b.iter(|| map_into(black_box(&ps), black_box(&mut out8), |(x, t)| rosen8_hvp(x, t)))
    });
    g.bench_function("autodiff rosen8_grad", |b| {
        b.iter(|| map_into(black_box(&ps), black_box(&mut out8), |(x, _)| rosen8_grad(x)))
    });
    g.finish();

    let mut out64 = vec![[[0.0f64; 8]; 8]; N];
    let mut g = c.benchmark_group("rosen8_hessian_x1024");
    g.bench_function("autodiff rosen8_hessian", |b| {
        b.iter(|| map_into(black_box(&ps), black_box(&mut out64), |(x, _)| rosen8_hessian(x)))
    });
    g.bench_function("num-dual hessian", |b| {
        b.iter(|| {
            map_into(black_box(&ps), black_box(&mut out64), |(x, _)| {
                rosen8_hessian_num_dual(x)
            })
        })
    });
    g.bench_function("hand", |b| {
        b.iter(|| map_into(black_box(&ps), black_box(&mut out64), |(x, _)| rosen8_hessian_hand(x)))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_forward
}
criterion_main!(benches);
