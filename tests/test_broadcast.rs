//! Tensor functions through the facade: the notebooks' tensor cases as exact numbers, and
//! each tensor op's gradient against central finite differences.

use autodiff::{differentiable, tensor, Tensor};

// z = Σ (x y + y²) with x [3], y [2, 1]: ∂x_j = Σ_i y_i, ∂y_i = Σ_j x_j + 3·2 y_i.
#[differentiable]
fn seed(x: &Tensor<f64>, y: &Tensor<f64>) -> f64 {
    let z = x * y + y * *2;
    z.sum()
}

// ∂/∂x Σ (x³ + x²) = 3x² + 2x.
#[differentiable]
fn cubic(x: &Tensor<f64>) -> f64 {
    let y = x * *3 + x * *2;
    y.sum()
}

// out = mean(2 (3x + 2)²): ∂x_i = 12 (3 x_i + 2) / n.
#[differentiable]
fn layers(x: &Tensor<f64>) -> f64 {
    let y = 3 * x + 2;
    let z = 2 * y * *2;
    z.mean()
}

#[differentiable(wrt(w, b))]
fn mlp(w: &Tensor<f64>, b: &Tensor<f64>, x: &Tensor<f64>) -> f64 {
    let h = (x.matmul(w) + b).tanh();
    (h.transpose().sum_axis(0) * 0.5).dot(&h.sum_axis(1)) + h.mean_axis(0).sum()
}

#[differentiable]
fn elementwise(x: &Tensor<f64>, s: f64) -> f64 {
    let a = (x * s).sin() + x.exp() / (x * *2 + 1) - x.sigmoid() * s;
    (a.softplus() + x.reshape(&[3, 2]).transpose().sum_axis(1).sum()).sum()
}

fn fd_tensor(f: &dyn Fn(&Tensor<f64>) -> f64, x: &Tensor<f64>) -> Tensor<f64> {
    let h = 1e-6;
    let mut g = x.clone();
    for i in 0..x.len() {
        let (mut p, mut m) = (x.clone(), x.clone());
        p.as_mut_slice()[i] += h;
        m.as_mut_slice()[i] -= h;
        g.as_mut_slice()[i] = (f(&p) - f(&m)) / (2.0 * h);
    }
    g
}

fn assert_close(got: &Tensor<f64>, want: &Tensor<f64>) {
    assert_eq!(got.shape(), want.shape());
    for (a, b) in got.as_slice().iter().zip(want.as_slice()) {
        assert!((a - b).abs() <= 1e-6 + 1e-5 * b.abs(), "{got} vs {want}");
    }
}

#[test]
fn seed_cases_exact() {
    let (z, (gx, gy)) = seed_value_and_grad(&tensor![1., 2., 3.], &tensor![[4.], [5.]]);
    assert_eq!(z, 177.0);
    assert_eq!(gx, tensor![9., 9., 9.]);
    assert_eq!(gy, tensor![[30.], [36.]]);
    let x = tensor![[2., 3., 1.], [4., 5., 3.], [7., 6., 4.]];
    assert_eq!(cubic(&x), 1040.0);
    assert_eq!(
        cubic_grad(&x),
        tensor![[16., 33., 5.], [56., 85., 33.], [161., 120., 56.]]
    );
    let x = tensor![[1., 2., 3.], [3., 2., 1.]];
    assert_eq!(layers(&x), 140.0);
    assert_eq!(layers_grad(&x), tensor![[10., 16., 22.], [22., 16., 10.]]);
}

#[test]
fn seed_against_finite_differences() {
    let (x, y) = (tensor![0.3, -1.2, 2.0], tensor![[0.7], [-0.4]]);
    let (gx, gy) = seed_grad(&x, &y);
    assert_close(&gx, &fd_tensor(&|x| seed(x, &y), &x));
    assert_close(&gy, &fd_tensor(&|y| seed(&x, y), &y));
}

#[test]
fn matmul_reductions_against_finite_differences() {
    let w = Tensor::from_vec((0..6).map(|i| 0.1 * i as f64 - 0.2).collect(), &[2, 3]);
    let b = tensor![0.1, -0.3, 0.2];
    let x = tensor![[0.5, -1.0], [1.5, 0.25], [-0.7, 0.9], [0.2, 0.2]];
    let (gw, gb) = mlp_grad(&w, &b, &x);
    assert_close(&gw, &fd_tensor(&|w| mlp(w, &b, &x), &w));
    assert_close(&gb, &fd_tensor(&|b| mlp(&w, b, &x), &b));
}

#[test]
fn elementwise_ops_and_scalars_mix() {
    let x = Tensor::from_vec(vec![0.3, -0.8, 1.1, 0.05, -1.7, 0.6], &[2, 3]);
    let s = 0.7;
    let (gx, gs) = elementwise_grad(&x, s);
    assert_close(&gx, &fd_tensor(&|x| elementwise(x, s), &x));
    let h = 1e-6;
    let fd_s = (elementwise(&x, s + h) - elementwise(&x, s - h)) / (2.0 * h);
    assert!((gs - fd_s).abs() < 1e-5, "{gs} vs {fd_s}");
}

#[test]
fn vjp_of_a_tensor_valued_function() {
    #[differentiable]
    fn square(x: &Tensor<f64>) -> Tensor<f64> {
        x * x
    }
    let x = tensor![1., -2., 3.];
    let g = square_vjp(&x, &tensor![1., 1., 2.]);
    assert_eq!(g, tensor![2., -4., 12.]);
}
