//! Least squares by gradient descent: fit a line y = w·x + b to a small noisy data set. The loss is
//! a `for` loop over the data slices, differentiated with respect to `w` and `b` only; the data
//! are constants. The fitted line is printed next to the closed-form least-squares solution.

use autodiff::differentiable;

/// Mean squared error of the line over the data:
/// L(w, b) = (1/n) Σ (w x_i + b - y_i)², so ∂L/∂w = (2/n) Σ r_i x_i and ∂L/∂b = (2/n) Σ r_i
/// with r_i = w x_i + b - y_i.
#[rustfmt::skip]
#[differentiable(wrt(w, b))]
fn loss(w: f64, b: f64, xs: &[f64], ys: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..xs.len() {
        let r = w * xs[i] + b - ys[i];
        s += r**2;
    }
    s / xs.len() as f64
}

/// Twelve points on y = 2.5x - 1 with deterministic "noise" (a few sines) of size about 0.3.
fn data() -> (Vec<f64>, Vec<f64>) {
    let xs: Vec<f64> = (0..12).map(|i| i as f64 / 3.0).collect();
    let ys = xs
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let noise = 0.3 * (7.3 * i as f64).sin() + 0.1 * (2.1 * i as f64).cos();
            2.5 * x - 1.0 + noise
        })
        .collect();
    (xs, ys)
}

/// The closed-form least-squares line: w = Σ (x - x̄)(y - ȳ) / Σ (x - x̄)², b = ȳ - w x̄.
fn closed_form(xs: &[f64], ys: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mx = xs.iter().sum::<f64>() / n;
    let my = ys.iter().sum::<f64>() / n;
    let sxy: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
    let w = sxy / sxx;
    (w, my - w * mx)
}

fn main() {
    let (xs, ys) = data();
    println!("data: {} points on y = 2.5x - 1 plus noise", xs.len());

    // The optimum, for the "above the minimum" column while training.
    let (w_star, b_star) = closed_form(&xs, &ys);
    let l_star = loss(w_star, b_star, &xs, &ys);

    let (mut w, mut b) = (0.0, 0.0);
    let lr = 0.1;
    let epochs = 300;
    println!("epoch        loss   above minimum          w          b");
    for epoch in 0..=epochs {
        let (l, (dw, db)) = loss_value_and_grad(w, b, &xs, &ys);
        if epoch % 25 == 0 {
            println!("{epoch:5} {l:11.8} {:15.3e} {w:10.6} {b:10.6}", l - l_star);
        }
        w -= lr * dw;
        b -= lr * db;
    }

    println!();
    println!("                 {:>12} {:>12}", "w", "b");
    println!("gradient descent {w:12.8} {b:12.8}");
    println!("closed form      {w_star:12.8} {b_star:12.8}");
    println!(
        "loss: gradient descent {:.10}, closed form {:.10}",
        loss(w, b, &xs, &ys),
        l_star
    );
    // At the closed-form solution the gradient vanishes.
    let (gw, gb) = loss_grad(w_star, b_star, &xs, &ys);
    println!("gradient at the closed form: ({gw:.2e}, {gb:.2e})");
    assert!((w - w_star).abs() < 1e-6 && (b - b_star).abs() < 1e-6);
}
