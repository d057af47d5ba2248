//! Forward mode: `_jvp`, `_jacobian`, `_hvp` and `_hessian` of vector parameters, against
//! hand formulas, central differences and the reverse mode (`<v, J t> = <Jᵀ v, t>`).

#![allow(clippy::needless_range_loop)]

use autodiff::{differentiable, tensor, Tensor};

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

#[track_caller]
fn assert_close(a: f64, b: f64, tol: f64) {
    assert!(close(a, b, tol), "{a} vs {b}");
}

const H: f64 = 1e-6;

#[rustfmt::skip]
#[differentiable]
fn rosen(x: f64, y: f64) -> f64 {
    (1 - x)**2 + 100*(y - x**2)**2
}

#[differentiable]
fn polar(r: f64, t: f64) -> [f64; 2] {
    [r * t.cos(), r * t.sin()]
}

#[differentiable]
fn residuals(x: [f64; 3]) -> Vec<f64> {
    vec![
        x[0] * x[1] - 1.0,
        x[1].sin() + x[2],
        x[0].exp() * x[2],
        x[2] * x[2],
    ]
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

#[differentiable]
fn rosen_loop(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        s += (1.0 - x[i]) * (1.0 - x[i])
            + 100.0 * (x[i + 1] - x[i] * x[i]) * (x[i + 1] - x[i] * x[i]);
    }
    s
}

#[differentiable]
fn branchy(x: f64, y: f64) -> f64 {
    if x > y {
        x * x * y
    } else {
        (x + y).sin()
    }
}

#[differentiable]
fn tens(x: &Tensor<f64>, w: &Tensor<f64>) -> Tensor<f64> {
    (x.matmul(w)).tanh() * 2.0
}

#[differentiable]
fn tens_loss(x: &Tensor<f64>, w: &Tensor<f64>) -> f64 {
    ((x.matmul(w)).tanh() * 2.0).sum()
}

#[differentiable]
fn generic<T: autodiff::Float>(x: T, y: T) -> T {
    x.sin() * y + x * x
}

#[differentiable]
fn single(x: f32, y: f32) -> f32 {
    x.exp() * y - y.sqrt()
}

#[test]
fn jvp_of_a_scalar_function_is_the_directional_derivative() {
    let (x, y) = (0.7, 1.3);
    let (v, d) = rosen_jvp(x, y, 1.0, 0.0);
    assert_eq!(v, rosen(x, y));
    assert_close(d, -2.0 * (1.0 - x) - 400.0 * x * (y - x * x), 1e-12);
    let (_, d) = rosen_jvp(x, y, 0.3, -0.8);
    let (gx, gy) = rosen_grad(x, y);
    assert_close(d, 0.3 * gx - 0.8 * gy, 1e-12);
    let fd = (rosen(x + 0.3 * H, y - 0.8 * H) - rosen(x - 0.3 * H, y + 0.8 * H)) / (2.0 * H);
    assert_close(d, fd, 1e-6);
}

#[test]
fn jvp_and_vjp_of_an_array_result() {
    let (r, t) = (2.0, 0.6);
    let (v, d) = polar_jvp(r, t, 0.5, 0.25);
    assert_eq!(v, polar(r, t));
    assert_close(d[0], 0.5 * t.cos() - 0.25 * r * t.sin(), 1e-12);
    assert_close(d[1], 0.5 * t.sin() + 0.25 * r * t.cos(), 1e-12);
    // <v, J t> = <Jᵀ v, t>
    let w = [0.3, -1.1];
    let (gr, gt) = polar_vjp(r, t, w);
    assert_close(w[0] * d[0] + w[1] * d[1], gr * 0.5 + gt * 0.25, 1e-12);
    let j = polar_jacobian(r, t);
    assert_close(j.0[0], t.cos(), 1e-12);
    assert_close(j.1[1], r * t.cos(), 1e-12);
}

#[test]
fn vec_result_jvp_vjp_and_jacobian() {
    let x = [0.4, -0.7, 1.2];
    let tx = [0.1, 0.2, -0.3];
    let (v, d) = residuals_jvp(x, tx);
    assert_eq!(v, residuals(x));
    let w = [1.0, -2.0, 0.5, 0.25];
    let g = residuals_vjp(x, &w);
    let lhs: f64 = w.iter().zip(&d).map(|(a, b)| a * b).sum();
    let rhs: f64 = g.iter().zip(&tx).map(|(a, b)| a * b).sum();
    assert_close(lhs, rhs, 1e-12);
    let j = residuals_jacobian(x);
    assert_eq!(j.shape(), &[4, 3]);
    for o in 0..4 {
        for k in 0..3 {
            let mut xp = x;
            let mut xm = x;
            xp[k] += H;
            xm[k] -= H;
            let fd = (residuals(xp)[o] - residuals(xm)[o]) / (2.0 * H);
            assert_close(j[[o, k]], fd, 1e-6);
        }
    }
}

#[test]
fn hvp_and_hessian_of_an_array_parameter() {
    let x = [0.5, -0.3, 1.1, 0.9, -1.2, 0.4, 0.7, 1.5];
    let h = rosen8_hessian(x);
    let v = [1.0, 0.5, -0.25, 2.0, 0.0, -1.0, 0.3, 0.7];
    let hv = rosen8_hvp(x, v);
    for a in 0..8 {
        let row: f64 = (0..8).map(|b| h[a][b] * v[b]).sum();
        assert_close(hv[a], row, 1e-10);
        // Central differences of the gradient.
        for b in 0..8 {
            let mut xp = x;
            let mut xm = x;
            xp[b] += H;
            xm[b] -= H;
            let fd = (rosen8_grad(xp)[a] - rosen8_grad(xm)[a]) / (2.0 * H);
            assert_close(h[a][b], fd, 1e-5);
        }
    }
    // The tridiagonal Hessian by hand.
    assert_close(h[0][0], 2.0 + 1200.0 * x[0] * x[0] - 400.0 * x[1], 1e-12);
    assert_close(h[0][1], -400.0 * x[0], 1e-12);
    assert_eq!(h[0][2], 0.0);
}

#[test]
fn loops_in_forward_mode_and_hvp() {
    let x = vec![0.5, -0.3, 1.1, 0.9];
    let t = vec![0.2, 1.0, -0.5, 0.3];
    let (v, d) = rosen_loop_jvp(&x, &t);
    assert_close(v, rosen_loop(&x), 1e-14);
    let g = rosen_loop_grad(&x);
    let gt: f64 = g.iter().zip(&t).map(|(a, b)| a * b).sum();
    assert_close(d, gt, 1e-12);
    let hv = rosen_loop_hvp(&x, &t);
    let h = rosen_loop_hessian(&x);
    for a in 0..4 {
        let row: f64 = (0..4).map(|b| h[a][b] * t[b]).sum();
        assert_close(hv[a], row, 1e-10);
        let xp: Vec<f64> = x.iter().zip(&t).map(|(a, b)| a + H * b).collect();
        let xm: Vec<f64> = x.iter().zip(&t).map(|(a, b)| a - H * b).collect();
        let fd = (rosen_loop_grad(&xp)[a] - rosen_loop_grad(&xm)[a]) / (2.0 * H);
        assert_close(hv[a], fd, 1e-5);
    }
}

#[test]
fn branches_in_forward_mode() {
    for (x, y) in [(1.5, 0.5), (0.2, 0.9)] {
        let (v, d) = branchy_jvp(x, y, 0.7, -0.4);
        assert_eq!(v, branchy(x, y));
        let (gx, gy) = branchy_grad(x, y);
        assert_close(d, 0.7 * gx - 0.4 * gy, 1e-12);
        let (hx, hy) = branchy_hvp(x, y, 1.0, 0.0);
        let h = branchy_hessian(x, y);
        assert_close(hx, h[0][0], 1e-12);
        assert_close(hy, h[1][0], 1e-12);
    }
}

#[test]
fn tensors_in_forward_mode() {
    let x = tensor![[0.5, -0.2], [0.3, 0.8], [1.0, -1.0]];
    let w = tensor![[0.1, 0.4, -0.3], [0.7, -0.5, 0.2]];
    let tx = tensor![[1.0, 0.0], [0.5, -0.5], [0.2, 0.1]];
    let tw = tensor![[0.3, -0.1, 0.2], [0.0, 0.4, -0.6]];
    let (v, d) = tens_jvp(&x, &w, &tx, &tw);
    assert_eq!(v.shape(), &[3, 3]);
    assert_eq!(d.shape(), &[3, 3]);
    let c = tensor![[1.0, 2.0, -1.0], [0.5, 0.0, 1.0], [-0.3, 0.2, 0.4]];
    let (gx, gw) = tens_vjp(&x, &w, &c);
    let lhs = (&c * &d).sum();
    let rhs = (&gx * &tx).sum() + (&gw * &tw).sum();
    assert_close(lhs, rhs, 1e-12);
    let (jx, jw) = tens_jacobian(&x, &w);
    assert_eq!(jx.shape(), &[3, 3, 3, 2]);
    assert_eq!(jw.shape(), &[3, 3, 2, 3]);
    // Hessian-vector product against central differences of the gradient.
    let (hx, hw) = tens_loss_hvp(&x, &w, &tx, &tw);
    let step = |s: f64| {
        let xs = &x + &(&tx * s);
        let ws = &w + &(&tw * s);
        tens_loss_grad(&xs, &ws)
    };
    let ((px, pw), (mx, mw)) = (step(H), step(-H));
    for k in 0..6 {
        assert_close(
            hx.as_slice()[k],
            (px.as_slice()[k] - mx.as_slice()[k]) / (2.0 * H),
            1e-5,
        );
        assert_close(
            hw.as_slice()[k],
            (pw.as_slice()[k] - mw.as_slice()[k]) / (2.0 * H),
            1e-5,
        );
    }
}

#[test]
fn generic_and_f32() {
    let (v, d) = generic_jvp(0.4f64, 1.5, 1.0, 0.0);
    assert_eq!(v, generic(0.4, 1.5));
    assert_close(d, 0.4f64.cos() * 1.5 + 0.8, 1e-12);
    let (_, d32) = generic_jvp(0.4f32, 1.5f32, 0.0, 1.0);
    assert!((d32 - 0.4f32.sin()).abs() < 1e-6);
    let (v, d) = single_jvp(0.3, 2.0, 1.0, 1.0);
    assert_eq!(v, single(0.3, 2.0));
    let (gx, gy) = single_grad(0.3, 2.0);
    assert!((d - (gx + gy)).abs() < 1e-5);
    let h = single_hvp(0.3, 2.0, 1.0, 0.0);
    assert!((h.0 - 0.3f32.exp() * 2.0).abs() < 1e-5);
}

#[differentiable]
fn inner(a: f64, b: f64) -> f64 {
    a * b.sin() + a * a
}

#[differentiable]
fn outer(x: f64, y: f64) -> f64 {
    let u = inner(x, y) * 2.0;
    inner(u, x).exp() * 0.1
}

#[differentiable]
fn inner_arr(v: [f64; 2], s: f64) -> f64 {
    v[0] * v[1] * s
}

#[differentiable]
fn outer_arr(v: [f64; 2]) -> [f64; 2] {
    let p = inner_arr(v, 3.0);
    [p + v[0], p * v[1]]
}

/// A custom first-order rule with a forward rule too.
#[differentiable(vjp = cube_rule, jvp = cube_forward)]
fn cube(x: f64) -> f64 {
    x * x * x
}

fn cube_rule(x: f64, d: f64) -> f64 {
    3.0 * x * x * d
}

fn cube_forward(x: f64, t: f64) -> (f64, f64) {
    (x * x * x, 3.0 * x * x * t)
}

/// A custom rule without a forward rule.
#[differentiable(vjp = square_rule)]
fn square(x: f64) -> f64 {
    x * x
}

fn square_rule(x: f64, d: f64) -> f64 {
    2.0 * x * d
}

#[differentiable]
fn uses_cube(x: f64, y: f64) -> f64 {
    cube(x * y) + y
}

#[differentiable]
fn uses_square(x: f64) -> f64 {
    square(x) + x
}

#[test]
fn calls_compose_in_forward_mode() {
    let (x, y) = (0.3, -0.7);
    let (v, d) = outer_jvp(x, y, 0.6, 0.8);
    assert_eq!(v, outer(x, y));
    let (gx, gy) = outer_grad(x, y);
    assert_close(d, 0.6 * gx + 0.8 * gy, 1e-12);
    let fd = (outer(x + 0.6 * H, y + 0.8 * H) - outer(x - 0.6 * H, y - 0.8 * H)) / (2.0 * H);
    assert_close(d, fd, 1e-6);

    let v2 = [0.4, 1.5];
    let j = outer_arr_jacobian(v2);
    for o in 0..2 {
        for k in 0..2 {
            let mut p = v2;
            let mut m = v2;
            p[k] += H;
            m[k] -= H;
            assert_close(
                j[o][k],
                (outer_arr(p)[o] - outer_arr(m)[o]) / (2.0 * H),
                1e-6,
            );
        }
    }
}

#[test]
fn custom_rules_in_forward_mode() {
    let (v, d) = cube_jvp(1.5, 2.0);
    assert_eq!((v, d), (3.375, 13.5));
    assert_eq!(cube_grad(1.5), 6.75);
    let (v, d) = uses_cube_jvp(0.5, 2.0, 1.0, 0.0);
    assert_eq!(v, uses_cube(0.5, 2.0));
    assert_close(d, 3.0 * 1.0 * 2.0, 1e-12);
    // Without a forward rule, forward mode is derived from the vjp rule.
    assert_eq!(square_jvp(1.5, 2.0), (2.25, 6.0));
    let (v, d) = uses_square_jvp(2.0, 1.0);
    assert_eq!((v, d), (uses_square(2.0), 5.0));
    let fd = (uses_square(2.0 + H) - uses_square(2.0 - H)) / (2.0 * H);
    assert_close(d, fd, 1e-6);
    assert_eq!(uses_square_grad(2.0), 5.0);
    // Second order through a first-order rule still panics, naming the function.
    let msg = panic_message(|| uses_square_hvp(2.0, 1.0));
    assert!(msg.contains("`square`"), "{msg}");
}

fn panic_message<R>(f: impl FnOnce() -> R + std::panic::UnwindSafe) -> String {
    let Err(err) = std::panic::catch_unwind(f) else {
        panic!("the call panics")
    };
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[differentiable]
fn tensor_energy(w: &Tensor<f64>) -> f64 {
    (w * w * w).sum() + w.matmul(w).sum()
}

#[differentiable]
fn scaled(s: f64, w: &Tensor<f64>) -> Tensor<f64> {
    w * s.sin() + s * s
}

#[test]
fn hessian_of_a_tensor_parameter() {
    let w = tensor![[0.5, -1.0], [2.0, 0.25]];
    let h = tensor_energy_hessian(&w);
    assert_eq!(h.shape(), &[2, 2, 2, 2]);
    let flat = |t: &Tensor<f64>| t.as_slice().to_vec();
    for j in 0..4 {
        let mut e = vec![0.0; 4];
        e[j] = 1.0;
        let dir = Tensor::from_vec(e, &[2, 2]);
        let p = tensor_energy_grad(&(&w + &(&dir * H)));
        let m = tensor_energy_grad(&(&w - &(&dir * H)));
        for i in 0..4 {
            let fd = (flat(&p)[i] - flat(&m)[i]) / (2.0 * H);
            assert_close(h.as_slice()[i * 4 + j], fd, 1e-5);
        }
    }
}

#[test]
fn jacobian_of_a_tensor_result() {
    let w = tensor![[0.5, -1.0, 0.3], [2.0, 0.25, -0.7]];
    let s = 0.8;
    let (js, jw) = scaled_jacobian(s, &w);
    assert_eq!(js.shape(), &[2, 3]);
    assert_eq!(jw.shape(), &[2, 3, 2, 3]);
    for o in 0..6 {
        assert_close(js.as_slice()[o], w.as_slice()[o] * s.cos() + 2.0 * s, 1e-12);
        for i in 0..6 {
            let want = if o == i { s.sin() } else { 0.0 };
            assert_close(jw.as_slice()[o * 6 + i], want, 1e-12);
        }
    }
    // The tangent of a scalar parameter has the result's shape.
    let (_, t) = scaled_jvp(s, &w, 1.0, &Tensor::zeros(&[2, 3]));
    assert_eq!(t.shape(), &[2, 3]);
    assert_close(t.as_slice()[4], w.as_slice()[4] * s.cos() + 2.0 * s, 1e-12);
}

#[differentiable]
fn loop_if(x: &[f64], a: f64) -> f64 {
    let mut s = a;
    for i in 0..x.len() {
        if x[i] > 0.0 {
            s = s * x[i] + a.sin();
        } else {
            s = s - x[i] * x[i] * a;
        }
    }
    s
}

#[differentiable]
fn nested_loops(x: [f64; 3]) -> f64 {
    let mut s = 0.0;
    for i in 0..3 {
        let mut p = 1.0;
        for j in 0..3 {
            p = p * (x[j] + i as f64);
        }
        s += p.sin();
    }
    s
}

#[test]
fn loops_with_branches_and_nested_loops() {
    let x = vec![0.5, -0.3, 1.1, -0.9];
    let a = 0.7;
    let t = vec![0.2, 1.0, -0.5, 0.3];
    let ta = -0.4;
    let (v, d) = loop_if_jvp(&x, a, &t, ta);
    assert_eq!(v, loop_if(&x, a));
    let (gx, ga) = loop_if_grad(&x, a);
    let want: f64 = gx.iter().zip(&t).map(|(g, t)| g * t).sum::<f64>() + ga * ta;
    assert_close(d, want, 1e-12);
    let (hx, ha) = loop_if_hvp(&x, a, &t, ta);
    let step = |s: f64| {
        let xs: Vec<f64> = x.iter().zip(&t).map(|(x, t)| x + s * t).collect();
        loop_if_grad(&xs, a + s * ta)
    };
    let ((px, pa), (mx, ma)) = (step(H), step(-H));
    for k in 0..4 {
        assert_close(hx[k], (px[k] - mx[k]) / (2.0 * H), 1e-5);
    }
    assert_close(ha, (pa - ma) / (2.0 * H), 1e-5);

    let x3 = [0.3, -0.2, 0.5];
    let t3 = [1.0, 0.5, -1.0];
    let (_, d) = nested_loops_jvp(x3, t3);
    let g = nested_loops_grad(x3);
    assert_close(d, g[0] - g[2] + 0.5 * g[1], 1e-12);
    let h = nested_loops_hessian(x3);
    for a in 0..3 {
        for b in 0..3 {
            let mut p = x3;
            let mut m = x3;
            p[b] += H;
            m[b] -= H;
            let fd = (nested_loops_grad(p)[a] - nested_loops_grad(m)[a]) / (2.0 * H);
            assert_close(h[a][b], fd, 1e-5);
        }
    }
}

#[differentiable]
fn mean_sq(x: &[f64]) -> f64 {
    let n = x.len() as f64;
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i] * x[i];
    }
    s / n
}

#[test]
fn constants_read_from_differentiated_values() {
    let x = vec![1.0, 2.0, -3.0];
    let (v, d) = mean_sq_jvp(&x, &[1.0, 0.0, 1.0]);
    assert_close(v, 14.0 / 3.0, 1e-14);
    assert_close(d, (2.0 - 6.0) / 3.0, 1e-14);
    let h = mean_sq_hessian(&x);
    assert_close(h[0][0], 2.0 / 3.0, 1e-14);
    assert_eq!(h[0][1], 0.0);
}

#[differentiable]
fn calls_arr(v: [f64; 2]) -> f64 {
    inner_arr(v, v[0]).sin() * v[1]
}

#[test]
fn hessian_vector_products_through_calls() {
    let (x, y) = (0.3, -0.7);
    let (hx, hy) = outer_hvp(x, y, 0.6, 0.8);
    let (px, py) = outer_grad(x + 0.6 * H, y + 0.8 * H);
    let (mx, my) = outer_grad(x - 0.6 * H, y - 0.8 * H);
    assert_close(hx, (px - mx) / (2.0 * H), 1e-5);
    assert_close(hy, (py - my) / (2.0 * H), 1e-5);
    let h = outer_hessian(x, y);
    assert_close(hx, 0.6 * h[0][0] + 0.8 * h[0][1], 1e-10);

    let v = [0.4, 1.5];
    let hess = calls_arr_hessian(v);
    for a in 0..2 {
        for b in 0..2 {
            let mut p = v;
            let mut m = v;
            p[b] += H;
            m[b] -= H;
            let fd = (calls_arr_grad(p)[a] - calls_arr_grad(m)[a]) / (2.0 * H);
            assert_close(hess[a][b], fd, 1e-5);
        }
    }
}

#[differentiable]
fn gpolar<T: autodiff::Float>(r: T, t: T) -> [T; 2] {
    [r * t.cos(), r * t.sin()]
}

#[differentiable]
fn gsum<T: autodiff::Float>(x: [T; 3]) -> T {
    x[0] * x[1] * x[2] + x[0].exp()
}

#[test]
fn generic_vector_results_and_hessians() {
    let (jr, jt) = gpolar_jacobian(2.0f32, 0.5f32);
    assert!((jr[1] - 0.5f32.sin()).abs() < 1e-6);
    assert!((jt[0] + 2.0 * 0.5f32.sin()).abs() < 1e-6);
    let g = gpolar_vjp(2.0f64, 0.5, [0.0, 1.0]);
    assert_close(g.1, 2.0 * 0.5f64.cos(), 1e-12);
    let h = gsum_hessian([0.5f64, 2.0, -1.0]);
    assert_eq!(h[0][1], -1.0);
    assert_close(h[0][0], 0.5f64.exp(), 1e-12);
    let hv = gsum_hvp([0.5f32, 2.0, -1.0], [1.0, 0.0, 0.0]);
    assert!((hv[2] - 2.0).abs() < 1e-6);
}

/// An array bound with `let` before it is returned.
#[differentiable]
fn let_bound_array(x: f64) -> [f64; 2] {
    let a = [x, 2.0 * x * x];
    a
}

#[test]
fn an_array_bound_before_it_is_returned() {
    let x = 1.5;
    assert_eq!(let_bound_array_jvp(x, 1.0), ([1.5, 4.5], [1.0, 6.0]));
    assert_eq!(let_bound_array_vjp(x, [1.0, 1.0]), 7.0);
    assert_eq!(let_bound_array_jacobian(x), [1.0, 4.0 * x]);
    let fd = |i: usize| (let_bound_array(x + H)[i] - let_bound_array(x - H)[i]) / (2.0 * H);
    assert_close(let_bound_array_jacobian(x)[1], fd(1), 1e-8);
}

#[differentiable]
fn elementwise(x: &Tensor<f64>) -> Tensor<f64> {
    x.sin()
}

#[differentiable]
fn sequence_out(x: [f64; 2]) -> Vec<f64> {
    vec![x[0], x[1], x[0] * x[1]]
}

#[test]
#[should_panic(
    expected = "the cotangent of `elementwise_vjp` has shape [2, 3], but it must have the shape [3]"
)]
fn a_cotangent_of_the_wrong_shape_is_an_error() {
    elementwise_vjp(&tensor![0.0, 1.0, 2.0], &Tensor::ones(&[2, 3]));
}

#[test]
#[should_panic(
    expected = "the cotangent of `sequence_out_vjp` has shape [4], but it must have the shape [3]"
)]
fn a_cotangent_of_the_wrong_length_is_an_error() {
    sequence_out_vjp([1.0, 2.0], &[1.0; 4]);
}

#[test]
#[should_panic(
    expected = "the tangent `x_tangent` of `elementwise_jvp` has shape [2], but it must have the shape [3]"
)]
fn a_tangent_of_the_wrong_shape_is_an_error() {
    elementwise_jvp(&tensor![0.0, 1.0, 2.0], &tensor![1.0, 1.0]);
}

#[test]
fn cotangents_of_the_right_shape_pass() {
    let g = elementwise_vjp(&tensor![0.0, 1.0], &tensor![2.0, 1.0]);
    assert_eq!(g.to_vec(), vec![2.0, 1f64.cos()]);
    assert_eq!(sequence_out_vjp([1.0, 2.0], &[1.0, 1.0, 1.0]), [3.0, 2.0]);
}

/// A caller reading the elements of a callee's `[T; 2]` result.
#[differentiable]
fn reads_polar(r: f64, t: f64) -> f64 {
    let p = polar(r, t);
    p[0] * p[1] + p[1]
}

#[differentiable]
fn squares(x: f64) -> Vec<f64> {
    vec![x, x * x]
}

/// The same for a `Vec<T>` result, inside an `if` arm.
#[differentiable]
fn reads_squares(x: f64) -> f64 {
    let p = squares(x);
    if x > 0.0 {
        p[0] + p[1]
    } else {
        p[1]
    }
}

#[test]
fn elements_of_a_call_result() {
    let (r, t) = (1.5, 0.7);
    // r² cos t sin t + r sin t.
    let g = reads_polar_grad(r, t);
    let want = (
        r * (2.0 * t).sin() + t.sin(),
        r * r * (2.0 * t).cos() + r * t.cos(),
    );
    assert_close(g.0, want.0, 1e-14);
    assert_close(g.1, want.1, 1e-14);
    let fd = (reads_polar(r, t + H) - reads_polar(r, t - H)) / (2.0 * H);
    assert_close(g.1, fd, 1e-8);
    let (_, d) = reads_polar_jvp(r, t, 1.0, 0.5);
    assert_close(d, g.0 + 0.5 * g.1, 1e-12);
    let e = std::panic::catch_unwind(|| reads_polar_hessian(r, t)).unwrap_err();
    let msg = e
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| e.downcast_ref::<String>().cloned())
        .unwrap();
    assert!(
        msg.contains("reads an element of a function's array result"),
        "{msg}"
    );
    assert_eq!(reads_squares_grad(2.0), 5.0);
    assert_eq!(reads_squares_grad(-2.0), -4.0);
}

/// Values read after a loop: arithmetic, a branch on the loop's result, and a second loop
/// that starts from the first one's result. `_jvp` reads the values from the tangent loops
/// (the primal loops do not run again); each is checked against a directional difference.
#[differentiable]
fn after_loops(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i] * x[i];
    }
    let mut p = s;
    for i in 0..x.len() {
        p = p * 0.5 + x[i].sin();
    }
    let r = if s > 1.0 { s.sqrt() } else { s };
    r * p + s
}

#[differentiable]
fn after_while(x: f64) -> f64 {
    let mut s = x;
    let mut n: usize = 0;
    while s < 10.0 && n < 100 {
        s = s * 1.5 + 0.1;
        n += 1;
    }
    s * s
}

#[test]
fn values_after_loops_in_forward_mode() {
    let h = 1e-6;
    for x in [vec![0.3, -0.2, 0.4], vec![1.2, 0.5, -0.9, 0.1]] {
        let t: Vec<f64> = (0..x.len()).map(|i| 0.3 - 0.2 * i as f64).collect();
        let at = |s: f64| {
            let y: Vec<f64> = x.iter().zip(&t).map(|(a, b)| a + s * b).collect();
            after_loops(&y)
        };
        let (v, d) = after_loops_jvp(&x, &t);
        assert_eq!(v, after_loops(&x));
        assert_close(d, (at(h) - at(-h)) / (2.0 * h), 1e-6);
        let g = after_loops_grad(&x);
        let dot: f64 = g.iter().zip(&t).map(|(a, b)| a * b).sum();
        assert_close(d, dot, 1e-12);
    }
    let (v, d) = after_while_jvp(0.7, 1.0);
    assert_eq!(v, after_while(0.7));
    assert_close(
        d,
        (after_while(0.7 + h) - after_while(0.7 - h)) / (2.0 * h),
        1e-5,
    );
}
