//! `autodiff` against the tools a Rust user would otherwise pick: hand-written derivatives,
//! `symdiff` (compile-time symbolic gradients), `num-dual` (forward-mode dual numbers) and
//! `candle-core` (a tape-based reverse-mode tensor library, CPU, f64).
//!
//! Every scenario first ASSERTS that all tools agree with the hand-written gradient (relative
//! tolerance 1e-9), then times them. Run with `cd benches/compare && cargo bench`.
//!
//! The differentiable functions carry `#[rustfmt::skip]` to keep the `**` spelling.

use std::hint::black_box;
use std::time::Duration;

use autodiff::{differentiable, Activations, Tensor};
use candle_core::{backprop::GradStore, Device, Tensor as CTensor, Var};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode};
use nalgebra::SVector;
use num_dual::{DualNum, DualSVec64, Dual2SVec64};
use symdiff::gradient;

/// Inputs per iteration for the scalar scenarios (as in `benches/scalar.rs`).
const N: usize = 1024;

const RTOL: f64 = 1e-9;

fn close(got: f64, want: f64) -> bool {
    (got - want).abs() <= RTOL * (1.0 + want.abs())
}

fn assert_slice_close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    for (k, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(close(g, w), "{what}[{k}]: got {g}, hand-written {w}");
    }
}

/// Maps `f` over `xs` into the preallocated `out` (independent elements, no reduction chain).
#[inline(always)]
fn map_into<I: Copy, O>(xs: &[I], out: &mut [O], f: impl Fn(I) -> O) {
    for (o, &x) in out.iter_mut().zip(xs) {
        *o = f(x);
    }
}

/// Deterministic pseudo-random values in [-1, 1) (64-bit LCG).
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

// =============================================================================================
// 1. Quartic.

#[rustfmt::skip]
#[differentiable]
fn poly(x: f64) -> f64 {
    2*x**4 + x**3 + 3*x**2 + 5*x + 1
}

/// Hand-written derivative, Horner form (3 mul + 3 add).
#[inline]
fn poly_grad_horner(x: f64) -> f64 {
    ((8.0 * x + 3.0) * x + 6.0) * x + 5.0
}

/// Hand-written derivative, direct form with shared powers (5 mul + 3 add).
#[inline]
fn poly_grad_direct(x: f64) -> f64 {
    let x2 = x * x;
    let x3 = x2 * x;
    8.0 * x3 + 3.0 * x2 + 6.0 * x + 5.0
}

fn bench_poly(c: &mut Criterion) {
    let xs: Vec<f64> = (0..N)
        .map(|i| -2.0 + 4.0 * (i as f64 + 0.5) / N as f64)
        .collect();
    for &x in &xs {
        let h = poly_grad_horner(x);
        assert!(close(poly_grad(x), h), "poly_grad({x})");
        assert!(close(poly_grad_direct(x), h));
        let (v, g) = poly_value_and_grad(x);
        assert!(close(v, poly(x)) && close(g, h), "poly_value_and_grad({x})");
        let (nv, ng) = num_dual::first_derivative(|x| poly_dual(&x), x);
        assert!(close(nv, v) && close(ng, h), "num-dual first_derivative({x})");
    }
    let mut out1 = vec![0.0f64; N];
    let mut out2 = vec![(0.0f64, 0.0f64); N];

    let mut g = c.benchmark_group("quartic_x1024");
    g.bench_function("primal poly", |b| {
        b.iter(|| map_into(black_box(&xs), black_box(&mut out1), poly))
    });
    g.bench_function("autodiff poly_grad", |b| {
        b.iter(|| map_into(black_box(&xs), black_box(&mut out1), poly_grad))
    });
    g.bench_function("hand grad (Horner)", |b| {
        b.iter(|| map_into(black_box(&xs), black_box(&mut out1), poly_grad_horner))
    });
    g.bench_function("hand grad (direct)", |b| {
        b.iter(|| map_into(black_box(&xs), black_box(&mut out1), poly_grad_direct))
    });
    g.bench_function("autodiff poly_value_and_grad", |b| {
        b.iter(|| map_into(black_box(&xs), black_box(&mut out2), poly_value_and_grad))
    });
    g.bench_function("num-dual first_derivative", |b| {
        b.iter(|| {
            map_into(black_box(&xs), black_box(&mut out2), |x| {
                num_dual::first_derivative(|x| poly_dual(&x), x)
            })
        })
    });
    g.finish();
}

fn poly_dual<D: DualNum<Primitive = f64>>(x: &D) -> D {
    x.powi(4) * 2.0 + x.powi(3) + x.powi(2) * 3.0 + x.clone() * 5.0 + 1.0
}

// =============================================================================================
// 2. Rosenbrock 2-D and 8-D.

#[rustfmt::skip]
#[differentiable]
fn rosen2(x: f64, y: f64) -> f64 {
    (1 - x)**2 + 100*(y - x**2)**2
}

#[inline]
fn rosen2_grad_hand(x: f64, y: f64) -> (f64, f64) {
    let r = y - x * x;
    (-2.0 * (1.0 - x) - 400.0 * x * r, 200.0 * r)
}

#[gradient(var = x, dim = 2)]
fn rosen2_sd(x: &[f64]) -> f64 {
    (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0].powi(2)).powi(2)
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

#[rustfmt::skip]
#[differentiable]
fn rosen8(x: [f64; 8]) -> f64 {
    (1 - x[0])**2 + 100*(x[1] - x[0]**2)**2
        + (1 - x[1])**2 + 100*(x[2] - x[1]**2)**2
        + (1 - x[2])**2 + 100*(x[3] - x[2]**2)**2
        + (1 - x[3])**2 + 100*(x[4] - x[3]**2)**2
        + (1 - x[4])**2 + 100*(x[5] - x[4]**2)**2
        + (1 - x[5])**2 + 100*(x[6] - x[5]**2)**2
        + (1 - x[6])**2 + 100*(x[7] - x[6]**2)**2
}

#[gradient(var = x, dim = 8)]
fn rosen8_sd(x: &[f64]) -> f64 {
    (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0].powi(2)).powi(2)
        + (1.0 - x[1]).powi(2) + 100.0 * (x[2] - x[1].powi(2)).powi(2)
        + (1.0 - x[2]).powi(2) + 100.0 * (x[3] - x[2].powi(2)).powi(2)
        + (1.0 - x[3]).powi(2) + 100.0 * (x[4] - x[3].powi(2)).powi(2)
        + (1.0 - x[4]).powi(2) + 100.0 * (x[5] - x[4].powi(2)).powi(2)
        + (1.0 - x[5]).powi(2) + 100.0 * (x[6] - x[5].powi(2)).powi(2)
        + (1.0 - x[6]).powi(2) + 100.0 * (x[7] - x[6].powi(2)).powi(2)
}

/// Hand-written 8-D gradient: one pass over the 7 terms.
#[inline]
fn rosen8_grad_hand(x: [f64; 8]) -> [f64; 8] {
    let mut g = [0.0; 8];
    for i in 0..7 {
        let a = x[i + 1] - x[i] * x[i];
        g[i] += -400.0 * a * x[i] - 2.0 * (1.0 - x[i]);
        g[i + 1] += 200.0 * a;
    }
    g
}

#[inline]
fn rosen2_num_dual(x: f64, y: f64) -> (f64, f64) {
    let (_, g) = num_dual::gradient(
        |v: SVector<DualSVec64<2>, 2>| rosen_dual(v.as_slice()),
        &SVector::from([x, y]),
    );
    (g[0], g[1])
}

#[inline]
fn rosen8_num_dual(x: [f64; 8]) -> [f64; 8] {
    let (_, g) = num_dual::gradient(
        |v: SVector<DualSVec64<8>, 8>| rosen_dual(v.as_slice()),
        &SVector::from(x),
    );
    g.into()
}

fn points2() -> Vec<(f64, f64)> {
    (0..N)
        .map(|i| {
            let t = (i as f64 + 0.5) / N as f64;
            (-1.5 + 3.0 * t, 2.0 - 3.0 * (t * 7.0).fract())
        })
        .collect()
}

fn points8() -> Vec<[f64; 8]> {
    let v = values(8 * N, 11);
    v.chunks_exact(8)
        .map(|c| std::array::from_fn(|k| 1.5 * c[k]))
        .collect()
}

fn bench_rosen_small(c: &mut Criterion) {
    let ps = points2();
    for &(x, y) in &ps {
        let (hx, hy) = rosen2_grad_hand(x, y);
        let (ax, ay) = rosen2_grad(x, y);
        assert!(close(ax, hx) && close(ay, hy), "autodiff rosen2 at ({x}, {y})");
        let s = rosen2_sd_gradient(&[x, y]);
        assert!(close(s[0], hx) && close(s[1], hy), "symdiff rosen2 at ({x}, {y})");
        let (nx, ny) = rosen2_num_dual(x, y);
        assert!(close(nx, hx) && close(ny, hy), "num-dual rosen2 at ({x}, {y})");
        assert!(close(rosen2(x, y), rosen2_sd(&[x, y])));
    }
    let mut out2 = vec![(0.0f64, 0.0f64); N];
    let mut g = c.benchmark_group("rosenbrock2d_x1024");
    g.bench_function("primal", |b| {
        b.iter(|| {
            map_into(black_box(&ps), black_box(&mut out2), |(x, y)| {
                (rosen2(x, y), 0.0)
            })
        })
    });
    g.bench_function("autodiff _grad", |b| {
        b.iter(|| {
            map_into(black_box(&ps), black_box(&mut out2), |(x, y)| {
                rosen2_grad(x, y)
            })
        })
    });
    g.bench_function("hand", |b| {
        b.iter(|| {
            map_into(black_box(&ps), black_box(&mut out2), |(x, y)| {
                rosen2_grad_hand(x, y)
            })
        })
    });
    g.bench_function("symdiff", |b| {
        b.iter(|| {
            map_into(black_box(&ps), black_box(&mut out2), |(x, y)| {
                let s = rosen2_sd_gradient(&[x, y]);
                (s[0], s[1])
            })
        })
    });
    g.bench_function("num-dual gradient", |b| {
        b.iter(|| {
            map_into(black_box(&ps), black_box(&mut out2), |(x, y)| {
                rosen2_num_dual(x, y)
            })
        })
    });
    g.finish();

    let ps8 = points8();
    for &x in &ps8 {
        let h = rosen8_grad_hand(x);
        assert_slice_close("autodiff rosen8", &rosen8_grad(x), &h);
        assert_slice_close("symdiff rosen8", &rosen8_sd_gradient(&x), &h);
        assert_slice_close("num-dual rosen8", &rosen8_num_dual(x), &h);
        assert!(close(rosen8(x), rosen_dual::<f64>(&x)));
        assert!(close(rosen8(x), rosen8_sd(&x)));
    }
    let mut out8 = vec![[0.0f64; 8]; N];
    let mut g = c.benchmark_group("rosenbrock8d_x1024");
    g.bench_function("primal", |b| {
        b.iter(|| {
            map_into(black_box(&ps8), black_box(&mut out8), |x| {
                let mut o = [0.0; 8];
                o[0] = rosen8(x);
                o
            })
        })
    });
    g.bench_function("autodiff _grad", |b| {
        b.iter(|| map_into(black_box(&ps8), black_box(&mut out8), rosen8_grad))
    });
    g.bench_function("hand", |b| {
        b.iter(|| map_into(black_box(&ps8), black_box(&mut out8), rosen8_grad_hand))
    });
    g.bench_function("symdiff", |b| {
        b.iter(|| {
            map_into(black_box(&ps8), black_box(&mut out8), |x| {
                rosen8_sd_gradient(&x)
            })
        })
    });
    g.bench_function("num-dual gradient", |b| {
        b.iter(|| map_into(black_box(&ps8), black_box(&mut out8), rosen8_num_dual))
    });
    g.finish();
}

// =============================================================================================
// 3. Rosenbrock N-D with a loop over a slice.

#[differentiable]
fn rosen_n(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = 1 - x[i];
        s += 100 * a * a + b * b;
    }
    s
}

fn rosen_n_grad_hand(x: &[f64]) -> Vec<f64> {
    let mut g = vec![0.0; x.len()];
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = 1.0 - x[i];
        g[i] += -400.0 * a * x[i] - 2.0 * b;
        g[i + 1] += 200.0 * a;
    }
    g
}

fn bench_rosen_n(c: &mut Criterion) {
    let mut g = c.benchmark_group("rosenbrock_nd_loop");
    for n in [1000usize, 100_000] {
        let x: Vec<f64> = values(n, 21).iter().map(|v| 1.2 * v).collect();
        assert_slice_close("autodiff rosen_n", &rosen_n_grad(&x), &rosen_n_grad_hand(&x));
        assert!(close(rosen_n(&x), rosen_dual::<f64>(&x)));
        g.bench_with_input(BenchmarkId::new("primal", n), &x, |b, x| {
            b.iter(|| rosen_n(black_box(x)))
        });
        g.bench_with_input(BenchmarkId::new("autodiff _grad", n), &x, |b, x| {
            b.iter(|| rosen_n_grad(black_box(x)))
        });
        g.bench_with_input(BenchmarkId::new("hand", n), &x, |b, x| {
            b.iter(|| rosen_n_grad_hand(black_box(x)))
        });
    }
    g.finish();
}

// =============================================================================================
// 4. Hessian of Rosenbrock 2-D.

#[inline]
fn rosen2_hessian_hand(x: f64, y: f64) -> [[f64; 2]; 2] {
    let hxy = -400.0 * x;
    [[2.0 - 400.0 * (y - x * x) + 800.0 * x * x, hxy], [hxy, 200.0]]
}

#[inline]
fn rosen2_hessian_num_dual(x: f64, y: f64) -> [[f64; 2]; 2] {
    let (_, _, h) = num_dual::hessian(
        |v: SVector<Dual2SVec64<2>, 2>| rosen_dual(v.as_slice()),
        &SVector::from([x, y]),
    );
    [[h[(0, 0)], h[(0, 1)]], [h[(1, 0)], h[(1, 1)]]]
}

fn bench_hessian(c: &mut Criterion) {
    let ps = points2();
    for &(x, y) in &ps {
        let h = rosen2_hessian_hand(x, y);
        let a = rosen2_hessian(x, y);
        let n = rosen2_hessian_num_dual(x, y);
        assert_slice_close("autodiff hessian", a.as_flattened(), h.as_flattened());
        assert_slice_close("num-dual hessian", n.as_flattened(), h.as_flattened());
    }
    let mut out = vec![[[0.0f64; 2]; 2]; N];
    let mut g = c.benchmark_group("hessian_rosenbrock2d_x1024");
    g.bench_function("autodiff _hessian", |b| {
        b.iter(|| {
            map_into(black_box(&ps), black_box(&mut out), |(x, y)| {
                rosen2_hessian(x, y)
            })
        })
    });
    g.bench_function("hand", |b| {
        b.iter(|| {
            map_into(black_box(&ps), black_box(&mut out), |(x, y)| {
                rosen2_hessian_hand(x, y)
            })
        })
    });
    g.bench_function("num-dual hessian", |b| {
        b.iter(|| {
            map_into(black_box(&ps), black_box(&mut out), |(x, y)| {
                rosen2_hessian_num_dual(x, y)
            })
        })
    });
    g.finish();
}

// =============================================================================================
// 5. MLP loss gradient: batch 32, 16 -> 32 -> 1, sigmoid hidden layer, MSE.

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

/// Hand-written backprop with plain loops over slices (as in `benches/tensor.rs`).
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
        let dout = scale * (out - ys[b]);
        gb2 += dout;
        for k in 0..nh {
            gw2[k] += h[k] * dout;
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

/// candle-core has no `sigmoid` (it lives in candle-nn); composed as 1 / (1 + exp(-t)).
fn candle_sigmoid(t: &CTensor) -> candle_core::Result<CTensor> {
    (t.neg()?.exp()? + 1.0)?.recip()
}

struct CandleMlp {
    w1: Var,
    b1: Var,
    w2: Var,
    b2: Var,
    x: CTensor,
    y: CTensor,
}

impl CandleMlp {
    fn loss_grad(&self) -> candle_core::Result<GradStore> {
        let h = candle_sigmoid(&self.x.matmul(self.w1.as_tensor())?.broadcast_add(&self.b1)?)?;
        let out = h.matmul(self.w2.as_tensor())?.broadcast_add(&self.b2)?;
        let loss = (out - &self.y)?.sqr()?.mean_all()?;
        loss.backward()
    }
}

fn to_ctensor(t: &Tensor<f64>) -> CTensor {
    CTensor::from_vec(t.to_vec(), t.shape(), &Device::Cpu).unwrap()
}

fn to_var(t: &Tensor<f64>) -> Var {
    Var::from_tensor(&to_ctensor(t)).unwrap()
}

fn grad_vec(g: &GradStore, v: &CTensor) -> Vec<f64> {
    g.get(v)
        .expect("candle: no gradient")
        .flatten_all()
        .unwrap()
        .to_vec1::<f64>()
        .unwrap()
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
    assert_slice_close("autodiff mlp d/dw1", g1.as_slice(), h1.as_slice());
    assert_slice_close("autodiff mlp d/db1", g2.as_slice(), h2.as_slice());
    assert_slice_close("autodiff mlp d/dw2", g3.as_slice(), h3.as_slice());
    assert_slice_close("autodiff mlp d/db2", g4.as_slice(), h4.as_slice());

    let cm = CandleMlp {
        w1: to_var(&w1),
        b1: to_var(&b1),
        w2: to_var(&w2),
        b2: to_var(&b2),
        x: to_ctensor(&x),
        y: to_ctensor(&y),
    };
    let cg = cm.loss_grad().unwrap();
    assert_slice_close("candle mlp d/dw1", &grad_vec(&cg, cm.w1.as_tensor()), h1.as_slice());
    assert_slice_close("candle mlp d/db1", &grad_vec(&cg, cm.b1.as_tensor()), h2.as_slice());
    assert_slice_close("candle mlp d/dw2", &grad_vec(&cg, cm.w2.as_tensor()), h3.as_slice());
    assert_slice_close("candle mlp d/db2", &grad_vec(&cg, cm.b2.as_tensor()), h4.as_slice());

    let mut g = c.benchmark_group("mlp_32x16x32x1");
    g.bench_function("autodiff primal loss", |b| {
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
    g.bench_function("autodiff loss_grad", |b| {
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
    g.bench_function("candle-core backward", |b| {
        b.iter(|| black_box(&cm).loss_grad().unwrap())
    });
    g.finish();
}

// =============================================================================================
// 6. Seed broadcast: (x*y + y**2).sum(), x: [n], y: [n, 1].

#[rustfmt::skip]
#[differentiable]
fn seed(x: &Tensor<f64>, y: &Tensor<f64>) -> f64 {
    (x*y + y**2).sum()
}

/// Hand-written single fused pass over the [n, n] index (never stores an [n, n] value):
/// z[i][j] = x[j] y[i] + y[i]², ∂/∂x[j] = Σ_i y[i], ∂/∂y[i] = Σ_j (x[j] + 2 y[i]).
fn seed_grad_fused(x: &Tensor<f64>, y: &Tensor<f64>) -> (Tensor<f64>, Tensor<f64>) {
    let (xs, ys) = (x.as_slice(), y.as_slice());
    let mut gx = vec![0.0; xs.len()];
    let mut gy = vec![0.0; ys.len()];
    for (i, &yi) in ys.iter().enumerate() {
        let mut acc = 0.0;
        for (j, &xj) in xs.iter().enumerate() {
            gx[j] += yi;
            acc += xj + 2.0 * yi;
        }
        gy[i] = acc;
    }
    (Tensor::from_vec(gx, x.shape()), Tensor::from_vec(gy, y.shape()))
}

/// The closed form (O(n) after reducing by hand), for reference.
fn seed_grad_closed(x: &Tensor<f64>, y: &Tensor<f64>) -> (Tensor<f64>, Tensor<f64>) {
    let (xs, ys) = (x.as_slice(), y.as_slice());
    let sum_x: f64 = xs.iter().sum();
    let sum_y: f64 = ys.iter().sum();
    let m = xs.len() as f64;
    let gx = vec![sum_y; xs.len()];
    let gy = ys.iter().map(|&yi| sum_x + 2.0 * m * yi).collect();
    (Tensor::from_vec(gx, x.shape()), Tensor::from_vec(gy, y.shape()))
}

fn candle_seed_grad(x: &Var, y: &Var) -> candle_core::Result<GradStore> {
    let z = x.broadcast_mul(y)?.broadcast_add(&y.sqr()?)?;
    z.sum_all()?.backward()
}

fn bench_seed(c: &mut Criterion) {
    let mut g = c.benchmark_group("seed_broadcast");
    for n in [100usize, 1000] {
        let x = Tensor::from_vec(values(n, 1), &[n]);
        let y = Tensor::from_vec(values(n, 2), &[n, 1]);
        let (hx, hy) = seed_grad_fused(&x, &y);
        let (ax, ay) = seed_grad(&x, &y);
        assert_slice_close("autodiff seed d/dx", ax.as_slice(), hx.as_slice());
        assert_slice_close("autodiff seed d/dy", ay.as_slice(), hy.as_slice());
        let (cx, cy) = seed_grad_closed(&x, &y);
        assert_slice_close("closed seed d/dx", cx.as_slice(), hx.as_slice());
        assert_slice_close("closed seed d/dy", cy.as_slice(), hy.as_slice());
        let (vx, vy) = (to_var(&x), to_var(&y));
        let cg = candle_seed_grad(&vx, &vy).unwrap();
        assert_slice_close("candle seed d/dx", &grad_vec(&cg, vx.as_tensor()), hx.as_slice());
        assert_slice_close("candle seed d/dy", &grad_vec(&cg, vy.as_tensor()), hy.as_slice());

        if n >= 1000 {
            g.sampling_mode(SamplingMode::Flat);
        }
        g.bench_with_input(BenchmarkId::new("autodiff primal", n), &n, |b, _| {
            b.iter(|| seed(black_box(&x), black_box(&y)))
        });
        g.bench_with_input(BenchmarkId::new("autodiff seed_grad", n), &n, |b, _| {
            b.iter(|| seed_grad(black_box(&x), black_box(&y)))
        });
        g.bench_with_input(BenchmarkId::new("hand fused pass", n), &n, |b, _| {
            b.iter(|| seed_grad_fused(black_box(&x), black_box(&y)))
        });
        g.bench_with_input(BenchmarkId::new("hand closed form", n), &n, |b, _| {
            b.iter(|| seed_grad_closed(black_box(&x), black_box(&y)))
        });
        g.bench_with_input(BenchmarkId::new("candle-core backward", n), &n, |b, _| {
            b.iter(|| candle_seed_grad(black_box(&vx), black_box(&vy)).unwrap())
        });
    }
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
    targets = bench_poly, bench_rosen_small, bench_rosen_n, bench_hessian, bench_mlp, bench_seed
}
criterion_main!(benches);
