//! `_hessian` of struct models whose leaves are scalar floats: a `Vec<Vec<T>>` over the flat
//! parameters (`to_flat` order), checked against hand formulas and central differences of
//! the gradient.

use autodiff::{differentiable, Differentiable};

#[derive(Clone, Debug, Differentiable)]
struct Quad {
    a: f64,
    b: f64,
    steps: usize,
    c: f64,
    #[autodiff(skip)]
    scale: f64,
}

impl Quad {
    /// Reads `c` before `a`: the Hessian still follows field order. `scale` is read but
    /// constant: it has no row.
    #[rustfmt::skip]
    #[differentiable]
    fn f(&self, x: f64) -> f64 {
        self.c * x + self.a * self.b**2 * x**2 + (self.a * x).sin() + 0.0 * self.scale
    }

    #[differentiable(wrt(self))]
    fn g(&self, x: f64) -> f64 {
        self.a * self.a * x
    }
}

#[derive(Clone, Debug, Differentiable)]
struct Inner {
    w: f64,
}

#[derive(Clone, Debug, Differentiable)]
struct Outer {
    inner: Inner,
    v: [f64; 2],
}

#[differentiable(wrt(m))]
fn energy(m: &Outer, x: f64) -> f64 {
    m.inner.w * m.v[0] * x + m.v[1].powi(3)
}

fn assert_close(got: &[Vec<f64>], want: &[Vec<f64>], tol: f64) {
    assert_eq!(got.len(), want.len());
    for (i, (r, s)) in got.iter().zip(want).enumerate() {
        assert_eq!(r.len(), s.len());
        for (j, (a, b)) in r.iter().zip(s).enumerate() {
            assert!((a - b).abs() < tol, "H[{i}][{j}]: {a} vs {b}");
        }
    }
}

#[test]
fn hessian_of_a_method_with_scalar_leaves() {
    let q = Quad {
        a: 0.7,
        b: -1.3,
        steps: 4,
        c: 2.0,
        scale: 5.0,
    };
    let x = 0.9;
    // Flat parameters: a, b, c (to_flat order), then x.
    let h = q.f_hessian(x);
    let (a, b) = (q.a, q.b);
    let s = (a * x).sin();
    let co = (a * x).cos();
    let want = vec![
        vec![
            -x * x * s,
            2.0 * b * x * x,
            0.0,
            2.0 * b * b * x + co - a * x * s,
        ],
        vec![2.0 * b * x * x, 2.0 * a * x * x, 0.0, 4.0 * a * b * x],
        vec![0.0, 0.0, 0.0, 1.0],
        vec![
            2.0 * b * b * x + co - a * x * s,
            4.0 * a * b * x,
            1.0,
            2.0 * a * b * b - a * a * s,
        ],
    ];
    assert_close(&h, &want, 1e-12);
    // Central differences of the gradient.
    let grad = |q: &Quad, x: f64| {
        let (g, gx) = q.f_grad(x);
        let mut v = g.to_flat();
        v.push(gx);
        v
    };
    let flat = q.to_flat();
    let e = 1e-6;
    let mut fd = vec![vec![0.0; 4]; 4];
    for j in 0..4 {
        let (up, down) = if j < 3 {
            let (mut u, mut d) = (flat.clone(), flat.clone());
            u[j] += e;
            d[j] -= e;
            (grad(&q.from_flat(&u), x), grad(&q.from_flat(&d), x))
        } else {
            (grad(&q, x + e), grad(&q, x - e))
        };
        for i in 0..4 {
            fd[i][j] = (up[i] - down[i]) / (2.0 * e);
        }
    }
    assert_close(&h, &fd, 1e-6);
    assert_eq!(q.steps, 4);
}

#[test]
fn hessian_with_respect_to_self_only() {
    let q = Quad {
        a: 1.5,
        b: 2.0,
        steps: 1,
        c: 0.0,
        scale: 5.0,
    };
    // Only `a` is read: d²/da² (a² x) = 2x; b and c have zero rows.
    let h = q.g_hessian(3.0);
    assert_close(
        &h,
        &[
            vec![6.0, 0.0, 0.0],
            vec![0.0, 0.0, 0.0],
            vec![0.0, 0.0, 0.0],
        ],
        1e-12,
    );
}

#[test]
fn hessian_of_a_free_function_with_nested_struct_and_array_leaves() {
    let m = Outer {
        inner: Inner { w: 0.5 },
        v: [2.0, -1.5],
    };
    let x = 1.2;
    // Flat: w, v0, v1.
    let h = energy_hessian(&m, x);
    let want = vec![
        vec![0.0, x, 0.0],
        vec![x, 0.0, 0.0],
        vec![0.0, 0.0, 6.0 * m.v[1]],
    ];
    assert_close(&h, &want, 1e-12);
}
