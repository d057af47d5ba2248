//! Methods differentiating only their float arguments (`#[differentiable(wrt(x))]` on a
//! `&self` method): the model is a constant read in the body. Every item, the second-order
//! ones included, is checked against hand formulas and central differences.

use autodiff::{differentiable, Differentiable};

#[derive(Clone, Debug, Differentiable)]
struct Model {
    a: f64,
    b: f64,
    ws: Vec<f64>,
}

impl Model {
    /// `a x² + b x`.
    #[differentiable(wrt(x))]
    fn quad(&self, x: f64) -> f64 {
        self.a * x * x + self.b * x
    }

    /// `a x y + sin(b y)`.
    #[differentiable(wrt(x, y))]
    fn mixed(&self, x: f64, y: f64) -> f64 {
        self.a * x * y + (self.b * y).sin()
    }

    /// `Σ w_i x²`, a loop over a field.
    #[differentiable(wrt(x))]
    fn looped(&self, x: f64) -> f64 {
        let mut s = 0.0;
        for i in 0..self.ws.len() {
            s += self.ws[i] * x * x;
        }
        s
    }

    /// A body that does not read the model.
    #[differentiable(wrt(x))]
    fn free_of_self(&self, x: f64) -> f64 {
        x.exp() * x
    }

    /// The same, differentiating `self` too (by default): its gradient is zero.
    #[differentiable]
    fn unread_self(&self, x: f64) -> f64 {
        x.exp() * x
    }
}

fn model() -> Model {
    Model {
        a: 2.0,
        b: -0.75,
        ws: vec![1.0, 2.5, -0.5],
    }
}

/// A method's name, its hand-derived derivative, the central difference, and what
/// `_value_and_grad`, `_vjp` (cotangent -2) and `_jvp` (tangent 0.5) return.
type Case = (&'static str, f64, f64, (f64, f64), f64, (f64, f64));

fn d(f: impl Fn(f64) -> f64, x: f64) -> f64 {
    let h = 1e-6;
    (f(x + h) - f(x - h)) / (2.0 * h)
}

#[test]
fn first_order_items_match_hand_formulas_and_central_differences() {
    let (m, x) = (model(), 1.3);
    let sw: f64 = m.ws.iter().sum();
    let cases: [Case; 3] = [
        (
            "quad",
            2.0 * m.a * x + m.b,
            d(|x| m.quad(x), x),
            m.quad_value_and_grad(x),
            m.quad_vjp(x, -2.0),
            m.quad_jvp(x, 0.5),
        ),
        (
            "looped",
            2.0 * sw * x,
            d(|x| m.looped(x), x),
            m.looped_value_and_grad(x),
            m.looped_vjp(x, -2.0),
            m.looped_jvp(x, 0.5),
        ),
        (
            "free_of_self",
            x.exp() * (x + 1.0),
            d(|x| m.free_of_self(x), x),
            m.free_of_self_value_and_grad(x),
            m.free_of_self_vjp(x, -2.0),
            m.free_of_self_jvp(x, 0.5),
        ),
    ];
    let grads = [m.quad_grad(x), m.looped_grad(x), m.free_of_self_grad(x)];
    let values = [m.quad(x), m.looped(x), m.free_of_self(x)];
    for (k, (name, hand, fd, (v, vg), vjp, (jv, jd))) in cases.into_iter().enumerate() {
        let g = grads[k];
        assert!((g - hand).abs() < 1e-12, "{name}: grad {g} vs hand {hand}");
        assert!((g - fd).abs() < 1e-6, "{name}: grad {g} vs central {fd}");
        assert_eq!((v, vg), (values[k], g), "{name}: value_and_grad");
        assert!((vjp + 2.0 * g).abs() < 1e-12, "{name}: vjp");
        assert_eq!(jv, values[k], "{name}: jvp value");
        assert!((jd - 0.5 * g).abs() < 1e-12, "{name}: jvp");
    }
    let (gx, gy) = m.mixed_grad(x, 0.4);
    assert!((gx - m.a * 0.4).abs() < 1e-12);
    assert!((gy - (m.a * x + m.b * (m.b * 0.4).cos())).abs() < 1e-12);
    assert!((gy - d(|y| m.mixed(x, y), 0.4)).abs() < 1e-6);
}

#[test]
fn second_order_items_match_hand_formulas() {
    let (m, x, y) = (model(), 1.3, 0.4);
    assert_eq!(m.quad_hessian(x), 2.0 * m.a);
    assert_eq!(m.quad_hvp(x, 0.5), m.a);
    let h = m.mixed_hessian(x, y);
    let hyy = -m.b * m.b * (m.b * y).sin();
    let want = [[0.0, m.a], [m.a, hyy]];
    for (row, w) in h.iter().zip(want) {
        for (a, b) in row.iter().zip(w) {
            assert!((a - b).abs() < 1e-12, "mixed hessian {h:?}");
        }
    }
    let (hx, hy) = m.mixed_hvp(x, y, 1.0, -2.0);
    assert!((hx - (-2.0 * m.a)).abs() < 1e-12);
    assert!((hy - (m.a - 2.0 * hyy)).abs() < 1e-12);
    let sw: f64 = m.ws.iter().sum();
    assert!((m.looped_hvp(x, 0.5) - sw).abs() < 1e-12);
    let fd = d(|x| m.free_of_self_grad(x), x);
    assert!((m.free_of_self_hessian(x) - fd).abs() < 1e-6);
}

#[test]
fn a_differentiated_self_the_body_does_not_read() {
    let (m, x) = (model(), 0.8f64);
    let want = x.exp() * (x + 1.0);
    let (gm, gx) = m.unread_self_grad(x);
    assert_eq!(gm.to_flat(), vec![0.0; 5]);
    assert!((gx - want).abs() < 1e-12);
    let (v, (gm, gx)) = m.unread_self_value_and_grad(x);
    assert_eq!(
        (v, gm.to_flat(), gx),
        (m.unread_self(x), vec![0.0; 5], want)
    );
    let (gm, gx) = m.unread_self_vjp(x, 3.0);
    assert_eq!((gm.to_flat(), gx), (vec![0.0; 5], 3.0 * want));
    let t = model();
    let (v, dv) = m.unread_self_jvp(x, &t, 0.5);
    assert_eq!(v, m.unread_self(x));
    assert!((dv - 0.5 * want).abs() < 1e-12);
    let (hm, hx) = m.unread_self_hvp(x, &t, 1.0);
    assert_eq!(hm.to_flat(), vec![0.0; 5]);
    assert!((hx - d(|x| x.exp() * (x + 1.0), x)).abs() < 1e-6);
}
