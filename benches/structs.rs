//! Struct models against the same models written with flat parameters: the gradient of a
//! `#[derive(Differentiable)]` model through `#[differentiable]` methods should cost what the
//! flat-parameter function costs (BENCHMARKS.md, "Models as structs").
//!
//! Before timing, the setup asserts that both give the same gradient.

use std::hint::black_box;
use std::time::Duration;

use autodiff::{differentiable, Differentiable, Tensor};
use criterion::{criterion_group, BenchmarkId, Criterion};

// ---------------------------------------------------------------------------------------------
// (a) A two-layer tanh MLP with a mean squared error.

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Linear {
    w: Tensor<f64>,
    b: Tensor<f64>,
}

impl Linear {
    #[differentiable]
    fn forward(&self, x: &Tensor<f64>) -> Tensor<f64> {
        x.matmul(&self.w) + &self.b
    }
}

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Mlp {
    l1: Linear,
    l2: Linear,
}

impl Mlp {
    /// Layers as method calls.
    #[rustfmt::skip]
    #[differentiable(wrt(self))]
    fn loss(&self, x: &Tensor<f64>, y: &Tensor<f64>) -> f64 {
        let h = self.l1.forward(x).tanh();
        ((self.l2.forward(&h) - y)**2).mean()
    }

    /// One body reading the fields.
    #[rustfmt::skip]
    #[differentiable(wrt(self))]
    fn loss_inline(&self, x: &Tensor<f64>, y: &Tensor<f64>) -> f64 {
        let h = (x.matmul(&self.l1.w) + &self.l1.b).tanh();
        ((h.matmul(&self.l2.w) + &self.l2.b - y)**2).mean()
    }
}

/// The flat model's layer: the same call structure as `Mlp::loss`.
#[differentiable]
fn linear_flat(w: &Tensor<f64>, b: &Tensor<f64>, x: &Tensor<f64>) -> Tensor<f64> {
    x.matmul(w) + b
}

#[rustfmt::skip]
#[differentiable(wrt(w1, b1, w2, b2))]
fn mlp_flat_layers(
    w1: &Tensor<f64>,
    b1: &Tensor<f64>,
    w2: &Tensor<f64>,
    b2: &Tensor<f64>,
    x: &Tensor<f64>,
    y: &Tensor<f64>,
) -> f64 {
    let h = linear_flat(&w1, &b1, &x).tanh();
    ((linear_flat(&w2, &b2, &h) - y)**2).mean()
}

#[rustfmt::skip]
#[differentiable(wrt(w1, b1, w2, b2))]
fn mlp_flat(
    w1: &Tensor<f64>,
    b1: &Tensor<f64>,
    w2: &Tensor<f64>,
    b2: &Tensor<f64>,
    x: &Tensor<f64>,
    y: &Tensor<f64>,
) -> f64 {
    let h = (x.matmul(w1) + b1).tanh();
    ((h.matmul(w2) + b2 - y)**2).mean()
}

fn tensor(rows: usize, cols: usize, seed: u64) -> Tensor<f64> {
    let mut s = seed;
    let data = (0..rows * cols)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        })
        .collect();
    Tensor::from_vec(data, &[rows, cols])
}

fn mlp(c: &mut Criterion) {
    let mut group = c.benchmark_group("struct_mlp");
    for &(batch, hidden) in &[(16usize, 8usize), (64, 32), (256, 128)] {
        let m = Mlp {
            l1: Linear {
                w: tensor(4, hidden, 1),
                b: tensor(1, hidden, 2).reshape(&[hidden]),
            },
            l2: Linear {
                w: tensor(hidden, 1, 3),
                b: tensor(1, 1, 4).reshape(&[1]),
            },
        };
        let x = tensor(batch, 4, 5);
        let y = tensor(batch, 1, 6);
        let (w1, b1, w2, b2) = mlp_flat_grad(&m.l1.w, &m.l1.b, &m.l2.w, &m.l2.b, &x, &y);
        let want = Mlp {
            l1: Linear { w: w1, b: b1 },
            l2: Linear { w: w2, b: b2 },
        }
        .to_flat();
        let same = |g: Mlp| {
            for (p, q) in g.to_flat().iter().zip(&want) {
                assert!((p - q).abs() <= 1e-12 * (1.0 + q.abs()), "{p} vs {q}");
            }
        };
        same(m.loss_grad(&x, &y));
        same(m.loss_inline_grad(&x, &y));
        let (a, b, c, d) = mlp_flat_layers_grad(&m.l1.w, &m.l1.b, &m.l2.w, &m.l2.b, &x, &y);
        same(Mlp {
            l1: Linear { w: a, b },
            l2: Linear { w: c, b: d },
        });
        let id = format!("{batch}x{hidden}");
        group.bench_with_input(BenchmarkId::new("struct_methods", &id), &(), |b, _| {
            b.iter(|| black_box(&m).loss_grad(black_box(&x), black_box(&y)))
        });
        group.bench_with_input(BenchmarkId::new("flat_functions", &id), &(), |b, _| {
            b.iter(|| {
                let m = black_box(&m);
                let (x, y) = (black_box(&x), black_box(&y));
                mlp_flat_layers_grad(&m.l1.w, &m.l1.b, &m.l2.w, &m.l2.b, x, y)
            })
        });
        group.bench_with_input(BenchmarkId::new("struct_inline", &id), &(), |b, _| {
            b.iter(|| black_box(&m).loss_inline_grad(black_box(&x), black_box(&y)))
        });
        group.bench_with_input(BenchmarkId::new("flat_inline", &id), &(), |b, _| {
            b.iter(|| {
                let m = black_box(&m);
                let (x, y) = (black_box(&x), black_box(&y));
                mlp_flat_grad(&m.l1.w, &m.l1.b, &m.l2.w, &m.l2.b, x, y)
            })
        });
    }
    group.finish();
}

// ---------------------------------------------------------------------------------------------
// (b) A scalar model: no allocation at all on either side.

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Quadratic {
    a: f64,
    b: f64,
    c: f64,
}

impl Quadratic {
    #[rustfmt::skip]
    #[differentiable(wrt(self))]
    fn loss(&self, x: f64, y: f64) -> f64 {
        (self.a * x**2 + self.b * x + self.c - y)**2
    }
}

#[rustfmt::skip]
#[differentiable(wrt(a, b, c))]
fn quadratic_flat(a: f64, b: f64, c: f64, x: f64, y: f64) -> f64 {
    (a * x**2 + b * x + c - y)**2
}

fn scalar(c: &mut Criterion) {
    let q = Quadratic {
        a: 0.5,
        b: -1.25,
        c: 2.0,
    };
    let g = q.loss_grad(1.5, 0.25);
    assert_eq!(
        (g.a, g.b, g.c),
        quadratic_flat_grad(q.a, q.b, q.c, 1.5, 0.25)
    );
    let mut group = c.benchmark_group("struct_scalar");
    group.bench_function("struct", |b| {
        b.iter(|| black_box(&q).loss_grad(black_box(1.5), black_box(0.25)))
    });
    group.bench_function("flat", |b| {
        b.iter(|| {
            let q = black_box(&q);
            quadratic_flat_grad(q.a, q.b, q.c, black_box(1.5), black_box(0.25))
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = mlp, scalar
}

/// `AUTODIFF_STRUCTS_ONLY=<variant> <bench binary>` runs one variant 1000 times on the 64x32
/// case and exits, for counting instructions (`valgrind --tool=callgrind`), which the shared
/// machine does not disturb the way it disturbs timings.
fn fixed_run(variant: &str) {
    let (batch, hidden) = (64, 32);
    let m = Mlp {
        l1: Linear {
            w: tensor(4, hidden, 1),
            b: tensor(1, hidden, 2).reshape(&[hidden]),
        },
        l2: Linear {
            w: tensor(hidden, 1, 3),
            b: tensor(1, 1, 4).reshape(&[1]),
        },
    };
    let (x, y) = (tensor(batch, 4, 5), tensor(batch, 1, 6));
    let q = Quadratic {
        a: 0.5,
        b: -1.25,
        c: 2.0,
    };
    for _ in 0..1000 {
        let m = black_box(&m);
        let (x, y) = (black_box(&x), black_box(&y));
        match variant {
            "struct_methods" => drop(black_box(m.loss_grad(x, y))),
            "flat_functions" => drop(black_box(mlp_flat_layers_grad(
                &m.l1.w, &m.l1.b, &m.l2.w, &m.l2.b, x, y,
            ))),
            "struct_inline" => drop(black_box(m.loss_inline_grad(x, y))),
            "flat_inline" => drop(black_box(mlp_flat_grad(
                &m.l1.w, &m.l1.b, &m.l2.w, &m.l2.b, x, y,
            ))),
            "scalar_struct" => drop(black_box(black_box(&q).loss_grad(1.5, 0.25))),
            "scalar_flat" => {
                let q = black_box(&q);
                black_box(quadratic_flat_grad(q.a, q.b, q.c, 1.5, 0.25));
            }
            "none" => {}
            other => panic!("unknown variant `{other}`"),
        }
    }
}

fn main() {
    if let Ok(variant) = std::env::var("AUTODIFF_STRUCTS_ONLY") {
        fixed_run(&variant);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
