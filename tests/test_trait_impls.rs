//! `#[differentiable]` on a trait impl (`impl Model for Lin`): the marked methods stay in the
//! trait impl, so generic code over the trait calls them, and their generated items are
//! methods of the type (an inherent impl written beside it). Checked against hand formulas
//! and central differences, for a float model, a generic one, and a tensor layer whose
//! method calls another method of the same trait impl.

use autodiff::{differentiable, tensor, Differentiable, Float, Tensor};

trait Model {
    fn loss(&self, x: f64) -> f64;
    fn describe(&self) -> String;
}

#[derive(Clone, Debug, Differentiable)]
struct Quad {
    a: f64,
    b: f64,
}

#[differentiable]
impl Model for Quad {
    /// `a x² + sin(b x)`.
    #[differentiable]
    fn loss(&self, x: f64) -> f64 {
        self.a * x * x + (self.b * x).sin()
    }

    fn describe(&self) -> String {
        format!("{} x^2 + sin({} x)", self.a, self.b)
    }
}

fn through_the_trait<M: Model>(m: &M, x: f64) -> f64 {
    m.loss(x)
}

#[test]
fn a_float_model_behind_a_trait() {
    let (m, x) = (Quad { a: 0.7, b: -1.3 }, 0.9);
    assert_eq!(through_the_trait(&m, x), m.loss(x));
    assert_eq!(m.describe(), "0.7 x^2 + sin(-1.3 x)");
    let (g, gx) = m.loss_grad(x);
    let c = (m.b * x).cos();
    assert_eq!((g.a, g.b, gx), (x * x, x * c, 2.0 * m.a * x + m.b * c));
    let h = 1e-6;
    let at = |a: f64, b: f64| Quad { a, b }.loss(x);
    assert!((g.a - (at(m.a + h, m.b) - at(m.a - h, m.b)) / (2.0 * h)).abs() < 1e-6);
    assert!((g.b - (at(m.a, m.b + h) - at(m.a, m.b - h)) / (2.0 * h)).abs() < 1e-6);
    let (v, (g2, gx2)) = m.loss_value_and_grad(x);
    assert_eq!((v, g2.a, g2.b, gx2), (m.loss(x), g.a, g.b, gx));
    let (gv, gxv) = m.loss_vjp(x, 2.0);
    assert_eq!((gv.a, gv.b, gxv), (2.0 * g.a, 2.0 * g.b, 2.0 * gx));
    let t = Quad { a: 1.0, b: 0.0 };
    let (_, d) = m.loss_jvp(x, &t, 0.0);
    assert!((d - g.a).abs() < 1e-12);
    // Second order: flat parameters (a, b, x).
    let s = (m.b * x).sin();
    let hs = m.loss_hessian(x);
    let want = [
        [0.0, 0.0, 2.0 * x],
        [0.0, -x * x * s, c - m.b * x * s],
        [2.0 * x, c - m.b * x * s, 2.0 * m.a - m.b * m.b * s],
    ];
    for (row, w) in hs.iter().zip(want) {
        for (a, b) in row.iter().zip(w) {
            assert!((a - b).abs() < 1e-12, "{hs:?}");
        }
    }
    let (hv, hx) = m.loss_hvp(x, &t, 0.0);
    assert!((hv.a - want[0][0]).abs() < 1e-12 && (hv.b - want[1][0]).abs() < 1e-12);
    assert!((hx - want[2][0]).abs() < 1e-12);
    // The formulas and the trace name the fields.
    let names: Vec<&str> = Quad::loss_grad_formulas().iter().map(|p| p.0).collect();
    assert_eq!(names, ["self.a", "self.b", "x"]);
    let tr = m.loss_trace(x);
    assert_eq!(tr.value("x").item(), x);
    assert!((tr.grad("x").item() - gx).abs() < 1e-12);
}

/// A generic trait and a generic impl.
trait Energy<T> {
    fn energy(&self, x: T) -> T;
}

#[derive(Clone, Debug, Differentiable)]
struct Spring<T: Float> {
    k: T,
}

#[differentiable]
impl<T: Float> Energy<T> for Spring<T> {
    #[differentiable]
    fn energy(&self, x: T) -> T {
        0.5 * self.k * x * x
    }
}

#[test]
fn a_generic_impl_of_a_generic_trait() {
    let s = Spring { k: 3.0f32 };
    let (g, gx) = s.energy_grad(2.0);
    assert_eq!((g.k, gx), (2.0, 6.0));
    let s = Spring { k: 3.0f64 };
    let (g, gx) = s.energy_grad(-1.5);
    assert_eq!((g.k, gx), (1.125, -4.5));
    fn through<E: Energy<f64>>(e: &E, x: f64) -> f64 {
        e.energy(x)
    }
    assert_eq!(through(&s, -1.5), 3.375);
}

/// A layer trait; `loss` calls `forward` of the same impl.
trait Layer {
    fn forward(&self, x: &Tensor<f64>) -> Tensor<f64>;
    fn loss(&self, x: &Tensor<f64>, y: &Tensor<f64>) -> f64;
}

#[derive(Clone, Debug, Differentiable)]
struct Dense {
    w: Tensor<f64>,
    b: Tensor<f64>,
}

#[differentiable]
impl Layer for Dense {
    #[differentiable]
    fn forward(&self, x: &Tensor<f64>) -> Tensor<f64> {
        (x.matmul(&self.w) + &self.b).tanh()
    }

    #[differentiable(wrt(self))]
    fn loss(&self, x: &Tensor<f64>, y: &Tensor<f64>) -> f64 {
        ((self.forward(x) - y) * (self.forward(x) - y)).mean()
    }
}

#[test]
fn a_tensor_layer_whose_method_calls_another() {
    let d = Dense {
        w: tensor![[0.2, -0.4], [0.7, 0.1]],
        b: tensor![[0.05, -0.1]],
    };
    let x = tensor![[1.0, 0.5], [-0.3, 2.0], [0.4, -1.0]];
    let y = tensor![[0.1, 0.2], [0.0, -0.5], [0.3, 0.3]];
    let g = d.loss_grad(&x, &y);
    let flat = d.to_flat();
    let h = 1e-6;
    for (k, got) in g.to_flat().iter().enumerate() {
        let (mut p, mut q) = (flat.clone(), flat.clone());
        p[k] += h;
        q[k] -= h;
        let want = (d.from_flat(&p).loss(&x, &y) - d.from_flat(&q).loss(&x, &y)) / (2.0 * h);
        assert!((got - want).abs() < 1e-6, "leaf {k}: {got} vs {want}");
    }
    let (gl, gx) = d.forward_vjp(&x, &Tensor::ones(&[3, 2]));
    assert_eq!(gl.w.shape(), &[2, 2]);
    assert_eq!(gx.shape(), &[3, 2]);
}
