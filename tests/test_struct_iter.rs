//! `for` loops over a collection field of a differentiated struct written the idiomatic way
//! (`for w in &self.ws`, `self.ws.iter()`, `.iter().enumerate()`, `for l in &self.layers`):
//! each must give the gradient of the index form, checked against hand formulas and central
//! differences (the collection's gradient must not be silently zero).

use autodiff::{differentiable, Differentiable, Tensor};

mod support;
use support::shifted;

#[derive(Clone, Debug, Differentiable)]
struct Ws {
    ws: Vec<f64>,
    a: f64,
}

impl Ws {
    /// `s = a x`, then `s = s w + 1` for each weight.
    #[rustfmt::skip]
    #[differentiable]
    fn by_ref(&self, x: f64) -> f64 {
        let mut s = self.a * x;
        for w in &self.ws { s = s * w + 1.0; }
        s
    }

    #[rustfmt::skip]
    #[differentiable]
    fn by_iter(&self, x: f64) -> f64 {
        let mut s = self.a * x;
        for w in self.ws.iter() { s = s * *w + 1.0; }
        s
    }

    #[rustfmt::skip]
    #[differentiable]
    fn by_pattern(&self, x: f64) -> f64 {
        let mut s = self.a * x;
        for &w in &self.ws { s = s * w + 1.0; }
        s
    }

    #[rustfmt::skip]
    #[differentiable]
    fn by_copied(&self, x: f64) -> f64 {
        let mut s = self.a * x;
        for w in self.ws.iter().copied() { s = s * w + 1.0; }
        s
    }

    /// The same, the body also reading the index: `s = s w + i`.
    #[rustfmt::skip]
    #[differentiable]
    fn enumerated(&self, x: f64) -> f64 {
        let mut s = self.a * x;
        for (i, w) in self.ws.iter().enumerate() { s = s * w + i as f64; }
        s
    }

    /// The body binds the element's name again: the element is bound, not substituted.
    #[rustfmt::skip]
    #[differentiable]
    fn rebinding(&self, x: f64) -> f64 {
        let mut s = self.a * x;
        for w in &self.ws {
            let w = w * 2.0;
            s = s * w + 1.0;
        }
        s
    }

    /// An element bound before an `if` in the body (reading it inside the `if` is an error).
    #[rustfmt::skip]
    #[differentiable]
    fn guarded(&self, x: f64) -> f64 {
        let mut s = 0.0;
        for w in &self.ws {
            let v = *w;
            if v > 0.0 { s += v * x; } else { s -= v * v; }
        }
        s
    }

    /// The element read inside an `if` in the body (bound once where the loop reads it).
    #[rustfmt::skip]
    #[differentiable]
    fn branched(&self, x: f64) -> f64 {
        let mut s = 0.0;
        for (i, w) in self.ws.iter().enumerate() {
            if i % 2 == 0 { s += w * x; } else { s -= w.abs() * x * x; }
        }
        s
    }

    /// The weights read by a nested loop, the loops inside an `if`.
    #[rustfmt::skip]
    #[differentiable]
    fn nested(&self, x: f64) -> f64 {
        let mut s = 0.0;
        if x > 0.0 {
            for u in &self.ws {
                for v in &self.ws { s += u * v * x; }
            }
        } else {
            for u in self.ws.iter() {
                for v in self.ws.iter() { s -= u * v; }
            }
        }
        s
    }
}

/// Hand formula for `by_ref` and its variants: with `s0 = a x`, `s_{k+1} = s_k w_k + c_k`.
fn chain(m: &Ws, x: f64, c: impl Fn(usize) -> f64, scale: f64) -> (f64, Vec<f64>, f64, f64) {
    let n = m.ws.len();
    let mut s = vec![m.a * x];
    for k in 0..n {
        s.push(s[k] * m.ws[k] * scale + c(k));
    }
    // ds_n / ds_k = prod_{j >= k} w_j scale.
    let mut d = 1.0;
    let mut gw = vec![0.0; n];
    for k in (0..n).rev() {
        gw[k] = d * s[k] * scale;
        d *= m.ws[k] * scale;
    }
    (s[n], gw, d * x, d * m.a)
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

fn assert_close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len());
    for (k, (a, b)) in got.iter().zip(want).enumerate() {
        assert!((a - b).abs() < tol, "entry {k}: {a} vs {b}");
    }
}

fn ws() -> Ws {
    Ws {
        ws: vec![0.5, 2.0, -0.7],
        a: 1.5,
    }
}

type Method = fn(&Ws, f64) -> f64;
type Grad = fn(&Ws, f64) -> (Ws, f64);

#[test]
fn every_iterator_form_gives_the_hand_gradient() {
    let m = ws();
    let x = 0.3;
    let forms: [(&str, Method, Grad, f64, bool); 5] = [
        ("&self.ws", Ws::by_ref, Ws::by_ref_grad, 1.0, false),
        ("self.ws.iter()", Ws::by_iter, Ws::by_iter_grad, 1.0, false),
        (
            "&w in &self.ws",
            Ws::by_pattern,
            Ws::by_pattern_grad,
            1.0,
            false,
        ),
        (
            "iter().copied()",
            Ws::by_copied,
            Ws::by_copied_grad,
            1.0,
            false,
        ),
        (
            "let w = w * 2",
            Ws::rebinding,
            Ws::rebinding_grad,
            2.0,
            false,
        ),
    ];
    for (name, f, grad, scale, _) in forms {
        let (v, gw, ga, gx) = chain(&m, x, |_| 1.0, scale);
        assert!((f(&m, x) - v).abs() < 1e-12, "{name}: value");
        let (g, dx) = grad(&m, x);
        assert_close(&g.ws, &gw, 1e-12);
        assert!((g.a - ga).abs() < 1e-12, "{name}: a");
        assert!((dx - gx).abs() < 1e-12, "{name}: x");
        assert!(g.ws.iter().any(|w| *w != 0.0), "{name}: zero gradient");
        let fd = central(&m, |m| f(m, x));
        assert_close(&g.to_flat(), &fd, 1e-6);
        let fd_x = (f(&m, x + 1e-6) - f(&m, x - 1e-6)) / 2e-6;
        assert!((dx - fd_x).abs() < 1e-6, "{name}: x fd");
    }
}

#[test]
fn enumerate_binds_the_index() {
    let m = ws();
    let x = -0.4;
    let (v, gw, ga, gx) = chain(&m, x, |k| k as f64, 1.0);
    let (value, (g, dx)) = m.enumerated_value_and_grad(x);
    assert!((value - v).abs() < 1e-12);
    assert_close(&g.ws, &gw, 1e-12);
    assert!((g.a - ga).abs() < 1e-12);
    assert!((dx - gx).abs() < 1e-12);
    assert_close(&g.to_flat(), &central(&m, |m| m.enumerated(x)), 1e-6);
    // vjp with cotangent 3 is three times the gradient.
    let (g3, dx3) = m.enumerated_vjp(x, 3.0);
    assert_close(
        &g3.ws,
        &gw.iter().map(|v| 3.0 * v).collect::<Vec<_>>(),
        1e-12,
    );
    assert!((dx3 - 3.0 * gx).abs() < 1e-12);
}

#[test]
fn nested_loops_over_one_field_under_a_branch() {
    let m = ws();
    for x in [0.8, -0.8] {
        let (g, dx) = m.nested_grad(x);
        // s = x (sum w)^2 for x > 0, -(sum w)^2 otherwise.
        let sum: f64 = m.ws.iter().sum();
        let (dw, want_dx) = if x > 0.0 {
            (2.0 * sum * x, sum * sum)
        } else {
            (-2.0 * sum, 0.0)
        };
        assert_close(&g.ws, &[dw; 3], 1e-12);
        assert!((dx - want_dx).abs() < 1e-12);
        assert_close(&g.to_flat(), &central(&m, |m| m.nested(x)), 1e-6);
    }
}

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
    scale: f64,
}

impl Stack {
    #[rustfmt::skip]
    #[differentiable]
    fn loss_iter(&self, x: &Tensor<f64>) -> f64 {
        let mut h = x.clone() * self.scale;
        for layer in self.layers.iter() {
            h = layer.forward(&h).tanh();
        }
        (h.clone() * &h).sum()
    }

    #[rustfmt::skip]
    #[differentiable]
    fn loss_fields(&self, x: &Tensor<f64>) -> f64 {
        let mut h = x.clone() * self.scale;
        for l in &self.layers {
            h = (h.matmul(&l.w) + &l.b).tanh();
        }
        (h.clone() * &h).sum()
    }

    /// Layers applied under a condition: by the iterator form, and by an element bound
    /// before the `if` in the index form. Odd layers are skipped; the even ones apply while
    /// the activations' sum is above -10.
    #[rustfmt::skip]
    #[differentiable]
    fn loss_guarded(&self, x: &Tensor<f64>) -> f64 {
        let mut h = x.clone() * self.scale;
        for (i, l) in self.layers.iter().enumerate() {
            if i % 2 == 0 { h = l.forward(&h).tanh(); } else { h = h * 0.5; }
        }
        (h.clone() * &h).sum()
    }

    /// The same through the layers' fields inside the `if`.
    #[rustfmt::skip]
    #[differentiable]
    fn loss_guarded_fields(&self, x: &Tensor<f64>) -> f64 {
        let mut h = x.clone() * self.scale;
        for (i, l) in self.layers.iter().enumerate() {
            if i % 2 == 0 { h = (h.matmul(&l.w) + &l.b).tanh(); } else { h = h * 0.5; }
        }
        (h.clone() * &h).sum()
    }

    #[rustfmt::skip]
    #[differentiable]
    fn loss_guarded_index_fields(&self, x: &Tensor<f64>) -> f64 {
        let mut h = x.clone() * self.scale;
        for i in 0..self.layers.len() {
            let l = &self.layers[i];
            if i % 2 == 0 { h = (h.matmul(&l.w) + &l.b).tanh(); } else { h = h * 0.5; }
        }
        (h.clone() * &h).sum()
    }

    #[rustfmt::skip]
    #[differentiable]
    fn loss_guarded_index(&self, x: &Tensor<f64>) -> f64 {
        let mut h = x.clone() * self.scale;
        for i in 0..self.layers.len() {
            let l = &self.layers[i];
            if i % 2 == 0 { h = l.forward(&h).tanh(); } else { h = h * 0.5; }
        }
        (h.clone() * &h).sum()
    }

    #[rustfmt::skip]
    #[differentiable]
    fn loss_index(&self, x: &Tensor<f64>) -> f64 {
        let mut h = x.clone() * self.scale;
        for i in 0..self.layers.len() {
            h = self.layers[i].forward(&h).tanh();
        }
        (h.clone() * &h).sum()
    }
}

fn stack() -> Stack {
    let mk = |n: usize, m: usize, s: f64| Layer {
        w: Tensor::from_vec(
            (0..n * m).map(|k| ((k as f64 + s) * 0.37).sin()).collect(),
            &[n, m],
        ),
        b: Tensor::from_vec((0..m).map(|k| (k as f64 - s) * 0.05).collect(), &[m]),
    };
    Stack {
        layers: vec![mk(2, 3, 0.5), mk(3, 2, 1.5)],
        scale: 0.9,
    }
}

#[test]
fn layers_iterated_match_the_index_form_and_central_differences() {
    let m = stack();
    let x = Tensor::from_vec(vec![0.3, -0.7, 1.1, 0.2], &[2, 2]);
    let (want, want_x) = m.loss_index_grad(&x);
    assert!(want.to_flat().iter().all(|v| v.is_finite()));
    assert!(want.layers[0].w.to_vec().iter().any(|v| *v != 0.0));
    for (name, (g, gx)) in [
        ("layers.iter()", m.loss_iter_grad(&x)),
        ("&self.layers, fields", m.loss_fields_grad(&x)),
    ] {
        assert_close(&g.to_flat(), &want.to_flat(), 1e-12);
        assert_close(&gx.to_vec(), &want_x.to_vec(), 1e-12);
        let fd = central(&m, |m| m.loss_iter(&x));
        assert_close(&g.to_flat(), &fd, 1e-6);
        let _ = name;
    }
}

#[test]
fn forward_items_of_the_iterator_forms_match_directional_differences() {
    let m = ws();
    let t = Ws {
        ws: vec![0.3, -0.2, 0.9],
        a: -0.6,
    };
    let (x, tx) = (0.45, 0.7);
    let along = |f: Method| {
        let h = 1e-6;
        let shift = |s: f64| f(&shifted(&m, &t, s), x + s * tx);
        (shift(h) - shift(-h)) / (2.0 * h)
    };
    let forms: [(&str, Method, f64); 4] = [
        ("&self.ws", Ws::by_ref, m.by_ref_jvp(x, &t, tx).1),
        ("self.ws.iter()", Ws::by_iter, m.by_iter_jvp(x, &t, tx).1),
        ("enumerate", Ws::enumerated, m.enumerated_jvp(x, &t, tx).1),
        ("nested", Ws::nested, m.nested_jvp(x, &t, tx).1),
    ];
    for (name, f, d) in forms {
        let want = along(f);
        assert!((d - want).abs() < 1e-6, "{name}: {d} vs {want}");
    }
    // The Hessian-vector product against differences of gradients.
    let (hv, hx) = m.nested_hvp(x, &t, tx);
    let h = 1e-5;
    let at = |s: f64| shifted(&m, &t, s).nested_grad(x + s * tx);
    let ((gp, xp), (gm, xm)) = (at(h), at(-h));
    let fd: Vec<f64> = gp
        .to_flat()
        .iter()
        .zip(gm.to_flat())
        .map(|(a, b)| (a - b) / (2.0 * h))
        .collect();
    assert_close(&hv.to_flat(), &fd, 1e-5);
    assert!((hx - (xp - xm) / (2.0 * h)).abs() < 1e-5);
}

#[test]
fn an_element_bound_before_an_if() {
    let m = ws();
    let x = 1.3;
    let (g, dx) = m.guarded_grad(x);
    // w > 0: s += w x; else s -= w^2.
    let want: Vec<f64> =
        m.ws.iter()
            .map(|&w| if w > 0.0 { x } else { -2.0 * w })
            .collect();
    assert_close(&g.ws, &want, 1e-12);
    let want_dx: f64 = m.ws.iter().filter(|w| **w > 0.0).sum();
    assert!((dx - want_dx).abs() < 1e-12);
    assert_close(&g.to_flat(), &central(&m, |m| m.guarded(x)), 1e-6);
}

/// A struct parameter named in `wrt(..)`, its field iterated by a free function.
#[rustfmt::skip]
#[differentiable(wrt(m, x))]
fn weighted(m: &Ws, x: f64) -> f64 {
    let mut s = m.a * x;
    for w in m.ws.iter() { s = s * w + 1.0; }
    s
}

#[test]
fn a_struct_parameter_iterated_by_a_free_function() {
    let m = ws();
    let x = 0.3;
    let (v, gw, ga, gx) = chain(&m, x, |_| 1.0, 1.0);
    assert!((weighted(&m, x) - v).abs() < 1e-12);
    let (g, dx) = weighted_grad(&m, x);
    assert_close(&g.ws, &gw, 1e-12);
    assert!((g.a - ga).abs() < 1e-12);
    assert!((dx - gx).abs() < 1e-12);
    assert_close(&g.to_flat(), &central(&m, |m| weighted(m, x)), 1e-6);
}

#[test]
fn an_element_read_inside_an_if() {
    let m = ws();
    let x = 0.6;
    let (g, dx) = m.branched_grad(x);
    // Even i: + w x; odd i: - |w| x².
    let want: Vec<f64> = (0..m.ws.len())
        .map(|i| match i % 2 {
            0 => x,
            _ => -m.ws[i].signum() * x * x,
        })
        .collect();
    assert_close(&g.ws, &want, 1e-12);
    let want_dx: f64 = (0..m.ws.len())
        .map(|i| match i % 2 {
            0 => m.ws[i],
            _ => -2.0 * m.ws[i].abs() * x,
        })
        .sum();
    assert!((dx - want_dx).abs() < 1e-12);
    assert_close(&g.to_flat(), &central(&m, |m| m.branched(x)), 1e-6);
    let t = Ws {
        ws: vec![0.3, -0.2, 0.9],
        a: -0.6,
    };
    let (_, d) = m.branched_jvp(x, &t, 0.0);
    let h = 1e-6;
    let along = (shifted(&m, &t, h).branched(x) - shifted(&m, &t, -h).branched(x)) / (2.0 * h);
    assert!((d - along).abs() < 1e-6, "{d} vs {along}");
}

#[test]
fn layers_applied_inside_an_if() {
    let mut m = stack();
    // Three layers 2→3, 3→3 (skipped), 3→2.
    let mid = m.layers[0].clone();
    let mut square = mid.clone();
    square.w = Tensor::from_vec((0..9).map(|k| (k as f64 * 0.21).cos()).collect(), &[3, 3]);
    square.b = Tensor::from_vec(vec![0.1, -0.1, 0.0], &[3]);
    m.layers.insert(1, square);
    let x = Tensor::from_vec(vec![0.3, -0.7, 1.1, 0.2], &[2, 2]);
    let (g, gx) = m.loss_guarded_grad(&x);
    for (gi, gxi) in [
        m.loss_guarded_index_grad(&x),
        m.loss_guarded_fields_grad(&x),
        m.loss_guarded_index_fields_grad(&x),
    ] {
        assert_close(&g.to_flat(), &gi.to_flat(), 1e-12);
        assert_close(&gx.to_vec(), &gxi.to_vec(), 1e-12);
    }
    // The skipped layer gets a zero gradient; the others do not.
    assert!(g.layers[1].to_flat().iter().all(|v| *v == 0.0));
    assert!(g.layers[0].to_flat().iter().any(|v| *v != 0.0));
    assert!(g.layers[2].to_flat().iter().any(|v| *v != 0.0));
    assert_close(&g.to_flat(), &central(&m, |m| m.loss_guarded(&x)), 1e-6);
}
