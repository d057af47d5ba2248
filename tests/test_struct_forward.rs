//! Forward-mode items of struct models: `_jvp` and `_hvp` take tangents of each
//! differentiated input's own type (a struct tangent for `&self`), `_jacobian` of a float
//! result is the gradient. Checked against hand formulas and central differences.

use autodiff::{differentiable, Differentiable, Tensor};

#[derive(Clone, Debug, Differentiable)]
struct Lin {
    w: Tensor<f64>,
    b: f64,
}

impl Lin {
    #[differentiable]
    fn fwd(&self, x: &Tensor<f64>, s: f64) -> f64 {
        (x.matmul(&self.w) * s).sum() + self.b * s
    }

    #[rustfmt::skip]
    #[differentiable(wrt(self))]
    fn energy(&self, x: &Tensor<f64>) -> f64 {
        (x.matmul(&self.w).tanh()**2).sum() + self.b**3
    }
}

#[derive(Clone, Debug, Differentiable)]
struct Pair {
    a: f64,
    b: f64,
}

#[differentiable(wrt(p, x))]
fn pair_fn(p: &Pair, x: f64) -> f64 {
    p.a * x.sin() + p.b * p.a * x
}

fn lin() -> Lin {
    Lin {
        w: Tensor::from_vec(vec![0.4, -0.9], &[2, 1]),
        b: 0.5,
    }
}

#[test]
fn jvp_of_a_method_matches_the_hand_formula() {
    let l = lin();
    let x = Tensor::from_vec(vec![3.0, 4.0], &[1, 2]);
    let t = Lin {
        w: Tensor::from_vec(vec![1.0, 2.0], &[2, 1]),
        b: -1.0,
    };
    let tx = Tensor::from_vec(vec![0.5, 0.25], &[1, 2]);
    let (v, d) = l.fwd_jvp(&x, 2.0, &t, &tx, 3.0);
    assert!((v - l.fwd(&x, 2.0)).abs() < 1e-15);
    // d = s (tx·w + x·tw) + ts (x·w) + tb s + b ts
    let xw = 3.0 * 0.4 - 4.0 * 0.9;
    let want = 2.0 * ((0.5 * 0.4 - 0.25 * 0.9) + (3.0 + 8.0)) + 3.0 * xw - 2.0 + 0.5 * 3.0;
    assert!((d - want).abs() < 1e-12, "{d} vs {want}");
    // Against the gradient: d = <grad, tangent>.
    let (g, gx, gs) = l.fwd_grad(&x, 2.0);
    let dot = g
        .to_flat()
        .iter()
        .zip(t.to_flat())
        .map(|(a, b)| a * b)
        .sum::<f64>()
        + gx.as_slice()
            .iter()
            .zip(tx.as_slice())
            .map(|(a, b)| a * b)
            .sum::<f64>()
        + gs * 3.0;
    assert!((d - dot).abs() < 1e-12);
}

#[test]
fn hvp_of_a_method_matches_central_differences_of_the_gradient() {
    let l = lin();
    let x = Tensor::from_vec(vec![0.3, -0.6], &[1, 2]);
    let v = Lin {
        w: Tensor::from_vec(vec![0.7, -0.2], &[2, 1]),
        b: 0.9,
    };
    let hv = l.energy_hvp(&x, &v);
    let e = 1e-6;
    let mut up = l.clone();
    up.scaled_add(e, &v);
    let mut down = l.clone();
    down.scaled_add(-e, &v);
    let (gu, gd) = (up.energy_grad(&x).to_flat(), down.energy_grad(&x).to_flat());
    for (k, h) in hv.to_flat().iter().enumerate() {
        let fd = (gu[k] - gd[k]) / (2.0 * e);
        assert!((h - fd).abs() < 1e-6, "entry {k}: {h} vs {fd}");
    }
    // b only meets itself: (b³)'' v_b = 6 b v_b.
    assert!((hv.b - 6.0 * 0.5 * 0.9).abs() < 1e-12);
    // jvp along v is <grad, v>.
    let (_, d) = l.energy_jvp(&x, &v);
    let g = l.energy_grad(&x);
    let dot: f64 = g
        .to_flat()
        .iter()
        .zip(v.to_flat())
        .map(|(a, b)| a * b)
        .sum();
    assert!((d - dot).abs() < 1e-12);
}

#[test]
fn jacobian_of_a_float_result_is_the_gradient() {
    let l = lin();
    let x = Tensor::from_vec(vec![0.3, -0.6], &[1, 2]);
    let j = l.energy_jacobian(&x);
    let g = l.energy_grad(&x);
    assert_eq!(j.to_flat(), g.to_flat());
}

#[test]
fn forward_items_of_a_free_function_with_a_struct_parameter() {
    let p = Pair { a: 1.5, b: -0.5 };
    let x = 0.8;
    let tp = Pair { a: 0.3, b: 2.0 };
    let (v, d) = pair_fn_jvp(&p, x, &tp, 0.7);
    assert!((v - pair_fn(&p, x)).abs() < 1e-15);
    let want =
        tp.a * x.sin() + p.a * x.cos() * 0.7 + tp.b * p.a * x + p.b * tp.a * x + p.b * p.a * 0.7;
    assert!((d - want).abs() < 1e-12);
    let (hp, hx) = pair_fn_hvp(&p, x, &tp, 0.7);
    // Rows of the Hessian over (a, b, x) times (0.3, 2.0, 0.7).
    let (a, b) = (p.a, p.b);
    let h = [
        [0.0, x, x.cos() + b],
        [x, 0.0, a],
        [x.cos() + b, a, -a * x.sin()],
    ];
    let t = [0.3, 2.0, 0.7];
    let row = |i: usize| (0..3).map(|j| h[i][j] * t[j]).sum::<f64>();
    assert!((hp.a - row(0)).abs() < 1e-12);
    assert!((hp.b - row(1)).abs() < 1e-12);
    assert!((hx - row(2)).abs() < 1e-12);
}

#[derive(Clone, Debug, Differentiable)]
struct Two {
    l: Lin,
    c: f64,
}

impl Two {
    /// A float field passed by value to a differentiable method.
    #[differentiable(wrt(self))]
    fn top(&self, x: &Tensor<f64>) -> f64 {
        self.l.fwd(x, self.c)
    }
}

#[test]
fn a_float_field_passed_by_value_to_a_method() {
    let m = Two { l: lin(), c: 2.0 };
    let x = Tensor::from_vec(vec![3.0, 4.0], &[1, 2]);
    let g = m.top_grad(&x);
    let xw = 3.0 * 0.4 - 4.0 * 0.9;
    // ∂/∂c = x·w + b; ∂/∂w = c xᵀ; ∂/∂b = c.
    assert!((g.c - (xw + 0.5)).abs() < 1e-12);
    assert_eq!(g.l.w.as_slice(), &[6.0, 8.0]);
    assert!((g.l.b - 2.0).abs() < 1e-12);
}
