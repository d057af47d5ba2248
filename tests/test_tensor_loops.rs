//! Tensors carried through loops (`let mut h = x.clone(); for .. { h = h.tanh(); }`), the way a
//! stack of layers is written: every generated item, against hand formulas and central
//! differences.

use autodiff::{differentiable, tensor, Tensor};

const H: f64 = 1e-6;

#[track_caller]
fn assert_close(a: f64, b: f64, tol: f64) {
    assert!(
        (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs())),
        "{a} vs {b}"
    );
}

/// Two `tanh` layers from a borrowed tensor, copied with `clone`.
#[differentiable]
fn layers_ref(x: &Tensor<f64>) -> f64 {
    let mut h = x.clone();
    for _ in 0..2 {
        h = h.tanh();
    }
    h.sum()
}

/// The same from an owned tensor, moved into the carried variable.
#[differentiable]
fn layers_owned(x: Tensor<f64>) -> f64 {
    let mut h = x;
    for _ in 0..2 {
        h = h.tanh();
    }
    h.sum()
}

/// A computed start (`x * 1.0`), a `while` loop, and a weight read in the body.
#[differentiable]
fn layers_while(x: &Tensor<f64>, w: f64) -> f64 {
    let mut h = x * 1.0;
    let mut i: usize = 0;
    while i < 3 {
        h = (h * w).sin();
        i += 1;
    }
    (h * h).sum()
}

/// A float copied with `clone` (the identity).
#[differentiable]
fn float_clone(x: f64) -> f64 {
    let y = x.clone();
    y * y * x
}

fn fd(f: impl Fn(&Tensor<f64>) -> f64, x: &Tensor<f64>) -> Vec<f64> {
    (0..x.len())
        .map(|i| {
            let mut p = x.to_vec();
            let mut m = x.to_vec();
            p[i] += H;
            m[i] -= H;
            let p = Tensor::from_vec(p, x.shape());
            let m = Tensor::from_vec(m, x.shape());
            (f(&p) - f(&m)) / (2.0 * H)
        })
        .collect()
}

/// d/dx sum(tanh(tanh(x))) = (1 - tanh²(tanh x)) (1 - tanh² x).
fn two_tanh_grad(a: f64) -> f64 {
    let t = a.tanh();
    (1.0 - t.tanh().powi(2)) * (1.0 - t * t)
}

#[test]
fn grad_and_value_through_a_carried_tensor() {
    let x = tensor![0.3, -1.2, 2.0];
    let g = layers_ref_grad(&x);
    let g2 = layers_owned_grad(x.clone());
    let (v, g3) = layers_ref_value_and_grad(&x);
    assert_close(v, layers_ref(&x), 1e-15);
    for i in 0..3 {
        let want = two_tanh_grad(x.as_slice()[i]);
        assert_close(g.as_slice()[i], want, 1e-12);
        assert_close(g2.as_slice()[i], want, 1e-12);
        assert_close(g3.as_slice()[i], want, 1e-12);
    }
    let num = fd(layers_ref, &x);
    for i in 0..3 {
        assert_close(g.as_slice()[i], num[i], 1e-7);
    }
    let c = layers_ref_vjp(&x, 2.0);
    assert_close(c.as_slice()[1], 2.0 * g.as_slice()[1], 1e-15);
}

#[test]
fn forward_items_through_a_carried_tensor() {
    let x = tensor![0.3, -1.2, 2.0];
    let t = tensor![1.0, 0.5, -2.0];
    let g = layers_ref_grad(&x);
    let (v, d) = layers_ref_jvp(&x, &t);
    assert_close(v, layers_ref(&x), 1e-15);
    let dot: f64 = (0..3).map(|i| g.as_slice()[i] * t.as_slice()[i]).sum();
    assert_close(d, dot, 1e-12);
    let (_, d2) = layers_owned_jvp(x.clone(), t.clone());
    assert_close(d2, dot, 1e-12);
    let j = layers_ref_jacobian(&x);
    assert_eq!(j.shape(), &[3]);
    for i in 0..3 {
        assert_close(j.as_slice()[i], g.as_slice()[i], 1e-12);
    }
    // Hessian-vector product against central differences of the gradient along t.
    let hv = layers_ref_hvp(&x, &t);
    let shift = |s: f64| {
        let v: Vec<f64> = (0..3)
            .map(|i| x.as_slice()[i] + s * t.as_slice()[i])
            .collect();
        layers_ref_grad(&Tensor::from_vec(v, &[3]))
    };
    let (gp, gm) = (shift(H), shift(-H));
    for i in 0..3 {
        assert_close(
            hv.as_slice()[i],
            (gp.as_slice()[i] - gm.as_slice()[i]) / (2.0 * H),
            1e-6,
        );
    }
    let hv2 = layers_owned_hvp(x.clone(), t.clone());
    for i in 0..3 {
        assert_close(hv2.as_slice()[i], hv.as_slice()[i], 1e-12);
    }
}

#[test]
fn a_while_loop_carrying_a_tensor() {
    let x = tensor![0.4, -0.7];
    let w = 0.9;
    let (gx, gw) = layers_while_grad(&x, w);
    let num_x = fd(|x| layers_while(x, w), &x);
    for i in 0..2 {
        assert_close(gx.as_slice()[i], num_x[i], 1e-7);
    }
    let num_w = (layers_while(&x, w + H) - layers_while(&x, w - H)) / (2.0 * H);
    assert_close(gw, num_w, 1e-7);
    let t = tensor![0.3, 1.0];
    let (_, d) = layers_while_jvp(&x, w, &t, 0.5);
    let dot = gx.as_slice()[0] * 0.3 + gx.as_slice()[1] + gw * 0.5;
    assert_close(d, dot, 1e-12);
    let (hx, hw) = layers_while_hvp(&x, w, &t, 0.5);
    let step = |s: f64| {
        let v = Tensor::from_vec(vec![0.4 + s * 0.3, -0.7 + s], &[2]);
        layers_while_grad(&v, w + s * 0.5)
    };
    let ((px, pw), (mx, mw)) = (step(H), step(-H));
    for i in 0..2 {
        assert_close(
            hx.as_slice()[i],
            (px.as_slice()[i] - mx.as_slice()[i]) / (2.0 * H),
            1e-6,
        );
    }
    assert_close(hw, (pw - mw) / (2.0 * H), 1e-6);
}

#[test]
fn clone_of_a_float_is_the_identity() {
    // y * y * x with y = x: 3x².
    assert_close(float_clone_grad(1.5), 3.0 * 1.5 * 1.5, 1e-15);
    assert_close(float_clone_hessian(1.5), 6.0 * 1.5, 1e-12);
    let (v, d) = float_clone_jvp(1.5, 2.0);
    assert_close(v, 1.5f64.powi(3), 1e-15);
    assert_close(d, 2.0 * 3.0 * 1.5 * 1.5, 1e-12);
}

/// `powi` with a run-time exponent on a tensor: Σᵢ Σⱼ xⱼ^i for i = 1..=3.
#[differentiable]
fn power_sum(x: &Tensor<f64>) -> f64 {
    let mut s = 0.0;
    for i in 1..4 {
        s += x.powi(i as i32).sum();
    }
    s
}

#[test]
fn run_time_powi_on_a_tensor() {
    let x = tensor![0.2, 0.5, -1.5];
    let g = power_sum_grad(&x);
    let num = fd(power_sum, &x);
    for i in 0..3 {
        let a = x.as_slice()[i];
        assert_close(g.as_slice()[i], 1.0 + 2.0 * a + 3.0 * a * a, 1e-12);
        assert_close(g.as_slice()[i], num[i], 1e-7);
    }
    let t = tensor![1.0, 0.0, 2.0];
    let (_, d) = power_sum_jvp(&x, &t);
    assert_close(d, g.as_slice()[0] + 2.0 * g.as_slice()[2], 1e-12);
    // Hessian-vector product: the Hessian is diagonal, 2 + 6x.
    let hv = power_sum_hvp(&x, &t);
    for i in 0..3 {
        let a = x.as_slice()[i];
        assert_close(hv.as_slice()[i], (2.0 + 6.0 * a) * t.as_slice()[i], 1e-10);
    }
}
