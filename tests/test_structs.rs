//! Models as structs: `#[derive(Differentiable)]`, `#[differentiable]` methods, gradients
//! shaped like the model.

use autodiff::{tensor, Differentiable, Tensor};

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Linear<T: autodiff::Float> {
    w: Tensor<T>,
    b: Tensor<T>,
}

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Mlp {
    l1: Linear<f64>,
    l2: Linear<f64>,
    #[autodiff(skip)]
    temperature: f64,
    classes: usize,
    on: bool,
}

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Leaves {
    a: f64,
    arr: [f64; 2],
    v: Vec<f64>,
    layers: Vec<Linear<f64>>,
    pair: [Scalars; 2],
}

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Scalars(f64, #[autodiff(skip)] f64, f64);

fn mlp() -> Mlp {
    Mlp {
        l1: Linear {
            w: tensor![[1., 2.], [3., 4.]],
            b: tensor![0.5, -0.5],
        },
        l2: Linear {
            w: tensor![[1.], [-1.]],
            b: tensor![0.25],
        },
        temperature: 2.0,
        classes: 3,
        on: true,
    }
}

#[test]
fn derive_counts_and_flattens_in_field_order() {
    let m = mlp();
    assert_eq!(m.num_params(), 4 + 2 + 2 + 1);
    assert_eq!(m.to_flat(), vec![1., 2., 3., 4., 0.5, -0.5, 1., -1., 0.25]);
    let flat: Vec<f64> = (0..9).map(f64::from).collect();
    let back = m.from_flat(&flat);
    assert_eq!(back.l1.w, tensor![[0., 1.], [2., 3.]]);
    assert_eq!(back.l1.b, tensor![4., 5.]);
    assert_eq!(back.l2.w, tensor![[6.], [7.]]);
    assert_eq!(back.l2.b, tensor![8.]);
    // Constants are copied from `self`.
    assert_eq!((back.temperature, back.classes, back.on), (2.0, 3, true));
    assert_eq!(back.to_flat(), flat);
}

#[test]
fn derive_zeros_and_scaled_add_leave_constants_alone() {
    let mut m = mlp();
    let z = m.zeros_like();
    assert_eq!(z.to_flat(), vec![0.0; 9]);
    assert_eq!((z.temperature, z.classes, z.on), (2.0, 3, true));
    let mut g = m.from_flat(&[1.0; 9]);
    g.temperature = 100.0;
    m.scaled_add(-0.5, &g);
    assert_eq!(
        m.to_flat(),
        vec![0.5, 1.5, 2.5, 3.5, 0., -1., 0.5, -1.5, -0.25]
    );
    assert_eq!(m.temperature, 2.0);
}

#[test]
fn derive_nested_collections() {
    let x = Leaves {
        a: 1.0,
        arr: [2.0, 3.0],
        v: vec![4.0],
        layers: vec![
            Linear {
                w: tensor![5.],
                b: tensor![6.],
            },
            Linear {
                w: tensor![7., 8.],
                b: tensor![9.],
            },
        ],
        pair: [Scalars(10.0, -1.0, 11.0), Scalars(12.0, -2.0, 13.0)],
    };
    assert_eq!(x.num_params(), 13);
    let flat: Vec<f64> = (1..=13).map(f64::from).collect();
    assert_eq!(x.to_flat(), flat);
    assert_eq!(x.from_flat(&flat), x);
    let z = x.zeros_like();
    assert_eq!(z.pair[1].1, -2.0);
    assert_eq!(z.layers[1].w, tensor![0., 0.]);
}

#[test]
fn derive_generic_f32() {
    let l = Linear::<f32> {
        w: tensor![1.0f32, 2.0],
        b: tensor![3.0f32],
    };
    let flat: Vec<f32> = l.to_flat();
    assert_eq!(flat, vec![1.0f32, 2.0, 3.0]);
}

#[test]
#[should_panic(expected = "from_flat: got 2 values, but the value has 9 parameters")]
fn from_flat_wrong_length_names_both() {
    mlp().from_flat(&[1.0, 2.0]);
}

// ---------------------------------------------------------------------------------------
// Methods

use autodiff::differentiable;

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Affine {
    w: f64,
    b: f64,
    #[autodiff(skip)]
    scale: f64,
}

impl Affine {
    #[rustfmt::skip]
    #[differentiable(wrt(self))]
    fn loss(&self, x: f64, y: f64) -> f64 {
        (self.scale * (self.w * x + self.b) - y)**2
    }
}

#[test]
fn scalar_method_gradient_is_the_struct() {
    let m = Affine {
        w: 2.0,
        b: 0.5,
        scale: 3.0,
    };
    let (x, y) = (1.5, 4.0);
    assert_eq!(m.loss(x, y), (3.0f64 * 3.5 - 4.0).powi(2));
    let g: Affine = m.loss_grad(x, y);
    // d/dw = 2 r s x, d/db = 2 r s, r = s (w x + b) - y
    let r = 3.0 * (2.0 * 1.5 + 0.5) - 4.0;
    assert_eq!(g.w, 2.0 * r * 3.0 * x);
    assert_eq!(g.b, 2.0 * r * 3.0);
    assert_eq!(g.scale, 3.0, "a skipped field is a copy of the input's");
    let (v, g2) = m.loss_value_and_grad(x, y);
    assert_eq!(v, m.loss(x, y));
    assert_eq!(g2, g);
    let gv = m.loss_vjp(x, y, 2.0);
    assert_eq!(gv.w, 2.0 * g.w);
}

impl Linear<f64> {
    #[differentiable]
    fn forward(&self, x: &Tensor<f64>) -> Tensor<f64> {
        x.matmul(&self.w) + &self.b
    }
}

impl Mlp {
    #[rustfmt::skip]
    #[differentiable(wrt(self))]
    fn loss(&self, x: &Tensor<f64>, y: &Tensor<f64>) -> f64 {
        let h = self.l1.forward(x).tanh();
        ((self.l2.forward(&h) - y)**2).mean()
    }
}

/// The same network as flat parameters, for reference.
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

fn data() -> (Tensor<f64>, Tensor<f64>) {
    (
        tensor![[0.5, -1.0], [1.5, 0.25], [-0.5, 2.0]],
        tensor![[1.0], [0.0], [-1.0]],
    )
}

/// Central differences of `f` over every leaf of `m`.
fn central<M: Differentiable<Scalar = f64>>(m: &M, f: impl Fn(&M) -> f64) -> Vec<f64> {
    let flat = m.to_flat();
    let h = 1e-6;
    (0..flat.len())
        .map(|i| {
            let (mut up, mut down) = (flat.clone(), flat.clone());
            up[i] += h;
            down[i] -= h;
            (f(&m.from_flat(&up)) - f(&m.from_flat(&down))) / (2.0 * h)
        })
        .collect()
}

fn close(a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * (1.0 + y.abs()),
            "component {i}: {x} vs {y}"
        );
    }
}

#[test]
fn method_calls_through_the_chain_rule() {
    let m = mlp();
    let (x, y) = data();
    let g: Mlp = m.loss_grad(&x, &y);
    close(&g.to_flat(), &central(&m, |m| m.loss(&x, &y)), 1e-6);
    assert_eq!((g.temperature, g.classes, g.on), (2.0, 3, true));
    // The flat version of the same network gives the same numbers.
    let (w1, b1, w2, b2) = mlp_flat_grad(&m.l1.w, &m.l1.b, &m.l2.w, &m.l2.b, &x, &y);
    assert_eq!(g.l1.w, w1);
    assert_eq!(g.l1.b, b1);
    assert_eq!(g.l2.w, w2);
    assert_eq!(g.l2.b, b2);
    let (v, g2) = m.loss_value_and_grad(&x, &y);
    assert_eq!(v, mlp_flat(&m.l1.w, &m.l1.b, &m.l2.w, &m.l2.b, &x, &y));
    assert_eq!(g2, g);
}

#[test]
fn method_with_tensor_input_differentiates_both() {
    let l = Linear {
        w: tensor![[1., 2.], [3., 4.]],
        b: tensor![0.5, -0.5],
    };
    let x = tensor![[1.0, -1.0]];
    let (gl, gx): (Linear<f64>, Tensor<f64>) = l.forward_vjp(&x, &tensor![[1.0, 2.0]]);
    // out = x w + b: d/dw = xᵀ c, d/db = c, d/dx = c wᵀ
    assert_eq!(gl.w, tensor![[1.0, 2.0], [-1.0, -2.0]]);
    assert_eq!(gl.b, tensor![1.0, 2.0]);
    assert_eq!(gx, tensor![[5.0, 11.0]]);
}

#[test]
fn training_with_scaled_add_lowers_the_loss() {
    let mut m = mlp();
    let (x, y) = data();
    let first = m.loss(&x, &y);
    for _ in 0..50 {
        let g = m.loss_grad(&x, &y);
        m.scaled_add(-0.1, &g);
    }
    assert!(
        m.loss(&x, &y) < 0.5 * first,
        "{} vs {first}",
        m.loss(&x, &y)
    );
}

// ---------------------------------------------------------------------------------------
// Generic impl blocks, free functions with struct parameters, nested fields

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Poly<T: autodiff::Float> {
    a: T,
    c: [T; 2],
}

impl<T: autodiff::Float> Poly<T> {
    #[rustfmt::skip]
    #[differentiable]
    fn eval(&self, x: T) -> T {
        self.a * x**2 + self.c[0] * x + self.c[1]
    }
}

#[test]
fn generic_impl_block() {
    let p = Poly {
        a: 2.0f64,
        c: [3.0, -1.0],
    };
    assert_eq!(p.eval(2.0), 13.0);
    // self and x both differentiated by default.
    let (gp, gx) = p.eval_grad(2.0);
    assert_eq!(
        gp,
        Poly {
            a: 4.0,
            c: [2.0, 1.0]
        }
    );
    assert_eq!(gx, 2.0 * 2.0 * 2.0 + 3.0);
    let q = Poly {
        a: 1.0f32,
        c: [0.5, 0.0],
    };
    let (gq, _) = q.eval_grad(3.0f32);
    assert_eq!(
        gq,
        Poly {
            a: 9.0f32,
            c: [3.0, 1.0]
        }
    );
}

#[rustfmt::skip]
#[differentiable(wrt(l))]
fn affine_sum(l: &Linear<f64>, x: &Tensor<f64>) -> f64 {
    (x.matmul(&l.w) + &l.b).sum()
}

#[rustfmt::skip]
#[differentiable(wrt(m))]
fn mlp_loss_free(m: &Mlp, x: &Tensor<f64>, y: &Tensor<f64>) -> f64 {
    let h = m.l1.forward(x).tanh();
    let z = h.matmul(&m.l2.w) + &m.l2.b;
    ((z - y)**2).mean() + 0.1 * affine_sum(&m.l1, &x)
}

#[test]
fn free_function_with_a_struct_parameter() {
    let m = mlp();
    let (x, y) = data();
    let g: Mlp = mlp_loss_free_grad(&m, &x, &y);
    close(
        &g.to_flat(),
        &central(&m, |m| mlp_loss_free(m, &x, &y)),
        1e-6,
    );
    let l = &m.l1;
    let gl = affine_sum_grad(l, &x);
    // d/dw sum(x w + b) = xᵀ 1, d/db = number of rows
    assert_eq!(gl.w, tensor![[1.5, 1.5], [1.25, 1.25]]);
    assert_eq!(gl.b, tensor![3.0, 3.0]);
}

#[test]
fn struct_parameter_not_in_wrt_is_a_constant() {
    #[differentiable(wrt(s))]
    fn scaled(m: &Affine, s: f64) -> f64 {
        m.w * s * s
    }
    let m = Affine {
        w: 3.0,
        b: 0.0,
        scale: 1.0,
    };
    assert_eq!(scaled_grad(&m, 2.0), 12.0);
}

// ---------------------------------------------------------------------------------------
// Stacks of layers, constants read from the struct, overlapping paths, formulas

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Stack {
    layers: Vec<Linear<f64>>,
    depth: usize,
    #[autodiff(skip)]
    gain: f64,
}

impl Stack {
    #[rustfmt::skip]
    #[differentiable(wrt(self))]
    fn loss(&self, x: &Tensor<f64>) -> f64 {
        let h = self.layers[0].forward(x).tanh();
        let out = self.layers[1].forward(&h) * self.gain;
        (out**2).sum() + self.layers[0].b.sum() / self.depth as f64
    }
}

fn stack() -> Stack {
    Stack {
        layers: vec![
            Linear {
                w: tensor![[0.5, -0.25], [1.0, 0.75]],
                b: tensor![0.1, -0.2],
            },
            Linear {
                w: tensor![[1.5], [-0.5]],
                b: tensor![0.3],
            },
        ],
        depth: 4,
        gain: 2.0,
    }
}

#[test]
fn layers_in_a_vec_by_constant_index() {
    let s = stack();
    let x = tensor![[1.0, 2.0], [-0.5, 0.25]];
    let g: Stack = s.loss_grad(&x);
    close(&g.to_flat(), &central(&s, |s| s.loss(&x)), 1e-6);
    assert_eq!((g.depth, g.gain), (4, 2.0));
    assert_eq!(g.layers.len(), 2);
}

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Series {
    c: Vec<f64>,
    n: usize,
}

impl Series {
    /// `self.n` in the loop's range is a constant; `self.c` is a leaf read whole by a call.
    #[rustfmt::skip]
    #[differentiable(wrt(self))]
    fn value(&self, x: f64) -> f64 {
        let mut s = 0.0;
        for k in 0..self.n {
            s += x**2 * (k as f64);
        }
        s * horner(&self.c, x)
    }
}

#[differentiable(wrt(c))]
fn horner(c: &[f64], x: f64) -> f64 {
    let mut acc = 0.0;
    for i in 0..c.len() {
        acc = acc * x + c[i];
    }
    acc
}

#[test]
fn integer_fields_are_constants_and_slices_pass_to_functions() {
    let s = Series {
        c: vec![1.0, -2.0, 0.5],
        n: 3,
    };
    let x = 1.5;
    // s = 3 x², h(c) = c0 x² + c1 x + c2: ∂/∂c = 3x² · [x², x, 1]
    let g = s.value_grad(x);
    let k = 3.0 * x * x;
    assert_eq!(g.c, vec![k * x * x, k * x, k]);
    assert_eq!(g.n, 3);
    close(&g.to_flat(), &central(&s, |s| s.value(x)), 1e-6);
}

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Wrapped {
    inner: Affine,
    extra: f64,
}

impl Affine {
    #[rustfmt::skip]
    #[differentiable(wrt(self))]
    fn apply(&self, x: f64) -> f64 {
        self.w * x + self.b
    }
}

impl Wrapped {
    /// `self.inner` as a receiver and `self.inner.w` as a field: their gradients add up.
    #[rustfmt::skip]
    #[differentiable(wrt(self))]
    fn loss(&self, x: f64) -> f64 {
        self.inner.apply(x) * self.inner.w + self.extra * self.inner.apply(2 * x)
    }
}

#[test]
fn overlapping_paths_add_up() {
    let m = Wrapped {
        inner: Affine {
            w: 1.5,
            b: -0.5,
            scale: 7.0,
        },
        extra: 0.25,
    };
    let x = 2.0;
    let g = m.loss_grad(x);
    // L = (w x + b) w + e (2 w x + b)
    let (w, b, e) = (1.5, -0.5, 0.25);
    assert_eq!(g.inner.w, 2.0 * w * x + b + 2.0 * e * x);
    assert_eq!(g.inner.b, w + e);
    assert_eq!(g.extra, 2.0 * w * x + b);
    assert_eq!(g.inner.scale, 7.0);
    close(&g.to_flat(), &central(&m, |m| m.loss(x)), 1e-6);
}

#[test]
fn formulas_and_trace_name_the_fields() {
    let f = Affine::apply_grad_formulas();
    assert_eq!(f, [("self.w", "x"), ("self.b", "1")]);
    // `eval` differentiates `self` and `x`: the trace has x's gradient 2 a x + c0.
    let p = Poly {
        a: 2.0f64,
        c: [3.0, -1.0],
    };
    let t = p.eval_trace(1.5);
    assert_eq!(t.value("x").item(), 1.5);
    assert_eq!(t.grad("x").item(), 2.0 * 2.0 * 1.5 + 3.0);
}

#[test]
fn generic_impl_against_central_differences() {
    let p = Poly {
        a: -0.5f64,
        c: [1.25, 2.0],
    };
    let x = 0.75;
    let (g, _) = p.eval_grad(x);
    close(&g.to_flat(), &central(&p, |p| p.eval(x)), 1e-6);
}

impl Affine {
    /// `wrt(self, x)`: the gradient is `(Self, f64)`.
    #[rustfmt::skip]
    #[differentiable(wrt(self, x))]
    fn both(&self, x: f64, y: f64) -> f64 {
        (self.w * x - y)**2 + self.b * x
    }
}

#[test]
fn wrt_self_and_a_float() {
    let m = Affine {
        w: 2.0,
        b: 0.5,
        scale: 9.0,
    };
    let (x, y) = (1.5, 1.0);
    let (gm, gx): (Affine, f64) = m.both_grad(x, y);
    let r = m.w * x - y;
    assert_eq!(
        gm,
        Affine {
            w: 2.0 * r * x,
            b: x,
            scale: 9.0
        }
    );
    assert_eq!(gx, 2.0 * r * m.w + m.b);
    let h = 1e-6;
    let fd = (m.both(x + h, y) - m.both(x - h, y)) / (2.0 * h);
    assert!((gx - fd).abs() < 1e-6);
    // The pullback has one slot per parameter as written: self, x, y.
    let (ps, px, py) = m.__both_pullback(x, y, &1.0);
    assert_eq!((ps, px, py), (gm, gx, 0.0));
}

#[test]
fn trace_and_formulas_of_a_model_with_method_calls() {
    let m = mlp();
    let (x, y) = data();
    let t = m.loss_trace(&x, &y);
    let h = t.value("h");
    assert_eq!(h.shape(), &[3, 2]);
    assert_eq!(t.value("h"), (x.matmul(&m.l1.w) + &m.l1.b).tanh());
    // A struct leaf is a node without a value; a float leaf has its value and gradient.
    assert_eq!(t.value("self.l1").len(), 0);
    let a = Affine {
        w: 2.0,
        b: 1.0,
        scale: 1.0,
    };
    let ta = a.apply_trace(3.0);
    assert_eq!(ta.value("self.w").item(), 2.0);
    assert_eq!(ta.grad("self.w").item(), 3.0);
    assert_eq!(ta.grad("self.b").item(), 1.0);
    let names: Vec<&str> = Mlp::loss_grad_formulas().iter().map(|p| p.0).collect();
    assert_eq!(names, ["self.l1", "self.l2"]);
}

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Dense<T: autodiff::Float> {
    w: Tensor<T>,
    b: Tensor<T>,
}

impl<T: autodiff::Float> Dense<T> {
    #[differentiable(wrt(self))]
    fn score(&self, x: &Tensor<T>) -> T {
        (x.matmul(&self.w) + &self.b).tanh().sum()
    }
}

#[test]
fn generic_impl_block_with_tensors() {
    let d = Dense {
        w: tensor![[0.5, -1.0], [0.25, 2.0]],
        b: tensor![0.1, -0.3],
    };
    let x = tensor![[1.0, -2.0]];
    let g: Dense<f64> = d.score_grad(&x);
    close(&g.to_flat(), &central(&d, |d| d.score(&x)), 1e-6);
    let d32 = Dense {
        w: tensor![[0.5f32], [0.25]],
        b: tensor![0.0f32],
    };
    let g32 = d32.score_grad(&tensor![[1.0f32, 1.0]]);
    let t = (0.75f32).tanh();
    assert!((g32.b.item() - (1.0 - t * t)).abs() < 1e-6);
}

#[derive(Clone, Debug, Differentiable)]
struct Copied {
    w: Tensor<f64>,
    s: f64,
}

impl Copied {
    /// A field copied with `clone` before use: the gradient passes through the copy.
    #[differentiable(wrt(self))]
    fn loss(&self, x: &Tensor<f64>) -> f64 {
        let h = self.w.clone();
        let k = self.s.clone();
        (h * x).sum() * k
    }
}

#[test]
fn clone_of_a_field_is_the_field() {
    let m = Copied {
        w: tensor![1.0, 2.0],
        s: 1.5,
    };
    let x = tensor![3.0, 4.0];
    let g = m.loss_grad(&x);
    // loss = s * (w · x): ∂/∂w = s x, ∂/∂s = w · x.
    assert_eq!(g.w.to_vec(), vec![4.5, 6.0]);
    assert_eq!(g.s, 11.0);
}

#[derive(Clone, Debug, Differentiable)]
struct TwoStep {
    w: Tensor<f64>,
}

impl TwoStep {
    #[differentiable(wrt(self))]
    fn first(&self, x: &Tensor<f64>) -> f64 {
        x.matmul(&self.w).sum()
    }

    /// A differentiable method called through `Self::`.
    #[differentiable(wrt(self))]
    fn second(&self, x: &Tensor<f64>) -> f64 {
        Self::first(self, x) * 2.0
    }
}

#[test]
fn a_method_called_through_self_path() {
    let m = TwoStep {
        w: tensor![[1.0], [2.0]],
    };
    let x = tensor![[1.0, 3.0]];
    // second = 2 Σ x w: ∂/∂w = 2 xᵀ.
    assert_eq!(m.second_grad(&x).w.to_vec(), vec![2.0, 6.0]);
    assert_eq!(m.second(&x), 14.0);
}
