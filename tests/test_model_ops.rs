//! The tensor operations for models (API.md "Tensor operations for models") inside
//! `#[differentiable]` bodies: every op against central finite differences, against
//! PyTorch's conventions (ties share the gradient, stable at logits of 1000), and a softmax
//! cross-entropy loss with one-hot labels.

use autodiff::{differentiable, tensor, Tensor};

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

#[track_caller]
fn assert_close(got: &Tensor<f64>, want: &Tensor<f64>) {
    assert_eq!(got.shape(), want.shape());
    for (a, b) in got.as_slice().iter().zip(want.as_slice()) {
        assert!((a - b).abs() <= 1e-6 + 1e-5 * b.abs(), "{got} vs {want}");
    }
}

/// A fixed, irregular input without ties: [2, 3, 4].
fn input() -> Tensor<f64> {
    Tensor::from_vec(
        (0..24)
            .map(|i| ((i * 7 % 11) as f64 - 5.0) * 0.37 + (i as f64) * 0.013)
            .collect(),
        &[2, 3, 4],
    )
}

/// A weight for each element, so that a reduction of the output is not symmetric.
fn weights(shape: &[usize]) -> Tensor<f64> {
    let n: usize = shape.iter().product();
    Tensor::from_vec((0..n).map(|i| 0.5 + (i % 5) as f64 * 0.3).collect(), shape)
}

#[differentiable(wrt(x))]
fn max_all_loss(x: &Tensor<f64>, w: &Tensor<f64>) -> f64 {
    x.max_all() * 2.0 + (x * w).min_all()
}

#[differentiable(wrt(x))]
fn axis_loss0(x: &Tensor<f64>, w: &Tensor<f64>) -> f64 {
    (x.max_axis(0) * w).sum() + x.min_axis(0).sum() * 0.5
}

#[differentiable(wrt(x))]
fn axis_loss1(x: &Tensor<f64>, w: &Tensor<f64>) -> f64 {
    (x.max_axis(1) * w).sum() - (x.min_axis(1) * w).sum()
}

#[differentiable(wrt(x))]
fn axis_loss2(x: &Tensor<f64>, w: &Tensor<f64>) -> f64 {
    (x.max_axis(2) * w).sum()
}

#[differentiable]
fn lse(x: &Tensor<f64>) -> f64 {
    x.logsumexp()
}

#[differentiable(wrt(x))]
fn lse_axis1(x: &Tensor<f64>, w: &Tensor<f64>) -> f64 {
    (x.logsumexp_axis(1) * w).sum()
}

#[differentiable(wrt(x))]
fn lse_axis2(x: &Tensor<f64>, w: &Tensor<f64>) -> f64 {
    (x.logsumexp_axis(2) * w).sum()
}

#[differentiable(wrt(x))]
fn softmax_loss(x: &Tensor<f64>, w: &Tensor<f64>) -> f64 {
    (x.softmax(1) * w).sum() + (x.softmax(2) * w).sum() * 0.5 + (x.softmax(0) * w).sum()
}

#[differentiable(wrt(x))]
fn log_softmax_loss(x: &Tensor<f64>, w: &Tensor<f64>) -> f64 {
    (x.log_softmax(2) * w).sum() + (x.log_softmax(0) * w).sum() * 0.5
}

#[differentiable(wrt(x))]
fn unsqueeze_loss(x: &Tensor<f64>, w: &Tensor<f64>) -> f64 {
    // [2, 3, 4] -> [2, 1, 3, 4] broadcast against [5, 1, 1] -> [2, 5, 3, 4]
    let u = x.unsqueeze(1);
    (u.sin() * w).sum() + x.sum_axis(2).unsqueeze(2).tanh().sum()
}

#[differentiable]
fn softmax_vec(x: &Tensor<f64>) -> Tensor<f64> {
    x.softmax(1)
}

/// Softmax cross-entropy of a linear layer, with one-hot labels (the CS231n loss).
#[differentiable(wrt(w, b))]
fn cross_entropy(w: &Tensor<f64>, b: &Tensor<f64>, x: &Tensor<f64>, y: &Tensor<f64>) -> f64 {
    let logits = x.matmul(w) + b;
    let logp = logits.log_softmax(1);
    -(y * logp).sum() / 4.0
}

/// The same loss written with logsumexp, as PyTorch's cross_entropy defines it.
#[differentiable(wrt(w, b))]
fn cross_entropy_lse(w: &Tensor<f64>, b: &Tensor<f64>, x: &Tensor<f64>, y: &Tensor<f64>) -> f64 {
    let logits = x.matmul(w) + b;
    (logits.logsumexp_axis(1).sum() - (y * logits).sum()) / 4.0
}

#[differentiable(wrt(a, b))]
fn batched(a: &Tensor<f64>, b: &Tensor<f64>, w: &Tensor<f64>) -> f64 {
    (a.matmul(b).tanh() * w).sum()
}

#[differentiable(wrt(a, b))]
fn batched_shared(a: &Tensor<f64>, b: &Tensor<f64>, w: &Tensor<f64>) -> f64 {
    (a.matmul(b).sin() * w).sum()
}

#[test]
fn extrema_against_finite_differences() {
    let x = input();
    let w = weights(&[2, 3, 4]);
    assert_close(
        &max_all_loss_grad(&x, &w),
        &fd_tensor(&|x| max_all_loss(x, &w), &x),
    );
    let w0 = weights(&[3, 4]);
    assert_close(
        &axis_loss0_grad(&x, &w0),
        &fd_tensor(&|x| axis_loss0(x, &w0), &x),
    );
    let w1 = weights(&[2, 4]);
    assert_close(
        &axis_loss1_grad(&x, &w1),
        &fd_tensor(&|x| axis_loss1(x, &w1), &x),
    );
    let w2 = weights(&[2, 3]);
    assert_close(
        &axis_loss2_grad(&x, &w2),
        &fd_tensor(&|x| axis_loss2(x, &w2), &x),
    );
    // values
    assert_eq!(axis_loss2(&x, &w2), (x.max_axis(2) * &w2).sum());
}

#[test]
fn ties_share_the_gradient_evenly() {
    // torch.tensor([[1., 5., 5.], [-4., 0., -4.]], requires_grad=True).amax().backward()
    // gives [[0, .5, .5], [0, 0, 0]]; amax(dim=1) with ones gives [[0, .5, .5], [0, 1, 0]].
    let x = tensor![[1., 5., 5.], [-4., 0., -4.]];
    #[differentiable]
    fn top(x: &Tensor<f64>) -> f64 {
        x.max_all()
    }
    #[differentiable]
    fn bottom(x: &Tensor<f64>) -> f64 {
        x.min_all()
    }
    #[differentiable]
    fn rows(x: &Tensor<f64>) -> f64 {
        x.max_axis(1).sum()
    }
    #[differentiable]
    fn cols(x: &Tensor<f64>) -> f64 {
        x.min_axis(0).sum()
    }
    assert_eq!(top(&x), 5.);
    assert_eq!(top_grad(&x), tensor![[0., 0.5, 0.5], [0., 0., 0.]]);
    assert_eq!(bottom_grad(&x), tensor![[0., 0., 0.], [0.5, 0., 0.5]]);
    assert_eq!(rows_grad(&x), tensor![[0., 0.5, 0.5], [0., 1., 0.]]);
    assert_eq!(cols_grad(&x), tensor![[0., 0., 0.], [1., 1., 1.]]);
    // A three-way tie on a constant tensor: a third each.
    let c = Tensor::full(&[3], 2.);
    assert_eq!(top_grad(&c), Tensor::full(&[3], 1. / 3.));
}

#[test]
fn logsumexp_and_softmax_against_finite_differences() {
    let x = input();
    let g = lse_grad(&x);
    assert_close(&g, &fd_tensor(&lse, &x));
    // ∂ logsumexp = softmax over all elements
    let flat = x.reshape(&[24]).softmax(0).reshape(&[2, 3, 4]);
    assert_close(&g, &flat);
    let w1 = weights(&[2, 4]);
    assert_close(
        &lse_axis1_grad(&x, &w1),
        &fd_tensor(&|x| lse_axis1(x, &w1), &x),
    );
    let w2 = weights(&[2, 3]);
    assert_close(
        &lse_axis2_grad(&x, &w2),
        &fd_tensor(&|x| lse_axis2(x, &w2), &x),
    );
    let w = weights(&[2, 3, 4]);
    assert_close(
        &softmax_loss_grad(&x, &w),
        &fd_tensor(&|x| softmax_loss(x, &w), &x),
    );
    assert_close(
        &log_softmax_loss_grad(&x, &w),
        &fd_tensor(&|x| log_softmax_loss(x, &w), &x),
    );
    let w = weights(&[5, 1, 1]);
    assert_close(
        &unsqueeze_loss_grad(&x, &w),
        &fd_tensor(&|x| unsqueeze_loss(x, &w), &x),
    );
}

#[test]
fn softmax_vjp_is_the_jacobian_transpose() {
    // J = diag(s) - s sᵀ per row: Jᵀ c = s ⊙ (c - s·c).
    let x = tensor![[0.1, -1.3, 2.0], [0.5, 0.5, -0.2]];
    let c = tensor![[1., 0., -2.], [0.3, 0.7, 1.1]];
    let s = x.softmax(1);
    let g = softmax_vec_vjp(&x, &c);
    for i in 0..2 {
        let sc: f64 = (0..3).map(|j| s[[i, j]] * c[[i, j]]).sum();
        for j in 0..3 {
            assert!((g[[i, j]] - s[[i, j]] * (c[[i, j]] - sc)).abs() < 1e-15);
        }
    }
    // softmax is invariant to a shift of each row: the gradient sums to 0 along the axis.
    assert!(g.sum_axis(1).as_slice().iter().all(|v| v.abs() < 1e-15));
}

#[test]
fn stable_at_large_logits() {
    // torch.log_softmax(torch.tensor([[1000., 999., -1000.]]), 1) =
    // [[-0.3133, -1.3133, -2000.3133]], finite; its gradient with a one-hot label [1, 0, 0]
    // is softmax - one_hot = [[-0.2689, 0.2689, 0]].
    let w = tensor![[1000., 999., -1000.]];
    let l = w.log_softmax(1);
    let lse1 = (1. + (-1f64).exp()).ln();
    assert!((l[[0, 0]] + lse1).abs() < 1e-12);
    assert!((l[[0, 2]] + 2000. + lse1).abs() < 1e-9);
    #[differentiable(wrt(x))]
    fn nll(x: &Tensor<f64>, y: &Tensor<f64>) -> f64 {
        -(y * x.log_softmax(1)).sum()
    }
    let y = Tensor::one_hot(&[0], 3);
    let (v, g) = nll_value_and_grad(&w, &y);
    assert!((v - lse1).abs() < 1e-12);
    let s = w.softmax(1);
    assert!(g.as_slice().iter().all(|v| v.is_finite()));
    assert_close(&g, &(&s - &y));
    assert!((g[[0, 0]] + 1. / (1. + 1f64.exp())).abs() < 1e-12);
    assert_eq!(g[[0, 2]], 0.);
    // logsumexp at 1000 and its gradient, softmax
    let (v, g) = lse_value_and_grad(&tensor![1000., 1000.]);
    assert!((v - 1000. - 2f64.ln()).abs() < 1e-12);
    assert_close(&g, &tensor![0.5, 0.5]);
    // softmax's vjp at 1000 is finite
    let g = softmax_vec_vjp(&tensor![[1000., 0.]], &tensor![[1., 0.]]);
    assert!(g.as_slice().iter().all(|v| v.is_finite()));
}

#[test]
fn softmax_cross_entropy_with_one_hot_labels() {
    let x = tensor![[0.2, -1.0], [1.5, 0.3], [-0.7, 0.8], [0.0, 2.0]];
    let y = Tensor::one_hot(&[0, 2, 1, 2], 3);
    let w = tensor![[0.1, -0.2, 0.3], [0.4, 0.05, -0.6]];
    let b = tensor![0.01, -0.02, 0.03];
    let (loss, (gw, gb)) = cross_entropy_value_and_grad(&w, &b, &x, &y);
    let (loss2, (gw2, gb2)) = cross_entropy_lse_value_and_grad(&w, &b, &x, &y);
    assert!((loss - loss2).abs() < 1e-14);
    // hand formula: ∂logits = (softmax - y) / n; ∂W = xᵀ ∂logits; ∂b = Σ_rows ∂logits
    let p = (x.matmul(&w) + &b).softmax(1);
    let dl = (&p - &y) / 4.0;
    assert_close(&gw, &x.transpose().matmul(&dl));
    assert_close(&gb, &dl.sum_axis(0));
    assert_close(&gw2, &gw);
    assert_close(&gb2, &gb);
    assert_close(&gw, &fd_tensor(&|w| cross_entropy(w, &b, &x, &y), &w));
    assert_close(&gb, &fd_tensor(&|b| cross_entropy(&w, b, &x, &y), &b));
    // the formula keeps the axis
    let formulas = cross_entropy_grad_formulas();
    assert!(formulas[1].1.contains(".log_softmax(1)"), "{formulas:?}");
    // loss by hand: mean of -log p[label]
    let labels = [0, 2, 1, 2];
    let want: f64 = labels
        .iter()
        .enumerate()
        .map(|(i, &c)| -p[[i, c]].ln())
        .sum::<f64>()
        / 4.0;
    assert!((loss - want).abs() < 1e-12);
}

#[test]
fn batched_matmul_gradients() {
    let a = Tensor::from_vec(
        (0..12).map(|i| (i as f64 * 0.37).sin()).collect(),
        &[2, 2, 3],
    );
    let b = Tensor::from_vec(
        (0..12).map(|i| (i as f64 * 0.61).cos()).collect(),
        &[2, 3, 2],
    );
    let w = weights(&[2, 2, 2]);
    let (ga, gb) = batched_grad(&a, &b, &w);
    assert_close(&ga, &fd_tensor(&|a| batched(a, &b, &w), &a));
    assert_close(&gb, &fd_tensor(&|b| batched(&a, b, &w), &b));
    // the shared [k, n] operand's gradient sums over the batch
    let m = tensor![[0.3, -0.1], [0.2, 0.5], [-0.4, 0.1]];
    let (ga, gm) = batched_shared_grad(&a, &m, &w);
    assert_eq!(gm.shape(), [3, 2]);
    assert_close(&ga, &fd_tensor(&|a| batched_shared(a, &m, &w), &a));
    assert_close(&gm, &fd_tensor(&|m| batched_shared(&a, m, &w), &m));
}

#[test]
fn runtime_methods_outside_a_body() {
    let x = tensor![[1., 3., 2.], [0., -1., 4.]];
    assert_eq!(x.max_all(), 4.);
    assert_eq!(x.min_axis(1), tensor![1., -1.]);
    assert_eq!(x.unsqueeze(0).shape(), [1, 2, 3]);
    assert!(x.try_softmax(2).is_err());
    assert!(Tensor::<f64>::try_one_hot(&[3], 3).is_err());
    assert!(x
        .unsqueeze(0)
        .try_matmul(&Tensor::ones(&[2, 3, 1]))
        .is_err());
}

#[test]
fn mini_batch_gradient_as_a_sum_of_shard_gradients_in_parallel() {
    use rayon::prelude::*;
    // The generated functions are plain `fn`s over shared references: shards of a batch run
    // on rayon's threads, and their gradients add up to the gradient of the whole batch
    // (the loss is a sum over rows).
    #[differentiable(wrt(w, b))]
    fn batch_loss(w: &Tensor<f64>, b: &Tensor<f64>, x: &Tensor<f64>, y: &Tensor<f64>) -> f64 {
        let logits = x.matmul(w) + b;
        (logits.logsumexp_axis(1).sum() - (y * logits).sum()) * 0.125
    }
    let x = Tensor::from_vec((0..16).map(|i| (i as f64 * 0.7).sin()).collect(), &[8, 2]);
    let labels = [0, 1, 2, 1, 0, 2, 2, 1];
    let y = Tensor::one_hot(&labels, 3);
    let w = tensor![[0.1, -0.2, 0.3], [0.4, 0.05, -0.6]];
    let b = tensor![0.01, -0.02, 0.03];
    let shard = |s: usize| {
        let rows = |t: &Tensor<f64>, c: usize| {
            Tensor::from_vec(t.as_slice()[s * 2 * c..(s + 1) * 2 * c].to_vec(), &[2, c])
        };
        (rows(&x, 2), rows(&y, 3))
    };
    let (gw, gb) = (0..4)
        .into_par_iter()
        .map(|s| {
            let (xs, ys) = shard(s);
            batch_loss_grad(&w, &b, &xs, &ys)
        })
        .reduce(
            || (Tensor::zeros(&[2, 3]), Tensor::zeros(&[3])),
            |(a, c), (p, q)| (&a + &p, &c + &q),
        );
    let (whole_w, whole_b) = batch_loss_grad(&w, &b, &x, &y);
    assert_close(&gw, &whole_w);
    assert_close(&gb, &whole_b);
}

#[test]
fn large_tensors_give_the_same_values_on_several_threads() {
    // Above the parallel threshold (2^17 elements) the element-wise kernels and the sum are
    // split across threads; the values are the sequential ones.
    let n = (1 << 17) + 1000;
    let x = Tensor::from_vec((0..n).map(|i| (i % 1000) as f64 * 1e-3).collect(), &[n]);
    let y = (&x * 2.0 + 1.0).tanh();
    assert!(y
        .as_slice()
        .iter()
        .zip(x.as_slice())
        .all(|(&v, &u)| v == (u * 2.0 + 1.0).tanh()));
    let s = (&x * &x).sum();
    let want: f64 = x.as_slice().iter().map(|v| v * v).sum();
    assert!((s - want).abs() < 1e-9 * want);
    #[differentiable]
    fn sq(x: &Tensor<f64>) -> f64 {
        (x * x).sum()
    }
    assert_eq!(sq_grad(&x), &x * 2.0);
    // The arithmetic operators split from 2^20 elements.
    let m = (1 << 20) + 7;
    let ones = Tensor::<f64>::ones(&[m]);
    let twos = &ones + &ones;
    assert!(twos.as_slice().iter().all(|&v| v == 2.0));
    assert_eq!((&twos * 0.5).sum(), m as f64);
}
