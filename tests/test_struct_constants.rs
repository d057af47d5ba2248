//! Integer fields of a model read as arguments of calls that take integers
//! (`Tensor::one_hot(y, self.classes)`, `x.powi(self.k)`) are
//! constants, not differentiated leaves; the gradient holds a copy of them.

use autodiff::{differentiable, tensor, Differentiable, Tensor};

#[derive(Clone, Debug, Differentiable)]
struct Classifier {
    w: Tensor<f64>,
    classes: usize,
    axis: usize,
}

impl Classifier {
    /// Cross-entropy of a linear classifier.
    #[differentiable(wrt(self))]
    fn loss(&self, x: &Tensor<f64>, y: &[usize]) -> f64 {
        let targets = Tensor::one_hot(y, self.classes);
        let logp = x.matmul(&self.w).log_softmax(1);
        -(logp * targets).sum() / y.len() as f64
    }
}

#[derive(Clone, Debug, Differentiable)]
struct Power {
    a: f64,
    k: i32,
}

impl Power {
    #[differentiable]
    fn f(&self, x: f64) -> f64 {
        self.a * x.powi(self.k)
    }
}

fn central<D: Differentiable<Scalar = f64>>(m: &D, f: impl Fn(&D) -> f64) -> Vec<f64> {
    let flat = m.to_flat();
    (0..flat.len())
        .map(|k| {
            let (mut a, mut b) = (flat.clone(), flat.clone());
            a[k] += 1e-6;
            b[k] -= 1e-6;
            (f(&m.from_flat(&a)) - f(&m.from_flat(&b))) / 2e-6
        })
        .collect()
}

#[test]
fn one_hot_from_an_integer_field() {
    let m = Classifier {
        w: Tensor::from_vec(vec![0.2, -0.4, 0.7, 0.1, 0.5, -0.3], &[2, 3]),
        classes: 3,
        axis: 1,
    };
    let x = Tensor::from_vec(vec![1.0, 0.5, -0.3, 2.0], &[2, 2]);
    let y = [2usize, 0];
    let g = m.loss_grad(&x, &y);
    assert_eq!((g.classes, g.axis), (3, 1));
    assert_eq!(g.num_params(), 6);
    // By hand: dL/dw = xᵀ (softmax(xw) - onehot) / n.
    let z = x.matmul(&m.w);
    let p = z.softmax(1);
    let d = (p - Tensor::one_hot(&y, 3)) / 2.0;
    let want = x.transpose().matmul(&d);
    for (a, b) in g.w.as_slice().iter().zip(want.as_slice()) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
    for (a, b) in g.to_flat().iter().zip(central(&m, |m| m.loss(&x, &y))) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
}

#[test]
fn integer_exponent_field() {
    let m = Power { a: 1.5, k: 3 };
    let (g, gx) = m.f_grad(2.0);
    assert_eq!(g.k, 3);
    assert!((g.a - 8.0).abs() < 1e-12);
    assert!((gx - 1.5 * 3.0 * 4.0).abs() < 1e-12);
}

#[derive(Clone, Debug, Differentiable)]
struct Frozen {
    w: Tensor<f64>,
    c: f64,
}

/// A constant struct (not in `wrt`) whose tensor field is read by reference.
#[differentiable]
fn with_frozen(m: &Frozen, x: &Tensor<f64>) -> f64 {
    (&m.w * x).sum() * m.c
}

impl Frozen {
    /// `self` differentiated, `other` a constant of the same type.
    #[differentiable(wrt(self))]
    fn dist(&self, other: &Frozen) -> f64 {
        ((&self.w - &other.w) * (&self.w - &other.w)).sum()
    }
}

#[test]
fn a_constant_struct_with_a_tensor_field() {
    let m = Frozen {
        w: tensor![1.0, 2.0],
        c: 0.5,
    };
    let x = tensor![3.0, -1.0];
    // ∂/∂x of c Σ w x = c w.
    assert_eq!(with_frozen_grad(&m, &x).to_vec(), vec![0.5, 1.0]);
    let other = Frozen {
        w: tensor![0.5, 3.0],
        c: 9.0,
    };
    // ∂/∂w Σ (w - v)² = 2 (w - v); `c` is a float leaf the distance does not read.
    let g = m.dist_grad(&other);
    assert_eq!(g.w.to_vec(), vec![1.0, -2.0]);
    assert_eq!(g.c, 0.0);
}
