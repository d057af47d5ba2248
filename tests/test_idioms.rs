//! Idiomatic Rust in a body (API.md "Idiomatic Rust in a body"): `match`, closures, iterator
//! chains, `for` over sequences. Every gradient is checked against a hand formula and against
//! central finite differences.

use autodiff::differentiable;

fn fd_at(f: impl Fn(&[f64]) -> f64, x: &[f64], k: usize) -> f64 {
    let h = 1e-6 * x[k].abs().max(1.0);
    let mut plus = x.to_vec();
    let mut minus = x.to_vec();
    plus[k] += h;
    minus[k] -= h;
    (f(&plus) - f(&minus)) / (2.0 * h)
}

fn fd_all(f: impl Fn(&[f64]) -> f64, x: &[f64]) -> Vec<f64> {
    (0..x.len()).map(|k| fd_at(&f, x, k)).collect()
}

fn fd(f: impl Fn(f64) -> f64, x: f64) -> f64 {
    let h = 1e-6 * x.abs().max(1.0);
    (f(x + h) - f(x - h)) / (2.0 * h)
}

#[track_caller]
fn close(got: f64, closed: f64) {
    assert!(
        (got - closed).abs() <= 1e-10 * (1.0 + closed.abs()),
        "gradient {got}, closed form {closed}"
    );
}

#[track_caller]
fn near_fd(got: f64, numeric: f64) {
    assert!(
        (got - numeric).abs() <= 1e-6 * (1.0 + numeric.abs()),
        "gradient {got}, finite difference {numeric}"
    );
}

#[track_caller]
fn check_vec(got: &[f64], closed: &[f64], numeric: &[f64]) {
    assert_eq!(got.len(), closed.len(), "gradient length");
    assert_eq!(got.len(), numeric.len(), "gradient length");
    for k in 0..got.len() {
        close(got[k], closed[k]);
        near_fd(got[k], numeric[k]);
    }
}

// ---- iterator chains ----

#[differentiable]
fn sum_sq(x: &[f64]) -> f64 {
    x.iter().map(|v| v * v).sum::<f64>()
}

#[test]
fn map_sum() {
    let x = [1.0, -2.0, 3.5];
    assert_eq!(sum_sq(&x), 1.0 + 4.0 + 12.25);
    let g = sum_sq_grad(&x);
    let closed: Vec<f64> = x.iter().map(|v| 2.0 * v).collect();
    check_vec(&g, &closed, &fd_all(sum_sq, &x));
}

#[differentiable(wrt(w))]
fn lsq(w: f64, xs: &[f64], ys: &[f64]) -> f64 {
    xs.iter()
        .zip(ys)
        .map(|(x, y)| (w * x - y).powi(2))
        .sum::<f64>()
}

#[test]
fn zip_map_sum() {
    let xs = [1.0, 2.0, 3.0];
    let ys = [2.0, 3.5, 7.0];
    let w = 1.5;
    let closed: f64 = xs.iter().zip(&ys).map(|(x, y)| 2.0 * (w * x - y) * x).sum();
    let g = lsq_grad(w, &xs, &ys);
    close(g, closed);
    near_fd(g, fd(|w| lsq(w, &xs, &ys), w));
}

#[differentiable]
fn for_iter(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for v in x.iter() {
        s += v * v.sin();
    }
    s
}

#[test]
fn for_over_iter() {
    let x = [0.5, 1.0, -2.0];
    let g = for_iter_grad(&x);
    let closed: Vec<f64> = x.iter().map(|v| v.sin() + v * v.cos()).collect();
    check_vec(&g, &closed, &fd_all(for_iter, &x));
}

#[differentiable]
fn for_ref_enum(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for (i, v) in x.iter().enumerate() {
        s += (i as f64 + 1.0) * *v * *v;
    }
    for v in &x {
        s += *v;
    }
    s
}

#[test]
fn for_enumerate_and_ref() {
    let x = [0.5, 1.0, -2.0];
    let g = for_ref_enum_grad(&x);
    let closed: Vec<f64> = x
        .iter()
        .enumerate()
        .map(|(i, v)| 2.0 * (i as f64 + 1.0) * v + 1.0)
        .collect();
    check_vec(&g, &closed, &fd_all(for_ref_enum, &x));
}

#[differentiable]
fn rosen(x: &[f64]) -> f64 {
    x.iter()
        .zip(x.iter().skip(1))
        .map(|(a, b)| 100.0 * (b - a * a).powi(2) + (1.0 - a).powi(2))
        .sum::<f64>()
}

#[test]
fn rosenbrock_iter() {
    let x = [0.3, -0.7, 1.2, 0.9];
    let n = x.len();
    let mut closed = vec![0.0; n];
    for i in 0..n - 1 {
        closed[i] += -400.0 * x[i] * (x[i + 1] - x[i] * x[i]) - 2.0 * (1.0 - x[i]);
        closed[i + 1] += 200.0 * (x[i + 1] - x[i] * x[i]);
    }
    check_vec(&rosen_grad(&x), &closed, &fd_all(rosen, &x));
}

#[differentiable]
fn closure_fold(x: f64) -> f64 {
    let sq = |t: f64| t * t * x;
    (1..4).map(|i| sq(i as f64)).fold(x, |acc, v| acc * 0.5 + v)
}

#[test]
fn closure_and_fold() {
    let x = 1.3;
    // acc0 = x; acc = acc/2 + i^2 x for i = 1, 2, 3
    let f = |x: f64| {
        let mut a = x;
        for i in 1..4 {
            a = a * 0.5 + (i * i) as f64 * x;
        }
        a
    };
    let closed = 0.125 + 0.25 * 1.0 + 0.5 * 4.0 + 9.0;
    assert!((closure_fold(x) - f(x)).abs() < 1e-12);
    close(closure_fold_grad(x), closed);
    near_fd(closure_fold_grad(x), fd(closure_fold, x));
}

#[derive(Clone, Copy)]
enum Mode {
    Square,
    Cube,
    Scale(f64),
}

#[differentiable]
fn by_mode(x: f64, m: Mode) -> f64 {
    match m {
        Mode::Square => x * x,
        Mode::Cube => x * x * x,
        Mode::Scale(s) => s * x,
    }
}

#[test]
fn match_enum() {
    let x = 1.7;
    close(by_mode_grad(x, Mode::Square), 2.0 * x);
    close(by_mode_grad(x, Mode::Cube), 3.0 * x * x);
    close(by_mode_grad(x, Mode::Scale(4.0)), 4.0);
    near_fd(
        by_mode_grad(x, Mode::Cube),
        fd(|x| by_mode(x, Mode::Cube), x),
    );
}

#[differentiable]
fn powi_run(x: f64) -> f64 {
    (1..5).map(|i| x.powi(i as i32)).sum::<f64>()
}

#[test]
fn powi_runtime_exponent() {
    let x = -1.3;
    let closed = 1.0 + 2.0 * x + 3.0 * x * x + 4.0 * x * x * x;
    close(powi_run_grad(x), closed);
    near_fd(powi_run_grad(x), fd(powi_run, x));
}

// ---- while, loop, break, continue ----

#[differentiable]
fn doubling(x: f64) -> f64 {
    let mut y = x;
    while y < 10.0 {
        y = y * 2.0;
    }
    y
}

#[test]
fn while_depends_on_x() {
    // 1.5 -> 3 -> 6 -> 12: three doublings, y = 8x
    assert_eq!(doubling(1.5), 12.0);
    close(doubling_grad(1.5), 8.0);
    near_fd(doubling_grad(1.5), fd(doubling, 1.5));
    // already above: no iteration
    close(doubling_grad(20.0), 1.0);
}

#[differentiable]
fn newton_sqrt(a: f64) -> f64 {
    let mut r = a;
    let mut k = 0;
    while k < 5000 {
        r = 0.5 * (r + a / r);
        k += 1;
    }
    r
}

#[test]
fn while_thousands_of_iterations() {
    let a = 2.0;
    assert!((newton_sqrt(a) - a.sqrt()).abs() < 1e-14);
    // d sqrt(a) / da = 1 / (2 sqrt a)
    close(newton_sqrt_grad(a), 0.5 / a.sqrt());
    near_fd(newton_sqrt_grad(a), fd(newton_sqrt, a));
}

#[differentiable]
fn loop_break(x: f64) -> f64 {
    let mut y = x;
    let mut n = 0.0;
    loop {
        y = y * 1.5;
        n += 1.0;
        if y > 10.0 {
            break;
        }
    }
    y + n
}

#[test]
fn loop_with_break() {
    // 1 -> 1.5 -> 2.25 -> 3.375 -> 5.0625 -> 7.59 -> 11.39: six steps, y = 1.5^6 x
    let x = 1.0;
    assert_eq!(loop_break(x), 1.5f64.powi(6) + 6.0);
    close(loop_break_grad(x), 1.5f64.powi(6));
    near_fd(loop_break_grad(x), fd(loop_break, x));
}

#[differentiable]
fn for_continue_break(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        if i == 1 {
            continue;
        }
        if s > 5.0 {
            break;
        }
        s += x[i] * x[i];
    }
    s
}

#[test]
fn for_with_continue_and_break() {
    let x = [1.0, 10.0, 3.0, 2.0, 4.0];
    // i=0: s=1; i=1 skipped; i=2: s=10; i=3: s>5 -> break
    assert_eq!(for_continue_break(&x), 10.0);
    let closed = [2.0, 0.0, 6.0, 0.0, 0.0];
    check_vec(
        &for_continue_break_grad(&x),
        &closed,
        &fd_all(for_continue_break, &x),
    );
}

#[differentiable]
fn tol_iter(x: f64) -> f64 {
    // fixed point of t = cos(t) * x, iterated to a tolerance
    let mut t = 1.0;
    let mut d = 1.0;
    while d > 1e-13 {
        let t1 = (t * 0.5).cos() * x;
        d = (t1 - t).abs();
        t = t1;
    }
    t
}

#[test]
fn while_to_tolerance() {
    let x = 0.7;
    let t = tol_iter(x);
    // t = x cos(t/2): dt/dx = cos(t/2) / (1 + x sin(t/2) / 2)
    let closed = (t * 0.5).cos() / (1.0 + x * (t * 0.5).sin() * 0.5);
    let g = tol_iter_grad(x);
    assert!((g - closed).abs() < 1e-9, "{g} {closed}");
    near_fd(g, fd(tol_iter, x));
}

// ---- more adaptors, sources and types ----

#[differentiable]
fn adaptors(x: &[f64]) -> f64 {
    let a = x
        .iter()
        .rev()
        .enumerate()
        .map(|(i, v)| (i as f64 + 1.0) * v)
        .sum::<f64>();
    let b = x.iter().skip(1).take(2).map(|v| v * v).sum::<f64>();
    let c = x.iter().step_by(2).copied().product::<f64>();
    let d = x.iter().fold(0.0, |m, &v| m + v.sin());
    a + b + c + d
}

#[test]
fn rev_enumerate_skip_take_step_product_fold() {
    let x = [0.5, 1.5, -2.0, 3.0, 0.25];
    let n = x.len();
    let a: f64 = x
        .iter()
        .rev()
        .enumerate()
        .map(|(i, v)| (i as f64 + 1.0) * v)
        .sum();
    let b: f64 = x.iter().skip(1).take(2).map(|v| v * v).sum();
    let c: f64 = x.iter().step_by(2).product();
    let d: f64 = x.iter().map(|v| v.sin()).sum();
    assert!((adaptors(&x) - (a + b + c + d)).abs() < 1e-12);
    let mut closed = vec![0.0; n];
    for k in 0..n {
        closed[k] += (n - k) as f64 + x[k].cos();
        if k == 1 || k == 2 {
            closed[k] += 2.0 * x[k];
        }
        if k % 2 == 0 {
            closed[k] += c / x[k];
        }
    }
    check_vec(&adaptors_grad(&x), &closed, &fd_all(adaptors, &x));
}

#[differentiable]
fn array_and_range(x: [f64; 3], n: usize) -> f64 {
    let s = x.into_iter().map(|v| v * v).sum::<f64>();
    let t = (0..n).map(|i| x[i % 3] * i as f64).sum::<f64>();
    let u = (1..=3).rev().map(|k| k as f64 * x[k - 1]).sum::<f64>();
    s + t + u
}

#[test]
fn arrays_ranges_inclusive() {
    let x = [1.0, 2.0, -0.5];
    let n = 5;
    let g = array_and_range_grad(x, n);
    // t: i = 0..5 at x[i % 3]: x0 gets 0 + 3, x1 gets 1 + 4, x2 gets 2
    let closed = [
        2.0 * x[0] + 3.0 + 1.0,
        2.0 * x[1] + 5.0 + 2.0,
        2.0 * x[2] + 2.0 + 3.0,
    ];
    let numeric = fd_all(|v| array_and_range([v[0], v[1], v[2]], n), &x);
    check_vec(&g, &closed, &numeric);
}

#[differentiable]
fn vec_param(x: Vec<f64>) -> f64 {
    let mut s = 0.0;
    for (a, b) in x.iter().zip(x.iter().skip(1)) {
        s += a * b;
    }
    s
}

#[test]
fn vec_zip_with_itself() {
    let x = vec![1.0, 2.0, 3.0, 4.0];
    let closed = [2.0, 1.0 + 3.0, 2.0 + 4.0, 3.0];
    check_vec(
        &vec_param_grad(x.clone()),
        &closed,
        &fd_all(|v| vec_param(v.to_vec()), &x),
    );
}

#[differentiable]
fn generic_chain<T: autodiff::Float>(x: &[T], w: T) -> T {
    x.iter().map(|v| (*v * w).tanh()).sum::<T>()
}

#[test]
fn generic_and_f32() {
    let x = [0.5, -1.0, 2.0];
    let w = 0.3;
    let (gx, gw) = generic_chain_grad(&x, w);
    let sech2 = |t: f64| 1.0 - t.tanh() * t.tanh();
    let closed_x: Vec<f64> = x.iter().map(|v| w * sech2(v * w)).collect();
    let closed_w: f64 = x.iter().map(|v| v * sech2(v * w)).sum();
    check_vec(&gx, &closed_x, &fd_all(|v| generic_chain(v, w), &x));
    close(gw, closed_w);
    let x32 = [0.5f32, -1.0, 2.0];
    let (_, gw32) = generic_chain_grad(&x32, 0.3f32);
    assert!((gw32 as f64 - closed_w).abs() < 1e-5);
}

#[differentiable]
fn nested_chain(x: &[f64]) -> f64 {
    x.iter()
        .map(|a| x.iter().map(|b| a * b).sum::<f64>())
        .sum::<f64>()
}

#[test]
fn chain_inside_a_closure() {
    // (sum x)^2
    let x = [1.0, 2.0, -0.5];
    let s: f64 = x.iter().sum();
    check_vec(
        &nested_chain_grad(&x),
        &[2.0 * s; 3],
        &fd_all(nested_chain, &x),
    );
}

#[differentiable]
fn fold_path(x: &[f64]) -> f64 {
    x.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

#[test]
fn fold_with_a_function() {
    let x = [1.0, 4.0, -2.0];
    assert_eq!(fold_path(&x), 4.0);
    check_vec(
        &fold_path_grad(&x),
        &[0.0, 1.0, 0.0],
        &fd_all(fold_path, &x),
    );
}

// ---- closures ----

#[differentiable]
fn closures(x: f64, y: f64) -> f64 {
    let k = 3.0;
    let f = |t: f64| t * t * y + k;
    let g = |a: f64, b: f64| f(a) * b;
    let t = x + 1.0; // a local named like f's parameter
    g(t, x) + f(2.0 * y)
}

#[test]
fn closures_capture_and_compose() {
    let (x, y) = (0.7, -1.2);
    // (t² y + 3) x + (4y² y + 3), t = x + 1
    let t = x + 1.0;
    assert!((closures(x, y) - ((t * t * y + 3.0) * x + 4.0 * y * y * y + 3.0)).abs() < 1e-12);
    let (gx, gy) = closures_grad(x, y);
    close(gx, 2.0 * t * y * x + t * t * y + 3.0);
    close(gy, t * t * x + 12.0 * y * y);
    near_fd(gx, fd(|x| closures(x, y), x));
    near_fd(gy, fd(|y| closures(x, y), y));
    let h = closures_hessian(x, y);
    // d²/dx² = 2y x + 4 t y ; d²/dxdy = 2 t x + t² ; d²/dy² = 24 y
    close(h[0][0], 2.0 * y * x + 4.0 * t * y);
    close(h[0][1], 2.0 * t * x + t * t);
    close(h[1][0], h[0][1]);
    close(h[1][1], 24.0 * y);
    let formulas = closures_grad_formulas();
    assert_eq!(formulas.len(), 2);
    assert!(!formulas[0].1.is_empty());
}

// ---- match ----

#[differentiable]
fn match_int(x: f64, n: i32) -> f64 {
    let scale = match n {
        0 => 1.0,
        1 | 2 => x,
        k if k < 0 => -x * x,
        k => x.powi(k),
    };
    scale * x
}

#[test]
fn match_integer_guards_bindings() {
    let x = 1.3;
    close(match_int_grad(x, 0), 1.0);
    close(match_int_grad(x, 2), 2.0 * x);
    close(match_int_grad(x, -1), -3.0 * x * x);
    close(match_int_grad(x, 4), 5.0 * x.powi(4));
    near_fd(match_int_grad(x, 4), fd(|x| match_int(x, 4), x));
    close(match_int_hessian(x, 4), 20.0 * x.powi(3));
}

#[differentiable]
fn match_bool(x: f64, flip: bool) -> f64 {
    let a = match x > 0.0 {
        true => x,
        false => -x,
    };
    match flip {
        true => -a,
        false => a,
    }
}

#[test]
fn match_on_booleans() {
    close(match_bool_grad(2.0, false), 1.0);
    close(match_bool_grad(-2.0, false), -1.0);
    close(match_bool_grad(-2.0, true), 1.0);
    near_fd(
        match_bool_grad(-2.0, true),
        fd(|x| match_bool(x, true), -2.0),
    );
}

#[differentiable]
fn match_in_loop(x: &[f64], kinds: &[u8]) -> f64 {
    let mut s = 0.0;
    for (v, k) in x.iter().zip(kinds) {
        match k {
            0 => s += v,
            1 => s += v * v,
            _ => {}
        }
    }
    s
}

#[test]
fn match_statement_in_a_loop() {
    let x = [1.0, 2.0, 3.0];
    let kinds = [0u8, 1, 2];
    check_vec(
        &match_in_loop_grad(&x, &kinds),
        &[1.0, 4.0, 0.0],
        &fd_all(|v| match_in_loop(v, &kinds), &x),
    );
}

// ---- Hessians, traces, vjp of the new forms ----

#[test]
fn hessians_of_scalar_params() {
    // doubling: y = 8x near 1.5: second derivative 0
    close(doubling_hessian(1.5), 0.0);
    // powi_run: x + x² + x³ + x⁴ -> 2 + 6x + 12x²
    let x = -1.3;
    close(powi_run_hessian(x), 2.0 + 6.0 * x + 12.0 * x * x);
    // newton_sqrt: d² sqrt(a) = -1/4 a^-3/2
    close(newton_sqrt_hessian(2.0), -0.25 * 2f64.powf(-1.5));
    close(closure_fold_hessian(1.3), 0.0);
}

#[test]
fn traces_and_value_and_grad() {
    let t = doubling_trace(1.5);
    assert_eq!(t.grad("x").item(), 8.0);
    let t = closures_trace(0.7, -1.2);
    let (_, gy) = closures_grad(0.7, -1.2);
    assert!((t.grad("y").item() - gy).abs() < 1e-12);
    assert!(t.try_grad("t").is_some());
    let (v, g) = lsq_value_and_grad(1.5, &[1.0, 2.0], &[2.0, 3.0]);
    assert!((v - (0.25 + 0.0)).abs() < 1e-12);
    close(g, 2.0 * (1.5 - 2.0) * 1.0 + 0.0);
    assert_eq!(sum_sq_vjp(&[1.0, 2.0], 3.0), vec![6.0, 12.0]);
    // the trace of a chain keeps no rewriting names
    let tr = format!("{}", sum_sq_trace(&[1.0, 2.0]));
    assert!(!tr.contains("__ad_"), "{tr}");
}

/// Items that are tuples of data (`&[(f64, f64)]`) are read field by field.
#[differentiable(wrt(w))]
fn pairs_loss(w: &[f64], pairs: &[(f64, f64)]) -> f64 {
    let mut s = 0.0;
    for &(x, y) in pairs.iter() {
        s += (w[0] * x + w[1] - y).powi(2);
    }
    s + pairs.iter().map(|(x, _)| w[0] * x).sum::<f64>()
}

#[test]
fn tuple_items_of_data() {
    let pairs = [(1.0, 2.0), (3.0, 1.0)];
    let w = [0.5, 0.25];
    let r: Vec<f64> = pairs.iter().map(|(x, y)| w[0] * x + w[1] - y).collect();
    let closed = [
        2.0 * r[0] * 1.0 + 2.0 * r[1] * 3.0 + 4.0,
        2.0 * r[0] + 2.0 * r[1],
    ];
    check_vec(
        &pairs_loss_grad(&w, &pairs),
        &closed,
        &fd_all(|w| pairs_loss(w, &pairs), &w),
    );
}

/// `w[0]` read in a loop body (also under an `if`): its gradient is accumulated like `w[i]`.
#[differentiable(wrt(w))]
fn literal_index_in_loop(w: &[f64], xs: &[f64]) -> f64 {
    let mut s = 0.0;
    for x in xs.iter() {
        s += w[0] * x;
        if *x > 3.5 {
            s += w[1] * x * x;
        }
    }
    s
}

#[test]
fn literal_index_in_a_loop_body() {
    let (w, xs) = ([1.0, 2.0], [3.0, 4.0, 5.0]);
    let closed = [12.0, 16.0 + 25.0];
    check_vec(
        &literal_index_in_loop_grad(&w, &xs),
        &closed,
        &fd_all(|w| literal_index_in_loop(w, &xs), &w),
    );
}

/// A `while` inside a `for`, a `break` inside the `while`, a `continue` in the `for`.
#[differentiable]
fn nested_loops(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for (i, v) in x.iter().enumerate() {
        if i == 0 {
            continue;
        }
        let mut y = *v;
        let mut steps = 0;
        while y < 100.0 {
            y = y * 3.0;
            steps += 1;
            if steps >= 3 {
                break;
            }
        }
        s += y;
    }
    s
}

#[test]
fn while_in_for_with_jumps() {
    // x1 = 5: 15, 45, 135 (three steps, 27x); x2 = 50: 150 (one step, 3x); x3 = 200: none
    let x = [7.0, 5.0, 50.0, 200.0];
    assert_eq!(nested_loops(&x), 135.0 + 150.0 + 200.0);
    let closed = [0.0, 27.0, 3.0, 1.0];
    check_vec(&nested_loops_grad(&x), &closed, &fd_all(nested_loops, &x));
}

#[test]
fn hessians_through_while_and_break() {
    // loop_break: 1.5^6 x + 6 near x = 1: second derivative 0; tol_iter against differences
    close(loop_break_hessian(1.0), 0.0);
    let x = 0.7;
    let h = tol_iter_hessian(x);
    let numeric = fd(tol_iter_grad, x);
    assert!((h - numeric).abs() < 1e-5, "{h} vs {numeric}");
}

/// `*t` of a closure parameter typed `&f64`, and of a local copied from an iterator item.
#[differentiable]
fn deref_refs(x: &[f64], w: f64) -> f64 {
    let scaled = |t: &f64| *t * w;
    let mut s = x.iter().map(scaled).sum::<f64>();
    for v in x.iter() {
        let u = v;
        s += *u * *u;
    }
    s
}

#[test]
fn dereferencing_references() {
    let (x, w) = ([1.0, -2.0], 3.0);
    let (gx, gw) = deref_refs_grad(&x, w);
    check_vec(&gx, &[w + 2.0, w - 4.0], &fd_all(|v| deref_refs(v, w), &x));
    close(gw, -1.0);
}

// ---- the forms API.md names, one function each ----

#[differentiable(wrt(w))]
fn api_forms(w: f64, xs: &[f64], ys: &[f64], n: i32) -> f64 {
    let a: f64 = xs.iter().map(|x| x * w).sum();
    let b = xs
        .iter()
        .zip(ys.iter())
        .map(|(x, y)| x * y * w)
        .sum::<f64>();
    let c = xs.iter().map(|&x| x * w).sum::<f64>();
    let d = xs
        .iter()
        .rev()
        .skip(1)
        .step_by(2)
        .map(|x| (x * w).exp())
        .sum::<f64>();
    let e = (0..3).fold(1.0, |acc, _| acc * w);
    let f = xs.iter().copied().map(f64::exp).sum::<f64>() * w;
    let g = xs.iter().map(|x| (x * w).powi(2)).sum::<f64>().sqrt();
    let h = w.powi(n);
    let k = {
        let m = xs.len();
        (0..m).map(|i| xs[i] * ys[i]).sum::<f64>() * w
    };
    a + b + c + d + e + f + g + h + k
}

#[test]
fn api_named_forms() {
    let xs = [0.5, 1.0, -1.5, 2.0];
    let ys = [1.0, 2.0, 3.0, 4.0];
    let (w, n) = (0.8, 3);
    let sx: f64 = xs.iter().sum();
    let sxy: f64 = xs.iter().zip(&ys).map(|(x, y)| x * y).sum();
    // rev().skip(1).step_by(2) visits xs[2], xs[0]
    let dd: f64 = [xs[2], xs[0]].iter().map(|x| x * (x * w).exp()).sum();
    let sxx: f64 = xs.iter().map(|x| x * x).sum();
    let closed = sx
        + sxy
        + sx
        + dd
        + 3.0 * w * w
        + xs.iter().map(|x| x.exp()).sum::<f64>()
        + sxx.sqrt()
        + 3.0 * w * w
        + sxy;
    let g = api_forms_grad(w, &xs, &ys, n);
    close(g, closed);
    near_fd(g, fd(|w| api_forms(w, &xs, &ys, n), w));
    // e = w³, g = |w| sqrt(sxx), h = w³: second derivative 6w + 6w
    close(api_forms_hessian(w, &xs, &ys, n), {
        let d2: f64 = [xs[2], xs[0]].iter().map(|x| x * x * (x * w).exp()).sum();
        12.0 * w + d2
    });
}

#[differentiable]
fn f32_chain(x: &[f32], w: f32) -> f32 {
    let mut t = w;
    while t < 10.0 {
        t = t * 2.0;
    }
    x.iter().map(|v| v * t).sum::<f32>()
}

#[test]
fn f32_chain_and_while() {
    let (gx, gw) = f32_chain_grad(&[1.0, 2.0], 3.0);
    // t = 12 = 4w
    assert_eq!(gx, vec![12.0, 12.0]);
    assert_eq!(gw, 12.0);
}

/// Tuple fields of data with one scalar parameter: `f_hessian` multiplies them with hyper-dual
/// numbers.
#[differentiable(wrt(w))]
fn pairs_scalar(w: f64, pairs: &[(f64, f64)]) -> f64 {
    pairs.iter().map(|&(x, y)| (w * x - y).powi(2)).sum::<f64>()
}

#[test]
fn tuple_items_with_a_scalar_parameter() {
    let pairs = [(1.0, 2.0), (3.0, 1.0)];
    let w = 0.5;
    close(
        pairs_scalar_grad(w, &pairs),
        2.0 * (w - 2.0) + 6.0 * (3.0 * w - 1.0),
    );
    close(pairs_scalar_hessian(w, &pairs), 2.0 + 18.0);
}

/// Bounds and sources written as operator expressions keep their precedence.
#[differentiable]
fn precedence(x: &[f64], m: usize) -> f64 {
    let a = (m - 1..x.len() - 1).rev().map(|i| x[i]).sum::<f64>();
    let b = (&*x).iter().skip(m - 1).map(|v| 2.0 * v).sum::<f64>();
    a + b
}

#[test]
fn operator_bounds() {
    let x = [1.0, 2.0, 3.0, 4.0];
    // a: i in 1..3 -> x1 + x2; b: skip 1 -> 2 (x1 + x2 + x3)
    assert_eq!(precedence(&x, 2), 2.0 + 3.0 + 2.0 * 9.0);
    check_vec(
        &precedence_grad(&x, 2),
        &[0.0, 3.0, 3.0, 2.0],
        &fd_all(|v| precedence(v, 2), &x),
    );
}

// ---- numerical code as it is usually written ----

#[differentiable(wrt(logits))]
fn cross_entropy(logits: &[f64], label: usize) -> f64 {
    let m = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let z = logits.iter().map(|l| (l - m).exp()).sum::<f64>();
    z.ln() + m - logits[label]
}

#[test]
fn softmax_cross_entropy() {
    let l = [0.5f64, 2.0, -1.0];
    let z: f64 = l.iter().map(|v| v.exp()).sum();
    let closed: Vec<f64> = l
        .iter()
        .enumerate()
        .map(|(i, v)| v.exp() / z - if i == 1 { 1.0 } else { 0.0 })
        .collect();
    check_vec(
        &cross_entropy_grad(&l, 1),
        &closed,
        &fd_all(|v| cross_entropy(v, 1), &l),
    );
}

#[differentiable]
fn horner(c: &[f64], x: f64) -> f64 {
    c.iter().rev().fold(0.0, |acc, &ci| acc * x + ci)
}

#[differentiable]
fn power_sum(c: &[f64], x: f64) -> f64 {
    c.iter()
        .enumerate()
        .map(|(i, ci)| ci * x.powi(i as i32))
        .sum::<f64>()
}

#[test]
fn polynomials_two_ways() {
    let c = [1.0, -2.0, 0.5, 3.0];
    let x = 1.1;
    assert!((horner(&c, x) - power_sum(&c, x)).abs() < 1e-12);
    let (gc, gx) = horner_grad(&c, x);
    let (pc, px) = power_sum_grad(&c, x);
    let closed_c: Vec<f64> = (0..4).map(|i| x.powi(i)).collect();
    let closed_x = -2.0 + 2.0 * 0.5 * x + 9.0 * x * x;
    check_vec(&gc, &closed_c, &fd_all(|v| horner(v, x), &c));
    check_vec(&pc, &closed_c, &fd_all(|v| power_sum(v, x), &c));
    close(gx, closed_x);
    close(px, closed_x);
    near_fd(gx, fd(|x| horner(&c, x), x));
}

#[differentiable]
fn norm(a: &[f64]) -> f64 {
    a.iter().map(|x| x * x).sum::<f64>().sqrt()
}

#[test]
fn euclidean_norm() {
    let a = [3.0, 4.0];
    check_vec(&norm_grad(&a), &[0.6, 0.8], &fd_all(norm, &a));
}

#[differentiable(wrt(x))]
fn pick(x: f64, k: Option<u32>) -> f64 {
    match k {
        Some(0) => x,
        Some(n) if n < 4 => x.powi(n as i32 + 1),
        Some(_) => 0.0,
        None => x.sin(),
    }
}

#[test]
fn match_on_an_option() {
    let x = 0.9;
    close(pick_grad(x, Some(0)), 1.0);
    close(pick_grad(x, Some(2)), 3.0 * x * x);
    close(pick_grad(x, Some(9)), 0.0);
    close(pick_grad(x, None), x.cos());
    near_fd(pick_grad(x, Some(3)), fd(|x| pick(x, Some(3)), x));
}

// ---- filter ----

#[differentiable]
fn filtered(x: &[f64], w: f64) -> f64 {
    let a = x
        .iter()
        .filter(|v| v.is_sign_positive())
        .map(|v| v * w)
        .sum::<f64>();
    let b = x
        .iter()
        .zip(x.iter().skip(1))
        .filter(|&(p, q)| p < q)
        .map(|(p, q)| q - p)
        .sum::<f64>();
    let mut c = 0.0;
    for v in x.iter().rev().filter(|&&v| v * w > 1.0) {
        c += v * v;
    }
    a + b + c
}

#[test]
fn filter_then_map_and_for() {
    let x = [1.0, -2.0, 3.0, 0.5];
    let w = 0.5;
    // a: x0, x2, x3 positive -> w (x0 + x2 + x3); b: pairs (x0,x1) no, (x1,x2) yes, (x2,x3) no
    // -> x2 - x1; c: v w > 1 -> only x2 -> x2²
    assert_eq!(filtered(&x, w), w * 4.5 + 5.0 + 9.0);
    let (gx, gw) = filtered_grad(&x, w);
    let closed = [w, -1.0, w + 1.0 + 6.0, w];
    check_vec(&gx, &closed, &fd_all(|v| filtered(v, w), &x));
    close(gw, 4.5);
}

/// An integer counter in a `while`: `let mut i: usize = 0;` stays an integer.
#[differentiable(wrt(w))]
fn counter_while(xs: &[f64], w: f64) -> f64 {
    let mut s = 0.0;
    let mut i: usize = 0;
    while i < xs.len() && s < 10.0 {
        s += xs[i] * w;
        i += 1;
    }
    let mut j = 0usize;
    loop {
        if j >= 2 {
            break;
        }
        s += xs[j] * w * w;
        j += 1;
    }
    s
}

#[test]
fn integer_counters() {
    let xs = [2.0, 3.0, 4.0, 5.0];
    // w = 1.5: s = 3, 7.5, 13.5 -> stops after three terms; then + (2 + 3) w²
    let w = 1.5;
    assert_eq!(counter_while(&xs, w), 13.5 + 5.0 * w * w);
    close(counter_while_grad(&xs, w), 9.0 + 10.0 * w);
    near_fd(counter_while_grad(&xs, w), fd(|w| counter_while(&xs, w), w));
}

/// `%` of integers (the loop variable, a typed counter) decides a branch.
#[differentiable]
fn every_other(x: f64, n: usize) -> f64 {
    let mut v = x;
    let mut k: usize = 0;
    for i in 0..n {
        if i % 2 == 0 {
            v = v.sin();
        }
        k += 1;
        if k % 3 == 0 {
            v = v * x;
        }
    }
    v
}

#[test]
fn integer_remainders_choose_branches() {
    // n = 4: i = 0 sin, i = 2 sin, k = 3 (after i = 2) times x: sin(sin(x)) * x.
    let x: f64 = 0.8;
    let want = x.sin().sin() * x;
    assert!((every_other(x, 4) - want).abs() < 1e-15);
    let d = x.sin().cos() * x.cos() * x + x.sin().sin();
    assert!((every_other_grad(x, 4) - d).abs() < 1e-14);
    let h = 1e-6;
    let fd = (every_other(x + h, 4) - every_other(x - h, 4)) / (2.0 * h);
    assert!((every_other_grad(x, 4) - fd).abs() < 1e-8);
}

/// `x**k` with an integer exponent from a parameter.
#[rustfmt::skip]
#[differentiable]
fn int_power(x: f64, k: i32) -> f64 {
    x**k
}

/// A tensor's size read from its shape.
#[differentiable]
fn mean_by_shape(x: &autodiff::Tensor<f64>) -> f64 {
    let n = x.shape()[0] as f64;
    (x * x).sum() / n
}

#[test]
fn integer_exponents_and_shapes() {
    assert_eq!(int_power(2.0, 3), 8.0);
    assert_eq!(int_power_grad(2.0, 3), 12.0);
    assert_eq!(int_power_hessian(2.0, 3), 12.0);
    assert_eq!(int_power_grad(0.0, 0), 0.0);
    let x = autodiff::tensor![1.0, -2.0, 4.0];
    assert_eq!(
        mean_by_shape_grad(&x).to_vec(),
        vec![2.0 / 3.0, -4.0 / 3.0, 8.0 / 3.0]
    );
}

/// An untyped integer local as a loop bound, and remainders of a `usize` parameter.
#[differentiable]
fn untyped_bound(x: f64, n: usize) -> f64 {
    let m = 3;
    let mut s = x;
    for _ in 0..m {
        s = s * x;
    }
    let k = n % 3;
    if k == 1 {
        s * 2.0
    } else if n % 2 == 0 {
        s
    } else {
        -s
    }
}

#[test]
fn untyped_bounds_and_integer_remainders() {
    // n = 4: 4 % 3 = 1, so 2x⁴.
    assert_eq!(untyped_bound(2.0, 4), 32.0);
    assert_eq!(untyped_bound_grad(2.0, 4), 64.0);
    assert_eq!(untyped_bound_hessian(2.0, 4), 96.0);
    // n = 6: even, x⁴; n = 5: odd, -x⁴.
    assert_eq!(untyped_bound_grad(2.0, 6), 32.0);
    assert_eq!(untyped_bound_grad(2.0, 5), -32.0);
}

/// An expression kept as written with a closure whose parameter has the name of a local
/// (`v`): the closure's `v` is its own, the local `t` is read.
#[differentiable(wrt(x))]
fn closure_param_named_like_a_local(x: f64, xs: &[f64]) -> f64 {
    let v = 3.0;
    let t = 0.5;
    let n = xs.iter().filter(|v| **v > t).count();
    let m = xs
        .iter()
        .map(|&v| v * 2.0)
        .fold(0.0, |acc: f64, v| acc.max(v));
    x * n as f64 * v + m
}

#[test]
fn closures_kept_as_written_bind_their_own_names() {
    let xs = [1.0, 0.2, 3.0];
    assert_eq!(
        closure_param_named_like_a_local(2.0, &xs),
        2.0 * 2.0 * 3.0 + 6.0
    );
    assert_eq!(closure_param_named_like_a_local_grad(2.0, &xs), 6.0);
}

/// `if let` on a constant `Option`: as a value and as a statement, with an arm reading a
/// differentiated value, an `else if let`, and an `if let` that reads none (kept as written).
/// Its binding may have the name of a local (`m`), which the arm's binding shadows.
#[differentiable(wrt(x))]
fn if_let_forms(x: f64, o: Option<usize>, p: Option<f64>) -> f64 {
    let m: usize = 10;
    let a = if let Some(m) = o { x * m as f64 } else { x * x };
    let mut s = a;
    if let Some(c) = p {
        s += c * x;
    } else if let Some(k) = o {
        s += (k + m) as f64;
    }
    let j = if let Some(m) = o { m } else { m };
    let same = matches!(o, Some(m) if m > 2);
    s * j as f64 + if same { 1.0 } else { 0.0 }
}

#[test]
fn if_let_on_constants() {
    let h = 1e-6;
    for (o, p) in [
        (Some(3), Some(0.5)),
        (None, Some(0.5)),
        (Some(1), None),
        (None, None),
    ] {
        let x = 1.5;
        let d = (if_let_forms(x + h, o, p) - if_let_forms(x - h, o, p)) / (2.0 * h);
        let g = if_let_forms_grad(x, o, p);
        assert!((g - d).abs() < 1e-6, "{o:?} {p:?}: {g} vs {d}");
    }
    // o = Some(3), p = Some(0.5): a = 3x, s = 3x + 0.5x, j = 3, same = true.
    assert_eq!(
        if_let_forms(2.0, Some(3), Some(0.5)),
        (6.0 + 1.0) * 3.0 + 1.0
    );
    assert_eq!(if_let_forms_grad(2.0, Some(3), Some(0.5)), 3.5 * 3.0);
    // o = None, p = None: a = x², j = 10.
    assert_eq!(if_let_forms_grad(2.0, None, None), 4.0 * 10.0);
}
