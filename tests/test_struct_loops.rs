//! Struct models whose layers sit in a `Vec` field, indexed with a loop variable
//! (`self.layers[i]`), checked against hand formulas and central differences.

use autodiff::{differentiable, Differentiable, Tensor};

#[derive(Clone, Debug, Differentiable)]
struct Layer {
    w: Tensor<f64>,
    b: Tensor<f64>,
}

impl Layer {
    #[differentiable]
    fn forward(&self, x: &Tensor<f64>) -> Tensor<f64> {
        x.matmul(&self.w) + &self.b
    }
}

#[derive(Clone, Debug, Differentiable)]
struct Stack {
    layers: Vec<Layer>,
    classes: usize,
}

impl Stack {
    #[rustfmt::skip]
    #[differentiable(wrt(self))]
    fn loss(&self, x: &Tensor<f64>) -> f64 {
        let mut h = self.layers[0].forward(x).tanh();
        for i in 1..self.layers.len() {
            h = self.layers[i].forward(&h).tanh();
        }
        (h**2).sum()
    }
}

impl Stack {
    /// The same network, reading each layer's fields in the loop.
    #[rustfmt::skip]
    #[differentiable(wrt(self))]
    fn loss_fields(&self, x: &Tensor<f64>) -> f64 {
        let mut h = x.clone();
        for i in 0..self.layers.len() {
            h = (h.matmul(&self.layers[i].w) + &self.layers[i].b).tanh();
        }
        (h**2).sum() / self.classes as f64
    }
}

/// Layers in a fixed array, scalar weights.
#[derive(Clone, Debug, Differentiable)]
struct Scalars {
    a: f64,
    cells: [Unit; 3],
}

#[derive(Clone, Debug, Differentiable)]
struct Unit {
    w: f64,
    b: f64,
}

impl Scalars {
    #[rustfmt::skip]
    #[differentiable]
    fn run(&self, x: f64) -> f64 {
        let mut h = x * self.a;
        for i in 0..3 {
            h = (self.cells[i].w * h + self.cells[i].b).sin();
        }
        h**2
    }
}

fn stack() -> Stack {
    let mk = |n: usize, m: usize, s: f64| Layer {
        w: Tensor::from_vec(
            (0..n * m).map(|k| ((k as f64 + s) * 0.37).sin()).collect(),
            &[n, m],
        ),
        b: Tensor::from_vec(
            (0..m)
                .map(|k| ((k as f64 - s) * 0.21).cos() * 0.1)
                .collect(),
            &[m],
        ),
    };
    Stack {
        layers: vec![mk(2, 3, 0.5), mk(3, 3, 1.5), mk(3, 1, 2.5)],
        classes: 3,
    }
}

fn central<D: Differentiable<Scalar = f64>>(m: &D, f: impl Fn(&D) -> f64) -> Vec<f64> {
    let flat = m.to_flat();
    (0..flat.len())
        .map(|k| {
            let h = 1e-6;
            let (mut a, mut b) = (flat.clone(), flat.clone());
            a[k] += h;
            b[k] -= h;
            (f(&m.from_flat(&a)) - f(&m.from_flat(&b))) / (2.0 * h)
        })
        .collect()
}

#[test]
fn loop_over_vec_of_layers() {
    let m = stack();
    let x = Tensor::from_vec(vec![0.3, -0.7, 1.1, 0.2], &[2, 2]);
    let g = m.loss_grad(&x);
    let fd = central(&m, |m| m.loss(&x));
    let flat = g.to_flat();
    assert_eq!(flat.len(), fd.len());
    for (a, b) in flat.iter().zip(&fd) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
}

fn assert_close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len());
    for (k, (a, b)) in got.iter().zip(want).enumerate() {
        assert!((a - b).abs() < tol, "entry {k}: {a} vs {b}");
    }
}

#[test]
fn loop_reads_fields_of_each_layer() {
    let m = stack();
    let x = Tensor::from_vec(vec![0.3, -0.7, 1.1, 0.2], &[2, 2]);
    let (v, g) = m.loss_fields_value_and_grad(&x);
    assert!((v - m.loss_fields(&x)).abs() < 1e-15);
    assert_close(&g.to_flat(), &central(&m, |m| m.loss_fields(&x)), 1e-6);
    // The constant field is copied into the gradient.
    assert_eq!(g.classes, 3);
    assert_eq!(g.layers.len(), 3);
    // vjp with cotangent 2 is twice the gradient.
    let g2 = m.loss_fields_vjp(&x, 2.0);
    let twice: Vec<f64> = g.to_flat().iter().map(|v| 2.0 * v).collect();
    assert_close(&g2.to_flat(), &twice, 1e-12);
}

#[test]
fn loop_over_array_of_cells_matches_the_chain_rule() {
    let m = Scalars {
        a: 0.8,
        cells: [
            Unit { w: 0.5, b: 0.1 },
            Unit { w: -1.2, b: 0.3 },
            Unit { w: 0.9, b: -0.2 },
        ],
    };
    let x = 0.7;
    let (g, gx) = m.run_grad(x);
    // By hand: h0 = a x, h_{i+1} = sin(w_i h_i + b_i), out = h3².
    let mut h = vec![m.a * x];
    for c in &m.cells {
        let last = *h.last().unwrap();
        h.push((c.w * last + c.b).sin());
    }
    let mut d = 2.0 * h[3];
    let mut want = [[0.0; 2]; 3];
    for i in (0..3).rev() {
        let c = &m.cells[i];
        let z = c.w * h[i] + c.b;
        let dz = d * z.cos();
        want[i] = [dz * h[i], dz];
        d = dz * c.w;
    }
    let da = d * x;
    let dx = d * m.a;
    assert!((gx - dx).abs() < 1e-12);
    assert!((g.a - da).abs() < 1e-12);
    for (cell, [w, b]) in g.cells.iter().zip(want) {
        assert!((cell.w - w).abs() < 1e-12);
        assert!((cell.b - b).abs() < 1e-12);
    }
    assert_close(&g.to_flat(), &central(&m, |m| m.run(x)), 1e-7);
    let fd_x = (m.run(x + 1e-6) - m.run(x - 1e-6)) / 2e-6;
    assert!((gx - fd_x).abs() < 1e-7);
}

/// A `Vec<f64>` field indexed with the loop variable.
#[derive(Clone, Debug, Differentiable)]
struct Poly {
    w: Vec<f64>,
}

impl Poly {
    #[differentiable(wrt(self))]
    fn eval(&self, x: f64) -> f64 {
        let mut s = 0.0;
        for i in 0..self.w.len() {
            s += self.w[i] * x.powi(i as i32);
        }
        s
    }
}

#[test]
fn loop_over_a_vec_of_floats() {
    let p = Poly {
        w: vec![1.0, -2.0, 0.5, 3.0],
    };
    let g = p.eval_grad(1.5);
    assert_close(&g.w, &[1.0, 1.5, 2.25, 3.375], 1e-12);
    assert_close(&g.to_flat(), &central(&p, |p| p.eval(1.5)), 1e-6);
}

/// One collection read in two loops: each loop's gradient of it is added.
#[derive(Clone, Debug, Differentiable)]
struct Twice {
    cells: Vec<Unit>,
}

impl Twice {
    #[differentiable]
    fn run(&self, x: f64) -> f64 {
        let mut h = x;
        for i in 0..self.cells.len() {
            h = (self.cells[i].w * h).sin();
        }
        for i in 0..self.cells.len() {
            h = h + self.cells[i].b * h;
        }
        h
    }
}

#[test]
fn one_collection_read_in_two_loops() {
    let m = Twice {
        cells: vec![Unit { w: 0.5, b: 0.1 }, Unit { w: 1.5, b: -0.2 }],
    };
    let (g, gx) = m.run_grad(0.3);
    assert_close(&g.to_flat(), &central(&m, |m| m.run(0.3)), 1e-7);
    let fd_x = (m.run(0.3 + 1e-6) - m.run(0.3 - 1e-6)) / 2e-6;
    assert!((gx - fd_x).abs() < 1e-7);
}

#[derive(Clone, Debug, Differentiable)]
struct RnnCell {
    w: Tensor<f64>,
}

impl RnnCell {
    #[differentiable(wrt(self, x))]
    fn step(&self, x: &Tensor<f64>) -> Tensor<f64> {
        x.matmul(&self.w).tanh()
    }
}

#[derive(Clone, Debug, Differentiable)]
struct Recurrent {
    cell: RnnCell,
    c: f64,
}

impl Recurrent {
    /// The same cell applied in every iteration: its gradient sums over the iterations.
    #[differentiable(wrt(self))]
    fn run(&self, x: &Tensor<f64>) -> f64 {
        let mut h = self.cell.step(x);
        for _ in 0..3 {
            h = self.cell.step(&h);
        }
        h.sum() * self.c
    }
}

#[test]
fn a_shared_cell_called_in_a_loop() {
    let m = Recurrent {
        cell: RnnCell {
            w: Tensor::from_vec(vec![0.5, 0.1, -0.2, 0.3], &[2, 2]),
        },
        c: 0.9,
    };
    let x = Tensor::from_vec(vec![1.0, 2.0], &[1, 2]);
    let g = m.run_grad(&x);
    let want = central(&m, |m| m.run(&x));
    assert_close(&g.to_flat(), &want, 1e-7);
}
