//! Numerical care: large arguments do not overflow, IEEE special values propagate.

use autodiff::{differentiable, tensor, Tensor};

#[differentiable]
fn sig(x: f64) -> f64 {
    x.sigmoid()
}

#[differentiable]
fn soft(x: f64) -> f64 {
    x.softplus()
}

#[differentiable]
fn hyp(x: f64, y: f64) -> f64 {
    x.hypot(y)
}

#[differentiable]
fn log1p_expm1(x: f64) -> f64 {
    x.ln_1p() + x.exp_m1()
}

/// log Σ exp(x_i), written stably: max + log Σ exp(x_i − max).
#[differentiable]
fn logsumexp(x: &Tensor<f64>, m: f64) -> f64 {
    m + (x - m).exp().sum().ln()
}

#[differentiable]
fn root(x: f64) -> f64 {
    x.sqrt()
}

#[test]
fn sigmoid_and_softplus_saturate_without_overflow() {
    // σ(x) = 1/(1 + e^(-x)), σ' = σ(1 − σ).
    assert_eq!(sig_value_and_grad(1000.0), (1.0, 0.0));
    assert_eq!(sig_value_and_grad(-1000.0), (0.0, 0.0));
    // softplus(x) = ln(1 + eˣ), derivative σ(x).
    assert_eq!(soft_value_and_grad(1000.0), (1000.0, 1.0));
    let (v, g) = soft_value_and_grad(-1000.0);
    assert!((0.0..1e-300).contains(&v) && g == 0.0, "{v} {g}");
}

#[test]
fn hypot_of_large_values_is_finite() {
    // ∂/∂x hypot(x, y) = x / hypot(x, y).
    let (v, (gx, gy)) = hyp_value_and_grad(3e200, 4e200);
    assert!((v / 5e200 - 1.0).abs() < 1e-15, "{v}");
    assert!(
        (gx - 0.6).abs() < 1e-15 && (gy - 0.8).abs() < 1e-15,
        "{gx} {gy}"
    );
}

#[test]
fn small_arguments_keep_their_precision() {
    // ln(1 + x) + eˣ − 1 ≈ 2x for tiny x; derivative 1/(1 + x) + eˣ ≈ 2.
    let (v, g) = log1p_expm1_value_and_grad(1e-17);
    assert_eq!(v, 2e-17);
    assert_eq!(g, 2.0);
}

#[test]
fn log_sum_exp_of_large_values() {
    let x = tensor![1000., 1001., 1002.];
    let (v, (gx, gm)) = logsumexp_value_and_grad(&x, 1002.0);
    let softmax: Vec<f64> = {
        let e: Vec<f64> = x.as_slice().iter().map(|xi| (xi - 1002.0).exp()).collect();
        let s: f64 = e.iter().sum();
        e.iter().map(|ei| ei / s).collect()
    };
    assert!((v - (1002.0 + (1.0 + (-1f64).exp() + (-2f64).exp()).ln())).abs() < 1e-12);
    // ∂/∂x = softmax(x); the shift m cancels: ∂/∂m = 1 − Σ softmax = 0.
    for (g, s) in gx.as_slice().iter().zip(&softmax) {
        assert!((g - s).abs() < 1e-15);
    }
    assert!(gm.abs() < 1e-15, "{gm}");
}

#[test]
fn nan_and_inf_propagate() {
    assert!(root_grad(-1.0).is_nan());
    assert_eq!(root_grad(0.0), f64::INFINITY);
    assert!(sig_grad(f64::NAN).is_nan());
    assert!(soft(f64::NAN).is_nan());
    assert_eq!(root(f64::INFINITY), f64::INFINITY);
    assert_eq!(root_grad(f64::INFINITY), 0.0);
}
